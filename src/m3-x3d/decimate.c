/* Quadric-error edge collapse (Garland and Heckbert 1997) on a closed manifold mesh, held as
 * a corner table: opposite half-edges glue the triangles, so a collapse costs only the
 * valence of its two vertices and never allocates.
 *
 * Most collapses run in parallel: the vertices are cut into chunks by id (marching cubes
 * numbers them slab by slab, so a chunk is a few slices), and each chunk collapses, cheapest
 * first from its own heap, only edges whose two vertices have all their neighbours in the
 * chunk.  Such a collapse changes only triangles of the chunk, so chunks cannot interfere,
 * and the result does not depend on the thread count.  Each chunk goes to its share of the
 * budget; a second pass with chunks shifted by half works on the seams, and a last serial
 * pass with one heap over all edges reaches the budget. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mesh.h"

#define NONE UINT32_MAX
#define MIN_COS 0.2 /* a collapse may turn a triangle's normal by at most ~78 degrees */
#define MIN_QUALITY 0.05
#define MAXVAL 64 /* vertices with more neighbours are left alone */
#define CHUNK 32768 /* vertices a chunk: few seams, and still much in the cache */

/* An edge on the heap. */
struct cand {
	float cost;
	uint32_t e;
};

struct deci {
	uint32_t *t; /* corner -> vertex; NONE for a dead triangle's corners */
	uint32_t *opp; /* corner (half-edge from t[c] to t[next(c)]) -> its opposite */
	uint32_t *eid; /* half-edge -> its edge */
	uint32_t *half; /* edge -> one of its half-edges */
	uint32_t *vc; /* vertex -> one of its corners; NONE once the vertex is gone */
	uint32_t *hpos; /* edge -> its place on its heap, or NONE */
	uint8_t *locked; /* vertex -> it has a neighbour outside its chunk */
	double *p; /* positions */
	double (*q)[10]; /* quadrics */
	size_t nv, nt, ne;
	unsigned nw;
	double ratio; /* triangles to keep / triangles */
	struct heap *w; /* one per worker */
	size_t chunk0; /* first vertex of the chunks of this pass: 0 or CHUNK / 2 */
	size_t *own0; /* per chunk: its triangles at the start, for its share */
};

/* The edges one worker can collapse in vertices lo .. hi - 1: a 4-ary min-heap indexed by
 * hpos, shallow and cache-friendly. */
struct heap {
	struct cand *a;
	size_t n, cap;
	uint32_t lo, hi;
	size_t done, total; /* collapses made: in this run, in all */
};

static inline uint32_t
nxt(uint32_t c)
{
	return c % 3 == 2 ? c - 2 : c + 1;
}

static inline uint32_t
prv(uint32_t c)
{
	return c % 3 == 0 ? c + 2 : c - 1;
}

/* the next corner around the same vertex */
static inline uint32_t
turn(const struct deci *d, uint32_t c)
{
	return d->opp[prv(c)];
}

static inline void
heap_set(struct deci *d, struct heap *w, size_t i, struct cand x)
{
	w->a[i] = x;
	d->hpos[x.e] = (uint32_t)i;
}

static void
heap_up(struct deci *d, struct heap *w, size_t i, struct cand x)
{
	for (; i > 0 && w->a[(i - 1) / 4].cost > x.cost; i = (i - 1) / 4)
		heap_set(d, w, i, w->a[(i - 1) / 4]);
	heap_set(d, w, i, x);
}

static void
heap_down(struct deci *d, struct heap *w, size_t i, struct cand x)
{
	for (;;) {
		size_t c = 4 * i + 1, end = c + 4 < w->n ? c + 4 : w->n, m = c;

		if (c >= w->n)
			break;
		for (size_t k = c + 1; k < end; k++)
			if (w->a[k].cost < w->a[m].cost)
				m = k;
		if (w->a[m].cost >= x.cost)
			break;
		heap_set(d, w, i, w->a[m]);
		i = m;
	}
	heap_set(d, w, i, x);
}

