/* m3-phantom cbct: a dental CBCT series (CT, one file per slice, or one Enhanced CT
 * multi-frame file) and its label volume. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jaw.h"
#include "m3/pool.h"
#include "m3/vol.h"
#include "phantom.h"
#include "rng.h"

#define NOMINAL_XY 100.0 /* the jaw is drawn for this field of view, then scaled to fit */
#define NOMINAL_Z 75.0
#define INTERCEPT (-1024)
#define MAXSTORED 4095 /* 12 bits stored */
#define MAX_PIXEL_BYTES 0xfffffffeUL /* one Pixel Data element */

struct series {
	const struct ph_opts *o;
	struct ph_jaw jaw;
	size_t nx, ny, nz;
	double sp; /* pixel spacing and slice spacing (mm), as DS text reads */
	double origin[3]; /* IPP of slice 0 */
	double scale[3]; /* actual mm per nominal mm */
	struct ph_col *cols; /* nx * ny */
	uint8_t *labels; /* the truth: nx * ny * nz */
	uint16_t *vol; /* --multiframe: the stored values of every slice, nx * ny * nz */
	void **dcm; /* one file per slice; with --multiframe, dcm[0] is the one file */
	size_t *dcmlen;
	int *rc;
	struct m3_err *err;
	char study_uid[PH_UID_MAX], series_uid[PH_UID_MAX], frame_uid[PH_UID_MAX];
	struct ph_when when;
	struct ph_steps steps;
};

static double
slice_z(const struct series *s, size_t k)
{
	return ph_ds_round(s->origin[2] + (double)k * s->sp);
}

static void
column_job(void *ctx, size_t j, unsigned worker)
{
	struct series *s = ctx;

	(void)worker;
	for (size_t i = 0; i < s->nx; i++)
		ph_jaw_column(&s->jaw, (s->origin[0] + (double)i * s->sp) / s->scale[0],
			      (s->origin[1] + (double)j * s->sp) / s->scale[1],
			      &s->cols[j * s->nx + i]);
}

/* What the classic and the enhanced objects share: patient, study, series, equipment, frame
 * of reference, SOP common, in the same words. */
static void
common_dataset(struct ph_ds *d, const struct series *s)
{
	const struct ph_when *w = &s->when;

	ph_ds_add(d, 0x00080012UL, "DA", "%s", w->date);
	ph_ds_add(d, 0x00080013UL, "TM", "%s", w->time);
	ph_ds_add(d, 0x00080020UL, "DA", "%s", w->date);
	ph_ds_add(d, 0x00080021UL, "DA", "%s", w->date);
	ph_ds_add(d, 0x00080023UL, "DA", "%s", w->date);
	ph_ds_add(d, 0x00080030UL, "TM", "%s", w->time);
	ph_ds_add(d, 0x00080031UL, "TM", "%s", w->time);
	ph_ds_add(d, 0x00080033UL, "TM", "%s", w->time);
	ph_ds_add(d, 0x00080050UL, "SH", "M3PH%llu", (unsigned long long)s->o->seed);
	ph_ds_add(d, 0x00080060UL, "CS", "CT");
	ph_ds_add(d, 0x00080070UL, "LO", "m3");
	ph_ds_empty(d, 0x00080090UL, "PN");
	ph_ds_add(d, 0x00081030UL, "LO", "m3-phantom dental CBCT");
	ph_ds_add(d, 0x0008103EUL, "LO", "m3-phantom jaw");
	ph_ds_add(d, 0x00081090UL, "LO", "m3-phantom");
	ph_ds_add(d, 0x00100010UL, "PN", "PHANTOM^CBCT");
	ph_ds_add(d, 0x00100020UL, "LO", "M3-PHANTOM-%llu", (unsigned long long)s->o->seed);
	ph_ds_empty(d, 0x00100030UL, "DA");
	ph_ds_add(d, 0x00100040UL, "CS", "O");
	ph_ds_add(d, 0x00180015UL, "CS", "JAW");
	ph_ds_add(d, 0x00181020UL, "LO", "%s", M3_VERSION);
	ph_ds_add(d, 0x00185100UL, "CS", "HFS");
	ph_ds_add(d, 0x0020000DUL, "UI", "%s", s->study_uid);
	ph_ds_add(d, 0x0020000EUL, "UI", "%s", s->series_uid);
	ph_ds_add(d, 0x00200010UL, "SH", "1");
	ph_ds_add(d, 0x00200011UL, "IS", "1");
	ph_ds_add(d, 0x00200052UL, "UI", "%s", s->frame_uid);
	ph_ds_empty(d, 0x00201040UL, "LO");
}

