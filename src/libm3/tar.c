/* tar streams: ustar writer; reader for ustar, GNU long names ('L') and pax paths ('x'). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "m3/tar.h"

#define BLK 512

struct m3_tar_reader {
	FILE *fp;
	char *name;
	unsigned char *head;
	size_t nhead, hpos;
	size_t left, pad; /* of the current member */
};

static int
werr(struct m3_err *e)
{
	return m3_err_set(e, M3_EIO, "stdout: %s", errno ? strerror(errno) : "write error");
}

/* Octal into a field of w bytes with a NUL; base-256 when it does not fit (GNU). */
static void
put_num(unsigned char *f, size_t w, uint64_t v)
{
	if (w < 12 || v < (1ULL << (3 * (w - 1)))) {
		f[w - 1] = '\0';
		for (size_t i = w - 1; i-- > 0; v >>= 3)
			f[i] = (unsigned char)('0' + (v & 7));
		return;
	}
	for (size_t i = w; i-- > 1;) {
		f[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
	f[0] = 0x80;
}

static unsigned
checksum(const unsigned char *h)
{
	unsigned s = 0;

	for (int i = 0; i < BLK; i++)
		s += (i >= 148 && i < 156) ? ' ' : h[i];
	return s;
}

/* Splits name into ustar prefix and name; -1 when it cannot be. */
static int
split_name(unsigned char *h, const char *name)
{
	size_t n = strlen(name);
	const char *cut;

	if (n <= 100) {
		memcpy(h, name, n);
		return 0;
	}
	for (cut = name + n - 1; cut > name; cut--)
		if (*cut == '/' && (size_t)(cut - name) <= 155 &&
		    n - (size_t)(cut - name) - 1 <= 100)
			break;
	if (cut == name)
		return -1;
	memcpy(h + 345, name, (size_t)(cut - name));
	memcpy(h, cut + 1, n - (size_t)(cut - name) - 1);
	return 0;
}

/* One header block of the given type flag for name (already split or short). */
static int
put_header(FILE *fp, const unsigned char *named, size_t size, time_t mtime, char type,
	   struct m3_err *e)
{
	unsigned char h[BLK];

	memcpy(h, named, BLK);
	put_num(h + 100, 8, 0644);
	put_num(h + 108, 8, 0);
	put_num(h + 116, 8, 0);
	put_num(h + 124, 12, size);
	put_num(h + 136, 12, mtime < 0 ? 0 : (uint64_t)mtime);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	snprintf((char *)h + 148, 8, "%06o", checksum(h));
	h[155] = ' ';
	errno = 0;
	if (fwrite(h, 1, BLK, fp) != BLK)
		return werr(e);
	return M3_OK;
}

/* A pax extended header whose path record carries a name too long for ustar. */
static int
put_pax_path(FILE *fp, const char *name, time_t mtime, struct m3_err *e)
{
	unsigned char h[BLK];
	size_t n = strlen(name), len, digits;
	char *rec;
	int rc;

	/* "LEN path=NAME\n", where LEN counts its own digits */
	for (digits = 1;; digits++) {
		len = n + 7 + digits;
		if ((size_t)snprintf(NULL, 0, "%zu", len) == digits)
			break;
	}
	if ((rec = malloc(len + 1)) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	snprintf(rec, len + 1, "%zu path=%s\n", len, name);
	memset(h, 0, sizeof(h));
	memcpy(h, "PaxHeader", 9);
	if ((rc = put_header(fp, h, len, mtime, 'x', e)) == M3_OK) {
		errno = 0;
		if (fwrite(rec, 1, len, fp) != len)
			rc = werr(e);
		else
			rc = m3_tar_pad(fp, len, e);
	}
	free(rec);
	return rc;
}

int
m3_tar_header(FILE *fp, const char *name, size_t size, time_t mtime, struct m3_err *e)
{
	unsigned char h[BLK];
	int rc;

	memset(h, 0, sizeof(h));
	if (*name == '\0')
		return m3_err_set(e, M3_EFAIL, "empty name for a tar header");
	if (strlen(name) >= 4096)
		return m3_err_set(e, M3_EFAIL, "%.60s...: name too long for a tar stream", name);
	if (split_name(h, name) != 0) {
		/* too long for ustar: a pax path record, then a header with a short stand-in */
		if ((rc = put_pax_path(fp, name, mtime, e)) != M3_OK)
			return rc;
		memset(h, 0, sizeof(h));
		memcpy(h, name, 100);
	}
	return put_header(fp, h, size, mtime, '0', e);
}

int
m3_tar_pad(FILE *fp, size_t size, struct m3_err *e)
{
	static const unsigned char zero[BLK];
	size_t pad = (BLK - size % BLK) % BLK;

	errno = 0;
	if (pad > 0 && fwrite(zero, 1, pad, fp) != pad)
		return werr(e);
	return M3_OK;
}

int
m3_tar_file(FILE *fp, const char *name, const void *data, size_t size, time_t mtime,
	    struct m3_err *e)
{
	int rc;

	if ((rc = m3_tar_header(fp, name, size, mtime, e)) != M3_OK)
		return rc;
	errno = 0;
	if (size > 0 && fwrite(data, 1, size, fp) != size)
		return werr(e);
	return m3_tar_pad(fp, size, e);
}

int
m3_tar_end(FILE *fp, struct m3_err *e)
{
	static const unsigned char zero[2 * BLK];

	errno = 0;
	if (fwrite(zero, 1, sizeof(zero), fp) != sizeof(zero))
		return werr(e);
	return M3_OK;
}

struct m3_tar_reader *
m3_tar_reader_new(FILE *fp, const char *name, const void *head, size_t nhead)
{
	struct m3_tar_reader *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->fp = fp;
	r->name = strdup(name != NULL && strcmp(name, "-") != 0 ? name : "stdin");
	if (nhead > 0 && (r->head = malloc(nhead)) != NULL) {
		memcpy(r->head, head, nhead);
		r->nhead = nhead;
	}
	if (r->name == NULL || (nhead > 0 && r->head == NULL)) {
		m3_tar_reader_free(r);
		return NULL;
	}
	return r;
}

void
m3_tar_reader_free(struct m3_tar_reader *r)
{
	if (r == NULL)
		return;
	free(r->name);
	free(r->head);
	free(r);
}

/* Raw bytes: first what the caller peeked, then the file.  Returns the count read. */
static size_t
get(struct m3_tar_reader *r, void *buf, size_t n)
{
	size_t got = 0;

	if (r->hpos < r->nhead) {
		got = r->nhead - r->hpos < n ? r->nhead - r->hpos : n;
		memcpy(buf, r->head + r->hpos, got);
		r->hpos += got;
	}
	if (got < n)
		got += fread((unsigned char *)buf + got, 1, n - got, r->fp);
	return got;
}

static int
short_read(struct m3_tar_reader *r, struct m3_err *e)
{
	if (ferror(r->fp))
		return m3_err_set(e, M3_EIO, "%s: %s", r->name, strerror(errno));
	return m3_err_set(e, M3_EDATA, "%s: truncated tar stream", r->name);
}

static int
skip(struct m3_tar_reader *r, size_t n, struct m3_err *e)
{
	unsigned char buf[8192];

	while (n > 0) {
		size_t k = n < sizeof(buf) ? n : sizeof(buf);
		if (get(r, buf, k) != k)
			return short_read(r, e);
		n -= k;
	}
	return M3_OK;
}

static int
get_num(const unsigned char *f, size_t w, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (f[0] & 0x80) {
		if (f[0] != 0x80)
			return -1;
		for (i = 1; i < w; i++) {
			if (v >> 56)
				return -1;
			v = v << 8 | f[i];
		}
		*out = v;
		return 0;
	}
	while (i < w && f[i] == ' ')
		i++;
	for (; i < w && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return -1;
		v = v * 8 + (uint64_t)(f[i] - '0');
	}
	if (i < w && f[i] != '\0' && f[i] != ' ')
		return -1;
	*out = v;
	return 0;
}

int
m3_tar_is_header(const void *block)
{
	const unsigned char *h = block;
	uint64_t sum;

	if (memcmp(h + 257, "ustar", 5) != 0)
		return 0;
	return get_num(h + 148, 8, &sum) == 0 && sum == checksum(h);
}

/* Reads a long-name member's data (GNU 'L' or the path= record of a pax 'x'). */
static int
long_name(struct m3_tar_reader *r, size_t size, int pax, char *out, size_t outn, struct m3_err *e)
{
	char *buf, *p;
	size_t pad = (BLK - size % BLK) % BLK;

	if (size > 65536)
		return m3_err_set(e, M3_EDATA, "%s: tar extended header too long", r->name);
	if ((buf = malloc(size + 1)) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	if (get(r, buf, size) != size) {
		free(buf);
		return short_read(r, e);
	}
	buf[size] = '\0';
	if (!pax) {
		snprintf(out, outn, "%s", buf);
	} else {
		/* records "LEN path=VALUE\n" */
		for (p = buf; p < buf + size;) {
			char *end;
			unsigned long len = strtoul(p, &end, 10);
			if (len == 0 || len > (size_t)(buf + size - p) || *end != ' ')
				break;
			if (strncmp(end + 1, "path=", 5) == 0) {
				/* the record is "LEN path=VALUE\n": VALUE ends before the newline
				 */
				if ((size_t)(end + 6 - p) >= len || p[len - 1] != '\n') {
					free(buf);
					return m3_err_set(e, M3_EDATA, "%s: bad pax path record",
							  r->name);
				}
				size_t vl = len - (size_t)(end + 6 - p) - 1;
				snprintf(out, outn, "%.*s", (int)vl, end + 6);
			}
			p += len;
		}
	}
	free(buf);
	return skip(r, pad, e);
}

int
m3_tar_next(struct m3_tar_reader *r, struct m3_tar_entry *ent, struct m3_err *e)
{
	unsigned char h[BLK];
	char longname[sizeof(ent->name)] = "";
	uint64_t size;
	size_t got;
	int rc;

	if ((rc = skip(r, r->left + r->pad, e)) != M3_OK)
		return rc;
	r->left = r->pad = 0;
	for (;;) {
		if ((got = get(r, h, BLK)) == 0)
			return M3_EOF;
		if (got != BLK)
			return short_read(r, e);
		if (h[0] == '\0') {
			static const unsigned char zero[BLK];
			if (memcmp(h, zero, BLK) == 0)
				return M3_EOF; /* the end-of-archive blocks */
		}
		if (!m3_tar_is_header(h))
			return m3_err_set(e, M3_EDATA,
					  "%s: not a tar header (bad magic or checksum)", r->name);
		if (get_num(h + 124, 12, &size) != 0 || size > SIZE_MAX - BLK)
			return m3_err_set(e, M3_EDATA, "%s: bad tar member size", r->name);
		if (h[156] == 'L' || h[156] == 'x') {
			if ((rc = long_name(r, (size_t)size, h[156] == 'x', longname,
					    sizeof(longname), e)) != M3_OK)
				return rc;
			continue;
		}
		if (h[156] == 'g' || h[156] == 'K') { /* global pax headers, long link names */
			if ((rc = skip(r, (size_t)size + (BLK - size % BLK) % BLK, e)) != M3_OK)
				return rc;
			continue;
		}
		break;
	}
	if (longname[0] != '\0')
		snprintf(ent->name, sizeof(ent->name), "%s", longname);
	else if (h[345] != '\0')
		snprintf(ent->name, sizeof(ent->name), "%.155s/%.100s", (char *)h + 345, (char *)h);
	else
		snprintf(ent->name, sizeof(ent->name), "%.100s", (char *)h);
	ent->kind = h[156] == '0' || h[156] == '\0' || h[156] == '7' ? M3_TAR_FILE
		    : h[156] == '5'                                  ? M3_TAR_DIR
								     : M3_TAR_OTHER;
	ent->size = ent->kind == M3_TAR_FILE ? (size_t)size : 0;
	/* links and devices carry no data; anything else we skip by its size */
	r->left = ent->kind == M3_TAR_FILE || ent->kind == M3_TAR_OTHER ? (size_t)size : 0;
	if (h[156] == '1' || h[156] == '2' || h[156] == '3' || h[156] == '4' || h[156] == '6')
		r->left = 0;
	r->pad = (BLK - r->left % BLK) % BLK;
	return M3_OK;
}

int
m3_tar_read(struct m3_tar_reader *r, void *buf, size_t n, struct m3_err *e)
{
	if (n > r->left)
		return m3_err_set(e, M3_EFAIL, "%s: read past the end of a tar member", r->name);
	if (get(r, buf, n) != n)
		return short_read(r, e);
	r->left -= n;
	return M3_OK;
}
