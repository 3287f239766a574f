/* Surface extraction: marching cubes on one label's binary mask, laid out like flying edges
 * (rows trimmed to where the label is, counted, prefix-summed, then filled in parallel), so
 * that vertex ids are shared and deterministic with no hash table. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mctable.h"
#include "mesh.h"

/*
 * The volume is seen padded with one voxel of background on every side: padded index
 * (i, j, k) is voxel (i - 1, j - 1, k - 1).  Row (j, k) is the padded row of voxels; cube
 * row (j, k) the cubes whose corner 0 lies on it.  With the padding every cut edge is one
 * of the three edges from corner 0 of some cube (its "origin edges"), so each cube row
 * owns the vertices on its origin edges: x ones first, then y, then z, by increasing i.
 */
struct row {
	int32_t first,
		last; /* padded x of the row's first and last label voxel; first > last: none */
	int32_t lo, hi; /* the cube row's cubes that can be cut */
	uint32_t ncut[3]; /* cut origin edges along x, y, z */
	uint32_t ntri;
	uint32_t vbase, tbase; /* after the prefix sum: first vertex and triangle ids */
};

struct surf {
	const uint8_t *data;
	size_t nx, ny, nz; /* the volume */
	size_t px, py, pz; /* padded */
	uint8_t label;
	struct row *rows; /* py * pz, row (j, k) at k * py + j */
	uint8_t **col; /* per worker: one cube row's columns of corner bits */
	double geo[4][3]; /* origin and the three axis steps */
	int flip;
	float *v;
	uint32_t *t;
};

/* corner bits of a column (4 rows at one x: (j,k) (j+1,k) (j,k+1) (j+1,k+1)) as corners 0 2 4 6 */
static const uint8_t spread[16] = {
	0x00, 0x01, 0x04, 0x05, 0x10, 0x11, 0x14, 0x15,
	0x40, 0x41, 0x44, 0x45, 0x50, 0x51, 0x54, 0x55,
};

static const uint8_t *
row_data(const struct surf *s, size_t j, size_t k)
{
	if (j < 1 || j > s->ny || k < 1 || k > s->nz)
		return NULL;
	return s->data + ((k - 1) * s->ny + (j - 1)) * s->nx;
}

/* Pass 1: where the label starts and ends on each row of padded slice k. */
static void
pass_rows(void *ctx, size_t k, unsigned worker)
{
	struct surf *s = ctx;

	(void)worker;
	for (size_t j = 0; j < s->py; j++) {
		struct row *r = &s->rows[k * s->py + j];
		const uint8_t *p = row_data(s, j, k), *q;
		size_t n = s->nx;

		r->first = 1;
		r->last = 0;
		if (p == NULL || (q = memchr(p, s->label, n)) == NULL)
			continue;
		while (p[n - 1] != s->label)
			n--;
		r->first = (int32_t)(q - p) + 1;
		r->last = (int32_t)n;
	}
}

/* The cubes of cube row (j, k) that can be cut: where any of its four rows has the label. */
static void
cube_range(const struct surf *s, size_t j, size_t k, int32_t *lo, int32_t *hi)
{
	const struct row *r = &s->rows[k * s->py + j];
	const struct row *q[4] = {r, r + 1, r + s->py, r + s->py + 1};

	*lo = INT32_MAX;
	*hi = -1;
	for (int n = 0; n < 4; n++) {
		if (q[n]->first > q[n]->last)
			continue;
		if (q[n]->first - 1 < *lo)
			*lo = q[n]->first - 1;
		if (q[n]->last > *hi)
			*hi = q[n]->last;
	}
}

/* Fills col[lo .. hi + 1] with the corner bits of the columns of cube row (j, k). */
static void
fill_columns(const struct surf *s, size_t j, size_t k, int32_t lo, int32_t hi, uint8_t *col)
{
	size_t a = lo < 1 ? 1 : (size_t)lo, b = (size_t)hi + 1 > s->nx ? s->nx : (size_t)hi + 1;
	const uint8_t lab = s->label;

	memset(col + lo, 0, (size_t)(hi - lo) + 2);
	for (int n = 0; n < 4; n++) {
		const uint8_t *p = row_data(s, j + (n & 1), k + (n >> 1));

		if (p == NULL)
			continue;
		p--; /* p[i] is padded x i */
		for (size_t i = a; i <= b; i++)
			col[i] |= (uint8_t)((p[i] == lab) << n);
	}
}

