/* m3-decode's modules and what they share: inputs, series, volumes, output, crash guard. */
#ifndef M3_DECODE_H
#define M3_DECODE_H

#include <stdio.h>

#include "m3/dcmread.h"
#include "m3/err.h"
#include "m3/pool.h"
#include "m3/vol.h"

/* One input object: a file, or a member of the spooled stdin. */
struct m3d_src {
	char *name; /* for messages */
	char *path; /* NULL for a member of the spool */
	unsigned long long off, size; /* in the spool */
	struct m3_dcm_info info; /* from the scan */
	char *why; /* scan error, NULL when it is an image */
	int image; /* scanned and decodable */
};

struct m3d_input {
	struct m3d_src *src;
	size_t n, cap;
	int spool; /* descriptor of the spooled stdin, -1 */
};

void m3d_input_init(struct m3d_input *in);
void m3d_input_release(struct m3d_input *in);
/* A file, a folder (recursively) or "-" (stdin: a tar stream or one DICOM object). */
int m3d_input_add(struct m3d_input *in, const char *arg, struct m3_err *e);
/* How the shim reads source i. */
void m3d_input_src(const struct m3d_input *in, size_t i, struct m3_dcm_src *out);

struct m3d_opts {
	int list, keep_phi, keep_going, verbose, nifti, gzip, progress, quiet;
	unsigned jobs;
	const char *series; /* -s: a UID or an index from -l */
	const char *outname;
};

/* One image of a series: frame `frame` of source `src`, at `pos` along the normal. */
struct m3d_slice {
	size_t src;
	unsigned frame;
	long inst; /* Instance Number: the order of images at one position */
	double pos;
};

/* One output volume: the slices of one series that share a geometry. */
struct m3d_series {
	struct m3d_slice *sl;
	size_t n, cap;
	size_t index; /* 1-based, as -l shows it */
	int geometry; /* the images have position and orientation */
	double iop[6]; /* row and column direction, normalised */
	double spacing[2]; /* between rows, between columns; NaN when unknown */
	/* from m3d_series_layout */
	unsigned dim; /* spatial axes: 2 or 3 */
	double dirs[3][3], origin[3];
	int has_space, has_origin;
	double gap; /* mean slice spacing, mm (0 for one image) */
};

struct m3d_plan {
	struct m3d_series *s;
	size_t n;
};

/* Groups the scanned images into series, sorts and lays out each; warns as it goes. */
int m3d_plan_make(struct m3d_plan *p, struct m3d_input *in, struct m3_err *e);
void m3d_plan_release(struct m3d_plan *p);
/* Sorts the slices of s along the normal, drops duplicates, sets its geometry and warns
 * about uneven gaps, missing slices and tilt.  Called again after slices are removed. */
void m3d_series_layout(struct m3d_series *s, const struct m3d_input *in);
/* The source whose header speaks for the series (its first slice). */
const struct m3_dcm_info *m3d_series_info(const struct m3d_series *s, const struct m3d_input *in);
/* -l: one JSON object per series. */
int m3d_plan_list(FILE *f, const struct m3d_plan *p, const struct m3d_input *in,
		  const struct m3d_opts *o, struct m3_err *e);

/* Decodes the series into v (type, geometry, data, key:=value).  With -k, files that fail
 * are dropped from s with a warning; M3_ENOINPUT when none is left. */
int m3d_volume_build(struct m3d_series *s, struct m3d_input *in, struct m3_pool *pool,
		     const struct m3d_opts *o, struct m3_vol *v, struct m3_err *e);

/* NIfTI-1 single file (.nii), gzip-compressed when gz is set. */
int m3d_nifti_write(FILE *f, const char *name, const struct m3_vol *v, int gz, struct m3_err *e);

/* A stable pseudonym for a UID: 2.25.<decimal of 128 bits of (HMAC-)SHA-256>. */
#define M3D_UID_MAX 65
void m3d_pseudo_uid(const char *uid, char out[M3D_UID_MAX]);
void m3d_sha256(const void *data, size_t n, unsigned char out[32]);

/* The crash guard: the work runs in a child process (see guard.c). */
struct m3d_guard;
struct m3d_guard *m3d_guard_new(size_t nsrc);
void m3d_guard_free(struct m3d_guard *g);
/* Runs fn in a child; M3_OK with *code its exit status, or M3_EDATA when it crashed
 * (*culprit the source it was reading, or -1; e says so). */
int m3d_guard_run(struct m3d_guard *g, int (*fn)(void *ctx, struct m3d_guard *g), void *ctx,
		  int *code, long *culprit, struct m3_err *e);
/* In the child: marks what this thread reads now (-1: nothing), for the crash report. */
void m3d_guard_enter(long src);
int m3d_guard_skipped(const struct m3d_guard *g, size_t src);
void m3d_guard_skip(struct m3d_guard *g, size_t src);
/* Volumes written completely by earlier children, which a restarted child does not repeat. */
unsigned long m3d_guard_written(const struct m3d_guard *g);
void m3d_guard_wrote(struct m3d_guard *g);

/* The whole job in the child: scan, group, list or decode and write. */
struct m3d_job {
	struct m3d_input *in;
	const struct m3d_opts *opts;
	FILE *out;
};
int m3d_run(void *job, struct m3d_guard *g);

#endif
