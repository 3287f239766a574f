/*
 * m3-view: the findings JSON Lines (one object per image, as m3-mammo writes), reduced to the
 * keys the page uses; every other key is dropped, so that nothing else reaches the page.
 */
#include <stdlib.h>
#include <string.h>

#include "m3/json.h"
#include "jsonr.h"
#include "view.h"

#define MAX_TEXT 64 /* longest string value carried to the page */

static int
put_num(struct vbuf *b, double d, struct m3_err *e)
{
	char s[M3_DTOA_MAX];

	m3_dtoa(s, d);
	return vbuf_str(b, s, e);
}

static int
put_key(struct vbuf *b, int *first, const char *key, struct m3_err *e)
{
	int rc = vbuf_printf(b, e, "%s\"%s\":", *first ? "" : ",", key);

	*first = 0;
	return rc;
}

/* A number, a short string, true, false or null; anything else is not carried. */
static int
is_scalar(const struct jv *v)
{
	return v != NULL && v->t != J_ARR && v->t != J_OBJ && (v->t != J_STR || v->len <= MAX_TEXT);
}

static int
put_scalar(struct vbuf *b, const struct jv *v, struct m3_err *e)
{
	switch (v->t) {
	case J_NUM:
		return put_num(b, v->num, e);
	case J_STR:
		return view_json_vstr(b, v->str, v->len, e);
	case J_TRUE:
		return vbuf_str(b, "true", e);
	case J_FALSE:
		return vbuf_str(b, "false", e);
	default:
		return vbuf_str(b, "null", e);
	}
}

/* The listed keys of obj whose values are scalars (or numbers only, with nums). */
static int
put_fields(struct vbuf *b, int *first, const struct jv *obj, const char *const *keys, int nums,
	   struct m3_err *e)
{
	for (; *keys != NULL; keys++) {
		const struct jv *v = jsonr_get(obj, *keys);

		if (!is_scalar(v) || (nums && v->t != J_NUM))
			continue;
		if (put_key(b, first, *keys, e) != M3_OK || put_scalar(b, v, e) != M3_OK)
			return e->code;
	}
	return M3_OK;
}

/* An array of scalars (numbers only with nums); other members are dropped. */
static int
put_array(struct vbuf *b, const struct jv *a, int nums, struct m3_err *e)
{
	int first = 1;

	if (vbuf_str(b, "[", e) != M3_OK)
		return e->code;
	for (size_t i = 0; i < a->n; i++) {
		if (!is_scalar(&a->v[i]) || (nums && a->v[i].t != J_NUM))
			continue;
		if ((!first && vbuf_str(b, ",", e) != M3_OK) || put_scalar(b, &a->v[i], e) != M3_OK)
			return e->code;
		first = 0;
	}
	return vbuf_str(b, "]", e);
}

/* An object's numeric members (keys shorter than MAX_TEXT): extents, timings. */
static int
put_numobj(struct vbuf *b, const struct jv *o, struct m3_err *e)
{
	int first = 1;

	if (vbuf_str(b, "{", e) != M3_OK)
		return e->code;
	for (size_t i = 0; i < o->n; i++) {
		if (o->v[i].t != J_NUM || strlen(o->k[i]) > MAX_TEXT)
			continue;
		if ((!first && vbuf_str(b, ",", e) != M3_OK) ||
		    view_json_vstr(b, o->k[i], strlen(o->k[i]), e) != M3_OK ||
		    vbuf_str(b, ":", e) != M3_OK || put_num(b, o->v[i].num, e) != M3_OK)
			return e->code;
		first = 0;
	}
	return vbuf_str(b, "}", e);
}

/* A point as [x, y], from [x, y] or {"x": .., "y": ..}. */
static int
put_point(struct vbuf *b, int *first, const char *key, const struct jv *v, struct m3_err *e)
{
	double x, y;

	if (v == NULL)
		return M3_OK;
	if (v->t == J_ARR && v->n >= 2 && v->v[0].t == J_NUM && v->v[1].t == J_NUM) {
		x = v->v[0].num;
		y = v->v[1].num;
	} else if (v->t == J_OBJ && jsonr_get(v, "x") != NULL && jsonr_get(v, "y") != NULL) {
		x = jsonr_num(v, "x", 0);
		y = jsonr_num(v, "y", 0);
	} else {
		return M3_OK;
	}
	if (put_key(b, first, key, e) != M3_OK)
		return e->code;
	return vbuf_printf(b, e, "[%.17g,%.17g]", x, y);
}

