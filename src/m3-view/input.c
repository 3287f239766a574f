/* m3-view: reading an input whole, unpacking gzip (.x3dz), and telling its kind from its bytes. */
#include <limits.h>
#include <string.h>
#include <zlib.h>

#include "m3/cli.h"
#include "m3/vol.h"
#include "view.h"

static int
read_all(FILE *fp, const char *name, size_t limit, struct vbuf *b, struct m3_err *e)
{
	char buf[65536];
	size_t got;

	while ((got = fread(buf, 1, sizeof(buf), fp)) > 0) {
		if (b->n + got > limit)
			return m3_err_set(e, M3_ELIMIT, "%s: over the limit of %zu bytes", name,
					  limit);
		if (vbuf_add(b, buf, got, e) != M3_OK)
			return e->code;
	}
	if (ferror(fp))
		return m3_err_set(e, M3_EIO, "%s: read error", name);
	return M3_OK;
}

/* Unpacks every gzip member of in into out. */
static int
gunzip(const struct vbuf *in, const char *name, size_t limit, struct vbuf *out, struct m3_err *e)
{
	unsigned char buf[65536];
	z_stream z;
	int zr = Z_OK;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	z.next_in = (unsigned char *)in->p;
	z.avail_in = in->n > UINT_MAX ? UINT_MAX : (unsigned)in->n;
	for (;;) {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		zr = inflate(&z, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END)
			break;
		if (out->n + (sizeof(buf) - z.avail_out) > limit) {
			inflateEnd(&z);
			return m3_err_set(e, M3_ELIMIT, "%s: unpacks to over %zu bytes", name,
					  limit);
		}
		if (vbuf_add(out, buf, sizeof(buf) - z.avail_out, e) != M3_OK) {
			inflateEnd(&z);
			return e->code;
		}
		if (zr == Z_STREAM_END) {
			if (z.avail_in == 0)
				break;
			inflateReset(&z); /* another member follows */
		}
	}
	inflateEnd(&z);
	if (zr != Z_STREAM_END)
		return m3_err_set(e, M3_EDATA, "%s: %s gzip data", name,
				  zr == Z_BUF_ERROR ? "truncated" : "corrupt");
	return M3_OK;
}

static int
starts(const char *p, size_t n, const char *magic)
{
	size_t m = strlen(magic);

	return n >= m && memcmp(p, magic, m) == 0;
}

/* X3D XML: an XML declaration, comment, DOCTYPE or the root element first, and an <X3D root. */
static int
is_x3d(const char *p, size_t n)
{
	size_t i = 0, look;

	if (starts(p, n, "\xef\xbb\xbf"))
		i = 3;
	while (i < n && strchr(" \t\r\n", p[i]) != NULL)
		i++;
	if (i >= n || p[i] != '<')
		return 0;
	look = n - i < 65536 ? n - i : 65536;
	for (size_t j = i; j + 4 <= i + look; j++)
		if (memcmp(p + j, "<X3D", 4) == 0 &&
		    (j + 4 == n || strchr(" \t\r\n>", p[j + 4]) != NULL))
			return 1;
	return 0;
}

static enum view_kind
kind_of(const struct vbuf *b)
{
	size_t i = 0;
	uint32_t ntri;

	if (starts(b->p, b->n, "\x89PNG\r\n\x1a\n"))
		return VIEW_PNG;
	if (starts(b->p, b->n, "NRRD000"))
		return VIEW_VOLUME;
	if (is_x3d(b->p, b->n))
		return VIEW_X3D;
	while (i < b->n && strchr(" \t\r\n", b->p[i]) != NULL)
		i++;
	if (i < b->n && b->p[i] == '{')
		return VIEW_FINDINGS;
	if (b->n >= 84) {
		const unsigned char *u = (const unsigned char *)b->p + 80;

		ntri = (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 |
		       (uint32_t)u[3] << 24;
		if ((b->n - 84) % 50 == 0 && (b->n - 84) / 50 == ntri)
			return VIEW_STL;
	}
	return VIEW_UNKNOWN;
}

int
view_input_read(const char *path, struct vbuf *b, enum view_kind *kind, struct m3_err *e)
{
	const char *name = path == NULL || strcmp(path, "-") == 0 ? "stdin" : path;
	size_t limit = m3_max_bytes();
	struct vbuf raw = {0};
	FILE *fp;
	int rc;

	if ((fp = m3_open_in(path, e)) == NULL)
		return e->code;
	rc = read_all(fp, name, limit, &raw, e);
	m3_close_in(fp);
	if (rc == M3_OK && raw.n == 0)
		rc = m3_err_set(e, M3_ENOINPUT, "%s: empty input", name);
	if (rc == M3_OK && starts(raw.p, raw.n, "\x1f\x8b")) {
		rc = gunzip(&raw, name, limit, b, e);
		vbuf_free(&raw);
	} else {
		*b = raw;
	}
	if (rc != M3_OK)
		return rc;
	if (b->n == 0)
		return m3_err_set(e, M3_ENOINPUT, "%s: empty input", name);
	if ((*kind = kind_of(b)) == VIEW_UNKNOWN)
		return m3_err_set(
			e, M3_EDATA,
			"%s: not a PNG, findings JSON Lines, X3D, binary STL or m3 volume", name);
	return M3_OK;
}

const char *
view_kind_name(enum view_kind k)
{
	switch (k) {
	case VIEW_PNG:
		return "PNG image";
	case VIEW_FINDINGS:
		return "findings";
	case VIEW_X3D:
		return "X3D scene";
	case VIEW_STL:
		return "STL mesh";
	case VIEW_VOLUME:
		return "m3 volume";
	default:
		return "unknown";
	}
}
