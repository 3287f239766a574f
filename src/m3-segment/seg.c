/* m3-segment: one volume through the plan (threshold, morphology, components). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m3/cli.h"
#include "seg.h"
#include "seg_cuda.h"

/* Large buffers: one place to change how they are made (plain malloc did best). */
void *
seg_alloc(size_t n)
{
	return malloc(n);
}

/* Refuses what is not a grey 3D volume; fills the grid. */
static int
check_grid(const struct m3_vol *in, struct seg_grid *g, struct m3_err *e)
{
	size_t n;

	if (in->rgb)
		return m3_err_set(e, M3_EDATA, "an RGB %s, not a grey volume",
				  in->dim == 3 ? "image" : "volume");
	if (in->dim != 3 || in->sizes[2] < 2) /* one slice is a 2D image too */
		return m3_err_set(e, M3_EDATA, "a 2D image, not a volume");
	if (m3_vol_nelem(in, &n, e) != M3_OK)
		return e->code;
	g->nx = (long)in->sizes[0];
	g->ny = (long)in->sizes[1];
	g->nz = (long)in->sizes[2];
	g->n = n;
	for (int a = 0; a < 3; a++) {
		const double *d = in->dirs[a];
		double s = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
		g->sp[a] = in->has_space && s > 0 && isfinite(s) ? s : 1.0;
	}
	if ((uint64_t)g->nx > UINT32_MAX)
		return m3_err_set(e, M3_EDATA, "sizes: axis 0 is over %lu",
				  (unsigned long)UINT32_MAX);
	return M3_OK;
}

/* The labels in the order that claims voxels first: highest precedence first. */
static int
precedence(const struct seg_plan *p, int *order)
{
	int n = 0;

	if (p->otsu > 0) {
		for (int c = p->otsu - 1; c >= 1; c--)
			order[n++] = c;
		return n;
	}
	for (int i = 0; i < p->nranges; i++)
		order[n++] = p->ranges[i].label;
	return n;
}

struct pick_job {
	const struct seg_grid *g;
	const uint8_t *lab;
	uint8_t *mask, *out;
	int label;
};

static void
pick_slice(void *ctx, size_t z, unsigned w)
{
	const struct pick_job *j = ctx;
	size_t sl = (size_t)j->g->nx * (size_t)j->g->ny;
	const uint8_t *lab = j->lab + z * sl;
	uint8_t *m = j->mask + z * sl, L = (uint8_t)j->label;

	(void)w;
	for (size_t i = 0; i < sl; i++)
		m[i] = lab[i] == L;
}

/* out takes label where the mask is set and no label before it claimed the voxel. */
static void
merge_slice(void *ctx, size_t z, unsigned w)
{
	const struct pick_job *j = ctx;
	size_t sl = (size_t)j->g->nx * (size_t)j->g->ny;
	const uint8_t *m = j->mask + z * sl;
	uint8_t *o = j->out + z * sl, L = (uint8_t)j->label;

	(void)w;
	for (size_t i = 0; i < sl; i++)
		if (m[i] && o[i] == 0)
			o[i] = L;
}

static void
verbose_cc(const struct seg_plan *p, int label, const struct seg_ccstat *st)
{
	if (!p->verbose)
		return;
	fprintf(stderr, "%s: %s: %zu components, %zu kept, %zu voxels\n", m3_progname(),
		p->names[label - 1], st->ncomp, st->nkept, st->kept_voxels);
}

/*
 * Morphology and components label by label; the results merged by precedence into out.
 * With one label (lab == out, holding 0 and 1) the steps work on out in place.
 */
static int
per_label(const struct seg_plan *p, const struct seg_grid *g, const uint8_t *lab, uint8_t *out,
	  struct seg_times *t, struct m3_err *e)
{
	struct pick_job j = {g, lab, out, out, 0};
	struct seg_morphbuf mb = {NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL};
	int order[SEG_MAXLAB], n = precedence(p, order), rc = M3_OK, single = lab == out;
	double t0, tm = 0, tc = 0;

