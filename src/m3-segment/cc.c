/*
 * m3-segment on the CPU: 3D connected components by runs.  Each row's runs of set
 * voxels are found in parallel, runs that touch in the rows before are joined in a
 * union-find (slabs of slices in parallel, then the seams between slabs), and each
 * component is named by its first run in raster order, so ties are broken the same way
 * on every path.
 */
#include <stdlib.h>
#include <string.h>

#include "seg.h"

struct run {
	uint32_t x0, x1;
};

struct cc {
	const struct seg_grid *g;
	uint8_t *mask;
	uint8_t want; /* runs of set (1) or clear (0) voxels */
	int conn;
	size_t nrow; /* ny * nz */
	size_t *rowstart; /* nrow + 1 */
	struct run *runs;
	uint32_t *parent; /* then the root of each run */
	size_t nruns;
	size_t nslab;
};

/* The runs of voxels equal to want in a row of a 0/1 mask; memchr skips the gaps fast. */
static size_t
row_runs(const uint8_t *row, long nx, uint8_t want, struct run *out)
{
	size_t n = 0, x = 0, end = (size_t)nx;

	while (x < end) {
		const uint8_t *p = memchr(row + x, want, end - x), *q;
		if (p == NULL)
			break;
		size_t x0 = (size_t)(p - row);
		q = memchr(p, want ^ 1, end - x0);
		x = q != NULL ? (size_t)(q - row) : end;
		if (out != NULL) {
			out[n].x0 = (uint32_t)x0;
			out[n].x1 = (uint32_t)(x - 1);
		}
		n++;
	}
	return n;
}

static void
count_slice(void *ctx, size_t z, unsigned w)
{
	struct cc *c = ctx;
	long nx = c->g->nx, ny = c->g->ny;

	(void)w;
	for (long y = 0; y < ny; y++) {
		size_t r = z * (size_t)ny + (size_t)y;
		c->rowstart[r + 1] = row_runs(c->mask + r * (size_t)nx, nx, c->want, NULL);
	}
}

static void
fill_slice(void *ctx, size_t z, unsigned w)
{
	struct cc *c = ctx;
	long nx = c->g->nx, ny = c->g->ny;

	(void)w;
	for (long y = 0; y < ny; y++) {
		size_t r = z * (size_t)ny + (size_t)y;
		row_runs(c->mask + r * (size_t)nx, nx, c->want, c->runs + c->rowstart[r]);
		for (size_t i = c->rowstart[r]; i < c->rowstart[r + 1]; i++)
			c->parent[i] = (uint32_t)i;
	}
}

static uint32_t
find(uint32_t *p, uint32_t x)
{
	while (p[x] != x) {
		p[x] = p[p[x]];
		x = p[x];
	}
	return x;
}

/* Links the larger root under the smaller, so a root is its component's first run. */
static void
unite(uint32_t *p, uint32_t a, uint32_t b)
{
	a = find(p, a);
	b = find(p, b);
	if (a < b)
		p[b] = a;
	else if (b < a)
		p[a] = b;
}

/* Joins the runs of row ra with those of row rb that touch them. */
static void
join_rows(struct cc *c, size_t ra, size_t rb, int diag)
{
	size_t i = c->rowstart[ra], ie = c->rowstart[ra + 1];
	size_t j = c->rowstart[rb], je = c->rowstart[rb + 1];

	while (i < ie && j < je) {
		const struct run *a = &c->runs[i], *b = &c->runs[j];
		if ((uint64_t)a->x0 <= (uint64_t)b->x1 + (unsigned)diag &&
		    (uint64_t)b->x0 <= (uint64_t)a->x1 + (unsigned)diag)
			unite(c->parent, (uint32_t)i, (uint32_t)j);
		if (a->x1 < b->x1)
			i++;
		else
			j++;
	}
}

/* Joins row (y, z) with the rows of slice z - 1 that its voxels can touch. */
static void
join_zrow(struct cc *c, long y, long z)
{
	long ny = c->g->ny;
	size_t r = (size_t)z * (size_t)ny + (size_t)y, p = r - (size_t)ny;

	if (c->conn != 26) {
		join_rows(c, r, p, 0);
		return;
	}
	for (long dy = -1; dy <= 1; dy++)
		if (y + dy >= 0 && y + dy < ny)
			join_rows(c, r, (size_t)((long)p + dy), 1);
}

static void
join_slab(void *ctx, size_t s, unsigned w)
{
	struct cc *c = ctx;
	long nz = c->g->nz, ny = c->g->ny;
	long z0 = (long)(s * (size_t)nz / c->nslab), z1 = (long)((s + 1) * (size_t)nz / c->nslab);

	(void)w;
	for (long z = z0; z < z1; z++)
		for (long y = 0; y < ny; y++) {
			size_t r = (size_t)z * (size_t)ny + (size_t)y;
			if (c->rowstart[r] == c->rowstart[r + 1])
				continue;
			if (y > 0)
				join_rows(c, r, r - 1, c->conn == 26);
			if (z > z0) /* the seam with the slab before is joined afterwards */
				join_zrow(c, y, z);
		}
}

static void
cc_release(struct cc *c)
{
	free(c->rowstart);
	free(c->runs);
	free(c->parent);
}

