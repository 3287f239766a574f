/* NIfTI-1 output (.nii, or .nii.gz through zlib): the volume's LPS geometry as an RAS sform,
 * and a qform too when the axes are orthogonal (a tilted, sheared stack has only the sform). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "decode.h"

#define HDR 352 /* 348 bytes of header and 4 of extension flags */

static void
put_i16(unsigned char *h, size_t at, int v)
{
	int16_t x = (int16_t)v;
	memcpy(h + at, &x, 2);
}

static void
put_f32(unsigned char *h, size_t at, double v)
{
	float x = (float)v;
	memcpy(h + at, &x, 4);
}

/* NIfTI datatype and bits per voxel of a volume; 0 when NIfTI has none. */
static int
datatype(const struct m3_vol *v, int *bitpix)
{
	static const struct {
		enum m3_type t;
		int code, bits;
	} map[] = {{M3_UINT8, 2, 8},   {M3_INT16, 4, 16},    {M3_INT32, 8, 32},
		   {M3_FLOAT, 16, 32}, {M3_UINT16, 512, 16}, {M3_UINT32, 768, 32}};

	if (v->rgb) {
		*bitpix = 24;
		return v->type == M3_UINT8 ? 128 : 0;
	}
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].t == v->type) {
			*bitpix = map[i].bits;
			return map[i].code;
		}
	return 0;
}

/* Columns of the RAS affine: LPS directions with x and y negated; a 2D image gets the unit
 * normal as its third column. */
static void
affine(const struct m3_vol *v, double m[3][4])
{
	unsigned a = (unsigned)v->rgb, nsp = v->dim - a;
	double c[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}, o[3] = {0, 0, 0};

	if (v->has_space)
		for (unsigned j = 0; j < nsp; j++)
			memcpy(c[j], v->dirs[a + j], sizeof(c[j]));
	if (nsp == 2) {
		double *x = c[0], *y = c[1],
		       n[3] = {x[1] * y[2] - x[2] * y[1], x[2] * y[0] - x[0] * y[2],
			       x[0] * y[1] - x[1] * y[0]};
		double len = sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
		for (int i = 0; i < 3; i++)
			c[2][i] = len > 0 ? n[i] / len : (i == 2);
	}
	if (v->has_origin)
		memcpy(o, v->origin, sizeof(o));
	for (int i = 0; i < 3; i++) {
		double f = i < 2 ? -1 : 1;
		for (int j = 0; j < 3; j++)
			m[i][j] = f * c[j][i];
		m[i][3] = f * o[i];
	}
}

/* qform from the rotation part of m (nifti1_io's mat44_to_quatern for orthogonal axes);
 * 0 when the axes are not orthogonal. */
static int
quatern(double m[3][4], double q[3], double pix[4])
{
	double r[3][3];

	for (int j = 0; j < 3; j++) {
		double len = sqrt(m[0][j] * m[0][j] + m[1][j] * m[1][j] + m[2][j] * m[2][j]);
		if (len == 0)
			return 0;
		pix[j + 1] = len;
		for (int i = 0; i < 3; i++)
			r[i][j] = m[i][j] / len;
	}
	for (int j = 0; j < 3; j++)
		for (int k = j + 1; k < 3; k++)
			if (fabs(r[0][j] * r[0][k] + r[1][j] * r[1][k] + r[2][j] * r[2][k]) > 1e-4)
				return 0;
	double det = r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1]) -
		     r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0]) +
		     r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0]);
	pix[0] = det < 0 ? -1 : 1;
	if (det < 0)
		for (int i = 0; i < 3; i++)
			r[i][2] = -r[i][2];
	double a = r[0][0] + r[1][1] + r[2][2] + 1, b, c, d;
	if (a > 0.5) {
		a = 0.5 * sqrt(a);
		b = 0.25 * (r[2][1] - r[1][2]) / a;
		c = 0.25 * (r[0][2] - r[2][0]) / a;
		d = 0.25 * (r[1][0] - r[0][1]) / a;
	} else {
		double xd = 1 + r[0][0] - (r[1][1] + r[2][2]),
		       yd = 1 + r[1][1] - (r[0][0] + r[2][2]);
		double zd = 1 + r[2][2] - (r[0][0] + r[1][1]);
		if (xd > 1) {
			b = 0.5 * sqrt(xd);
			c = 0.25 * (r[0][1] + r[1][0]) / b;
			d = 0.25 * (r[0][2] + r[2][0]) / b;
			a = 0.25 * (r[2][1] - r[1][2]) / b;
		} else if (yd > 1) {
			c = 0.5 * sqrt(yd);
			b = 0.25 * (r[0][1] + r[1][0]) / c;
			d = 0.25 * (r[1][2] + r[2][1]) / c;
			a = 0.25 * (r[0][2] - r[2][0]) / c;
		} else {
			d = 0.5 * sqrt(zd);
			b = 0.25 * (r[0][2] + r[2][0]) / d;
			c = 0.25 * (r[1][2] + r[2][1]) / d;
			a = 0.25 * (r[1][0] - r[0][1]) / d;
		}
		if (a < 0) {
			b = -b;
			c = -c;
			d = -d;
		}
	}
	q[0] = b;
	q[1] = c;
	q[2] = d;
	return 1;
}

