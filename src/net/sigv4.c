/* AWS Signature Version 4 (header and query forms), after the AWS General Reference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m3/sha256.h"
#include "m3/sigv4.h"

void
m3_sigv4_date(time_t t, char out[M3_AMZDATE_LEN])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, M3_AMZDATE_LEN, "%Y%m%dT%H%M%SZ", &tm);
}

char *
m3_uri_encode(const char *s, int keep_slash)
{
	static const char hx[] = "0123456789ABCDEF";
	char *out = malloc(3 * strlen(s) + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~' ||
		    (keep_slash && ch == '/')) {
			*o++ = (char)ch;
		} else {
			*o++ = '%';
			*o++ = hx[ch >> 4];
			*o++ = hx[ch & 15];
		}
	}
	*o = '\0';
	return out;
}

static int
cmp_kv(const void *a, const void *b)
{
	const struct m3_kv *x = a, *y = b;
	int c = strcmp(x->k, y->k);

	return c != 0 ? c : strcmp(x->v, y->v);
}

char *
m3_sigv4_query(const struct m3_kv *q, size_t n)
{
	struct m3_kv *enc = calloc(n + 1, sizeof(*enc));
	size_t len = 1, i;
	char *out = NULL;

	if (enc == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		enc[i].k = m3_uri_encode(q[i].k, 0);
		enc[i].v = m3_uri_encode(q[i].v ? q[i].v : "", 0);
		if (enc[i].k == NULL || enc[i].v == NULL)
			goto done;
		len += strlen(enc[i].k) + strlen(enc[i].v) + 2;
	}
	qsort(enc, n, sizeof(*enc), cmp_kv);
	if ((out = malloc(len)) == NULL)
		goto done;
	*out = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0)
			strcat(out, "&");
		strcat(out, enc[i].k);
		strcat(out, "=");
		strcat(out, enc[i].v);
	}
done:
	for (i = 0; i < n; i++) {
		free((char *)enc[i].k);
		free((char *)enc[i].v);
	}
	free(enc);
	return out;
}

static int
cmp_hdr(const void *a, const void *b)
{
	return strcmp(((const struct m3_kv *)a)->k, ((const struct m3_kv *)b)->k);
}

/* A growing string; on allocation failure it goes NULL and stays NULL. */
struct sbuf {
	char *s;
	size_t len, cap;
};

static void
sb_add(struct sbuf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->s == NULL && b->cap != 0)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->s, cap);
		if (p == NULL) {
			free(b->s);
			b->s = NULL;
			b->cap = 1;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
}

/* Canonical request; signed headers list into *signed_hdrs. Both malloc'd. */
static char *
canonical(const struct m3_sigv4_req *r, char **signed_hdrs)
{
	struct m3_kv *h = malloc((r->nheaders + 1) * sizeof(*h));
	struct sbuf b = {0}, sh = {0};

	*signed_hdrs = NULL;
	if (h == NULL)
		return NULL;
	memcpy(h, r->headers, r->nheaders * sizeof(*h));
	qsort(h, r->nheaders, sizeof(*h), cmp_hdr);
	sb_add(&b, r->method);
	sb_add(&b, "\n");
	sb_add(&b, r->path);
	sb_add(&b, "\n");
	sb_add(&b, r->query);
	sb_add(&b, "\n");
	for (size_t i = 0; i < r->nheaders; i++) {
		sb_add(&b, h[i].k);
		sb_add(&b, ":");
		sb_add(&b, h[i].v);
		sb_add(&b, "\n");
		if (i > 0)
			sb_add(&sh, ";");
		sb_add(&sh, h[i].k);
	}
	sb_add(&b, "\n");
	sb_add(&b, sh.s != NULL ? sh.s : "");
	sb_add(&b, "\n");
	sb_add(&b, r->payload_hash);
	free(h);
	if (b.s == NULL || sh.s == NULL) {
		free(b.s);
		free(sh.s);
		return NULL;
	}
	*signed_hdrs = sh.s;
	return b.s;
}

