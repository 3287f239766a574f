/* Reading the m3 volume stream: header fields through a table of parsers, checks, data. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "m3/vol.h"

#define BUFSZ (256 * 1024)
#define LINEMAX (64 * 1024)
#define HEADMAX (1024 * 1024)

struct m3_vol_reader {
	FILE *fp;
	char *name;
	unsigned char *buf;
	size_t pos, len;
	int eof;
	char *line;
	size_t limit;
	unsigned long nvol;
	/* the current volume's data */
	int gzip, swap;
	size_t esize, left;
	int zinit, zended;
	z_stream zs;
};

/* What the field parsers fill while a header is read. */
struct hdr {
	struct m3_vol *v;
	unsigned seen;
	int enc; /* 0 raw, 1 gzip */
	int endian; /* 0 unset, 1 little, 2 big */
	char kinds[M3_VOL_MAXDIM][16];
	int dir_none[M3_VOL_MAXDIM];
};

enum {
	F_TYPE = 1 << 0,
	F_DIM = 1 << 1,
	F_SIZES = 1 << 2,
	F_SPACE = 1 << 3,
	F_DIRS = 1 << 4,
	F_ORIGIN = 1 << 5,
	F_KINDS = 1 << 6,
	F_ENDIAN = 1 << 7,
	F_ENC = 1 << 8,
};

struct m3_vol_reader *
m3_vol_reader_new(FILE *fp, const char *name)
{
	struct m3_vol_reader *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->fp = fp;
	r->name = strdup(name != NULL && strcmp(name, "-") != 0 ? name : "stdin");
	r->buf = malloc(BUFSZ);
	r->line = malloc(LINEMAX + 1);
	r->limit = m3_max_bytes();
	if (r->name == NULL || r->buf == NULL || r->line == NULL) {
		m3_vol_reader_free(r);
		return NULL;
	}
	return r;
}

void
m3_vol_reader_free(struct m3_vol_reader *r)
{
	if (r == NULL)
		return;
	if (r->zinit)
		inflateEnd(&r->zs);
	free(r->name);
	free(r->buf);
	free(r->line);
	free(r);
}

void
m3_vol_reader_set_limit(struct m3_vol_reader *r, size_t bytes)
{
	r->limit = bytes;
}

unsigned long
m3_vol_reader_count(const struct m3_vol_reader *r)
{
	return r->nvol;
}

/* Error with the reader's name and, past the first, the volume number in front. */
static int
rerr(struct m3_vol_reader *r, struct m3_err *e, int code, const char *msg)
{
	if (r->nvol > 1)
		return m3_err_set(e, code, "%s: volume %lu: %s", r->name, r->nvol, msg);
	return m3_err_set(e, code, "%s: %s", r->name, msg);
}

/* Makes buffered bytes available; 0 at EOF, -1 on a read error (errno set). */
static int
fill(struct m3_vol_reader *r)
{
	size_t n;

	if (r->pos < r->len)
		return 1;
	r->pos = r->len = 0;
	if (r->eof)
		return 0;
	n = fread(r->buf, 1, BUFSZ, r->fp);
	if (n == 0) {
		if (ferror(r->fp))
			return -1;
		r->eof = 1;
		return 0;
	}
	r->len = n;
	return 1;
}

/* Reads one header line into r->line without its newline; returns its length,
 * -1 at EOF before any byte, -2 when too long, -3 at EOF inside the line, -4 on error. */
static long
getline_hdr(struct m3_vol_reader *r)
{
	size_t n = 0;
	int f;

	for (;;) {
		if ((f = fill(r)) <= 0) {
			if (f < 0)
				return -4;
			r->line[n] = '\0';
			return n == 0 ? -1 : -3;
		}
		unsigned char *s = r->buf + r->pos, *nl = memchr(s, '\n', r->len - r->pos);
		size_t take = nl != NULL ? (size_t)(nl - s) : r->len - r->pos;
		if (n + take > LINEMAX)
			return -2;
		memcpy(r->line + n, s, take);
		n += take;
		r->pos += take;
		if (nl != NULL) {
			r->pos++;
			break;
		}
	}
	if (n > 0 && r->line[n - 1] == '\r')
		n--;
	r->line[n] = '\0';
	if (memchr(r->line, '\0', n) != NULL)
		return -5;
	return (long)n;
}

