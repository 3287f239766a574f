/* Quadric-error edge collapse (Garland and Heckbert 1997) on a closed manifold mesh, held as
 * a corner table: opposite half-edges glue the triangles, so a collapse costs only the
 * valence of its two vertices and never allocates. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mesh.h"

#define NONE UINT32_MAX
#define MIN_COS 0.2 /* a collapse may turn a triangle's normal by at most ~78 degrees */
#define MIN_QUALITY 0.05

/* An edge (u, v) on the heap, valid while neither vertex has changed since it was pushed. */
struct cand {
	double cost;
	uint32_t u, v, su, sv;
};

struct deci {
	uint32_t *t; /* corner -> vertex; NONE for a dead triangle's corners */
	uint32_t *opp; /* corner (half-edge from t[c] to t[next(c)]) -> its opposite */
	uint32_t *vc; /* vertex -> one of its corners; NONE once the vertex is gone */
	uint32_t *stamp, *mark;
	uint32_t gen;
	double *p; /* positions */
	double (*q)[10]; /* quadrics */
	struct cand *heap;
	size_t nheap, capheap, nv, nt, alive;
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

static int
heap_push(struct deci *d, const struct cand *x)
{
	size_t i;

	if (d->nheap == d->capheap) {
		size_t cap = d->capheap * 2 + 1024;
		struct cand *h = realloc(d->heap, cap * sizeof(*h));

		if (h == NULL)
			return -1;
		d->heap = h;
		d->capheap = cap;
	}
	for (i = d->nheap++; i > 0 && d->heap[(i - 1) / 2].cost > x->cost; i = (i - 1) / 2)
		d->heap[i] = d->heap[(i - 1) / 2];
	d->heap[i] = *x;
	return 0;
}

static struct cand
heap_pop(struct deci *d)
{
	struct cand top = d->heap[0], last = d->heap[--d->nheap];
	size_t i = 0, n = d->nheap;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && d->heap[c + 1].cost < d->heap[c].cost)
			c++;
		if (d->heap[c].cost >= last.cost)
			break;
		d->heap[i] = d->heap[c];
		i = c;
	}
	if (n > 0)
		d->heap[i] = last;
	return top;
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
	double q[10], det, best, c, len2 = 0, c00, c01, c02, c11, c12, c22;
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
	if (fabs(det) > 1e-9 * pow(q[0] + q[4] + q[7], 3)) {
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

static int
push_edge(struct deci *d, uint32_t u, uint32_t v)
{
	struct cand c;
	double x[3];

	c.cost = place(d, u, v, x);
	c.u = u;
	c.v = v;
	c.su = d->stamp[u];
	c.sv = d->stamp[v];
	return heap_push(d, &c);
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

/* The half-edge from u to v, or NONE. */
static uint32_t
find_edge(const struct deci *d, uint32_t u, uint32_t v)
{
	uint32_t c0 = d->vc[u], c = c0;

	do {
		if (d->t[nxt(c)] == v)
			return c;
		c = turn(d, c);
	} while (c != c0);
	return NONE;
}

/* The link condition: u and v share exactly the two neighbours across their edge, and the
 * collapse leaves every vertex involved with at least three neighbours. */
static int
topology_ok(struct deci *d, uint32_t u, uint32_t v, uint32_t a, uint32_t b)
{
	uint32_t c, c0, common = 0;

	if (valence(d, a) <= 3 || valence(d, b) <= 3 || valence(d, u) + valence(d, v) < 7)
		return 0;
	d->gen++;
	c = c0 = d->vc[u];
	do {
		d->mark[d->t[nxt(c)]] = d->gen;
		c = turn(d, c);
	} while (c != c0);
	c = c0 = d->vc[v];
	do {
		common += d->mark[d->t[nxt(c)]] == d->gen;
		c = turn(d, c);
	} while (c != c0);
	return common == 2;
}

/* Collapses half-edge h (u to v) into u at x; returns -1 when out of memory. */
static int
collapse(struct deci *d, uint32_t h, const double x[3])
{
	uint32_t u = d->t[h], v = d->t[nxt(h)], h1 = d->opp[h];
	uint32_t n0 = nxt(h), p0 = prv(h), n1 = nxt(h1), p1 = prv(h1);
	uint32_t x0 = d->opp[n0], y0 = d->opp[p0], x1 = d->opp[n1], y1 = d->opp[p1];
	uint32_t c, c0;

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
	d->stamp[u]++;
	d->alive -= 2;
	c = c0 = d->vc[u];
	do {
		if (push_edge(d, u, d->t[nxt(c)]) != 0)
			return -1;
		c = turn(d, c);
	} while (c != c0);
	return 0;
}

/* Tries the cheapest valid candidate: 1 collapsed, 0 not possible, -1 out of memory. */
static int
step(struct deci *d)
{
	struct cand c = heap_pop(d);
	uint32_t h, a, b;
	double x[3];

	if (d->vc[c.u] == NONE || d->vc[c.v] == NONE || d->stamp[c.u] != c.su ||
	    d->stamp[c.v] != c.sv || (h = find_edge(d, c.u, c.v)) == NONE)
		return 0;
	a = d->t[prv(h)];
	b = d->t[prv(d->opp[h])];
	if (!topology_ok(d, c.u, c.v, a, b))
		return 0;
	place(d, c.u, c.v, x);
	if (!ring_ok(d, c.u, x, h / 3, d->opp[h] / 3) || !ring_ok(d, c.v, x, h / 3, d->opp[h] / 3))
		return 0;
	return collapse(d, h, x) == 0 ? 1 : -1;
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

static void
deci_free(struct deci *d)
{
	free(d->t);
	free(d->opp);
	free(d->vc);
	free(d->stamp);
	free(d->mark);
	free(d->p);
	free(d->q);
	free(d->heap);
}

static int
deci_init(struct deci *d, const struct x3d_mesh *m, struct m3_err *e)
{
	size_t nc = 3 * m->nt;

	memset(d, 0, sizeof(*d));
	d->nv = m->nv;
	d->nt = d->alive = m->nt;
	d->t = malloc(nc * sizeof(*d->t));
	d->opp = malloc(nc * sizeof(*d->opp));
	d->vc = malloc(d->nv * sizeof(*d->vc));
	d->stamp = calloc(d->nv, sizeof(*d->stamp));
	d->mark = calloc(d->nv, sizeof(*d->mark));
	d->p = malloc(3 * d->nv * sizeof(*d->p));
	d->q = malloc(d->nv * sizeof(*d->q));
	if (d->t == NULL || d->opp == NULL || d->vc == NULL || d->stamp == NULL ||
	    d->mark == NULL || d->p == NULL || d->q == NULL) {
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
	uint32_t *id = d->mark; /* reused: new vertex ids */
	size_t nv = 0, nt = 0;

	for (size_t v = 0; v < d->nv; v++)
		id[v] = d->vc[v] != NONE ? (uint32_t)nv++ : NONE;
	if (x3d_mesh_alloc(m, nv, d->alive, e) != M3_OK)
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

int
x3d_decimate(struct x3d_mesh *m, size_t maxtri, struct m3_err *e)
{
	struct x3d_star s;
	struct deci d;
	int rc = 0;

	if (m->nt <= maxtri)
		return M3_OK;
	if (3 * m->nt > UINT32_MAX - 3)
		return m3_err_set(e, M3_EDATA, "decimate: mesh of over 2^32 corners");
	if (deci_init(&d, m, e) != M3_OK)
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
	for (size_t c = 0; c < 3 * d.nt && rc == 0; c++)
		if (d.opp[c] > c)
			rc = push_edge(&d, d.t[c], d.t[nxt((uint32_t)c)]);
	while (rc >= 0 && d.alive > maxtri && d.nheap > 0)
		rc = step(&d);
	if (rc < 0) {
		deci_free(&d);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	rc = compact(&d, m, e);
	deci_free(&d);
	return rc;
}