static void
header(const struct m3_vol *v, int code, int bitpix, unsigned char h[HDR])
{
	unsigned a = (unsigned)v->rgb, nsp = v->dim - a;
	double m[3][4], q[3] = {0, 0, 0}, pix[4] = {1, 1, 1, 1};
	int32_t sz = 348;

	memset(h, 0, HDR);
	memcpy(h, &sz, 4);
	h[38] = 'r';
	put_i16(h, 40, (int)nsp);
	for (unsigned i = 0; i < 7; i++)
		put_i16(h, 42 + 2 * i, i < nsp ? (int)v->sizes[a + i] : 1);
	put_i16(h, 70, code);
	put_i16(h, 72, bitpix);
	affine(v, m);
	int qform = quatern(m, q, pix);
	if (!qform)
		for (int j = 0; j < 3; j++)
			pix[j + 1] =
				sqrt(m[0][j] * m[0][j] + m[1][j] * m[1][j] + m[2][j] * m[2][j]);
	for (int i = 0; i < 4; i++)
		put_f32(h, 76 + 4 * i, pix[i]);
	put_f32(h, 108, HDR);
	put_f32(h, 112, 1); /* values are already in real units */
	h[123] = 2; /* mm */
	snprintf((char *)h + 148, 80, "m3-decode");
	put_i16(h, 252, qform ? 1 : 0);
	put_i16(h, 254, v->has_space ? 1 : 0);
	for (int i = 0; i < 3; i++) {
		put_f32(h, 256 + 4 * i, q[i]);
		put_f32(h, 268 + 4 * i, m[i][3]);
		for (int j = 0; j < 4; j++)
			put_f32(h, 280 + 16 * i + 4 * j, m[i][j]);
	}
	memcpy(h + 344, "n+1", 4);
}

static int
werr(const char *name, struct m3_err *e)
{
	return m3_err_set(e, M3_EIO, "%s: %s", name, errno ? strerror(errno) : "write error");
}

static int
gz_write(FILE *f, const char *name, z_stream *zs, const void *buf, size_t n, int finish,
	 struct m3_err *e)
{
	unsigned char out[1 << 16];
	const unsigned char *p = buf;
	int zr;

	do {
		uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
		zs->next_in = (unsigned char *)(uintptr_t)p;
		zs->avail_in = k;
		p += k;
		n -= k;
		do {
			zs->next_out = out;
			zs->avail_out = sizeof(out);
			zr = deflate(zs, finish && n == 0 ? Z_FINISH : Z_NO_FLUSH);
			size_t got = sizeof(out) - zs->avail_out;
			errno = 0;
			/* deflate() has written out[0..got) (cppcheck cannot see it) */
			// cppcheck-suppress uninitvar
			if (zr == Z_STREAM_ERROR || (got > 0 && fwrite(out, 1, got, f) != got))
				return werr(name, e);
		} while (zs->avail_out == 0);
	} while (n > 0);
	return M3_OK;
}

int
m3d_nifti_write(FILE *f, const char *name, const struct m3_vol *v, int gz, struct m3_err *e)
{
	unsigned char h[HDR];
	int bitpix, code = datatype(v, &bitpix), rc;
	size_t n;
	z_stream zs;

	name = name != NULL && strcmp(name, "-") != 0 ? name : "stdout";
	if (code == 0)
		return m3_err_set(e, M3_EDATA, "%s: NIfTI-1 has no type for %s%s", name,
				  v->rgb ? "RGB " : "", m3_type_name(v->type));
	if ((rc = m3_vol_nbytes(v, &n, e)) != M3_OK)
		return rc;
	header(v, code, bitpix, h);
	if (!gz) {
		errno = 0;
		if (fwrite(h, 1, HDR, f) != HDR || fwrite(v->data, 1, n, f) != n)
			return werr(name, e);
		return M3_OK;
	}
	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return m3_err_set(e, M3_ENOMEM, "cannot start zlib");
	rc = gz_write(f, name, &zs, h, HDR, 0, e);
	if (rc == M3_OK)
		rc = gz_write(f, name, &zs, v->data, n, 1, e);
	deflateEnd(&zs);
	return rc;
}
