/* One series into one volume: slices decoded in parallel straight into place, then stored
 * values normalised (BitsStored, MONOCHROME1) and rescaled in place to the output type. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "m3/cli.h"

/* How the stored values are held: the container of Bits Allocated, signed or not. */
enum kind { K_U8, K_S8, K_U16, K_S16, K_U32, K_S32 };

/* A piece of decoding work: one source, whose frames go to slices z (zof[frame], -1 if the
 * frame is not in this volume).  A single-frame source goes straight to its slice. */
struct unit {
	size_t src;
	long *zof;
	size_t z;
};

struct build {
	struct m3d_series *s;
	struct m3d_input *in;
	unsigned char *data;
	size_t plane; /* stored bytes of one slice */
	size_t npix; /* values of one slice (samples included) */
	struct unit *u;
	size_t nu;
	struct m3_err *err; /* per unit */
	int inplace; /* one multi-frame source is the whole volume, in frame order */
	enum kind kind;
	unsigned bits_stored;
	int mono1, rgb, identity;
	int fused; /* the output type is known before decoding and has the stored width:
		    * each slice is finished by the thread that decoded it, while in cache */
	double *lo, *hi; /* per slice: stored range after normalisation */
	enum m3_type out;
	size_t osize;
};

static const struct m3_dcm_frame *
frame_at(const struct build *b, size_t z)
{
	const struct m3d_slice *sl = &b->s->sl[z];
	return &b->in->src[sl->src].info.frame[sl->frame];
}

static void
free_units(struct build *b)
{
	for (size_t i = 0; i < b->nu; i++)
		free(b->u[i].zof);
	free(b->u);
	free(b->err);
	b->u = NULL;
	b->err = NULL;
	b->nu = 0;
}