/* Labels the runs of voxels equal to want (as 0/1) into components; parent[] ends as roots. */
static int
cc_label(struct cc *c, struct m3_err *e)
{
	const struct seg_grid *g = c->g;
	long ny = g->ny;

	c->nrow = (size_t)g->ny * (size_t)g->nz;
	c->runs = NULL;
	c->parent = NULL;
	if ((c->rowstart = malloc((c->nrow + 1) * sizeof(size_t))) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	c->rowstart[0] = 0;
	m3_pool_run(g->pool, count_slice, c, (size_t)g->nz);
	for (size_t r = 0; r < c->nrow; r++)
		c->rowstart[r + 1] += c->rowstart[r];
	c->nruns = c->rowstart[c->nrow];
	if (c->nruns >= UINT32_MAX)
		return m3_err_set(e, M3_EDATA, "more than %lu runs of voxels",
				  (unsigned long)UINT32_MAX - 1);
	c->runs = malloc((c->nruns + 1) * sizeof(struct run));
	c->parent = malloc((c->nruns + 1) * sizeof(uint32_t));
	if (c->runs == NULL || c->parent == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	m3_pool_run(g->pool, fill_slice, c, (size_t)g->nz);
	c->nslab = 4 * (size_t)m3_pool_size(g->pool);
	if (c->nslab > (size_t)g->nz)
		c->nslab = (size_t)g->nz;
	m3_pool_run(g->pool, join_slab, c, c->nslab);
	for (size_t s = 1; s < c->nslab; s++) {
		long z = (long)(s * (size_t)g->nz / c->nslab);
		for (long y = 0; y < ny; y++)
			join_zrow(c, y, z);
	}
	/* parent[i] <= i throughout, so one pass in order flattens every run to its root */
	for (size_t i = 0; i < c->nruns; i++)
		c->parent[i] = c->parent[c->parent[i]];
	return M3_OK;
}

/* Sets the voxels of every run whose root is not marked in keep[] to val. */
struct paint_job {
	struct cc *c;
	const uint8_t *keep;
	uint8_t val;
};

static void
paint_slice(void *ctx, size_t z, unsigned w)
{
	const struct paint_job *j = ctx;
	const struct cc *c = j->c;
	long ny = c->g->ny, nx = c->g->nx;

	(void)w;
	for (long y = 0; y < ny; y++) {
		size_t r = z * (size_t)ny + (size_t)y;
		uint8_t *row = c->mask + r * (size_t)nx;
		for (size_t i = c->rowstart[r]; i < c->rowstart[r + 1]; i++)
			if (!j->keep[c->parent[i]])
				memset(row + c->runs[i].x0, j->val,
				       c->runs[i].x1 - c->runs[i].x0 + 1);
	}
}

struct comp {
	size_t size;
	uint32_t root;
};

/* Larger first; of equal size, the one whose first voxel comes first in raster order. */
static int
comp_cmp(const void *a, const void *b)
{
	const struct comp *x = a, *y = b;

	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return x->root < y->root ? -1 : (x->root > y->root);
}

int
seg_cc_filter(const struct seg_grid *g, uint8_t *mask, int conn, long keep, size_t min_size,
	      struct seg_ccstat *st, struct m3_err *e)
{
	struct cc c = {.g = g, .mask = mask, .want = 1, .conn = conn};
	struct paint_job pj = {&c, NULL, 0};
	size_t *size = NULL, ncomp = 0;
	struct comp *cs = NULL;
	uint8_t *kept = NULL;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = cc_label(&c, e)) != M3_OK)
		goto out;
	size = calloc(c.nruns + 1, sizeof(size_t));
	kept = calloc(c.nruns + 1, 1);
	if (size == NULL || kept == NULL) {
		rc = m3_err_set(e, M3_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < c.nruns; i++) {
		size[c.parent[i]] += c.runs[i].x1 - c.runs[i].x0 + 1;
		ncomp += c.parent[i] == i;
	}
	if ((cs = malloc((ncomp + 1) * sizeof(*cs))) == NULL) {
		rc = m3_err_set(e, M3_ENOMEM, "out of memory");
		goto out;
	}
	st->ncomp = ncomp;
	ncomp = 0;
	for (size_t i = 0; i < c.nruns; i++)
		if (c.parent[i] == i && size[i] >= min_size)
			cs[ncomp++] = (struct comp){size[i], (uint32_t)i};
	qsort(cs, ncomp, sizeof(*cs), comp_cmp);
	if (keep > 0 && ncomp > (size_t)keep)
		ncomp = (size_t)keep;
	for (size_t k = 0; k < ncomp; k++) {
		kept[cs[k].root] = 1;
		st->kept_voxels += cs[k].size;
	}
	st->nkept = ncomp;
	pj.keep = kept;
	m3_pool_run(g->pool, paint_slice, &pj, (size_t)g->nz);
	rc = M3_OK;
out:
	free(size);
	free(kept);
	free(cs);
	cc_release(&c);
	return rc;
}

/*
 * Fills the holes: clear voxels that no 6-connected path of clear voxels joins to the
 * border of the volume become set.
 */
int
seg_fill_holes(const struct seg_grid *g, uint8_t *mask, struct m3_err *e)
{
	struct cc c = {.g = g, .mask = mask, .want = 0, .conn = 6};
	struct paint_job pj = {&c, NULL, 1};
	uint8_t *open = NULL;
	int rc;

	if ((rc = cc_label(&c, e)) != M3_OK)
		goto out;
	if ((open = calloc(c.nruns + 1, 1)) == NULL) {
		rc = m3_err_set(e, M3_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t r = 0; r < c.nrow; r++) {
		long y = (long)(r % (size_t)g->ny), z = (long)(r / (size_t)g->ny);
		int edge = y == 0 || y == g->ny - 1 || z == 0 || z == g->nz - 1;
		for (size_t i = c.rowstart[r]; i < c.rowstart[r + 1]; i++)
			if (edge || c.runs[i].x0 == 0 || c.runs[i].x1 == (uint32_t)(g->nx - 1))
				open[c.parent[i]] = 1;
	}
	pj.keep = open;
	m3_pool_run(g->pool, paint_slice, &pj, (size_t)g->nz);
out:
	free(open);
	cc_release(&c);
	return rc;
}