static void
ct_dataset(struct ph_ds *d, const struct series *s, size_t k)
{
	const struct ph_when *w = &s->when;
	char uid[PH_UID_MAX], sp[17], x[17], y[17], z[17];

	ph_uid(uid, s->o->seed, "cbct-image", k);
	ph_ds_num(sp, s->sp);
	ph_ds_num(x, s->origin[0]);
	ph_ds_num(y, s->origin[1]);
	ph_ds_num(z, slice_z(s, k));
	common_dataset(d, s);
	ph_ds_add(d, 0x00080008UL, "CS", "ORIGINAL\\PRIMARY\\AXIAL");
	ph_ds_add(d, 0x00080016UL, "UI", "1.2.840.10008.5.1.4.1.1.2");
	ph_ds_add(d, 0x00080018UL, "UI", "%s", uid);
	ph_ds_add(d, 0x00080022UL, "DA", "%s", w->date);
	ph_ds_add(d, 0x00080032UL, "TM", "%s", w->time);
	ph_ds_add(d, 0x00180050UL, "DS", "%s", sp);
	ph_ds_add(d, 0x00180060UL, "DS", "90");
	ph_ds_add(d, 0x00180088UL, "DS", "%s", sp);
	ph_ds_add(d, 0x00200012UL, "IS", "1");
	ph_ds_add(d, 0x00200013UL, "IS", "%zu", k + 1);
	ph_ds_add(d, 0x00200032UL, "DS", "%s\\%s\\%s", x, y, z);
	ph_ds_add(d, 0x00200037UL, "DS", "1\\0\\0\\0\\1\\0");
	ph_ds_add(d, 0x00201041UL, "DS", "%s", z);
	ph_ds_add(d, 0x00280030UL, "DS", "%s\\%s", sp, sp);
	ph_ds_add(d, 0x00281050UL, "DS", "500");
	ph_ds_add(d, 0x00281051UL, "DS", "3000");
	ph_ds_add(d, 0x00281052UL, "DS", "%d", INTERCEPT);
	ph_ds_add(d, 0x00281053UL, "DS", "1");
	ph_ds_add(d, 0x00281054UL, "LO", "HU");
}

static int
encode_slice(struct series *s, size_t k, const uint16_t *px, struct m3_err *e)
{
	struct m3_dcm_pixels p = {
		(unsigned)s->nx, (unsigned)s->ny, 1, 16, 12, 0, "MONOCHROME2", px};
	struct ph_ds d;
	int rc;

	ph_ds_init(&d);
	ct_dataset(&d, s, k);
	if ((rc = ph_ds_check(&d, e)) == M3_OK)
		rc = m3_dcm_write_mem(d.el, d.n, &p, s->o->syntax, &s->dcm[k], &s->dcmlen[k], e);
	ph_ds_release(&d);
	return rc;
}

/* A sequence of one item: item1() opens both, end1() closes both. */
static void
item1(struct ph_ds *d, unsigned long tag)
{
	ph_ds_add(d, tag, "SQ", "%s", "");
	ph_ds_mark(d, M3_DCM_ITEM);
}

static void
end1(struct ph_ds *d)
{
	ph_ds_mark(d, M3_DCM_ITEM_END);
	ph_ds_mark(d, M3_DCM_SEQ_END);
}

