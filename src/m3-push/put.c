/* Uploads: one PUT for a small object, else a multipart upload with parallel parts read in
 * order into one buffer per worker (bounded memory, stdin without a known size); any failure
 * aborts the upload, so no partial object is ever visible. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "m3/pool.h"
#include "push.h"

#define MAX_PARTS 10000

const char *
content_type(const char *name)
{
	static const char *const map[][2] = {
		{".png", "image/png"},
		{".jpg", "image/jpeg"},
		{".jpeg", "image/jpeg"},
		{".json", "application/json"},
		{".jsonl", "application/jsonl"},
		{".x3d", "model/x3d+xml"},
		{".x3dz", "model/x3d+xml"},
		{".stl", "model/stl"},
		{".ply", "application/ply"},
		{".html", "text/html"},
		{".htm", "text/html"},
		{".txt", "text/plain"},
		{".csv", "text/csv"},
		{".dcm", "application/dicom"},
		{".nrrd", "application/octet-stream"},
		{".gz", "application/gzip"},
		{".tar", "application/x-tar"},
		{".xml", "application/xml"},
		{".pdf", "application/pdf"},
		{".nii", "application/octet-stream"},
	};
	const char *dot = strrchr(name, '.');

	if (dot != NULL && strchr(dot, '/') == NULL)
		for (size_t i = 0; i < sizeof(map) / sizeof(*map); i++)
			if (strcmp(dot, map[i][0]) == 0)
				return map[i][1];
	return "application/octet-stream";
}

/* Headers that go with a PUT or a CreateMultipartUpload: type and encryption. */
static size_t
object_headers(const struct popts *o, const char *key, struct m3_kv *h)
{
	size_t n = 0;

	h[n++] = (struct m3_kv){"content-type",
				o->content_type ? o->content_type : content_type(key)};
	if (strcmp(o->sse, "none") != 0) {
		h[n++] = (struct m3_kv){"x-amz-server-side-encryption", o->sse};
		if (o->kms_key != NULL)
			h[n++] = (struct m3_kv){"x-amz-server-side-encryption-aws-kms-key-id",
						o->kms_key};
	}
	return n;
}

/* Sends one body (a whole object, or part partno of upload_id); checks the returned ETag. */
static int
send_body(struct m3_s3 *s, struct m3_conn *c, const struct popts *o, const char *bucket,
	  const char *key, const char *upload_id, size_t partno, const char *data, size_t len,
	  char etag[80], struct m3_err *e)
{
	unsigned char md5[M3_MD5_LEN], sha[M3_SHA256_LEN];
	char md5b64[32], md5hex[2 * M3_MD5_LEN + 1], shahex[2 * M3_SHA256_LEN + 1], shab64[48],
		pn[24];
	struct m3_kv h[8], q[2];
	struct m3_http_resp resp;
	struct m3_s3_req r = {.method = "PUT",
			      .bucket = bucket,
			      .key = key,
			      .body = data,
			      .bodylen = len,
			      .headers = h,
			      .query = q};
	size_t n = 0;
	int rc;

	m3_md5(data, len, md5);
	m3_hex(md5, sizeof(md5), md5hex);
	if (upload_id == NULL)
		n = object_headers(o, key, h);
	if (o->sha256_checksum) {
		m3_sha256(data, len, sha);
		m3_hex(sha, sizeof(sha), shahex);
		m3_base64(sha, sizeof(sha), shab64);
		h[n++] = (struct m3_kv){"x-amz-checksum-sha256", shab64};
		r.payload_hash = shahex;
	} else {
		m3_base64(md5, sizeof(md5), md5b64);
		h[n++] = (struct m3_kv){"content-md5", md5b64};
		/* Content-MD5 is signed and checked by the server: no second hash of the body */
		r.payload_hash = "UNSIGNED-PAYLOAD";
	}
	r.nheaders = n;
	if (upload_id != NULL) {
		snprintf(pn, sizeof(pn), "%zu", partno);
		q[0] = (struct m3_kv){"partNumber", pn};
		q[1] = (struct m3_kv){"uploadId", upload_id};
		r.nquery = 2;
	}
	m3_http_resp_init(&resp);
	rc = m3_s3_do(s, c, &r, &resp, e);
	if (rc == M3_OK) {
		size_t l = strlen(resp.etag);
		const char *t = resp.etag;
		if (l >= 2 && t[0] == '"')
			t++, l -= 2;
		if (l > 79)
			l = 79;
		memcpy(etag, t, l);
		etag[l] = '\0';
		/* an S3 ETag of a plain upload is the MD5 of what it stored, unless encrypted by
		 * KMS */
		if (strlen(etag) == 32 && strcmp(etag, md5hex) != 0 &&
		    strcmp(o->sse, "aws:kms") != 0)
			rc = m3_err_set(e, M3_EREMOTE, "ETag %s is not the MD5 %s of what was sent",
					etag, md5hex);
	}
	m3_http_resp_release(&resp);
	return rc;
}