/* Puts edge e on the heap at cost, or moves it there if it is on already.  The heap has
 * room for every edge of its vertices (3 * vertices: Euler). */
static void
heap_update(struct deci *d, struct heap *w, uint32_t e, float cost)
{
	struct cand x = {cost, e};
	uint32_t i = d->hpos[e];

	if (i == NONE) {
		if (w->n < w->cap)
			heap_up(d, w, w->n++, x);
	} else if (cost < w->a[i].cost) {
		heap_up(d, w, i, x);
	} else {
		heap_down(d, w, i, x);
	}
}

/* Takes edge e off the heap, if it is on. */
static void
heap_remove(struct deci *d, struct heap *w, uint32_t e)
{
	uint32_t i = d->hpos[e];
	struct cand last;

	if (i == NONE)
		return;
	d->hpos[e] = NONE;
	last = w->a[--w->n];
	if (i == w->n)
		return;
	if (last.cost < w->a[i].cost)
		heap_up(d, w, i, last);
	else
		heap_down(d, w, i, last);
}

static inline int
mine(const struct heap *w, uint32_t v)
{
	return v >= w->lo && v < w->hi;
}

static double
q_eval(const double q[10], const double x[3])
{
	return q[0] * x[0] * x[0] + 2 * q[1] * x[0] * x[1] + 2 * q[2] * x[0] * x[2] +
	       2 * q[3] * x[0] + q[4] * x[1] * x[1] + 2 * q[5] * x[1] * x[2] + 2 * q[6] * x[1] +
	       q[7] * x[2] * x[2] + 2 * q[8] * x[2] + q[9];
}

/* The point that minimises the summed quadric of u and v, and its cost. */
static double
place(const struct deci *d, uint32_t u, uint32_t v, double x[3])
{
	const double *a = d->q[u], *b = d->q[v], *pu = d->p + 3 * (size_t)u,
		     *pv = d->p + 3 * (size_t)v;
	double q[10], det, tr, best, c, len2 = 0, c00, c01, c02, c11, c12, c22;
	double m[3];

	for (int i = 0; i < 10; i++)
		q[i] = a[i] + b[i];
	for (int i = 0; i < 3; i++) {
		m[i] = 0.5 * (pu[i] + pv[i]);
		len2 += (pu[i] - pv[i]) * (pu[i] - pv[i]);
	}
	/* A x = -b by the adjugate, when A is well conditioned at this edge's scale */
	c00 = q[4] * q[7] - q[5] * q[5];
	c01 = q[2] * q[5] - q[1] * q[7];
	c02 = q[1] * q[5] - q[4] * q[2];
	c11 = q[0] * q[7] - q[2] * q[2];
	c12 = q[1] * q[2] - q[0] * q[5];
	c22 = q[0] * q[4] - q[1] * q[1];
	det = q[0] * c00 + q[1] * c01 + q[2] * c02;
	tr = q[0] + q[4] + q[7];
	if (fabs(det) > 1e-9 * tr * tr * tr) {
		x[0] = -(c00 * q[3] + c01 * q[6] + c02 * q[8]) / det;
		x[1] = -(c01 * q[3] + c11 * q[6] + c12 * q[8]) / det;
		x[2] = -(c02 * q[3] + c12 * q[6] + c22 * q[8]) / det;
		/* an optimum far from the edge comes from a nearly flat neighbourhood: not used */
		if ((x[0] - m[0]) * (x[0] - m[0]) + (x[1] - m[1]) * (x[1] - m[1]) +
			    (x[2] - m[2]) * (x[2] - m[2]) <=
		    len2)
			return q_eval(q, x);
	}
	memcpy(x, m, sizeof(m));
	best = q_eval(q, m);
	if ((c = q_eval(q, pu)) < best) {
		best = c;
		memcpy(x, pu, sizeof(m));
	}
	if ((c = q_eval(q, pv)) < best) {
		best = c;
		memcpy(x, pv, sizeof(m));
	}
	return best;
}