/*
 * The functional groups every frame shares (PS3.3 A.38.1.4): geometry, HU, window, frame
 * type, anatomy, and the CT acquisition macros an ORIGINAL frame needs, with the values of
 * a typical dental CBCT (90 kV, 8 mA, one 14 s rotation, the cone as wide as the volume).
 */
static void
shared_groups(struct ph_ds *d, const struct series *s)
{
	char sp[17], fov[17], zlen[17], uid[PH_UID_MAX];

	ph_ds_num(sp, s->sp);
	ph_ds_num(fov, (double)(s->nx > s->ny ? s->nx : s->ny) * s->sp);
	ph_ds_num(zlen, (double)s->nz * s->sp);
	ph_uid(uid, s->o->seed, "cbct-irradiation", 0);
	item1(d, 0x52009229UL);
	item1(d, 0x00289110UL); /* Pixel Measures */
	ph_ds_add(d, 0x00280030UL, "DS", "%s\\%s", sp, sp);
	ph_ds_add(d, 0x00180050UL, "DS", "%s", sp);
	ph_ds_add(d, 0x00180088UL, "DS", "%s", sp);
	end1(d);
	item1(d, 0x00209116UL); /* Plane Orientation (Patient) */
	ph_ds_add(d, 0x00200037UL, "DS", "1\\0\\0\\0\\1\\0");
	end1(d);
	item1(d, 0x00289145UL); /* Pixel Value Transformation */
	ph_ds_add(d, 0x00281052UL, "DS", "%d", INTERCEPT);
	ph_ds_add(d, 0x00281053UL, "DS", "1");
	ph_ds_add(d, 0x00281054UL, "LO", "HU");
	end1(d);
	item1(d, 0x00289132UL); /* Frame VOI LUT */
	ph_ds_add(d, 0x00281050UL, "DS", "500");
	ph_ds_add(d, 0x00281051UL, "DS", "3000");
	end1(d);
	item1(d, 0x00189329UL); /* CT Image Frame Type */
	ph_ds_add(d, 0x00089007UL, "CS", "ORIGINAL\\PRIMARY\\VOLUME\\NONE");
	ph_ds_add(d, 0x00089205UL, "CS", "MONOCHROME");
	ph_ds_add(d, 0x00089206UL, "CS", "VOLUME");
	ph_ds_add(d, 0x00089207UL, "CS", "NONE");
	end1(d);
	item1(d, 0x00209071UL); /* Frame Anatomy */
	ph_ds_code(d, 0x00082218UL, "661005", "SCT", "Jaw region");
	ph_ds_add(d, 0x00209072UL, "CS", "U");
	end1(d);
	item1(d, 0x00189477UL); /* Irradiation Event Identification */
	ph_ds_add(d, 0x00083010UL, "UI", "%s", uid);
	end1(d);
	item1(d, 0x00189301UL); /* CT Acquisition Type */
	ph_ds_add(d, 0x00189302UL, "CS", "SEQUENCED");
	ph_ds_add(d, 0x00189333UL, "CS", "NO");
	ph_ds_add(d, 0x00189334UL, "CS", "NO");
	end1(d);
	item1(d, 0x00189304UL); /* CT Acquisition Details */
	ph_ds_add(d, 0x00180090UL, "DS", "%s", fov);
	ph_ds_add(d, 0x00181120UL, "DS", "0");
	ph_ds_add(d, 0x00181130UL, "DS", "0");
	ph_ds_add(d, 0x00181140UL, "CS", "CW");
	ph_ds_add(d, 0x00189305UL, "FD", "14");
	ph_ds_add(d, 0x00189306UL, "FD", "%s", zlen);
	ph_ds_add(d, 0x00189307UL, "FD", "%s", zlen);
	end1(d);
	item1(d, 0x00189308UL); /* CT Table Dynamics: empty, the table stands still */
	end1(d);
	item1(d, 0x00189326UL); /* CT Position */
	ph_ds_add(d, 0x00189313UL, "FD", "0\\0\\0");
	ph_ds_add(d, 0x00189318UL, "FD", "0\\0\\0");
	ph_ds_add(d, 0x00189327UL, "FD", "0");
	end1(d);
	item1(d, 0x00189312UL); /* CT Geometry */
	ph_ds_add(d, 0x00181110UL, "DS", "600");
	ph_ds_add(d, 0x00189335UL, "FD", "400");
	end1(d);
	item1(d, 0x00189314UL); /* CT Reconstruction */
	ph_ds_add(d, 0x00181210UL, "SH", "STANDARD");
	ph_ds_add(d, 0x00189315UL, "CS", "FILTER_BACK_PROJ");
	ph_ds_add(d, 0x00189316UL, "CS", "BONE");
	ph_ds_add(d, 0x00189317UL, "FD", "%s\\%s", fov, fov);
	ph_ds_add(d, 0x00189319UL, "FD", "360");
	ph_ds_add(d, 0x00189320UL, "SH", "NONE");
	ph_ds_add(d, 0x00189322UL, "FD", "%s\\%s", sp, sp);
	end1(d);
	item1(d, 0x00189321UL); /* CT Exposure */
	ph_ds_add(d, 0x00189323UL, "CS", "NONE");
	ph_ds_add(d, 0x00189328UL, "FD", "14000");
	ph_ds_add(d, 0x00189330UL, "FD", "8");
	ph_ds_add(d, 0x00189332UL, "FD", "112");
	end1(d);
	item1(d, 0x00189325UL); /* CT X-Ray Details */
	ph_ds_add(d, 0x00180060UL, "DS", "90");
	ph_ds_add(d, 0x00181160UL, "SH", "FLAT");
	ph_ds_add(d, 0x00181190UL, "DS", "0.5");
	ph_ds_add(d, 0x00187050UL, "CS", "ALUMINUM");
	end1(d);
	end1(d);
}

