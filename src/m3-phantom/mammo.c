/* m3-phantom mammo: a four-view screening study as DICOM (MG, for presentation) and truth.json. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "m3/json.h"
#include "m3/pool.h"
#include "mammo.h"
#include "noise.h"

#define NVIEW 4
#define MAXVAL 16383 /* 14 bits stored */

static const struct {
	char lat;
	const char *pos, *file, *orient;
	int mlo;
	const char *code, *meaning;
} specs[NVIEW] = {
	{'R', "CC", "R_CC.dcm", "P\\L", 0, "399162004", "cranio-caudal"},
	{'L', "CC", "L_CC.dcm", "A\\R", 0, "399162004", "cranio-caudal"},
	{'R', "MLO", "R_MLO.dcm", "P\\FL", 1, "399368009", "medio-lateral oblique"},
	{'L', "MLO", "L_MLO.dcm", "A\\FR", 1, "399368009", "medio-lateral oblique"},
};

struct study {
	const struct ph_opts *o;
	struct ph_view *views[NVIEW];
	char study_uid[PH_UID_MAX], series_uid[PH_UID_MAX];
	struct ph_when when;
	struct ph_steps steps;
};

static void
quantize(const struct ph_view *v, const float *img, uint16_t *px, double noise, uint64_t seed)
{
	for (size_t y = 0; y < v->h; y++) {
		struct ph_rng r;
		ph_rng_init(&r, seed, PH_RNG_NOISE, y);
		for (size_t u = 0; u < v->w; u++) {
			double val = img[y * v->w + u];
			size_t x = v->lat == 'R' ? v->w - 1 - u : u;
			if (noise > 0)
				val += noise * ph_quantum_sigma(val) * ph_rng_normal(&r);
			val = val < 0 ? 0 : val > MAXVAL ? MAXVAL : val;
			px[y * v->w + x] = (uint16_t)lround(val);
		}
	}
}

/* A window that shows the breast: its mean, and five standard deviations wide. */
static void
window(struct ph_view *v, const float *img)
{
	double s = 0, s2 = 0, n = 0, m, sd;

	for (size_t i = 0; i < v->w * v->h; i += 7)
		if (img[i] > 500) {
			s += img[i];
			s2 += (double)img[i] * img[i];
			n++;
		}
	m = n > 0 ? s / n : MAXVAL / 2.0;
	sd = n > 1 ? sqrt(fmax(s2 / n - m * m, 0)) : MAXVAL / 10.0;
	v->wc = round(m);
	v->ww = round(fmax(5 * sd, 1000));
}

