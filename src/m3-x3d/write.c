/* Writers: X3D XML (plain or gzip), binary STL and binary little-endian PLY. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "mesh.h"

#define SINK_CHUNK (1 << 20)
#define SINK_ROOM 256 /* a put never writes more than this without asking for room again */
#define SINK_MAXQ 16
#define DICT (1 << 15)

/*
 * A buffered byte sink to a file.  For gzip it compresses like pigz: chunks of 1 MiB are
 * deflated in parallel, each primed with the 32 KiB before it and ended by a sync flush, so
 * that the pieces join into one deflate stream in a single gzip member.
 */
struct sink {
	FILE *fp;
	const char *name;
	int gz, err;
	struct m3_pool *pool;
	unsigned char *in[SINK_MAXQ], *out[SINK_MAXQ];
	size_t inlen[SINK_MAXQ], outlen[SINK_MAXQ], outcap;
	uLong crc[SINK_MAXQ];
	int zerr[SINK_MAXQ], final;
	unsigned nq, maxq; /* chunks filled (in[nq] is being filled), chunks a batch */
	unsigned char dict[DICT];
	size_t dictlen, len;
	unsigned char *buf; /* in[nq] */
	uLong total_crc;
	unsigned long total;
};

static int
sink_open(struct sink *s, FILE *fp, const char *name, int gz, struct m3_pool *pool,
	  struct m3_err *e)
{
	memset(s, 0, sizeof(*s));
	s->fp = fp;
	s->name = name != NULL ? name : "stdout";
	s->gz = gz;
	s->pool = pool;
	s->maxq = gz ? 2 * m3_pool_size(pool) : 1;
	if (s->maxq > SINK_MAXQ)
		s->maxq = SINK_MAXQ;
	s->outcap = deflateBound(NULL, SINK_CHUNK + SINK_ROOM) + 64;
	for (unsigned i = 0; i < s->maxq; i++)
		if ((s->in[i] = malloc(SINK_CHUNK + SINK_ROOM)) == NULL ||
		    (gz && (s->out[i] = malloc(s->outcap)) == NULL))
			return m3_err_set(e, M3_ENOMEM, "out of memory");
	s->buf = s->in[0];
	s->total_crc = crc32(0, NULL, 0);
	if (gz) {
		static const unsigned char head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};

		if (fwrite(head, 1, sizeof(head), fp) != sizeof(head))
			s->err = errno ? errno : EIO;
	}
	return M3_OK;
}

static void
sink_out(struct sink *s, const void *p, size_t n)
{
	if (!s->err && n > 0 && fwrite(p, 1, n, s->fp) != n)
		s->err = errno ? errno : EIO;
}

/* Deflates chunk i on a worker: raw deflate primed with the 32 KiB before it. */
static void
deflate_chunk(void *ctx, size_t i, unsigned worker)
{
	struct sink *s = ctx;
	z_stream z;
	int last = s->final && i + 1 == s->nq;

	(void)worker;
	memset(&z, 0, sizeof(z));
	s->crc[i] = crc32(crc32(0, NULL, 0), s->in[i], (uInt)s->inlen[i]);
	/* level 6 is zlib's and gzip's default; windowBits -15 is raw deflate */
	if (deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		s->zerr[i] = 1;
		return;
	}
	if (i > 0)
		deflateSetDictionary(&z, s->in[i - 1] + s->inlen[i - 1] - DICT, DICT);
	else if (s->dictlen > 0)
		deflateSetDictionary(&z, s->dict, (uInt)s->dictlen);
	z.next_in = s->in[i];
	z.avail_in = (uInt)s->inlen[i];
	z.next_out = s->out[i];
	z.avail_out = (uInt)s->outcap;
	s->zerr[i] = deflate(&z, last ? Z_FINISH : Z_SYNC_FLUSH) != (last ? Z_STREAM_END : Z_OK);
	s->outlen[i] = s->outcap - z.avail_out;
	deflateEnd(&z);
}