/* Frame k's groups: where it is, and its place in the one stack. */
static void
frame_groups(struct ph_ds *d, const struct series *s, size_t k, const char *dt)
{
	char x[17], y[17], z[17];

	ph_ds_num(x, s->origin[0]);
	ph_ds_num(y, s->origin[1]);
	ph_ds_num(z, slice_z(s, k));
	ph_ds_mark(d, M3_DCM_ITEM);
	item1(d, 0x00209111UL); /* Frame Content */
	ph_ds_add(d, 0x00189074UL, "DT", "%s", dt);
	ph_ds_add(d, 0x00189151UL, "DT", "%s", dt);
	ph_ds_add(d, 0x00189220UL, "FD", "14000");
	ph_ds_add(d, 0x00209056UL, "SH", "1");
	ph_ds_add(d, 0x00209057UL, "UL", "%zu", k + 1);
	ph_ds_add(d, 0x00209157UL, "UL", "1\\%zu", k + 1);
	end1(d);
	item1(d, 0x00209113UL); /* Plane Position (Patient) */
	ph_ds_add(d, 0x00200032UL, "DS", "%s\\%s\\%s", x, y, z);
	end1(d);
	ph_ds_mark(d, M3_DCM_ITEM_END);
}

/* The Enhanced CT Image (PS3.3 A.38): every slice a frame of one object, frame k at slice_z(k). */
static void
enhanced_dataset(struct ph_ds *d, const struct series *s)
{
	const struct ph_when *w = &s->when;
	char uid[PH_UID_MAX], dim[PH_UID_MAX], dt[15];

	ph_uid(uid, s->o->seed, "cbct-enhanced", 0);
	ph_uid(dim, s->o->seed, "cbct-dimensions", 0);
	snprintf(dt, sizeof(dt), "%s%s", w->date, w->time);
	common_dataset(d, s);
	ph_ds_add(d, 0x00080008UL, "CS", "ORIGINAL\\PRIMARY\\VOLUME\\NONE");
	ph_ds_add(d, 0x00080016UL, "UI", "1.2.840.10008.5.1.4.1.1.2.1");
	ph_ds_add(d, 0x00080018UL, "UI", "%s", uid);
	ph_ds_add(d, 0x0008002AUL, "DT", "%s", dt);
	ph_ds_add(d, 0x00089205UL, "CS", "MONOCHROME");
	ph_ds_add(d, 0x00089206UL, "CS", "VOLUME");
	ph_ds_add(d, 0x00089207UL, "CS", "NONE");
	ph_ds_add(d, 0x00181000UL, "LO", "M3-PHANTOM");
	ph_ds_add(d, 0x00189073UL, "FD", "14");
	ph_ds_add(d, 0x00189004UL, "CS", "RESEARCH");
	ph_ds_add(d, 0x00200012UL, "IS", "1");
	ph_ds_add(d, 0x00200013UL, "IS", "1");
	item1(d, 0x00209221UL); /* Dimension Organization */
	ph_ds_add(d, 0x00209164UL, "UI", "%s", dim);
	end1(d);
	ph_ds_add(d, 0x00209222UL, "SQ", "%s", ""); /* Dimension Index: stack, then position */
	ph_ds_mark(d, M3_DCM_ITEM);
	ph_ds_add(d, 0x00209164UL, "UI", "%s", dim);
	ph_ds_add(d, 0x00209165UL, "AT", "00209056");
	ph_ds_add(d, 0x00209167UL, "AT", "00209111");
	ph_ds_add(d, 0x00209421UL, "LO", "Stack ID");
	ph_ds_mark(d, M3_DCM_ITEM_END);
	ph_ds_mark(d, M3_DCM_ITEM);
	ph_ds_add(d, 0x00209164UL, "UI", "%s", dim);
	ph_ds_add(d, 0x00209165UL, "AT", "00209057");
	ph_ds_add(d, 0x00209167UL, "AT", "00209111");
	ph_ds_add(d, 0x00209421UL, "LO", "In-Stack Position Number");
	ph_ds_mark(d, M3_DCM_ITEM_END);
	ph_ds_mark(d, M3_DCM_SEQ_END);
	ph_ds_add(d, 0x00209311UL, "CS", "3D");
	ph_ds_add(d, 0x00280301UL, "CS", "NO");
	ph_ds_add(d, 0x00282110UL, "CS", "00");
	ph_ds_empty(d, 0x00400555UL, "SQ");
	ph_ds_add(d, 0x20500020UL, "CS", "IDENTITY");
	shared_groups(d, s);
	ph_ds_add(d, 0x52009230UL, "SQ", "%s", "");
	for (size_t k = 0; k < s->nz; k++)
		frame_groups(d, s, k, dt);
	ph_ds_mark(d, M3_DCM_SEQ_END);
}