/* Puts edge h on w's heap if both its vertices are w's. */
static void
push_edge(struct deci *d, struct heap *w, uint32_t h)
{
	uint32_t u = d->t[h], v = d->t[nxt(h)];
	double x[3];

	if (!d->locked[u] && !d->locked[v])
		heap_update(d, w, d->eid[h], (float)place(d, u, v, x));
}

static uint32_t
valence(const struct deci *d, uint32_t x)
{
	uint32_t c0 = d->vc[x], c = c0, n = 0;

	do {
		n++;
		c = turn(d, c);
	} while (c != c0);
	return n;
}

/* 2 sqrt(3) * twice the area / the summed squared sides; n2 is the squared cross product */
static double
quality(double n2, const double u[3], const double w[3])
{
	double s = 0;

	for (int i = 0; i < 3; i++)
		s += u[i] * u[i] + w[i] * w[i] + (u[i] - w[i]) * (u[i] - w[i]);
	return s > 0 ? 2 * sqrt(3.0) * sqrt(n2) / s : 0;
}

/* Moving vertex x to p turns no triangle around it (but skip0 and skip1) too far. */
static int
ring_ok(const struct deci *d, uint32_t x, const double p[3], uint32_t skip0, uint32_t skip1)
{
	uint32_t c0 = d->vc[x], c = c0;
	const double *o = d->p + 3 * (size_t)x;

	do {
		uint32_t tri = c / 3;

		if (tri != skip0 && tri != skip1) {
			const double *a = d->p + 3 * (size_t)d->t[nxt(c)];
			const double *b = d->p + 3 * (size_t)d->t[prv(c)];
			double u0[3], u1[3], w0[3], w1[3], n0[3], n1[3], dot, l0, l1, qn;

			for (int i = 0; i < 3; i++) {
				u0[i] = a[i] - o[i];
				w0[i] = b[i] - o[i];
				u1[i] = a[i] - p[i];
				w1[i] = b[i] - p[i];
			}
			n0[0] = u0[1] * w0[2] - u0[2] * w0[1];
			n0[1] = u0[2] * w0[0] - u0[0] * w0[2];
			n0[2] = u0[0] * w0[1] - u0[1] * w0[0];
			n1[0] = u1[1] * w1[2] - u1[2] * w1[1];
			n1[1] = u1[2] * w1[0] - u1[0] * w1[2];
			n1[2] = u1[0] * w1[1] - u1[1] * w1[0];
			dot = n0[0] * n1[0] + n0[1] * n1[1] + n0[2] * n1[2];
			l0 = n0[0] * n0[0] + n0[1] * n0[1] + n0[2] * n0[2];
			l1 = n1[0] * n1[0] + n1[1] * n1[1] + n1[2] * n1[2];
			if (!(l1 > 0) || dot <= 0 || dot * dot < MIN_COS * MIN_COS * l0 * l1)
				return 0;
			/* nor makes a sliver (or worse): quality 1 is equilateral, 0 flat */
			qn = quality(l1, u1, w1);
			if (qn < MIN_QUALITY && qn < quality(l0, u0, w0))
				return 0;
		}
		c = turn(d, c);
	} while (c != c0);
	return 1;
}

/* Collects x's neighbours into nb (at most MAXVAL); 0 when there are more, or when one is
 * not w's. */
static uint32_t
ring(const struct deci *d, const struct heap *w, uint32_t x, uint32_t nb[MAXVAL])
{
	uint32_t c0 = d->vc[x], c = c0, n = 0;

	do {
		if (n == MAXVAL || !mine(w, d->t[nxt(c)]))
			return 0;
		nb[n++] = d->t[nxt(c)];
		c = turn(d, c);
	} while (c != c0);
	return n;
}

/* The link condition: u and v share exactly the two neighbours across their edge; the
 * collapse leaves every vertex involved with at least three neighbours; and every vertex
 * it touches is w's. */
