/* The AWS credential chain: environment, shared credentials and config files, IMDSv2. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "m3/http.h"
#include "m3/s3.h"

void
m3_creds_release(struct m3_creds *c)
{
	if (c->secret != NULL)
		memset(c->secret, 0, strlen(c->secret));
	free(c->key_id);
	free(c->secret);
	free(c->token);
	memset(c, 0, sizeof(*c));
}

static char *
dup_env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? strdup(v) : NULL;
}

static char *
trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* Reads key = value pairs of [section] (or [profile section] in config) from an INI file. */
static int
ini_profile(const char *path, const char *profile, int config, struct m3_creds *c, char *region,
	    size_t regionsz)
{
	FILE *fp = fopen(path, "r");
	char line[2048], want[300], want2[300];
	int in = 0, found = 0;

	if (fp == NULL)
		return 0;
	snprintf(want, sizeof(want), "[%s]", profile);
	snprintf(want2, sizeof(want2), "[profile %s]", profile);
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *l = trim(line), *eq, *k, *v;
		if (*l == '[') {
			in = strcmp(l, want) == 0 || (config && strcmp(l, want2) == 0);
			found |= in;
			continue;
		}
		if (!in || *l == '#' || *l == ';' || (eq = strchr(l, '=')) == NULL)
			continue;
		*eq = '\0';
		k = trim(l);
		v = trim(eq + 1);
		if (strcmp(k, "aws_access_key_id") == 0 && c->key_id == NULL)
			c->key_id = strdup(v);
		else if (strcmp(k, "aws_secret_access_key") == 0 && c->secret == NULL)
			c->secret = strdup(v);
		else if (strcmp(k, "aws_session_token") == 0 && c->token == NULL)
			c->token = strdup(v);
		else if (strcmp(k, "region") == 0 && region != NULL && *region == '\0')
			snprintf(region, regionsz, "%s", v);
	}
	memset(line, 0, sizeof(line));
	fclose(fp);
	return found;
}

static int
from_files(struct m3_creds *c, char *region, size_t regionsz, struct m3_err *e)
{
	const char *home = getenv("HOME"), *profile = getenv("AWS_PROFILE");
	const char *cf = getenv("AWS_SHARED_CREDENTIALS_FILE"), *conf = getenv("AWS_CONFIG_FILE");
	char p1[4096], p2[4096];
	int found;

	if (profile == NULL || *profile == '\0')
		profile = getenv("AWS_DEFAULT_PROFILE");
	snprintf(p1, sizeof(p1), "%s/.aws/credentials", home ? home : "");
	snprintf(p2, sizeof(p2), "%s/.aws/config", home ? home : "");
	found = ini_profile(cf ? cf : p1, profile ? profile : "default", 0, c, region, regionsz);
	found |= ini_profile(conf ? conf : p2, profile ? profile : "default", 1, c, region,
			     regionsz);
	if (profile != NULL && *profile != '\0' && !found)
		return m3_err_set(e, M3_EACCESS, "profile \"%s\" not found in %s or %s", profile,
				  cf ? cf : p1, conf ? conf : p2);
	return M3_OK;
}

struct imds {
	const char *method, *url, *hdr;
};

static int
imds_prep(void *arg, struct m3_http_req *q, struct m3_err *e)
{
	const struct imds *m = arg;

	(void)e;
	q->method = m->method;
	q->url = m->url;
	q->hdr[q->nhdr++] = m->hdr;
	if (strcmp(m->method, "PUT") == 0) {
		q->body = "";
		q->bodylen = 0;
	}
	q->max_body = 65536;
	return M3_OK;
}

