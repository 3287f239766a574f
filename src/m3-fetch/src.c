/* Where objects come from: files and folders, S3 buckets, plain http(s) URLs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fetch.h"
#include "m3/json.h"
#include "m3/sha256.h"

static int
days_from_civil(int y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int)doe - 719468;
}

time_t
iso_to_time(const char *iso)
{
	int y, mo, d, h, mi, s;

	if (sscanf(iso, "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &s) != 6)
		return 0;
	return (time_t)days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 +
	       s;
}

static void
time_to_iso(time_t t, char *out, size_t n)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "Tue, 02 Jan 2024 03:04:05 GMT" (Last-Modified) to ISO 8601. */
static void
http_date_to_iso(const char *s, char *out, size_t n)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char mon[4];
	int d, y, h, mi, sec;
	const char *m;

	out[0] = '\0';
	if (sscanf(s, "%*3s, %d %3s %d %d:%d:%d", &d, mon, &y, &h, &mi, &sec) != 6 ||
	    (m = strstr(months, mon)) == NULL)
		return;
	snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, (int)((m - months) / 3 + 1), d, h, mi,
		 sec);
}

void
list_line(FILE *f, const struct obj *ob)
{
	fputs("{\"key\":", f);
	m3_json_str(f, ob->key);
	fprintf(f, ",\"size\":%llu,\"etag\":", (unsigned long long)ob->size);
	if (ob->etag[0] != '\0')
		m3_json_str(f, ob->etag);
	else
		fputs("null", f);
	fputs(",\"mtime\":", f);
	m3_json_str(f, ob->mtime);
	fputs("}\n", f);
}

int
src_add(struct src *s, const char *name, const char *key, uint64_t size, const char *etag,
	const char *mtime, struct m3_err *e)
{
	struct obj *ob;

	if (s->nobj == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct obj *p = realloc(s->objs, cap * sizeof(*p));
		if (p == NULL)
			return m3_err_set(e, M3_ENOMEM, "out of memory");
		s->objs = p;
		s->cap = cap;
	}
	ob = &s->objs[s->nobj];
	memset(ob, 0, sizeof(*ob));
	ob->name = strdup(name);
	ob->key = strdup(key);
	if (ob->name == NULL || ob->key == NULL) {
		free(ob->name);
		free(ob->key);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	ob->size = size;
	snprintf(ob->etag, sizeof(ob->etag), "%s", etag ? etag : "");
	snprintf(ob->mtime, sizeof(ob->mtime), "%s", mtime ? mtime : "");
	s->nobj++;
	return M3_OK;
}

int
src_open(struct src *s, const char *url, const struct opts *o, struct m3_err *e)
{
	struct stat st;
	int rc;

	s->url = url;
	if (strncmp(url, "s3://", 5) == 0) {
		s->kind = SRC_S3;
		if ((rc = m3_s3_parse(url, &s->bucket, &s->key, e)) != M3_OK)
			return rc;
		s->prefix = *s->key == '\0' || s->key[strlen(s->key) - 1] == '/';
		if ((rc = m3_s3_init(&s->s3, &s->net, o->anon, e)) != M3_OK)
			return m3_err_prefix(e, "%s", url);
		return M3_OK;
	}
	if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) {
		s->kind = SRC_HTTP;
		return M3_OK;
	}
	if (strncmp(url, "file://", 7) == 0)
		url += 7;
	else if (strstr(url, "://") != NULL)
		return m3_err_set(e, M3_EDATA,
				  "%s: unknown scheme (s3, http, https, "
				  "dicomweb+http, dicomweb+https or file)",
				  url);
	s->kind = SRC_FILE;
	if ((s->path = strdup(url)) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	if (stat(s->path, &st) != 0)
		return m3_err_set(e, errno == EACCES ? M3_EACCESS : M3_EDATA, "%s: %s", s->url,
				  strerror(errno));
	s->prefix = S_ISDIR(st.st_mode);
	return M3_OK;
}

void
src_close(struct src *s)
{
	for (size_t i = 0; i < s->nobj; i++) {
		free(s->objs[i].name);
		free(s->objs[i].key);
	}
	free(s->objs);
	free(s->bucket);
	free(s->key);
	free(s->path);
	if (s->kind == SRC_S3)
		m3_s3_release(&s->s3);
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct obj *)a)->name, ((const struct obj *)b)->name);
}

