/* Writing the m3 volume stream: a canonical header, then raw data or one gzip member. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "m3/json.h"
#include "m3/vol.h"

#define ZBUFSZ (256 * 1024)

struct m3_vol_writer {
	FILE *fp;
	char *name;
	int level;
	size_t left;
	int zinit;
	z_stream zs;
	unsigned char *zbuf;
};

struct m3_vol_writer *
m3_vol_writer_new(FILE *fp, const char *name, int level)
{
	struct m3_vol_writer *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->fp = fp;
	w->level = level > 9 ? 9 : level;
	w->name = strdup(name != NULL && strcmp(name, "-") != 0 ? name : "stdout");
	if (w->name == NULL || (level >= 0 && (w->zbuf = malloc(ZBUFSZ)) == NULL)) {
		m3_vol_writer_free(w);
		return NULL;
	}
	return w;
}

void
m3_vol_writer_free(struct m3_vol_writer *w)
{
	if (w == NULL)
		return;
	if (w->zinit)
		deflateEnd(&w->zs);
	free(w->zbuf);
	free(w->name);
	free(w);
}

static int
werr(struct m3_vol_writer *w, struct m3_err *e)
{
	return m3_err_set(e, M3_EIO, "%s: %s", w->name,
			  errno != 0 ? strerror(errno) : "write error");
}

static void
put_vec(FILE *f, const double d[3])
{
	char s[M3_DTOA_MAX];

	fputc('(', f);
	for (int i = 0; i < 3; i++) {
		if (i > 0)
			fputc(',', f);
		m3_dtoa(s, d[i]);
		fputs(s, f);
	}
	fputc(')', f);
}

static int
check_vol(const struct m3_vol *v, struct m3_err *e)
{
	size_t n;
	int rc;

	if ((rc = m3_vol_nbytes(v, &n, e)) != M3_OK)
		return m3_err_set(e, M3_EFAIL, "cannot write volume: %s", e->msg);
	if (v->dim - (unsigned)(v->rgb != 0) < 2 || v->dim - (unsigned)(v->rgb != 0) > 3)
		return m3_err_set(e, M3_EFAIL, "cannot write volume: %u spatial axes", v->dim);
	if (v->rgb && v->sizes[0] != 3)
		return m3_err_set(e, M3_EFAIL, "cannot write volume: RGB axis of size %zu",
				  v->sizes[0]);
	for (unsigned i = 0; i < v->dim && v->has_space; i++)
		for (int j = 0; j < 3; j++)
			if (!isfinite(v->dirs[i][j]))
				return m3_err_set(e, M3_EFAIL,
						  "cannot write volume: direction not finite");
	for (int j = 0; j < 3 && v->has_origin; j++)
		if (!isfinite(v->origin[j]))
			return m3_err_set(e, M3_EFAIL, "cannot write volume: origin not finite");
	return M3_OK;
}

/* The header into f in the order of man/m3-volume.5. */
static void
put_header(FILE *f, const struct m3_vol *v)
{
	const uint16_t one = 1;

	fprintf(f, "NRRD0004\n# m3 volume stream\ntype: %s\ndimension: %u\n", m3_type_name(v->type),
		v->dim);
	if (v->has_space)
		fputs("space: left-posterior-superior\n", f);
	fputs("sizes:", f);
	for (unsigned i = 0; i < v->dim; i++)
		fprintf(f, " %zu", v->sizes[i]);
	fputc('\n', f);
	if (v->has_space) {
		fputs("space directions:", f);
		for (unsigned i = 0; i < v->dim; i++) {
			fputc(' ', f);
			if (v->rgb && i == 0)
				fputs("none", f);
			else
				put_vec(f, v->dirs[i]);
		}
		fputc('\n', f);
		if (v->has_origin) {
			fputs("space origin: ", f);
			put_vec(f, v->origin);
			fputc('\n', f);
		}
	}
	fputs("kinds:", f);
	for (unsigned i = 0; i < v->dim; i++)
		fputs(v->rgb && i == 0 ? " RGB-color" : " domain", f);
	fputc('\n', f);
	if (m3_type_size(v->type) > 1)
		fprintf(f, "endian: %s\n", *(const unsigned char *)&one ? "little" : "big");
}