/* A string value of "name" in a flat JSON object, malloc'd. */
static char *
json_field(const char *js, const char *name)
{
	char pat[64];
	const char *p, *end;
	char *out;

	snprintf(pat, sizeof(pat), "\"%s\"", name);
	if ((p = strstr(js, pat)) == NULL || (p = strchr(p + strlen(pat), '"')) == NULL)
		return NULL;
	p++;
	if ((end = strchr(p, '"')) == NULL)
		return NULL;
	if ((out = malloc((size_t)(end - p) + 1)) == NULL)
		return NULL;
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	return out;
}

/* IMDSv2: a session token by PUT, the role name, then the role's credentials. */
static int
from_imds(struct m3_creds *c, struct m3_net *net, struct m3_err *e)
{
	const char *ep = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"), *off;
	struct m3_net quick = *net;
	struct m3_http_resp r;
	struct m3_conn *conn;
	char url[1024], tokhdr[1200], role[256];
	struct imds m;
	int rc;

	off = getenv("AWS_EC2_METADATA_DISABLED");
	if (off != NULL && strcasecmp(off, "true") == 0)
		return M3_EACCESS;
	if (ep == NULL || *ep == '\0')
		ep = "http://169.254.169.254";
	quick.timeout = 2;
	quick.retries = 1;
	if ((conn = m3_conn_new(&quick)) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	m3_http_resp_init(&r);
	snprintf(url, sizeof(url), "%s/latest/api/token", ep);
	m = (struct imds){"PUT", url, "X-aws-ec2-metadata-token-ttl-seconds: 21600"};
	if ((rc = m3_http_do(conn, imds_prep, &m, &r, e)) != M3_OK)
		goto done;
	snprintf(tokhdr, sizeof(tokhdr), "X-aws-ec2-metadata-token: %s",
		 trim(r.body ? r.body : ""));
	snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/", ep);
	m = (struct imds){"GET", url, tokhdr};
	if ((rc = m3_http_do(conn, imds_prep, &m, &r, e)) != M3_OK)
		goto done;
	snprintf(role, sizeof(role), "%s", trim(r.body ? r.body : ""));
	role[strcspn(role, "\n")] = '\0';
	snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/%s", ep, role);
	if ((rc = m3_http_do(conn, imds_prep, &m, &r, e)) != M3_OK)
		goto done;
	c->key_id = json_field(r.body, "AccessKeyId");
	c->secret = json_field(r.body, "SecretAccessKey");
	c->token = json_field(r.body, "Token");
	rc = c->key_id != NULL && c->secret != NULL ? M3_OK : M3_EACCESS;
done:
	if (r.body != NULL)
		memset(r.body, 0, r.len);
	m3_http_resp_release(&r);
	m3_conn_free(conn);
	memset(tokhdr, 0, sizeof(tokhdr));
	return rc;
}

int
m3_creds_load(struct m3_creds *c, struct m3_net *net, char *region, size_t regionsz,
	      struct m3_err *e)
{
	int rc;

	memset(c, 0, sizeof(*c));
	c->key_id = dup_env("AWS_ACCESS_KEY_ID");
	c->secret = dup_env("AWS_SECRET_ACCESS_KEY");
	if (c->key_id != NULL && c->secret != NULL) {
		c->token = dup_env("AWS_SESSION_TOKEN");
		/* the region may still come from the profile's config */
		struct m3_creds prof = {0};
		if (from_files(&prof, region, regionsz, e) != M3_OK)
			m3_err_init(e);
		m3_creds_release(&prof);
		goto found;
	}
	m3_creds_release(c);
	if ((rc = from_files(c, region, regionsz, e)) != M3_OK) {
		m3_creds_release(c);
		return rc;
	}
	if (c->key_id != NULL && c->secret != NULL)
		goto found;
	m3_creds_release(c);
	if (from_imds(c, net, e) == M3_OK)
		goto found;
	m3_creds_release(c);
	return m3_err_set(e, M3_EACCESS,
			  "no credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
			  "AWS_PROFILE, or use --no-sign-request)");
found:
	m3_net_secret(net, c->secret);
	m3_net_secret(net, c->token);
	return M3_OK;
}