static void
dataset(struct ph_ds *d, const struct study *st, const struct ph_view *v)
{
	const struct ph_when *w = &st->when;
	char sp[17];

	ph_ds_num(sp, v->sp);
	ph_ds_add(d, 0x00080008UL, "CS", "ORIGINAL\\PRIMARY");
	ph_ds_add(d, 0x00080012UL, "DA", "%s", w->date);
	ph_ds_add(d, 0x00080013UL, "TM", "%s", w->time);
	ph_ds_add(d, 0x00080016UL, "UI", "1.2.840.10008.5.1.4.1.1.1.2");
	ph_ds_add(d, 0x00080018UL, "UI", "%s", v->sop_uid);
	ph_ds_add(d, 0x00080020UL, "DA", "%s", w->date);
	ph_ds_add(d, 0x00080021UL, "DA", "%s", w->date);
	ph_ds_add(d, 0x00080022UL, "DA", "%s", w->date);
	ph_ds_add(d, 0x00080023UL, "DA", "%s", w->date);
	ph_ds_add(d, 0x00080030UL, "TM", "%s", w->time);
	ph_ds_add(d, 0x00080031UL, "TM", "%s", w->time);
	ph_ds_add(d, 0x00080032UL, "TM", "%s", w->time);
	ph_ds_add(d, 0x00080033UL, "TM", "%s", w->time);
	ph_ds_add(d, 0x00080050UL, "SH", "M3PH%llu", (unsigned long long)st->o->seed);
	ph_ds_add(d, 0x00080060UL, "CS", "MG");
	ph_ds_add(d, 0x00080068UL, "CS", "FOR PRESENTATION");
	ph_ds_add(d, 0x00080070UL, "LO", "m3");
	ph_ds_empty(d, 0x00080090UL, "PN");
	ph_ds_add(d, 0x00081030UL, "LO", "m3-phantom screening mammography");
	ph_ds_add(d, 0x0008103EUL, "LO", "m3-phantom mammography");
	ph_ds_add(d, 0x00081090UL, "LO", "m3-phantom");
	ph_ds_code(d, 0x00082218UL, "76752008", "SCT", "Breast");
	ph_ds_add(d, 0x00100010UL, "PN", "PHANTOM^MAMMO");
	ph_ds_add(d, 0x00100020UL, "LO", "M3-PHANTOM-%llu", (unsigned long long)st->o->seed);
	ph_ds_empty(d, 0x00100030UL, "DA");
	ph_ds_add(d, 0x00100040UL, "CS", "F");
	ph_ds_add(d, 0x00180015UL, "CS", "BREAST");
	ph_ds_add(d, 0x00180060UL, "DS", "29");
	ph_ds_add(d, 0x00181020UL, "LO", "%s", M3_VERSION);
	ph_ds_add(d, 0x00181110UL, "DS", "660");
	ph_ds_add(d, 0x00181111UL, "DS", "640");
	ph_ds_add(d, 0x00181114UL, "DS", "1.03125");
	ph_ds_add(d, 0x00181164UL, "DS", "%s\\%s", sp, sp);
	ph_ds_add(d, 0x00181508UL, "CS", "MAMMOGRAPHIC");
	ph_ds_add(d, 0x00181510UL, "DS", "%s", v->mlo ? (v->lat == 'L' ? "-45" : "45") : "0");
	ph_ds_add(d, 0x001811A0UL, "DS", "50");
	ph_ds_add(d, 0x00185101UL, "CS", "%s", v->pos);
	ph_ds_add(d, 0x00187004UL, "CS", "DIRECT");
	ph_ds_add(d, 0x0020000DUL, "UI", "%s", st->study_uid);
	ph_ds_add(d, 0x0020000EUL, "UI", "%s", st->series_uid);
	ph_ds_add(d, 0x00200010UL, "SH", "1");
	ph_ds_add(d, 0x00200011UL, "IS", "1");
	ph_ds_add(d, 0x00200013UL, "IS", "%d", v->index + 1);
	ph_ds_add(d, 0x00200020UL, "CS", "%s", v->orient);
	ph_ds_add(d, 0x00200062UL, "CS", "%c", v->lat);
	ph_ds_add(d, 0x00280030UL, "DS", "%s\\%s", sp, sp);
	ph_ds_add(d, 0x00280300UL, "CS", "NO");
	ph_ds_add(d, 0x00280301UL, "CS", "NO");
	ph_ds_add(d, 0x00281040UL, "CS", "LOG");
	ph_ds_add(d, 0x00281041UL, "SS", "-1");
	ph_ds_add(d, 0x00281050UL, "DS", "%.0f", v->wc);
	ph_ds_add(d, 0x00281051UL, "DS", "%.0f", v->ww);
	ph_ds_add(d, 0x00281052UL, "DS", "0");
	ph_ds_add(d, 0x00281053UL, "DS", "1");
	ph_ds_add(d, 0x00281054UL, "LO", "US");
	ph_ds_add(d, 0x00282110UL, "CS", "00");
	ph_ds_add(d, 0x00400318UL, "CS", "BREAST");
	ph_ds_empty(d, 0x00400555UL, "SQ");
	ph_ds_add(d, 0x00540220UL, "SQ", "%s", "");
	ph_ds_mark(d, M3_DCM_ITEM);
	ph_ds_add(d, 0x00080100UL, "SH", "%s", specs[v->index].code);
	ph_ds_add(d, 0x00080102UL, "SH", "SCT");
	ph_ds_add(d, 0x00080104UL, "LO", "%s", specs[v->index].meaning);
	ph_ds_empty(d, 0x00540222UL, "SQ");
	ph_ds_mark(d, M3_DCM_ITEM_END);
	ph_ds_mark(d, M3_DCM_SEQ_END);
	ph_ds_add(d, 0x20500020UL, "CS", "IDENTITY");
}

