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
	struct seg_morphbuf *m;
	long slab; /* output slices per work item */
};

enum { ROW_NONE, ROW_PART, ROW_FULL }; /* sources in a row of src */
enum { G_ROW, G_INF, G_ZERO }; /* a row of g: computed, all INF, all 0 */

/* Whether a row of a 0/1 mask has none, some or only sources. */
static int
row_kind(const uint8_t *row, long nx, uint8_t want)
{
	int any = memchr(row, want, (size_t)nx) != NULL;
	int all = any && memchr(row, want ^ 1, (size_t)nx) == NULL;

	return !any ? ROW_NONE : (all ? ROW_FULL : ROW_PART);
}

/*
 * Row loops in blocks of 8 with restrict pointers, the form that gcc -O2 vectorises
 * (its very cheap cost model takes no loop that needs a runtime check or a remainder).
 */
static void
row_set(float *restrict a, float v, long nx)
{
	long x = 0;

	for (; x + 8 <= nx; x += 8)
		for (int l = 0; l < 8; l++)
			a[x + l] = v;
	for (; x < nx; x++)
		a[x] = v;
}

/* a = min(a, c) */
static void
row_minc(float *restrict a, float c, long nx)
{
	long x = 0;

	for (; x + 8 <= nx; x += 8)
		for (int l = 0; l < 8; l++)
			a[x + l] = c < a[x + l] ? c : a[x + l];
	for (; x < nx; x++)
		a[x] = c < a[x] ? c : a[x];
}

/* a = min(a, g + c) */
static void
row_min_add(float *restrict a, const float *restrict g, float c, long nx)
{
	long x = 0;

	for (; x + 8 <= nx; x += 8)
		for (int l = 0; l < 8; l++) {
			float v = SEG_ADD(g[x + l], c);
			a[x + l] = v < a[x + l] ? v : a[x + l];
		}
	for (; x < nx; x++) {
		float v = SEG_ADD(g[x], c);
		a[x] = v < a[x] ? v : a[x];
	}
}

/* out = hit where a <= lim, else the other value */
static void
row_test(uint8_t *restrict out, const float *restrict a, float lim, uint8_t hit, long nx)
{
	long x = 0;

	for (; x + 16 <= nx; x += 16)
		for (int l = 0; l < 16; l++)
			out[x + l] = (uint8_t)((a[x + l] <= lim) ^ (hit ^ 1));
	for (; x < nx; x++)
		out[x] = (uint8_t)((a[x] <= lim) ^ (hit ^ 1));
}

/* d1 of one row by a sweep each way, weighted. */
static void
row_d1_sweep(const uint8_t *row, long nx, const struct seg_ball *b, uint8_t want, int *dist,
	     float *out)
{
	int cap = b->rx + 1, d = cap;

	for (long x = 0; x < nx; x++) {
		d = (row[x] != 0) == want ? 0 : (d < cap ? d + 1 : cap);
		dist[x] = d;
	}
	d = cap;
	for (long x = nx - 1; x >= 0; x--) {
		d = (row[x] != 0) == want ? 0 : (d < cap ? d + 1 : cap);
		int m = dist[x] < d ? dist[x] : d;
		out[x] = seg_d1w(m, b);
	}
}

/* out = w where p[x - i] or p[x + i] is a source (p padded by i each side), in blocks */
static void
row_near(float *restrict out, const uint8_t *restrict p, long i, uint8_t want, float w, long nx)
{
	long x = 0;

	for (; x + 16 <= nx; x += 16)
		for (int l = 0; l < 16; l++)
			out[x + l] =
				(p[x + l - i] == want) | (p[x + l + i] == want) ? w : out[x + l];
	for (; x < nx; x++)
		out[x] = (p[x - i] == want) | (p[x + i] == want) ? w : out[x];
}

/*
 * d1 of one row, weighted: for a small rx, one vectorised pass per distance from rx down
 * to 0 over a copy of the row padded with non-sources; else two sweeps.
 */
#define SEG_NEAR_MAX 6
static void
row_d1(const uint8_t *row, long nx, const struct seg_ball *b, uint8_t want, int *dist, uint8_t *pad,
       float *out)
{
	long rx = b->rx;

	if (rx > SEG_NEAR_MAX) {
		row_d1_sweep(row, nx, b, want, dist, out);
		return;
	}
	memset(pad, want ^ 1, (size_t)rx);
	memcpy(pad + rx, row, (size_t)nx);
	memset(pad + rx + nx, want ^ 1, (size_t)rx);
	row_set(out, SEG_GINF, nx);
	for (long i = rx; i >= 0; i--)
		row_near(out, pad + rx, i, want, seg_d1w((int)i, b), nx);
}