static int
parse_size(const char *s, size_t *out, const char **end)
{
	unsigned long long v;
	char *ep;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &ep, 10);
	if (errno != 0 || v > SIZE_MAX)
		return -2;
	*out = (size_t)v;
	*end = ep;
	return 0;
}

static int
parse_double(const char *s, double *out, const char **end)
{
	char *ep;

	errno = 0;
	*out = strtod(s, &ep);
	if (ep == s || errno == ERANGE || !isfinite(*out))
		return -1;
	*end = ep;
	return 0;
}

static const char *
skipsp(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* "(x,y,z)" into d; returns the rest of the string, NULL when malformed. */
static const char *
parse_vec(const char *s, double d[3])
{
	s = skipsp(s);
	if (*s++ != '(')
		return NULL;
	for (int i = 0; i < 3; i++) {
		if (parse_double(skipsp(s), &d[i], &s) != 0)
			return NULL;
		s = skipsp(s);
		if (*s++ != (i < 2 ? ',' : ')'))
			return NULL;
	}
	return s;
}

static int
f_type(struct hdr *h, const char *val, char *why, size_t wn)
{
	if ((h->v->type = m3_type_parse(val)) == M3_TNONE) {
		snprintf(why, wn, "unsupported type \"%.40s\"", val);
		return -1;
	}
	return 0;
}

static int
f_dimension(struct hdr *h, const char *val, char *why, size_t wn)
{
	size_t d;
	const char *end;

	if (parse_size(val, &d, &end) != 0 || *skipsp(end) != '\0' || d < 2 || d > M3_VOL_MAXDIM) {
		snprintf(why, wn, "\"%.40s\" is not 2 to %d", val, M3_VOL_MAXDIM);
		return -1;
	}
	h->v->dim = (unsigned)d;
	return 0;
}

static int
f_sizes(struct hdr *h, const char *val, char *why, size_t wn)
{
	const char *s = val;
	unsigned i;

	for (i = 0; i < h->v->dim; i++) {
		int rc = parse_size(s, &h->v->sizes[i], &s);
		if (rc != 0 || (*s != ' ' && *s != '\t' && *s != '\0')) {
			snprintf(why, wn, "axis %u is not a non-negative integer%s", i,
				 rc == -2 ? " in range" : "");
			return -1;
		}
		if (h->v->sizes[i] == 0) {
			snprintf(why, wn, "axis %u is 0", i);
			return -1;
		}
	}
	if (*skipsp(s) != '\0') {
		snprintf(why, wn, "more than %u values", h->v->dim);
		return -1;
	}
	return 0;
}

static int
f_space(struct hdr *h, const char *val, char *why, size_t wn)
{
	if (strcmp(val, "left-posterior-superior") != 0 && strcmp(val, "LPS") != 0) {
		snprintf(why, wn, "\"%.40s\" is not left-posterior-superior", val);
		return -1;
	}
	h->v->has_space = 1;
	return 0;
}

static int
f_dirs(struct hdr *h, const char *val, char *why, size_t wn)
{
	const char *s = val;

	for (unsigned i = 0; i < h->v->dim; i++) {
		s = skipsp(s);
		if (strncmp(s, "none", 4) == 0) {
			h->dir_none[i] = 1;
			s += 4;
		} else if ((s = parse_vec(s, h->v->dirs[i])) == NULL) {
			snprintf(why, wn, "axis %u is not \"(x,y,z)\" or none", i);
			return -1;
		}
	}
	if (*skipsp(s) != '\0') {
		snprintf(why, wn, "more than %u vectors", h->v->dim);
		return -1;
	}
	return 0;
}

static int
f_origin(struct hdr *h, const char *val, char *why, size_t wn)
{
	const char *s = parse_vec(val, h->v->origin);

	if (s == NULL || *skipsp(s) != '\0') {
		snprintf(why, wn, "not \"(x,y,z)\"");
		return -1;
	}
	h->v->has_origin = 1;
	return 0;
}

static int
f_kinds(struct hdr *h, const char *val, char *why, size_t wn)
{
	const char *s = val;

	for (unsigned i = 0; i < h->v->dim; i++) {
		size_t n;
		s = skipsp(s);
		n = strcspn(s, " \t");
		if (n == 0 || n >= sizeof(h->kinds[i])) {
			snprintf(why, wn, "axis %u missing or too long", i);
			return -1;
		}
		memcpy(h->kinds[i], s, n);
		h->kinds[i][n] = '\0';
		s += n;
		if (strcmp(h->kinds[i], "RGB-color") != 0 && strcmp(h->kinds[i], "domain") != 0 &&
		    strcmp(h->kinds[i], "space") != 0 && strcmp(h->kinds[i], "???") != 0 &&
		    strcmp(h->kinds[i], "none") != 0) {
			snprintf(why, wn, "axis %u kind \"%s\" is not in the m3 subset", i,
				 h->kinds[i]);
			return -1;
		}
	}
	if (*skipsp(s) != '\0') {
		snprintf(why, wn, "more than %u values", h->v->dim);
		return -1;
	}
	return 0;
}

static int
f_endian(struct hdr *h, const char *val, char *why, size_t wn)
{
	if (strcmp(val, "little") == 0)
		h->endian = 1;
	else if (strcmp(val, "big") == 0)
		h->endian = 2;
	else {
		snprintf(why, wn, "\"%.40s\" is not little or big", val);
		return -1;
	}
	return 0;
}

static int
f_encoding(struct hdr *h, const char *val, char *why, size_t wn)
{
	if (strcmp(val, "raw") == 0)
		h->enc = 0;
	else if (strcmp(val, "gzip") == 0 || strcmp(val, "gz") == 0)
		h->enc = 1;
	else {
		snprintf(why, wn, "\"%.40s\" is not raw or gzip", val);
		return -1;
	}
	return 0;
}

/* Only 0 is in the subset: the data follows the blank line at once. */
static int
f_skip(struct hdr *h, const char *val, char *why, size_t wn)
{
	(void)h;
	if (strcmp(val, "0") != 0) {
		snprintf(why, wn, "only 0 is supported");
		return -1;
	}
	return 0;
}

static int
f_refuse(struct hdr *h, const char *val, char *why, size_t wn)
{
	(void)h;
	(void)val;
	snprintf(why, wn, "not in the m3 subset");
	return -1;
}

static int
f_ignore(struct hdr *h, const char *val, char *why, size_t wn)
{
	(void)h;
	(void)val;
	(void)why;
	(void)wn;
	return 0;
}

static const struct field {
	const char *name;
	int (*parse)(struct hdr *, const char *, char *, size_t);
	unsigned bit; /* for the seen mask; 0 for fields that are not tracked */
	unsigned need; /* fields that must come before this one */
} fields[] = {
	{"type", f_type, F_TYPE, 0},
	{"dimension", f_dimension, F_DIM, 0},
	{"sizes", f_sizes, F_SIZES, F_DIM},
	{"space", f_space, F_SPACE, 0},
	{"space directions", f_dirs, F_DIRS, F_DIM | F_SPACE},
	{"space origin", f_origin, F_ORIGIN, F_SPACE},
	{"kinds", f_kinds, F_KINDS, F_DIM},
	{"endian", f_endian, F_ENDIAN, 0},
	{"encoding", f_encoding, F_ENC, 0},
	{"line skip", f_skip, 0, 0},
	{"lineskip", f_skip, 0, 0},
	{"byte skip", f_skip, 0, 0},
	{"byteskip", f_skip, 0, 0},
	/* a stream must never make a tool open a path named in its input */
	{"data file", f_refuse, 0, 0},
	{"datafile", f_refuse, 0, 0},
	{"space dimension", f_refuse, 0, 0},
	{"spacings", f_refuse, 0, 0},
	{"axis mins", f_refuse, 0, 0},
	{"axismins", f_refuse, 0, 0},
	{"axis maxs", f_refuse, 0, 0},
	{"axismaxs", f_refuse, 0, 0},
	{"block size", f_refuse, 0, 0},
	{"blocksize", f_refuse, 0, 0},
	/* descriptive fields that change nothing in the data or its geometry */
	{"content", f_ignore, 0, 0},
	{"space units", f_ignore, 0, 0},
	{"centers", f_ignore, 0, 0},
	{"centerings", f_ignore, 0, 0},
	{"labels", f_ignore, 0, 0},
	{"units", f_ignore, 0, 0},
	{"thicknesses", f_ignore, 0, 0},
	{"measurement frame", f_ignore, 0, 0},
	{"sample units", f_ignore, 0, 0},
	{"sampleunits", f_ignore, 0, 0},
	{"old min", f_ignore, 0, 0},
	{"oldmin", f_ignore, 0, 0},
	{"old max", f_ignore, 0, 0},
	{"oldmax", f_ignore, 0, 0},
	{"min", f_ignore, 0, 0},
	{"max", f_ignore, 0, 0},
};

static const char *
field_name(unsigned bit)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i].bit == bit)
			return fields[i].name;
	return "?";
}

