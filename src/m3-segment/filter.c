/* m3-segment on the CPU: input to float, Gaussian and median smoothing, thresholds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "seg.h"

double
seg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void
seg_time(struct seg_times *t, const char *what, double since)
{
	if (t == NULL || t->n >= 8)
		return;
	t->what[t->n] = what;
	t->t[t->n++] = seg_now() - since;
}

/* Converts slice z of any stream type to float. */
static void
slice_float(const struct m3_vol *in, size_t off, size_t cnt, float *out)
{
#define CONV(T)                                                                                    \
	do {                                                                                       \
		const T *s = (const T *)in->data + off;                                            \
		for (size_t i = 0; i < cnt; i++)                                                   \
			out[i] = (float)s[i];                                                      \
	} while (0)
	switch (in->type) {
	case M3_UINT8:
		CONV(uint8_t);
		break;
	case M3_INT16:
		CONV(int16_t);
		break;
	case M3_UINT16:
		CONV(uint16_t);
		break;
	case M3_INT32:
		CONV(int32_t);
		break;
	case M3_UINT32:
		CONV(uint32_t);
		break;
	case M3_FLOAT:
		CONV(float);
		break;
	default:
		break;
	}
#undef CONV
}

struct conv_job {
	const struct seg_grid *g;
	const struct m3_vol *in;
	float *out;
};

static void
to_float_slice(void *ctx, size_t z, unsigned w)
{
	const struct conv_job *j = ctx;
	size_t sl = (size_t)j->g->nx * (size_t)j->g->ny;

	(void)w;
	slice_float(j->in, z * sl, sl, j->out + z * sl);
}

int
seg_to_float(const struct seg_grid *g, const struct m3_vol *in, float *out)
{
	struct conv_job j = {g, in, out};

	m3_pool_run(g->pool, to_float_slice, &j, (size_t)g->nz);
	return M3_OK;
}

/* One separable pass: dst = src convolved along axis, one slice per item. */
struct gauss_job {
	const struct seg_grid *g;
	const float *src;
	float *dst;
	int axis;
	const float *k;
	int r;
};

static void
gauss_slice(void *ctx, size_t z, unsigned w)
{
	const struct gauss_job *j = ctx;
	long nx = j->g->nx, ny = j->g->ny;
	size_t sl = (size_t)nx * (size_t)ny;
	size_t stride = j->axis == 0 ? 1 : (j->axis == 1 ? (size_t)nx : sl);

	(void)w;
	for (long y = 0; y < ny; y++) {
		size_t base = z * sl + (size_t)y * (size_t)nx;
		for (long x = 0; x < nx; x++) {
			long pos = j->axis == 0 ? x : (j->axis == 1 ? y : (long)z);
			long n = j->axis == 0 ? nx : (j->axis == 1 ? ny : j->g->nz);
			j->dst[base + (size_t)x] =
				seg_conv1(j->src, base + (size_t)x, pos, n, stride, j->k, j->r);
		}
	}
}

/* Gaussian weights for sigma in voxels along one axis; half-width ceil(3 sigma). */
int
seg_gauss_kernel(double sigma, float *k, int *r)
{
	double sum = 0;
	int h = (int)ceil(3.0 * sigma);

	if (h > SEG_MAXK)
		h = SEG_MAXK;
	if (h < 1 || sigma <= 0) {
		k[0] = 1.0f;
		*r = 0;
		return 0;
	}
	for (int i = -h; i <= h; i++)
		sum += exp(-(double)(i * i) / (2.0 * sigma * sigma));
	for (int i = -h; i <= h; i++)
		k[i + h] = (float)(exp(-(double)(i * i) / (2.0 * sigma * sigma)) / sum);
	*r = h;
	return 0;
}

