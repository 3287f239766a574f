/* S3: addressing, credentials, signed requests, listing, multipart upload, presigned URLs. */
#ifndef M3_S3_H
#define M3_S3_H

#include <stddef.h>
#include <time.h>

#include "m3/err.h"
#include "m3/http.h"
#include "m3/sigv4.h"

struct m3_s3 {
	struct m3_net *net;
	struct m3_creds creds;
	int anon; /* --no-sign-request */
	char scheme[8];
	char host[256]; /* host[:port] of the endpoint */
	char region[64];
	int path_style;
};

/*
 * Endpoint and region from AWS_ENDPOINT_URL(_S3), AWS_REGION, AWS_DEFAULT_REGION, the profile;
 * path-style when the endpoint is an IP address or localhost, or AWS_S3_ADDRESSING_STYLE=path.
 * Credentials (unless anon): the environment, then AWS_PROFILE in the shared files, then IMDSv2.
 * M3_EACCESS when none are found.  Secrets are registered with net for redaction.
 */
int m3_s3_init(struct m3_s3 *s, struct m3_net *net, int anon, struct m3_err *e);
void m3_s3_release(struct m3_s3 *s);

/* The credential chain alone (used by m3_s3_init); region is filled from the profile if empty. */
int m3_creds_load(struct m3_creds *c, struct m3_net *net, char *region, size_t regionsz,
		  struct m3_err *e);
void m3_creds_release(struct m3_creds *c);

/* Splits "s3://bucket/key" (key may be empty); both malloc'd.  M3_EUSAGE when malformed. */
int m3_s3_parse(const char *url, char **bucket, char **key, struct m3_err *e);

struct m3_s3_req {
	const char *method;
	const char *bucket;
	const char *key; /* "" for the bucket itself */
	const struct m3_kv *query;
	size_t nquery;
	const struct m3_kv *headers; /* extra headers, lowercase names; all signed */
	size_t nheaders;
	const void *body;
	size_t bodylen;
	const char *payload_hash; /* NULL: SHA-256 of the body */
	m3_http_sink sink;
	void *sinkarg;
	size_t max_body;
	/* called before each attempt, before the request is signed: it may rewrite the values
	 * of headers (a Range that resumes after the bytes already taken) and nheaders */
	void (*before)(void *arg);
	void *beforearg;
};

/* A signed request with retries (see m3_http_do). */
int m3_s3_do(struct m3_s3 *s, struct m3_conn *c, const struct m3_s3_req *r,
	     struct m3_http_resp *resp, struct m3_err *e);

/* A presigned GET URL valid for expires seconds from now; malloc'd. */
char *m3_s3_presign(struct m3_s3 *s, const char *bucket, const char *key, long expires, time_t now);

struct m3_s3_obj {
	char key[1100];
	unsigned long long size;
	char etag[80]; /* without quotes */
	char mtime[40]; /* ISO 8601 as the server gives it */
};

typedef int (*m3_s3_list_fn)(void *arg, const struct m3_s3_obj *o, struct m3_err *e);
/* Every object under prefix (ListObjectsV2, all pages), in key order. */
int m3_s3_list(struct m3_s3 *s, struct m3_conn *c, const char *bucket, const char *prefix,
	       m3_s3_list_fn fn, void *arg, struct m3_err *e);

/* Multipart upload.  hdrs go with the create (content type, encryption). */
int m3_s3_mpu_create(struct m3_s3 *s, struct m3_conn *c, const char *bucket, const char *key,
		     const struct m3_kv *hdrs, size_t nh, char **upload_id, struct m3_err *e);
int m3_s3_mpu_complete(struct m3_s3 *s, struct m3_conn *c, const char *bucket, const char *key,
		       const char *upload_id, char (*etags)[80], size_t nparts, char *etag_out,
		       size_t etag_sz, struct m3_err *e);
int m3_s3_mpu_abort(struct m3_s3 *s, struct m3_conn *c, const char *bucket, const char *key,
		    const char *upload_id, struct m3_err *e);

#endif