/* Undoes NRRD's escapes in a value: "\n" and "\\". */
static void
unescape(char *s)
{
	char *d = s;

	for (; *s != '\0'; s++) {
		if (*s == '\\' && (s[1] == 'n' || s[1] == '\\')) {
			*d++ = s[1] == 'n' ? '\n' : '\\';
			s++;
		} else
			*d++ = *s;
	}
	*d = '\0';
}

static int
header_line(struct m3_vol_reader *r, struct hdr *h, char *line, struct m3_err *e)
{
	char why[200], msg[300];
	char *colon = strchr(line, ':');
	const struct field *f = NULL;
	int rc;

	if (colon == NULL)
		return rerr(r, e, M3_EDATA, "header line without a field name");
	if (colon[1] == '=') {
		*colon = '\0';
		unescape(colon + 2);
		if ((rc = m3_vol_set(h->v, line, colon + 2, e)) != M3_OK) {
			snprintf(msg, sizeof(msg), "%.280s", e->msg);
			return rerr(r, e, rc == M3_ENOMEM ? rc : M3_EDATA, msg);
		}
		return M3_OK;
	}
	if (colon[1] != ' ') {
		snprintf(msg, sizeof(msg), "%.60s: no space after the colon", line);
		return rerr(r, e, M3_EDATA, msg);
	}
	*colon = '\0';
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(fields[i].name, line) == 0)
			f = &fields[i];
	if (f == NULL) {
		snprintf(msg, sizeof(msg), "unknown field \"%.60s\"", line);
		return rerr(r, e, M3_EDATA, msg);
	}
	if (f->bit != 0 && (h->seen & f->bit) != 0) {
		snprintf(msg, sizeof(msg), "%s: given twice", f->name);
		return rerr(r, e, M3_EDATA, msg);
	}
	if ((h->seen & f->need) != f->need) {
		snprintf(msg, sizeof(msg), "%s: comes before %s", f->name,
			 field_name(f->need & ~h->seen & -(f->need & ~h->seen)));
		return rerr(r, e, M3_EDATA, msg);
	}
	if (f->parse(h, skipsp(colon + 2), why, sizeof(why)) != 0) {
		snprintf(msg, sizeof(msg), "%s: %s", f->name, why);
		return rerr(r, e, M3_EDATA, msg);
	}
	h->seen |= f->bit;
	return M3_OK;
}