/* Scope "YYYYMMDD/region/service/aws4_request" and the hex signature of the canonical request. */
static int
signature(const struct m3_creds *c, const struct m3_sigv4_req *r, const char *creq, char *scope,
	  size_t scopesz, char sig[2 * M3_SHA256_LEN + 1])
{
	unsigned char k[M3_SHA256_LEN], hash[M3_SHA256_LEN];
	char date[9], hhex[2 * M3_SHA256_LEN + 1], *sts, *key;
	size_t n;

	memcpy(date, r->amzdate, 8);
	date[8] = '\0';
	snprintf(scope, scopesz, "%s/%s/%s/aws4_request", date, r->region, r->service);
	m3_sha256(creq, strlen(creq), hash);
	m3_hex(hash, sizeof(hash), hhex);
	n = strlen(r->amzdate) + strlen(scope) + sizeof(hhex) + 32;
	if ((sts = malloc(n)) == NULL)
		return -1;
	snprintf(sts, n, "AWS4-HMAC-SHA256\n%s\n%s\n%s", r->amzdate, scope, hhex);
	if ((key = malloc(strlen(c->secret) + 5)) == NULL) {
		free(sts);
		return -1;
	}
	sprintf(key, "AWS4%s", c->secret);
	m3_hmac_sha256(key, strlen(key), date, 8, k);
	memset(key, 0, strlen(key));
	free(key);
	m3_hmac_sha256(k, sizeof(k), r->region, strlen(r->region), k);
	m3_hmac_sha256(k, sizeof(k), r->service, strlen(r->service), k);
	m3_hmac_sha256(k, sizeof(k), "aws4_request", 12, k);
	m3_hmac_sha256(k, sizeof(k), sts, strlen(sts), hash);
	memset(k, 0, sizeof(k));
	m3_hex(hash, sizeof(hash), sig);
	free(sts);
	return 0;
}

char *
m3_sigv4_auth(const struct m3_creds *c, const struct m3_sigv4_req *r)
{
	char scope[256], sig[2 * M3_SHA256_LEN + 1], *sh, *creq = canonical(r, &sh), *out = NULL;
	size_t n;

	if (creq == NULL)
		return NULL;
	if (signature(c, r, creq, scope, sizeof(scope), sig) == 0) {
		n = strlen(c->key_id) + strlen(scope) + strlen(sh) + strlen(sig) + 80;
		if ((out = malloc(n)) != NULL)
			snprintf(
				out, n,
				"AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
				c->key_id, scope, sh, sig);
	}
	free(creq);
	free(sh);
	return out;
}

char *
m3_sigv4_presign(const struct m3_creds *c, const struct m3_sigv4_req *r, const struct m3_kv *extra,
		 size_t nextra, long expires)
{
	char scope[256], cred[512], exp[32], sig[2 * M3_SHA256_LEN + 1];
	struct m3_sigv4_req pr = *r;
	struct m3_kv *q = malloc((nextra + 6) * sizeof(*q));
	char *all, *creq = NULL, *sh = NULL, *out = NULL;
	size_t n = 0, len;

	if (q == NULL)
		return NULL;
	memcpy(scope, r->amzdate, 8);
	snprintf(scope + 8, sizeof(scope) - 8, "/%s/%s/aws4_request", r->region, r->service);
	snprintf(cred, sizeof(cred), "%s/%s", c->key_id, scope);
	snprintf(exp, sizeof(exp), "%ld", expires);
	q[n++] = (struct m3_kv){"X-Amz-Algorithm", "AWS4-HMAC-SHA256"};
	q[n++] = (struct m3_kv){"X-Amz-Credential", cred};
	q[n++] = (struct m3_kv){"X-Amz-Date", r->amzdate};
	q[n++] = (struct m3_kv){"X-Amz-Expires", exp};
	q[n++] = (struct m3_kv){"X-Amz-SignedHeaders", "host"};
	if (c->token != NULL)
		q[n++] = (struct m3_kv){"X-Amz-Security-Token", c->token};
	for (size_t i = 0; i < nextra; i++)
		q[n++] = extra[i];
	all = m3_sigv4_query(q, n);
	free(q);
	if (all == NULL)
		return NULL;
	pr.query = all;
	pr.payload_hash = "UNSIGNED-PAYLOAD";
	if ((creq = canonical(&pr, &sh)) != NULL &&
	    signature(c, &pr, creq, scope, sizeof(scope), sig) == 0) {
		len = strlen(all) + sizeof(sig) + 32;
		if ((out = malloc(len)) != NULL)
			snprintf(out, len, "%s&X-Amz-Signature=%s", all, sig);
	}
	free(creq);
	free(sh);
	free(all);
	return out;
}