/* Every regular file under dir (rel is the name so far). */
static int
walk(struct src *s, const char *dir, const char *rel, struct m3_err *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = M3_OK;

	if (d == NULL)
		return m3_err_set(e, errno == EACCES ? M3_EACCESS : M3_EDATA, "%s: %s", dir,
				  strerror(errno));
	while (rc == M3_OK && (de = readdir(d)) != NULL) {
		char path[4096], name[4096], mt[40];
		struct stat st;
		if (de->d_name[0] == '.' &&
		    (de->d_name[1] == '\0' || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		snprintf(name, sizeof(name), "%s%s%s", rel, *rel ? "/" : "", de->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			rc = walk(s, path, name, e);
		} else if (S_ISREG(st.st_mode)) {
			time_to_iso(st.st_mtime, mt, sizeof(mt));
			rc = src_add(s, name, path, (uint64_t)st.st_size, NULL, mt, e);
		}
	}
	closedir(d);
	return rc;
}

static int
add_s3(void *arg, const struct m3_s3_obj *o, struct m3_err *e)
{
	struct src *s = arg;
	const char *name = o->key + strlen(s->key);

	if (o->key[0] != '\0' && o->key[strlen(o->key) - 1] == '/' && o->size == 0)
		return M3_OK; /* a folder marker */
	return src_add(s, name, o->key, o->size, o->etag, o->mtime, e);
}

struct plain {
	const char *url;
	const char *range;
};

static int
plain_prep(void *arg, struct m3_http_req *q, struct m3_err *e)
{
	const struct plain *p = arg;

	(void)e;
	q->method = p->range == NULL ? "HEAD" : "GET";
	q->url = p->url;
	if (p->range != NULL && *p->range != '\0')
		q->hdr[q->nhdr++] = p->range;
	return M3_OK;
}

static void
unquote(char *etag)
{
	size_t n = strlen(etag);

	if (strncmp(etag, "W/", 2) == 0) { /* a weak tag says nothing about the bytes */
		etag[0] = '\0';
		return;
	}
	if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"') {
		memmove(etag, etag + 1, n - 2);
		etag[n - 2] = '\0';
	}
}

static int
head_one(struct src *s, struct m3_conn *c, struct m3_err *e)
{
	struct m3_http_resp r;
	const char *base;
	char mt[40];
	int rc;

	m3_http_resp_init(&r);
	if (s->kind == SRC_S3) {
		struct m3_s3_req q = {.method = "HEAD", .bucket = s->bucket, .key = s->key};
		rc = m3_s3_do(&s->s3, c, &q, &r, e);
		base = s->key;
	} else {
		struct plain p = {s->url, NULL};
		rc = m3_http_do(c, plain_prep, &p, &r, e);
		base = s->url;
	}
	if (rc == M3_OK && r.content_length < 0)
		rc = m3_err_set(e, M3_EREMOTE, "no Content-Length in the answer");
	if (rc == M3_OK) {
		unquote(r.etag);
		http_date_to_iso(r.last_modified, mt, sizeof(mt));
		rc = src_add(s, strrchr(base, '/') ? strrchr(base, '/') + 1 : base,
			     s->kind == SRC_S3 ? s->key : s->url, (uint64_t)r.content_length,
			     r.etag, mt, e);
	}
	m3_http_resp_release(&r);
	return rc;
}

int
src_objects(struct src *s, struct m3_conn *c, struct m3_err *e)
{
	struct stat st;
	char mt[40];
	int rc;

	switch (s->kind) {
	case SRC_FILE:
		if (s->prefix) {
			if ((rc = walk(s, s->path, "", e)) != M3_OK)
				return rc;
			qsort(s->objs, s->nobj, sizeof(*s->objs), cmp_name);
			return M3_OK;
		}
		if (stat(s->path, &st) != 0)
			return m3_err_set(e, M3_EDATA, "%s: %s", s->url, strerror(errno));
		time_to_iso(st.st_mtime, mt, sizeof(mt));
		return src_add(s, s->path, s->path, (uint64_t)st.st_size, NULL, mt, e);
	case SRC_S3:
		rc = s->prefix ? m3_s3_list(&s->s3, c, s->bucket, s->key, add_s3, s, e)
			       : head_one(s, c, e);
		return rc == M3_OK ? rc : m3_err_prefix(e, "%s", s->url);
	case SRC_HTTP:
		rc = head_one(s, c, e);
		return rc == M3_OK ? rc : m3_err_prefix(e, "%s", s->url);
	default:
		return m3_err_set(e, M3_EFAIL, "internal error: source kind");
	}
}

/*
 * One ranged read: the bytes go to the sink in order, each once.  A retry after a short body
 * or a reset asks only for what is still missing (Range from the first byte not yet taken),
 * so a piece that is being streamed out is never written twice.
 */
struct rng {
	const struct obj *ob; /* NULL until the first answer of src_first names it */
	uint64_t off;
	size_t len, got;
	int whole;
	int ranged; /* this attempt sent a Range */
	int checked; /* this attempt's answer is checked against what it asked for */
	const size_t *cut; /* src_first: where the sink wants the piece to end */
	int was_cut, stopped; /* len lowered to *cut; the transfer stopped there */
	m3_http_sink sink;
	void *sinkarg;
	char range[64], rangehdr[80], ifmatch[100];
	struct m3_kv h[3];
	int summing; /* a whole object whose answer carries x-amz-checksum-sha256: hashed */
	struct m3_hash sha;
	struct m3_s3_req q;
	const struct m3_http_resp *resp; /* the answer whose headers come with the bytes */
	/* src_first: the source, and the callback once the object is known */
	struct src *s;
	src_known known;
	void *knownarg;
	int known_rc; /* known() failed: a local error, not the object's */
};

static void
rng_before(void *arg)
{
	struct rng *r = arg;

	if (r->len == SIZE_MAX) /* src_first: all of it, whatever its size */
		snprintf(r->range, sizeof(r->range), "bytes=%llu-",
			 (unsigned long long)(r->off + r->got));
	else
		snprintf(r->range, sizeof(r->range), "bytes=%llu-%llu",
			 (unsigned long long)(r->off + r->got),
			 (unsigned long long)(r->off + r->len - 1));
	snprintf(r->rangehdr, sizeof(r->rangehdr), "Range: %s", r->range);
	r->q.nheaders = 0;
	r->ranged = !r->whole || r->got > 0;
	r->checked = 0;
	if (r->ranged)
		r->h[r->q.nheaders++] = (struct m3_kv){"range", r->range};
	/* the object must not change between pieces (nor between attempts) */
	if (r->ob != NULL && r->ob->etag[0] != '\0')
		r->h[r->q.nheaders++] = (struct m3_kv){"if-match", r->ifmatch};
	/* S3 then gives the checksum an object was uploaded with (whole objects only) */
	if (r->whole)
		r->h[r->q.nheaders++] = (struct m3_kv){"x-amz-checksum-mode", "ENABLED"};
}

/* A full-object x-amz-checksum-sha256 in this answer (not a composite "...-N" of parts). */
static int
full_sha256(const struct m3_http_resp *p)
{
	return p->checksum_sha256[0] != '\0' && strchr(p->checksum_sha256, '-') == NULL;
}

/* The SHA-256 of the whole object against the checksum S3 gave with it. */
static int
sum_check(struct rng *r, struct m3_err *e)
{
	unsigned char d[M3_SHA256_LEN];
	char b64[48];

	m3_hash_final(&r->sha, d);
	m3_hash_release(&r->sha);
	r->summing = 0;
	m3_base64(d, sizeof(d), b64);
	if (strcmp(b64, r->resp->checksum_sha256) != 0)
		return m3_err_set(e, M3_EREMOTE,
				  "x-amz-checksum-sha256 %s does not match the SHA-256 %s of the "
				  "bytes got",
				  r->resp->checksum_sha256, b64);
	return M3_OK;
}

/*
 * src_first: the object as the answer to its first ranged GET describes it.  A 206 says the
 * size in "Content-Range: bytes 0-B/SIZE"; a 200 (a server that ignores Range) is the whole
 * object, which then is the first piece.
 */
static int
first_learn(struct rng *r, struct m3_err *e)
{
	const struct m3_http_resp *p = r->resp;
	struct src *s = r->s;
	unsigned long long a, b, size;
	char etag[sizeof(p->etag)], mt[40];
	const char *base = strrchr(s->key, '/') ? strrchr(s->key, '/') + 1 : s->key;
	int rc;

	if (p->status == 206) {
		if (sscanf(p->content_range, "bytes %llu-%llu/%llu", &a, &b, &size) != 3 ||
		    a != 0 || b >= size || b + 1 != (size < r->len ? size : r->len))
			return m3_err_set(e, M3_EREMOTE, "unexpected Content-Range \"%s\"",
					  p->content_range);
	} else if (p->content_length < 0) {
		return m3_err_set(e, M3_EREMOTE, "no Content-Length in the answer");
	} else {
		size = (unsigned long long)p->content_length;
		if (size > SIZE_MAX)
			return m3_err_set(e, M3_ENOMEM, "%llu bytes: too large", size);
		r->len = (size_t)size;
		r->whole = 1; /* a retry asks for the rest, or with no Range for all of it */
	}
	if (size < r->len)
		r->len = (size_t)size;
	snprintf(etag, sizeof(etag), "%s", p->etag);
	unquote(etag);
	http_date_to_iso(p->last_modified, mt, sizeof(mt));
	if ((rc = src_add(s, base, s->key, size, etag, mt, e)) != M3_OK)
		return rc;
	r->ob = &s->objs[0];
	snprintf(r->ifmatch, sizeof(r->ifmatch), "\"%s\"", r->ob->etag);
	if ((rc = r->known(r->knownarg, r->len, p->status == 206, e)) != M3_OK)
		r->known_rc = rc;
	return rc;
}

/*
 * Before the first byte of an attempt that sent a Range: the answer must be those bytes (206
 * from the first byte not yet taken), not the object from byte 0 (200, Range ignored) nor
 * other bytes.  A server that honoured the Range before may be another one now (a balancer):
 * retried.
 */
static int
rng_check(struct rng *r, struct m3_err *e)
{
	const struct m3_http_resp *p = r->resp;
	unsigned long long a, b, size, want = (unsigned long long)(r->off + r->got);

	r->checked = 1;
	if (!r->ranged)
		return M3_OK;
	if (p->status != 206)
		return m3_err_set(e, M3_EREMOTE, "HTTP %ld to \"Range: %s\"", p->status, r->range);
	if (sscanf(p->content_range, "bytes %llu-%llu/%llu", &a, &b, &size) != 3 || a != want ||
	    b < a)
		return m3_err_set(e, M3_EREMOTE, "Content-Range \"%s\" to \"Range: %s\"",
				  p->content_range, r->range);
	return M3_OK;
}

static int
rng_data(void *arg, const void *p, size_t n, struct m3_err *e)
{
	struct rng *r = arg;
	size_t take;
	int rc;

	if (r->ob == NULL) {
		if ((rc = first_learn(r, e)) != M3_OK)
			return rc;
		r->checked = 1;
	} else if (!r->checked && (rc = rng_check(r, e)) != M3_OK) {
		return rc;
	}
	if (r->cut != NULL && *r->cut < r->len) {
		r->len = *r->cut;
		r->was_cut = 1;
	}
	if (n > r->len - r->got && !r->was_cut)
		return m3_err_set(e, M3_EREMOTE, "response body longer than expected");
	take = n < r->len - r->got ? n : r->len - r->got;
	/* decided by the first answer (a later one resumes with a Range and carries none) */
	if (r->whole && r->got == 0 && !r->summing && full_sha256(r->resp)) {
		if (m3_hash_init(&r->sha, M3_HASH_SHA256) != 0)
			return m3_err_set(e, M3_ENOMEM, "out of memory");
		r->summing = 1;
	}
	if (r->summing && take > 0)
		m3_hash_update(&r->sha, p, take);
	if (take > 0 && (rc = r->sink(r->sinkarg, p, take, e)) != M3_OK)
		return rc;
	r->got += take;
	if (r->was_cut && r->got == r->len) { /* the rest of the answer is not wanted */
		r->stopped = 1;
		return m3_err_set(e, M3_EFAIL, "stopped at byte %zu", r->len);
	}
	return M3_OK;
}

/* The S3 GET of g: its headers and Range set before each attempt, its bytes through rng_data. */
static void
rng_s3_get(struct rng *g, const char *bucket, const char *key)
{
	g->q = (struct m3_s3_req){.method = "GET",
				  .bucket = bucket,
				  .key = key,
				  .headers = g->h,
				  .sink = rng_data,
				  .sinkarg = g,
				  .before = rng_before,
				  .beforearg = g};
}

static int
rng_plain_prep(void *arg, struct m3_http_req *q, struct m3_err *e)
{
	struct rng *r = arg;

	(void)e;
	rng_before(r);
	q->method = "GET";
	q->url = r->ob->key;
	if (!r->whole || r->got > 0)
		q->hdr[q->nhdr++] = r->rangehdr;
	q->sink = rng_data;
	q->sinkarg = r;
	return M3_OK;
}

static int
file_range(const struct obj *ob, uint64_t off, size_t len, m3_http_sink sink, void *arg,
	   struct m3_err *e)
{
	size_t got = 0, bufsz = len < (1u << 20) ? len : (1u << 20);
	char *buf = malloc(bufsz ? bufsz : 1);
	int fd, rc = M3_OK;

	if (buf == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	if ((fd = open(ob->key, O_RDONLY)) < 0) {
		free(buf);
		return m3_err_set(e, errno == EACCES ? M3_EACCESS : M3_EDATA, "%s: %s", ob->key,
				  strerror(errno));
	}
	while (rc == M3_OK && got < len) {
		size_t want = len - got < bufsz ? len - got : bufsz;
		ssize_t n = pread(fd, buf, want, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = m3_err_set(e, n < 0 ? M3_EIO : M3_EDATA, "%s: %s", ob->key,
					n < 0 ? strerror(errno) : "file shrank while being read");
			break;
		}
		rc = sink(arg, buf, (size_t)n, e);
		got += (size_t)n;
	}
	close(fd);
	free(buf);
	return rc;
}

int
src_range(struct src *s, struct m3_conn *c, const struct obj *ob, uint64_t off, size_t len,
	  m3_http_sink sink, void *sinkarg, struct m3_err *e)
{
	struct m3_http_resp r;
	struct rng *g;
	int rc;

	if (s->kind == SRC_FILE)
		return file_range(ob, off, len, sink, sinkarg, e);
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	g->ob = ob;
	g->off = off;
	g->len = len;
	g->whole = off == 0 && len == ob->size;
	g->sink = sink;
	g->sinkarg = sinkarg;
	g->resp = &r;
	snprintf(g->ifmatch, sizeof(g->ifmatch), "\"%s\"", ob->etag);
	m3_http_resp_init(&r);
	if (s->kind == SRC_S3) {
		rng_s3_get(g, s->bucket, ob->key);
		rc = m3_s3_do(&s->s3, c, &g->q, &r, e);
	} else {
		rc = m3_http_do(c, rng_plain_prep, g, &r, e);
	}
	if (rc == M3_OK && g->got != len)
		rc = m3_err_set(e, M3_EREMOTE, "%llu bytes at %llu, wanted %zu",
				(unsigned long long)g->got, (unsigned long long)off, len);
	if (rc == M3_OK && g->summing)
		rc = sum_check(g, e);
	if (g->summing)
		m3_hash_release(&g->sha);
	if (rc != M3_OK && s->kind == SRC_S3)
		m3_err_prefix(e, "s3://%s/%s", s->bucket, ob->key);
	else if (rc != M3_OK)
		m3_err_prefix(e, "%s", ob->key);
	m3_http_resp_release(&r);
	free(g);
	return rc;
}

/* src_first after a 416 (an empty object has no byte 0): a HEAD, then the first piece. */
static int
first_head(struct src *s, struct m3_conn *c, struct rng *g, struct m3_err *e)
{
	const struct obj *ob;
	int rc;

	m3_err_init(e);
	if ((rc = head_one(s, c, e)) != M3_OK)
		return m3_err_prefix(e, "%s", s->url);
	ob = &s->objs[0];
	if (ob->size < g->len)
		g->len = (size_t)ob->size;
	if ((rc = g->known(g->knownarg, g->len, 1, e)) != M3_OK || g->len == 0)
		return rc;
	return src_range(s, c, ob, 0, g->len, g->sink, g->sinkarg, e);
}

int
src_first(struct src *s, struct m3_conn *c, size_t part, const size_t *cut, src_known known,
	  void *knownarg, m3_http_sink sink, void *sinkarg, struct m3_err *e)
{
	struct m3_http_resp r;
	struct rng *g;
	int rc;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	*g = (struct rng){.len = part,
			  .sink = sink,
			  .sinkarg = sinkarg,
			  .s = s,
			  .resp = &r,
			  .known = known,
			  .knownarg = knownarg,
			  .cut = cut};
	rng_s3_get(g, s->bucket, s->key);
	m3_http_resp_init(&r);
	rc = m3_s3_do(&s->s3, c, &g->q, &r, e);
	if (g->stopped) { /* cut where the sink wanted: all it asked for */
		m3_err_init(e);
		rc = M3_OK;
	}
	if (rc == M3_OK && g->ob == NULL) /* an answer with no body: an empty object */
		rc = first_learn(g, e);
	if (rc != M3_OK && g->ob == NULL && r.status == 416)
		rc = first_head(s, c, g, e);
	else if (rc == M3_OK && g->got != g->len)
		rc = m3_err_set(e, M3_EREMOTE, "%llu bytes at 0, wanted %zu",
				(unsigned long long)g->got, g->len);
	if (rc != M3_OK && g->known_rc == M3_OK && r.status != 416)
		m3_err_prefix(e, "%s", s->url);
	m3_http_resp_release(&r);
	free(g);
	return rc;
}
