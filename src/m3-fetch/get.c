/* The fetch engine: pieces of objects fetched in parallel, written out strictly in order, with
 * a bounded window of buffers, so a 1 GiB object streams to a pipe in a few tens of MiB. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fetch.h"
#include "m3/pool.h"
#include "m3/sha256.h"
#include "m3/tar.h"

#define MAX_WINDOW_BYTES (40u << 20)
/* Whole objects under -o are checked against their ETags this many at a time: the MD5s of a
 * batch go side by side in vector lanes (m3_md5_many), several times faster than one by one. */
#define BATCH 16
/* One S3 object with the default parts is one stream while its first part arrives at this
 * speed or more; slower, the parts after the next part boundary are fetched in parallel. */
#define ONE_STREAM_MIB_S 256

struct piece {
	size_t obj;
	uint64_t off;
	size_t len;
};

struct slot {
	char *buf; /* a buffer of the pool, while the piece has bytes not yet written */
	size_t have; /* bytes of the piece received */
	size_t out; /* bytes of the piece already written out (streamed by the head) */
	size_t piece; /* which piece it holds */
	int ready;
	int begun; /* the object's start (tar header, file) is written */
	int written; /* already written out by its worker (a whole object under -o) */
};

struct fill;

struct engine {
	struct src *s;
	const struct opts *o;
	struct m3_conn *c; /* the caller's connection: the first piece's, or conns[0] */
	struct m3_conn **conns;
	unsigned nconn;
	struct m3_pool *pool;
	struct piece *pieces;
	size_t npieces, window;
	/* one S3 object learnt from its first piece, which the caller's thread gets while the
	 * pool, in a thread of its own, gets pieces first.. from the moment its size is known */
	size_t first;
	struct fill *f0;
	int one_piece; /* the first answer was the whole object (Range ignored): one piece */
	/* --part-size not given: the first piece is the whole object until its first part has
	 * arrived; if that was slow, it is cut at the next part boundary (cut) and the parts
	 * after it (nplan of the plan, from the first piece) are fetched by the pool */
	int may_split;
	size_t nplan, cut;
	struct timespec t0;
	pthread_t rest;
	int rest_started;
	struct slot *slots;
	/* the buffers, each of bufcap bytes: at most nbuf, made as needed, the idle ones in
	 * freebuf (under mu); the head piece streams and needs none once it has written what
	 * it had, so a window of N parts holds N - 1 of them */
	char **freebuf;
	size_t nbuf, made, nfree, bufcap;
	pthread_mutex_t mu, file_mu;
	char *lastdir; /* the folder made last under -o (under file_mu) */
	pthread_cond_t cv;
	size_t written; /* pieces written out */
	/* whole objects under -o fetched but not yet checked and written (a batch), and the
	 * pieces being fetched: the last of those to end checks and writes what waits */
	size_t pending[BATCH], npending;
	unsigned inflight;
	int failed;
	struct m3_err err;
	/* the writer's state (under mu) */
	FILE *out;
	struct m3_out stdout_or_file; /* stdout, or -o FILE */
	struct m3_out file; /* -o for a prefix: the current file */
	struct m3_hash md5, sha;
	int check_md5;
	unsigned char (*pmd5)[M3_MD5_LEN]; /* --verify-etag: each piece's MD5 */
	uint64_t bytes;
	uint64_t obj_bytes; /* of the current object, checked against its size at its end */
	struct m3_progress prog;
};

int
safe_name(const char *name)
{
	const char *p = name;

	if (*name == '\0' || *name == '/')
		return 0;
	while (*p != '\0') {
		size_t n = strcspn(p, "/");
		if ((n == 2 && strncmp(p, "..", 2) == 0) || (n == 1 && *p == '.') || n == 0)
			return 0;
		p += n;
		if (*p == '/')
			p++;
	}
	return 1;
}

int
mkdirs(const char *dir, struct m3_err *e)
{
	char *d = strdup(dir);

	if (d == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	for (char *p = d + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(d, 0777) != 0 && errno != EEXIST) {
				m3_err_set(e, errno == EACCES ? M3_EACCESS : M3_EIO, "%s: %s", d,
					   strerror(errno));
				free(d);
				return e->code;
			}
			if ((*p = c) == '\0')
				break;
		}
	}
	free(d);
	return M3_OK;
}

