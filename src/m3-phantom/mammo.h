/* The mammography phantom: one view's anatomy, planted calcifications and distractors. */
#ifndef PH_MAMMO_H
#define PH_MAMMO_H

#include <stddef.h>
#include <stdint.h>

#include "phantom.h"
#include "rng.h"

#define PH_MAXCALC 320
#define PH_MAXCLUST 8
#define PH_MAXDIST 128
#define PH_MAXLINE 96
#define PH_MAXBLOB 6

/*
 * Every position here is in the canonical frame of a view: u is the pixel column counted
 * from the chest wall, v the pixel row.  The stored image of a left breast is this frame;
 * a right breast is mirrored (x = columns - 1 - u), so the chest wall is on the right.
 */

enum ph_shape {
	PH_PUNCTATE,
	PH_ROUND,
	PH_OVAL,
	PH_IRREGULAR,
	PH_LINEAR,
	PH_RIM,
	PH_COARSE,
};

/* An ellipsoid seen from above: offset from the object's centre, semi-axes, angle (px). */
struct ph_blob {
	double du, dv, ru, rv, cs, sn;
};

struct ph_calc {
	double u, v; /* centre, px, rounded to 0.01 */
	double diam_mm; /* largest extent */
	enum ph_shape shape;
	int cluster; /* index into the view's clusters, -1 when alone */
	double contrast; /* peak over the local background, stored pixel units */
	double snr; /* contrast over the quantum noise there */
	struct ph_blob b[PH_MAXBLOB];
	int nb;
};

struct ph_cluster {
	double u, v, radius_mm;
	int count;
};

enum ph_dkind { PH_D_NOISE, PH_D_CROSSING, PH_D_FOLD, PH_D_BENIGN };

struct ph_distractor {
	enum ph_dkind kind;
	double u, v, size_mm, contrast;
	struct ph_calc shape; /* the object for benign calcifications */
};

/* A duct, vessel or skin fold: points (u, v, amplitude) and the Gaussian width. */
struct ph_line {
	double *p;
	size_t n, cap;
	double sigma; /* px */
	int kind; /* 0 duct, 1 vessel, 2 skin fold */
};

struct ph_view {
	int index;
	char lat;
	const char *pos, *file, *orient;
	int mlo;
	size_t w, h;
	double sp;
	/* the outline (px): half-ellipse from the chest wall with a wobble, and the pectoral */
	double cy, a, b, m2c, m2s, m3c, m3s;
	double p0, pv, pk;
	double thr;
	int want_clusters;
	struct ph_calc calcs[PH_MAXCALC];
	size_t ncalc;
	struct ph_cluster clusters[PH_MAXCLUST];
	size_t nclust;
	struct ph_distractor dist[PH_MAXDIST];
	size_t ndist;
	struct ph_line lines[PH_MAXLINE];
	size_t nline;
	/* results */
	void *dcm;
	size_t dcmlen;
	double wc, ww;
	int rc;
	struct m3_err err;
	char sop_uid[PH_UID_MAX];
};

/* breast.c */
void ph_breast_layout(struct ph_view *v, uint64_t seed, double density);
double ph_breast_edge(const struct ph_view *v, double u, double y); /* px inside, < 0 out */
double ph_breast_pect(const struct ph_view *v, double y); /* muscle edge u at row y */
int ph_breast_lines(struct ph_view *v, uint64_t seed);
void ph_breast_crossings(struct ph_view *v);
double ph_line_dist(const struct ph_view *v, double u, double y, double *sigma);
void ph_breast_tissue(const struct ph_view *v, float *img, const float *field, size_t fnx,
		      size_t fny);
void ph_breast_draw_lines(const struct ph_view *v, float *img);
/* The quantum noise standard deviation at a pixel value, at noise scale 1. */
double ph_quantum_sigma(double value);

/* calc.c */
void ph_calc_plant(struct ph_view *v, uint64_t seed, int nclusters);
int ph_calc_draw(struct ph_view *v, float *img, uint64_t seed);
const char *ph_shape_name(enum ph_shape s);

#endif
