/* HTTP exchanges over libcurl: keep-alive handles, retries with backoff, a redacted wire trace. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "m3/cli.h"
#include "m3/http.h"
#include "m3/sha256.h"

struct m3_conn {
	CURL *curl;
	struct m3_net *net;
	unsigned seed;
	/* the exchange in progress */
	const struct m3_http_req *req;
	struct m3_http_resp *resp;
	struct m3_err *err;
	size_t sent;
	int sink_rc;
};

int
m3_net_global_init(struct m3_err *e)
{
	if (curl_global_init(CURL_GLOBAL_ALL) != 0)
		return m3_err_set(e, M3_EFAIL, "cannot initialise libcurl");
	return M3_OK;
}

void
m3_net_init(struct m3_net *n)
{
	memset(n, 0, sizeof(*n));
	n->timeout = 30;
	n->retries = 5;
	n->backoff_ms = 200;
	n->backoff_max_ms = 5000;
}

void
m3_net_secret(struct m3_net *n, const char *s)
{
	if (s == NULL || strlen(s) < 4)
		return;
	for (int i = 0; i < M3_HTTP_MAXSECRET; i++)
		if (n->secret[i] == NULL) {
			n->secret[i] = s;
			return;
		}
}

/* Overwrites from p on with "[redacted]" up to the end of the value (never grows s). */
static void
blank_value(char *p, const char *stops)
{
	static const char tag[] = "[redacted]";
	size_t n = strcspn(p, stops), t = sizeof(tag) - 1;

	if (n >= t) {
		memcpy(p, tag, t);
		memmove(p + t, p + n, strlen(p + n) + 1);
	} else {
		memset(p, '*', n);
	}
}

static char *
find_nocase(char *s, const char *w)
{
	size_t n = strlen(w);

	for (; *s != '\0'; s++)
		if (strncasecmp(s, w, n) == 0)
			return s;
	return NULL;
}

void
m3_net_redact(const struct m3_net *n, char *s)
{
	static const char *const hdrs[] = {"authorization:", "x-amz-security-token:",
					   "x-m3-signature:", "proxy-authorization:"};
	static const char *const params[] = {"x-amz-signature=", "x-amz-security-token="};
	char *p;

	for (size_t i = 0; i < sizeof(hdrs) / sizeof(*hdrs); i++)
		if (strncasecmp(s, hdrs[i], strlen(hdrs[i])) == 0) {
			p = s + strlen(hdrs[i]);
			while (*p == ' ')
				p++;
			blank_value(p, "\r\n");
		}
	for (size_t i = 0; i < sizeof(params) / sizeof(*params); i++)
		for (p = s; (p = find_nocase(p, params[i])) != NULL;) {
			p += strlen(params[i]);
			blank_value(p, "& \r\n\"'<");
		}
	for (int i = 0; n != NULL && i < M3_HTTP_MAXSECRET; i++)
		if (n->secret[i] != NULL)
			while ((p = strstr(s, n->secret[i])) != NULL)
				blank_value(p, "");
}

/* -v: every header line sent and received, marked "> " and "< ", secrets redacted. */
static int
trace(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	struct m3_conn *c = arg;
	const char *mark;
	char *buf, *line, *save;

	(void)h;
	switch (type) {
	case CURLINFO_TEXT:
		mark = "* ";
		break;
	case CURLINFO_HEADER_OUT:
		mark = "> ";
		break;
	case CURLINFO_HEADER_IN:
		mark = "< ";
		break;
	default:
		return 0;
	}
	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	flockfile(stderr);
	for (line = strtok_r(buf, "\r\n", &save); line != NULL;
	     line = strtok_r(NULL, "\r\n", &save)) {
		m3_net_redact(c->net, line);
		fprintf(stderr, "%s: %s%s\n", m3_progname(), mark, line);
	}
	funlockfile(stderr);
	free(buf);
	return 0;
}

