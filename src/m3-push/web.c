/* STOW-RS (DICOM files to a DICOMweb server) and the signed webhook of --notify. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "m3/json.h"
#include "push.h"

struct post {
	const char *url;
	const char *hdr[4];
	int nhdr;
	const char *body;
	size_t len;
};

static int
post_prep(void *arg, struct m3_http_req *q, struct m3_err *e)
{
	const struct post *p = arg;

	(void)e;
	q->method = "POST";
	q->url = p->url;
	for (int i = 0; i < p->nhdr; i++)
		q->hdr[q->nhdr++] = p->hdr[i];
	q->body = p->body;
	q->bodylen = p->len;
	return M3_OK;
}

static int
post(struct m3_net *net, struct post *p, struct m3_err *e)
{
	struct m3_conn *c = m3_conn_new(net);
	struct m3_http_resp r;
	int rc;

	if (c == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	m3_http_resp_init(&r);
	rc = m3_http_do(c, post_prep, p, &r, e);
	m3_http_resp_release(&r);
	m3_conn_free(c);
	return rc;
}

int
notify(struct m3_net *net, const char *url, const struct result *r, struct m3_err *e)
{
	const char *secret = getenv("M3_NOTIFY_SECRET");
	unsigned char mac[M3_SHA256_LEN];
	char hex[2 * M3_SHA256_LEN + 1], sig[100], when[40];
	struct post p = {.url = url};
	char *body = NULL;
	size_t len = 0;
	time_t now = time(NULL);
	struct tm tm;
	FILE *f = open_memstream(&body, &len);
	int rc;

	if (f == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fputs("{\"bucket\":", f);
	m3_json_str(f, r->bucket);
	fputs(",\"key\":", f);
	m3_json_str(f, r->key);
	fprintf(f, ",\"size\":%llu,\"sha256\":\"%s\",\"etag\":", (unsigned long long)r->size,
		r->sha256);
	m3_json_str(f, r->etag);
	fputs(",\"url\":", f);
	if (r->url != NULL)
		m3_json_str(f, r->url);
	else
		fputs("null", f);
	fprintf(f, ",\"time\":\"%s\"}", when);
	if (fclose(f) != 0 || body == NULL) {
		free(body);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	p.body = body;
	p.len = len;
	p.hdr[p.nhdr++] = "Content-Type: application/json";
	if (secret != NULL && *secret != '\0') {
		m3_net_secret(net, secret);
		m3_hmac_sha256(secret, strlen(secret), body, len, mac);
		m3_hex(mac, sizeof(mac), hex);
		snprintf(sig, sizeof(sig), "X-M3-Signature: sha256=%s", hex);
		p.hdr[p.nhdr++] = sig;
	}
	rc = post(net, &p, e);
	free(body);
	if (rc != M3_OK)
		m3_err_prefix(e, "%s", url);
	return rc;
}

static int
slurp(const char *file, char **data, size_t *len, struct m3_err *e)
{
	FILE *fp = m3_open_in(file, e);
	size_t cap = 1 << 16, n;

	*data = NULL;
	*len = 0;
	if (fp == NULL)
		return e->code;
	for (;;) {
		char *p = realloc(*data, cap);
		if (p == NULL) {
			m3_close_in(fp);
			return m3_err_set(e, M3_ENOMEM, "out of memory");
		}
		*data = p;
		if ((n = fread(*data + *len, 1, cap - *len, fp)) == 0)
			break;
		*len += n;
		if (*len == cap)
			cap *= 2;
	}
	n = ferror(fp);
	m3_close_in(fp);
	return n ? m3_err_set(e, M3_EIO, "%s: read error", file) : M3_OK;
}

int
stow(struct m3_net *net, const char *url, const char *file, struct m3_err *e)
{
	static const char boundary[] = "m3-stow-7d9c1a0e5b";
	char ctype[160], auth[1024], *target, *data, *body;
	struct post p;
	size_t len, n, ulen;
	const char *u = strncmp(url, "dicomweb+", 9) == 0 ? url + 9 : url;
	int rc;

	if ((rc = slurp(file, &data, &len, e)) != M3_OK)
		return rc;
	if (len < 132 || memcmp(data + 128, "DICM", 4) != 0) {
		free(data);
		return m3_err_set(e, M3_EDATA, "%s: not a DICOM file (no DICM preamble)", file);
	}
	ulen = strlen(u);
	n = len + 256;
	target = malloc(ulen + 16);
	body = malloc(n);
	if (target == NULL || body == NULL) {
		free(target);
		free(body);
		free(data);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	/* the service root gets /studies; a URL naming /studies or a study is used as it is */
	snprintf(target, ulen + 16, "%s%s", u,
		 strstr(u, "/studies") != NULL ? ""
		 : u[ulen - 1] == '/'          ? "studies"
					       : "/studies");
	snprintf(ctype, sizeof(ctype),
		 "Content-Type: multipart/related; type=\"application/dicom\"; boundary=%s",
		 boundary);
	n = (size_t)snprintf(body, n, "--%s\r\nContent-Type: application/dicom\r\n\r\n", boundary);
	memcpy(body + n, data, len);
	n += len;
	n += (size_t)sprintf(body + n, "\r\n--%s--\r\n", boundary);
	free(data);
	memset(&p, 0, sizeof(p));
	p.url = target;
	p.body = body;
	p.len = n;
	p.hdr[p.nhdr++] = ctype;
	p.hdr[p.nhdr++] = "Accept: application/dicom+json";
	if (m3_dicomweb_auth(net, auth, sizeof(auth)))
		p.hdr[p.nhdr++] = auth;
	rc = post(net, &p, e);
	if (rc != M3_OK)
		m3_err_prefix(e, "%s", file);
	memset(auth, 0, sizeof(auth));
	free(body);
	free(target);
	return rc;
}
