/* Output of m3-phantom: a directory made whole or not at all, or a tar stream of the same files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "m3/cli.h"
#include "m3/tar.h"
#include "phantom.h"

/* The directory being written, for the signal handler: the only state outside a struct. */
static struct ph_sink *volatile active;

static void
on_signal(int sig)
{
	struct ph_sink *s = active;

	if (s != NULL) {
		for (size_t i = 0; i < s->npaths; i++)
			unlink(s->paths[i]);
		rmdir(s->tmpdir);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static int
errcode(int err)
{
	return err == EACCES || err == EPERM || err == EROFS ? M3_EACCESS : M3_EIO;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n > k && strcmp(s + n - k, suffix) == 0;
}

/* 1 when path is a directory with nothing in it. */
static int
empty_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int empty = 1;

	if (d == NULL)
		return 0;
	while (empty && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty;
}

static int
open_dir(struct ph_sink *s, const char *dest, struct m3_err *e)
{
	size_t n = strlen(dest);
	const char *base;
	struct stat st;

	while (n > 1 && dest[n - 1] == '/')
		n--;
	if ((s->dir = strndup(dest, n)) == NULL || (s->tmpdir = malloc(n + 16)) == NULL ||
	    (s->paths = calloc(s->maxfiles, sizeof(char *))) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	if (strcmp(s->dir, "/") == 0 || strcmp(s->dir, ".") == 0 || ends_with(s->dir, "/..") ||
	    strcmp(s->dir, "..") == 0 || ends_with(s->dir, "/."))
		return m3_err_set(e, M3_EUSAGE, "%s: not a directory m3-phantom can make", dest);
	if (stat(s->dir, &st) == 0 && !S_ISDIR(st.st_mode))
		return m3_err_set(e, M3_EUSAGE, "%s: exists and is not a directory", dest);
	if (stat(s->dir, &st) == 0 && !empty_dir(s->dir))
		return m3_err_set(e, M3_EUSAGE, "%s: directory exists and is not empty", dest);
	base = strrchr(s->dir, '/');
	base = base != NULL ? base + 1 : s->dir;
	/* a hidden sibling, so that the final rename() stays on one file system */
	sprintf(s->tmpdir, "%.*s.%s.XXXXXX", (int)(base - s->dir), s->dir, base);
	if (mkdtemp(s->tmpdir) == NULL) {
		int err = errno;
		free(s->tmpdir);
		s->tmpdir = NULL;
		return m3_err_set(e, errcode(err), "%s: %s", dest, strerror(err));
	}
	active = s;
	m3_catch_stop(on_signal);
	return M3_OK;
}

int
ph_sink_open(struct ph_sink *s, const char *dest, size_t maxfiles, time_t mtime, struct m3_err *e)
{
	int rc;

	memset(s, 0, sizeof(*s));
	s->mtime = mtime;
	s->maxfiles = maxfiles;
	if (dest == NULL || strcmp(dest, "-") == 0 || ends_with(dest, ".tar")) {
		s->tar = 1;
		return m3_out_open(&s->out, dest, 1, e);
	}
	if ((rc = open_dir(s, dest, e)) != M3_OK)
		ph_sink_abort(s);
	return rc;
}

static int
put_file(struct ph_sink *s, const char *name, const void *data, size_t len, struct m3_err *e)
{
	size_t n = strlen(s->tmpdir) + strlen(name) + 2;
	const char *p = data;
	char *path;
	int fd, err = 0;

	if (s->npaths >= s->maxfiles)
		return m3_err_set(e, M3_EFAIL, "%s: too many files", name);
	if ((path = malloc(n)) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	snprintf(path, n, "%s/%s", s->tmpdir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0666)) == -1) {
		err = errno;
		free(path);
		return m3_err_set(e, errcode(err), "%s/%s: %s", s->dir, name, strerror(err));
	}
	s->paths[s->npaths] = path;
	s->npaths++;
	while (len > 0 && err == 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno != EINTR)
			err = errno;
		if (w > 0) {
			p += w;
			len -= (size_t)w;
		}
	}
	if (close(fd) != 0 && err == 0)
		err = errno;
	if (err != 0)
		return m3_err_set(e, errcode(err), "%s/%s: %s", s->dir, name, strerror(err));
	return M3_OK;
}

int
ph_sink_put(struct ph_sink *s, const char *name, const void *data, size_t len, struct m3_err *e)
{
	if (s->tar)
		return m3_tar_file(s->out.fp, name, data, len, s->mtime, e);
	return put_file(s, name, data, len, e);
}

int
ph_sink_commit(struct ph_sink *s, struct m3_err *e)
{
	mode_t um;
	int rc = M3_OK;

	if (s->tar) {
		if ((rc = m3_tar_end(s->out.fp, e)) != M3_OK) {
			m3_out_abort(&s->out);
			return rc;
		}
		return m3_out_commit(&s->out, e);
	}
	um = umask(0);
	umask(um);
	if (chmod(s->tmpdir, 0777 & ~um) != 0 || rename(s->tmpdir, s->dir) != 0) {
		int err = errno;
		rc = m3_err_set(e, err == ENOTEMPTY || err == EEXIST ? M3_EUSAGE : errcode(err),
				"%s: %s", s->dir, strerror(err));
		ph_sink_abort(s);
		return rc;
	}
	active = NULL;
	for (size_t i = 0; i < s->npaths; i++)
		free(s->paths[i]);
	s->npaths = 0;
	free(s->tmpdir);
	s->tmpdir = NULL;
	ph_sink_abort(s);
	return rc;
}

void
ph_sink_abort(struct ph_sink *s)
{
	if (s->tar) {
		m3_out_abort(&s->out);
		return;
	}
	active = NULL;
	for (size_t i = 0; i < s->npaths; i++) {
		unlink(s->paths[i]);
		free(s->paths[i]);
	}
	if (s->tmpdir != NULL)
		rmdir(s->tmpdir);
	free(s->paths);
	free(s->tmpdir);
	free(s->dir);
	memset(s, 0, sizeof(*s));
}