struct m3_conn *
m3_conn_new(struct m3_net *n)
{
	struct m3_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->net = n;
	c->seed = (unsigned)time(NULL) ^ (unsigned)(size_t)c;
	if ((c->curl = curl_easy_init()) == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

void
m3_conn_free(struct m3_conn *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);
	free(c);
}

void
m3_http_resp_init(struct m3_http_resp *r)
{
	memset(r, 0, sizeof(*r));
	r->content_length = -1;
}

void
m3_http_resp_release(struct m3_http_resp *r)
{
	free(r->body);
	m3_http_resp_init(r);
}

/* Clears what a previous attempt left, keeping the buffer. */
static void
resp_reset(struct m3_http_resp *r)
{
	char *body = r->body;
	size_t cap = r->cap;

	m3_http_resp_init(r);
	r->body = body;
	r->cap = cap;
	if (body != NULL)
		*body = '\0';
}

const char *
m3_http_hdr(const char *const *h, int n, const char *name)
{
	size_t len = strlen(name);

	for (int i = 0; i < n; i++)
		if (strncasecmp(h[i], name, len) == 0 && h[i][len] == ':') {
			const char *v = h[i] + len + 1;
			while (*v == ' ')
				v++;
			return v;
		}
	return NULL;
}

static void
hdr_copy(char *dst, size_t dsz, const char *v, size_t n)
{
	while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	if (n >= dsz)
		n = dsz - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t
on_header(char *data, size_t size, size_t nitems, void *arg)
{
	struct m3_http_resp *r = ((struct m3_conn *)arg)->resp;
	size_t n = size * nitems;
	static const struct {
		const char *name;
		size_t off, sz;
	} keep[] = {
		{"etag:", offsetof(struct m3_http_resp, etag), sizeof(r->etag)},
		{"content-type:", offsetof(struct m3_http_resp, content_type),
		 sizeof(r->content_type)},
		{"content-range:", offsetof(struct m3_http_resp, content_range),
		 sizeof(r->content_range)},
		{"last-modified:", offsetof(struct m3_http_resp, last_modified),
		 sizeof(r->last_modified)},
		{"x-amz-checksum-sha256:", offsetof(struct m3_http_resp, checksum_sha256),
		 sizeof(r->checksum_sha256)},
		{"location:", offsetof(struct m3_http_resp, location), sizeof(r->location)},
	};

	if (n > 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* a new response (after 100 Continue or a redirect): forget the last one's headers
		 */
		long keep_status = 0;
		sscanf(data, "HTTP/%*s %ld", &keep_status);
		r->status = keep_status;
		r->etag[0] = r->content_type[0] = r->content_range[0] = '\0';
		r->content_length = -1;
		return n;
	}
	for (size_t i = 0; i < sizeof(keep) / sizeof(*keep); i++) {
		size_t len = strlen(keep[i].name);
		if (n > len && strncasecmp(data, keep[i].name, len) == 0) {
			const char *v = data + len;
			size_t vn = n - len;
			while (vn > 0 && *v == ' ')
				v++, vn--;
			hdr_copy((char *)r + keep[i].off, keep[i].sz, v, vn);
		}
	}
	if (n > 15 && strncasecmp(data, "content-length:", 15) == 0)
		r->content_length = strtoll(data + 15, NULL, 10);
	return n;
}

static int
keep_body(struct m3_http_resp *r, const void *p, size_t n, size_t max, struct m3_err *e)
{
	if (r->len + n > max)
		return m3_err_set(e, M3_EREMOTE, "response body longer than expected");
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		char *b;
		while (cap < r->len + n + 1)
			cap *= 2;
		if ((b = realloc(r->body, cap)) == NULL)
			return m3_err_set(e, M3_ENOMEM, "out of memory");
		r->body = b;
		r->cap = cap;
	}
	memcpy(r->body + r->len, p, n);
	r->len += n;
	r->body[r->len] = '\0';
	return M3_OK;
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct m3_conn *c = arg;
	const struct m3_http_req *q = c->req;
	struct m3_http_resp *r = c->resp;
	size_t n = size * nmemb;
	int rc;

	if (q->sink != NULL && r->status >= 200 && r->status < 300) {
		rc = q->sink(q->sinkarg, data, n, c->err);
		r->delivered += n;
	} else {
		/* an error body is read whole whatever the limit (it names the error) */
		rc = keep_body(r, data, n,
			       q->sink != NULL || r->status >= 300 ? 65536
			       : q->max_body                       ? q->max_body
								   : 64 << 20,
			       c->err);
	}
	if (rc != M3_OK) {
		c->sink_rc = rc;
		return 0;
	}
	return n;
}

static size_t
on_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct m3_conn *c = arg;
	size_t n = c->req->bodylen - c->sent;

	if (n > size * nitems)
		n = size * nitems;
	memcpy(buf, (const char *)c->req->body + c->sent, n);
	c->sent += n;
	return n;
}