/* Writes the chunks filled so far (compressed in parallel for gzip). */
static void
sink_batch(struct sink *s)
{
	if (!s->gz) {
		for (unsigned i = 0; i < s->nq; i++)
			sink_out(s, s->in[i], s->inlen[i]);
	} else {
		m3_pool_run(s->pool, deflate_chunk, s, s->nq);
		for (unsigned i = 0; i < s->nq; i++) {
			if (s->zerr[i] && !s->err)
				s->err = ENOMEM;
			sink_out(s, s->out[i], s->outlen[i]);
			s->total_crc = crc32_combine(s->total_crc, s->crc[i], (z_off_t)s->inlen[i]);
			s->total += s->inlen[i];
		}
		/* every chunk but the last is at least SINK_CHUNK > DICT long */
		if (s->nq > 0 && s->inlen[s->nq - 1] >= DICT) {
			memcpy(s->dict, s->in[s->nq - 1] + s->inlen[s->nq - 1] - DICT, DICT);
			s->dictlen = DICT;
		}
	}
	s->nq = 0;
	s->buf = s->in[0];
}

/* Room for SINK_ROOM more bytes at s->buf + s->len. */
static unsigned char *
sink_room(struct sink *s)
{
	if (s->len >= SINK_CHUNK) {
		s->inlen[s->nq++] = s->len;
		s->len = 0;
		if (s->nq == s->maxq)
			sink_batch(s);
		s->buf = s->in[s->nq];
	}
	return s->buf + s->len;
}

static void
sink_put(struct sink *s, const void *p, size_t n)
{
	while (n > 0) {
		size_t k = n < SINK_ROOM ? n : SINK_ROOM;

		memcpy(sink_room(s), p, k);
		s->len += k;
		p = (const char *)p + k;
		n -= k;
	}
}

static void
sink_str(struct sink *s, const char *str)
{
	sink_put(s, str, strlen(str));
}

static void
sink_free(struct sink *s)
{
	for (unsigned i = 0; i < SINK_MAXQ; i++) {
		free(s->in[i]);
		free(s->out[i]);
	}
}

static int
sink_close(struct sink *s, struct m3_err *e)
{
	s->inlen[s->nq++] = s->len;
	s->final = 1;
	sink_batch(s);
	if (s->gz) {
		unsigned char tail[8];

		for (int i = 0; i < 4; i++) {
			tail[i] = (unsigned char)(s->total_crc >> 8 * i);
			tail[4 + i] = (unsigned char)(s->total >> 8 * i);
		}
		sink_out(s, tail, 8);
	}
	if (!s->err && fflush(s->fp) != 0)
		s->err = errno ? errno : EIO;
	sink_free(s);
	if (s->err)
		return m3_err_set(e, M3_EIO, "%s: %s", s->name, strerror(s->err));
	return M3_OK;
}

/* x rounded to dec decimals, trailing zeros dropped: fast, and short for the phone. */
static char *
put_fixed(char *p, double x, int dec)
{
	static const long long pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
	long long q = llround(x * (double)pow10[dec]), ip, fp;
	char tmp[24];
	int n = 0;

	if (q < 0) {
		*p++ = '-';
		q = -q;
	}
	ip = q / pow10[dec];
	fp = q % pow10[dec];
	do
		tmp[n++] = (char)('0' + ip % 10);
	while ((ip /= 10) > 0);
	while (n > 0)
		*p++ = tmp[--n];
	if (fp != 0) {
		char frac[8] = {0};
		int len = dec;

		for (int d = dec - 1; d >= 0; d--, fp /= 10)
			frac[d] = (char)('0' + fp % 10);
		while (frac[len - 1] == '0')
			len--;
		*p++ = '.';
		memcpy(p, frac, (size_t)len);
		p += len;
	}
	return p;
}

