/* S3 requests: addressing, SigV4 signing per attempt, listing, multipart, presigned URLs. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "m3/s3.h"
#include "m3/sha256.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static int
is_ip_or_local(const char *host)
{
	size_t n = strcspn(host, ":");

	if (host[0] == '[' || (n == 9 && strncmp(host, "localhost", 9) == 0))
		return 1;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)host[i]) && host[i] != '.')
			return 0;
	return 1;
}

int
m3_s3_init(struct m3_s3 *s, struct m3_net *net, int anon, struct m3_err *e)
{
	const char *ep = getenv("AWS_ENDPOINT_URL_S3"), *v, *style;
	int rc;

	memset(s, 0, sizeof(*s));
	s->net = net;
	s->anon = anon;
	if ((v = getenv("AWS_REGION")) != NULL && *v != '\0')
		snprintf(s->region, sizeof(s->region), "%s", v);
	else if ((v = getenv("AWS_DEFAULT_REGION")) != NULL && *v != '\0')
		snprintf(s->region, sizeof(s->region), "%s", v);
	if (!anon && (rc = m3_creds_load(&s->creds, net, s->region, sizeof(s->region), e)) != M3_OK)
		return rc;
	if (s->region[0] == '\0')
		snprintf(s->region, sizeof(s->region), "us-east-1");
	if (ep == NULL || *ep == '\0')
		ep = getenv("AWS_ENDPOINT_URL");
	if (ep != NULL && *ep != '\0') {
		const char *h = strstr(ep, "://");
		if (h == NULL || (size_t)(h - ep) >= sizeof(s->scheme))
			return m3_err_set(e, M3_EUSAGE, "AWS_ENDPOINT_URL: not a URL: \"%s\"", ep);
		snprintf(s->scheme, sizeof(s->scheme), "%.*s", (int)(h - ep), ep);
		snprintf(s->host, sizeof(s->host), "%.*s", (int)strcspn(h + 3, "/"), h + 3);
		s->path_style = is_ip_or_local(s->host);
	} else {
		snprintf(s->scheme, sizeof(s->scheme), "https");
		snprintf(s->host, sizeof(s->host), "s3.%s.amazonaws.com", s->region);
	}
	if ((style = getenv("AWS_S3_ADDRESSING_STYLE")) != NULL && *style != '\0')
		s->path_style = strcmp(style, "path") == 0;
	return M3_OK;
}

void
m3_s3_release(struct m3_s3 *s)
{
	m3_creds_release(&s->creds);
}

int
m3_s3_parse(const char *url, char **bucket, char **key, struct m3_err *e)
{
	const char *b = url + 5, *slash;

	*bucket = *key = NULL;
	if (strncmp(url, "s3://", 5) != 0 || *b == '\0' || *b == '/')
		return m3_err_set(e, M3_EUSAGE, "%s: not an s3://bucket/key URL", url);
	slash = strchr(b, '/');
	*bucket = slash ? strndup(b, (size_t)(slash - b)) : strdup(b);
	*key = strdup(slash ? slash + 1 : "");
	if (*bucket == NULL || *key == NULL) {
		free(*bucket);
		free(*key);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	return M3_OK;
}

/* Host header and URI path for bucket/key under the addressing style in use. */
static int
address(const struct m3_s3 *s, const char *bucket, const char *key, char *host, size_t hostsz,
	char **path)
{
	char *ek = m3_uri_encode(key, 1);
	size_t n;

	if (ek == NULL)
		return -1;
	/* a bucket name with dots breaks TLS names in virtual-hosted style */
	if (s->path_style || strchr(bucket, '.') != NULL || *bucket == '\0') {
		snprintf(host, hostsz, "%s", s->host);
		n = strlen(bucket) + strlen(ek) + 3;
		if ((*path = malloc(n)) != NULL)
			snprintf(*path, n, "/%s%s%s", bucket, *bucket ? "/" : "", ek);
	} else {
		snprintf(host, hostsz, "%s.%s", bucket, s->host);
		n = strlen(ek) + 2;
		if ((*path = malloc(n)) != NULL)
			snprintf(*path, n, "/%s", ek);
	}
	free(ek);
	return *path != NULL ? 0 : -1;
}

