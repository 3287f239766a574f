/* DICOMweb: QIDO-RS lists (JSON Lines), WADO-RS gets (multipart/related parsed as a stream). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dcmuid.h"
#include "fetch.h"
#include "m3/json.h"
#include "m3/tar.h"
#include "multipart.h"

/* A part is held in memory up to this size, beyond it in a temporary file: one instance at a
 * time, never the whole study. */
#define SPOOL_MEM (32u << 20)

enum level { L_ROOT, L_STUDY, L_SERIES, L_INSTANCE };

struct dw {
	const struct opts *o;
	struct m3_net *net;
	struct m3_conn *c;
	const char *url; /* as given, for messages */
	char *base; /* http(s)://host/root, without /studies */
	char study[65], series[65], inst[65];
	enum level lv;
	char auth[1024];
	int has_auth;
	struct m3_http_resp *resp;
	struct m3_http_resp wresp; /* the WADO-RS answer */
	/* the body being parsed */
	struct mp mp;
	int mode; /* 0: not yet known, 1: multipart, 2: one application/dicom body */
	int attempt;
	unsigned nparts; /* parts written out in this attempt */
	/* the part being received */
	char *mem;
	size_t mlen, mcap;
	FILE *spill;
	unsigned long long plen;
	long long pclen;
	char psop[65], pseries[65];
	/* output */
	struct m3_out out;
	FILE *fp;
	int tar; /* a tar stream on fp; else files under o->out, or one instance on fp */
	time_t mtime;
	char **done; /* names written out (a new attempt skips them) */
	size_t ndone, capdone;
};

static int
uid_ok(const char *s, size_t n)
{
	if (n == 0 || n > 64 || s[0] < '0' || s[0] > '9')
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((s[i] < '0' || s[i] > '9') && s[i] != '.')
			return 0;
	return 1;
}

/* "<uid>" followed by "/" or the end; copies it and returns its length, else 0. */
static size_t
take(const char *s, char *out)
{
	size_t n = strcspn(s, "/");

	if (!uid_ok(s, n))
		return 0;
	memcpy(out, s, n);
	out[n] = '\0';
	return n;
}

