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

static int
grow(char **buf, size_t *cap, size_t len, struct m3_err *e)
{
	char *p;

	if (*cap >= len + 1)
		return M3_OK;
	if ((p = realloc(*buf, len + 1)) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	*buf = p;
	*cap = len + 1;
	return M3_OK;
}

static int
file_range(const struct obj *ob, uint64_t off, size_t len, char *buf, struct m3_err *e)
{
	int fd = open(ob->key, O_RDONLY);
	size_t got = 0;

	if (fd < 0)
		return m3_err_set(e, errno == EACCES ? M3_EACCESS : M3_EDATA, "%s: %s", ob->key,
				  strerror(errno));
	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			m3_err_set(e, n < 0 ? M3_EIO : M3_EDATA, "%s: %s", ob->key,
				   n < 0 ? strerror(errno) : "file shrank while being read");
			close(fd);
			return e->code;
		}
		got += (size_t)n;
	}
	close(fd);
	return M3_OK;
}

int
src_range(struct src *s, struct m3_conn *c, const struct obj *ob, uint64_t off, size_t len,
	  char **buf, size_t *cap, struct m3_err *e)
{
	struct m3_http_resp r;
	char range[64], ifmatch[100];
	struct m3_kv h[2];
	size_t nh = 0;
	int rc, whole = off == 0 && len == ob->size;

	if ((rc = grow(buf, cap, len, e)) != M3_OK)
		return rc;
	if (s->kind == SRC_FILE)
		return file_range(ob, off, len, *buf, e);
	snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)off,
		 (unsigned long long)(off + len - 1));
	snprintf(ifmatch, sizeof(ifmatch), "\"%s\"", ob->etag);
	m3_http_resp_init(&r);
	r.body = *buf;
	r.cap = *cap;
	if (s->kind == SRC_S3) {
		struct m3_s3_req q = {.method = "GET",
				      .bucket = s->bucket,
				      .key = ob->key,
				      .headers = h,
				      .max_body = len};
		if (!whole)
			h[nh++] = (struct m3_kv){"range", range};
		/* the object must not change between pieces */
		if (ob->etag[0] != '\0')
			h[nh++] = (struct m3_kv){"if-match", ifmatch};
		q.nheaders = nh;
		rc = m3_s3_do(&s->s3, c, &q, &r, e);
	} else {
		char rh[80] = "";
		struct plain p = {ob->key, rh};
		if (!whole)
			snprintf(rh, sizeof(rh), "Range: %s", range);
		rc = m3_http_do(c, plain_prep, &p, &r, e);
	}
	*buf = r.body;
	*cap = r.cap;
	if (rc == M3_OK && r.len != len)
		rc = m3_err_set(e, M3_EREMOTE, "%llu bytes at %llu, wanted %zu",
				(unsigned long long)r.len, (unsigned long long)off, len);
	if (rc != M3_OK && s->kind == SRC_S3)
		m3_err_prefix(e, "s3://%s/%s", s->bucket, ob->key);
	else if (rc != M3_OK)
		m3_err_prefix(e, "%s", ob->key);
	return rc;
}
