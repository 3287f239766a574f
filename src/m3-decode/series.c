/* Series: images grouped by Series Instance UID and geometry, sorted along the slice normal. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "m3/cli.h"
#include "m3/json.h"

#define IOP_TOL 1e-4 /* direction cosines that differ by less are the same orientation */
#define DUP_TOL 1e-3 /* mm: slices closer than this along the normal are at one position */
#define TILT_DEG 0.1 /* a stack step further than this off the normal is tilted */
#define MISSING 1.5 /* a gap this many times the usual one means slices are missing */
#define UNEVEN 0.01 /* gaps that differ by more than this fraction are uneven */
#define PI 3.14159265358979323846

static const struct m3_dcm_frame *
frame_of(const struct m3d_input *in, const struct m3d_slice *sl)
{
	return &in->src[sl->src].info.frame[sl->frame];
}

const struct m3_dcm_info *
m3d_series_info(const struct m3d_series *s, const struct m3d_input *in)
{
	return &in->src[s->sl[0].src].info;
}

static double
dot(const double *a, const double *b)
{
	return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static void
cross(const double *a, const double *b, double *out)
{
	out[0] = a[1] * b[2] - a[2] * b[1];
	out[1] = a[2] * b[0] - a[0] * b[2];
	out[2] = a[0] * b[1] - a[1] * b[0];
}

/* Normalised IOP of a frame; 0 when it has none or it is degenerate. */
static int
unit_iop(const struct m3_dcm_frame *f, double iop[6])
{
	for (int v = 0; v < 2; v++) {
		double len = sqrt(dot(f->iop + 3 * v, f->iop + 3 * v));
		if (!(len > 0.5 && len < 1.5))
			return 0;
		for (int i = 0; i < 3; i++)
			iop[3 * v + i] = f->iop[3 * v + i] / len;
	}
	return fabs(dot(iop, iop + 3)) < 0.01 && !isnan(f->ipp[0]) && !isnan(f->ipp[1]) &&
	       !isnan(f->ipp[2]);
}

static int
same_num(double a, double b, double tol)
{
	return (isnan(a) && isnan(b)) || fabs(a - b) <= tol * (fabs(a) > 1 ? fabs(a) : 1);
}

/* Whether frame (info, f) belongs in series s. */
static int
fits(const struct m3d_series *s, const struct m3d_input *in, const struct m3_dcm_info *info,
     int geometry, const double iop[6], const struct m3_dcm_frame *f)
{
	const struct m3_dcm_info *ref = m3d_series_info(s, in);

	if (!s->geometry || !geometry || strcmp(ref->series_uid, info->series_uid) != 0 ||
	    ref->rows != info->rows || ref->cols != info->cols || ref->samples != info->samples ||
	    ref->bits_alloc != info->bits_alloc || ref->pixel_rep != info->pixel_rep ||
	    ref->bits_stored != info->bits_stored || strcmp(ref->photometric, info->photometric))
		return 0;
	for (int i = 0; i < 6; i++)
		if (fabs(s->iop[i] - iop[i]) > IOP_TOL)
			return 0;
	return same_num(s->spacing[0], f->spacing[0], 1e-4) &&
	       same_num(s->spacing[1], f->spacing[1], 1e-4);
}

static int
add_slice(struct m3d_series *s, size_t src, unsigned frame, long inst, struct m3_err *e)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct m3d_slice *p = realloc(s->sl, cap * sizeof(*p));
		if (p == NULL)
			return m3_err_set(e, M3_ENOMEM, "out of memory");
		s->sl = p;
		s->cap = cap;
	}
	s->sl[s->n].src = src;
	s->sl[s->n].frame = frame;
	s->sl[s->n].pos = 0;
	s->sl[s->n].inst = inst;
	s->n++;
	return M3_OK;
}

static struct m3d_series *
new_series(struct m3d_plan *p, struct m3_err *e)
{
	struct m3d_series *v = realloc(p->s, (p->n + 1) * sizeof(*v));

	if (v == NULL) {
		m3_err_set(e, M3_ENOMEM, "out of memory");
		return NULL;
	}
	p->s = v;
	memset(&v[p->n], 0, sizeof(v[p->n]));
	v[p->n].index = p->n + 1;
	return &v[p->n++];
}

/* One source's frames into the plan: into a series they fit, else a new one.  Images
 * without position and orientation (projection radiographs, secondary captures) make a
 * series of their own, one per file. */
