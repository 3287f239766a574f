/* m3-view: X3D scenes checked for well-formed nesting, and binary STL turned into X3D. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "view.h"

#define MAX_NEST 256

/* Skips past the first occurrence of end at or after *i; 0 when it is missing. */
static int
skip_past(const struct vbuf *in, size_t *i, const char *end)
{
	const char *p = in->p + *i;
	size_t m = strlen(end);

	for (; (size_t)(p - in->p) + m <= in->n; p++)
		if (memcmp(p, end, m) == 0) {
			*i = (size_t)(p - in->p) + m;
			return 1;
		}
	return 0;
}

static size_t
name_len(const struct vbuf *in, size_t i)
{
	size_t j = i;

	while (j < in->n && strchr(" \t\r\n/>", in->p[j]) == NULL && in->p[j] != '\0')
		j++;
	return j - i;
}

/* One start or end tag at *i (on '<'): its name, and whether it closes or is empty; 0 when
 * it has no name, -1 when the input ends inside it. */
static int
tag(const struct vbuf *in, size_t *i, size_t *nm, size_t *nlen, int *close, int *empty)
{
	char q = 0;

	*close = in->p[*i + 1] == '/';
	*nm = *i + 1 + (size_t)*close;
	*nlen = name_len(in, *nm);
	*empty = 0;
	if (*nlen == 0)
		return 0;
	for (size_t j = *nm + *nlen; j < in->n; j++) {
		if (q != 0) {
			if (in->p[j] == q)
				q = 0;
		} else if (in->p[j] == '"' || in->p[j] == '\'') {
			q = in->p[j];
		} else if (in->p[j] == '>') {
			*empty = in->p[j - 1] == '/';
			*i = j + 1;
			return 1;
		}
	}
	return -1;
}

/* The scanner of view_x3d_scene(): open elements, and where the Scene element is. */
struct x3d_scan {
	const struct vbuf *in;
	const char *name;
	size_t stack[MAX_NEST], slen[MAX_NEST], depth, i;
	size_t scene_depth; /* depth inside the Scene element, 0 outside it */
	int root, scene;
	struct vbuf *out;
};

/* An end tag: it must close the element open last. */
static int
x3d_close(struct x3d_scan *x, size_t at, size_t nm, size_t nlen, struct m3_err *e)
{
	if (x->depth == 0 || x->slen[x->depth - 1] != nlen ||
	    memcmp(x->in->p + x->stack[x->depth - 1], x->in->p + nm, nlen) != 0)
		return m3_err_set(e, M3_EDATA,
				  "%s: X3D end tag at byte %zu does not match its start tag",
				  x->name, at + 1);
	x->depth--;
	return M3_OK;
}

static int
x3d_open(struct x3d_scan *x, size_t nm, size_t nlen, int empty, struct m3_err *e)
{
	if (x->depth == 0 && (x->root++ || nlen != 3 || memcmp(x->in->p + nm, "X3D", 3) != 0))
		return m3_err_set(e, M3_EDATA, "%s: the root element is not one <X3D>", x->name);
	if (x->scene_depth == 0 && nlen == 5 && memcmp(x->in->p + nm, "Scene", 5) == 0) {
		if (x->scene++ > 0)
			return m3_err_set(e, M3_EDATA, "%s: X3D has two <Scene>s", x->name);
		x->scene_depth = x->depth + 1;
	}
	if (empty)
		return M3_OK;
	if (x->depth == MAX_NEST)
		return m3_err_set(e, M3_EDATA, "%s: X3D nested too deep", x->name);
	x->stack[x->depth] = nm;
	x->slen[x->depth++] = nlen;
	return M3_OK;
}

/* One markup construct at x->i (on '<'); tags inside the Scene element are copied out. */
static int
x3d_markup(struct x3d_scan *x, struct m3_err *e)
{
	const struct vbuf *in = x->in;
	size_t at = x->i, nm, nlen;
	int close, empty, t, inside = x->scene_depth > 0;

	if (in->p[at + 1] == '!' || in->p[at + 1] == '?') { /* comments, CDATA, DOCTYPE: dropped */
		const char *end = strncmp(in->p + at, "<!--", 4) == 0        ? "-->"
				  : strncmp(in->p + at, "<![CDATA[", 9) == 0 ? "]]>"
									     : ">";

		return skip_past(in, &x->i, end)
			       ? M3_OK
			       : m3_err_set(e, M3_EDATA, "%s: truncated X3D", x->name);
	}
	if ((t = tag(in, &x->i, &nm, &nlen, &close, &empty)) < 0)
		return m3_err_set(e, M3_EDATA, "%s: truncated X3D", x->name);
	if (t == 0)
		return m3_err_set(e, M3_EDATA, "%s: bad X3D tag at byte %zu", x->name, at + 1);
	if ((close ? x3d_close(x, at, nm, nlen, e) : x3d_open(x, nm, nlen, empty, e)) != M3_OK)
		return e->code;
	inside = inside || x->scene_depth > 0;
	if (close && x->scene_depth > x->depth)
		x->scene_depth = 0; /* that was </Scene> */
	return inside ? vbuf_add(x->out, in->p + at, x->i - at, e) : M3_OK;
}