static int
simple_etag(const char *etag)
{
	if (strlen(etag) != 32)
		return 0;
	for (const char *p = etag; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return 1;
}

/* The number of pieces of an object. */
static size_t
npieces_of(const struct engine *g, const struct obj *ob)
{
	return ob->size == 0 || g->one_piece ? 1
					     : (size_t)((ob->size + g->o->part - 1) / g->o->part);
}

/*
 * N when --verify-etag can check the multipart ETag "MD5-N" of ob: its pieces are then its
 * upload parts, if those were of --part-size bytes (m3-push's default, 8 MiB, is ours with
 * --verify-etag).
 */
static size_t
mp_parts(const struct engine *g, const struct obj *ob)
{
	const char *dash = strchr(ob->etag, '-');
	char *end;
	unsigned long n;

	if (!g->o->verify_etag || g->s->kind == SRC_FILE || dash == NULL || dash - ob->etag != 32 ||
	    dash[1] < '1' || dash[1] > '9')
		return 0;
	for (const char *p = ob->etag; p < dash; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	n = strtoul(dash + 1, &end, 10);
	if (*end != '\0' || n != npieces_of(g, ob))
		return 0;
	return (size_t)n;
}

/* With --verify-etag, a multipart ETag that cannot be checked is said so, once per object. */
static void
warn_unchecked(const struct engine *g, const struct obj *ob)
{
	if (g->o->verify_etag && g->s->kind != SRC_FILE && strchr(ob->etag, '-') != NULL &&
	    g->one_piece)
		m3_warn("%s: ETag %s not checked: the server ignored the Range of the first GET",
			ob->key, ob->etag);
	else if (g->o->verify_etag && g->s->kind != SRC_FILE && strchr(ob->etag, '-') != NULL &&
		 mp_parts(g, ob) == 0)
		m3_warn("%s: ETag %s not checked: not %zu parts of %zu MiB", ob->key, ob->etag,
			npieces_of(g, ob), g->o->part >> 20);
}

/* The MD5 of the pieces' MD5s against the ETag: pieces first .. first + N - 1. */
static int
check_mp(const struct engine *g, const struct obj *ob, size_t first, struct m3_err *e)
{
	size_t n = mp_parts(g, ob);
	unsigned char d[M3_MD5_LEN];
	char hex[2 * M3_MD5_LEN + 1];

	if (n == 0 || g->pmd5 == NULL)
		return M3_OK;
	m3_md5(g->pmd5[first], n * M3_MD5_LEN, d);
	m3_hex(d, sizeof(d), hex);
	if (strncmp(hex, ob->etag, 32) != 0)
		return m3_err_set(e, M3_EDATA,
				  "%s: multipart MD5 %s-%zu does not match the ETag %s", ob->key,
				  hex, n, ob->etag);
	return M3_OK;
}

static int
obj_begin(struct engine *g, const struct obj *ob, struct m3_err *e)
{
	int rc;

	g->check_md5 = simple_etag(ob->etag) && g->s->kind != SRC_FILE;
	g->obj_bytes = 0;
	warn_unchecked(g, ob);
	if (g->check_md5 && m3_hash_init(&g->md5, M3_HASH_MD5) != 0)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	if (g->o->sha256 != NULL && m3_hash_init(&g->sha, M3_HASH_SHA256) != 0)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	if (!g->s->prefix)
		return M3_OK;
	if (g->o->out == NULL)
		return m3_tar_header(g->out, ob->name, ob->size, iso_to_time(ob->mtime), e);
	{
		size_t n = strlen(g->o->out) + strlen(ob->name) + 2;
		char *path = malloc(n), *slash;
		if (path == NULL)
			return m3_err_set(e, M3_ENOMEM, "out of memory");
		snprintf(path, n, "%s/%s", g->o->out, ob->name);
		slash = strrchr(path, '/');
		*slash = '\0';
		rc = mkdirs(path, e);
		*slash = '/';
		if (rc == M3_OK)
			rc = m3_out_open(&g->file, path, 1, e);
		free(path);
		if (rc == M3_OK)
			g->out = g->file.fp;
		return rc;
	}
}

static int
obj_end(struct engine *g, const struct obj *ob, size_t first, struct m3_err *e)
{
	unsigned char d[M3_SHA256_LEN];
	char hex[2 * M3_SHA256_LEN + 1];
	int rc = M3_OK;

	/* the last safety net: whatever the pieces were, the object's bytes, all of them */
	if (g->obj_bytes != ob->size)
		return m3_err_set(e, M3_EREMOTE, "%s: %llu bytes written, the object has %llu",
				  ob->key, (unsigned long long)g->obj_bytes,
				  (unsigned long long)ob->size);
	if ((rc = check_mp(g, ob, first, e)) != M3_OK)
		return rc;
	if (g->check_md5) {
		m3_hash_final(&g->md5, d);
		m3_hex(d, M3_MD5_LEN, hex);
		if (strcmp(hex, ob->etag) != 0)
			return m3_err_set(e, M3_EREMOTE, "%s: MD5 %s does not match the ETag %s",
					  ob->key, hex, ob->etag);
	}
	if (g->o->sha256 != NULL) {
		m3_hash_final(&g->sha, d);
		m3_hex(d, M3_SHA256_LEN, hex);
		if (strcasecmp(hex, g->o->sha256) != 0)
			return m3_err_set(e, M3_EDATA, "%s: SHA-256 %s is not the one expected",
					  ob->key, hex);
	}
	if (!g->s->prefix)
		return M3_OK;
	if (g->o->out == NULL)
		return m3_tar_pad(g->out, ob->size, e);
	pthread_mutex_lock(&g->file_mu); /* the commit sets the umask for a moment */
	rc = m3_out_commit(&g->file, e);
	pthread_mutex_unlock(&g->file_mu);
	g->out = NULL;
	return rc;
}

/*
 * n bytes to f with write(2), straight from the caller's buffer: through stdio's 4 KiB buffer
 * each piece that arrives would be two writes.  What stdio still holds (a tar header) goes
 * first.  errno tells what failed.
 */
static int
write_all(FILE *f, const char *p, size_t n)
{
	int fd = fileno(f);

	if (fflush(f) != 0)
		return -1;
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/*
 * A whole object under -o, checked (md5: its MD5, NULL when its ETag is not one) and written
 * by a worker, in parallel with the others (on a slow file system the writes, not the
 * network, would bound many small objects).  Temporary files are created in parallel
 * (libm3's registry of them takes its own lock); the commit, which sets the umask for a
 * moment, is serialised by file_mu, as is the folder, made once per folder rather than once
 * per file.
 */
static int
write_whole(struct engine *g, const struct obj *ob, size_t first, const char *data,
	    const unsigned char *md5, struct m3_err *e)
{
	char hex[2 * M3_MD5_LEN + 1], *path, *slash;
	size_t n = strlen(g->o->out) + strlen(ob->name) + 2;
	struct m3_out out;
	int rc = M3_OK;

	warn_unchecked(g, ob);
	if ((rc = check_mp(g, ob, first, e)) != M3_OK)
		return rc;
	if (md5 != NULL) {
		m3_hex(md5, M3_MD5_LEN, hex);
		if (strcmp(hex, ob->etag) != 0)
			return m3_err_set(e, M3_EREMOTE, "%s: MD5 %s does not match the ETag %s",
					  ob->key, hex, ob->etag);
	}
	if ((path = malloc(n)) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	snprintf(path, n, "%s/%s", g->o->out, ob->name);
	slash = strrchr(path, '/');
	*slash = '\0';
	pthread_mutex_lock(&g->file_mu);
	if (g->lastdir == NULL || strcmp(g->lastdir, path) != 0) {
		free(g->lastdir);
		g->lastdir = NULL;
		if ((rc = mkdirs(path, e)) == M3_OK && (g->lastdir = strdup(path)) == NULL)
			rc = m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	pthread_mutex_unlock(&g->file_mu);
	*slash = '/';
	if (rc == M3_OK && (rc = m3_out_open(&out, path, 1, e)) == M3_OK) {
		errno = 0;
		if (write_all(out.fp, data, (size_t)ob->size) != 0) {
			rc = m3_err_set(e, M3_EIO, "%s: %s", path,
					errno ? strerror(errno) : "write error");
			m3_out_abort(&out);
		}
	}
	free(path);
	if (rc != M3_OK)
		return rc;
	pthread_mutex_lock(&g->file_mu);
	rc = m3_out_commit(&out, e);
	pthread_mutex_unlock(&g->file_mu);
	return rc;
}

/*
 * Writes n bytes of piece i: only the writer does, either under mu or as the worker of the
 * head piece (the first not yet written), which streams what it receives straight out.
 */
static int
emit_bytes(struct engine *g, size_t i, struct slot *sl, const char *data, size_t n,
	   struct m3_err *e)
{
	const struct piece *pc = &g->pieces[i];
	int rc;

	if (!sl->begun) {
		sl->begun = 1;
		if (pc->off == 0 && (rc = obj_begin(g, &g->s->objs[pc->obj], e)) != M3_OK)
			return rc;
	}
	if (n == 0)
		return M3_OK;
	if (g->check_md5)
		m3_hash_update(&g->md5, data, n);
	if (g->o->sha256 != NULL)
		m3_hash_update(&g->sha, data, n);
	errno = 0;
	if (write_all(g->out, data, n) != 0)
		return m3_err_set(e, M3_EIO, "%s: %s", g->o->out ? g->o->out : "stdout",
				  errno ? strerror(errno) : "write error");
	g->bytes += n;
	g->obj_bytes += n;
	sl->out += n;
	return M3_OK;
}

/* Writes what is left of piece i, and ends its object if it is the last piece (under mu). */
static int
emit_rest(struct engine *g, size_t i, struct slot *sl, struct m3_err *e)
{
	const struct piece *pc = &g->pieces[i];
	const struct obj *ob = &g->s->objs[pc->obj];
	int rc;

	if ((rc = emit_bytes(g, i, sl, sl->have > sl->out ? sl->buf + sl->out : "",
			     sl->have - sl->out, e)) != M3_OK)
		return rc;
	if (pc->off + pc->len == ob->size)
		return obj_end(g, ob, i + 1 - npieces_of(g, ob), e);
	return M3_OK;
}

static void
fail(struct engine *g, const struct m3_err *e)
{
	if (!g->failed) {
		g->failed = 1;
		g->err = *e;
	}
	pthread_cond_broadcast(&g->cv);
}

/* Gives sl's buffer back to the pool (under mu). */
static void
buf_put(struct engine *g, struct slot *sl)
{
	if (sl->buf == NULL)
		return;
	g->freebuf[g->nfree++] = sl->buf;
	sl->buf = NULL;
	pthread_cond_broadcast(&g->cv);
}

/*
 * Piece i is done (rc), a whole object under -o already written by a worker (whole) or not:
 * it is marked ready, and every piece ready in order is written out (under mu).
 */
static void
settle(struct engine *g, size_t i, struct slot *sl, int whole, int rc, struct m3_err *e)
{
	if (rc != M3_OK) {
		fail(g, e);
		return;
	}
	if (whole) {
		sl->written = 1;
		g->bytes += g->pieces[i].len;
		buf_put(g, sl);
	}
	sl->piece = i;
	sl->ready = 1;
	/* whoever completes the next piece in order writes every piece that is ready */
	while (!g->failed && g->written < g->npieces) {
		struct slot *w = &g->slots[g->written % g->window];
		if (!w->ready || w->piece != g->written)
			break;
		if (!w->written && (rc = emit_rest(g, g->written, w, e)) != M3_OK) {
			fail(g, e);
			break;
		}
		buf_put(g, w);
		w->ready = 0;
		g->written++;
		m3_progress(&g->prog, "%llu MiB", (unsigned long long)(g->bytes >> 20));
		pthread_cond_broadcast(&g->cv);
	}
}

/* Takes the whole objects waiting to be checked and written into idx (under mu). */
static size_t
batch_take(struct engine *g, size_t *idx)
{
	size_t n = g->npending;

	memcpy(idx, g->pending, n * sizeof(*idx));
	g->npending = 0;
	return n;
}

/* The whole objects of pieces idx[0..n): their MD5s at once, then each written (not under mu). */
static void
batch_write(struct engine *g, const size_t *idx, size_t n)
{
	struct m3_md5_job jobs[BATCH];
	int check[BATCH], failed;
	size_t k = 0;
	struct m3_err e;

	for (size_t j = 0; j < n; j++) {
		const struct obj *ob = &g->s->objs[g->pieces[idx[j]].obj];
		const char *buf = g->slots[idx[j] % g->window].buf;
		check[j] = simple_etag(ob->etag) && g->s->kind != SRC_FILE;
		if (check[j])
			jobs[k++] =
				(struct m3_md5_job){buf != NULL ? buf : "", (size_t)ob->size, {0}};
	}
	m3_md5_many(jobs, k);
	k = 0;
	pthread_mutex_lock(&g->mu);
	failed = g->failed;
	pthread_mutex_unlock(&g->mu);
	/* after an error (this batch's or another's, which is reported) nothing more is written */
	for (size_t j = 0; j < n && !failed; j++) {
		struct slot *sl = &g->slots[idx[j] % g->window];
		const char *buf = sl->buf != NULL ? sl->buf : "";
		int rc;
		m3_err_init(&e);
		rc = write_whole(g, &g->s->objs[g->pieces[idx[j]].obj], idx[j], buf,
				 check[j] ? jobs[k++].md5 : NULL, &e);
		pthread_mutex_lock(&g->mu);
		settle(g, idx[j], sl, 1, rc, &e);
		failed = g->failed;
		pthread_mutex_unlock(&g->mu);
	}
}

/*
 * Before a worker waits (mu held): the batch that waits is checked and written first, since
 * what the worker waits for (a buffer, room in the window) may be held by it.  1 if it was.
 */
static int
batch_before_wait(struct engine *g)
{
	size_t idx[BATCH], n;

	if (g->npending == 0)
		return 0;
	n = batch_take(g, idx);
	pthread_mutex_unlock(&g->mu);
	batch_write(g, idx, n);
	pthread_mutex_lock(&g->mu);
	return 1;
}

static void *rest_main(void *arg);

/*
 * The first part of a one-stream object has arrived (have bytes, at least a part): at
 * ONE_STREAM_MIB_S or more the stream goes on alone; slower, it is cut at the next part
 * boundary, and the pool starts on the parts after it.  Called by the stream's own thread,
 * before any other thread works on the object.
 */
static int
split(struct engine *g, size_t have, struct m3_err *e)
{
	struct timespec t;
	double s;
	size_t part = g->o->part, k = have / part + 1, cut = k * part;
	int err;

	g->may_split = 0;
	clock_gettime(CLOCK_MONOTONIC, &t);
	s = (double)(t.tv_sec - g->t0.tv_sec) + (double)(t.tv_nsec - g->t0.tv_nsec) / 1e9;
	if (k >= g->nplan || (double)have >= (double)ONE_STREAM_MIB_S * 1048576.0 * s)
		return M3_OK;
	if (g->o->verbose)
		m3_warn("%zu MiB in %.3f s: parts from byte %zu in parallel", have >> 20, s, cut);
	pthread_mutex_lock(&g->mu);
	g->pieces[0].len = cut;
	memmove(&g->pieces[1], &g->pieces[k], (g->nplan - k) * sizeof(*g->pieces));
	g->npieces = 1 + g->nplan - k;
	g->cut = cut;
	pthread_mutex_unlock(&g->mu);
	if ((err = pthread_create(&g->rest, NULL, rest_main, g)) != 0)
		return m3_err_set(e, M3_EFAIL, "cannot start a thread: %s", strerror(err));
	g->rest_started = 1;
	return M3_OK;
}

/* Where a worker's bytes go: its slot, or straight out once its piece is the head. */
struct fill {
	struct engine *g;
	size_t i;
	struct slot *sl;
	int head, may_stream;
	int hashing; /* --verify-etag: this piece's MD5, in the worker, as its bytes arrive */
	struct m3_hash md5;
	int whole_file; /* a whole object under -o, written by its worker */
};

/*
 * A buffer for f's piece: an idle one, a new one while fewer than nbuf are made, or the next
 * one given back; a piece that becomes the head meanwhile streams instead (f->head is set).
 */
static int
buf_take(struct fill *f, struct m3_err *e)
{
	struct engine *g = f->g;
	int rc = M3_OK;

	pthread_mutex_lock(&g->mu);
	while (g->nfree == 0 && g->made == g->nbuf && !g->failed &&
	       !(f->head = f->may_stream && g->written == f->i))
		if (!batch_before_wait(g))
			pthread_cond_wait(&g->cv, &g->mu);
	if (g->failed)
		rc = m3_err_set(e, M3_EFAIL, "stopped"); /* another piece's error is reported */
	else if (f->head && g->written == f->i)
		rc = M3_OK;
	else if (g->nfree > 0)
		f->sl->buf = g->freebuf[--g->nfree];
	else if ((f->sl->buf = malloc(g->bufcap)) == NULL)
		rc = m3_err_set(e, M3_ENOMEM, "out of memory");
	else
		g->made++;
	pthread_mutex_unlock(&g->mu);
	return rc;
}

static int
fill(void *arg, const void *p, size_t n, struct m3_err *e)
{
	struct fill *f = arg;
	struct engine *g = f->g;
	struct slot *sl = f->sl;
	int rc;

	if (f->hashing)
		m3_hash_update(&f->md5, p, n);
	if (f->may_stream && !f->head) {
		/* once the head, always the head until this piece is done */
		pthread_mutex_lock(&g->mu);
		f->head = g->written == f->i && !g->failed;
		pthread_mutex_unlock(&g->mu);
		if (f->head && sl->have > sl->out &&
		    (rc = emit_bytes(g, f->i, sl, sl->buf + sl->out, sl->have - sl->out, e)) !=
			    M3_OK)
			return rc;
		if (f->head && sl->buf != NULL) {
			pthread_mutex_lock(&g->mu);
			buf_put(g, sl);
			pthread_mutex_unlock(&g->mu);
		}
	}
	if (f->head) {
	stream:
		if ((rc = emit_bytes(g, f->i, sl, p, n, e)) != M3_OK)
			return rc;
		sl->have += n;
		if (f->i == 0 && g->may_split && sl->have >= g->o->part)
			return split(g, sl->have, e);
		return M3_OK;
	}
	if (sl->buf == NULL && (rc = buf_take(f, e)) != M3_OK)
		return rc;
	/* it became the head while it waited for a buffer (it had none, so nothing buffered):
	 * p is streamed, not hashed a second time */
	if (f->head)
		goto stream;
	memcpy(sl->buf + sl->have, p, n);
	sl->have += n;
	return M3_OK;
}

/* Waits until piece i has a slot in the window; 0 when the engine has failed meanwhile. */
static int
piece_wait(struct engine *g, size_t i)
{
	struct slot *sl = &g->slots[i % g->window];

	pthread_mutex_lock(&g->mu);
	/* while the first piece of an object learnt from it is fetched, it is one of the
	 * nconn transfers */
	while (!g->failed &&
	       (i >= g->written + g->window || (g->first > 0 && g->written == 0 && i >= g->nconn)))
		if (!batch_before_wait(g))
			pthread_cond_wait(&g->cv, &g->mu);
	if (g->failed) {
		pthread_mutex_unlock(&g->mu);
		return 0;
	}
	sl->have = sl->out = 0;
	sl->begun = sl->ready = sl->written = 0;
	g->inflight++; /* until piece_done */
	pthread_mutex_unlock(&g->mu);
	return 1;
}

/* Sets up f for piece i; its MD5 is taken as it arrives with --verify-etag. */
static int
piece_start(struct engine *g, size_t i, struct fill *f, struct m3_err *e)
{
	const struct piece *pc = &g->pieces[i];
	const struct obj *ob = &g->s->objs[pc->obj];

	*f = (struct fill){.g = g, .i = i, .sl = &g->slots[i % g->window], .may_stream = 1};
	/* a whole object under -o is checked and written by a worker, with others (batch) */
	f->whole_file = g->s->prefix && g->o->out != NULL && g->o->sha256 == NULL && pc->off == 0 &&
			pc->len == ob->size;
	f->may_stream = !f->whole_file;
	if (g->pmd5 != NULL && mp_parts(g, ob) > 0) {
		if (m3_hash_init(&f->md5, M3_HASH_MD5) != 0)
			return m3_err_set(e, M3_ENOMEM, "out of memory");
		f->hashing = 1;
	}
	return M3_OK;
}

/*
 * Piece i is fetched (rc).  A whole object under -o joins the batch, which is checked and
 * written once full, or by the last piece in flight to end (so none is left waiting); any
 * other piece is marked ready at once.
 */
static void
piece_done(struct engine *g, size_t i, struct fill *f, int rc, struct m3_err *e)
{
	size_t idx[BATCH], n = 0;

	if (f->hashing) {
		/* stored before the piece is marked ready (under mu), read by obj_end */
		m3_hash_final(&f->md5, g->pmd5[i]);
		m3_hash_release(&f->md5);
		f->hashing = 0;
	}
	pthread_mutex_lock(&g->mu);
	g->inflight--;
	if (rc == M3_OK && f->whole_file) {
		g->pending[g->npending++] = i;
		pthread_cond_broadcast(&g->cv); /* a waiting worker writes it (batch_before_wait) */
	} else {
		settle(g, i, f->sl, 0, rc, e);
	}
	if (g->npending == BATCH || (g->inflight == 0 && g->npending > 0))
		n = batch_take(g, idx);
	pthread_mutex_unlock(&g->mu);
	if (n > 0)
		batch_write(g, idx, n);
}

static void
work(void *ctx, size_t item, unsigned worker)
{
	struct engine *g = ctx;
	size_t i = g->first + item;
	const struct piece *pc = &g->pieces[i];
	struct fill f;
	struct m3_err e;
	int rc;

	m3_err_init(&e);
	if (!piece_wait(g, i))
		return;
	rc = piece_start(g, i, &f, &e);
	if (rc == M3_OK)
		rc = src_range(g->s, g->conns[worker], &g->s->objs[pc->obj], pc->off, pc->len, fill,
			       &f, &e);
	piece_done(g, i, &f, rc, &e);
}

static int
make_pieces(struct engine *g, struct m3_err *e)
{
	size_t n = 0, k = 0, part = g->o->part;

	for (size_t i = 0; i < g->s->nobj; i++)
		n += g->s->objs[i].size == 0 ? 1 : (size_t)((g->s->objs[i].size + part - 1) / part);
	if ((g->pieces = calloc(n ? n : 1, sizeof(*g->pieces))) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	for (size_t i = 0; i < g->s->nobj; i++) {
		uint64_t off = 0, size = g->s->objs[i].size;
		do {
			size_t len = size - off < part ? (size_t)(size - off) : part;
			g->pieces[k++] = (struct piece){i, off, len};
			off += len;
		} while (off < size);
	}
	g->npieces = k;
	if (g->o->verify_etag && (g->pmd5 = calloc(k ? k : 1, sizeof(*g->pmd5))) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	return M3_OK;
}

static int
open_out(struct engine *g, struct m3_err *e)
{
	if (g->s->prefix && g->o->out != NULL)
		return mkdirs(g->o->out, e);
	if (m3_out_open(&g->stdout_or_file, g->o->out, 1, e) != M3_OK)
		return e->code;
	g->out = g->stdout_or_file.fp;
	return M3_OK;
}

/*
 * Once the objects' sizes are known: the pieces, the window, the connections (the caller's
 * first), the pool and the output.
 */
static int
plan(struct engine *g, struct m3_err *e)
{
	size_t maxlen = 0;
	int rc;

	if ((rc = make_pieces(g, e)) != M3_OK)
		return rc;
	g->nconn = g->o->jobs;
	if (g->nconn > g->npieces)
		g->nconn = (unsigned)g->npieces;
	if (g->nconn == 0)
		g->nconn = 1;
	/* the window is bounded in bytes: many small objects get many slots, so one slow
	 * request does not hold up the others (head-of-line blocking) */
	for (size_t i = 0; i < g->npieces; i++)
		if (g->pieces[i].len > maxlen)
			maxlen = g->pieces[i].len;
	g->nbuf = MAX_WINDOW_BYTES / (maxlen > 65536 ? maxlen : 65536);
	if (g->nbuf > 4096)
		g->nbuf = 4096;
	if (g->nbuf < 2)
		g->nbuf = 2; /* parts over half the window: two of them */
	g->bufcap = maxlen > 0 ? maxlen : 1;
	/* a streamed head needs no buffer, so the window has one part more than buffers;
	 * whole objects under -o are all buffered (a head waiting for a buffer held by the
	 * pieces after it would wait for ever) */
	g->window = g->nbuf + !(g->s->prefix && g->o->out != NULL);
	/* no more connections than the window has slots besides the head's: a connection
	 * beyond that would only wait for room (and, with a larger window, cost memory) */
	if (g->nconn > g->window - 1)
		g->nconn = (unsigned)(g->window - 1);
	g->slots = calloc(g->window, sizeof(*g->slots));
	g->conns = calloc(g->nconn, sizeof(*g->conns));
	g->freebuf = calloc(g->nbuf, sizeof(*g->freebuf));
	if (g->slots == NULL || g->conns == NULL || g->freebuf == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	/* the caller's connection is kept alive from its last request, unless the first piece
	 * is on it */
	for (unsigned i = 0; i < g->nconn; i++)
		if ((g->conns[i] = i == 0 && g->first == 0 ? g->c : m3_conn_new(&g->s->net)) ==
		    NULL)
			return m3_err_set(e, M3_ENOMEM, "out of memory");
	if ((g->pool = m3_pool_new(g->nconn, e)) == NULL)
		return e->code;
	return open_out(g, e);
}

static void *
rest_main(void *arg)
{
	struct engine *g = arg;

	m3_pool_run(g->pool, work, g, g->npieces - g->first);
	return NULL;
}

/*
 * src_first's callback: the object is known; the pool gets the pieces after the first.  A
 * first piece longer than planned is the whole object (a server that ignores Range answers
 * 200): it is then the only piece, with no parts whose MD5s could be checked.
 */
static int
first_known(void *arg, size_t len, int ranged, struct m3_err *e)
{
	struct engine *g = arg;
	int rc, err;

	if ((rc = plan(g, e)) != M3_OK)
		return rc;
	if (len > g->pieces[0].len && g->o->adaptive && ranged && g->npieces > 1) {
		/* one stream of all of it, unless its first part is slow (split) */
		g->nplan = g->npieces;
		g->npieces = 1;
		g->pieces[0].len = len;
		g->may_split = 1;
		clock_gettime(CLOCK_MONOTONIC, &g->t0);
	} else if (len > g->pieces[0].len) {
		g->one_piece = 1;
		g->npieces = 1;
		g->pieces[0].len = len;
		free(g->pmd5);
		g->pmd5 = NULL;
	}
	pthread_mutex_lock(&g->mu);
	g->inflight++; /* the first piece, on the caller's thread, until piece_done */
	pthread_mutex_unlock(&g->mu);
	if ((rc = piece_start(g, 0, g->f0, e)) != M3_OK)
		return rc;
	if (g->npieces > 1) {
		if ((err = pthread_create(&g->rest, NULL, rest_main, g)) != 0)
			return m3_err_set(e, M3_EFAIL, "cannot start a thread: %s", strerror(err));
		g->rest_started = 1;
	}
	return M3_OK;
}

/* One S3 object learnt from its first piece, got here while the pool gets the others. */
static int
run_first(struct engine *g, struct m3_err *e)
{
	struct fill *f0 = calloc(1, sizeof(*f0));
	int rc;

	if (f0 == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	g->first = 1;
	g->f0 = f0; /* first_known starts the piece on it */
	g->cut = SIZE_MAX;
	rc = src_first(g->s, g->c, g->o->adaptive ? SIZE_MAX : g->o->part, &g->cut, first_known, g,
		       fill, f0, e);
	if (g->pieces == NULL || f0->sl == NULL) { /* stopped before the object was known */
		g->f0 = NULL;
		free(f0);
		return rc;
	}
	piece_done(g, 0, f0, rc, e);
	if (g->rest_started)
		pthread_join(g->rest, NULL);
	g->f0 = NULL;
	free(f0);
	return M3_OK;
}

static void
release(struct engine *g)
{
	m3_pool_free(g->pool);
	m3_hash_release(&g->md5);
	m3_hash_release(&g->sha);
	for (unsigned i = 0; g->conns != NULL && i < g->nconn; i++)
		if (g->conns[i] != g->c)
			m3_conn_free(g->conns[i]);
	for (size_t i = 0; g->slots != NULL && i < g->window; i++)
		free(g->slots[i].buf);
	for (size_t i = 0; i < g->nfree; i++)
		free(g->freebuf[i]);
	free(g->freebuf);
	free(g->slots);
	free(g->conns);
	free(g->pieces);
	free(g->pmd5);
	free(g->lastdir);
	pthread_mutex_destroy(&g->mu);
	pthread_mutex_destroy(&g->file_mu);
	pthread_cond_destroy(&g->cv);
}

int
fetch_run(struct src *s, struct m3_conn *c, const struct opts *o, struct m3_err *e)
{
	struct engine g;
	int rc;

	memset(&g, 0, sizeof(g));
	g.s = s;
	g.o = o;
	g.c = c;
	pthread_mutex_init(&g.mu, NULL);
	pthread_mutex_init(&g.file_mu, NULL);
	pthread_cond_init(&g.cv, NULL);
	m3_err_init(&g.err);
	m3_progress_init(&g.prog, o->progress, 0);
	if (s->kind == SRC_S3 && !s->prefix && s->nobj == 0) {
		rc = run_first(&g, e);
	} else if ((rc = plan(&g, e)) == M3_OK) {
		m3_pool_run(g.pool, work, &g, g.npieces);
	}
	if (rc == M3_OK && g.pieces != NULL) {
		m3_progress_done(&g.prog);
		if (g.failed) {
			*e = g.err;
			rc = e->code;
		} else if (g.written != g.npieces) { /* never: each piece is written or fails */
			rc = m3_err_set(e, M3_EFAIL, "internal error: %zu of %zu pieces written",
					g.written, g.npieces);
		} else if (s->prefix && o->out == NULL) {
			rc = m3_tar_end(g.out, e);
		}
	}
	if (g.file.fp != NULL)
		m3_out_abort(&g.file);
	if (g.stdout_or_file.fp != NULL) {
		if (rc == M3_OK)
			rc = m3_out_commit(&g.stdout_or_file, e);
		else
			m3_out_abort(&g.stdout_or_file);
	}
	release(&g);
	return rc;
}