static int
place_source(struct m3d_plan *p, struct m3d_input *in, size_t i, struct m3_err *e)
{
	const struct m3_dcm_info *info = &in->src[i].info;
	struct m3d_series *cur = NULL;
	size_t last = p->n;

	for (unsigned k = 0; k < info->frames; k++) {
		const struct m3_dcm_frame *f = &info->frame[k];
		double iop[6];
		int geo = unit_iop(f, iop);
		cur = NULL;
		for (size_t j = geo ? 0 : last; j < p->n && cur == NULL; j++)
			if (fits(&p->s[j], in, info, geo, iop, f) ||
			    (!geo && j >= last && !p->s[j].geometry))
				cur = &p->s[j];
		if (cur == NULL) {
			if ((cur = new_series(p, e)) == NULL)
				return e->code;
			cur->geometry = geo;
			memcpy(cur->iop, geo ? iop : (const double[6]){1, 0, 0, 0, 1, 0},
			       sizeof(iop));
			cur->spacing[0] = f->spacing[0];
			cur->spacing[1] = f->spacing[1];
		}
		if (add_slice(cur, i, k, info->instance_number, e) != M3_OK)
			return e->code;
	}
	return M3_OK;
}

int
m3d_plan_make(struct m3d_plan *p, struct m3d_input *in, struct m3_err *e)
{
	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < in->n; i++)
		if (in->src[i].image && place_source(p, in, i, e) != M3_OK)
			return e->code;
	for (size_t j = 0; j < p->n; j++)
		m3d_series_layout(&p->s[j], in);
	return M3_OK;
}

void
m3d_plan_release(struct m3d_plan *p)
{
	for (size_t j = 0; j < p->n; j++)
		free(p->s[j].sl);
	free(p->s);
	memset(p, 0, sizeof(*p));
}