static int
on_seek(void *arg, curl_off_t off, int origin)
{
	struct m3_conn *c = arg;

	if (origin != SEEK_SET || off < 0 || (size_t)off > c->req->bodylen)
		return CURL_SEEKFUNC_CANTSEEK;
	c->sent = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

static void
setup(struct m3_conn *c, const struct m3_http_req *q, struct curl_slist *hl, char *errbuf)
{
	CURL *h = c->curl;

	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, q->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->net->timeout < 10 ? c->net->timeout : 10L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->net->timeout);
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "m3/" M3_VERSION);
	if (c->net->verbose) {
		curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
		curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, trace);
		curl_easy_setopt(h, CURLOPT_DEBUGDATA, c);
	}
	if (strcmp(q->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (q->body != NULL) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, c);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, c);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->bodylen);
		if (strcmp(q->method, "PUT") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
	} else if (strcmp(q->method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
	}
}

int
m3_http_once(struct m3_conn *c, const struct m3_http_req *q, struct m3_http_resp *resp,
	     struct m3_err *e)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hl = NULL, *t;
	CURLcode cc;

	for (int i = 0; i < q->nhdr; i++) {
		if ((t = curl_slist_append(hl, q->hdr[i])) == NULL)
			goto nomem;
		hl = t;
	}
	/* no "Expect: 100-continue" round trip before a body */
	if ((t = curl_slist_append(hl, "Expect:")) == NULL)
		goto nomem;
	hl = t;
	resp_reset(resp);
	c->req = q;
	c->resp = resp;
	c->err = e;
	c->sent = 0;
	c->sink_rc = M3_OK;
	setup(c, q, hl, errbuf);
	cc = curl_easy_perform(c->curl);
	curl_slist_free_all(hl);
	if (c->sink_rc != M3_OK)
		return c->sink_rc;
	if (cc != CURLE_OK) {
		char *msg = errbuf[0] != '\0' ? errbuf : (char *)curl_easy_strerror(cc);
		m3_err_set(e, M3_EREMOTE, "%s", msg);
		m3_net_redact(c->net, e->msg);
		return M3_EREMOTE;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	return M3_OK;
nomem:
	curl_slist_free_all(hl);
	return m3_err_set(e, M3_ENOMEM, "out of memory");
}