static int
host_big(void)
{
	const uint16_t one = 1;

	return *(const unsigned char *)&one == 0;
}

/* The consistency pass after the blank line, before anything is allocated. */
static int
header_check(struct m3_vol_reader *r, struct hdr *h, struct m3_err *e)
{
	static const unsigned must[] = {F_TYPE, F_DIM, F_SIZES, F_ENC};
	struct m3_vol *v = h->v;
	char msg[300];
	size_t nbytes;
	int rc;

	for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++) {
		if ((h->seen & must[i]) == 0) {
			snprintf(msg, sizeof(msg), "%s: missing", field_name(must[i]));
			return rerr(r, e, M3_EDATA, msg);
		}
	}
	v->rgb = (h->seen & F_KINDS) != 0 && strcmp(h->kinds[0], "RGB-color") == 0;
	for (unsigned i = 1; i < v->dim && (h->seen & F_KINDS); i++)
		if (strcmp(h->kinds[i], "RGB-color") == 0)
			return rerr(r, e, M3_EDATA, "kinds: RGB-color only as axis 0");
	if (v->rgb && v->sizes[0] != 3)
		return rerr(r, e, M3_EDATA, "sizes: an RGB-color axis has size 3");
	if (v->dim - (unsigned)v->rgb < 2 || v->dim - (unsigned)v->rgb > 3)
		return rerr(r, e, M3_EDATA, "dimension: not 2 or 3 spatial axes");
	if (v->has_space && (h->seen & F_DIRS) == 0)
		return rerr(r, e, M3_EDATA, "space directions: missing");
	for (unsigned i = 0; i < v->dim && (h->seen & F_DIRS); i++) {
		int want_none = v->rgb && i == 0;
		if (h->dir_none[i] != want_none)
			return rerr(r, e, M3_EDATA,
				    want_none ? "space directions: RGB axis must be none"
					      : "space directions: none on a spatial axis");
	}
	if (m3_type_size(v->type) > 1 && h->endian == 0)
		return rerr(r, e, M3_EDATA, "endian: missing");
	if ((rc = m3_vol_nbytes(v, &nbytes, e)) != M3_OK)
		return rerr(r, e, rc, strcpy(msg, e->msg));
	if (nbytes > r->limit) {
		snprintf(msg, sizeof(msg),
			 "sizes: %zu bytes is over the limit of %zu (M3_MAX_BYTES)", nbytes,
			 r->limit);
		return rerr(r, e, M3_ELIMIT, msg);
	}
	r->esize = m3_type_size(v->type);
	r->left = nbytes;
	r->gzip = h->enc;
	r->swap = r->esize > 1 && (h->endian == 2) != host_big();
	return M3_OK;
}

