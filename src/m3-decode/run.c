/* The work of one decoder process: scan every input, group series, then list them or decode
 * and write the chosen ones.  Runs inside the crash guard's child (guard.c). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "m3/cli.h"

struct scan {
	struct m3d_input *in;
	struct m3d_guard *g;
	int *code;
};

static void
scan_one(void *ctx, size_t i, unsigned worker)
{
	struct scan *sc = ctx;
	struct m3d_src *s = &sc->in->src[i];
	struct m3_dcm_src src;
	struct m3_err e;

	(void)worker;
	if (m3d_guard_skipped(sc->g, i)) {
		sc->code[i] = -1;
		return;
	}
	m3_err_init(&e);
	m3d_input_src(sc->in, i, &src);
	m3d_guard_enter((long)i);
	sc->code[i] = m3_dcm_scan(&src, &s->info, &e);
	m3d_guard_enter(-1);
	if (sc->code[i] != M3_OK && (s->why = strdup(e.msg)) == NULL)
		sc->code[i] = M3_ENOMEM;
}

/* What to do with each source, in input order: use it, skip it with a warning, or stop.
 * Objects that are not DICOM or not images are skipped when they come with others (a study
 * holds reports and presentation states too); a corrupt image stops the run unless -k. */
static int
triage(struct m3d_input *in, const int *code, const struct m3d_opts *o, struct m3_err *e)
{
	size_t images = 0;

	for (size_t i = 0; i < in->n; i++) {
		struct m3d_src *s = &in->src[i];
		int rc = code[i];
		if (rc == M3_OK) {
			s->image = 1;
			images++;
			continue;
		}
		if (rc < 0)
			continue; /* crashed an earlier decoder process; the parent said so */
		if (rc != M3_EDATA || in->n == 1)
			return m3_err_set(e, rc, "%s", s->why ? s->why : "out of memory");
		if (s->info.kind == M3_DCM_NOT_IMAGE) {
			if (o->verbose)
				m3_warn("%s; skipped", s->why);
		} else if (s->info.kind == M3_DCM_NOT_DICOM || o->keep_going) {
			m3_warn("%s; skipped", s->why);
		} else {
			return m3_err_set(e, rc, "%s", s->why);
		}
	}
	if (images == 0)
		return m3_err_set(e, M3_EDATA, "%s: no DICOM images in the input",
				  in->n > 0 ? in->src[0].name : "input");
	return M3_OK;
}

static int
all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* -s: an index from -l, or a series UID, real or pseudonymised (every volume of it). */
static int
select_series(const struct m3d_plan *p, const struct m3d_input *in, const char *want,
	      unsigned char *sel, struct m3_err *e)
{
	size_t hits = 0;

	for (size_t j = 0; j < p->n; j++) {
		const char *uid = m3d_series_info(&p->s[j], in)->series_uid;
		char pseudo[M3D_UID_MAX];
		m3d_pseudo_uid(uid, pseudo);
		sel[j] = want == NULL ||
			 (all_digits(want) ? strtoul(want, NULL, 10) == p->s[j].index
					   : strcmp(want, uid) == 0 || strcmp(want, pseudo) == 0);
		hits += sel[j];
	}
	if (hits == 0)
		return m3_err_set(e, M3_EUSAGE, "-s %s: no such series (%zu in the input; see -l)",
				  want, p->n);
	return M3_OK;
}

static void
explain(const struct m3d_series *s, const struct m3_vol *v)
{
	m3_warn("series %zu: %zu image%s, %zu x %zu, %s%s, spacing %.4g x %.4g x %.4g mm", s->index,
		s->n, s->n == 1 ? "" : "s", v->sizes[v->rgb], v->sizes[v->rgb + 1],
		v->rgb ? "RGB " : "", m3_type_name(v->type), s->spacing[1], s->spacing[0], s->gap);
}

static int
write_all(struct m3d_plan *p, struct m3d_job *job, struct m3d_guard *g, struct m3_pool *pool,
	  const unsigned char *sel, struct m3_err *e)
{
	const struct m3d_opts *o = job->opts;
	struct m3_vol_writer *w = NULL;
	unsigned long k = 0;
	struct m3_vol v;
	int rc = M3_OK;

	if (!o->nifti && (w = m3_vol_writer_new(job->out, o->outname, o->gzip ? 6 : -1)) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	m3_vol_init(&v);
	for (size_t j = 0; j < p->n && rc == M3_OK; j++) {
		if (!sel[j] || k++ < m3d_guard_written(g))
			continue;
		rc = m3d_volume_build(&p->s[j], job->in, pool, o, &v, e);
		if (rc == M3_ENOINPUT) { /* -k dropped every file of it */
			m3_warn("%s; skipped", e->msg);
			rc = M3_OK;
			continue;
		}
		if (rc != M3_OK)
			break;
		if (o->verbose)
			explain(&p->s[j], &v);
		rc = o->nifti ? m3d_nifti_write(job->out, o->outname, &v, o->gzip, e)
			      : m3_vol_write(w, &v, e);
		if (rc == M3_OK && (fflush(job->out) != 0 || ferror(job->out)))
			rc = m3_err_set(e, M3_EIO, "%s: write error",
					o->outname ? o->outname : "stdout");
		if (rc == M3_OK)
			m3d_guard_wrote(g);
		m3_vol_release(&v);
	}
	m3_vol_release(&v);
	m3_vol_writer_free(w);
	return rc;
}

static int
run(struct m3d_job *job, struct m3d_guard *g, struct m3_pool *pool, struct m3_err *e)
{
	const struct m3d_opts *o = job->opts;
	struct scan sc = {job->in, g, NULL};
	struct m3d_plan plan;
	unsigned char *sel = NULL;
	size_t nsel = 0;
	int rc;

	if ((sc.code = calloc(job->in->n ? job->in->n : 1, sizeof(int))) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	m3_pool_run(pool, scan_one, &sc, job->in->n);
	rc = triage(job->in, sc.code, o, e);
	free(sc.code);
	if (rc != M3_OK)
		return rc;
	if ((rc = m3d_plan_make(&plan, job->in, e)) != M3_OK)
		goto out;
	if (o->list) {
		rc = m3d_plan_list(job->out, &plan, job->in, o, e);
		goto out;
	}
	if ((sel = calloc(plan.n, 1)) == NULL) {
		rc = m3_err_set(e, M3_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = select_series(&plan, job->in, o->series, sel, e)) != M3_OK)
		goto out;
	for (size_t j = 0; j < plan.n; j++)
		nsel += sel[j];
	if (o->nifti && nsel > 1) {
		rc = m3_err_set(e, M3_EUSAGE,
				"-f nifti: a NIfTI file holds one volume and the input has %zu "
				"series; choose one with -s (see -l)",
				nsel);
		goto out;
	}
	rc = write_all(&plan, job, g, pool, sel, e);
out:
	free(sel);
	m3d_plan_release(&plan);
	return rc;
}

int
m3d_run(void *arg, struct m3d_guard *g)
{
	struct m3d_job *job = arg;
	struct m3_pool *pool;
	struct m3_err e;
	int rc;

	m3_err_init(&e);
	if ((pool = m3_pool_new(job->opts->jobs, &e)) == NULL)
		return m3_report(&e);
	rc = run(job, g, pool, &e);
	m3_pool_free(pool);
	if (rc == M3_OK && (fflush(job->out) != 0 || ferror(job->out)))
		rc = m3_err_set(&e, M3_EIO, "%s: write error",
				job->opts->outname ? job->opts->outname : "stdout");
	return rc == M3_OK ? 0 : m3_report(&e);
}