/* Pass 2: count the cut origin edges and the triangles of each cube row of cube slice k. */
static void
pass_count(void *ctx, size_t k, unsigned worker)
{
	struct surf *s = ctx;
	uint8_t *col = s->col[worker];

	for (size_t j = 0; j + 1 < s->py; j++) {
		struct row *r = &s->rows[k * s->py + j];
		uint32_t nx = 0, ny = 0, nz = 0, nt = 0;

		cube_range(s, j, k, &r->lo, &r->hi);
		if (r->lo <= r->hi) {
			fill_columns(s, j, k, r->lo, r->hi, col);
			for (int32_t i = r->lo; i <= r->hi; i++) {
				unsigned c = spread[col[i]] | spread[col[i + 1]] << 1;

				nx += (c ^ c >> 1) & 1;
				ny += (c ^ c >> 2) & 1;
				nz += (c ^ c >> 4) & 1;
				nt += x3d_mc_ntri[c];
			}
		}
		r->ncut[0] = nx;
		r->ncut[1] = ny;
		r->ncut[2] = nz;
		r->ntri = nt;
	}
}

static void
put_vertex(const struct surf *s, uint32_t id, double i, double j, double k)
{
	float *v = s->v + 3 * (size_t)id;

	/* padded index to voxel index, then to LPS millimetres */
	i -= 1;
	j -= 1;
	k -= 1;
	for (int a = 0; a < 3; a++)
		v[a] = (float)(s->geo[0][a] + i * s->geo[1][a] + j * s->geo[2][a] +
			       k * s->geo[3][a]);
}

/* Pass 4: vertices and triangles of cube slice k. */
static void
pass_fill(void *ctx, size_t k, unsigned worker)
{
	struct surf *s = ctx;
	uint8_t *col = s->col[worker];

	for (size_t j = 0; j + 1 < s->py; j++) {
		const struct row *r = &s->rows[k * s->py + j];
		const struct row *r10 = r + 1, *r01 = r + s->py, *r11 = r01 + 1;
		uint32_t x[4], y[2], z[2], id[12], *t;

		if (r->lo > r->hi)
			continue;
		fill_columns(s, j, k, r->lo, r->hi, col);
		x[0] = r->vbase;
		x[1] = r10->vbase;
		x[2] = r01->vbase;
		x[3] = r11->vbase;
		y[0] = r->vbase + r->ncut[0];
		y[1] = r01->vbase + r01->ncut[0];
		z[0] = r->vbase + r->ncut[0] + r->ncut[1];
		z[1] = r10->vbase + r10->ncut[0] + r10->ncut[1];
		t = s->t + 3 * (size_t)r->tbase;
		for (int32_t i = r->lo; i <= r->hi; i++) {
			unsigned c = spread[col[i]] | spread[col[i + 1]] << 1;
			unsigned cx = (c ^ c >> 1) & 1, cy = (c ^ c >> 2) & 1,
				 cz = (c ^ c >> 4) & 1;

			if (c == 0 || c == 255)
				continue;
			if (cx)
				put_vertex(s, x[0], i + 0.5, (double)j, (double)k);
			if (cy)
				put_vertex(s, y[0], i, j + 0.5, (double)k);
			if (cz)
				put_vertex(s, z[0], i, (double)j, k + 0.5);
			id[0] = x[0];
			id[1] = x[1];
			id[2] = x[2];
			id[3] = x[3];
			id[4] = y[0];
			id[5] = y[0] + cy;
			id[6] = y[1];
			id[7] = y[1] + ((c >> 4 ^ c >> 6) & 1);
			id[8] = z[0];
			id[9] = z[0] + cz;
			id[10] = z[1];
			id[11] = z[1] + ((c >> 2 ^ c >> 6) & 1);
			for (unsigned n = 0; n < x3d_mc_ntri[c]; n++, t += 3) {
				const unsigned char *e = &x3d_mc_tri[c][3 * n];

				t[0] = id[e[0]];
				t[1] = id[e[s->flip ? 2 : 1]];
				t[2] = id[e[s->flip ? 1 : 2]];
			}
			x[0] += cx;
			x[1] += (c >> 2 ^ c >> 3) & 1;
			x[2] += (c >> 4 ^ c >> 5) & 1;
			x[3] += (c >> 6 ^ c >> 7) & 1;
			y[0] += cy;
			y[1] += (c >> 4 ^ c >> 6) & 1;
			z[0] += cz;
			z[1] += (c >> 2 ^ c >> 6) & 1;
		}
	}
}

/* Origin and axis steps of the volume; a flip when the axes are left-handed. */
static int
geometry(const struct m3_vol *vol, struct surf *s, struct m3_err *e)
{
	double det;

	memset(s->geo, 0, sizeof(s->geo));
	for (int a = 0; a < 3; a++) {
		if (vol->has_origin)
			s->geo[0][a] = vol->origin[a];
		for (int b = 0; b < 3; b++)
			s->geo[a + 1][b] = vol->has_space ? vol->dirs[a][b] : a == b;
	}
	det = s->geo[1][0] * (s->geo[2][1] * s->geo[3][2] - s->geo[2][2] * s->geo[3][1]) -
	      s->geo[1][1] * (s->geo[2][0] * s->geo[3][2] - s->geo[2][2] * s->geo[3][0]) +
	      s->geo[1][2] * (s->geo[2][0] * s->geo[3][1] - s->geo[2][1] * s->geo[3][0]);
	if (!(det != 0))
		return m3_err_set(e, M3_EDATA, "space directions: the axes span no volume");
	s->flip = det < 0;
	return M3_OK;
}