/* The image's keys, from an "image" object (the early draft) or from the line itself (m3-mammo,
 * where "image" is the image's number in the stream). */
static int
put_image(struct vbuf *b, const struct jv *im, struct view_findings *f, struct m3_err *e)
{
	static const char *const keys[] = {"laterality", "view", "width", "height", NULL};
	static const char *const names[] = {"file", "png", "overlay", "name", NULL};
	const struct jv *ps = jsonr_get(im, "pixel_spacing_mm"), *v;
	int first = 1;

	if (ps == NULL)
		ps = jsonr_get(im, "spacing_mm");
	if ((v = jsonr_get(im, "laterality")) != NULL && v->t == J_STR)
		snprintf(f->laterality, sizeof(f->laterality), "%s", v->str);
	if ((v = jsonr_get(im, "view")) != NULL && v->t == J_STR)
		snprintf(f->view, sizeof(f->view), "%s", v->str);
	f->width = jsonr_num(im, "width", 0);
	f->height = jsonr_num(im, "height", 0);
	for (const char *const *k = names; *k != NULL && f->file[0] == '\0'; k++)
		if ((v = jsonr_get(im, *k)) != NULL && v->t == J_STR)
			snprintf(f->file, sizeof(f->file), "%s", view_basename(v->str));
	if (vbuf_str(b, "\"image\":{", e) != M3_OK ||
	    put_fields(b, &first, im, keys, 0, e) != M3_OK)
		return e->code;
	if (f->index > 0 && (put_key(b, &first, "number", e) != M3_OK ||
			     vbuf_printf(b, e, "%ld", f->index) != M3_OK))
		return e->code;
	if (ps != NULL && (ps->t == J_NUM || ps->t == J_ARR)) {
		if (put_key(b, &first, "pixel_spacing_mm", e) != M3_OK ||
		    (ps->t == J_NUM ? put_num(b, ps->num, e) : put_array(b, ps, 1, e)) != M3_OK)
			return e->code;
	}
	return vbuf_str(b, "}", e);
}

static int
put_calcs(struct vbuf *b, const struct jv *a, struct view_findings *f, struct m3_err *e)
{
	static const char *const keys[] = {"id",    "x",           "y",        "x_mm",
					   "y_mm",  "diameter_mm", "area_mm2", "contrast",
					   "score", "cluster",     NULL};
	int sep = 0;

	if (vbuf_str(b, ",\"calcifications\":[", e) != M3_OK)
		return e->code;
	for (size_t i = 0; i < a->n; i++) {
		const struct jv *c = &a->v[i], *x = jsonr_get(c, "x"), *y = jsonr_get(c, "y");
		int first = 1;

		if (x == NULL || y == NULL || x->t != J_NUM || y->t != J_NUM)
			continue; /* nothing to point at */
		if ((sep && vbuf_str(b, ",", e) != M3_OK) || vbuf_str(b, "{", e) != M3_OK ||
		    put_fields(b, &first, c, keys, 0, e) != M3_OK || vbuf_str(b, "}", e) != M3_OK)
			return e->code;
		sep = 1;
		f->ncalc++;
	}
	return vbuf_str(b, "]", e);
}

static int
put_clusters(struct vbuf *b, const struct jv *a, struct m3_err *e)
{
	static const char *const keys[] = {"id", "score", NULL};
	int sep = 0;

	if (vbuf_str(b, ",\"clusters\":[", e) != M3_OK)
		return e->code;
	for (size_t i = 0; i < a->n; i++) {
		const struct jv *c = &a->v[i], *m = jsonr_get(c, "members"),
				*x = jsonr_get(c, "extent");
		const struct jv *ctr = jsonr_get(c, "centre");
		int first = 1;

		if (c->t != J_OBJ)
			continue;
		if ((sep && vbuf_str(b, ",", e) != M3_OK) || vbuf_str(b, "{", e) != M3_OK ||
		    put_fields(b, &first, c, keys, 0, e) != M3_OK)
			return e->code;
		if (m != NULL && m->t == J_ARR &&
		    (put_key(b, &first, "members", e) != M3_OK || put_array(b, m, 0, e) != M3_OK))
			return e->code;
		if (ctr == NULL)
			ctr = jsonr_get(c, "center");
		if (put_point(b, &first, "centre", ctr != NULL ? ctr : c, e) != M3_OK)
			return e->code;
		if ((ctr = jsonr_get(c, "extent_mm")) != NULL && ctr->t == J_ARR &&
		    (put_key(b, &first, "extent_mm", e) != M3_OK ||
		     put_array(b, ctr, 1, e) != M3_OK))
			return e->code;
		if (x != NULL && x->t == J_NUM &&
		    (put_key(b, &first, "extent", e) != M3_OK || put_num(b, x->num, e) != M3_OK))
			return e->code;
		if (x != NULL && (x->t == J_ARR || x->t == J_OBJ) &&
		    (put_key(b, &first, "extent", e) != M3_OK ||
		     (x->t == J_ARR ? put_array(b, x, 1, e) : put_numobj(b, x, e)) != M3_OK))
			return e->code;
		if (vbuf_str(b, "}", e) != M3_OK)
			return e->code;
		sep = 1;
	}
	return vbuf_str(b, "]", e);
}