static char *
put_uint(char *p, unsigned long v)
{
	char tmp[24];
	int n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

/* Floats as text, space-separated, in runs of three separated by commas-free spaces. */
static void
put_floats(struct sink *s, const float *f, size_t n, int dec)
{
	for (size_t i = 0; i < n; i++) {
		char *p = (char *)sink_room(s), *q = p;

		if (i > 0)
			*q++ = ' ';
		q = put_fixed(q, f[i], dec);
		s->len += (size_t)(q - p);
	}
}

/* A fixed palette by label value: bone, teeth, then colours far apart. */
static const float palette[][3] = {
	{0.89f, 0.85f, 0.78f}, {1.00f, 0.98f, 0.90f}, {0.80f, 0.36f, 0.33f}, {0.36f, 0.58f, 0.80f},
	{0.45f, 0.74f, 0.42f}, {0.93f, 0.70f, 0.30f}, {0.62f, 0.45f, 0.75f}, {0.40f, 0.75f, 0.75f},
};

/* name as an X3D DEF: letters, digits, _ and - only, not starting with a digit or - */
static void
put_def(struct sink *s, const struct x3d_part *pt)
{
	char def[80], *q = def;
	const char *n = pt->name;

	if (n == NULL || *n == '\0' || (*n >= '0' && *n <= '9') || *n == '-')
		q += snprintf(def, 16, "label%u_", pt->label);
	for (; n != NULL && *n != '\0' && q < def + sizeof(def) - 1; n++) {
		int ok = (*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') ||
			 (*n >= '0' && *n <= '9') || *n == '_' || *n == '-';

		*q++ = ok ? *n : '_';
	}
	*q = '\0';
	if (q > def && q[-1] == '_')
		q[-1] = '\0';
	sink_str(s, def);
}

static void
put_x3d_part(struct sink *s, const struct x3d_part *pt)
{
	const float *c = palette[(pt->label + 7) % 8];
	char num[64];

	sink_str(s, "<Shape DEF=\"");
	put_def(s, pt);
	snprintf(num, sizeof(num), "%u", pt->label);
	sink_str(s, "\">\n<MetadataInteger containerField=\"metadata\" name=\"m3-label\" value=\"");
	sink_str(s, num);
	sink_str(s, "\"/>\n<Appearance><Material diffuseColor=\"");
	put_floats(s, c, 3, 2);
	sink_str(s, "\" specularColor=\"0.2 0.2 0.2\" shininess=\"0.1\"/></Appearance>\n"
		    "<IndexedTriangleSet solid=\"true\" ccw=\"true\" normalPerVertex=\"true\" "
		    "index=\"");
	for (size_t i = 0; i < 3 * pt->mesh.nt; i++) {
		char *p = (char *)sink_room(s), *q = p;

		if (i > 0)
			*q++ = ' ';
		q = put_uint(q, pt->mesh.t[i]);
		s->len += (size_t)(q - p);
	}
	sink_str(s, "\">\n<Coordinate point=\"");
	put_floats(s, pt->mesh.v, 3 * pt->mesh.nv, 4);
	sink_str(s, "\"/>\n<Normal vector=\"");
	put_floats(s, pt->mesh.n, 3 * pt->mesh.nv, 3);
	sink_str(s, "\"/>\n</IndexedTriangleSet>\n</Shape>\n");
}

static void
put_x3d(struct sink *s, const struct x3d_part *parts, size_t np)
{
	sink_str(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		    "<X3D profile=\"Interchange\" version=\"3.3\" "
		    "xmlns:xsd=\"http://www.w3.org/2001/XMLSchema-instance\" "
		    "xsd:noNamespaceSchemaLocation="
		    "\"http://www.web3d.org/specifications/x3d-3.3.xsd\">\n<head>\n"
		    "<unit category=\"length\" name=\"millimetre\" conversionFactor=\"0.001\"/>\n"
		    "<meta name=\"generator\" content=\"m3-x3d\"/>\n"
		    "<meta name=\"description\" content=\"LPS millimetres\"/>\n</head>\n<Scene>\n");
	for (size_t i = 0; i < np; i++)
		put_x3d_part(s, &parts[i]);
	sink_str(s, "</Scene>\n</X3D>\n");
}

static unsigned char *
le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
	return p + 4;
}

static unsigned char *
lef(unsigned char *p, float f)
{
	uint32_t v;

	memcpy(&v, &f, 4);
	return le32(p, v);
}

static void
put_stl(struct sink *s, const struct x3d_part *parts, size_t np, size_t ntri)
{
	unsigned char head[84];

	memset(head, ' ', 80);
	memcpy(head, "m3-x3d binary STL, LPS millimetres", 34);
	le32(head + 80, (uint32_t)ntri);
	sink_put(s, head, 84);
	for (size_t i = 0; i < np; i++) {
		const struct x3d_mesh *m = &parts[i].mesh;

		for (size_t t = 0; t < m->nt; t++) {
			const float *a = m->v + 3 * (size_t)m->t[3 * t],
				    *b = m->v + 3 * (size_t)m->t[3 * t + 1],
				    *c = m->v + 3 * (size_t)m->t[3 * t + 2];
			double u[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]};
			double w[3] = {c[0] - a[0], c[1] - a[1], c[2] - a[2]};
			double n[3] = {u[1] * w[2] - u[2] * w[1], u[2] * w[0] - u[0] * w[2],
				       u[0] * w[1] - u[1] * w[0]};
			double l = sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
			unsigned char *p = sink_room(s), *q = p;

			for (int k = 0; k < 3; k++)
				q = lef(q, l > 0 ? (float)(n[k] / l) : 0.0f);
			for (int k = 0; k < 3; k++) {
				q = lef(q, a[k]);
			}
			for (int k = 0; k < 3; k++)
				q = lef(q, b[k]);
			for (int k = 0; k < 3; k++)
				q = lef(q, c[k]);
			*q++ = 0;
			*q++ = 0;
			s->len += (size_t)(q - p);
		}
	}
}

