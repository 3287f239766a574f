/* m3-view: growable buffers, file names, and text escaped for JSON inside an HTML page. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "view.h"

static int
vbuf_grow(struct vbuf *b, size_t more, struct m3_err *e)
{
	size_t cap;
	char *p;

	if (b->n + more + 1 < b->n)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	if (b->n + more + 1 <= b->cap)
		return M3_OK;
	cap = b->cap > 0 ? b->cap : 256;
	while (cap < b->n + more + 1)
		cap = cap > SIZE_MAX / 2 ? b->n + more + 1 : cap * 2;
	if ((p = realloc(b->p, cap)) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	b->p = p;
	b->cap = cap;
	return M3_OK;
}

int
vbuf_add(struct vbuf *b, const void *p, size_t n, struct m3_err *e)
{
	if (vbuf_grow(b, n, e) != M3_OK)
		return e->code;
	if (n > 0)
		memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
	return M3_OK;
}

int
vbuf_str(struct vbuf *b, const char *s, struct m3_err *e)
{
	return vbuf_add(b, s, strlen(s), e);
}

int
vbuf_printf(struct vbuf *b, struct m3_err *e, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0)
		return m3_err_set(e, M3_EFAIL, "formatting failed");
	if (vbuf_grow(b, (size_t)len, e) != M3_OK)
		return e->code;
	va_start(ap, fmt);
	vsnprintf(b->p + b->n, (size_t)len + 1, fmt, ap);
	va_end(ap);
	b->n += (size_t)len;
	return M3_OK;
}

void
vbuf_free(struct vbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

const char *
view_basename(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL && s[1] != '\0' ? s + 1 : path;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when it is not one. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned long c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (len == 4 && c < 0x10000) || c > 0x10ffff)
		return 0;
	return len;
}

/*
 * Calls put(ctx, text, len) with s as the body of a JSON string; '<', '>' and '&' are
 * escaped too, so that the text can never end a <script> element or open a comment.
 */
static int
json_escape(const char *s, size_t n, int (*put)(void *, const char *, size_t), void *ctx)
{
	const unsigned char *u = (const unsigned char *)s;
	char esc[8];
	size_t i = 0, run = 0, len;

	while (i + run < n) {
		unsigned char c = u[i + run];
		const char *rep = NULL;

		if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' &&
		    (len = utf8_len(u + i + run, n - i - run)) > 0) {
			run += len;
			continue;
		}
		if (run > 0 && put(ctx, s + i, run) != 0)
			return -1;
		i += run;
		run = 0;
		if (c == '"')
			rep = "\\\"";
		else if (c == '\\')
			rep = "\\\\";
		else if (c == '\n')
			rep = "\\n";
		else if (c == '\t')
			rep = "\\t";
		else if (c >= 0x80)
			rep = "\\ufffd";
		else
			snprintf(esc, sizeof(esc), "\\u%04x", c), rep = esc;
		if (put(ctx, rep, strlen(rep)) != 0)
			return -1;
		i++;
	}
	return run > 0 ? put(ctx, s + i, run) : 0;
}

static int
put_file(void *ctx, const char *p, size_t n)
{
	return fwrite(p, 1, n, ctx) == n ? 0 : -1;
}

void
view_json_str(FILE *f, const char *s, size_t n)
{
	putc('"', f);
	json_escape(s, n, put_file, f);
	putc('"', f);
}

struct put_vbuf {
	struct vbuf *b;
	struct m3_err *e;
};

static int
put_vbuf(void *ctx, const char *p, size_t n)
{
	struct put_vbuf *pv = ctx;

	return vbuf_add(pv->b, p, n, pv->e) == M3_OK ? 0 : -1;
}

int
view_json_vstr(struct vbuf *b, const char *s, size_t n, struct m3_err *e)
{
	struct put_vbuf pv = {b, e};

	if (vbuf_add(b, "\"", 1, e) != M3_OK || json_escape(s, n, put_vbuf, &pv) != 0)
		return e->code;
	return vbuf_add(b, "\"", 1, e);
}

void
view_base64(FILE *f, const void *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = p;
	char out[4096];
	size_t i, o = 0;

	for (i = 0; i < n; i += 3) {
		unsigned long v = (unsigned long)s[i] << 16;
		size_t k = n - i < 3 ? n - i : 3;

		if (k > 1)
			v |= (unsigned long)s[i + 1] << 8;
		if (k > 2)
			v |= s[i + 2];
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = k > 1 ? tab[v >> 6 & 63] : '=';
		out[o++] = k > 2 ? tab[v & 63] : '=';
		if (o > sizeof(out) - 4) {
			fwrite(out, 1, o, f);
			o = 0;
		}
	}
	if (o > 0)
		fwrite(out, 1, o, f);
}
