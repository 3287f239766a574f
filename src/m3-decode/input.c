/* Inputs of m3-decode: files, folders walked recursively, stdin as a tar stream or one object. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decode.h"
#include "m3/cli.h"
#include "m3/tar.h"

#define MAXDEPTH 32 /* folders deeper than this are a loop of links, not a study */

void
m3d_input_init(struct m3d_input *in)
{
	memset(in, 0, sizeof(*in));
	in->spool = -1;
}

void
m3d_input_release(struct m3d_input *in)
{
	for (size_t i = 0; i < in->n; i++) {
		free(in->src[i].name);
		free(in->src[i].path);
		free(in->src[i].why);
		m3_dcm_info_release(&in->src[i].info);
	}
	free(in->src);
	if (in->spool >= 0)
		close(in->spool);
	m3d_input_init(in);
}

static int
push(struct m3d_input *in, const char *name, const char *path, unsigned long long off,
     unsigned long long size, struct m3_err *e)
{
	struct m3d_src *s;

	if (in->n == in->cap) {
		size_t cap = in->cap ? in->cap * 2 : 64;
		struct m3d_src *p = realloc(in->src, cap * sizeof(*p));
		if (p == NULL)
			return m3_err_set(e, M3_ENOMEM, "out of memory");
		in->src = p;
		in->cap = cap;
	}
	s = &in->src[in->n];
	memset(s, 0, sizeof(*s));
	s->name = strdup(name);
	s->path = path != NULL ? strdup(path) : NULL;
	if (s->name == NULL || (path != NULL && s->path == NULL)) {
		free(s->name);
		free(s->path);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	s->off = off;
	s->size = size;
	in->n++;
	return M3_OK;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in one folder, sorted, so that the order of volumes does not depend on the
 * file system.  Hidden names are left out; so is DICOMDIR, whose files are in the walk. */
static int
dir_names(const char *dir, char ***out, size_t *nout, struct m3_err *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	size_t n = 0, cap = 0;

	if (d == NULL)
		return m3_err_set(e, errno == EACCES ? M3_EACCESS : M3_EDATA, "%s: %s", dir,
				  strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strcasecmp(de->d_name, "DICOMDIR") == 0)
			continue;
		if (n == cap) {
			char **p = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));
			if (p == NULL)
				break;
			v = p;
		}
		if ((v[n] = strdup(de->d_name)) == NULL)
			break;
		n++;
	}
	closedir(d);
	if (de != NULL) {
		while (n > 0)
			free(v[--n]);
		free(v);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	qsort(v, n, sizeof(*v), cmp_str);
	*out = v;
	*nout = n;
	return M3_OK;
}