/* Pass 3: ids by a prefix sum over the rows, in row order. */
static int
prefix(struct surf *s, size_t *nv, size_t *nt, struct m3_err *e)
{
	uint64_t v = 0, t = 0;

	for (size_t r = 0; r < s->py * s->pz; r++) {
		struct row *q = &s->rows[r];

		q->vbase = (uint32_t)v;
		q->tbase = (uint32_t)t;
		v += (uint64_t)q->ncut[0] + q->ncut[1] + q->ncut[2];
		t += q->ntri;
		if (v > UINT32_MAX || t > UINT32_MAX)
			return m3_err_set(e, M3_EDATA, "mesh of over 2^32 vertices or triangles");
	}
	*nv = (size_t)v;
	*nt = (size_t)t;
	return M3_OK;
}

static int
surf_init(struct surf *s, const struct m3_vol *vol, unsigned label, unsigned nworkers,
	  struct m3_err *e)
{
	memset(s, 0, sizeof(*s));
	s->data = vol->data;
	s->nx = vol->sizes[0];
	s->ny = vol->sizes[1];
	s->nz = vol->sizes[2];
	s->px = s->nx + 2;
	s->py = s->ny + 2;
	s->pz = s->nz + 2;
	s->label = (uint8_t)label;
	if (s->px > INT32_MAX - 2)
		return m3_err_set(e, M3_EDATA, "sizes: axis 0 is over %d", INT32_MAX - 4);
	if (geometry(vol, s, e) != M3_OK)
		return e->code;
	/* py * pz <= 9 * ny * nz, which the reader's byte limit bounds */
	if ((s->rows = calloc(s->py * s->pz, sizeof(*s->rows))) == NULL ||
	    (s->col = calloc(nworkers, sizeof(*s->col))) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	for (unsigned w = 0; w < nworkers; w++)
		if ((s->col[w] = malloc(s->px + 1)) == NULL)
			return m3_err_set(e, M3_ENOMEM, "out of memory");
	return M3_OK;
}

static void
surf_release(struct surf *s, unsigned nworkers)
{
	for (unsigned w = 0; s->col != NULL && w < nworkers; w++)
		free(s->col[w]);
	free(s->col);
	free(s->rows);
}

int
x3d_surface(const struct m3_vol *vol, unsigned label, struct m3_pool *pool, struct x3d_mesh *m,
	    struct m3_err *e)
{
	unsigned nw = m3_pool_size(pool);
	struct surf s;
	size_t nv = 0, nt = 0;
	int rc;

	if ((rc = surf_init(&s, vol, label, nw, e)) == M3_OK) {
		m3_pool_run(pool, pass_rows, &s, s.pz);
		m3_pool_run(pool, pass_count, &s, s.pz - 1);
		rc = prefix(&s, &nv, &nt, e);
	}
	if (rc == M3_OK && (rc = x3d_mesh_alloc(m, nv, nt, e)) == M3_OK) {
		s.v = m->v;
		s.t = m->t;
		m3_pool_run(pool, pass_fill, &s, s.pz - 1);
	}
	surf_release(&s, nw);
	return rc;
}

struct hist {
	const uint8_t *data;
	size_t slice, n;
	size_t (*count)[256];
};

static void
hist_slice(void *ctx, size_t k, unsigned worker)
{
	const struct hist *h = ctx;
	const uint8_t *p = h->data + k * h->slice;
	size_t end = (k + 1) * h->slice > h->n ? h->n - k * h->slice : h->slice;
	size_t *c = h->count[worker];

	for (size_t i = 0; i < end; i++)
		c[p[i]]++;
}

void
x3d_histogram(const struct m3_vol *vol, struct m3_pool *pool, size_t count[256])
{
	unsigned nw = m3_pool_size(pool);
	size_t(*c)[256] = calloc(nw, sizeof(*c));
	struct hist h = {vol->data, 1 << 20, 0, c};

	memset(count, 0, 256 * sizeof(*count));
	h.n = vol->sizes[0] * vol->sizes[1] * vol->sizes[2];
	if (c == NULL) { /* too little memory for the worker counts: count in one thread */
		for (size_t i = 0; i < h.n; i++)
			count[((const uint8_t *)vol->data)[i]]++;
		return;
	}
	m3_pool_run(pool, hist_slice, &h, (h.n + h.slice - 1) / h.slice);
	for (unsigned w = 0; w < nw; w++)
		for (int i = 0; i < 256; i++)
			count[i] += c[w][i];
	free(c);
}
