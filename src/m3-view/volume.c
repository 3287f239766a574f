/* m3-view: one 3D volume, box-averaged down to a size a page can carry and quantized to 16 bits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "m3/vol.h"
#include "view.h"

static double
voxel(const struct m3_vol *v, size_t i)
{
	switch (v->type) {
	case M3_UINT8:
		return ((const uint8_t *)v->data)[i];
	case M3_INT16:
		return ((const int16_t *)v->data)[i];
	case M3_UINT16:
		return ((const uint16_t *)v->data)[i];
	case M3_INT32:
		return ((const int32_t *)v->data)[i];
	case M3_UINT32:
		return ((const uint32_t *)v->data)[i];
	case M3_FLOAT:
		return ((const float *)v->data)[i];
	default:
		return 0;
	}
}

static void
copy_text(char *dst, size_t len, const char *src)
{
	size_t o = 0;

	for (; src != NULL && *src != '\0' && o + 1 < len; src++)
		if (*src >= 0x20 && *src < 0x7f)
			dst[o++] = *src;
	dst[o] = '\0';
}

/* Box average of v into out (m[0] * m[1] * m[2] values), f[i] input voxels an output voxel. */
static int
shrink(const struct m3_vol *v, const size_t f[3], const size_t m[3], double *out, struct m3_err *e)
{
	size_t n = m[0] * m[1] * m[2], i = 0;
	uint32_t *cnt = calloc(n, sizeof(*cnt));

	if (cnt == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	for (size_t z = 0; z < v->sizes[2]; z++)
		for (size_t y = 0; y < v->sizes[1]; y++)
			for (size_t x = 0; x < v->sizes[0]; x++, i++) {
				size_t o = ((z / f[2]) * m[1] + y / f[1]) * m[0] + x / f[0];
				double d = voxel(v, i);

				if (isfinite(d)) {
					out[o] += d;
					cnt[o]++;
				}
			}
	for (i = 0; i < n; i++)
		out[i] = cnt[i] > 0 ? out[i] / cnt[i] : NAN;
	free(cnt);
	return M3_OK;
}

/* Quantizes out to v->q and sets the default window from the 0.5th and 99.5th percentiles. */
static int
quantize(const double *d, size_t n, struct view_volume *v, struct m3_err *e)
{
	double lo = INFINITY, hi = -INFINITY;
	size_t *hist, acc = 0, want_lo, want_hi;
	size_t qlo = 0, qhi = 65535;

	for (size_t i = 0; i < n; i++)
		if (isfinite(d[i])) {
			lo = d[i] < lo ? d[i] : lo;
			hi = d[i] > hi ? d[i] : hi;
		}
	if (!isfinite(lo))
		lo = hi = 0;
	v->lo = lo;
	v->scale = hi > lo ? (hi - lo) / 65535.0 : 1;
	if ((v->q = malloc(n * sizeof(*v->q))) == NULL ||
	    (hist = calloc(65536, sizeof(*hist))) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		double q = isfinite(d[i]) ? floor((d[i] - lo) / v->scale + 0.5) : 0;

		v->q[i] = (uint16_t)(q < 0 ? 0 : q > 65535 ? 65535 : q);
		hist[v->q[i]]++;
	}
	want_lo = n / 200;
	want_hi = n - n / 200;
	for (size_t k = 0, lo_set = 0; k < 65536; k++) {
		acc += hist[k];
		if (!lo_set && acc > want_lo)
			qlo = k, lo_set = 1;
		if (acc >= want_hi) {
			qhi = k;
			break;
		}
	}
	free(hist);
	if (qhi <= qlo)
		qlo = 0, qhi = 65535;
	v->win_lo = lo + (double)qlo * v->scale;
	v->win_hi = lo + (double)qhi * v->scale;
	return M3_OK;
}

static int
take(const struct m3_vol *mv, const char *name, size_t max_n, struct view_volume *v,
     struct m3_err *e)
{
	size_t f[3], nout;
	double *d;
	int rc;

	if (mv->rgb)
		return m3_err_set(e, M3_EDATA, "%s: RGB volumes are not shown", name);
	if (mv->dim != 3 || mv->sizes[2] < 2)
		return m3_err_set(e, M3_EDATA,
				  "%s: a 2D image: give m3-view the PNG (m3-mammo -o) instead",
				  name);
	for (int i = 0; i < 3; i++) {
		double s = 1;

		f[i] = (mv->sizes[i] + max_n - 1) / max_n;
		v->n[i] = (mv->sizes[i] + f[i] - 1) / f[i];
		if (mv->has_space)
			s = sqrt(mv->dirs[i][0] * mv->dirs[i][0] + mv->dirs[i][1] * mv->dirs[i][1] +
				 mv->dirs[i][2] * mv->dirs[i][2]);
		v->sp[i] = (s > 0 && isfinite(s) ? s : 1) * (double)f[i];
	}
	nout = v->n[0] * v->n[1] * v->n[2];
	if ((d = calloc(nout, sizeof(*d))) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	rc = shrink(mv, f, v->n, d, e);
	if (rc == M3_OK)
		rc = quantize(d, nout, v, e);
	free(d);
	copy_text(v->units, sizeof(v->units), m3_vol_get(mv, "m3-units"));
	copy_text(v->modality, sizeof(v->modality), m3_vol_get(mv, "m3-modality"));
	return rc;
}

int
view_volume_load(const struct vbuf *in, const char *name, size_t max_n, struct view_volume *v,
		 struct m3_err *e)
{
	FILE *fp = fmemopen(in->p, in->n, "rb");
	struct m3_vol_reader *r = NULL;
	struct m3_vol mv;
	int rc;

	m3_vol_init(&mv);
	if (fp == NULL || (r = m3_vol_reader_new(fp, name)) == NULL) {
		rc = m3_err_set(e, M3_ENOMEM, "out of memory");
		goto out;
	}
	v->name = view_basename(name);
	if ((rc = m3_vol_read(r, &mv, e)) != M3_OK)
		goto out;
	if ((rc = take(&mv, name, max_n, v, e)) != M3_OK)
		goto out;
	m3_vol_release(&mv);
	m3_vol_init(&mv);
	rc = m3_vol_read_header(r, &mv, e);
	if (rc == M3_OK)
		rc = m3_err_set(e, M3_EDATA, "%s: volume 2: m3-view shows one volume", name);
	else if (rc == M3_EOF)
		rc = M3_OK;
out:
	m3_vol_release(&mv);
	m3_vol_reader_free(r);
	if (fp != NULL)
		fclose(fp);
	return rc;
}

void
view_volume_release(struct view_volume *v)
{
	free(v->q);
	memset(v, 0, sizeof(*v));
}