/* Reads up to n bytes; short only at the end of the input. */
static size_t
read_full(FILE *fp, char *buf, size_t n)
{
	size_t got = 0, r;

	while (got < n && (r = fread(buf + got, 1, n - got, fp)) > 0)
		got += r;
	return got;
}

struct mpu {
	struct m3_s3 *s;
	const struct popts *o;
	struct m3_conn **conns;
	char **bufs;
	char *first;
	size_t firstlen, part;
	FILE *fp;
	const char *bucket, *key, *id;
	char (*etags)[80];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t next_read, nparts;
	int eof, failed, rerr;
	struct m3_hash sha;
	uint64_t size;
	struct m3_err err;
	struct m3_progress prog;
};

static void
mpu_fail(struct mpu *m, const struct m3_err *e)
{
	pthread_mutex_lock(&m->mu);
	if (!m->failed) {
		m->failed = 1;
		m->err = *e;
	}
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

static void
mpu_work(void *ctx, size_t item, unsigned w)
{
	struct mpu *m = ctx;
	struct m3_err e;
	char *data = m->first;
	size_t len = m->firstlen;

	m3_err_init(&e);
	if (item > 0) {
		pthread_mutex_lock(&m->mu);
		while (!m->failed && m->next_read != item)
			pthread_cond_wait(&m->cv, &m->mu);
		if (m->failed || m->eof) {
			m->next_read++;
			pthread_cond_broadcast(&m->cv);
			pthread_mutex_unlock(&m->mu);
			return;
		}
		data = m->bufs[w];
		len = read_full(m->fp, data, m->part);
		if (len < m->part) {
			m->eof = 1;
			m->rerr = ferror(m->fp);
			m->nparts = len > 0 ? item + 1 : item;
		} else if (item + 1 >= MAX_PARTS) {
			m->eof = 1;
			m->nparts = item + 1;
			if (fgetc(m->fp) != EOF) {
				m3_err_set(&e, M3_EDATA,
					   "more than %d parts: use a larger --part-size",
					   MAX_PARTS);
				m->failed = 1;
				m->err = e;
			}
		}
		m3_hash_update(&m->sha, data, len);
		m->size += len;
		m->next_read++;
		m3_progress(&m->prog, "%llu MiB read", (unsigned long long)(m->size >> 20));
		pthread_cond_broadcast(&m->cv);
		pthread_mutex_unlock(&m->mu);
		if (len == 0)
			return;
	}
	if (send_body(m->s, m->conns[w], m->o, m->bucket, m->key, m->id, item + 1, data, len,
		      m->etags[item], &e) != M3_OK) {
		m3_err_prefix(&e, "part %zu", item + 1);
		mpu_fail(m, &e);
	}
}

static void
mpu_free(struct mpu *m, unsigned j)
{
	for (unsigned i = 0; i < j; i++) {
		if (m->conns != NULL)
			m3_conn_free(m->conns[i]);
		if (m->bufs != NULL)
			free(m->bufs[i]);
	}
	free(m->conns);
	free(m->bufs);
	free(m->etags);
	m3_hash_release(&m->sha);
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->cv);
}

/* The S3 ETag of a multipart object: MD5 of the parts' MD5s, "-", the part count. */
static int
parts_etag(const struct mpu *m, char *want, size_t sz)
{
	unsigned char *md5s = malloc(m->nparts * M3_MD5_LEN + 1), d[M3_MD5_LEN];
	char hex[2 * M3_MD5_LEN + 1];

	if (md5s == NULL)
		return -1;
	for (size_t i = 0; i < m->nparts; i++)
		for (size_t k = 0; k < M3_MD5_LEN; k++) {
			unsigned v = 0;
			sscanf(m->etags[i] + 2 * k, "%2x", &v);
			md5s[i * M3_MD5_LEN + k] = (unsigned char)v;
		}
	m3_md5(md5s, m->nparts * M3_MD5_LEN, d);
	free(md5s);
	m3_hex(d, sizeof(d), hex);
	snprintf(want, sz, "%s-%zu", hex, m->nparts);
	return 0;
}

