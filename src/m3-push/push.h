/* m3-push internals: options, uploads to S3 or a folder, STOW-RS, notifications. */
#ifndef M3_PUSH_H
#define M3_PUSH_H

#include <stdint.h>
#include <stdio.h>

#include "m3/cli.h"
#include "m3/http.h"
#include "m3/s3.h"
#include "m3/sha256.h"

struct popts {
	unsigned jobs;
	size_t part;
	const char *sse; /* "none", "AES256", "aws:kms" */
	const char *kms_key;
	int sha256_checksum; /* --checksum sha256 instead of Content-MD5 */
	const char *content_type;
	long presign; /* seconds, 0: none */
	const char *notify;
	const char *stow;
	int progress, verbose;
	long retries, timeout;
};

/* What one upload made, for --presign and --notify. */
struct result {
	char bucket[256];
	char key[1100];
	uint64_t size;
	char sha256[2 * M3_SHA256_LEN + 1];
	char etag[80];
	char *url; /* presigned, malloc'd */
};

const char *content_type(const char *name);
/* One input (open FILE, name for messages) to s3://bucket/key. */
int put_s3(struct m3_s3 *s, const struct popts *o, FILE *fp, const char *name, int64_t size,
	   const char *bucket, const char *key, struct result *res, struct m3_err *e);
int put_dir(const struct popts *o, FILE *fp, const char *name, const char *path, struct result *res,
	    struct m3_err *e);
int stow(struct m3_net *net, const char *url, const char *file, struct m3_err *e);
int notify(struct m3_net *net, const char *url, const struct result *r, struct m3_err *e);

#endif