/* One attempt's strings, rebuilt (new date, new signature) by prep() before each try. */
struct attempt {
	struct m3_s3 *s;
	const struct m3_s3_req *r;
	char host[300];
	char *path, *query, *url, *auth;
	char payload[2 * M3_SHA256_LEN + 1];
	char hbuf[M3_HTTP_MAXH][1200];
};

static void
attempt_free(struct attempt *a)
{
	free(a->path);
	free(a->query);
	free(a->url);
	free(a->auth);
	a->path = a->query = a->url = a->auth = NULL;
}

static int
prep(void *arg, struct m3_http_req *q, struct m3_err *e)
{
	struct attempt *a = arg;
	const struct m3_s3_req *r = a->r;
	struct m3_kv h[M3_HTTP_MAXH];
	struct m3_sigv4_req sr;
	size_t nh = 0, n;

	if (r->before != NULL)
		r->before(r->beforearg);
	attempt_free(a);
	if (r->nheaders + 4 > M3_HTTP_MAXH)
		return m3_err_set(e, M3_EFAIL, "too many headers");
	if (address(a->s, r->bucket, r->key, a->host, sizeof(a->host), &a->path) != 0 ||
	    (a->query = m3_sigv4_query(r->query, r->nquery)) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	n = strlen(a->s->scheme) + strlen(a->host) + strlen(a->path) + strlen(a->query) + 8;
	if ((a->url = malloc(n)) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	snprintf(a->url, n, "%s://%s%s%s%s", a->s->scheme, a->host, a->path, *a->query ? "?" : "",
		 a->query);
	memset(&sr, 0, sizeof(sr));
	m3_sigv4_date(time(NULL), sr.amzdate);
	h[nh++] = (struct m3_kv){"host", a->host};
	h[nh++] = (struct m3_kv){"x-amz-content-sha256", a->payload};
	h[nh++] = (struct m3_kv){"x-amz-date", sr.amzdate};
	if (!a->s->anon && a->s->creds.token != NULL)
		h[nh++] = (struct m3_kv){"x-amz-security-token", a->s->creds.token};
	for (size_t i = 0; i < r->nheaders; i++)
		h[nh++] = r->headers[i];
	for (size_t i = 0; i < nh; i++) {
		snprintf(a->hbuf[i], sizeof(a->hbuf[i]), "%s: %s", h[i].k, h[i].v);
		q->hdr[q->nhdr++] = a->hbuf[i];
	}
	if (!a->s->anon) {
		sr.method = r->method;
		sr.path = a->path;
		sr.query = a->query;
		sr.headers = h;
		sr.nheaders = nh;
		sr.payload_hash = a->payload;
		sr.region = a->s->region;
		sr.service = "s3";
		if ((a->auth = m3_sigv4_auth(&a->s->creds, &sr)) == NULL)
			return m3_err_set(e, M3_ENOMEM, "out of memory");
		snprintf(a->hbuf[nh], sizeof(a->hbuf[nh]), "Authorization: %s", a->auth);
		q->hdr[q->nhdr++] = a->hbuf[nh];
	}
	q->method = r->method;
	q->url = a->url;
	q->body = r->body;
	q->bodylen = r->bodylen;
	q->sink = r->sink;
	q->sinkarg = r->sinkarg;
	q->max_body = r->max_body;
	return M3_OK;
}

int
m3_s3_do(struct m3_s3 *s, struct m3_conn *c, const struct m3_s3_req *r, struct m3_http_resp *resp,
	 struct m3_err *e)
{
	struct attempt *a = calloc(1, sizeof(*a));
	unsigned char h[M3_SHA256_LEN];
	int rc;

	if (a == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	a->s = s;
	a->r = r;
	if (r->payload_hash != NULL) {
		snprintf(a->payload, sizeof(a->payload), "%s", r->payload_hash);
	} else if (r->body != NULL && r->bodylen > 0) {
		m3_sha256(r->body, r->bodylen, h);
		m3_hex(h, sizeof(h), a->payload);
	} else {
		snprintf(a->payload, sizeof(a->payload), "%s", EMPTY_SHA256);
	}
	rc = m3_http_do(c, prep, a, resp, e);
	attempt_free(a);
	free(a);
	return rc;
}

char *
m3_s3_presign(struct m3_s3 *s, const char *bucket, const char *key, long expires, time_t now)
{
	struct m3_sigv4_req sr;
	struct m3_kv h[1];
	char host[300], *path, *q, *url = NULL;
	size_t n;

	if (address(s, bucket, key, host, sizeof(host), &path) != 0)
		return NULL;
	memset(&sr, 0, sizeof(sr));
	m3_sigv4_date(now, sr.amzdate);
	h[0] = (struct m3_kv){"host", host};
	sr.method = "GET";
	sr.path = path;
	sr.query = "";
	sr.headers = h;
	sr.nheaders = 1;
	sr.region = s->region;
	sr.service = "s3";
	if ((q = m3_sigv4_presign(&s->creds, &sr, NULL, 0, expires)) != NULL) {
		n = strlen(s->scheme) + strlen(host) + strlen(path) + strlen(q) + 8;
		if ((url = malloc(n)) != NULL)
			snprintf(url, n, "%s://%s%s?%s", s->scheme, host, path, q);
	}
	free(q);
	free(path);
	return url;
}

/* One <Contents> element of a listing into o; the rest of the body after it in *after. */
static int
parse_contents(const char *p, struct m3_s3_obj *o, const char **after)
{
	char elem[8192], num[32];
	const char *end;

	if (m3_xml_tag(p, "Contents", elem, sizeof(elem), &end) != 0)
		return -1;
	*after = end;
	memset(o, 0, sizeof(*o));
	/* m3_xml_tag unescaped the element already: take the key raw from the original text */
	{
		const char *ks = strstr(p, "<Key>"), *ke;
		size_t n;
		if (ks == NULL || ks > end || (ke = strstr(ks, "</Key>")) == NULL)
			return -1;
		ks += 5;
		n = (size_t)(ke - ks) < sizeof(o->key) - 1 ? (size_t)(ke - ks) : sizeof(o->key) - 1;
		memcpy(o->key, ks, n);
		o->key[n] = '\0';
		m3_xml_unescape(o->key);
	}
	if (m3_xml_tag(elem, "Size", num, sizeof(num), NULL) == 0)
		o->size = strtoull(num, NULL, 10);
	if (m3_xml_tag(elem, "ETag", o->etag, sizeof(o->etag), NULL) == 0 && o->etag[0] == '"') {
		size_t n = strlen(o->etag);
		memmove(o->etag, o->etag + 1, n);
		if (n >= 2 && o->etag[n - 2] == '"')
			o->etag[n - 2] = '\0';
	}
	m3_xml_tag(elem, "LastModified", o->mtime, sizeof(o->mtime), NULL);
	return 0;
}

int
m3_s3_list(struct m3_s3 *s, struct m3_conn *c, const char *bucket, const char *prefix,
	   m3_s3_list_fn fn, void *arg, struct m3_err *e)
{
	char token[2048] = "", trunc[16];
	struct m3_http_resp resp;
	struct m3_s3_obj o;
	int rc = M3_OK;

	m3_http_resp_init(&resp);
	do {
		struct m3_kv q[4] = {{"list-type", "2"}, {"prefix", prefix}, {"max-keys", "1000"}};
		struct m3_s3_req r = {.method = "GET", .bucket = bucket, .key = "", .query = q};
		const char *p;
		r.nquery = 3;
		if (token[0] != '\0')
			q[r.nquery++] = (struct m3_kv){"continuation-token", token};
		if ((rc = m3_s3_do(s, c, &r, &resp, e)) != M3_OK)
			break;
		for (p = resp.body; p != NULL && parse_contents(p, &o, &p) == 0;)
			if ((rc = fn(arg, &o, e)) != M3_OK)
				goto done;
		token[0] = '\0';
		if (m3_xml_tag(resp.body, "IsTruncated", trunc, sizeof(trunc), NULL) == 0 &&
		    strcmp(trunc, "true") == 0 &&
		    m3_xml_tag(resp.body, "NextContinuationToken", token, sizeof(token), NULL) != 0)
			rc = m3_err_set(e, M3_EREMOTE,
					"truncated listing without a continuation token");
	} while (rc == M3_OK && token[0] != '\0');
done:
	m3_http_resp_release(&resp);
	return rc;
}

int
m3_s3_mpu_create(struct m3_s3 *s, struct m3_conn *c, const char *bucket, const char *key,
		 const struct m3_kv *hdrs, size_t nh, char **upload_id, struct m3_err *e)
{
	struct m3_kv q[] = {{"uploads", ""}};
	struct m3_s3_req r = {.method = "POST",
			      .bucket = bucket,
			      .key = key,
			      .query = q,
			      .nquery = 1,
			      .headers = hdrs,
			      .nheaders = nh,
			      .body = "",
			      .bodylen = 0};
	struct m3_http_resp resp;
	char id[1024];
	int rc;

	*upload_id = NULL;
	m3_http_resp_init(&resp);
	if ((rc = m3_s3_do(s, c, &r, &resp, e)) == M3_OK) {
		if (m3_xml_tag(resp.body, "UploadId", id, sizeof(id), NULL) != 0)
			rc = m3_err_set(e, M3_EREMOTE, "no UploadId in the answer");
		else if ((*upload_id = strdup(id)) == NULL)
			rc = m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	m3_http_resp_release(&resp);
	return rc;
}

int
m3_s3_mpu_complete(struct m3_s3 *s, struct m3_conn *c, const char *bucket, const char *key,
		   const char *upload_id, char (*etags)[80], size_t nparts, char *etag_out,
		   size_t etag_sz, struct m3_err *e)
{
	struct m3_kv q[] = {{"uploadId", upload_id}};
	struct m3_http_resp resp;
	size_t cap = 64 + nparts * 160, len = 0;
	char *xml = malloc(cap), code[128];
	int rc;

	if (xml == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	len += (size_t)snprintf(xml, cap, "<CompleteMultipartUpload>");
	for (size_t i = 0; i < nparts; i++)
		len += (size_t)snprintf(
			xml + len, cap - len,
			"<Part><PartNumber>%zu</PartNumber><ETag>\"%s\"</ETag></Part>", i + 1,
			etags[i]);
	len += (size_t)snprintf(xml + len, cap - len, "</CompleteMultipartUpload>");
	{
		struct m3_s3_req r = {.method = "POST",
				      .bucket = bucket,
				      .key = key,
				      .query = q,
				      .nquery = 1,
				      .body = xml,
				      .bodylen = len};
		m3_http_resp_init(&resp);
		rc = m3_s3_do(s, c, &r, &resp, e);
	}
	/* S3 may answer 200 and put an error in the body */
	if (rc == M3_OK && m3_xml_tag(resp.body, "Code", code, sizeof(code), NULL) == 0 &&
	    strstr(resp.body, "<Error>") != NULL)
		rc = m3_err_set(e, M3_EREMOTE, "complete: %s", code);
	if (rc == M3_OK) {
		if (m3_xml_tag(resp.body, "ETag", etag_out, etag_sz, NULL) != 0)
			snprintf(etag_out, etag_sz, "%s", "");
		if (etag_out[0] == '"') {
			size_t n = strlen(etag_out);
			memmove(etag_out, etag_out + 1, n);
			if (n >= 2 && etag_out[n - 2] == '"')
				etag_out[n - 2] = '\0';
		}
	}
	m3_http_resp_release(&resp);
	free(xml);
	return rc;
}

int
m3_s3_mpu_abort(struct m3_s3 *s, struct m3_conn *c, const char *bucket, const char *key,
		const char *upload_id, struct m3_err *e)
{
	struct m3_kv q[] = {{"uploadId", upload_id}};
	struct m3_s3_req r = {
		.method = "DELETE", .bucket = bucket, .key = key, .query = q, .nquery = 1};
	struct m3_http_resp resp;
	int rc;

	m3_http_resp_init(&resp);
	rc = m3_s3_do(s, c, &r, &resp, e);
	m3_http_resp_release(&resp);
	return rc;
}