static int
parse_url(struct dw *d, const char *url, struct m3_err *e)
{
	const char *u = url + 9, *auth, *path, *st = NULL, *p;
	size_t n, k;

	if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
		return m3_err_set(e, M3_EDATA,
				  "%s: unknown scheme (dicomweb+http or dicomweb+https)", url);
	auth = strstr(u, "://") + 3;
	path = auth + strcspn(auth, "/");
	if (memchr(auth, '@', (size_t)(path - auth)) != NULL)
		/* the URL is not echoed: it holds a password */
		return m3_err_set(e, M3_EUSAGE,
				  "credentials in a URL are refused (other users see them in ps): "
				  "set M3_DICOMWEB_USER and M3_DICOMWEB_PASSWORD, or "
				  "M3_DICOMWEB_TOKEN");
	if (strpbrk(u, "?#") != NULL)
		return m3_err_set(e, M3_EDATA, "%s: a query or fragment is not supported", url);
	n = strlen(u);
	while (n > 0 && u[n - 1] == '/')
		n--;
	/* the last "/studies" path segment splits the service root from the UIDs */
	for (p = path; (p = strstr(p, "/studies")) != NULL && p < u + n; p++)
		if (p[8] == '/' || p + 8 == u + n)
			st = p;
	if ((d->base = strndup(u, st != NULL ? (size_t)(st - u) : n)) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	d->lv = L_ROOT;
	if (st == NULL || st + 8 == u + n)
		return M3_OK;
	p = st + 9;
	if ((k = take(p, d->study)) == 0)
		goto bad;
	p += k;
	d->lv = L_STUDY;
	if (p >= u + n)
		return M3_OK;
	if (strncmp(p, "/series/", 8) != 0 || (k = take(p + 8, d->series)) == 0)
		goto bad;
	p += 8 + k;
	d->lv = L_SERIES;
	if (p >= u + n)
		return M3_OK;
	if (strncmp(p, "/instances/", 11) != 0 || (k = take(p + 11, d->inst)) == 0)
		goto bad;
	p += 11 + k;
	d->lv = L_INSTANCE;
	if (p >= u + n)
		return M3_OK;
bad:
	return m3_err_set(e, M3_EDATA,
			  "%s: not a DICOMweb root, study, series or instance "
			  "(.../studies/UID[/series/UID[/instances/UID]])",
			  url);
}

/* ---- requests ---- */

struct rq {
	struct dw *d;
	const char *url;
	const char *accept;
	int wado;
};

static int part_begin(void *arg, const char *ctype, long long clen, struct m3_err *e);
static int part_data(void *arg, const void *p, size_t n, struct m3_err *e);
static int part_end(void *arg, struct m3_err *e);
static int wado_sink(void *arg, const void *p, size_t n, struct m3_err *e);

static void
spool_reset(struct dw *d)
{
	d->mlen = 0;
	d->plen = 0;
	if (d->spill != NULL)
		fclose(d->spill);
	d->spill = NULL;
	d->psop[0] = d->pseries[0] = '\0';
}

static int
prep(void *arg, struct m3_http_req *q, struct m3_err *e)
{
	struct rq *r = arg;
	struct dw *d = r->d;

	(void)e;
	q->method = "GET";
	q->url = r->url;
	q->hdr[q->nhdr++] = r->accept;
	if (d->has_auth)
		q->hdr[q->nhdr++] = d->auth;
	if (r->wado) {
		q->sink = wado_sink;
		q->sinkarg = d;
		/* a new attempt parses the body from its start; what was written out stays */
		d->mode = 0;
		d->nparts = 0;
		d->attempt++;
		spool_reset(d);
	}
	return M3_OK;
}

static int
get(struct dw *d, struct rq *r, struct m3_http_resp *resp, struct m3_err *e)
{
	int rc = m3_http_do(d->c, prep, r, resp, e);

	if (rc != M3_OK)
		m3_err_prefix(e, "%s", d->url);
	return rc;
}

/* ---- WADO-RS ---- */

static int
wado_sink(void *arg, const void *p, size_t n, struct m3_err *e)
{
	struct dw *d = arg;

	if (d->mode == 0) {
		char b[MP_MAXBOUNDARY + 1];
		int related;
		const char *ct = d->resp->content_type;
		if (mp_boundary(ct, b, sizeof(b), &related) == 0 && related) {
			if (d->mp.dlen == 0 || strcmp(d->mp.delim + 4, b) != 0) {
				struct mp_cb cb = {part_begin, part_data, part_end};
				mp_free(&d->mp);
				mp_init(&d->mp, b, &cb, d);
			} else {
				mp_reset(&d->mp);
			}
			d->mode = 1;
		} else if (strncasecmp(ct, "application/dicom", 17) == 0 &&
			   (ct[17] == '\0' || ct[17] == ';' || ct[17] == ' ')) {
			d->mode = 2; /* one instance, not wrapped */
			if (part_begin(d, ct, d->resp->content_length, e) != M3_OK)
				return e->code;
		} else {
			return m3_err_set(e, M3_EDATA,
					  "the answer is \"%s\", not multipart/related with a "
					  "boundary",
					  *ct ? ct : "(no Content-Type)");
		}
	}
	if (d->mode == 2)
		return part_data(d, p, n, e);
	return mp_feed(&d->mp, p, n, e);
}

static int
part_begin(void *arg, const char *ctype, long long clen, struct m3_err *e)
{
	struct dw *d = arg;

	if (*ctype != '\0' && !(strncasecmp(ctype, "application/dicom", 17) == 0 &&
				(ctype[17] == '\0' || ctype[17] == ';' || ctype[17] == ' ')))
		return m3_err_set(e, M3_EDATA, "part %u is \"%s\", not application/dicom",
				  d->nparts + 1, ctype);
	spool_reset(d);
	d->pclen = clen;
	return M3_OK;
}

static int
part_data(void *arg, const void *p, size_t n, struct m3_err *e)
{
	struct dw *d = arg;

	if (d->spill == NULL && d->mlen + n <= SPOOL_MEM) {
		if (d->mlen + n > d->mcap) {
			size_t cap = d->mcap ? d->mcap : 1u << 16;
			char *m;
			while (cap < d->mlen + n)
				cap *= 2;
			if ((m = realloc(d->mem, cap)) == NULL)
				return m3_err_set(e, M3_ENOMEM, "out of memory");
			d->mem = m;
			d->mcap = cap;
		}
		memcpy(d->mem + d->mlen, p, n);
		d->mlen += n;
	} else {
		if (d->spill == NULL) {
			/* the UIDs are near the start, which is all in memory */
			if (d->mlen > 0)
				dcm_uids(d->mem, d->mlen, d->psop, sizeof(d->psop), d->pseries,
					 sizeof(d->pseries));
			else
				dcm_uids(p, n, d->psop, sizeof(d->psop), d->pseries,
					 sizeof(d->pseries));
			if ((d->spill = tmpfile()) == NULL)
				return m3_err_set(e, M3_EIO, "temporary file: %s", strerror(errno));
			if (d->mlen > 0 && fwrite(d->mem, 1, d->mlen, d->spill) != d->mlen)
				return m3_err_set(e, M3_EIO, "temporary file: %s", strerror(errno));
			d->mlen = 0;
		}
		if (fwrite(p, 1, n, d->spill) != n)
			return m3_err_set(e, M3_EIO, "temporary file: %s", strerror(errno));
	}
	d->plen += n;
	return M3_OK;
}

static int
write_part(struct dw *d, FILE *fp, const char *what, struct m3_err *e)
{
	static char buf[1 << 16];
	size_t n;

	errno = 0;
	if (d->spill == NULL) {
		if (d->mlen > 0 && fwrite(d->mem, 1, d->mlen, fp) != d->mlen)
			goto werr;
		return M3_OK;
	}
	if (fflush(d->spill) != 0 || fseek(d->spill, 0, SEEK_SET) != 0)
		return m3_err_set(e, M3_EIO, "temporary file: %s", strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), d->spill)) > 0)
		if (fwrite(buf, 1, n, fp) != n)
			goto werr;
	if (ferror(d->spill))
		return m3_err_set(e, M3_EIO, "temporary file: %s", strerror(errno));
	return M3_OK;
