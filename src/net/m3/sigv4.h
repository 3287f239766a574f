/* AWS Signature Version 4: the Authorization header and presigned URLs. */
#ifndef M3_SIGV4_H
#define M3_SIGV4_H

#include <stddef.h>
#include <time.h>

/* Credentials; token is NULL without a session token.  Never printed. */
struct m3_creds {
	char *key_id;
	char *secret;
	char *token;
};

struct m3_kv {
	const char *k;
	const char *v;
};

#define M3_AMZDATE_LEN 17 /* "20130524T000000Z" and the NUL */

/* "YYYYMMDDTHHMMSSZ" for t in UTC. */
void m3_sigv4_date(time_t t, char out[M3_AMZDATE_LEN]);

/*
 * URI-encodes s the AWS way (unreserved characters kept, everything else %XX) into a new
 * string; keep_slash keeps '/' as it is (for paths).  NULL when out of memory.
 */
char *m3_uri_encode(const char *s, int keep_slash);

/* The canonical query string of n pairs: each encoded, sorted, joined by '&'.  Malloc'd. */
char *m3_sigv4_query(const struct m3_kv *q, size_t n);

/* What is signed: path is URI-encoded already, query canonical (from m3_sigv4_query). */
struct m3_sigv4_req {
	const char *method;
	const char *path;
	const char *query;
	const struct m3_kv *headers; /* lowercase names, host included */
	size_t nheaders;
	const char *payload_hash; /* hex SHA-256 of the body, or "UNSIGNED-PAYLOAD" */
	const char *region;
	const char *service;
	char amzdate[M3_AMZDATE_LEN];
};

/* The Authorization header's value (without "Authorization: "); malloc'd, NULL if out of memory. */
char *m3_sigv4_auth(const struct m3_creds *c, const struct m3_sigv4_req *r);

/*
 * A presigned query string for r (r->query and r->payload_hash are ignored: the query is the
 * X-Amz-* parameters plus the nextra pairs in extra, the payload UNSIGNED-PAYLOAD).  Returns
 * the full query, X-Amz-Signature last; malloc'd.
 */
char *m3_sigv4_presign(const struct m3_creds *c, const struct m3_sigv4_req *r,
		       const struct m3_kv *extra, size_t nextra, long expires);

#endif