static int
encode_enhanced(struct series *s, struct m3_err *e)
{
	struct m3_dcm_pixels p = {.columns = (unsigned)s->nx,
				  .rows = (unsigned)s->ny,
				  .frames = (unsigned)s->nz,
				  .bits_allocated = 16,
				  .bits_stored = 12,
				  .photometric = "MONOCHROME2",
				  .data = s->vol};
	struct ph_ds d;
	int rc;

	ph_ds_init(&d);
	enhanced_dataset(&d, s);
	if ((rc = ph_ds_check(&d, e)) == M3_OK)
		rc = m3_dcm_write_mem(d.el, d.n, &p, s->o->syntax, &s->dcm[0], &s->dcmlen[0], e);
	ph_ds_release(&d);
	return rc;
}

/* One slice: labels into the truth, HU with noise and artefacts into stored values. */
static void
slice_job(void *ctx, size_t k, unsigned worker)
{
	struct series *s = ctx;
	size_t n = s->nx * s->ny;
	double z = slice_z(s, k) / s->scale[2];
	uint16_t *px = s->vol != NULL ? s->vol + k * n : malloc(n * sizeof(uint16_t));
	struct ph_rng r;

	(void)worker;
	m3_err_init(&s->err[k]);
	if (px == NULL) {
		s->rc[k] = m3_err_set(&s->err[k], M3_ENOMEM, "out of memory");
		return;
	}
	ph_rng_init(&r, s->o->seed, PH_RNG_NOISE, k);
	for (size_t i = 0; i < n; i++) {
		double hu;
		s->labels[k * n + i] = (uint8_t)ph_jaw_eval(&s->jaw, &s->cols[i], z, &hu);
		hu += ph_jaw_artefact(&s->jaw, &s->cols[i], z);
		if (s->o->noise > 0)
			hu += s->o->noise * 35 * ph_rng_normal(&r);
		hu = round(hu) - INTERCEPT;
		px[i] = (uint16_t)(hu < 0 ? 0 : hu > MAXSTORED ? MAXSTORED : hu);
	}
	if (s->vol == NULL) {
		s->rc[k] = encode_slice(s, k, px, &s->err[k]);
		free(px);
	}
	ph_steps_tick(&s->steps);
}