static int
encode(struct study *st, struct ph_view *v, const uint16_t *px, struct m3_err *e)
{
	struct m3_dcm_pixels p = {(unsigned)v->w, (unsigned)v->h, 1, 16, 14, 0, "MONOCHROME2", px};
	struct ph_ds d;
	int rc;

	ph_ds_init(&d);
	dataset(&d, st, v);
	if ((rc = ph_ds_check(&d, e)) == M3_OK)
		rc = m3_dcm_write_mem(d.el, d.n, &p, st->o->syntax, &v->dcm, &v->dcmlen, e);
	ph_ds_release(&d);
	if (rc != M3_OK)
		m3_err_prefix(e, "%s", v->file);
	return rc;
}

static int
render(struct study *st, struct ph_view *v, struct m3_err *e)
{
	uint64_t seed = ph_hash(st->o->seed, (uint64_t)v->index);
	size_t fnx = 2048, fny = 2048;
	float *field, *img = NULL;
	uint16_t *px = NULL;
	int rc;

	if (ph_breast_lines(v, st->o->seed) != 0)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	ph_breast_crossings(v);
	ph_calc_plant(v, st->o->seed, v->want_clusters);
	/* glandular tissue: beta 3 as measured in mammograms, structures longer toward the
	 * nipple, the largest about 40 mm, none finer than about 0.5 mm (finer detail is the
	 * calcifications' and the quantum noise's); at half the pixel size, see breast.c */
	struct ph_field fp = {3.0, 2 * v->sp / 40.0, 2.0, 2 * v->sp * 1.0};

	if (v->w * v->h <= 1024 * 1024)
		fnx = fny = 1024;
	if ((field = ph_powerlaw(fnx, fny, &fp, seed, e)) == NULL)
		return e->code;
	if ((img = malloc(v->w * v->h * sizeof(float))) == NULL ||
	    (px = malloc(v->w * v->h * sizeof(uint16_t))) == NULL) {
		free(field);
		free(img);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	ph_breast_tissue(v, img, field, fnx, fny);
	free(field);
	ph_breast_draw_lines(v, img);
	rc = ph_calc_draw(v, img, st->o->seed);
	window(v, img);
	if (rc == 0)
		quantize(v, img, px, st->o->noise, seed);
	free(img);
	rc = rc == 0 ? encode(st, v, px, e) : m3_err_set(e, M3_ENOMEM, "out of memory");
	free(px);
	return rc;
}

static void
view_job(void *ctx, size_t i, unsigned worker)
{
	struct study *st = ctx;
	struct ph_view *v = st->views[i];

	(void)worker;
	m3_err_init(&v->err);
	v->rc = render(st, v, &v->err);
	ph_steps_tick(&st->steps);
}

/* Stored-image coordinates of a canonical position: right breasts are mirrored. */
static double
stored_x(const struct ph_view *v, double u)
{
	return v->lat == 'R' ? round(((double)v->w - 1 - u) * 100) / 100 : u;
}

static void
pos(FILE *f, const struct ph_view *v, double u, double y)
{
	double x = stored_x(v, u);

	fprintf(f, "\"file\": \"%s\", \"laterality\": \"%c\", \"view\": \"%s\", \"x\": ", v->file,
		v->lat, v->pos);
	m3_json_num(f, x);
	fprintf(f, ", \"y\": ");
	m3_json_num(f, round(y * 100) / 100);
	fprintf(f, ", \"x_mm\": ");
	m3_json_num(f, round(x * v->sp * 10000) / 10000);
	fprintf(f, ", \"y_mm\": ");
	m3_json_num(f, round(y * v->sp * 10000) / 10000);
}

static void
truth_views(FILE *f, const struct study *st)
{
	fprintf(f, "  \"views\": [\n");
	for (int i = 0; i < NVIEW; i++) {
		const struct ph_view *v = st->views[i];
		fprintf(f, "    {\"file\": \"%s\", \"laterality\": \"%c\", \"view\": \"%s\", ",
			v->file, v->lat, v->pos);
		fprintf(f, "\"sop_uid\": \"%s\", \"columns\": %zu, \"rows\": %zu, ", v->sop_uid,
			v->w, v->h);
		fprintf(f, "\"pixel_spacing_mm\": ");
		m3_json_num(f, v->sp);
		fprintf(f, ", \"chest_wall\": \"%s\"}%s\n", v->lat == 'R' ? "right" : "left",
			i + 1 < NVIEW ? "," : "");
	}
	fprintf(f, "  ],\n");
}

static void
truth_calcs(FILE *f, const struct study *st)
{
	int id = 0, cid = 0, first = 1;

	fprintf(f, "  \"calcifications\": [\n");
	for (int i = 0; i < NVIEW; i++) {
		const struct ph_view *v = st->views[i];
		for (size_t k = 0; k < v->ncalc; k++) {
			const struct ph_calc *c = &v->calcs[k];
			fprintf(f, "%s    {\"id\": %d, ", first ? "" : ",\n", ++id);
			first = 0;
			pos(f, v, c->u, c->v);
			fprintf(f, ", \"diameter_mm\": ");
			m3_json_num(f, round(c->diam_mm * 1000) / 1000);
			fprintf(f, ", \"shape\": \"%s\", \"contrast\": ", ph_shape_name(c->shape));
			m3_json_num(f, c->contrast);
			fprintf(f, ", \"snr\": ");
			m3_json_num(f, c->snr);
			if (c->cluster >= 0)
				fprintf(f, ", \"cluster\": %d}", cid + c->cluster + 1);
			else
				fprintf(f, ", \"cluster\": null}");
		}
		cid += (int)v->nclust;
	}
	fprintf(f, "\n  ],\n");
}

static void
truth_clusters(FILE *f, const struct study *st)
{
	int id = 0, cid = 0, first = 1;

	fprintf(f, "  \"clusters\": [\n");
	for (int i = 0; i < NVIEW; i++) {
		const struct ph_view *v = st->views[i];
		for (size_t k = 0; k < v->nclust; k++) {
			const struct ph_cluster *c = &v->clusters[k];
			int sep = 0;
			fprintf(f, "%s    {\"id\": %d, ", first ? "" : ",\n", cid + (int)k + 1);
			first = 0;
			pos(f, v, round(c->u * 100) / 100, round(c->v * 100) / 100);
			fprintf(f, ", \"radius_mm\": ");
			m3_json_num(f, round(c->radius_mm * 1000) / 1000);
			fprintf(f, ", \"count\": %d, \"members\": [", c->count);
			for (size_t j = 0; j < v->ncalc; j++)
				if (v->calcs[j].cluster == (int)k)
					fprintf(f, "%s%d", sep++ ? ", " : "", id + (int)j + 1);
			fprintf(f, "]}");
		}
		id += (int)v->ncalc;
		cid += (int)v->nclust;
	}
	fprintf(f, "\n  ],\n");
}

static void
truth_distractors(FILE *f, const struct study *st)
{
	static const char *kinds[] = {"noise-peak", "vessel-crossing", "skin-fold",
				      "benign-calcification"};
	int id = 0, first = 1;

	fprintf(f, "  \"distractors\": [\n");
	for (int i = 0; i < NVIEW; i++) {
		const struct ph_view *v = st->views[i];
		for (size_t k = 0; k < v->ndist; k++) {
			const struct ph_distractor *d = &v->dist[k];
			fprintf(f, "%s    {\"id\": %d, \"kind\": \"%s\", ", first ? "" : ",\n",
				++id, kinds[d->kind]);
			first = 0;
			pos(f, v, round(d->u * 100) / 100, round(d->v * 100) / 100);
			fprintf(f, ", \"size_mm\": ");
			m3_json_num(f, round(d->size_mm * 1000) / 1000);
			if (d->kind == PH_D_BENIGN)
				fprintf(f, ", \"shape\": \"%s\"", ph_shape_name(d->shape.shape));
			fprintf(f, ", \"contrast\": ");
			m3_json_num(f, round(d->contrast * 10) / 10);
			fprintf(f, "}");
		}
	}
	fprintf(f, "\n  ]\n");
}

static int
truth(const struct study *st, char **buf, size_t *len, struct m3_err *e)
{
	FILE *f = open_memstream(buf, len);

	if (f == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	fprintf(f, "{\n  \"generator\": \"m3-phantom %s\",\n  \"mode\": \"mammo\",\n", M3_VERSION);
	fprintf(f, "  \"seed\": %llu,\n", (unsigned long long)st->o->seed);
	fprintf(f, "  \"study_uid\": \"%s\",\n  \"series_uid\": \"%s\",\n", st->study_uid,
		st->series_uid);
	fprintf(f, "  \"coordinates\": \"x is the column, y the row of the stored pixel array, "
		   "0 at the centre of the top-left pixel; mm are pixels times the pixel "
		   "spacing\",\n");
	fprintf(f, "  \"contrast\": \"peak rise over the local background in stored pixel "
		   "values, before quantum noise; snr is contrast over that noise\",\n");
	truth_views(f, st);
	truth_calcs(f, st);
	truth_clusters(f, st);
	truth_distractors(f, st);
	fprintf(f, "}\n");
	if (fclose(f) != 0) {
		free(*buf);
		*buf = NULL;
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	return M3_OK;
}

static int
setup(struct study *st, const struct ph_opts *o, struct m3_err *e)
{
	struct ph_rng r;
	double density;
	int with;

	memset(st, 0, sizeof(*st));
	st->o = o;
	ph_when(&st->when, o->seed);
	ph_uid(st->study_uid, o->seed, "mammo-study", 0);
	ph_uid(st->series_uid, o->seed, "mammo-series", 0);
	ph_rng_init(&r, o->seed, PH_RNG_LAYOUT, 1000);
	density = ph_rng_range(&r, -0.3, 1.0);
	with = ph_rng_int(&r, 0, NVIEW - 1); /* at least this view has a cluster */
	for (int i = 0; i < NVIEW; i++) {
		struct ph_view *v = calloc(1, sizeof(*v));
		if ((st->views[i] = v) == NULL)
			return m3_err_set(e, M3_ENOMEM, "out of memory");
		v->index = i;
		v->lat = specs[i].lat;
		v->pos = specs[i].pos;
		v->file = specs[i].file;
		v->orient = specs[i].orient;
		v->mlo = specs[i].mlo;
		v->w = o->size[0] ? o->size[0] : 3328;
		v->h = o->size[1] ? o->size[1] : 4096;
		v->sp = o->spacing > 0 ? o->spacing : 0.07;
		ph_uid(v->sop_uid, o->seed, "mammo-image", (uint64_t)i);
		ph_breast_layout(v, o->seed, density);
		v->want_clusters = (i == with) + ph_rng_int(&r, 0, 1);
	}
	return M3_OK;
}

static void
release(struct study *st)
{
	for (int i = 0; i < NVIEW; i++) {
		struct ph_view *v = st->views[i];
		if (v == NULL)
			continue;
		for (size_t k = 0; k < v->nline; k++)
			free(v->lines[k].p);
		free(v->dcm);
		free(v);
	}
}

int
ph_mammo(const struct ph_opts *o, struct ph_sink *s, struct m3_err *e)
{
	struct m3_pool *pool;
	struct study st;
	char *tj = NULL;
	size_t tlen = 0;
	int rc = setup(&st, o, e);

	if (rc == M3_OK && (pool = m3_pool_new(o->jobs < NVIEW ? o->jobs : NVIEW, e)) == NULL)
		rc = e->code;
	if (rc == M3_OK) {
		ph_steps_init(&st.steps, o->progress, "mammo: views done", NVIEW);
		m3_pool_run(pool, view_job, &st, NVIEW);
		ph_steps_release(&st.steps);
		m3_pool_free(pool);
	}
	for (int i = 0; i < NVIEW && rc == M3_OK; i++)
		if (st.views[i]->rc != M3_OK) {
			*e = st.views[i]->err;
			rc = e->code;
		}
	for (int i = 0; i < NVIEW && rc == M3_OK; i++)
		rc = ph_sink_put(s, st.views[i]->file, st.views[i]->dcm, st.views[i]->dcmlen, e);
	if (rc == M3_OK && (rc = truth(&st, &tj, &tlen, e)) == M3_OK)
		rc = ph_sink_put(s, "truth.json", tj, tlen, e);
	if (rc == M3_OK && o->verbose)
		for (int i = 0; i < NVIEW; i++)
			m3_warn("%s: %zux%zu, %zu calcifications in %zu clusters and alone, %zu "
				"distractors, %zu bytes",
				st.views[i]->file, st.views[i]->w, st.views[i]->h,
				st.views[i]->ncalc, st.views[i]->nclust, st.views[i]->ndist,
				st.views[i]->dcmlen);
	free(tj);
	release(&st);
	return rc;
}
