/* m3-batch: results in S3: each study's folder pushed with m3-push, its stamp last; the
 * stamp looked up with m3-fetch -l when a study has no local state. */
#define _DEFAULT_SOURCE /* realpath */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"

#define PUSH_CHUNK 200 /* files per m3-push call */

int
s3_prefix(const char *url, char **out, struct m3_err *e)
{
	const char *b = url + 5;
	size_t n = strlen(url), bl = strcspn(b, "/");

	*out = NULL;
	if (strncmp(url, "s3://", 5) != 0 || bl == 0)
		return m3_err_set(e, M3_EUSAGE, "%s: not an s3://bucket/prefix/ URL", url);
	for (const char *p = url; *p != '\0'; p++)
		if (iscntrl((unsigned char)*p) || *p == '?' || *p == '#')
			return m3_err_set(e, M3_EUSAGE, "%s: not an s3://bucket/prefix/ URL", url);
	if (strstr(b, "//") != NULL)
		return m3_err_set(e, M3_EUSAGE, "%s: empty part in the prefix", url);
	if ((*out = malloc(n + 2)) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	memcpy(*out, url, n + 1);
	if (url[n - 1] != '/')
		strcat(*out, "/");
	return M3_OK;
}

char *
s3_state_default(const char *prefix)
{
	char *p = malloc(32);

	if (p != NULL)
		snprintf(p, 32, "m3-batch-state/%08x", fnv1a(prefix));
	return p;
}

char *
s3_url(const struct batch *b, const char *id, const char *rest)
{
	size_t n = strlen(b->s3) + strlen(id) + strlen(rest) + 2;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s%s/%s", b->s3, id, rest);
	return p;
}

char *
tool_path(const char *name)
{
	char self[PATH_MAX], *slash, *p;
	ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (l > 0) {
		self[l] = '\0';
		if ((slash = strrchr(self, '/')) != NULL &&
		    (p = path_join(self, name, NULL)) != NULL) {
			slash[0] = '\0';
			free(p);
			if ((p = path_join(self, name, NULL)) != NULL && access(p, X_OK) == 0)
				return p;
			free(p);
		}
	}
	return strdup(name);
}

char *
s3_work_dir(const struct batch *b, const char *id)
{
	char top[64], *dir, *p;

	snprintf(top, sizeof(top), "m3-batch.%ld.%08x", (long)getuid(), fnv1a(b->results));
	if ((dir = path_join(b->work, top, NULL)) == NULL)
		return NULL;
	p = path_join(dir, id, NULL); /* made by the runner, the top folder with it */
	free(dir);
	return p;
}

/* The words of one m3-push call: the tool, the user's options, then room for files. */
struct argv {
	char **v;
	size_t n, fixed, cap;
};

static int
argv_add(struct argv *a, char *s)
{
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		char **v = realloc(a->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
	return 0;
}

/* Frees the words past the fixed ones (file paths, the destination). */
static void
argv_reset(struct argv *a)
{
	while (a->n > a->fixed)
		free(a->v[--a->n]);
	if (a->v != NULL)
		a->v[a->n] = NULL;
}

struct push {
	const struct batch *b;
	const struct study *s;
	struct argv a;
	int logfd;
	char *errline;
	size_t errsz;
};

/* Runs m3-push on the files gathered in a, to prefix/id/rel; 0 or its status. */
static int
push_files(struct push *ps, const char *rel)
{
	char *dest;
	int st;

	if (ps->a.n == ps->a.fixed)
		return 0;
	if ((dest = s3_url(ps->b, ps->s->id, rel)) == NULL || argv_add(&ps->a, dest) != 0) {
		free(dest);
		argv_reset(&ps->a);
		snprintf(ps->errline, ps->errsz, "m3-batch: out of memory");
		return 1;
	}
	st = tool_run(ps->a.v, ps->logfd, ps->errline, ps->errsz);
	argv_reset(&ps->a);
	return st < 0 ? 1 : st;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir, sorted, without . and ..; NULL when it cannot be read. */
static char **
names(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL, **nv;
	size_t cap = 0;

	*n = 0;
	if (d == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (*n + 1 >= cap) {
			cap = cap ? cap * 2 : 32;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				break;
			v = nv;
		}
		if ((v[*n] = strdup(de->d_name)) == NULL)
			break;
		++*n;
	}
	closedir(d);
	if (v == NULL && (v = malloc(sizeof(*v))) == NULL)
		return NULL;
	qsort(v, *n, sizeof(*v), cmp_str);
	return v;
}

/* Pushes the regular files of dir (rel: its path below the study's folder, "" or "a/b/"),
 * then its subfolders.  Symbolic links to files are followed, other special files skipped. */
static int
push_tree(struct push *ps, const char *dir, const char *rel)
{
	size_t n;
	char **v = names(dir, &n);
	int st = 0;

	if (v == NULL) {
		snprintf(ps->errline, ps->errsz, "m3-batch: %s: %s", dir, strerror(errno));
		return 1;
	}
	for (int pass = 0; pass < 2; pass++) { /* the files, then the folders */
		for (size_t i = 0; i < n && st == 0; i++) {
			char *path = path_join(dir, v[i], NULL), *srel = NULL;
			size_t l = strlen(rel) + strlen(v[i]) + 2;
			struct stat ls, fs;
			int dir_ = 0, file = 0;
			if (path != NULL && lstat(path, &ls) == 0 &&
			    !(rel[0] == '\0' && strcmp(v[i], ".m3-batch-done") == 0)) {
				dir_ = S_ISDIR(ls.st_mode);
				file = !dir_ && stat(path, &fs) == 0 && S_ISREG(fs.st_mode);
			}
			if (path == NULL) {
				snprintf(ps->errline, ps->errsz, "m3-batch: out of memory");
				st = 1;
			} else if (pass == 0 && file) {
				if (argv_add(&ps->a, path) != 0) {
					snprintf(ps->errline, ps->errsz, "m3-batch: out of memory");
					st = 1;
				} else {
					path = NULL; /* argv owns it */
					if (ps->a.n - ps->a.fixed == PUSH_CHUNK)
						st = push_files(ps, rel);
				}
			} else if (pass == 1 && dir_) {
				if ((srel = malloc(l)) == NULL) {
					snprintf(ps->errline, ps->errsz, "m3-batch: out of memory");
					st = 1;
				} else {
					snprintf(srel, l, "%s%s/", rel, v[i]);
					st = push_tree(ps, path, srel);
				}
			}
			free(path);
			free(srel);
		}
		if (pass == 0)
			st = st == 0 ? push_files(ps, rel) : (argv_reset(&ps->a), st);
	}
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return st;
}

/* m3-push and the user's --push-opt words. */
static int
push_argv(const struct batch *b, struct argv *a)
{
	memset(a, 0, sizeof(*a));
	if (argv_add(a, (char *)b->push) != 0)
		return -1;
	for (size_t i = 0; i < b->npush_opt; i++)
		if (argv_add(a, (char *)b->push_opt[i]) != 0)
			return -1;
	a->fixed = a->n;
	return 0;
}

int
s3_upload(const struct batch *b, const struct study *s, const char *dir, const char *stamp,
	  int logfd, char *errline, size_t errsz)
{
	struct push ps = {b, s, {0}, logfd, errline, errsz};
	int st;

	errline[0] = '\0';
	if (push_argv(b, &ps.a) != 0) {
		free(ps.a.v);
		snprintf(errline, errsz, "m3-batch: out of memory");
		return 1;
	}
	st = push_tree(&ps, dir, "");
	if (st == 0 && !study_cancelled()) {
		/* the stamp last, and only when every file is there */
		static char ct[] = "--content-type=application/json";
		char *dest = s3_url(b, s->id, ".m3-batch-done");
		char **v = malloc((b->npush_opt + 5) * sizeof(*v));
		size_t k = 0;
		if (dest == NULL || v == NULL) {
			snprintf(errline, errsz, "m3-batch: out of memory");
			st = 1;
		} else {
			v[k++] = (char *)b->push;
			for (size_t i = 0; i < b->npush_opt; i++)
				v[k++] = (char *)b->push_opt[i];
			v[k++] = ct;
			v[k++] = (char *)stamp;
			v[k++] = dest;
			v[k] = NULL;
			st = tool_run(v, logfd, errline, errsz);
			st = st < 0 ? 1 : st;
		}
		free(v);
		free(dest);
	}
	free(ps.a.v);
	return st;
}

int
s3_remote_done(const struct batch *b, const char *id, int *status, char *errline, size_t errsz)
{
	char *url = s3_url(b, id, ".m3-batch-done"), *tmp = NULL, *data = NULL, *key;
	char *argv[] = {(char *)b->fetch, "-l", url, NULL};
	const char *k = b->s3 + 5 + strcspn(b->s3 + 5, "/") + 1; /* the key of the prefix */
	struct m3_err e;
	int fd = -1, st = -1, found = -1;

	m3_err_init(&e);
	errline[0] = '\0';
	tmp = path_join(b->results, ".m3-batch/tmp", ".list.XXXXXX");
	if (url == NULL || tmp == NULL || (fd = mkstemp(tmp)) == -1) {
		snprintf(errline, errsz, "m3-batch: %s: %s", tmp ? tmp : "list",
			 url && tmp ? strerror(errno) : "out of memory");
		goto out;
	}
	st = tool_run(argv, fd, errline, errsz);
	if (st == 0 && (data = read_all(tmp, NULL, &e)) != NULL) {
		/* one JSON object a line, the key first */
		size_t l = strlen(k) + strlen(id) + 40;
		if ((key = malloc(l)) != NULL) {
			snprintf(key, l, "{\"key\":\"%s%s/.m3-batch-done\",", k, id);
			found = strstr(data, key) != NULL;
			free(key);
		} else {
			snprintf(errline, errsz, "m3-batch: out of memory");
			st = 1;
		}
	} else if (st == 0) {
		snprintf(errline, errsz, "m3-batch: %s", e.msg);
		st = 1;
	}
out:
	if (fd != -1) {
		close(fd);
		unlink(tmp);
	}
	free(data);
	free(tmp);
	free(url);
	*status = st;
	return found;
}
