/* m3-segment on the CPU: binary dilation and erosion by a ball, opening, closing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "seg.h"

int
seg_ball_make(const struct seg_grid *g, double radius, int mm, struct seg_ball *b, struct m3_err *e)
{
	float w[3];
	int r[3];

	b->r2 = (float)(radius * radius);
	for (int a = 0; a < 3; a++) {
		w[a] = mm ? (float)(g->sp[a] * g->sp[a]) : 1.0f;
		/* the largest step along this axis alone that stays in the ball */
		r[a] = 0;
		while (r[a] <= SEG_MAXR && SEG_MUL((float)((r[a] + 1) * (r[a] + 1)), w[a]) <= b->r2)
			r[a]++;
		if (r[a] > SEG_MAXR)
			return m3_err_set(e, M3_EUSAGE,
					  "radius %g%s: more than %d voxels along axis %d", radius,
					  mm ? "mm" : "", SEG_MAXR, a);
	}
	b->rx = r[0];
	b->ry = r[1];
	b->rz = r[2];
	b->wx = w[0];
	b->wy = w[1];
	b->wz = w[2];
	return M3_OK;
}

struct dil_job {
	const struct seg_grid *g;
	const uint8_t *src;
	uint8_t *dst;
	const struct seg_ball *b;
	uint8_t want; /* 1: sources are set voxels (dilate); 0: clear voxels (erode) */
	float *gmin; /* g for the whole volume */
	float *scratch; /* d1 weighted, one slice per worker */
	uint8_t *has; /* a row has a source, one slice per worker */
	int *dist; /* one row per worker */
};

/* d1 of one row by a sweep each way, weighted; returns whether any source is in the row. */
static int
row_d1(const uint8_t *row, long nx, const struct seg_ball *b, uint8_t want, int *dist, float *out)
{
	int cap = b->rx + 1, d = cap, any = 0;

	for (long x = 0; x < nx; x++) {
		d = (row[x] != 0) == want ? 0 : (d < cap ? d + 1 : cap);
		any |= d == 0;
		dist[x] = d;
	}
	if (!any)
		return 0;
	d = cap;
	for (long x = nx - 1; x >= 0; x--) {
		d = (row[x] != 0) == want ? 0 : (d < cap ? d + 1 : cap);
		int m = dist[x] < d ? dist[x] : d;
		out[x] = seg_d1w(m, b);
	}
	return 1;
}

static void
dil_pass1(void *ctx, size_t z, unsigned w)
{
	const struct dil_job *j = ctx;
	const struct seg_ball *b = j->b;
	long nx = j->g->nx, ny = j->g->ny;
	size_t sl = (size_t)nx * (size_t)ny;
	float *d1 = j->scratch + (size_t)w * sl, *g = j->gmin + z * sl;
	uint8_t *has = j->has + (size_t)w * (size_t)ny;
	int *dist = j->dist + (size_t)w * (size_t)nx;

	for (long y = 0; y < ny; y++)
		has[y] = (uint8_t)row_d1(j->src + z * sl + (size_t)y * (size_t)nx, nx, b, j->want,
					 dist, d1 + (size_t)y * (size_t)nx);
	for (long y = 0; y < ny; y++) {
		float *gr = g + (size_t)y * (size_t)nx;
		for (long x = 0; x < nx; x++)
			gr[x] = SEG_GINF;
		for (int k = -b->ry; k <= b->ry; k++) {
			if (y + k < 0 || y + k >= ny || !has[y + k])
				continue;
			const float *dr = d1 + (size_t)(y + k) * (size_t)nx;
			float c = SEG_MUL((float)(k * k), b->wy);
			for (long x = 0; x < nx; x++) {
				float v = SEG_ADD(dr[x], c);
				gr[x] = v < gr[x] ? v : gr[x];
			}
		}
	}
}

static void
dil_pass2(void *ctx, size_t z, unsigned w)
{
	const struct dil_job *j = ctx;
	const struct seg_ball *b = j->b;
	long nz = j->g->nz;
	size_t sl = (size_t)j->g->nx * (size_t)j->g->ny;
	uint8_t *out = j->dst + z * sl, hit = j->want ? 1 : 0;

	(void)w;
	memset(out, 1 - hit, sl);
	for (int k = -b->rz; k <= b->rz; k++) {
		if ((long)z + k < 0 || (long)z + k >= nz)
			continue;
		const float *g = j->gmin + (size_t)((long)z + k) * sl;
		float lim = b->r2, c = SEG_MUL((float)(k * k), b->wz);
		for (size_t i = 0; i < sl; i++)
			if (SEG_ADD(g[i], c) <= lim)
				out[i] = hit;
	}
}

/*
 * dst = src dilated by the ball, or eroded when erode is set (the dilation of the clear
 * voxels, inverted).  Outside the volume nothing is a source, so a dilation does not
 * grow from the border and an erosion does not eat into it, as in scikit-image.
 */
int
seg_dilate(const struct seg_grid *g, const uint8_t *src, uint8_t *dst, const struct seg_ball *b,
	   int erode, struct m3_err *e)
{
	unsigned nw = m3_pool_size(g->pool);
	size_t sl = (size_t)g->nx * (size_t)g->ny;
	struct dil_job j = {g, src, dst, b, erode ? 0 : 1, NULL, NULL, NULL, NULL};
	int rc = M3_OK;

	j.gmin = malloc(g->n * sizeof(float));
	j.scratch = malloc((size_t)nw * sl * sizeof(float));
	j.has = malloc((size_t)nw * (size_t)g->ny);
	j.dist = malloc((size_t)nw * (size_t)g->nx * sizeof(int));
	if (j.gmin == NULL || j.scratch == NULL || j.has == NULL || j.dist == NULL) {
		rc = m3_err_set(e, M3_ENOMEM, "out of memory");
	} else {
		m3_pool_run(g->pool, dil_pass1, &j, (size_t)g->nz);
		m3_pool_run(g->pool, dil_pass2, &j, (size_t)g->nz);
	}
	free(j.gmin);
	free(j.scratch);
	free(j.has);
	free(j.dist);
	return rc;
}

int
seg_morph(const struct seg_grid *g, uint8_t *mask, const struct seg_op *op, struct m3_err *e)
{
	struct seg_ball b;
	uint8_t *tmp;
	int rc;

	if (op->kind == SEG_FILL)
		return seg_fill_holes(g, mask, e);
	if ((rc = seg_ball_make(g, op->radius, op->mm, &b, e)) != M3_OK)
		return rc;
	if ((tmp = malloc(g->n)) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	/* closing: dilate, then erode; opening: the other way round */
	rc = seg_dilate(g, mask, tmp, &b, op->kind == SEG_OPEN, e);
	if (rc == M3_OK)
		rc = seg_dilate(g, tmp, mask, &b, op->kind != SEG_OPEN, e);
	free(tmp);
	return rc;
}