void
m3_xml_unescape(char *s)
{
	static const struct {
		const char *ent;
		char ch;
	} ents[] = {
		{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
	char *o = s;

	while (*s != '\0') {
		size_t i;
		if (*s != '&') {
			*o++ = *s++;
			continue;
		}
		for (i = 0; i < sizeof(ents) / sizeof(*ents); i++)
			if (strncmp(s, ents[i].ent, strlen(ents[i].ent)) == 0)
				break;
		if (i < sizeof(ents) / sizeof(*ents)) {
			*o++ = ents[i].ch;
			s += strlen(ents[i].ent);
		} else if (s[1] == '#') {
			char *end;
			long v = s[2] == 'x' ? strtol(s + 3, &end, 16) : strtol(s + 2, &end, 10);
			if (*end == ';' && v > 0 && v < 128) {
				*o++ = (char)v;
				s = end + 1;
			} else {
				*o++ = *s++;
			}
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
}

int
m3_xml_tag(const char *xml, const char *tag, char *out, size_t outsz, const char **after)
{
	char open[64], close[64];
	const char *a, *b;
	size_t n;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	if (xml == NULL || (a = strstr(xml, open)) == NULL)
		return -1;
	a += strlen(open);
	if ((b = strstr(a, close)) == NULL)
		return -1;
	n = (size_t)(b - a);
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, a, n);
	out[n] = '\0';
	m3_xml_unescape(out);
	if (after != NULL)
		*after = b + strlen(close);
	return 0;
}

static int
retryable(const struct m3_http_resp *r, const char *code)
{
	return r->status >= 500 || r->status == 429 || r->status == 408 ||
	       strcmp(code, "SlowDown") == 0 || strcmp(code, "RequestTimeout") == 0 ||
	       strcmp(code, "Throttling") == 0;
}

static void
backoff(struct m3_conn *c, int attempt)
{
	long cap = c->net->backoff_ms, ms;
	struct timespec ts;

	for (int i = 0; i < attempt && cap < c->net->backoff_max_ms; i++)
		cap *= 2;
	if (cap > c->net->backoff_max_ms)
		cap = c->net->backoff_max_ms;
	/* full jitter: clients that failed together do not come back together */
	ms = cap / 2 + (long)(rand_r(&c->seed) % (unsigned)(cap / 2 + 1));
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int
status_error(const struct m3_http_resp *r, const char *code, struct m3_err *e)
{
	int rc = r->status == 401 || r->status == 403 ? M3_EACCESS
		 : r->status == 404                   ? M3_EDATA
		 : retryable(r, code)                 ? M3_EREMOTE
						      : M3_EFAIL;

	if (*code == '\0')
		code = r->status == 400   ? "Bad Request"
		       : r->status == 401 ? "Unauthorized"
		       : r->status == 403 ? "Forbidden"
		       : r->status == 404 ? "Not Found"
		       : r->status == 409 ? "Conflict"
		       : r->status == 412 ? "Precondition Failed"
		       : r->status == 415 ? "Unsupported Media Type"
		       : r->status == 500 ? "Internal Server Error"
		       : r->status == 503 ? "Service Unavailable"
					  : "";
	return m3_err_set(e, rc, "HTTP %ld%s%s", r->status, *code ? " " : "", code);
}

int
m3_http_do(struct m3_conn *c, m3_http_prepare prep, void *arg, struct m3_http_resp *resp,
	   struct m3_err *e)
{
	struct m3_http_req q;
	char code[128];
	int rc;

	for (int attempt = 0;; attempt++) {
		memset(&q, 0, sizeof(q));
		if ((rc = prep(arg, &q, e)) != M3_OK)
			return rc;
		rc = m3_http_once(c, &q, resp, e);
		code[0] = '\0';
		if (rc == M3_OK) {
			if (resp->status >= 200 && resp->status < 300)
				return M3_OK;
			if (m3_xml_tag(resp->body, "Code", code, sizeof(code), NULL) != 0)
				code[0] = '\0';
			rc = status_error(resp, code, e);
		} else if (rc != M3_EREMOTE) {
			return rc; /* the sink failed: a local problem, not the network */
		}
		if (rc != M3_EREMOTE || attempt >= c->net->retries)
			break;
		if (q.no_restart && resp->delivered > 0)
			break;
		if (c->net->verbose)
			m3_warn("retry %d after: %s", attempt + 1, e->msg);
		backoff(c, attempt);
	}
	if (rc == M3_EREMOTE && c->net->retries > 0)
		m3_err_prefix(e, "gave up after %d attempts", c->net->retries + 1);
	return rc;
}

int
m3_dicomweb_auth(struct m3_net *n, char *buf, size_t sz)
{
	const char *tok = getenv("M3_DICOMWEB_TOKEN"), *user = getenv("M3_DICOMWEB_USER");
	const char *pw = getenv("M3_DICOMWEB_PASSWORD");
	char up[512], b64[700];

	if (tok != NULL && *tok != '\0') {
		m3_net_secret(n, tok);
		snprintf(buf, sz, "Authorization: Bearer %s", tok);
		return 1;
	}
	if (user == NULL || *user == '\0')
		return 0;
	snprintf(up, sizeof(up), "%s:%s", user, pw != NULL ? pw : "");
	m3_base64((const unsigned char *)up, strlen(up), b64);
	m3_net_secret(n, pw);
	snprintf(buf, sz, "Authorization: Basic %s", b64);
	memset(up, 0, sizeof(up));
	memset(b64, 0, sizeof(b64));
	return 1;
}