static int
reduce(const struct jv *o, struct view_findings *f, struct m3_err *e)
{
	const struct jv *im = jsonr_get(o, "image"), *v;
	struct vbuf *b = &f->json;

	if (im != NULL && im->t == J_NUM && im->num >= 1 && im->num <= 1e9)
		f->index = (long)im->num;
	if (vbuf_str(b, "{", e) != M3_OK ||
	    put_image(b, im != NULL && im->t == J_OBJ ? im : o, f, e) != M3_OK)
		return e->code;
	if ((v = jsonr_get(o, "calcifications")) != NULL && v->t == J_ARR
		    ? put_calcs(b, v, f, e)
		    : vbuf_str(b, ",\"calcifications\":[]", e))
		return e->code;
	if ((v = jsonr_get(o, "clusters")) != NULL && v->t == J_ARR
		    ? put_clusters(b, v, e)
		    : vbuf_str(b, ",\"clusters\":[]", e))
		return e->code;
	if ((v = jsonr_get(o, "device")) != NULL && v->t == J_STR && v->len <= MAX_TEXT &&
	    (vbuf_str(b, ",\"device\":", e) != M3_OK || view_json_vstr(b, v->str, v->len, e)))
		return e->code;
	for (const char *const *k = (const char *const[]){"timings", "timings_ms", NULL}; *k; k++)
		if ((v = jsonr_get(o, *k)) != NULL && v->t == J_OBJ &&
		    (vbuf_printf(b, e, ",\"%s\":", *k) != M3_OK || put_numobj(b, v, e) != M3_OK))
			return e->code;
	for (const char *const *k = (const char *const[]){"threshold", "candidates", NULL}; *k; k++)
		if ((v = jsonr_get(o, *k)) != NULL && v->t == J_NUM &&
		    (vbuf_printf(b, e, ",\"%s\":", *k) != M3_OK || put_num(b, v->num, e) != M3_OK))
			return e->code;
	if (f->file[0] == '\0') {
		static const char *const names[] = {"overlay", "png", "file", NULL};

		for (const char *const *k = names; *k != NULL && f->file[0] == '\0'; k++)
			if ((v = jsonr_get(o, *k)) != NULL && v->t == J_STR)
				snprintf(f->file, sizeof(f->file), "%s", view_basename(v->str));
	}
	return vbuf_str(b, "}", e);
}

int
view_findings_read(const struct vbuf *in, const char *name, struct view_findings **fp, size_t *np,
		   struct m3_err *e)
{
	unsigned long line = 0;
	size_t off = 0;
	char why[128];

	while (off < in->n) {
		const char *s = in->p + off, *nl = memchr(s, '\n', in->n - off);
		size_t len = nl != NULL ? (size_t)(nl - s) : in->n - off;
		struct view_findings *f;
		struct jv o;
		int rc;

		off += len + (nl != NULL);
		line++;
		if (strspn(s, " \t\r") >= len)
			continue; /* blank line */
		if (jsonr_parse(s, len, &o, why, sizeof(why)) != 0)
			return m3_err_set(e, M3_EDATA, "%s: line %lu: %s", name, line, why);
		if (o.t != J_OBJ) {
			jsonr_free(&o);
			return m3_err_set(e, M3_EDATA, "%s: line %lu: not a JSON object", name,
					  line);
		}
		if ((f = realloc(*fp, (*np + 1) * sizeof(*f))) == NULL) {
			jsonr_free(&o);
			return m3_err_set(e, M3_ENOMEM, "out of memory");
		}
		*fp = f;
		f += (*np)++;
		memset(f, 0, sizeof(*f));
		f->image = -1;
		f->line = line;
		rc = reduce(&o, f, e);
		jsonr_free(&o);
		if (rc != M3_OK)
			return rc;
	}
	return M3_OK;
}

void
view_findings_free(struct view_findings *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		vbuf_free(&f[i].json);
	free(f);
}