static void
put_ply(struct sink *s, const struct x3d_part *parts, size_t np, size_t nv, size_t nt)
{
	char line[200];
	size_t base = 0;

	sink_str(s, "ply\nformat binary_little_endian 1.0\ncomment m3-x3d: LPS millimetres\n");
	for (size_t i = 0; i < np; i++) {
		snprintf(line, sizeof(line), "comment m3-label %u ", parts[i].label);
		sink_str(s, line);
		/* a name never holds a newline: the stream's values are single lines */
		sink_str(s, parts[i].name != NULL ? parts[i].name : "");
		sink_str(s, "\n");
	}
	snprintf(line, sizeof(line),
		 "element vertex %zu\nproperty float x\nproperty float y\nproperty float z\n"
		 "property float nx\nproperty float ny\nproperty float nz\n",
		 nv);
	sink_str(s, line);
	snprintf(line, sizeof(line),
		 "element face %zu\nproperty list uchar int vertex_indices\n"
		 "property uchar label\nend_header\n",
		 nt);
	sink_str(s, line);
	for (size_t i = 0; i < np; i++) {
		const struct x3d_mesh *m = &parts[i].mesh;

		for (size_t v = 0; v < m->nv; v++) {
			unsigned char *p = sink_room(s), *q = p;

			for (int k = 0; k < 3; k++)
				q = lef(q, m->v[3 * v + k]);
			for (int k = 0; k < 3; k++)
				q = lef(q, m->n[3 * v + k]);
			s->len += (size_t)(q - p);
		}
	}
	for (size_t i = 0; i < np; i++) {
		const struct x3d_mesh *m = &parts[i].mesh;

		for (size_t t = 0; t < m->nt; t++) {
			unsigned char *p = sink_room(s), *q = p;

			*q++ = 3;
			for (int k = 0; k < 3; k++)
				q = le32(q, (uint32_t)(base + m->t[3 * t + k]));
			*q++ = (unsigned char)parts[i].label;
			s->len += (size_t)(q - p);
		}
		base += m->nv;
	}
}

int
x3d_write(FILE *fp, const char *name, enum x3d_format f, const struct x3d_part *parts, size_t np,
	  struct m3_pool *pool, struct m3_err *e)
{
	struct sink s;
	size_t nv = 0, nt = 0;

	for (size_t i = 0; i < np; i++) {
		nv += parts[i].mesh.nv;
		nt += parts[i].mesh.nt;
	}
	if ((f == X3D_FSTL && nt > UINT32_MAX) || (f == X3D_FPLY && nv > INT32_MAX))
		return m3_err_set(e, M3_EDATA, "%s: too many triangles for %s",
				  name != NULL ? name : "stdout", f == X3D_FSTL ? "STL" : "PLY");
	if (sink_open(&s, fp, name, f == X3D_FX3DZ, pool, e) != M3_OK) {
		sink_free(&s);
		return e->code;
	}
	if (f == X3D_FSTL)
		put_stl(&s, parts, np, nt);
	else if (f == X3D_FPLY)
		put_ply(&s, parts, np, nv, nt);
	else
		put_x3d(&s, parts, np);
	return sink_close(&s, e);
}
