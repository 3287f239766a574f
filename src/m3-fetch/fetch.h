/* m3-fetch internals: the objects to get, where they come from, and the in-order engine. */
#ifndef M3_FETCH_H
#define M3_FETCH_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "m3/cli.h"
#include "m3/http.h"
#include "m3/s3.h"

enum src_kind { SRC_FILE, SRC_S3, SRC_HTTP, SRC_DICOMWEB };

struct obj {
	char *name; /* the tar member or file name under -o (relative, checked) */
	char *key; /* the S3 key, file path or URL */
	uint64_t size;
	char etag[80];
	char mtime[40]; /* ISO 8601 UTC */
};

struct opts {
	const char *out;
	unsigned jobs;
	size_t part;
	int list, anon, progress, verbose;
	int verify_etag; /* --verify-etag: multipart ETags, parts of `part' bytes */
	int adaptive; /* one S3 object: one stream, parts only if it is slow (no --part-size) */
	const char *sha256; /* --sha256 HEX */
	long retries, timeout; /* -1: the defaults */
};

void opts_net(const struct opts *o, struct m3_net *n);

struct src {
	enum src_kind kind;
	const char *url;
	int prefix; /* many objects (a tar stream or -o DIR), not one */
	struct m3_net net;
	struct m3_s3 s3;
	char *bucket, *key, *path;
	struct obj *objs;
	size_t nobj, cap;
};

int src_open(struct src *s, const char *url, const struct opts *o, struct m3_err *e);
/* Fills s->objs: one object, or every object under the prefix. */
int src_objects(struct src *s, struct m3_conn *c, struct m3_err *e);
/* Reads len bytes at off of object ob and gives them to sink in order, each byte once (a retry
 * resumes after the bytes taken). */
int src_range(struct src *s, struct m3_conn *c, const struct obj *ob, uint64_t off, size_t len,
	      m3_http_sink sink, void *sinkarg, struct m3_err *e);
/* Called by src_first once the object is known (s->objs[0]), with the first piece's length
 * and whether the server honoured the Range (206), before any of its bytes; an error stops the
 * transfer. */
typedef int (*src_known)(void *arg, size_t len, int ranged, struct m3_err *e);
/* One S3 object (s->key) with no HEAD: its first piece of up to part bytes (SIZE_MAX: all of
 * it, "Range: bytes=0-") is asked for, and the answer's headers give its size, ETag and date.
 * *cut, which the sink may lower (never below the bytes it has taken), ends the piece early:
 * the transfer stops there. */
int src_first(struct src *s, struct m3_conn *c, size_t part, const size_t *cut, src_known known,
	      void *knownarg, m3_http_sink sink, void *sinkarg, struct m3_err *e);
void src_close(struct src *s);
int src_add(struct src *s, const char *name, const char *key, uint64_t size, const char *etag,
	    const char *mtime, struct m3_err *e);

/* Gets every object of s to stdout (raw or tar) or under o->out; c is one of the connections.
 * One S3 object whose size is not known yet (s->nobj == 0) is learnt from its first piece. */
int fetch_run(struct src *s, struct m3_conn *c, const struct opts *o, struct m3_err *e);

/* WADO-RS and QIDO-RS. */
int dicomweb_run(const char *url, const struct opts *o, struct m3_net *net, struct m3_err *e);

/* Shared helpers */
int safe_name(const char *name);
time_t iso_to_time(const char *iso);
int mkdirs(const char *dir, struct m3_err *e);
void list_line(FILE *f, const struct obj *ob);

#endif