int
seg_gauss(const struct seg_grid *g, float *f, double sigma, int mm, struct m3_err *e)
{
	float *tmp = seg_alloc(g->n * sizeof(float));
	float k[2 * SEG_MAXK + 1];
	struct gauss_job j = {g, NULL, NULL, 0, k, 0};

	if (tmp == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	for (int a = 0; a < 3; a++) {
		seg_gauss_kernel(mm ? sigma / g->sp[a] : sigma, k, &j.r);
		j.axis = a;
		j.src = a == 1 ? tmp : f;
		j.dst = a == 1 ? f : tmp;
		m3_pool_run(g->pool, gauss_slice, &j, (size_t)g->nz);
	}
	memcpy(f, tmp, g->n * sizeof(float));
	free(tmp);
	return M3_OK;
}

struct median_job {
	const struct seg_grid *g;
	const float *src;
	float *dst;
};

static void
median_slice(void *ctx, size_t z, unsigned w)
{
	const struct median_job *j = ctx;
	long nx = j->g->nx, ny = j->g->ny, nz = j->g->nz;
	size_t sl = (size_t)nx * (size_t)ny;
	float a[27];

	(void)w;
	for (long y = 0; y < ny; y++)
		for (long x = 0; x < nx; x++) {
			int m = 0;
			for (int dz = -1; dz <= 1; dz++)
				for (int dy = -1; dy <= 1; dy++)
					for (int dx = -1; dx <= 1; dx++)
						a[m++] =
							j->src[(size_t)seg_clamp((long)z + dz, nz) *
								       sl +
							       (size_t)seg_clamp(y + dy, ny) *
								       (size_t)nx +
							       (size_t)seg_clamp(x + dx, nx)];
			j->dst[z * sl + (size_t)y * (size_t)nx + (size_t)x] = seg_median27(a);
		}
}

int
seg_median(const struct seg_grid *g, float *f, struct m3_err *e)
{
	float *tmp = seg_alloc(g->n * sizeof(float));
	struct median_job j = {g, f, tmp};

	if (tmp == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	m3_pool_run(g->pool, median_slice, &j, (size_t)g->nz);
	memcpy(f, tmp, g->n * sizeof(float));
	free(tmp);
	return M3_OK;
}

struct thr_job {
	const struct seg_grid *g;
	const struct m3_vol *in;
	const float *f;
	const struct seg_range *r;
	int nr;
	const float *t;
	int nt;
	uint8_t *lab;
};

/*
 * One range: what seg_classify gives, in the blocked form with restrict pointers that
 * gcc -O2 vectorises.
 */
#define THR1_FN(T)                                                                                 \
	static void thr1_##T(const T *restrict s, uint8_t *restrict lab, size_t n, float lo,       \
			     float hi, uint8_t L)                                                  \
	{                                                                                          \
		size_t i = 0;                                                                      \
		for (; i + 16 <= n; i += 16)                                                       \
			for (int l = 0; l < 16; l++) {                                             \
				float v = (float)s[i + l];                                         \
				lab[i + l] = (uint8_t)(((v >= lo) & (v <= hi)) * L);               \
			}                                                                          \
		for (; i < n; i++) {                                                               \
			float v = (float)s[i];                                                     \
			lab[i] = (uint8_t)(((v >= lo) & (v <= hi)) * L);                           \
		}                                                                                  \
	}
THR1_FN(uint8_t)
THR1_FN(int16_t)
THR1_FN(uint16_t)
THR1_FN(int32_t)
THR1_FN(uint32_t)
THR1_FN(float)
#undef THR1_FN

/* The typed input, or f, classified slice by slice. */
static void
thr_slice(void *ctx, size_t z, unsigned w)
{
	const struct thr_job *j = ctx;
	size_t sl = (size_t)j->g->nx * (size_t)j->g->ny, off = z * sl;
	uint8_t *lab = j->lab + off;

	(void)w;
	if (j->t != NULL) {
		for (size_t i = 0; i < sl; i++)
			lab[i] = (uint8_t)seg_class_of(j->f[off + i], j->t, j->nt);
		return;
	}
	if (j->f != NULL) {
		for (size_t i = 0; i < sl; i++)
			lab[i] = (uint8_t)seg_classify(j->f[off + i], j->r, j->nr);
		return;
	}
#define THR(T)                                                                                     \
	do {                                                                                       \
		const T *s = (const T *)j->in->data + off;                                         \
		if (j->nr == 1)                                                                    \
			thr1_##T(s, lab, sl, j->r[0].lo, j->r[0].hi, (uint8_t)j->r[0].label);      \
		else                                                                               \
			for (size_t i = 0; i < sl; i++)                                            \
				lab[i] = (uint8_t)seg_classify((float)s[i], j->r, j->nr);          \
	} while (0)
	switch (j->in->type) {
	case M3_UINT8:
		THR(uint8_t);
		break;
	case M3_INT16:
		THR(int16_t);
		break;
	case M3_UINT16:
		THR(uint16_t);
		break;
	case M3_INT32:
		THR(int32_t);
		break;
	case M3_UINT32:
		THR(uint32_t);
		break;
	case M3_FLOAT:
		THR(float);
		break;
	default:
		break;
	}
#undef THR
}

void
seg_threshold(const struct seg_grid *g, const struct m3_vol *in, const float *f,
	      const struct seg_range *r, int nr, uint8_t *lab)
{
	struct thr_job j = {g, in, f, r, nr, NULL, 0, lab};

	m3_pool_run(g->pool, thr_slice, &j, (size_t)g->nz);
}

void
seg_threshold_classes(const struct seg_grid *g, const float *f, const float *t, int nt,
		      uint8_t *lab)
{
	struct thr_job j = {g, NULL, f, NULL, 0, t, nt, lab};

	m3_pool_run(g->pool, thr_slice, &j, (size_t)g->nz);
}