int
view_x3d_scene(const struct vbuf *in, const char *name, struct vbuf *out, struct m3_err *e)
{
	struct x3d_scan x = {.in = in, .name = name, .out = out};

	if (vbuf_str(out, "<X3D>", e) != M3_OK)
		return e->code;
	while (x.i < in->n) {
		const char *lt = memchr(in->p + x.i, '<', in->n - x.i);
		size_t run = lt != NULL ? (size_t)(lt - in->p) - x.i : in->n - x.i;

		if (x.scene_depth > 0 && vbuf_add(out, in->p + x.i, run, e) != M3_OK)
			return e->code;
		x.i += run;
		if (lt != NULL && x3d_markup(&x, e) != M3_OK)
			return e->code;
	}
	if (x.depth > 0)
		return m3_err_set(e, M3_EDATA, "%s: truncated X3D (<%.*s> not closed)", name,
				  (int)x.slen[x.depth - 1], in->p + x.stack[x.depth - 1]);
	if (!x.scene)
		return m3_err_set(e, M3_EDATA, "%s: X3D has no <Scene>", name);
	return vbuf_str(out, "</X3D>\n", e);
}

static float
f32le(const unsigned char *u)
{
	uint32_t b =
		(uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
	float f;

	memcpy(&f, &b, sizeof(f));
	return f;
}

/* Vertex welding: an open-addressing table of the distinct points (exact float bits). */
struct weld {
	float *pt; /* 3 floats a point */
	uint32_t *slot; /* point index + 1, 0 for empty */
	size_t npt, cap;
};

static size_t
weld_hash(const float *p, size_t mask)
{
	uint32_t h = 2166136261u, b;

	for (int k = 0; k < 3; k++) {
		memcpy(&b, &p[k], sizeof(b));
		h = (h ^ b) * 16777619u;
		h ^= h >> 15;
	}
	return h & mask;
}

static uint32_t
weld_add(struct weld *w, const float *p)
{
	size_t s = weld_hash(p, w->cap - 1);

	for (; w->slot[s] != 0; s = (s + 1) & (w->cap - 1)) {
		const float *q = w->pt + 3 * (size_t)(w->slot[s] - 1);

		if (memcmp(q, p, 3 * sizeof(*p)) == 0)
			return w->slot[s] - 1;
	}
	memcpy(w->pt + 3 * w->npt, p, 3 * sizeof(*p));
	w->slot[s] = (uint32_t)++w->npt;
	return (uint32_t)(w->npt - 1);
}

static int
stl_def(const char *name, char *def, size_t len)
{
	size_t o = 0;

	for (const char *s = view_basename(name); *s != '\0' && *s != '.' && o + 1 < len; s++)
		def[o++] = (strchr("-_", *s) != NULL || (*s >= '0' && *s <= '9') ||
			    (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
				   ? *s
				   : '_';
	if (o == 0 || (def[0] >= '0' && def[0] <= '9'))
		return snprintf(def, len, "mesh");
	def[o] = '\0';
	return (int)o;
}

static int
stl_write(const struct weld *w, const uint32_t *idx, size_t ntri, const char *name, struct vbuf *b,
	  struct m3_err *e)
{
	char def[64];

	stl_def(name, def, sizeof(def));
	if (vbuf_printf(b, e,
			"<X3D profile=\"Interchange\" version=\"3.3\"><Scene><Shape DEF=\"%s\">"
			"<Appearance><Material diffuseColor=\"0.85 0.82 0.75\"/></Appearance>"
			"<IndexedTriangleSet solid=\"false\" index=\"",
			def) != M3_OK)
		return e->code;
	for (size_t i = 0; i < 3 * ntri; i++)
		if (vbuf_printf(b, e, i > 0 ? " %u" : "%u", (unsigned)idx[i]) != M3_OK)
			return e->code;
	if (vbuf_str(b, "\"><Coordinate point=\"", e) != M3_OK)
		return e->code;
	for (size_t i = 0; i < w->npt; i++)
		if (vbuf_printf(b, e, "%s%.7g %.7g %.7g", i > 0 ? " " : "", (double)w->pt[3 * i],
				(double)w->pt[3 * i + 1], (double)w->pt[3 * i + 2]) != M3_OK)
			return e->code;
	return vbuf_str(b, "\"/></IndexedTriangleSet></Shape></Scene></X3D>\n", e);
}

int
view_stl_to_x3d(const struct vbuf *in, const char *name, struct view_scene *s, struct m3_err *e)
{
	const unsigned char *u = (const unsigned char *)in->p;
	size_t ntri = (in->n - 84) / 50, nv = 3 * ntri;
	struct weld w = {0};
	uint32_t *idx;
	int rc = M3_OK;

	if (ntri == 0)
		return m3_err_set(e, M3_EDATA, "%s: STL has no triangles", name);
	if (nv > UINT32_MAX / 2)
		return m3_err_set(e, M3_ELIMIT, "%s: too many triangles", name);
	for (w.cap = 16; w.cap < 2 * nv; w.cap *= 2)
		;
	w.pt = malloc(nv * 3 * sizeof(*w.pt));
	w.slot = calloc(w.cap, sizeof(*w.slot));
	idx = malloc(nv * sizeof(*idx));
	if (w.pt == NULL || w.slot == NULL || idx == NULL) {
		rc = m3_err_set(e, M3_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t t = 0; t < ntri && rc == M3_OK; t++)
		for (int k = 0; k < 3; k++) {
			const unsigned char *v = u + 84 + 50 * t + 12 + 12 * (size_t)k;
			float p[3] = {f32le(v), f32le(v + 4), f32le(v + 8)};

			if (!isfinite(p[0]) || !isfinite(p[1]) || !isfinite(p[2])) {
				rc = m3_err_set(e, M3_EDATA, "%s: triangle %zu: not a finite point",
						name, t + 1);
				break;
			}
			p[0] += 0.0f, p[1] += 0.0f, p[2] += 0.0f; /* -0 and 0 weld */
			idx[3 * t + (size_t)k] = weld_add(&w, p);
		}
	if (rc == M3_OK)
		rc = stl_write(&w, idx, ntri, name, &s->x3d, e);
	s->ntri = ntri;
out:
	free(w.pt);
	free(w.slot);
	free(idx);
	return rc;
}