static int
topology_ok(const struct deci *d, const struct heap *w, uint32_t u, uint32_t v, uint32_t a,
	    uint32_t b)
{
	uint32_t nu[MAXVAL], nv[MAXVAL], cu, cv, common = 0;

	if ((cu = ring(d, w, u, nu)) == 0 || (cv = ring(d, w, v, nv)) == 0 || cu + cv < 7 ||
	    valence(d, a) <= 3 || valence(d, b) <= 3)
		return 0;
	for (uint32_t i = 0; i < cu; i++)
		for (uint32_t j = 0; j < cv; j++)
			common += nu[i] == nv[j];
	return common == 2;
}

/* Collapses half-edge h (u to v) into u at x. */
static void
collapse(struct deci *d, struct heap *w, uint32_t h, const double x[3])
{
	uint32_t u = d->t[h], v = d->t[nxt(h)], h1 = d->opp[h];
	uint32_t n0 = nxt(h), p0 = prv(h), n1 = nxt(h1), p1 = prv(h1);
	uint32_t x0 = d->opp[n0], y0 = d->opp[p0], x1 = d->opp[n1], y1 = d->opp[p1];
	uint32_t c, c0;

	/* the edge goes, and the two pairs of edges beside it become one each */
	heap_remove(d, w, d->eid[n0]);
	heap_remove(d, w, d->eid[p0]);
	heap_remove(d, w, d->eid[n1]);
	heap_remove(d, w, d->eid[p1]);
	/* v's corners become u's */
	c = c0 = n0;
	do {
		d->t[c] = u;
		c = turn(d, c);
	} while (c != c0);
	d->opp[x0] = y0;
	d->opp[y0] = x0;
	d->opp[x1] = y1;
	d->opp[y1] = x1;
	d->eid[y0] = d->eid[x0];
	d->half[d->eid[x0]] = x0;
	d->eid[y1] = d->eid[x1];
	d->half[d->eid[x1]] = x1;
	for (int i = 0; i < 3; i++) {
		d->t[h - h % 3 + (uint32_t)i] = NONE;
		d->t[h1 - h1 % 3 + (uint32_t)i] = NONE;
	}
	d->vc[u] = y0;
	d->vc[d->t[x0]] = x0;
	d->vc[d->t[x1]] = x1;
	d->vc[v] = NONE;
	for (int i = 0; i < 10; i++)
		d->q[u][i] += d->q[v][i];
	memcpy(d->p + 3 * (size_t)u, x, 3 * sizeof(double));
	w->done++;
	/* the edges around u cost something else now */
	c = c0 = d->vc[u];
	do {
		push_edge(d, w, c);
		c = turn(d, c);
	} while (c != c0);
}

/* Takes the cheapest edge off w's heap and collapses it if that keeps the mesh sound;
 * an edge refused comes back when a collapse next to it changes its cost. */
static void
step(struct deci *d, struct heap *w)
{
	uint32_t e = w->a[0].e, h = d->half[e], u = d->t[h], v = d->t[nxt(h)];
	uint32_t a = d->t[prv(h)], b = d->t[prv(d->opp[h])];
	double x[3];

	heap_remove(d, w, e);
	if (!topology_ok(d, w, u, v, a, b))
		return;
	place(d, u, v, x);
	if (!ring_ok(d, u, x, h / 3, d->opp[h] / 3) || !ring_ok(d, v, x, h / 3, d->opp[h] / 3))
		return;
	collapse(d, w, h, x);
}