static int
geometry(struct series *s, const struct ph_opts *o, struct m3_err *e)
{
	s->nx = o->size[0] ? o->size[0] : 400;
	s->ny = o->size[1] ? o->size[1] : 400;
	s->nz = o->size[2] ? o->size[2] : 300;
	s->sp = ph_ds_round(o->spacing > 0 ? o->spacing : NOMINAL_XY / (double)s->nx);
	s->origin[0] = ph_ds_round(-(double)(s->nx - 1) * s->sp / 2);
	s->origin[1] = ph_ds_round(-(double)(s->ny - 1) * s->sp / 2);
	s->origin[2] = ph_ds_round(-(double)(s->nz - 1) * s->sp / 2);
	s->scale[0] = s->scale[1] = fmin((double)s->nx, (double)s->ny) * s->sp / NOMINAL_XY;
	s->scale[2] = (double)s->nz * s->sp / NOMINAL_Z;
	if (s->nx * s->ny > SIZE_MAX / s->nz / 4)
		return m3_err_set(e, M3_EUSAGE, "--size: too large");
	if (o->multiframe && s->nx * s->ny * s->nz * 2 > MAX_PIXEL_BYTES)
		return m3_err_set(e, M3_EUSAGE,
				  "--multiframe: %zux%zux%zu is over the 4 GiB of one Pixel Data",
				  s->nx, s->ny, s->nz);
	return M3_OK;
}

