/* The mesh container, vertex stars and vertex normals. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mesh.h"

void
x3d_mesh_init(struct x3d_mesh *m)
{
	memset(m, 0, sizeof(*m));
}

void
x3d_mesh_release(struct x3d_mesh *m)
{
	free(m->v);
	free(m->n);
	free(m->t);
	x3d_mesh_init(m);
}

int
x3d_mesh_alloc(struct x3d_mesh *m, size_t nv, size_t nt, struct m3_err *e)
{
	x3d_mesh_release(m);
	if (nv > SIZE_MAX / (3 * sizeof(float)) || nt > SIZE_MAX / (3 * sizeof(uint32_t)))
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	m->v = malloc(3 * sizeof(float) * (nv ? nv : 1));
	m->t = malloc(3 * sizeof(uint32_t) * (nt ? nt : 1));
	if (m->v == NULL || m->t == NULL) {
		x3d_mesh_release(m);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	m->nv = nv;
	m->nt = nt;
	return M3_OK;
}

int
x3d_star_build(const struct x3d_mesh *m, struct x3d_star *s, struct m3_err *e)
{
	size_t nc = 3 * m->nt;

	s->first = calloc(m->nv + 1, sizeof(*s->first));
	s->corner = malloc((nc ? nc : 1) * sizeof(*s->corner));
	if (s->first == NULL || s->corner == NULL) {
		x3d_star_release(s);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	for (size_t c = 0; c < nc; c++)
		s->first[m->t[c] + 1]++;
	for (size_t v = 0; v < m->nv; v++)
		s->first[v + 1] += s->first[v];
	for (size_t c = 0; c < nc; c++)
		s->corner[s->first[m->t[c]]++] = (uint32_t)c;
	/* first[v] now ends v's corners: shift it back to where they start */
	memmove(s->first + 1, s->first, m->nv * sizeof(*s->first));
	s->first[0] = 0;
	return M3_OK;
}

void
x3d_star_release(struct x3d_star *s)
{
	free(s->first);
	free(s->corner);
	s->first = NULL;
	s->corner = NULL;
}

int
x3d_normals(struct x3d_mesh *m, struct m3_err *e)
{
	double *acc = calloc(3 * (m->nv ? m->nv : 1), sizeof(double));

	free(m->n);
	m->n = malloc(3 * sizeof(float) * (m->nv ? m->nv : 1));
	if (acc == NULL || m->n == NULL) {
		free(acc);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	for (size_t t = 0; t < m->nt; t++) {
		const uint32_t *c = m->t + 3 * t;
		const float *a = m->v + 3 * (size_t)c[0], *b = m->v + 3 * (size_t)c[1],
			    *d = m->v + 3 * (size_t)c[2];
		double u[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]};
		double w[3] = {d[0] - a[0], d[1] - a[1], d[2] - a[2]};
		/* the cross product's length is twice the area: area weighting for free */
		double n[3] = {u[1] * w[2] - u[2] * w[1], u[2] * w[0] - u[0] * w[2],
			       u[0] * w[1] - u[1] * w[0]};

		for (int k = 0; k < 3; k++)
			for (int a2 = 0; a2 < 3; a2++)
				acc[3 * (size_t)c[k] + a2] += n[a2];
	}
	for (size_t v = 0; v < m->nv; v++) {
		double *n = acc + 3 * v;
		double l = sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);

		for (int a = 0; a < 3; a++)
			m->n[3 * v + a] = l > 0 ? (float)(n[a] / l) : 0.0f;
	}
	free(acc);
	return M3_OK;
}