/* Collapses in w's vertices until want collapses are made or none is left. */
static void
run_heap(struct deci *d, struct heap *w, size_t want)
{
	double x[3];

	/*
	 * A vertex with a neighbour outside the chunk can neither collapse nor lose that
	 * neighbour, and a vertex without one cannot gain one: so the edges worth a place on
	 * the heap are those between vertices without, now and until the end of the run.
	 */
	for (uint32_t v = w->lo; v < w->hi; v++) {
		uint32_t c0 = d->vc[v], c = c0;

		d->locked[v] = 0;
		if (c0 != NONE)
			do {
				d->locked[v] |= !mine(w, d->t[nxt(c)]);
				c = turn(d, c);
			} while (c != c0);
	}
	/* every such edge, heapified bottom-up */
	w->n = 0;
	w->done = 0;
	for (uint32_t v = w->lo; v < w->hi; v++) {
		uint32_t c0 = d->vc[v], c;

		if (c0 == NONE || d->locked[v])
			continue;
		c = c0;
		do {
			uint32_t o = d->t[nxt(c)];

			if (o > v && o < w->hi && !d->locked[o] && w->n < w->cap) {
				d->hpos[d->eid[c]] = (uint32_t)w->n;
				w->a[w->n].cost = (float)place(d, v, o, x);
				w->a[w->n++].e = d->eid[c];
			}
			c = turn(d, c);
		} while (c != c0);
	}
	for (size_t i = w->n / 4 + 1; i-- > 0;)
		heap_down(d, w, i, w->a[i]);
	while (w->done < want && w->n > 0)
		step(d, w);
	for (size_t i = 0; i < w->n; i++)
		d->hpos[w->a[i].e] = NONE;
	w->n = 0;
	w->total += w->done;
}

/* Chunk i of this pass: its vertices, and its triangles now (by their first corner). */
static void
chunk_range(const struct deci *d, size_t i, uint32_t *lo, uint32_t *hi)
{
	size_t a = i == 0 ? 0 : d->chunk0 + (i - 1) * CHUNK, b = d->chunk0 + i * CHUNK;

	if (d->chunk0 == 0) {
		a = i * CHUNK;
		b = a + CHUNK;
	}
	*lo = (uint32_t)a;
	*hi = (uint32_t)(b < d->nv ? b : d->nv);
}

static size_t
nchunks(const struct deci *d)
{
	return d->chunk0 == 0 ? (d->nv + CHUNK - 1) / CHUNK
			      : (d->nv - d->chunk0 + CHUNK - 1) / CHUNK + 1;
}

/* One chunk on one worker: down to the chunk's share of the budget. */
static void
do_chunk(void *ctx, size_t i, unsigned worker)
{
	struct deci *d = ctx;
	struct heap *w = &d->w[worker];
	size_t own = 0, share;

	chunk_range(d, i, &w->lo, &w->hi);
	for (uint32_t v = w->lo; v < w->hi; v++)
		if (d->vc[v] != NONE) {
			uint32_t c0 = d->vc[v], c = c0;

			do {
				/* a triangle belongs to the chunk of its lowest vertex */
				own += d->t[nxt(c)] > v && d->t[prv(c)] > v;
				c = turn(d, c);
			} while (c != c0);
		}
	share = (size_t)(d->ratio * (double)d->own0[i]);
	if (own > share)
		run_heap(d, w, (own - share + 1) / 2);
}

static size_t
chunk_of(const struct deci *d, uint32_t v)
{
	if (d->chunk0 == 0)
		return v / CHUNK;
	return v < d->chunk0 ? 0 : 1 + (v - d->chunk0) / CHUNK;
}

/* Each chunk's triangles at the start, for this pass's chunks. */
static void
count_own0(struct deci *d, size_t *own0)
{
	memset(own0, 0, nchunks(d) * sizeof(*own0));
	for (size_t t = 0; t < d->nt; t++) {
		uint32_t v = d->t[3 * t];

		if (d->t[3 * t + 1] < v)
			v = d->t[3 * t + 1];
		if (d->t[3 * t + 2] < v)
			v = d->t[3 * t + 2];
		own0[chunk_of(d, v)]++;
	}
}

