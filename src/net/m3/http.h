/* HTTP over libcurl for m3-fetch and m3-push: one handle per thread (keep-alive), retries with
 * jittered exponential backoff, and a -v trace of the wire with every secret redacted. */
#ifndef M3_HTTP_H
#define M3_HTTP_H

#include <stddef.h>

#include "m3/err.h"

#define M3_HTTP_MAXH 24
#define M3_HTTP_MAXSECRET 4

/* Settings shared by every connection of a run. */
struct m3_net {
	int verbose;
	long timeout; /* seconds without a byte before a transfer is dropped */
	int retries; /* attempts after the first */
	long backoff_ms; /* first backoff; doubles up to backoff_max_ms, full jitter */
	long backoff_max_ms;
	/* strings never printed: -v lines and error messages have them replaced */
	const char *secret[M3_HTTP_MAXSECRET];
};

/* Gives sink the body; returns M3_OK or an error code that stops the transfer. */
typedef int (*m3_http_sink)(void *arg, const void *p, size_t n, struct m3_err *e);

struct m3_http_req {
	const char *method;
	const char *url;
	const char *hdr[M3_HTTP_MAXH]; /* "Name: value" */
	int nhdr;
	const void *body; /* sent when body != NULL (also when bodylen is 0) */
	size_t bodylen;
	m3_http_sink sink; /* NULL: the body is kept in resp->body */
	void *sinkarg;
	size_t max_body; /* limit of a kept body; 0: 64 MiB */
	/* a sink that cannot take the body again from its start (stdout) */
	int no_restart;
};

struct m3_http_resp {
	long status;
	char *body; /* kept body (or the error body when a sink was set), NUL-terminated */
	size_t len, cap;
	size_t delivered; /* bytes given to the sink */
	long long content_length;
	char etag[128];
	char content_type[256];
	char content_range[128];
	char last_modified[64];
	char checksum_sha256[64];
	char location[512];
};

struct m3_conn;

int m3_net_global_init(struct m3_err *e);
void m3_net_init(struct m3_net *n);
/* Registers a string that must never appear in output (a secret key, a token). */
void m3_net_secret(struct m3_net *n, const char *s);
/* Replaces every secret and every signature in s (in place; never longer). */
void m3_net_redact(const struct m3_net *n, char *s);

struct m3_conn *m3_conn_new(struct m3_net *n);
void m3_conn_free(struct m3_conn *c);

void m3_http_resp_init(struct m3_http_resp *r);
void m3_http_resp_release(struct m3_http_resp *r);
/* Finds the value of header name (case-insensitive) in h[], or NULL. */
const char *m3_http_hdr(const char *const *h, int n, const char *name);

/*
 * One exchange.  M3_OK when a whole response arrived, whatever its status; M3_EREMOTE on a
 * transport failure (refused, reset, timeout, short body); the sink's code if it failed.
 */
int m3_http_once(struct m3_conn *c, const struct m3_http_req *req, struct m3_http_resp *resp,
		 struct m3_err *e);

/* Called before each attempt to (re)build the request: a new date and signature. */
typedef int (*m3_http_prepare)(void *arg, struct m3_http_req *req, struct m3_err *e);

/*
 * The exchange with retries: transport failures, 5xx, 429, 408 and S3's SlowDown and
 * RequestTimeout are tried again after a jittered, growing pause.  Returns M3_OK for a 2xx,
 * else an error whose message is "HTTP <status> <S3 code>" or the transport's reason:
 * M3_EACCESS for 401/403, M3_EDATA for 404, M3_EREMOTE after the last retry, M3_EFAIL for
 * other statuses.
 */
int m3_http_do(struct m3_conn *c, m3_http_prepare prep, void *arg, struct m3_http_resp *resp,
	       struct m3_err *e);

/*
 * DICOMweb credentials from the environment: M3_DICOMWEB_TOKEN (bearer) or M3_DICOMWEB_USER
 * and M3_DICOMWEB_PASSWORD (basic).  Fills buf with the "Authorization: ..." header and
 * returns 1, or returns 0 when none are set.  The secrets are registered for redaction.
 */
int m3_dicomweb_auth(struct m3_net *n, char *buf, size_t sz);

/* The text of <tag> in an XML body (first match), entities decoded, into out; 0 if found. */
int m3_xml_tag(const char *xml, const char *tag, char *out, size_t outsz, const char **after);
/* Decodes XML entities in place. */
void m3_xml_unescape(char *s);

#endif