static int
skip_rest(struct m3_vol_reader *r, struct m3_err *e)
{
	unsigned char junk[16384];

	while (r->left > 0) {
		size_t n = r->left < sizeof(junk) ? r->left : sizeof(junk);
		n -= n % (r->esize ? r->esize : 1);
		int rc = m3_vol_read_data(r, junk, n, e);
		if (rc != M3_OK)
			return rc;
	}
	return M3_OK;
}

int
m3_vol_read_header(struct m3_vol_reader *r, struct m3_vol *v, struct m3_err *e)
{
	struct hdr h;
	size_t total = 0;
	long n;
	int rc;

	if ((rc = skip_rest(r, e)) != M3_OK)
		return rc;
	m3_vol_release(v);
	memset(&h, 0, sizeof(h));
	h.v = v;
	n = getline_hdr(r);
	if (n == -1) {
		if (r->nvol == 0)
			return m3_err_set(e, M3_ENOINPUT, "%s: empty input", r->name);
		return M3_EOF;
	}
	r->nvol++;
	if (n == -4)
		return rerr(r, e, M3_EIO, strerror(errno));
	if (n == -3 && strncmp(r->line, "NRRD", 4) == 0)
		return rerr(r, e, M3_EDATA, "truncated header");
	if (n < 8 || strncmp(r->line, "NRRD000", 7) != 0 || r->line[7] < '1' || r->line[7] > '5' ||
	    r->line[8] != '\0')
		return rerr(r, e, M3_EDATA,
			    r->nvol > 1 ? "garbage after the previous volume (bad magic)"
					: "not an m3 volume stream (bad magic)");
	for (;;) {
		n = getline_hdr(r);
		if (n == -1 || n == -3)
			return rerr(r, e, M3_EDATA, "truncated header");
		if (n == -2)
			return rerr(r, e, M3_EDATA, "header line longer than 64 KiB");
		if (n == -4)
			return rerr(r, e, M3_EIO, strerror(errno));
		if (n == -5)
			return rerr(r, e, M3_EDATA, "NUL byte in the header");
		if ((total += (size_t)n + 1) > HEADMAX)
			return rerr(r, e, M3_EDATA, "header longer than 1 MiB");
		if (n == 0)
			break;
		if (r->line[0] == '#')
			continue;
		if ((rc = header_line(r, &h, r->line, e)) != M3_OK) {
			m3_vol_release(v);
			return rc;
		}
	}
	if ((rc = header_check(r, &h, e)) != M3_OK) {
		m3_vol_release(v);
		return rc;
	}
	return M3_OK;
}

static void
swap_bytes(unsigned char *p, size_t n, size_t es)
{
	for (size_t i = 0; i + es <= n; i += es)
		for (size_t a = 0, b = es - 1; a < b; a++, b--) {
			unsigned char t = p[i + a];
			p[i + a] = p[i + b];
			p[i + b] = t;
		}
}

static int
read_raw(struct m3_vol_reader *r, unsigned char *dst, size_t n, struct m3_err *e)
{
	size_t got = 0;

	while (got < n) {
		int f = fill(r);
		if (f < 0)
			return rerr(r, e, M3_EIO, strerror(errno));
		if (f == 0)
			return rerr(r, e, M3_EDATA, "truncated data");
		size_t take = r->len - r->pos;
		if (take > n - got)
			take = n - got;
		memcpy(dst + got, r->buf + r->pos, take);
		r->pos += take;
		got += take;
		/* large reads go straight to the destination */
		if (n - got >= BUFSZ) {
			size_t m = fread(dst + got, 1, n - got, r->fp);
			got += m;
			if (got < n && ferror(r->fp))
				return rerr(r, e, M3_EIO, strerror(errno));
		}
	}
	return M3_OK;
}