static int
setup(struct series *s, const struct ph_opts *o, struct m3_err *e)
{
	size_t n;

	memset(s, 0, sizeof(*s));
	s->o = o;
	if (geometry(s, o, e) != M3_OK)
		return e->code;
	n = s->nx * s->ny;
	ph_when(&s->when, o->seed);
	ph_uid(s->study_uid, o->seed, "cbct-study", 0);
	ph_uid(s->series_uid, o->seed, o->multiframe ? "cbct-enhanced-series" : "cbct-series", 0);
	ph_uid(s->frame_uid, o->seed, "cbct-frame", 0);
	ph_jaw_init(&s->jaw, o->seed, o->artefacts);
	s->cols = malloc(n * sizeof(*s->cols));
	s->labels = malloc(n * s->nz);
	s->dcm = calloc(s->nz, sizeof(*s->dcm));
	s->dcmlen = calloc(s->nz, sizeof(*s->dcmlen));
	s->rc = calloc(s->nz, sizeof(*s->rc));
	s->err = calloc(s->nz, sizeof(*s->err));
	if (o->multiframe && (s->vol = malloc(n * s->nz * sizeof(*s->vol))) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	if (s->cols == NULL || s->labels == NULL || s->dcm == NULL || s->dcmlen == NULL ||
	    s->rc == NULL || s->err == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	return M3_OK;
}

static void
release(struct series *s)
{
	for (size_t k = 0; s->dcm != NULL && k < s->nz; k++)
		free(s->dcm[k]);
	free(s->dcm);
	free(s->dcmlen);
	free(s->rc);
	free(s->err);
	free(s->cols);
	free(s->labels);
	free(s->vol);
}

/* truth.nrrd: the labels with the geometry m3-decode gives the series. */
static int
truth(const struct series *s, char **buf, size_t *len, struct m3_err *e)
{
	FILE *f = open_memstream(buf, len);
	struct m3_vol_writer *w = NULL;
	struct m3_vol v;
	int rc;

	if (f == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	m3_vol_init(&v);
	v.type = M3_UINT8;
	v.dim = 3;
	v.sizes[0] = s->nx;
	v.sizes[1] = s->ny;
	v.sizes[2] = s->nz;
	v.has_space = v.has_origin = 1;
	for (int i = 0; i < 3; i++) {
		v.dirs[i][i] = s->sp;
		v.origin[i] = s->origin[i];
	}
	v.data = s->labels;
	if ((rc = m3_vol_set(&v, "m3-modality", "SEG", e)) == M3_OK &&
	    (rc = m3_vol_set(&v, "m3-series", s->series_uid, e)) == M3_OK &&
	    (rc = m3_vol_set(&v, "m3-labels", "1 bone;2 teeth;3 soft-tissue", e)) == M3_OK) {
		if ((w = m3_vol_writer_new(f, "truth.nrrd", 1)) == NULL)
			rc = m3_err_set(e, M3_ENOMEM, "out of memory");
		else
			rc = m3_vol_write(w, &v, e);
	}
	m3_vol_writer_free(w);
	v.data = NULL; /* not the volume's to free */
	m3_vol_release(&v);
	if (fclose(f) != 0 && rc == M3_OK)
		rc = m3_err_set(e, M3_ENOMEM, "out of memory");
	return rc;
}

static int
run(struct series *s, const struct ph_opts *o, struct m3_err *e)
{
	struct m3_pool *pool = m3_pool_new(o->jobs, e);

	if (pool == NULL)
		return e->code;
	m3_pool_run(pool, column_job, s, s->ny);
	ph_steps_init(&s->steps, o->progress, "cbct: slices done", s->nz);
	m3_pool_run(pool, slice_job, s, s->nz);
	ph_steps_release(&s->steps);
	m3_pool_free(pool);
	for (size_t k = 0; k < s->nz; k++)
		if (s->rc[k] != M3_OK) {
			*e = s->err[k];
			return e->code;
		}
	if (s->vol != NULL) {
		int rc = encode_enhanced(s, e);
		free(s->vol); /* encoded: the file holds the pixels now */
		s->vol = NULL;
		return rc;
	}
	return M3_OK;
}

int
ph_cbct(const struct ph_opts *o, struct ph_sink *sink, struct m3_err *e)
{
	struct series s;
	char *tb = NULL, name[32];
	size_t tlen = 0;
	int rc = setup(&s, o, e);

	if (rc == M3_OK)
		rc = run(&s, o, e);
	for (size_t k = 0; k < (o->multiframe ? 1 : s.nz) && rc == M3_OK; k++) {
		if (o->multiframe)
			snprintf(name, sizeof(name), "CT.dcm");
		else
			snprintf(name, sizeof(name), "CT%04zu.dcm", k + 1);
		rc = ph_sink_put(sink, name, s.dcm[k], s.dcmlen[k], e);
		free(s.dcm[k]);
		s.dcm[k] = NULL;
	}
	if (rc == M3_OK && (rc = truth(&s, &tb, &tlen, e)) == M3_OK)
		rc = ph_sink_put(sink, "truth.nrrd", tb, tlen, e);
	if (rc == M3_OK && o->verbose)
		m3_warn("cbct: %zux%zux%zu at %g mm, %d metal fillings", s.nx, s.ny, s.nz, s.sp,
			s.jaw.nfill);
	free(tb);
	release(&s);
	return rc;
}
