/* m3-mammo findings: one JSON object per image (keys in man/m3-mammo.1). */
#include <math.h>

#include "m3/json.h"
#include "mammo.h"

static void
key(FILE *f, const char *k)
{
	m3_json_str(f, k);
	fputc(':', f);
}

/* A number rounded to d decimals: stable, short output. */
static void
num(FILE *f, double v, int d)
{
	double s = pow(10, d);
	m3_json_num(f, round(v * s) / s);
}

static void
str_or_null(FILE *f, const char *s)
{
	if (s != NULL)
		m3_json_str(f, s);
	else
		fputs("null", f);
}

/* "x", "y" in pixels and "x_mm", "y_mm", each followed by a comma: a find's or a cluster's
 * centre. */
static void
position(FILE *f, double cx, double cy, const struct mm_image *im)
{
	key(f, "x");
	num(f, cx, 1);
	fputc(',', f);
	key(f, "y");
	num(f, cy, 1);
	fputc(',', f);
	key(f, "x_mm");
	num(f, cx * im->sx, 2);
	fputc(',', f);
	key(f, "y_mm");
	num(f, cy * im->sy, 2);
	fputc(',', f);
}

static void
calc_json(FILE *f, const struct mm_cand *c, const struct mm_image *im, int with_features)
{
	fputc('{', f);
	if (c->id > 0) {
		key(f, "id");
		fprintf(f, "%d,", c->id);
	}
	position(f, c->cx, c->cy, im);
	key(f, "diameter_mm");
	num(f, c->f[MM_F_DIAM], 3);
	fputc(',', f);
	key(f, "area_mm2");
	num(f, c->f[MM_F_AREA], 4);
	fputc(',', f);
	key(f, "contrast");
	num(f, c->f[MM_F_CONTRAST], 4);
	fputc(',', f);
	key(f, "score");
	num(f, c->score, 4);
	if (c->id > 0) {
		fputc(',', f);
		key(f, "cluster");
		if (c->cluster > 0)
			fprintf(f, "%d", c->cluster);
		else
			fputs("null", f);
	}
	if (with_features) {
		fputc(',', f);
		key(f, "features");
		fputc('[', f);
		for (int i = 0; i < MM_NFEAT; i++) {
			if (i)
				fputc(',', f);
			num(f, c->f[i], 5);
		}
		fputc(']', f);
	}
	fputc('}', f);
}

static void
cluster_json(FILE *f, const struct mm_cluster *q, const struct mm_result *r,
	     const struct mm_image *im)
{
	int first = 1;

	fputc('{', f);
	key(f, "id");
	fprintf(f, "%d,", q->id);
	key(f, "members");
	fputc('[', f);
	for (size_t i = 0; i < r->ncalc; i++)
		if (r->cand[i].cluster == q->id) {
			fprintf(f, first ? "%d" : ",%d", r->cand[i].id);
			first = 0;
		}
	fputs("],", f);
	position(f, q->cx, q->cy, im);
	key(f, "extent_mm");
	fputc('[', f);
	num(f, (q->x1 - q->x0) * im->sx, 2);
	fputc(',', f);
	num(f, (q->y1 - q->y0) * im->sy, 2);
	fputs("],", f);
	key(f, "score");
	num(f, q->score, 4);
	fputc('}', f);
}

static void
timings_json(FILE *f, const struct mm_timing *t)
{
	const char *names[] = {"mask",     "enhance", "detect",  "features",
			       "classify", "cluster", "overlay", "total"};
	const double v[] = {t->mask,     t->enhance, t->detect,  t->features,
			    t->classify, t->cluster, t->overlay, t->total};

	fputc('{', f);
	for (int i = 0; i < 8; i++) {
		if (i)
			fputc(',', f);
		key(f, names[i]);
		num(f, v[i] * 1e3, 2);
	}
	fputc('}', f);
}

void
mm_json_write(FILE *f, const struct mm_result *r, const struct mm_image *im,
	      const struct mm_params *p, unsigned long index, unsigned threads)
{
	fputc('{', f);
	key(f, "image");
	fprintf(f, "%lu,", index);
	key(f, "series");
	str_or_null(f, im->series);
	fputc(',', f);
	key(f, "laterality");
	str_or_null(f, im->laterality);
	fputc(',', f);
	key(f, "view");
	str_or_null(f, im->view);
	fputc(',', f);
	key(f, "width");
	fprintf(f, "%zu,", im->w);
	key(f, "height");
	fprintf(f, "%zu,", im->h);
	key(f, "spacing_mm");
	fputc('[', f);
	m3_json_num(f, im->sx);
	fputc(',', f);
	m3_json_num(f, im->sy);
	fputs("],", f);
	key(f, "device");
	m3_json_str(f, r->device);
	fputc(',', f);
	key(f, "threads");
	fprintf(f, "%u,", threads);
	key(f, "threshold");
	m3_json_num(f, p->threshold);
	fputc(',', f);
	key(f, "candidates");
	fprintf(f, "%zu,", r->ncand);
	key(f, "calcifications");
	fputc('[', f);
	for (size_t i = 0; i < r->ncalc; i++) {
		if (i)
			fputc(',', f);
		calc_json(f, &r->cand[i], im, 0);
	}
	fputs("],", f);
	key(f, "clusters");
	fputc('[', f);
	for (size_t i = 0; i < r->nclusters; i++) {
		if (i)
			fputc(',', f);
		cluster_json(f, &r->clusters[i], r, im);
	}
	fputs("],", f);
	if (p->features) {
		key(f, "feature_names");
		fputc('[', f);
		for (int i = 0; i < MM_NFEAT; i++) {
			if (i)
				fputc(',', f);
			m3_json_str(f, mm_feature_names[i]);
		}
		fputs("],", f);
		key(f, "all_candidates");
		fputc('[', f);
		for (size_t i = 0; i < r->ncand; i++) {
			if (i)
				fputc(',', f);
			calc_json(f, &r->cand[i], im, 1);
		}
		fputs("],", f);
	}
	key(f, "timings_ms");
	timings_json(f, &r->t);
	fputs("}\n", f);
}