werr:
	return m3_err_set(e, M3_EIO, "%s: %s", what, errno ? strerror(errno) : "write error");
}

static int
was_done(const struct dw *d, const char *name)
{
	for (size_t i = 0; i < d->ndone; i++)
		if (strcmp(d->done[i], name) == 0)
			return 1;
	return 0;
}

static int
mark_done(struct dw *d, const char *name, struct m3_err *e)
{
	if (d->ndone == d->capdone) {
		size_t cap = d->capdone ? d->capdone * 2 : 256;
		char **p = realloc(d->done, cap * sizeof(*p));
		if (p == NULL)
			return m3_err_set(e, M3_ENOMEM, "out of memory");
		d->done = p;
		d->capdone = cap;
	}
	if ((d->done[d->ndone] = strdup(name)) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	d->ndone++;
	return M3_OK;
}

static int
part_end(void *arg, struct m3_err *e)
{
	struct dw *d = arg;
	char name[160], num[16];
	const char *series, *sop;
	int rc;

	d->nparts++;
	if (d->pclen >= 0 && (unsigned long long)d->pclen != d->plen)
		return m3_err_set(e, M3_EREMOTE,
				  "part %u: %llu bytes, its Content-Length says %lld", d->nparts,
				  d->plen, d->pclen);
	if (d->spill == NULL)
		dcm_uids(d->mem, d->mlen, d->psop, sizeof(d->psop), d->pseries, sizeof(d->pseries));
	snprintf(num, sizeof(num), "%06u", d->nparts);
	series = d->pseries[0] ? d->pseries : d->series[0] ? d->series : "unknown";
	sop = d->psop[0] ? d->psop : num;
	snprintf(name, sizeof(name), "%s/%s.dcm", series, sop);
	if (d->lv == L_INSTANCE) {
		if (d->nparts > 1)
			return m3_err_set(e, M3_EDATA, "more than one part for one instance");
		if (d->ndone > 0)
			return M3_OK; /* written by an earlier attempt */
		if ((rc = write_part(d, d->fp, d->o->out ? d->o->out : "stdout", e)) != M3_OK)
			return rc;
		return mark_done(d, name, e);
	}
	if (d->attempt > 1 && was_done(d, name))
		return M3_OK;
	if (d->tar) {
		if ((rc = m3_tar_header(d->fp, name, (size_t)d->plen, d->mtime, e)) != M3_OK ||
		    (rc = write_part(d, d->fp, "stdout", e)) != M3_OK ||
		    (rc = m3_tar_pad(d->fp, (size_t)d->plen, e)) != M3_OK)
			return rc;
	} else {
		size_t n = strlen(d->o->out) + strlen(name) + 2;
		char *path = malloc(n), *slash;
		struct m3_out f;
		if (path == NULL)
			return m3_err_set(e, M3_ENOMEM, "out of memory");
		snprintf(path, n, "%s/%s", d->o->out, name);
		slash = strrchr(path, '/');
		*slash = '\0';
		rc = mkdirs(path, e);
		*slash = '/';
		if (rc == M3_OK)
			rc = m3_out_open(&f, path, 1, e);
		if (rc == M3_OK) {
			rc = write_part(d, f.fp, path, e);
			if (rc == M3_OK)
				rc = m3_out_commit(&f, e);
			else
				m3_out_abort(&f);
		}
		free(path);
		if (rc != M3_OK)
			return rc;
	}
	return mark_done(d, name, e);
}

static void
pause_ms(struct dw *d, int attempt)
{
	long ms = d->net->backoff_ms;
	struct timespec ts;

	for (int i = 0; i < attempt && ms < d->net->backoff_max_ms; i++)
		ms *= 2;
	if (ms > d->net->backoff_max_ms)
		ms = d->net->backoff_max_ms;
	ms = ms / 2 + rand() % (ms / 2 + 1);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int
wado(struct dw *d, struct m3_err *e)
{
	static const char accept[] =
		"Accept: multipart/related; type=\"application/dicom\"; transfer-syntax=*";
	char *url;
	size_t n = strlen(d->base) + 256;
	int rc = M3_OK;

	if (d->lv == L_ROOT)
		return m3_err_set(e, M3_EUSAGE,
				  "%s: name a study, series or instance to fetch (or list with -l)",
				  d->url);
	if ((url = malloc(n)) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	snprintf(url, n, "%s/studies/%s%s%s%s%s", d->base, d->study,
		 d->lv >= L_SERIES ? "/series/" : "", d->lv >= L_SERIES ? d->series : "",
		 d->lv >= L_INSTANCE ? "/instances/" : "", d->lv >= L_INSTANCE ? d->inst : "");
	d->mtime = time(NULL);
	d->tar = d->lv != L_INSTANCE && d->o->out == NULL;
	if (d->lv != L_INSTANCE && d->o->out != NULL)
		rc = mkdirs(d->o->out, e);
	else if (m3_out_open(&d->out, d->o->out, 1, e) != M3_OK)
		rc = e->code;
	else
		d->fp = d->out.fp;
	m3_http_resp_init(&d->wresp);
	d->resp = &d->wresp;
	for (int attempt = 0; rc == M3_OK; attempt++) {
		struct rq r = {d, url, accept, 1};
		int incomplete = 0;
		rc = get(d, &r, &d->wresp, e);
		if (rc == M3_OK) {
			if (d->mode == 2)
				rc = part_end(d, e);
			else if (d->mode == 0 && d->nparts == 0)
				rc = m3_err_set(e, M3_EDATA, "%s: no instances (empty answer)",
						d->url);
			else if (!mp_complete(&d->mp)) {
				incomplete = 1;
				rc = m3_err_set(e, M3_EREMOTE,
						"the multipart body ended before its closing "
						"boundary");
			} else if (d->nparts == 0 && d->ndone == 0) {
				rc = m3_err_set(e, M3_EDATA, "%s: no instances", d->url);
			}
		}
		if (!incomplete || attempt >= d->net->retries) {
			if (incomplete && attempt > 0)
				m3_err_prefix(e, "gave up after %d attempts", attempt + 1);
			if (incomplete)
				m3_err_prefix(e, "%s", d->url);
			break;
		}
		if (d->o->verbose)
			m3_warn("retry %d after: %s", attempt + 1, e->msg);
		pause_ms(d, attempt);
		rc = M3_OK;
	}
	if (rc == M3_OK && d->tar)
		rc = m3_tar_end(d->fp, e);
	if (d->out.fp != NULL) {
		if (rc == M3_OK)
			rc = m3_out_commit(&d->out, e);
		else
			m3_out_abort(&d->out);
	}
	m3_http_resp_release(&d->wresp);
	free(url);
	return rc;
}

/* ---- QIDO-RS: a small reader of DICOM JSON (PS3.18 F.2) ---- */

enum {
	T_STUDY,
	T_SERIES,
	T_SOP,
	T_MODALITY,
	T_MODALITIES,
	T_SERIESNUM,
	T_INSTNUM,
	T_NSERIES,
	T_NINST_STUDY,
	T_NINST_SERIES,
	T_NTAGS
};
static const char *const tags[T_NTAGS] = {"0020000D", "0020000E", "00080018", "00080060",
					  "00080061", "00200011", "00200013", "00201206",
					  "00201208", "00201209"};

struct rec {
	char v[T_NTAGS][256];
};

struct js {
	const char *p, *end;
};

static void
jws(struct js *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int
jlit(struct js *j, char c)
{
	jws(j);
	if (j->p < j->end && *j->p == c) {
		j->p++;
		return 1;
	}
	return 0;
}

/* A string into out (NULL: skipped); escapes decoded, non-ASCII \u as '?'. */
static int
jstring(struct js *j, char *out, size_t outsz)
{
	size_t n = 0;

	if (!jlit(j, '"'))
		return -1;
	while (j->p < j->end && *j->p != '"') {
		char c = *j->p++;
		if (c == '\\') {
			if (j->p >= j->end)
				return -1;
			c = *j->p++;
			switch (c) {
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case 'r':
				c = '\r';
				break;
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case 'u': {
				unsigned v = 0;
				if (j->end - j->p < 4)
					return -1;
				for (int i = 0; i < 4; i++) {
					char h = *j->p++;
					v = v * 16 + (unsigned)(h >= 'a'   ? h - 'a' + 10
								: h >= 'A' ? h - 'A' + 10
									   : h - '0');
				}
				c = v < 0x80 ? (char)v : '?';
				break;
			}
			default:
				break;
			}
		}
		if (out != NULL && n + 1 < outsz)
			out[n++] = c;
	}
	if (out != NULL)
		out[n] = '\0';
	if (j->p >= j->end)
		return -1;
	j->p++;
	return 0;
}

static int
jskip(struct js *j, int depth)
{
	jws(j);
	if (j->p >= j->end || depth > 64)
		return -1;
	if (*j->p == '"')
		return jstring(j, NULL, 0);
	if (*j->p == '{' || *j->p == '[') {
		char close = *j->p == '{' ? '}' : ']';
		int obj = *j->p == '{';
		j->p++;
		if (jlit(j, close))
			return 0;
		do {
			if (obj && (jstring(j, NULL, 0) != 0 || !jlit(j, ':')))
				return -1;
			if (jskip(j, depth + 1) != 0)
				return -1;
		} while (jlit(j, ','));
		return jlit(j, close) ? 0 : -1;
	}
	/* number, true, false, null */
	if (strchr("-0123456789tfn", *j->p) == NULL)
		return -1;
	while (j->p < j->end && strchr(",}] \t\r\n", *j->p) == NULL)
		j->p++;
	return 0;
}

/* {"vr": .., "Value": [..]}: the string and number values, joined by '\'. */
static int
jelement(struct js *j, char *out, size_t outsz)
{
	char key[32];

	out[0] = '\0';
	if (!jlit(j, '{'))
		return -1;
	if (jlit(j, '}'))
		return 0;
	do {
		if (jstring(j, key, sizeof(key)) != 0 || !jlit(j, ':'))
			return -1;
		if (strcmp(key, "Value") != 0) {
			if (jskip(j, 1) != 0)
				return -1;
			continue;
		}
		if (!jlit(j, '['))
			return -1;
		if (jlit(j, ']'))
			continue;
		do {
			char v[256];
			const char *s;
			size_t n = strlen(out);
			jws(j);
			s = j->p;
			if (j->p < j->end && *j->p == '"') {
				if (jstring(j, v, sizeof(v)) != 0)
					return -1;
			} else {
				if (jskip(j, 1) != 0)
					return -1;
				if (strchr("-0123456789", *s) == NULL)
					continue; /* a person name or an item */
				snprintf(v, sizeof(v), "%.*s", (int)(j->p - s), s);
			}
			snprintf(out + n, outsz - n, "%s%s", n ? "\\" : "", v);
		} while (jlit(j, ','));
		if (!jlit(j, ']'))
			return -1;
	} while (jlit(j, ','));
	return jlit(j, '}') ? 0 : -1;
}

typedef int (*rec_cb)(struct dw *d, const struct rec *r, struct m3_err *e);

static int
qido_parse(struct dw *d, const char *body, size_t n, rec_cb cb, unsigned *count, struct m3_err *e)
{
	struct js j = {body, body + n};
	struct rec r;
	char key[32];
	int rc;

	*count = 0;
	jws(&j);
	if (j.p == j.end)
		return M3_OK; /* 204 No Content: nothing matched */
	if (!jlit(&j, '['))
		goto bad;
	if (jlit(&j, ']'))
		return M3_OK;
	do {
		memset(&r, 0, sizeof(r));
		if (!jlit(&j, '{'))
			goto bad;
		if (!jlit(&j, '}')) {
			do {
				int t;
				if (jstring(&j, key, sizeof(key)) != 0 || !jlit(&j, ':'))
					goto bad;
				for (t = 0; t < T_NTAGS && strcasecmp(key, tags[t]) != 0; t++)
					;
				if ((t < T_NTAGS ? jelement(&j, r.v[t], sizeof(r.v[t]))
						 : jskip(&j, 1)) != 0)
					goto bad;
			} while (jlit(&j, ','));
			if (!jlit(&j, '}'))
				goto bad;
		}
		(*count)++;
		if ((rc = cb(d, &r, e)) != M3_OK)
			return rc;
	} while (jlit(&j, ','));
	if (jlit(&j, ']'))
		return M3_OK;
bad:
	return m3_err_set(e, M3_EDATA, "%s: QIDO-RS answer is not DICOM JSON (at byte %ld)", d->url,
			  (long)(j.p - body));
}

static void
num_or_null(const char *key, const char *v)
{
	char *end;

	printf(",\"%s\":", key);
	if (*v != '\0' && (strtod(v, &end), *end == '\0'))
		fputs(v, stdout);
	else
		fputs("null", stdout);
}

static int
print_study(struct dw *d, const struct rec *r, struct m3_err *e)
{
	(void)d;
	(void)e;
	fputs("{\"level\":\"study\",\"study\":", stdout);
	m3_json_str(stdout, r->v[T_STUDY]);
	fputs(",\"modalities\":", stdout);
	m3_json_str(stdout, r->v[T_MODALITIES]);
	num_or_null("series", r->v[T_NSERIES]);
	num_or_null("instances", r->v[T_NINST_STUDY]);
	fputs("}\n", stdout);
	return M3_OK;
}

static int
print_instance(struct dw *d, const struct rec *r, struct m3_err *e)
{
	const char *series = r->v[T_SERIES][0] ? r->v[T_SERIES] : d->series;
	char key[600];

	(void)e;
	fputs("{\"level\":\"instance\",\"study\":", stdout);
	m3_json_str(stdout, d->study);
	fputs(",\"series\":", stdout);
	m3_json_str(stdout, series);
	fputs(",\"instance\":", stdout);
	m3_json_str(stdout, r->v[T_SOP]);
	num_or_null("number", r->v[T_INSTNUM]);
	snprintf(key, sizeof(key), "%s/%s.dcm", series, r->v[T_SOP]);
	fputs(",\"key\":", stdout);
	m3_json_str(stdout, key);
	fputs("}\n", stdout);
	return M3_OK;
}

static int
qido(struct dw *d, const char *url, rec_cb cb, unsigned *count, struct m3_err *e)
{
	struct rq r = {d, url, "Accept: application/dicom+json", 0};
	struct m3_http_resp resp;
	int rc;

	m3_http_resp_init(&resp);
	if ((rc = get(d, &r, &resp, e)) == M3_OK)
		rc = qido_parse(d, resp.body ? resp.body : "", resp.len, cb, count, e);
	m3_http_resp_release(&resp);
	return rc;
}

static int
list_instances(struct dw *d, const char *series, struct m3_err *e)
{
	size_t n = strlen(d->base) + 300;
	char *url = malloc(n), save[65];
	unsigned count;
	int rc;

	if (url == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	snprintf(url, n, "%s/studies/%s/series/%s/instances%s%s", d->base, d->study, series,
		 d->lv == L_INSTANCE ? "?SOPInstanceUID=" : "", d->lv == L_INSTANCE ? d->inst : "");
	memcpy(save, d->series, sizeof(save));
	snprintf(d->series, sizeof(d->series), "%s", series);
	rc = qido(d, url, print_instance, &count, e);
	memcpy(d->series, save, sizeof(save));
	if (rc == M3_OK && count == 0 && d->lv == L_INSTANCE)
		rc = m3_err_set(e, M3_EDATA, "%s: no such instance", d->url);
	free(url);
	return rc;
}

static int
print_series(struct dw *d, const struct rec *r, struct m3_err *e)
{
	fputs("{\"level\":\"series\",\"study\":", stdout);
	m3_json_str(stdout, d->study);
	fputs(",\"series\":", stdout);
	m3_json_str(stdout, r->v[T_SERIES]);
	fputs(",\"modality\":", stdout);
	m3_json_str(stdout, r->v[T_MODALITY]);
	num_or_null("number", r->v[T_SERIESNUM]);
	num_or_null("instances", r->v[T_NINST_SERIES]);
	fputs("}\n", stdout);
	if (!uid_ok(r->v[T_SERIES], strlen(r->v[T_SERIES])))
		return m3_err_set(e, M3_EDATA, "%s: a series without a valid Series Instance UID",
				  d->url);
	return list_instances(d, r->v[T_SERIES], e);
}

static int
list(struct dw *d, struct m3_err *e)
{
	size_t n = strlen(d->base) + 300;
	char *url = malloc(n);
	unsigned count = 0;
	int rc;

	if (url == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	switch (d->lv) {
	case L_ROOT:
		snprintf(url, n, "%s/studies", d->base);
		rc = qido(d, url, print_study, &count, e);
		count = 1; /* no study is an empty list, not an error */
		break;
	case L_STUDY:
		snprintf(url, n, "%s/studies/%s/series", d->base, d->study);
		rc = qido(d, url, print_series, &count, e);
		break;
	case L_SERIES:
		snprintf(url, n, "%s/studies/%s/series?SeriesInstanceUID=%s", d->base, d->study,
			 d->series);
		rc = qido(d, url, print_series, &count, e);
		break;
	case L_INSTANCE:
	default:
		rc = list_instances(d, d->series, e);
		count = 1;
		break;
	}
	if (rc == M3_OK && count == 0)
		rc = m3_err_set(e, M3_EDATA, "%s: no such %s", d->url,
				d->lv == L_STUDY ? "study" : "series");
	free(url);
	if (rc == M3_OK)
		rc = m3_stdout_close(e);
	return rc;
}

int
dicomweb_run(const char *url, const struct opts *o, struct m3_net *net, struct m3_err *e)
{
	struct dw d;
	int rc;

	memset(&d, 0, sizeof(d));
	d.o = o;
	d.net = net;
	d.url = url;
	if ((rc = parse_url(&d, url, e)) != M3_OK)
		goto done;
	if (o->sha256 != NULL) {
		rc = m3_err_set(e, M3_EUSAGE, "--sha256: not for DICOMweb");
		goto done;
	}
	d.has_auth = m3_dicomweb_auth(net, d.auth, sizeof(d.auth));
	if ((d.c = m3_conn_new(net)) == NULL) {
		rc = m3_err_set(e, M3_ENOMEM, "out of memory");
		goto done;
	}
	rc = o->list ? list(&d, e) : wado(&d, e);
done:
	spool_reset(&d);
	mp_free(&d.mp);
	for (size_t i = 0; i < d.ndone; i++)
		free(d.done[i]);
	free(d.done);
	free(d.mem);
	free(d.base);
	m3_conn_free(d.c);
	memset(d.auth, 0, sizeof(d.auth));
	return rc;
}