/* One unit per source; multi-frame sources get a frame-to-slice map. */
static int
make_units(struct build *b, struct m3_err *e)
{
	const struct m3d_series *s = b->s;

	if ((b->u = calloc(s->n, sizeof(*b->u))) == NULL ||
	    (b->err = calloc(s->n, sizeof(*b->err))) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	for (size_t z = 0; z < s->n; z++) {
		const struct m3_dcm_info *info = &b->in->src[s->sl[z].src].info;
		struct unit *u = NULL;
		if (info->frames > 1)
			for (size_t i = 0; i < b->nu && u == NULL; i++)
				if (b->u[i].src == s->sl[z].src)
					u = &b->u[i];
		if (u == NULL) {
			u = &b->u[b->nu++];
			u->src = s->sl[z].src;
			u->z = z;
			if (info->frames > 1) {
				if ((u->zof = malloc(info->frames * sizeof(long))) == NULL)
					return m3_err_set(e, M3_ENOMEM, "out of memory");
				for (unsigned f = 0; f < info->frames; f++)
					u->zof[f] = -1;
			}
		}
		if (u->zof != NULL)
			u->zof[s->sl[z].frame] = (long)z;
	}
	b->inplace =
		b->nu == 1 && b->u[0].zof != NULL && b->in->src[b->u[0].src].info.frames == s->n;
	return M3_OK;
}

static void normalise_slice(void *ctx, size_t z, unsigned worker);
static void convert_slice(void *ctx, size_t z, unsigned worker);

#define ONE_PASS(IT, OT)                                                                           \
	do {                                                                                       \
		IT *src = (IT *)p;                                                                 \
		OT *dst = (OT *)p;                                                                 \
		for (size_t i = 0; i < n; i++)                                                     \
			dst[i] = (OT)(c + a * ((((int32_t)src[i] & mask) ^ sbit) - sbit) + k);     \
	} while (0)

/* The usual CT slice (16 bits, slope 1, integer intercept) normalised and rescaled in one
 * pass; 0 when the slice is of another kind. */
static int
one_pass(struct build *b, size_t z)
{
	const struct m3_dcm_frame *f = frame_at(b, z);
	unsigned char *p = b->data + z * b->plane;
	size_t n = b->npix;
	unsigned bs = b->bits_stored;
	int sgn = b->kind == K_S16;
	int32_t mask = (int32_t)((1L << bs) - 1), sbit = sgn ? (int32_t)(1L << (bs - 1)) : 0;
	int32_t smin = sgn ? -(int32_t)(1L << (bs - 1)) : 0;
	int32_t smax = sgn ? (int32_t)(1L << (bs - 1)) - 1 : (int32_t)((1L << bs) - 1);
	int32_t a = b->mono1 ? -1 : 1, c = b->mono1 ? smin + smax : 0, k = (int32_t)f->intercept;

	if ((b->kind != K_U16 && b->kind != K_S16) || f->slope != 1 || f->intercept != k)
		return 0;
	if (b->out == M3_INT16 && sgn)
		ONE_PASS(int16_t, int16_t);
	else if (b->out == M3_INT16)
		ONE_PASS(uint16_t, int16_t);
	else if (b->out == M3_UINT16 && sgn)
		ONE_PASS(int16_t, uint16_t);
	else if (b->out == M3_UINT16)
		ONE_PASS(uint16_t, uint16_t);
	else
		return 0;
	return 1;
}

/* Normalise and rescale slice z in place (the fused path). */
static void
finish_slice(void *ctx, size_t z, unsigned worker)
{
	struct build *b = ctx;

	if (b->rgb || one_pass(b, z)) {
		if (b->rgb) /* only bits above BitsStored dropped: no rescale, no range */
			normalise_slice(b, z, worker);
		return;
	}
	normalise_slice(b, z, worker);
	if (!b->identity)
		convert_slice(b, z, worker);
}

static void
decode_unit(void *ctx, size_t item, unsigned worker)
{
	struct build *b = ctx;
	struct unit *u = &b->u[item];
	const struct m3_dcm_info *info = &b->in->src[u->src].info;
	struct m3_dcm_src src;
	unsigned char *tmp;

	m3_err_init(&b->err[item]);
	m3d_input_src(b->in, u->src, &src);
	m3d_guard_enter((long)u->src);
	if (info->pixel_bytes != b->plane * info->frames) {
		m3_err_set(&b->err[item], M3_EDATA, "%s: image size differs from its series",
			   src.name);
	} else if (u->zof == NULL) {
		if (m3_dcm_decode(&src, info, b->data + u->z * b->plane, b->plane, &b->err[item]) ==
			    M3_OK &&
		    b->fused)
			finish_slice(b, u->z, worker);
	} else if (b->inplace) {
		m3_dcm_decode(&src, info, b->data, info->pixel_bytes, &b->err[item]);
	} else if ((tmp = malloc(info->pixel_bytes)) == NULL) {
		m3_err_set(&b->err[item], M3_ENOMEM, "out of memory");
	} else {
		if (m3_dcm_decode(&src, info, tmp, info->pixel_bytes, &b->err[item]) == M3_OK)
			for (unsigned f = 0; f < info->frames; f++)
				if (u->zof[f] >= 0) {
					memcpy(b->data + (size_t)u->zof[f] * b->plane,
					       tmp + f * b->plane, b->plane);
					if (b->fused)
						finish_slice(b, (size_t)u->zof[f], worker);
				}
		free(tmp);
	}
	m3d_guard_enter(-1);
}

/* Frames of one multi-frame file, decoded in file order, into slice order. */
static int
permute(struct build *b, struct m3_err *e)
{
	const struct unit *u = &b->u[0];
	size_t n = b->s->n;
	long *from = malloc(n * sizeof(*from));
	unsigned char *done = calloc(n, 1), *tmp = malloc(b->plane);

	if (from == NULL || done == NULL || tmp == NULL) {
		free(from);
		free(done);
		free(tmp);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	for (size_t f = 0; f < n; f++)
		from[u->zof[f]] = (long)f;
	for (size_t start = 0; start < n; start++) {
		size_t z = start;
		if (done[start])
			continue;
		memcpy(tmp, b->data + start * b->plane, b->plane);
		for (;;) {
			size_t f = (size_t)from[z];
			done[z] = 1;
			if (f == start) {
				memcpy(b->data + z * b->plane, tmp, b->plane);
				break;
			}
			memcpy(b->data + z * b->plane, b->data + f * b->plane, b->plane);
			z = f;
		}
	}
	free(from);
	free(done);
	free(tmp);
	return M3_OK;
}

/* Stored values: bits above BitsStored dropped (sign-extended when signed), MONOCHROME1
 * turned into MONOCHROME2 (smin + smax - v), and, when asked, the range of the slice.
 * Branch-free, v = c + a * (((v & mask) ^ sbit) - sbit), so that the compiler vectorises. */
#define NORMALISE(T, W)                                                                            \
	do {                                                                                       \
		T *p = (T *)base;                                                                  \
		for (size_t i = 0; i < n; i++)                                                     \
			p[i] = (T)(c + a * ((((W)p[i] & (W)mask) ^ (W)sbit) - (W)sbit));           \
		if (range)                                                                         \
			for (size_t i = 0; i < n; i++) {                                           \
				lo = p[i] < lo ? p[i] : lo;                                        \
				hi = p[i] > hi ? p[i] : hi;                                        \
			}                                                                          \
	} while (0)

static void
normalise_slice(void *ctx, size_t z, unsigned worker)
{
	struct build *b = ctx;
	void *base = b->data + z * b->plane;
	size_t n = b->npix;
	unsigned bs = b->bits_stored, width = (unsigned)(b->plane / b->npix) * 8;
	int sgn = b->kind == K_S8 || b->kind == K_S16 || b->kind == K_S32, range = !b->fused;
	int64_t mask = bs < 32 ? ((int64_t)1 << bs) - 1 : 0xffffffff;
	int64_t sbit = sgn ? (int64_t)1 << (bs - 1) : 0;
	int64_t smin = sgn ? -((int64_t)1 << (bs - 1)) : 0;
	int64_t smax = sgn ? ((int64_t)1 << (bs - 1)) - 1 : ((int64_t)1 << bs) - 1;
	int64_t a = b->mono1 ? -1 : 1, c = b->mono1 ? smin + smax : 0;
	int64_t lo = INT64_MAX, hi = INT64_MIN;

	(void)worker;
	if (bs == width && !b->mono1)
		mask = -1, sbit = 0; /* nothing to change: only the range */
	if (bs == width && !b->mono1 && !range)
		return;
	switch (b->kind) {
	case K_U8:
		NORMALISE(uint8_t, int32_t);
		break;
	case K_S8:
		NORMALISE(int8_t, int32_t);
		break;
	case K_U16:
		NORMALISE(uint16_t, int32_t);
		break;
	case K_S16:
		NORMALISE(int16_t, int32_t);
		break;
	case K_U32:
		NORMALISE(uint32_t, int64_t);
		break;
	case K_S32:
		NORMALISE(int32_t, int64_t);
		break;
	}
	b->lo[z] = (double)lo;
	b->hi[z] = (double)hi;
}

static int
fits(double lo, double hi, double min, double max)
{
	return lo >= min && hi <= max;
}

/* The output type: exact integers where slope and intercept allow, float otherwise. */
static enum m3_type
out_type(struct build *b)
{
	static const enum m3_type natural[] = {M3_UINT8, M3_INT16,  M3_UINT16,
					       M3_INT16, M3_UINT32, M3_INT32};
	int identity = 1, integral = 1;
	double lo = INFINITY, hi = -INFINITY;

	if (b->rgb)
		return b->kind == K_U8 ? M3_UINT8 : M3_UINT16;
	for (size_t z = 0; z < b->s->n; z++) {
		const struct m3_dcm_frame *f = frame_at(b, z);
		double a = f->slope * b->lo[z] + f->intercept,
		       c = f->slope * b->hi[z] + f->intercept;
		identity &= f->slope == 1 && f->intercept == 0;
		integral &= f->slope == rint(f->slope) && f->intercept == rint(f->intercept) &&
			    fabs(f->slope) < 65536 && fabs(f->intercept) < 1e9;
		lo = fmin(lo, fmin(a, c));
		hi = fmax(hi, fmax(a, c));
	}
	b->identity = identity;
	if (identity)
		return natural[b->kind];
	if (!integral)
		return M3_FLOAT;
	if (fits(lo, hi, INT16_MIN, INT16_MAX))
		return M3_INT16;
	if (fits(lo, hi, 0, UINT16_MAX))
		return M3_UINT16;
	if (fits(lo, hi, INT32_MIN, INT32_MAX))
		return M3_INT32;
	return M3_FLOAT;
}

/* The output type from the range BitsStored allows, before any pixel is seen; fused when
 * that type has the stored width, so that slices can be finished as they are decoded. */
static int
fuse(struct build *b)
{
	static const enum m3_type natural[] = {M3_UINT8, M3_INT16,  M3_UINT16,
					       M3_INT16, M3_UINT32, M3_INT32};
	int sgn = b->kind == K_S8 || b->kind == K_S16 || b->kind == K_S32;
	double smin = sgn ? -ldexp(1, (int)b->bits_stored - 1) : 0;
	double smax =
		sgn ? ldexp(1, (int)b->bits_stored - 1) - 1 : ldexp(1, (int)b->bits_stored) - 1;
	size_t isize = b->plane / b->npix;

	if (b->rgb) {
		b->out = b->kind == K_U8 ? M3_UINT8 : M3_UINT16;
		b->identity = 1;
	} else {
		for (size_t z = 0; z < b->s->n; z++) {
			b->lo[z] = smin;
			b->hi[z] = smax;
		}
		b->out = out_type(b);
		if (b->identity && b->out != natural[b->kind])
			return 0;
	}
	b->osize = m3_type_size(b->out);
	return b->osize == isize;
}

/* Integer slope 1 (the usual CT case) in integer arithmetic, which vectorises. */
#define CONV_LOOP(IT, OT)                                                                          \
	do {                                                                                       \
		const IT *src = in;                                                                \
		OT *dst = out;                                                                     \
		int32_t k = (int32_t)icpt;                                                         \
		if (backward)                                                                      \
			for (size_t i = n; i-- > 0;)                                               \
				dst[i] = (OT)(src[i] * slope + icpt);                              \
		else if (slope == 1 && icpt == k && sizeof(IT) < 4)                                \
			for (size_t i = 0; i < n; i++)                                             \
				dst[i] = (OT)((int32_t)src[i] + k);                                \
		else                                                                               \
			for (size_t i = 0; i < n; i++)                                             \
				dst[i] = (OT)(src[i] * slope + icpt);                              \
	} while (0)

#define CONV_TO(IT)                                                                                \
	do {                                                                                       \
		switch (ot) {                                                                      \
		case M3_UINT8:                                                                     \
			CONV_LOOP(IT, uint8_t);                                                    \
			break;                                                                     \
		case M3_INT16:                                                                     \
			CONV_LOOP(IT, int16_t);                                                    \
			break;                                                                     \
		case M3_UINT16:                                                                    \
			CONV_LOOP(IT, uint16_t);                                                   \
			break;                                                                     \
		case M3_INT32:                                                                     \
			CONV_LOOP(IT, int32_t);                                                    \
			break;                                                                     \
		case M3_UINT32:                                                                    \
			CONV_LOOP(IT, uint32_t);                                                   \
			break;                                                                     \
		default:                                                                           \
			CONV_LOOP(IT, float);                                                      \
			break;                                                                     \
		}                                                                                  \
	} while (0)

/* n stored values at in to the output type at out (which may overlap in, starting at the
 * same element: forward when the output is no wider, backward when it is). */
static void
convert(const void *in, void *out, size_t n, enum kind k, enum m3_type ot, double slope,
	double icpt, int backward)
{
	switch (k) {
	case K_U8:
		CONV_TO(uint8_t);
		break;
	case K_S8:
		CONV_TO(int8_t);
		break;
	case K_U16:
		CONV_TO(uint16_t);
		break;
	case K_S16:
		CONV_TO(int16_t);
		break;
	case K_U32:
		CONV_TO(uint32_t);
		break;
	case K_S32:
		CONV_TO(int32_t);
		break;
	}
}

static void
convert_slice(void *ctx, size_t z, unsigned worker)
{
	struct build *b = ctx;
	const struct m3_dcm_frame *f = frame_at(b, z);
	void *p = b->data + z * b->plane;

	(void)worker;
	convert(p, p, b->npix, b->kind, b->out, f->slope, f->intercept, 0);
}

/* Rescale into the output type: in place, in parallel when the width stays; one pass
 * forward then a shrink, or a grow (realloc moves no pages of a large block) then one
 * pass backward, when it changes. */
static int
rescale(struct build *b, struct m3_pool *pool, struct m3_err *e)
{
	size_t isize = b->plane / b->npix, n = b->s->n;

	if (b->osize == isize && b->identity) {
		/* nothing to do: the stored values are the output */
	} else if (b->osize == isize) {
		m3_pool_run(pool, convert_slice, b, n);
	} else if (b->osize < isize) {
		for (size_t z = 0; z < n; z++) {
			const struct m3_dcm_frame *f = frame_at(b, z);
			convert(b->data + z * b->plane, b->data + z * b->npix * b->osize, b->npix,
				b->kind, b->out, f->slope, f->intercept, 0);
		}
		unsigned char *p = realloc(b->data, n * b->npix * b->osize);
		if (p != NULL)
			b->data = p;
	} else {
		unsigned char *p = realloc(b->data, n * b->npix * b->osize);
		if (p == NULL)
			return m3_err_set(e, M3_ENOMEM, "out of memory");
		b->data = p;
		for (size_t z = n; z-- > 0;) {
			const struct m3_dcm_frame *f = frame_at(b, z);
			convert(b->data + z * b->plane, b->data + z * b->npix * b->osize, b->npix,
				b->kind, b->out, f->slope, f->intercept, 1);
		}
	}
	return M3_OK;
}

static int
set_num(struct m3_vol *v, const char *key, const char *fmt, double a, double c, struct m3_err *e)
{
	char s[80];

	snprintf(s, sizeof(s), fmt, a, c);
	return m3_vol_set(v, key, s, e);
}

static int
set_str(struct m3_vol *v, const char *key, const char *val, struct m3_err *e)
{
	return *val == '\0' ? M3_OK : m3_vol_set(v, key, val, e);
}

/* The key:=value lines of man/m3-decode.1; identifiers only with --keep-phi. */
static int
metadata(const struct build *b, const struct m3d_opts *o, struct m3_vol *v, struct m3_err *e)
{
	const struct m3_dcm_info *info = m3d_series_info(b->s, b->in);
	const struct m3_dcm_frame *f = frame_at(b, 0);
	char series[M3D_UID_MAX], study[M3D_UID_MAX];
	const char *units = "";
	int rc = M3_OK;

	if (o->keep_phi) {
		snprintf(series, sizeof(series), "%s", info->series_uid);
		snprintf(study, sizeof(study), "%s", info->study_uid);
	} else {
		m3d_pseudo_uid(info->series_uid, series);
		m3d_pseudo_uid(info->study_uid, study);
	}
	if (strcmp(info->modality, "CT") == 0 && !b->rgb)
		units = "HU";
	else if (strcmp(info->rescale_type, "US") != 0)
		units = info->rescale_type;
	rc |= set_str(v, "m3-modality", info->modality, e);
	rc |= set_str(v, "m3-series", series, e);
	rc |= set_str(v, "m3-study", study, e);
	rc |= set_str(v, "m3-units", units, e);
	rc |= set_str(v, "m3-photometric", b->rgb ? "RGB" : "MONOCHROME2", e);
	if (!isnan(f->wc) && !isnan(f->ww) && !b->rgb) {
		double wc = f->wc;
		if (b->mono1) { /* the window follows the inverted values */
			int sgn = b->kind == K_S8 || b->kind == K_S16 || b->kind == K_S32;
			double smin = sgn ? -ldexp(1, (int)b->bits_stored - 1) : 0;
			double smax = sgn ? ldexp(1, (int)b->bits_stored - 1) - 1
					  : ldexp(1, (int)b->bits_stored) - 1;
			wc = f->slope * (smin + smax) + 2 * f->intercept - wc;
		}
		rc |= set_num(v, "m3-window", "%.10g/%.10g", wc, f->ww, e);
	}
	rc |= set_str(v, "m3-laterality", info->laterality, e);
	rc |= set_str(v, "m3-view", info->view, e);
	rc |= set_str(v, "m3-presentation", info->presentation, e);
	if (o->keep_phi) {
		rc |= set_str(v, "m3-patient-name", info->patient_name, e);
		rc |= set_str(v, "m3-patient-id", info->patient_id, e);
		rc |= set_str(v, "m3-birth-date", info->birth_date, e);
		rc |= set_str(v, "m3-series-description", info->series_desc, e);
	}
	return rc == M3_OK ? M3_OK : e->code;
}

static void
geometry(const struct build *b, struct m3_vol *v)
{
	const struct m3_dcm_info *info = m3d_series_info(b->s, b->in);
	unsigned a = (unsigned)b->rgb;

	v->rgb = b->rgb;
	v->dim = b->s->dim + a;
	if (b->rgb)
		v->sizes[0] = 3;
	v->sizes[a] = info->cols;
	v->sizes[a + 1] = info->rows;
	if (b->s->dim == 3)
		v->sizes[a + 2] = b->s->n;
	v->has_space = b->s->has_space;
	v->has_origin = b->s->has_origin;
	for (unsigned i = 0; i < b->s->dim; i++)
		memcpy(v->dirs[a + i], b->s->dirs[i], sizeof(v->dirs[0]));
	memcpy(v->origin, b->s->origin, sizeof(v->origin));
}

static int
setup(struct build *b, struct m3_vol *v, struct m3_err *e)
{
	const struct m3_dcm_info *info = m3d_series_info(b->s, b->in);
	static const enum kind kinds[3][2] = {{K_U8, K_S8}, {K_U16, K_S16}, {K_U32, K_S32}};
	static const enum m3_type stored[] = {M3_UINT8, M3_INT16,  M3_UINT16,
					      M3_INT16, M3_UINT32, M3_INT32};
	int rc;

	b->kind = kinds[info->bits_alloc / 16][info->pixel_rep];
	b->bits_stored = info->bits_stored;
	b->rgb = info->samples == 3;
	b->mono1 = strcmp(info->photometric, "MONOCHROME1") == 0;
	b->npix = (size_t)info->rows * info->cols * info->samples;
	b->plane = b->npix * (info->bits_alloc / 8);
	if ((rc = make_units(b, e)) != M3_OK)
		return rc;
	geometry(b, v);
	/* allocate as the stored type (same width as the container); the type is set later */
	v->type = stored[b->kind];
	if ((rc = m3_vol_alloc(v, e)) != M3_OK)
		return m3_err_prefix(e, "series %zu", b->s->index);
	b->data = v->data;
	v->data = NULL;
	if ((b->lo = malloc(b->s->n * sizeof(double))) == NULL ||
	    (b->hi = malloc(b->s->n * sizeof(double))) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	b->fused = fuse(b);
	return M3_OK;
}

/* Decodes every unit in chunks, so that progress can be shown between them. */
static void
decode_all(struct build *b, struct m3_pool *pool, const struct m3d_opts *o)
{
	struct m3_progress pr;
	size_t step = (size_t)m3_pool_size(pool) * 8;

	m3_progress_init(&pr, o->progress, o->quiet);
	for (size_t at = 0; at < b->nu; at += step) {
		struct build sub = *b;
		size_t k = b->nu - at < step ? b->nu - at : step;
		sub.u = b->u + at;
		sub.err = b->err + at;
		m3_pool_run(pool, decode_unit, &sub, k);
		m3_progress(&pr, "series %zu: %zu of %zu files", b->s->index, at + k, b->nu);
	}
	m3_progress_done(&pr);
}

/* After failed decodes: the error, or with -k the failed files dropped from the series. */
static int
failures(struct build *b, const struct m3d_opts *o, int *again, struct m3_err *e)
{
	size_t kept = 0;
	int any = 0;

	*again = 0;
	for (size_t i = 0; i < b->nu; i++) {
		if (b->err[i].code == M3_OK)
			continue;
		if (!o->keep_going || b->err[i].code != M3_EDATA) {
			*e = b->err[i];
			return e->code;
		}
		m3_warn("%s; skipped", b->err[i].msg);
		b->in->src[b->u[i].src].image = 0;
		any = 1;
	}
	if (!any)
		return M3_OK;
	for (size_t z = 0; z < b->s->n; z++)
		if (b->in->src[b->s->sl[z].src].image)
			b->s->sl[kept++] = b->s->sl[z];
	b->s->n = kept;
	if (kept == 0)
		return m3_err_set(e, M3_ENOINPUT, "series %zu: no image left", b->s->index);
	m3d_series_layout(b->s, b->in);
	*again = 1;
	return M3_OK;
}

static void
build_release(struct build *b)
{
	free_units(b);
	free(b->data);
	free(b->lo);
	free(b->hi);
	b->data = NULL;
	b->lo = b->hi = NULL;
}

int
m3d_volume_build(struct m3d_series *s, struct m3d_input *in, struct m3_pool *pool,
		 const struct m3d_opts *o, struct m3_vol *v, struct m3_err *e)
{
	struct build b;
	int rc, again;

	do {
		memset(&b, 0, sizeof(b));
		b.s = s;
		b.in = in;
		m3_vol_release(v);
		if ((rc = setup(&b, v, e)) != M3_OK) {
			build_release(&b);
			return rc;
		}
		decode_all(&b, pool, o);
		rc = failures(&b, o, &again, e);
		if (rc != M3_OK || again)
			build_release(&b);
		if (rc != M3_OK)
			return rc;
	} while (again);
	if ((rc = b.inplace ? permute(&b, e) : M3_OK) == M3_OK && b.fused && b.inplace)
		m3_pool_run(pool, finish_slice, &b, s->n);
	if (rc == M3_OK && !b.fused && !b.rgb)
		m3_pool_run(pool, normalise_slice, &b, s->n);
	if (rc == M3_OK && !b.fused) {
		b.out = b.rgb ? (b.kind == K_U8 ? M3_UINT8 : M3_UINT16) : out_type(&b);
		b.osize = m3_type_size(b.out);
		if (!b.rgb)
			rc = rescale(&b, pool, e);
	}
	if (rc == M3_OK)
		rc = metadata(&b, o, v, e);
	if (rc == M3_OK) {
		v->type = b.out;
		v->data = b.data;
		b.data = NULL;
	}
	build_release(&b);
	return rc;
}
