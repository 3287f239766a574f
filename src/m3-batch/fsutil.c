/* m3-batch: small file-system helpers: paths, mkdir -p, rm -rf, atomic writes, clocks. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"

/* "a/b/c" with c optional; NULL when out of memory. */
char *
path_join(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + (c != NULL ? strlen(c) : 0) + 3;
	char *p = malloc(n);

	if (p == NULL)
		return NULL;
	if (c != NULL)
		snprintf(p, n, "%s/%s/%s", a, b, c);
	else
		snprintf(p, n, "%s/%s", a, b);
	return p;
}

static int
errno_code(int err)
{
	return err == EACCES || err == EPERM || err == EROFS ? M3_EACCESS : M3_EIO;
}

int
mkdir_p(const char *path, struct m3_err *e)
{
	char *p = strdup(path);
	struct stat st;

	if (p == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0777) != 0 && errno != EEXIST) {
			int err = errno;
			m3_err_set(e, errno_code(err), "%s: %s", p, strerror(err));
			free(p);
			return e->code;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return m3_err_set(e, M3_EUSAGE, "%s: not a directory", path);
	return M3_OK;
}

/* Removes a file or a whole tree below dirfd; does not follow symbolic links. */
static int
rm_at(int at, const char *name)
{
	struct dirent *d;
	DIR *dir;
	int fd, rc = 0;

	if (unlinkat(at, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	if ((fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((d = readdir(dir)) != NULL)
		if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
			rc |= rm_at(dirfd(dir), d->d_name);
	closedir(dir);
	if (unlinkat(at, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		rc = -1;
	return rc;
}

int
rm_rf(const char *path)
{
	return rm_at(AT_FDCWD, path);
}

int
fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Writes data to a temporary name beside path, syncs it and renames it into place. */
int
write_atomic(const char *path, const char *data, size_t len, struct m3_err *e)
{
	size_t n = strlen(path) + 16;
	char *tmp = malloc(n);
	int fd, err = 0;

	if (tmp == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	snprintf(tmp, n, "%s.tmp.XXXXXX", path);
	if ((fd = mkstemp(tmp)) == -1) {
		err = errno;
		free(tmp);
		return m3_err_set(e, errno_code(err), "%s: %s", path, strerror(err));
	}
	for (size_t off = 0; off < len && err == 0;) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno != EINTR)
			err = errno;
		else if (w > 0)
			off += (size_t)w;
	}
	if (err == 0 && (fchmod(fd, 0644) != 0 || fsync(fd) != 0))
		err = errno;
	if (close(fd) != 0 && err == 0)
		err = errno;
	if (err == 0 && rename(tmp, path) != 0)
		err = errno;
	if (err != 0) {
		unlink(tmp);
		free(tmp);
		return m3_err_set(e, errno_code(err), "%s: %s", path, strerror(err));
	}
	free(tmp);
	return M3_OK;
}

/* The whole file, NUL-terminated; NULL with e filled (M3_EDATA when it does not exist). */
char *
read_all(const char *path, size_t *len, struct m3_err *e)
{
	FILE *fp = fopen(path, "rb");
	size_t cap = 4096, n = 0;
	char *buf, *nb;

	if (fp == NULL) {
		m3_err_set(e, errno == ENOENT ? M3_EDATA : errno_code(errno), "%s: %s", path,
			   strerror(errno));
		return NULL;
	}
	if ((buf = malloc(cap)) == NULL)
		goto nomem;
	for (;;) {
		n += fread(buf + n, 1, cap - n - 1, fp);
		if (n < cap - 1)
			break;
		if (cap > ((size_t)1 << 30) || (nb = realloc(buf, cap * 2)) == NULL)
			goto nomem;
		buf = nb;
		cap *= 2;
	}
	if (ferror(fp)) {
		m3_err_set(e, M3_EIO, "%s: read error", path);
		fclose(fp);
		free(buf);
		return NULL;
	}
	fclose(fp);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
nomem:
	fclose(fp);
	free(buf);
	m3_err_set(e, M3_ENOMEM, "%s: out of memory", path);
	return NULL;
}

int
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* UTC, milliseconds: 2024-05-01T12:00:00.123Z */
void
time_iso(char buf[32])
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, 24, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *
hostname_str(void)
{
	static char h[256];

	if (h[0] == '\0' && gethostname(h, sizeof(h) - 1) != 0)
		strcpy(h, "unknown");
	return h;
}