/* The ETag of the object made, checked when the server gives one (radosgw 16 gives none in
 * its answer, so it is filled in). */
static int
check_etag(const struct mpu *m, char *etag, size_t sz, struct m3_err *e)
{
	char want[80];

	if (parts_etag(m, want, sizeof(want)) != 0)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	if (etag[0] == '\0' || strcmp(m->o->sse, "aws:kms") == 0)
		snprintf(etag, sz, "%s", want);
	else if (strcmp(etag, want) != 0)
		return m3_err_set(e, M3_EREMOTE, "ETag %s is not the %s of the parts sent", etag,
				  want);
	return M3_OK;
}

/*
 * CompleteMultipartUpload is the one request that cannot simply be sent again: when the server
 * applied it but its answer was lost, the retry is told NoSuchUpload.  Then the object is
 * asked for: if it is there with the ETag of exactly the parts sent, the upload is done.
 */
static int
complete(struct mpu *m, const char *id, struct result *res, struct m3_err *e)
{
	struct m3_s3_req q = {.method = "HEAD", .bucket = m->bucket, .key = m->key};
	struct m3_http_resp resp;
	struct m3_err he;
	char want[80];
	int rc, same = 0;

	rc = m3_s3_mpu_complete(m->s, m->conns[0], m->bucket, m->key, id, m->etags, m->nparts,
				res->etag, sizeof(res->etag), e);
	if (rc == M3_OK || strstr(e->msg, "NoSuchUpload") == NULL)
		return rc;
	rc = e->code = M3_EREMOTE; /* the upload vanished on the server, no local fault */
	if (strcmp(m->o->sse, "aws:kms") == 0 || parts_etag(m, want, sizeof(want)) != 0)
		return rc;
	m3_err_init(&he);
	m3_http_resp_init(&resp);
	if (m3_s3_do(m->s, m->conns[0], &q, &resp, &he) == M3_OK) {
		char *t = resp.etag + (resp.etag[0] == '"');
		t[strcspn(t, "\"")] = '\0';
		same = strcmp(t, want) == 0;
	}
	if (same) {
		m3_warn("s3://%s/%s: the answer to CompleteMultipartUpload was lost; the object is "
			"there with the ETag of the parts sent",
			m->bucket, m->key);
		snprintf(res->etag, sizeof(res->etag), "%s", want);
		rc = M3_OK;
	}
	m3_http_resp_release(&resp);
	return rc;
}