static int
walk(struct m3d_input *in, const char *path, int depth, struct m3_err *e)
{
	struct stat st;
	char **names = NULL;
	size_t n = 0;
	int rc;

	if (stat(path, &st) != 0)
		return m3_err_set(e, errno == EACCES ? M3_EACCESS : M3_EDATA, "%s: %s", path,
				  strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return S_ISREG(st.st_mode) ? push(in, path, path, 0, 0, e) : M3_OK;
	if (depth > MAXDEPTH)
		return m3_err_set(e, M3_EDATA, "%s: folders nested too deep (a loop of links?)",
				  path);
	if ((rc = dir_names(path, &names, &n, e)) != M3_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(path) + strlen(names[i]) + 2;
		char *sub = malloc(len);
		if (sub == NULL) {
			rc = m3_err_set(e, M3_ENOMEM, "out of memory");
		} else {
			int slash = path[strlen(path) - 1] == '/';
			snprintf(sub, len, "%s%s%s", path, slash ? "" : "/", names[i]);
			if (rc == M3_OK)
				rc = walk(in, sub, depth + 1, e);
			free(sub);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

static int
spool_write(int fd, const void *buf, size_t n, struct m3_err *e)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return m3_err_set(e, M3_EIO, "temporary file: %s",
					  w < 0 ? strerror(errno) : "write error");
		p += w;
		n -= (size_t)w;
	}
	return M3_OK;
}

/* stdin goes to an unlinked temporary file: the slices of a series may come in any order,
 * and a restarted child (after a crash in GDCM) must read the same bytes again. */
static int
spool_open(struct m3d_input *in, struct m3_err *e)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	snprintf(path, sizeof(path), "%s/m3-decode.XXXXXX", dir);
	if ((in->spool = mkstemp(path)) < 0)
		return m3_err_set(e, M3_EIO, "%s: %s", dir, strerror(errno));
	unlink(path);
	return M3_OK;
}

static unsigned long long
spool_end(const struct m3d_input *in)
{
	off_t end = lseek(in->spool, 0, SEEK_END);
	return end < 0 ? 0 : (unsigned long long)end;
}

static int
spool_tar(struct m3d_input *in, const unsigned char *head, size_t nhead, struct m3_err *e)
{
	struct m3_tar_reader *r = m3_tar_reader_new(stdin, "stdin", head, nhead);
	struct m3_tar_entry ent;
	static char buf[1 << 20];
	size_t before = in->n;
	int rc;

	if (r == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	while ((rc = m3_tar_next(r, &ent, e)) == M3_OK) {
		unsigned long long off = spool_end(in);
		if (ent.kind != M3_TAR_FILE)
			continue;
		for (size_t left = ent.size; left > 0 && rc == M3_OK;) {
			size_t k = left < sizeof(buf) ? left : sizeof(buf);
			if ((rc = m3_tar_read(r, buf, k, e)) == M3_OK)
				rc = spool_write(in->spool, buf, k, e);
			left -= k;
		}
		if (rc == M3_OK)
			rc = push(in, ent.name, NULL, off, ent.size, e);
		if (rc != M3_OK)
			break;
	}
	m3_tar_reader_free(r);
	if (rc != M3_EOF)
		return rc;
	if (in->n == before)
		return m3_err_set(e, M3_ENOINPUT, "stdin: empty tar stream (no files in it)");
	return M3_OK;
}

static int
spool_one(struct m3d_input *in, const unsigned char *head, size_t nhead, struct m3_err *e)
{
	static char buf[1 << 20];
	unsigned long long off = spool_end(in);
	size_t k;
	int rc;

	if ((rc = spool_write(in->spool, head, nhead, e)) != M3_OK)
		return rc;
	while ((k = fread(buf, 1, sizeof(buf), stdin)) > 0)
		if ((rc = spool_write(in->spool, buf, k, e)) != M3_OK)
			return rc;
	if (ferror(stdin))
		return m3_err_set(e, M3_EIO, "stdin: %s", strerror(errno));
	return push(in, "stdin", NULL, off, spool_end(in) - off, e);
}

static int
add_stdin(struct m3d_input *in, struct m3_err *e)
{
	unsigned char head[512];
	size_t n = 0, k;
	int rc, zero = 1;

	if (in->spool >= 0)
		return m3_err_set(e, M3_EUSAGE, "stdin: given twice");
	while (n < sizeof(head) && (k = fread(head + n, 1, sizeof(head) - n, stdin)) > 0)
		n += k;
	if (ferror(stdin))
		return m3_err_set(e, M3_EIO, "stdin: %s", strerror(errno));
	if (n == 0)
		return m3_err_set(e, M3_ENOINPUT, "stdin: empty input");
	if ((rc = spool_open(in, e)) != M3_OK)
		return rc;
	for (size_t i = 0; i < n; i++)
		zero &= head[i] == 0;
	/* an archive with no members is nothing but zero blocks */
	if (n == sizeof(head) && (m3_tar_is_header(head) || zero))
		return spool_tar(in, head, n, e);
	return spool_one(in, head, n, e);
}

/* 1 when path is a regular file that starts with a tar header. */
static int
is_tarfile(const char *path)
{
	unsigned char head[512];
	FILE *fp = fopen(path, "rb");
	int yes;

	if (fp == NULL)
		return 0;
	yes = fread(head, 1, sizeof(head), fp) == sizeof(head) && m3_tar_is_header(head);
	fclose(fp);
	return yes;
}

/* A tar file operand (what m3-phantom -o x.tar and m3-fetch write): its members are read in
 * place, as byte ranges of the file; nothing is copied. */
static int
add_tarfile(struct m3d_input *in, const char *path, struct m3_err *e)
{
	FILE *fp = fopen(path, "rb");
	struct m3_tar_reader *r;
	struct m3_tar_entry ent;
	char *name;
	size_t before = in->n;
	int rc;

	if (fp == NULL)
		return m3_err_set(e, errno == EACCES ? M3_EACCESS : M3_EDATA, "%s: %s", path,
				  strerror(errno));
	if ((r = m3_tar_reader_new(fp, path, NULL, 0)) == NULL) {
		fclose(fp);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	while ((rc = m3_tar_next(r, &ent, e)) == M3_OK) {
		off_t off = ftello(fp);
		if (ent.kind != M3_TAR_FILE || ent.size == 0)
			continue;
		if (off < 0 || (name = malloc(strlen(path) + strlen(ent.name) + 2)) == NULL) {
			rc = m3_err_set(e, M3_ENOMEM, "out of memory");
			break;
		}
		sprintf(name, "%s:%s", path, ent.name);
		rc = push(in, name, path, (unsigned long long)off, ent.size, e);
		free(name);
		if (rc != M3_OK)
			break;
	}
	m3_tar_reader_free(r);
	fclose(fp);
	if (rc != M3_EOF)
		return rc;
	if (in->n == before)
		return m3_err_set(e, M3_ENOINPUT, "%s: empty tar file (no files in it)", path);
	return M3_OK;
}

int
m3d_input_add(struct m3d_input *in, const char *arg, struct m3_err *e)
{
	const char *base = strrchr(arg, '/');
	struct stat st;

	if (strcmp(arg, "-") == 0)
		return add_stdin(in, e);
	/* DICOMDIR: its folder is read, which holds every file it refers to */
	base = base != NULL ? base + 1 : arg;
	if (strcasecmp(base, "DICOMDIR") == 0 && stat(arg, &st) == 0 && S_ISREG(st.st_mode)) {
		char *dir = strdup(arg);
		int rc;
		if (dir == NULL)
			return m3_err_set(e, M3_ENOMEM, "out of memory");
		dir[base - arg] = '\0';
		rc = walk(in, base == arg ? "." : dir, 0, e);
		free(dir);
		return rc;
	}
	if (stat(arg, &st) == 0 && S_ISREG(st.st_mode) && is_tarfile(arg))
		return add_tarfile(in, arg, e);
	return walk(in, arg, 0, e);
}

void
m3d_input_src(const struct m3d_input *in, size_t i, struct m3_dcm_src *out)
{
	const struct m3d_src *s = &in->src[i];

	memset(out, 0, sizeof(*out));
	out->name = s->name;
	out->path = s->path;
	out->fd = s->path == NULL ? in->spool : -1;
	out->off = s->off;
	out->size = s->size;
}