static void
put_kv(FILE *f, const struct m3_vol *v, int level)
{
	fprintf(f, "encoding: %s\n", level >= 0 ? "gzip" : "raw");
	for (size_t i = 0; i < v->nkv; i++) {
		fprintf(f, "%s:=", v->kv[i].key);
		for (const char *s = v->kv[i].val; *s != '\0'; s++) {
			if (*s == '\n')
				fputs("\\n", f);
			else if (*s == '\\')
				fputs("\\\\", f);
			else
				fputc(*s, f);
		}
		fputc('\n', f);
	}
	fputc('\n', f);
}

int
m3_vol_write_header(struct m3_vol_writer *w, const struct m3_vol *v, struct m3_err *e)
{
	size_t n;
	int rc;

	if (w->left > 0)
		return m3_err_set(e, M3_EFAIL, "%s: header written before the last volume's data",
				  w->name);
	if ((rc = check_vol(v, e)) != M3_OK)
		return rc;
	m3_vol_nbytes(v, &n, e);
	errno = 0;
	put_header(w->fp, v);
	put_kv(w->fp, v, w->level);
	if (ferror(w->fp))
		return werr(w, e);
	w->left = n;
	if (w->level >= 0) {
		if (!w->zinit) {
			memset(&w->zs, 0, sizeof(w->zs));
			if (deflateInit2(&w->zs, w->level, Z_DEFLATED, 16 + MAX_WBITS, 8,
					 Z_DEFAULT_STRATEGY) != Z_OK)
				return m3_err_set(e, M3_ENOMEM, "cannot start zlib");
			w->zinit = 1;
		} else
			deflateReset(&w->zs);
	}
	return M3_OK;
}

static int
deflate_out(struct m3_vol_writer *w, const void *buf, size_t n, int flush, struct m3_err *e)
{
	const unsigned char *p = buf;
	int zr;

	do {
		uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
		w->zs.next_in = (unsigned char *)(uintptr_t)p;
		w->zs.avail_in = chunk;
		p += chunk;
		n -= chunk;
		do {
			w->zs.next_out = w->zbuf;
			w->zs.avail_out = ZBUFSZ;
			zr = deflate(&w->zs, n == 0 ? flush : Z_NO_FLUSH);
			if (zr == Z_STREAM_ERROR)
				return m3_err_set(e, M3_EFAIL, "%s: zlib error", w->name);
			size_t out = ZBUFSZ - w->zs.avail_out;
			errno = 0;
			if (out > 0 && fwrite(w->zbuf, 1, out, w->fp) != out)
				return werr(w, e);
		} while (w->zs.avail_out == 0 ||
			 (n == 0 && flush == Z_FINISH && zr != Z_STREAM_END));
	} while (n > 0);
	return M3_OK;
}

int
m3_vol_write_data(struct m3_vol_writer *w, const void *buf, size_t n, struct m3_err *e)
{
	if (n > w->left)
		return m3_err_set(e, M3_EFAIL, "%s: more data than the header says", w->name);
	if (n == 0)
		return M3_OK;
	w->left -= n;
	if (w->level < 0) {
		errno = 0;
		if (n > 0 && fwrite(buf, 1, n, w->fp) != n)
			return werr(w, e);
		return M3_OK;
	}
	return deflate_out(w, buf, n, w->left == 0 ? Z_FINISH : Z_NO_FLUSH, e);
}

int
m3_vol_write(struct m3_vol_writer *w, const struct m3_vol *v, struct m3_err *e)
{
	size_t n;
	int rc;

	if (v->data == NULL)
		return m3_err_set(e, M3_EFAIL, "%s: volume without data", w->name);
	if ((rc = m3_vol_write_header(w, v, e)) != M3_OK)
		return rc;
	m3_vol_nbytes(v, &n, e);
	return m3_vol_write_data(w, v->data, n, e);
}