/* The parts after the first (already read into m->first) come from m->fp. */
static int
multipart(struct mpu *m, unsigned j, struct result *res, struct m3_err *e)
{
	struct m3_kv h[4];
	struct m3_pool *pool;
	char *id = NULL;
	int rc;

	m->etags = calloc(MAX_PARTS, sizeof(*m->etags));
	m->conns = calloc(j, sizeof(*m->conns));
	m->bufs = calloc(j, sizeof(*m->bufs));
	if (m->etags == NULL || m->conns == NULL || m->bufs == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	for (unsigned i = 0; i < j; i++)
		if ((m->conns[i] = m3_conn_new(m->s->net)) == NULL ||
		    (m->bufs[i] = malloc(m->part)) == NULL)
			return m3_err_set(e, M3_ENOMEM, "out of memory");
	if ((rc = m3_s3_mpu_create(m->s, m->conns[0], m->bucket, m->key, h,
				   object_headers(m->o, m->key, h), &id, e)) != M3_OK)
		return rc;
	m->id = id;
	m->next_read = 1;
	if ((pool = m3_pool_new(j, e)) == NULL) {
		rc = e->code;
	} else {
		m3_pool_run(pool, mpu_work, m, MAX_PARTS);
		m3_pool_free(pool);
		if (m->failed) {
			*e = m->err;
			rc = e->code;
		} else if (m->rerr) {
			rc = m3_err_set(e, M3_EIO, "read error");
		} else {
			rc = complete(m, id, res, e);
			if (rc == M3_OK)
				rc = check_etag(m, res->etag, sizeof(res->etag), e);
		}
	}
	if (rc != M3_OK) {
		struct m3_err ae;
		m3_err_init(&ae);
		/* the abort is what keeps a partial upload from lingering: try it harder */
		if (m->s->net->retries < 5)
			m->s->net->retries = 5;
		if (m3_s3_mpu_abort(m->s, m->conns[0], m->bucket, m->key, id, &ae) != M3_OK)
			m3_warn("s3://%s/%s: could not abort upload %s: %s", m->bucket, m->key, id,
				ae.msg);
	}
	free(id);
	return rc;
}

int
put_s3(struct m3_s3 *s, const struct popts *o, FILE *fp, const char *name, int64_t size,
       const char *bucket, const char *key, struct result *res, struct m3_err *e)
{
	struct mpu m;
	unsigned char d[M3_SHA256_LEN];
	size_t part = o->part;
	unsigned j = o->jobs;
	int rc;

	/* a known size picks a part size that stays under the 10000-part limit */
	while (size > 0 && (uint64_t)size / part >= MAX_PARTS)
		part *= 2;
	memset(&m, 0, sizeof(m));
	m.s = s;
	m.o = o;
	m.fp = fp;
	m.bucket = bucket;
	m.key = key;
	m.part = part;
	pthread_mutex_init(&m.mu, NULL);
	pthread_cond_init(&m.cv, NULL);
	m3_progress_init(&m.prog, o->progress, 0);
	snprintf(res->bucket, sizeof(res->bucket), "%s", bucket);
	snprintf(res->key, sizeof(res->key), "%s", key);
	if ((m.first = malloc(part)) == NULL || m3_hash_init(&m.sha, M3_HASH_SHA256) != 0) {
		rc = m3_err_set(e, M3_ENOMEM, "out of memory");
		goto done;
	}
	m.firstlen = read_full(fp, m.first, part);
	if (ferror(fp)) {
		rc = m3_err_set(e, M3_EIO, "%s: read error", name);
		goto done;
	}
	m3_hash_update(&m.sha, m.first, m.firstlen);
	m.size = m.firstlen;
	if (m.firstlen < part) {
		struct m3_conn *c = m3_conn_new(s->net);
		if (c == NULL) {
			rc = m3_err_set(e, M3_ENOMEM, "out of memory");
			goto done;
		}
		rc = send_body(s, c, o, bucket, key, NULL, 0, m.first, m.firstlen, res->etag, e);
		m3_conn_free(c);
		j = 0;
	} else {
		rc = multipart(&m, j, res, e);
	}
	m3_progress_done(&m.prog);
	if (rc == M3_OK) {
		m3_hash_final(&m.sha, d);
		m3_hex(d, sizeof(d), res->sha256);
		res->size = m.size;
	}
done:
	if (rc == M3_EFAIL && strncmp(e->msg, "HTTP 400", 8) == 0 && strcmp(o->sse, "none") != 0)
		snprintf(e->msg + strlen(e->msg), sizeof(e->msg) - strlen(e->msg),
			 " (is --sse %s supported there? radosgw wants --sse none)", o->sse);
	if (rc != M3_OK)
		m3_err_prefix(e, "s3://%s/%s", bucket, key);
	free(m.first);
	mpu_free(&m, j);
	return rc;
}

int
put_dir(const struct popts *o, FILE *fp, const char *name, const char *path, struct result *res,
	struct m3_err *e)
{
	struct m3_out out;
	struct m3_hash h;
	unsigned char d[M3_SHA256_LEN];
	char *buf = malloc(1 << 20);
	size_t n;
	int rc = M3_OK;

	(void)o;
	if (buf == NULL || m3_hash_init(&h, M3_HASH_SHA256) != 0) {
		free(buf);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	if ((rc = m3_out_open(&out, path, 0, e)) != M3_OK)
		goto done;
	res->size = 0;
	while ((n = fread(buf, 1, 1 << 20, fp)) > 0) {
		m3_hash_update(&h, buf, n);
		res->size += n;
		errno = 0;
		if (fwrite(buf, 1, n, out.fp) != n) {
			rc = m3_err_set(e, M3_EIO, "%s: %s", path, strerror(errno ? errno : EIO));
			break;
		}
	}
	if (rc == M3_OK && ferror(fp))
		rc = m3_err_set(e, M3_EIO, "%s: read error", name);
	if (rc == M3_OK)
		rc = m3_out_commit(&out, e);
	else
		m3_out_abort(&out);
	m3_hash_final(&h, d);
	m3_hex(d, sizeof(d), res->sha256);
	snprintf(res->key, sizeof(res->key), "%s", path);
done:
	m3_hash_release(&h);
	free(buf);
	return rc;
}
