/* m3-segment: the segmentation plan and the steps that carry it out on the CPU. */
#ifndef SEG_H
#define SEG_H

#include <stddef.h>
#include <stdint.h>

#include "m3/err.h"
#include "m3/pool.h"
#include "m3/vol.h"
#include "segmath.h"

enum seg_opkind { SEG_OPEN, SEG_CLOSE, SEG_FILL };

/* One morphology step; radius in voxels, or in millimetres when mm is set. */
struct seg_op {
	enum seg_opkind kind;
	double radius;
	int mm;
	int label; /* only this label, 0 for every label */
	char only[32]; /* its name, as given */
};

#define SEG_MAXOPS 32

/* What to do with each volume: options from the command line, fixed for the whole run. */
struct seg_plan {
	struct seg_range ranges[SEG_MAXLAB]; /* in precedence order */
	int nranges;
	char names[SEG_MAXLAB][32]; /* names[label - 1] */
	int nlabels;
	int otsu; /* classes, 0 for none */
	double sigma; /* Gaussian sigma, 0 for none */
	int sigma_mm;
	int median;
	struct seg_op ops[SEG_MAXOPS];
	int nops;
	int conn; /* 6 or 26 */
	long keep; /* keep the N largest components of each label, 0 for all */
	size_t min_size; /* drop components smaller than this */
	int verbose;
};

/* A volume's voxels, spacing and the pool that works on it. */
struct seg_grid {
	long nx, ny, nz;
	size_t n;
	double sp[3]; /* voxel spacing, mm */
	struct m3_pool *pool;
};

/* Per-stage wall times for -v, seconds. */
struct seg_times {
	double t[8];
	const char *what[8];
	int n;
};

/* The plan on one volume: out gets the label volume (header and data); cuda picks the GPU. */
int seg_volume(const struct seg_plan *p, struct m3_pool *pool, int cuda, const struct m3_vol *in,
	       struct m3_vol *out, struct seg_times *t, struct m3_err *e);

void *seg_alloc(size_t n);
double seg_now(void);
void seg_time(struct seg_times *t, const char *what, double since);

/* filter.c: input to float, smoothing, thresholds */
int seg_to_float(const struct seg_grid *g, const struct m3_vol *in, float *out);
int seg_gauss_kernel(double sigma, float *k, int *r);
int seg_gauss(const struct seg_grid *g, float *f, double sigma, int mm, struct m3_err *e);
int seg_median(const struct seg_grid *g, float *f, struct m3_err *e);
void seg_threshold(const struct seg_grid *g, const struct m3_vol *in, const float *f,
		   const struct seg_range *r, int nr, uint8_t *lab);
void seg_threshold_classes(const struct seg_grid *g, const float *f, const float *t, int nt,
			   uint8_t *lab);

/* otsu.c: multi-Otsu thresholds from the volume's histogram */
int seg_otsu(const struct seg_grid *g, const float *f, int classes, float *t, struct m3_err *e);

/* morph.c: binary morphology on a 0/1 mask, with buffers kept for the whole volume */
struct seg_morphbuf {
	float *g; /* per worker: a ring of nring slices of the min over dy */
	uint8_t *state; /* per worker: each row of the ring: computed, all INF, all 0 */
	size_t nring;
	float *d1; /* per worker: a slice of weighted distances along x */
	int *dist; /* per worker: one row */
	uint8_t *kind; /* per worker: sources in each row of a slice */
	float *acc; /* per worker: one row */
	uint8_t *pad; /* per worker: one row with a margin each side */
	uint8_t *tmp; /* a mask */
};
int seg_morphbuf_alloc(const struct seg_grid *g, struct seg_morphbuf *m, int rz, struct m3_err *e);
void seg_morphbuf_free(struct seg_morphbuf *m);
int seg_ball_make(const struct seg_grid *g, double radius, int mm, struct seg_ball *b,
		  struct m3_err *e);
int seg_dilate(const struct seg_grid *g, const uint8_t *src, uint8_t *dst, const struct seg_ball *b,
	       int erode, struct seg_morphbuf *m, struct m3_err *e);
int seg_morph(const struct seg_grid *g, uint8_t *mask, const struct seg_op *op,
	      struct seg_morphbuf *m, struct m3_err *e);

/* cc.c: 3D connected components over runs of a 0/1 mask */
struct seg_ccstat {
	size_t ncomp, nkept, kept_voxels;
};
int seg_cc_filter(const struct seg_grid *g, uint8_t *mask, int conn, long keep, size_t min_size,
		  struct seg_ccstat *st, struct m3_err *e);
int seg_fill_holes(const struct seg_grid *g, uint8_t *mask, struct m3_err *e);

#endif