static int
cmp_slice(const void *pa, const void *pb)
{
	const struct m3d_slice *a = pa, *b = pb;

	if (a->pos != b->pos)
		return a->pos < b->pos ? -1 : 1;
	if (a->inst != b->inst)
		return a->inst < b->inst ? -1 : 1;
	if (a->src != b->src)
		return a->src < b->src ? -1 : 1;
	return a->frame < b->frame ? -1 : a->frame > b->frame;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Warnings about the gaps between slices; the volume keeps the mean spacing either way. */
static void
check_gaps(const struct m3d_series *s)
{
	double *g = malloc((s->n - 1) * sizeof(*g)), med, lo, hi;
	size_t at = 0;

	if (g == NULL)
		return;
	for (size_t i = 0; i + 1 < s->n; i++)
		g[i] = s->sl[i + 1].pos - s->sl[i].pos;
	for (size_t i = 1; i + 1 < s->n; i++)
		if (g[i] > g[at])
			at = i;
	hi = g[at];
	qsort(g, s->n - 1, sizeof(*g), cmp_double);
	med = g[(s->n - 1) / 2];
	lo = g[0];
	free(g);
	if (hi > MISSING * med)
		m3_warn("series %zu: missing slices: a gap of %.4g mm after slice %zu where %.4g "
			"mm "
			"is usual; the volume uses the mean spacing of %.4g mm",
			s->index, hi, at + 1, med, s->gap);
	else if (hi - lo > UNEVEN * med)
		m3_warn("series %zu: uneven slice gaps of %.4g to %.4g mm; the volume uses the "
			"mean spacing of %.4g mm",
			s->index, lo, hi, s->gap);
}

/* Geometry of a series of projection images or images without position: pixel spacing on
 * the LPS axes (or none), origin unknown. */
static void
layout_plain(struct m3d_series *s)
{
	double sx = s->spacing[1], sy = s->spacing[0];

	s->dim = s->n > 1 ? 3 : 2;
	s->has_origin = 0;
	s->has_space = !isnan(sx) && !isnan(sy) && sx > 0 && sy > 0;
	memset(s->dirs, 0, sizeof(s->dirs));
	if (s->has_space) {
		s->dirs[0][0] = sx;
		s->dirs[1][1] = sy;
		s->dirs[2][2] = 1;
	}
	s->gap = s->n > 1 ? 1 : 0;
}

void
m3d_series_layout(struct m3d_series *s, const struct m3d_input *in)
{
	double nrm[3], step[3], len, tilt;
	size_t kept = 1;

	if (!s->geometry || isnan(s->spacing[0]) || isnan(s->spacing[1])) {
		layout_plain(s);
		return;
	}
	cross(s->iop, s->iop + 3, nrm);
	for (size_t i = 0; i < s->n; i++)
		s->sl[i].pos = dot(frame_of(in, &s->sl[i])->ipp, nrm);
	qsort(s->sl, s->n, sizeof(*s->sl), cmp_slice);
	for (size_t i = 1; i < s->n; i++)
		if (s->sl[i].pos - s->sl[kept - 1].pos > DUP_TOL)
			s->sl[kept++] = s->sl[i];
	if (kept < s->n)
		m3_warn("series %zu: %zu images at the same position as another; kept the first by "
			"instance number",
			s->index, s->n - kept);
	s->n = kept;
	s->dim = s->n > 1 ? 3 : 2;
	s->has_space = s->has_origin = 1;
	for (int i = 0; i < 3; i++) {
		s->dirs[0][i] = s->iop[i] * s->spacing[1];
		s->dirs[1][i] = s->iop[3 + i] * s->spacing[0];
		s->origin[i] = frame_of(in, &s->sl[0])->ipp[i];
	}
	if (s->n == 1) {
		s->gap = 0;
		for (int i = 0; i < 3; i++)
			s->dirs[2][i] = nrm[i];
		return;
	}
	for (int i = 0; i < 3; i++)
		step[i] = (frame_of(in, &s->sl[s->n - 1])->ipp[i] - s->origin[i]) /
			  (double)(s->n - 1);
	s->gap = (s->sl[s->n - 1].pos - s->sl[0].pos) / (double)(s->n - 1);
	len = sqrt(dot(step, step));
	tilt = len > 0 ? acos(fmin(1, fabs(dot(step, nrm)) / len)) * 180 / PI : 0;
	if (tilt > TILT_DEG) {
		/* the grid stays sheared, as the scanner made it, instead of being resampled */
		m3_warn("series %zu: gantry tilt of %.2f degrees: slices kept in place on a "
			"sheared "
			"grid (not resampled)",
			s->index, tilt);
		memcpy(s->dirs[2], step, sizeof(step));
	} else {
		for (int i = 0; i < 3; i++)
			s->dirs[2][i] = nrm[i] * s->gap;
	}
	if (s->n > 2)
		check_gaps(s);
}

static void
json_key(FILE *f, const char *k, const char *v)
{
	fprintf(f, ",\"%s\":", k);
	m3_json_str(f, v);
}

static void
json_nums(FILE *f, const char *k, const double *v, unsigned n)
{
	fprintf(f, ",\"%s\":[", k);
	for (unsigned i = 0; i < n; i++) {
		if (i > 0)
			fputc(',', f);
		m3_json_num(f, v[i]);
	}
	fputc(']', f);
}

int
m3d_plan_list(FILE *f, const struct m3d_plan *p, const struct m3d_input *in,
	      const struct m3d_opts *o, struct m3_err *e)
{
	for (size_t j = 0; j < p->n; j++) {
		const struct m3d_series *s = &p->s[j];
		const struct m3_dcm_info *info = m3d_series_info(s, in);
		char series[M3D_UID_MAX], study[M3D_UID_MAX];
		double size[3] = {info->cols, info->rows, (double)s->n};
		double sp[3] = {s->spacing[1], s->spacing[0], s->gap};

		if (o->keep_phi) {
			snprintf(series, sizeof(series), "%s", info->series_uid);
			snprintf(study, sizeof(study), "%s", info->study_uid);
		} else {
			m3d_pseudo_uid(info->series_uid, series);
			m3d_pseudo_uid(info->study_uid, study);
		}
		fprintf(f, "{\"index\":%zu", s->index);
		json_key(f, "series", series);
		json_key(f, "study", study);
		json_key(f, "modality", info->modality);
		if (info->series_number != LONG_MIN)
			fprintf(f, ",\"number\":%ld", info->series_number);
		fprintf(f, ",\"images\":%zu", s->n);
		json_nums(f, "sizes", size, s->dim);
		if (s->has_space)
			json_nums(f, "spacing", sp, s->dim);
		json_key(f, "photometric", info->photometric);
		json_key(f, "transfer_syntax", info->transfer_syntax);
		if (o->keep_phi)
			json_key(f, "description", info->series_desc);
		fputs("}\n", f);
	}
	if (fflush(f) != 0 || ferror(f))
		return m3_err_set(e, M3_EIO, "stdout: write error");
	return M3_OK;
}
