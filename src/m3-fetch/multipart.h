/* multipart/related (RFC 2046) parsed as a stream: parts are handed on as their bytes arrive,
 * with only a delimiter's length (or one part's header block) held back. */
#ifndef M3_FETCH_MULTIPART_H
#define M3_FETCH_MULTIPART_H

#include <stddef.h>

#include "m3/err.h"

#define MP_MAXBOUNDARY 70 /* RFC 2046 */

struct mp_cb {
	/* a part starts: its Content-Type ("" when absent) and Content-Length (-1) */
	int (*begin)(void *arg, const char *ctype, long long clen, struct m3_err *e);
	int (*data)(void *arg, const void *p, size_t n, struct m3_err *e);
	int (*end)(void *arg, struct m3_err *e);
};

struct mp {
	int state;
	char delim[MP_MAXBOUNDARY + 5]; /* CRLF "--" boundary */
	size_t dlen;
	char *buf; /* bytes not yet parsed */
	size_t len, cap;
	struct mp_cb cb;
	void *arg;
	char ctype[128];
	long long clen;
	unsigned parts; /* parts begun */
};

/*
 * The value of the boundary parameter of a Content-Type (quoted or not, any case); 0 when
 * found and valid.  *related is set when the type is multipart/related.
 */
int mp_boundary(const char *content_type, char *out, size_t outsz, int *related);
/* Ready to parse a body whose boundary is b. */
void mp_init(struct mp *m, const char *b, const struct mp_cb *cb, void *arg);
/* Back to the start of a body (a new attempt), keeping the boundary. */
void mp_reset(struct mp *m);
/* Parses the next n bytes of the body. */
int mp_feed(struct mp *m, const void *p, size_t n, struct m3_err *e);
/* 1 once the close delimiter has been seen (the body is complete). */
int mp_complete(const struct mp *m);
/* 1 while a part has begun and not ended. */
int mp_in_part(const struct mp *m);
void mp_free(struct mp *m);

#endif