/* Inflates exactly n bytes of the current gzip member into dst. */
static int
read_gzip(struct m3_vol_reader *r, unsigned char *dst, size_t n, struct m3_err *e)
{
	size_t done = 0;
	int zr, f;

	if (!r->zinit) {
		memset(&r->zs, 0, sizeof(r->zs));
		if (inflateInit2(&r->zs, 16 + MAX_WBITS) != Z_OK)
			return rerr(r, e, M3_ENOMEM, "cannot start zlib");
		r->zinit = 1;
	}
	while (done < n) {
		if ((f = fill(r)) < 0)
			return rerr(r, e, M3_EIO, strerror(errno));
		if (f == 0)
			return rerr(r, e, M3_EDATA, "truncated gzip data");
		uInt chunk = n - done > (1u << 30) ? (1u << 30) : (uInt)(n - done);
		r->zs.next_in = r->buf + r->pos;
		r->zs.avail_in = (uInt)(r->len - r->pos);
		r->zs.next_out = dst + done;
		r->zs.avail_out = chunk;
		zr = inflate(&r->zs, Z_NO_FLUSH);
		r->pos = r->len - r->zs.avail_in;
		done += chunk - r->zs.avail_out;
		if (zr == Z_STREAM_END && done < n)
			return rerr(r, e, M3_EDATA, "gzip data shorter than sizes say");
		if (zr == Z_STREAM_END) {
			r->zended = 1;
			break;
		}
		if (zr != Z_OK && zr != Z_BUF_ERROR)
			return rerr(r, e, M3_EDATA, "corrupt gzip data");
	}
	return M3_OK;
}

/* After the last byte the member must end: no more data, and its trailer checks out. */
static int
end_gzip(struct m3_vol_reader *r, struct m3_err *e)
{
	unsigned char probe;
	int zr, f;

	while (!r->zended) {
		if ((f = fill(r)) < 0)
			return rerr(r, e, M3_EIO, strerror(errno));
		if (f == 0)
			return rerr(r, e, M3_EDATA, "truncated gzip data");
		r->zs.next_in = r->buf + r->pos;
		r->zs.avail_in = (uInt)(r->len - r->pos);
		r->zs.next_out = &probe;
		r->zs.avail_out = 1;
		zr = inflate(&r->zs, Z_NO_FLUSH);
		r->pos = r->len - r->zs.avail_in;
		if (r->zs.avail_out == 0)
			return rerr(r, e, M3_EDATA, "gzip data longer than sizes say");
		if (zr == Z_STREAM_END)
			break;
		if (zr != Z_OK && zr != Z_BUF_ERROR)
			return rerr(r, e, M3_EDATA, "corrupt gzip data");
	}
	r->zended = 0;
	inflateReset(&r->zs);
	return M3_OK;
}

int
m3_vol_read_data(struct m3_vol_reader *r, void *buf, size_t n, struct m3_err *e)
{
	int rc;

	if (n > r->left)
		return m3_err_set(e, M3_EFAIL, "%s: read past the end of the volume data", r->name);
	if (r->esize == 0 || n % r->esize != 0)
		return m3_err_set(e, M3_EFAIL, "%s: read of a partial element", r->name);
	rc = r->gzip ? read_gzip(r, buf, n, e) : read_raw(r, buf, n, e);
	if (rc != M3_OK) {
		r->left = 0;
		if (r->zinit) {
			r->zended = 0;
			inflateReset(&r->zs);
		}
		return rc;
	}
	r->left -= n;
	if (r->swap)
		swap_bytes(buf, n, r->esize);
	if (r->left == 0 && r->gzip)
		return end_gzip(r, e);
	return M3_OK;
}

int
m3_vol_read(struct m3_vol_reader *r, struct m3_vol *v, struct m3_err *e)
{
	size_t n;
	int rc;

	if ((rc = m3_vol_read_header(r, v, e)) != M3_OK)
		return rc;
	n = r->left;
	if ((rc = m3_vol_alloc(v, e)) != M3_OK)
		return rc;
	if ((rc = m3_vol_read_data(r, v->data, n, e)) != M3_OK) {
		m3_vol_release(v);
		return rc;
	}
	return M3_OK;
}