static void
quadrics(struct deci *d)
{
	memset(d->q, 0, d->nv * sizeof(*d->q));
	for (size_t t = 0; t < d->nt; t++) {
		const double *a = d->p + 3 * (size_t)d->t[3 * t],
			     *b = d->p + 3 * (size_t)d->t[3 * t + 1],
			     *c = d->p + 3 * (size_t)d->t[3 * t + 2];
		double u[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]};
		double w[3] = {c[0] - a[0], c[1] - a[1], c[2] - a[2]};
		double n[3] = {u[1] * w[2] - u[2] * w[1], u[2] * w[0] - u[0] * w[2],
			       u[0] * w[1] - u[1] * w[0]};
		double l = sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]), area = 0.5 * l, k[10];

		if (!(l > 0))
			continue;
		for (int i = 0; i < 3; i++)
			n[i] /= l;
		double off = -(n[0] * a[0] + n[1] * a[1] + n[2] * a[2]);
		double pl[4] = {n[0], n[1], n[2], off};

		/* area-weighted plane quadric, upper triangle of p p^T */
		for (int i = 0, m = 0; i < 4; i++)
			for (int j = i; j < 4; j++)
				k[m++] = area * pl[i] * pl[j];
		for (int v = 0; v < 3; v++)
			for (int i = 0; i < 10; i++)
				d->q[d->t[3 * t + (size_t)v]][i] += k[i];
	}
}

/* Opposite half-edges from the vertex stars; -1 when the mesh is not closed and manifold. */
static int
glue(struct deci *d, const struct x3d_star *s)
{
	for (size_t c = 0; c < 3 * d->nt; c++) {
		uint32_t a = d->t[c], b = d->t[nxt((uint32_t)c)];

		d->opp[c] = NONE;
		for (uint32_t i = s->first[b]; i < s->first[b + 1]; i++)
			if (d->t[nxt(s->corner[i])] == a) {
				d->opp[c] = s->corner[i];
				break;
			}
		if (d->opp[c] == NONE)
			return -1;
	}
	for (size_t v = 0; v < d->nv; v++)
		d->vc[v] = s->first[v] < s->first[v + 1] ? s->corner[s->first[v]] : NONE;
	return 0;
}

/* Numbers the edges. */
static void
number_edges(struct deci *d)
{
	d->ne = 0;
	for (size_t c = 0; c < 3 * d->nt; c++)
		if (d->opp[c] > c) {
			d->eid[c] = d->eid[d->opp[c]] = (uint32_t)d->ne;
			d->half[d->ne] = (uint32_t)c;
			d->hpos[d->ne] = NONE;
			d->ne++;
		}
}

static void
deci_free(struct deci *d)
{
	free(d->t);
	free(d->opp);
	free(d->vc);
	free(d->hpos);
	free(d->locked);
	free(d->eid);
	free(d->half);
	free(d->p);
	free(d->q);
	free(d->own0);
	for (unsigned i = 0; d->w != NULL && i < d->nw; i++)
		free(d->w[i].a);
	free(d->w);
}

