/* m3-segment: Otsu and multi-Otsu thresholds, exact over a 256-bin histogram. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "seg.h"

#define NBIN 256

struct hist_job {
	const struct seg_grid *g;
	const float *f;
	float *lo, *hi; /* per slice */
	float min, max;
	double *h; /* per worker, NBIN each */
};

static void
range_slice(void *ctx, size_t z, unsigned w)
{
	struct hist_job *j = ctx;
	size_t sl = (size_t)j->g->nx * (size_t)j->g->ny;
	const float *f = j->f + z * sl;
	float lo = INFINITY, hi = -INFINITY;

	(void)w;
	for (size_t i = 0; i < sl; i++) {
		if (!isfinite(f[i]))
			continue;
		lo = f[i] < lo ? f[i] : lo;
		hi = f[i] > hi ? f[i] : hi;
	}
	j->lo[z] = lo;
	j->hi[z] = hi;
}

static void
hist_slice(void *ctx, size_t z, unsigned w)
{
	struct hist_job *j = ctx;
	size_t sl = (size_t)j->g->nx * (size_t)j->g->ny;
	const float *f = j->f + z * sl;
	double *h = j->h + (size_t)w * NBIN, scale = NBIN / ((double)j->max - j->min);

	for (size_t i = 0; i < sl; i++) {
		if (!isfinite(f[i]))
			continue;
		long b = (long)(((double)f[i] - j->min) * scale);
		h[b < 0 ? 0 : (b >= NBIN ? NBIN - 1 : b)] += 1;
	}
}

/*
 * The classes - 1 cuts through the histogram that make the between-class variance the
 * largest, found by dynamic programming over the bins (exact, O(classes * NBIN^2)): the
 * variance is a sum over classes of S^2 / W, S the class's sum and W its count.
 * cut[k] is the first bin of class k + 1.
 */
static int
otsu_cuts(const double *h, double lo, double width, int classes, int *cut)
{
	double P[NBIN + 1], Q[NBIN + 1];
	double(*best)[NBIN + 1] = malloc(sizeof(double[NBIN + 1]) * (size_t)classes);
	int(*from)[NBIN + 1] = malloc(sizeof(int[NBIN + 1]) * (size_t)classes);

	if (best == NULL || from == NULL) {
		free(best);
		free(from);
		return -1;
	}
	P[0] = Q[0] = 0;
	for (int b = 0; b < NBIN; b++) {
		P[b + 1] = P[b] + h[b];
		Q[b + 1] = Q[b] + h[b] * (lo + (b + 0.5) * width);
	}
#define COST(a, b) (P[b] - P[a] > 0 ? (Q[b] - Q[a]) * (Q[b] - Q[a]) / (P[b] - P[a]) : 0.0)
	for (int b = 0; b <= NBIN; b++)
		best[0][b] = COST(0, b);
	for (int k = 1; k < classes; k++)
		for (int b = 0; b <= NBIN; b++) {
			best[k][b] = -1;
			from[k][b] = b;
			for (int a = k; a < b; a++) {
				double v = best[k - 1][a] + COST(a, b);
				if (v > best[k][b] * (1 + 1e-12)) {
					best[k][b] = v;
					from[k][b] = a;
				}
			}
		}
#undef COST
	for (int k = classes - 1, b = NBIN; k > 0; k--) {
		b = from[k][b];
		cut[k - 1] = b;
	}
	free(best);
	free(from);
	return 0;
}

int
seg_otsu(const struct seg_grid *g, const float *f, int classes, float *t, struct m3_err *e)
{
	unsigned nw = m3_pool_size(g->pool);
	struct hist_job j = {g, f, NULL, NULL, INFINITY, -INFINITY, NULL};
	double h[NBIN] = {0};
	int cut[SEG_MAXLAB];

	j.lo = malloc((size_t)g->nz * sizeof(float));
	j.hi = malloc((size_t)g->nz * sizeof(float));
	j.h = calloc((size_t)nw * NBIN, sizeof(double));
	if (j.lo == NULL || j.hi == NULL || j.h == NULL) {
		free(j.lo);
		free(j.hi);
		free(j.h);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	m3_pool_run(g->pool, range_slice, &j, (size_t)g->nz);
	for (long z = 0; z < g->nz; z++) {
		j.min = j.lo[z] < j.min ? j.lo[z] : j.min;
		j.max = j.hi[z] > j.max ? j.hi[z] : j.max;
	}
	if (!(j.max > j.min)) {
		/* one value (or none): everything is class 0 */
		for (int k = 0; k < classes - 1; k++)
			t[k] = isfinite(j.max) ? j.max : 0.0f;
	} else {
		double width = ((double)j.max - j.min) / NBIN;
		m3_pool_run(g->pool, hist_slice, &j, (size_t)g->nz);
		for (unsigned w = 0; w < nw; w++)
			for (int b = 0; b < NBIN; b++)
				h[b] += j.h[(size_t)w * NBIN + (size_t)b];
		if (otsu_cuts(h, j.min, width, classes, cut) != 0) {
			free(j.lo);
			free(j.hi);
			free(j.h);
			return m3_err_set(e, M3_ENOMEM, "out of memory");
		}
		/* a class is the values above the upper edge of the bin before its first bin */
		for (int k = 0; k < classes - 1; k++)
			t[k] = (float)(j.min + cut[k] * width);
	}
	free(j.lo);
	free(j.hi);
	free(j.h);
	return M3_OK;
}