/* g row y of a slice from the d1 rows around it; returns its G_ state. */
static int
g_row(const struct dil_job *j, const uint8_t *kind, const float *d1, long y, float *gr)
{
	const struct seg_ball *b = j->b;
	long nx = j->g->nx, ny = j->g->ny;
	int any = 0;

	if (kind[y] == ROW_FULL)
		return G_ZERO;
	for (int k = -b->ry; k <= b->ry && !any; k++)
		any = y + k >= 0 && y + k < ny && kind[y + k] != ROW_NONE;
	if (!any)
		return G_INF;
	row_set(gr, SEG_GINF, nx);
	for (int k = -b->ry; k <= b->ry; k++) {
		if (y + k < 0 || y + k >= ny || kind[y + k] == ROW_NONE)
			continue;
		float c = SEG_MUL((float)(k * k), b->wy);
		if (kind[y + k] == ROW_FULL) /* d1 is 0 along the whole row */
			row_minc(gr, c, nx);
		else
			row_min_add(gr, d1 + (size_t)(y + k) * (size_t)nx, c, nx);
	}
	return G_ROW;
}

/* g slice z into the ring, and its rows' states. */
static void
g_slice(const struct dil_job *j, long z, unsigned w, float *g, uint8_t *state)
{
	long nx = j->g->nx, ny = j->g->ny;
	size_t sl = (size_t)nx * (size_t)ny;
	float *d1 = j->m->d1 + (size_t)w * sl;
	uint8_t *kind = j->m->kind + (size_t)w * (size_t)ny;
	int *dist = j->m->dist + (size_t)w * (size_t)nx;
	uint8_t *pad = j->m->pad + (size_t)w * ((size_t)nx + 2 * SEG_NEAR_MAX);

	for (long y = 0; y < ny; y++) {
		const uint8_t *row = j->src + (size_t)z * sl + (size_t)y * (size_t)nx;
		kind[y] = (uint8_t)row_kind(row, nx, j->want);
		if (kind[y] == ROW_PART)
			row_d1(row, nx, j->b, j->want, dist, pad, d1 + (size_t)y * (size_t)nx);
	}
	for (long y = 0; y < ny; y++)
		state[y] = (uint8_t)g_row(j, kind, d1, y, g + (size_t)y * (size_t)nx);
}

/*
 * Output slice z from the g slices around it in the ring: the least g + dz^2 wz over dz,
 * tested once against r^2 (the same as testing each, since a float sum is monotonic).
 */
static void
out_slice(const struct dil_job *j, long z, const float *ring, const uint8_t *rstate, float *acc)
{
	const struct seg_ball *b = j->b;
	long nx = j->g->nx, ny = j->g->ny, nz = j->g->nz, nr = 2 * b->rz + 1;
	size_t sl = (size_t)nx * (size_t)ny;
	uint8_t hit = j->want ? 1 : 0;

	for (long y = 0; y < ny; y++) {
		uint8_t *out = j->dst + (size_t)z * sl + (size_t)y * (size_t)nx;
		int rows = 0, zero = 0;
		for (int k = -b->rz; k <= b->rz && !zero; k++) {
			long zk = z + k, slot = zk % nr;
			if (zk < 0 || zk >= nz)
				continue;
			int st = rstate[(size_t)slot * (size_t)ny + (size_t)y];
			if (st == G_INF)
				continue;
			zero = st == G_ZERO; /* 0 + k^2 wz <= r^2 for every |k| <= rz */
			if (zero)
				break;
			if (rows++ == 0)
				row_set(acc, SEG_GINF, nx);
			row_min_add(acc, ring + (size_t)slot * sl + (size_t)y * (size_t)nx,
				    SEG_MUL((float)(k * k), b->wz), nx);
		}
		if (zero)
			memset(out, hit, (size_t)nx);
		else if (rows == 0)
			memset(out, hit ^ 1, (size_t)nx);
		else
			row_test(out, acc, b->r2, hit, nx);
	}
}

/*
 * One slab of output slices.  The g slices it needs are made once each into a ring of
 * 2 rz + 1 slices that stays in cache; a slab's edges are made again by its neighbours.
 */
