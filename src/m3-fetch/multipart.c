/* A streaming multipart/related parser (RFC 2046 section 5.1.1). */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "multipart.h"

enum { S_PREAMBLE, S_AFTER_DELIM, S_HEADERS, S_BODY, S_END };

#define MAX_HEADERS 16384 /* one part's header block */

/* Skips spaces; returns the next parameter's name and value (unquoted) or 0 at the end. */
static int
next_param(const char **sp, char *name, size_t nsz, char *val, size_t vsz)
{
	const char *s = *sp;
	size_t n = 0;

	/* to the next ';' outside quotes */
	for (int q = 0; *s != '\0' && (q || *s != ';'); s++) {
		if (*s == '\\' && q && s[1] != '\0')
			s++;
		else if (*s == '"')
			q = !q;
	}
	if (*s == '\0')
		return 0;
	s++;
	while (*s == ' ' || *s == '\t')
		s++;
	while (*s != '\0' && *s != '=' && *s != ';' && *s != ' ' && n + 1 < nsz)
		name[n++] = *s++;
	name[n] = '\0';
	while (*s == ' ' || *s == '\t')
		s++;
	n = 0;
	if (*s == '=') {
		s++;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '"') {
			for (s++; *s != '\0' && *s != '"'; s++) {
				if (*s == '\\' && s[1] != '\0')
					s++;
				if (n + 1 < vsz)
					val[n++] = *s;
			}
			if (*s == '"')
				s++;
		} else {
			while (*s != '\0' && *s != ';' && *s != ' ' && *s != '\t' && n + 1 < vsz)
				val[n++] = *s++;
		}
	}
	val[n] = '\0';
	*sp = s;
	return 1;
}

int
mp_boundary(const char *ct, char *out, size_t outsz, int *related)
{
	const char *s = ct;
	char name[64], val[256];
	int found = -1;

	while (*s == ' ')
		s++;
	*related = strncasecmp(s, "multipart/related", 17) == 0 &&
		   (s[17] == '\0' || s[17] == ';' || s[17] == ' ');
	while (next_param(&s, name, sizeof(name), val, sizeof(val))) {
		size_t n = strlen(val);
		if (strcasecmp(name, "boundary") != 0)
			continue;
		if (n == 0 || n > MP_MAXBOUNDARY || n >= outsz)
			return -1;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)val[i] < 0x20 || (unsigned char)val[i] > 0x7e)
				return -1;
		memcpy(out, val, n + 1);
		found = 0;
	}
	return found;
}

void
mp_init(struct mp *m, const char *b, const struct mp_cb *cb, void *arg)
{
	memset(m, 0, sizeof(*m));
	m->dlen = (size_t)snprintf(m->delim, sizeof(m->delim), "\r\n--%s", b);
	m->cb = *cb;
	m->arg = arg;
	mp_reset(m);
}

void
mp_reset(struct mp *m)
{
	m->state = S_PREAMBLE;
	m->parts = 0;
	/* the first delimiter may open the body: seen as if a line break came before it */
	m->len = 0;
	if (m->cap < 2) {
		char *p = realloc(m->buf, 4096);
		if (p == NULL)
			return; /* mp_feed reports it */
		m->buf = p;
		m->cap = 4096;
	}
	memcpy(m->buf, "\r\n", 2);
	m->len = 2;
}

void
mp_free(struct mp *m)
{
	free(m->buf);
	m->buf = NULL;
	m->cap = m->len = 0;
}

int
mp_complete(const struct mp *m)
{
	return m->state == S_END;
}

int
mp_in_part(const struct mp *m)
{
	return m->state == S_BODY;
}

static void
header_line(struct mp *m, char *line)
{
	char *v = strchr(line, ':');

	if (v == NULL)
		return;
	*v++ = '\0';
	while (*v == ' ' || *v == '\t')
		v++;
	if (strcasecmp(line, "content-type") == 0)
		snprintf(m->ctype, sizeof(m->ctype), "%s", v);
	else if (strcasecmp(line, "content-length") == 0)
		m->clen = strtoll(v, NULL, 10);
}

/* Parses what is in buf; returns the bytes consumed, or -1 with e set. */
static long
step(struct mp *m, struct m3_err *e)
{
	char *b = m->buf, *hit, *eol;
	size_t n = m->len, i, keep;
	int rc;

	switch (m->state) {
	case S_PREAMBLE:
	case S_BODY:
		hit = memmem(b, n, m->delim, m->dlen);
		if (hit != NULL)
			i = (size_t)(hit - b);
		else
			i = n >= m->dlen ? n - (m->dlen - 1)
					 : 0; /* keep a possible delimiter start */
		if (m->state == S_BODY && i > 0 && (rc = m->cb.data(m->arg, b, i, e)) != M3_OK)
			return -1;
		if (hit == NULL)
			return (long)i;
		if (m->state == S_BODY && (rc = m->cb.end(m->arg, e)) != M3_OK)
			return -1;
		m->state = S_AFTER_DELIM;
		return (long)(i + m->dlen);
	case S_AFTER_DELIM:
		if (n < 2)
			return 0;
		if (b[0] == '-' && b[1] == '-') {
			m->state = S_END;
			return (long)n;
		}
		/* transport padding, then CRLF */
		for (i = 0; i < n && (b[i] == ' ' || b[i] == '\t'); i++)
			;
		if (i + 1 >= n) {
			if (n > 1024)
				goto bad;
			return 0;
		}
		if (b[i] == '\r' && b[i + 1] == '\n') {
			m->state = S_HEADERS;
			m->ctype[0] = '\0';
			m->clen = -1;
			return (long)(i + 2);
		}
		goto bad;
	case S_HEADERS:
		if ((eol = memmem(b, n, "\r\n", 2)) == NULL) {
			if (n > MAX_HEADERS)
				return m3_err_set(e, M3_EDATA, "part %u: header line too long",
						  m->parts + 1),
				       -1;
			return 0;
		}
		keep = (size_t)(eol - b);
		if (keep == 0) {
			m->parts++;
			if ((rc = m->cb.begin(m->arg, m->ctype, m->clen, e)) != M3_OK)
				return -1;
			m->state = S_BODY;
			return 2;
		}
		*eol = '\0';
		header_line(m, b);
		return (long)(keep + 2);
	case S_END:
	default:
		return (long)n; /* the epilogue is ignored */
	}
bad:
	m3_err_set(e, M3_EDATA, "multipart body: no line break after a boundary");
	return -1;
}

int
mp_feed(struct mp *m, const void *p, size_t n, struct m3_err *e)
{
	long used;

	if (m->buf == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	if (m->state == S_END)
		return M3_OK;
	if (m->len + n > m->cap) {
		size_t cap = m->cap;
		char *q;
		while (cap < m->len + n)
			cap *= 2;
		if ((q = realloc(m->buf, cap)) == NULL)
			return m3_err_set(e, M3_ENOMEM, "out of memory");
		m->buf = q;
		m->cap = cap;
	}
	memcpy(m->buf + m->len, p, n);
	m->len += n;
	/* step until nothing more can be parsed with what is here */
	for (;;) {
		int st = m->state;
		if ((used = step(m, e)) < 0)
			return e->code;
		if (used > 0) {
			memmove(m->buf, m->buf + used, m->len - (size_t)used);
			m->len -= (size_t)used;
		}
		if (m->state == S_END) {
			m->len = 0;
			return M3_OK;
		}
		if (used == 0 && st == m->state)
			return M3_OK;
		if (m->len == 0 && (m->state == S_BODY || m->state == S_PREAMBLE))
			return M3_OK;
	}
}