	if (!single) {
		if ((j.mask = seg_alloc(g->n)) == NULL)
			return m3_err_set(e, M3_ENOMEM, "out of memory");
		memset(out, 0, g->n);
	}
	for (int k = 0; k < n && rc == M3_OK; k++) {
		j.label = order[k];
		if (!single)
			m3_pool_run(g->pool, pick_slice, &j, (size_t)g->nz);
		t0 = seg_now();
		for (int i = 0; i < p->nops && rc == M3_OK; i++)
			if (p->ops[i].label == 0 || p->ops[i].label == j.label)
				rc = seg_morph(g, j.mask, &p->ops[i], &mb, e);
		tm += seg_now() - t0;
		if (rc == M3_OK && (p->keep > 0 || p->min_size > 1)) {
			struct seg_ccstat st;
			t0 = seg_now();
			rc = seg_cc_filter(g, j.mask, p->conn, p->keep, p->min_size, &st, e);
			tc += seg_now() - t0;
			verbose_cc(p, j.label, &st);
		}
		if (rc == M3_OK && !single)
			m3_pool_run(g->pool, merge_slice, &j, (size_t)g->nz);
	}
	if (!single)
		free(j.mask);
	seg_morphbuf_free(&mb);
	if (t != NULL && p->nops > 0) {
		t->what[t->n] = "morphology";
		t->t[t->n++] = tm;
	}
	if (t != NULL && (p->keep > 0 || p->min_size > 1)) {
		t->what[t->n] = "components";
		t->t[t->n++] = tc;
	}
	return rc;
}

/* The whole plan on the CPU: lab gets the final labels. */
static int
run_cpu(const struct seg_plan *p, const struct seg_grid *g, const struct m3_vol *in, uint8_t *lab,
	struct seg_times *t, struct m3_err *e)
{
	float *f = NULL, th[SEG_MAXLAB];
	uint8_t *raw = NULL;
	double t0 = seg_now();
	int rc = M3_OK;

	if (p->sigma > 0 || p->median || p->otsu > 0) {
		if ((f = seg_alloc(g->n * sizeof(float))) == NULL)
			return m3_err_set(e, M3_ENOMEM, "out of memory");
		seg_to_float(g, in, f);
		if (p->median && (rc = seg_median(g, f, e)) != M3_OK)
			goto out;
		if (p->sigma > 0 && (rc = seg_gauss(g, f, p->sigma, p->sigma_mm, e)) != M3_OK)
			goto out;
		if (p->sigma > 0 || p->median)
			seg_time(t, "smoothing", t0);
	}
	t0 = seg_now();
	if (p->nlabels == 1 || (p->nops == 0 && p->keep == 0 && p->min_size <= 1)) {
		raw = lab; /* one label, or the threshold alone: straight into the output */
	} else if ((raw = seg_alloc(g->n)) == NULL) {
		rc = m3_err_set(e, M3_ENOMEM, "out of memory");
		goto out;
	}
	if (p->otsu > 0) {
		if ((rc = seg_otsu(g, f, p->otsu, th, e)) != M3_OK)
			goto out;
		if (p->verbose)
			for (int k = 0; k < p->otsu - 1; k++)
				fprintf(stderr, "%s: otsu threshold %d: %g\n", m3_progname(), k + 1,
					(double)th[k]);
		seg_threshold_classes(g, f, th, p->otsu - 1, raw);
	} else {
		seg_threshold(g, in, f, p->ranges, p->nranges, raw);
	}
	seg_time(t, "threshold", t0);
	free(f);
	f = NULL;
	if (p->nops > 0 || p->keep > 0 || p->min_size > 1)
		rc = per_label(p, g, raw, lab, t, e);
out:
	free(f);
	if (raw != lab)
		free(raw);
	return rc;
}

/* The output volume's header: the input's geometry and keys, uint8, the label names. */
static int
out_meta(const struct seg_plan *p, const struct m3_vol *in, struct m3_vol *out, struct m3_err *e)
{
	char buf[SEG_MAXLAB * 40] = "";
	size_t len = 0;
	int rc;

	if ((rc = m3_vol_copy_meta(out, in, e)) != M3_OK)
		return rc;
	out->type = M3_UINT8;
	m3_vol_unset(out, "m3-units");
	for (int l = 1; l <= p->nlabels; l++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%d %s", l > 1 ? ";" : "",
					l, p->names[l - 1]);
	return m3_vol_set(out, "m3-labels", buf, e);
}

int
seg_volume(const struct seg_plan *p, struct m3_pool *pool, int cuda, const struct m3_vol *in,
	   struct m3_vol *out, struct seg_times *t, struct m3_err *e)
{
	struct seg_grid g = {.pool = pool};
	int rc;

	if ((rc = check_grid(in, &g, e)) != M3_OK)
		return rc;
	if ((rc = out_meta(p, in, out, e)) != M3_OK)
		return rc;
	if ((rc = m3_vol_alloc(out, e)) != M3_OK)
		return rc;
#ifdef M3_HAVE_CUDA
	if (cuda)
		return seg_cuda_run(p, &g, in, out->data, t, e);
#else
	(void)cuda;
#endif
	return run_cpu(p, &g, in, out->data, t, e);
}