static int
deci_init(struct deci *d, const struct x3d_mesh *m, unsigned nw, struct m3_err *e)
{
	size_t nc = 3 * m->nt;

	memset(d, 0, sizeof(*d));
	d->nv = m->nv;
	d->nt = m->nt;
	d->nw = nw;
	d->own0 = malloc(2 * (d->nv / CHUNK + 3) * sizeof(*d->own0));
	if ((d->w = calloc(nw, sizeof(*d->w))) != NULL) {
		for (unsigned i = 0; i < nw; i++) {
			d->w[i].cap = 4 * CHUNK;
			if ((d->w[i].a = malloc(d->w[i].cap * sizeof(*d->w[i].a))) == NULL) {
				free(d->own0);
				d->own0 = NULL; /* reported below */
			}
		}
	}
	d->t = malloc(nc * sizeof(*d->t));
	d->opp = malloc(nc * sizeof(*d->opp));
	d->vc = malloc(d->nv * sizeof(*d->vc));
	d->hpos = malloc((nc / 2 + 1) * sizeof(*d->hpos));
	d->eid = malloc(nc * sizeof(*d->eid));
	d->locked = malloc(d->nv ? d->nv : 1);
	d->half = malloc((nc / 2 + 1) * sizeof(*d->half));
	d->p = malloc(3 * d->nv * sizeof(*d->p));
	d->q = malloc(d->nv * sizeof(*d->q));
	if (d->t == NULL || d->opp == NULL || d->vc == NULL || d->hpos == NULL || d->eid == NULL ||
	    d->locked == NULL || d->half == NULL || d->p == NULL || d->q == NULL ||
	    d->own0 == NULL || d->w == NULL) {
		deci_free(d);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	memcpy(d->t, m->t, nc * sizeof(*d->t));
	for (size_t i = 0; i < 3 * d->nv; i++)
		d->p[i] = m->v[i];
	return M3_OK;
}

/* Writes the vertices and triangles still alive back into m. */
static int
compact(struct deci *d, struct x3d_mesh *m, struct m3_err *e)
{
	uint32_t *id = d->hpos; /* reused: new vertex ids (edges outnumber vertices) */
	size_t nv = 0, nt = 0, alive = 0;

	for (size_t v = 0; v < d->nv; v++)
		id[v] = d->vc[v] != NONE ? (uint32_t)nv++ : NONE;
	for (size_t c = 0; c < 3 * d->nt; c += 3)
		alive += d->t[c] != NONE;
	if (x3d_mesh_alloc(m, nv, alive, e) != M3_OK)
		return e->code;
	for (size_t v = 0; v < d->nv; v++)
		if (id[v] != NONE)
			for (int i = 0; i < 3; i++)
				m->v[3 * (size_t)id[v] + i] = (float)d->p[3 * v + i];
	for (size_t c = 0; c < 3 * d->nt; c++)
		if (d->t[c] != NONE)
			m->t[nt++] = id[d->t[c]];
	return M3_OK;
}

/* The parallel passes, then the serial one; false when out of memory for the last. */
static int
decimate(struct deci *d, size_t maxtri, struct m3_pool *pool)
{
	size_t nc = d->nv / CHUNK + 3, done = 0, alive;
	struct heap all = {0};

	d->ratio = (double)maxtri / (double)d->nt;
	d->chunk0 = CHUNK / 2;
	count_own0(d, d->own0 + nc);
	d->chunk0 = 0;
	count_own0(d, d->own0);
	m3_pool_run(pool, do_chunk, d, nchunks(d));
	d->chunk0 = CHUNK / 2;
	d->own0 += nc;
	m3_pool_run(pool, do_chunk, d, nchunks(d));
	d->own0 -= nc;
	for (unsigned i = 0; i < d->nw; i++)
		done += d->w[i].total;
	alive = d->nt - 2 * done;
	if (alive <= maxtri)
		return 1;
	all.hi = (uint32_t)d->nv;
	all.cap = d->ne;
	if ((all.a = malloc(all.cap * sizeof(*all.a))) == NULL)
		return 0;
	run_heap(d, &all, (alive - maxtri + 1) / 2);
	free(all.a);
	return 1;
}

int
x3d_decimate(struct x3d_mesh *m, size_t maxtri, struct m3_pool *pool, struct m3_err *e)
{
	struct x3d_star s;
	struct deci d;
	int rc = 0;

	if (m->nt <= maxtri)
		return M3_OK;
	if (3 * m->nt > UINT32_MAX - 3)
		return m3_err_set(e, M3_EDATA, "decimate: mesh of over 2^32 corners");
	if (deci_init(&d, m, m3_pool_size(pool), e) != M3_OK)
		return e->code;
	if (x3d_star_build(m, &s, e) != M3_OK) {
		deci_free(&d);
		return e->code;
	}
	rc = glue(&d, &s);
	x3d_star_release(&s);
	if (rc != 0) {
		deci_free(&d);
		return m3_err_set(e, M3_EFAIL, "decimate: the mesh is not closed and manifold");
	}
	quadrics(&d);
	number_edges(&d);
	if (!decimate(&d, maxtri, pool)) {
		deci_free(&d);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	rc = compact(&d, m, e);
	deci_free(&d);
	return rc;
}