static void
dil_slab(void *ctx, size_t s, unsigned w)
{
	const struct dil_job *j = ctx;
	long nz = j->g->nz, rz = j->b->rz, nr = 2 * rz + 1;
	long z0 = (long)s * j->slab, z1 = z0 + j->slab < nz ? z0 + j->slab : nz;
	size_t sl = (size_t)j->g->nx * (size_t)j->g->ny;
	float *ring = j->m->g + (size_t)w * (size_t)nr * sl;
	uint8_t *rstate = j->m->state + (size_t)w * (size_t)nr * (size_t)j->g->ny;
	long made = z0 - rz < 0 ? 0 : z0 - rz; /* the next g slice to make */

	for (long z = z0; z < z1; z++) {
		for (; made <= z + rz && made < nz; made++)
			g_slice(j, made, w, ring + (size_t)(made % nr) * sl,
				rstate + (size_t)(made % nr) * (size_t)j->g->ny);
		out_slice(j, z, ring, rstate, j->m->acc + (size_t)w * (size_t)j->g->nx);
	}
}

/*
 * dst = src dilated by the ball, or eroded when erode is set (the dilation of the clear
 * voxels, inverted).  Outside the volume nothing is a source, so a dilation does not
 * grow from the border and an erosion does not eat into it, as in scikit-image.  Rows
 * with no source near them, or made only of sources, are not computed voxel by voxel.
 */
int
seg_dilate(const struct seg_grid *g, const uint8_t *src, uint8_t *dst, const struct seg_ball *b,
	   int erode, struct seg_morphbuf *m, struct m3_err *e)
{
	struct dil_job j = {g, src, dst, b, erode ? 0 : 1, m, 0};
	size_t nw = m3_pool_size(g->pool), nslab;
	int rc;

	if ((rc = seg_morphbuf_alloc(g, m, b->rz, e)) != M3_OK)
		return rc;
	/* a few slabs per worker, each long beside the ring that it makes again */
	j.slab = g->nz / (long)(4 * nw);
	if (j.slab < 8 * (2L * b->rz + 1))
		j.slab = 8 * (2L * b->rz + 1);
	nslab = (size_t)((g->nz + j.slab - 1) / j.slab);
	m3_pool_run(g->pool, dil_slab, &j, nslab);
	return M3_OK;
}

/* Allocates the buffers for a ball of half-height rz; they serve every step of a volume. */
int
seg_morphbuf_alloc(const struct seg_grid *g, struct seg_morphbuf *m, int rz, struct m3_err *e)
{
	size_t nw = m3_pool_size(g->pool), sl = (size_t)g->nx * (size_t)g->ny;
	size_t nr = 2 * (size_t)rz + 1;

	if (m->tmp != NULL && m->nring >= nr)
		return M3_OK;
	free(m->g);
	free(m->state);
	m->nring = nr;
	m->g = malloc(nw * nr * sl * sizeof(float));
	m->state = malloc(nw * nr * (size_t)g->ny);
	if (m->tmp == NULL) {
		m->d1 = malloc(nw * sl * sizeof(float));
		m->dist = malloc(nw * (size_t)g->nx * sizeof(int));
		m->kind = malloc(nw * (size_t)g->ny);
		m->acc = malloc(nw * (size_t)g->nx * sizeof(float));
		m->pad = malloc(nw * ((size_t)g->nx + 2 * SEG_NEAR_MAX));
		m->tmp = seg_alloc(g->n);
	}
	if (m->g == NULL || m->d1 == NULL || m->dist == NULL || m->kind == NULL || m->acc == NULL ||
	    m->state == NULL || m->tmp == NULL) {
		seg_morphbuf_free(m);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	return M3_OK;
}

void
seg_morphbuf_free(struct seg_morphbuf *m)
{
	free(m->g);
	free(m->d1);
	free(m->dist);
	free(m->kind);
	free(m->acc);
	free(m->pad);
	free(m->state);
	free(m->tmp);
	memset(m, 0, sizeof(*m));
}

int
seg_morph(const struct seg_grid *g, uint8_t *mask, const struct seg_op *op, struct seg_morphbuf *m,
	  struct m3_err *e)
{
	struct seg_ball b;
	int rc;

	if (op->kind == SEG_FILL)
		return seg_fill_holes(g, mask, e);
	if ((rc = seg_ball_make(g, op->radius, op->mm, &b, e)) != M3_OK)
		return rc;
	if ((rc = seg_morphbuf_alloc(g, m, b.rz, e)) != M3_OK)
		return rc;
	/* closing: dilate, then erode; opening: the other way round */
	rc = seg_dilate(g, mask, m->tmp, &b, op->kind == SEG_OPEN, m, e);
	if (rc == M3_OK)
		rc = seg_dilate(g, m->tmp, mask, &b, op->kind != SEG_OPEN, m, e);
	return rc;
}
