/* Command-line helpers: the one place that prints "prog: ..." and owns stdin/stdout. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "m3/cli.h"

#define MAXTMP 256

static const char *progname = "m3";
static int quiet;
/* Temporary output names, for the signal handler to remove: the CLI layer's only state. */
static char *volatile tmpnames[MAXTMP];
static int stdout_closed; /* fd 1 was closed at start: it is /dev/full, writes fail */

void
m3_cli_init(const char *argv0)
{
	const char *s;
	int fd;

	if (argv0 != NULL && *argv0 != '\0')
		progname = (s = strrchr(argv0, '/')) != NULL ? s + 1 : argv0;
	/* a closed 0, 1 or 2 would be taken by the next open() and written to by mistake; a
	 * closed stdout becomes /dev/full, so that output sent there fails instead of
	 * vanishing (m3_out_open and m3_stdout_close then say that stdout is closed) */
	for (fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
			int got = -1;
			if (fd == 1 && (got = open("/dev/full", O_WRONLY)) == 1)
				stdout_closed = 1;
			if (got != fd && open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
				abort();
		}
	/* a parent that ignores SIGPIPE hands that on through exec; a closed pipe must end us */
	signal(SIGPIPE, SIG_DFL);
}

const char *
m3_progname(void)
{
	return progname;
}

#ifndef M3_VERSION
#define M3_VERSION "unknown"
#endif

void
m3_print_version(void)
{
	printf("%s (m3) %s\n", progname, M3_VERSION);
}

void
m3_cli_quiet(int on)
{
	quiet = on;
}

void
m3_warn(const char *fmt, ...)
{
	int saved = errno;
	size_t n = strlen(fmt);
	va_list ap;

	if (quiet)
		return;
	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (n > 0 && fmt[n - 1] == ':')
		fprintf(stderr, " %s", strerror(saved));
	fputc('\n', stderr);
}

int
m3_report(const struct m3_err *e)
{
	fprintf(stderr, "%s: %s\n", progname, e->msg[0] != '\0' ? e->msg : m3_code_str(e->code));
	return m3_exit_code(e->code);
}

static int
errno_code(int err)
{
	return err == EACCES || err == EPERM                      ? M3_EACCESS
	       : err == ENOENT || err == ENOTDIR || err == EISDIR ? M3_EDATA
								  : M3_EIO;
}

FILE *
m3_open_in(const char *path, struct m3_err *e)
{
	struct stat st;
	FILE *fp;

	if (path == NULL || strcmp(path, "-") == 0)
		return stdin;
	if ((fp = fopen(path, "rb")) == NULL) {
		m3_err_set(e, errno_code(errno), "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(fp);
		m3_err_set(e, M3_EDATA, "%s: is a directory", path);
		return NULL;
	}
	return fp;
}

void
m3_close_in(FILE *fp)
{
	if (fp != NULL && fp != stdin)
		fclose(fp);
}

void
m3_catch_stop(void (*handler)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static void
on_signal(int sig)
{
	for (int i = 0; i < MAXTMP; i++)
		if (tmpnames[i] != NULL)
			unlink(tmpnames[i]);
	signal(sig, SIG_DFL);
	raise(sig);
}

static pthread_mutex_t tmp_mu = PTHREAD_MUTEX_INITIALIZER;

/* Outputs may be opened and committed from pool workers, so the list takes a lock; the
 * signal handler reads it without one (it only unlinks names that are set). */
static void
tmp_register(char *name)
{
	static int installed;

	pthread_mutex_lock(&tmp_mu);
	if (!installed) {
		m3_catch_stop(on_signal);
		installed = 1;
	}
	for (int i = 0; i < MAXTMP; i++)
		if (tmpnames[i] == NULL) {
			tmpnames[i] = name;
			break;
		}
	pthread_mutex_unlock(&tmp_mu);
}

static void
tmp_forget(const char *name)
{
	pthread_mutex_lock(&tmp_mu);
	for (int i = 0; i < MAXTMP; i++)
		if (tmpnames[i] == name)
			tmpnames[i] = NULL;
	pthread_mutex_unlock(&tmp_mu);
}

int
m3_out_open(struct m3_out *o, const char *path, int binary, struct m3_err *e)
{
	struct stat st;
	const char *slash;
	size_t dlen;
	int fd;

	memset(o, 0, sizeof(*o));
	if (path == NULL || strcmp(path, "-") == 0) {
		if (stdout_closed)
			return m3_err_set(e, M3_EIO, "stdout: closed");
		if (binary && isatty(STDOUT_FILENO))
			return m3_err_set(
				e, M3_EUSAGE,
				"refusing to write binary data to a terminal (use -o or a pipe)");
		o->fp = stdout;
		return M3_OK;
	}
	/* A device, FIFO or symbolic link (/dev/null, a named pipe, /dev/stdout) is written
	 * in place: renaming a file over it would replace the device or the link, not write
	 * where it leads. */
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			return m3_err_set(e, M3_EUSAGE, "%s: is a directory", path);
		if ((o->fp = fopen(path, "wb")) == NULL)
			return m3_err_set(e, errno_code(errno) == M3_EACCESS ? M3_EACCESS : M3_EIO,
					  "%s: %s", path, strerror(errno));
		if (binary && isatty(fileno(o->fp))) {
			fclose(o->fp);
			o->fp = NULL;
			return m3_err_set(e, M3_EUSAGE,
					  "%s: refusing to write binary data to a terminal", path);
		}
		return M3_OK;
	}
	slash = strrchr(path, '/');
	dlen = slash != NULL ? (size_t)(slash - path) + 1 : 0;
	o->path = strdup(path);
	o->tmp = malloc(strlen(path) + 16);
	if (o->path == NULL || o->tmp == NULL) {
		m3_out_abort(o);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	/* beside the target, so that rename() stays on one file system */
	sprintf(o->tmp, "%.*s.%s.XXXXXX", (int)dlen, path, path + dlen);
	if ((fd = mkstemp(o->tmp)) == -1) {
		int err = errno;
		free(o->tmp);
		o->tmp = NULL;
		m3_out_abort(o);
		return m3_err_set(e, errno_code(err) == M3_EACCESS ? M3_EACCESS : M3_EIO, "%s: %s",
				  path, strerror(err));
	}
	tmp_register(o->tmp);
	if ((o->fp = fdopen(fd, "wb")) == NULL) {
		close(fd);
		m3_out_abort(o);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	return M3_OK;
}

int
m3_out_commit(struct m3_out *o, struct m3_err *e)
{
	mode_t um;
	int rc = M3_OK, err;

	if (o->fp == stdout) {
		o->fp = NULL;
		return m3_stdout_close(e);
	}
	if (o->fp == NULL)
		return m3_err_set(e, M3_EFAIL, "output not open");
	if (o->tmp == NULL) { /* a device or FIFO written in place */
		errno = 0;
		rc = fflush(o->fp) != 0 || ferror(o->fp);
		if (fclose(o->fp) != 0)
			rc = 1;
		o->fp = NULL;
		return rc ? m3_err_set(e, M3_EIO, "output: %s",
				       errno ? strerror(errno) : "write error")
			  : M3_OK;
	}
	um = umask(0);
	umask(um);
	errno = 0;
	/* No fsync: it cost a 150 MB volume 0.4 s, the tools' outputs can be made again, and
	 * ext4 and XFS flush a file renamed over another before the rename.  m3-batch syncs
	 * its own stamps. */
	if (fflush(o->fp) != 0 || ferror(o->fp) || fchmod(fileno(o->fp), 0666 & ~um) != 0) {
		err = errno != 0 ? errno : EIO;
		m3_out_abort(o);
		return m3_err_set(e, M3_EIO, "%s: %s", o->path ? o->path : "output", strerror(err));
	}
	err = fclose(o->fp) != 0 ? errno : 0;
	o->fp = NULL;
	if (err == 0 && rename(o->tmp, o->path) != 0)
		err = errno;
	if (err != 0) {
		rc = m3_err_set(e, M3_EIO, "%s: %s", o->path, strerror(err));
		unlink(o->tmp);
	}
	tmp_forget(o->tmp);
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof(*o));
	return rc;
}

void
m3_out_abort(struct m3_out *o)
{
	if (o->fp != NULL && o->fp != stdout)
		fclose(o->fp);
	if (o->tmp != NULL) {
		unlink(o->tmp);
		tmp_forget(o->tmp);
	}
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof(*o));
}

int
m3_stdout_close(struct m3_err *e)
{
	int bad;

	errno = 0;
	bad = fflush(stdout) != 0 || ferror(stdout);
	if (fclose(stdout) != 0)
		bad = 1;
	if (bad)
		return m3_err_set(e, M3_EIO, "stdout: %s",
				  stdout_closed ? "closed"
				  : errno != 0  ? strerror(errno)
						: "write error");
	return M3_OK;
}

int
m3_stdout_done(void)
{
	struct m3_err e;

	m3_err_init(&e);
	return m3_stdout_close(&e) == M3_OK ? 0 : m3_report(&e);
}

void
m3_progress_init(struct m3_progress *p, int force, int q)
{
	p->on = !q && (force || isatty(STDERR_FILENO));
	p->dirty = 0;
}

void
m3_progress(struct m3_progress *p, const char *fmt, ...)
{
	int tty = isatty(STDERR_FILENO);
	va_list ap;

	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

	if (!p->on)
		return;
	/* pool workers report too: one line at a time */
	pthread_mutex_lock(&mu);
	/* on a terminal one line is redrawn; into a file or pipe each update is its own line */
	fprintf(stderr, "%s%s: ", tty ? "\r\033[K" : "", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (!tty)
		fputc('\n', stderr);
	p->dirty = tty;
	fflush(stderr);
	pthread_mutex_unlock(&mu);
}

void
m3_progress_done(struct m3_progress *p)
{
	if (p->on && p->dirty)
		fputc('\n', stderr);
	p->dirty = 0;
}

int
m3_parse_long(const char *opt, const char *s, long min, long max, long *out, struct m3_err *e)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno == ERANGE || v < min || v > max)
		return m3_err_set(e, M3_EUSAGE, "%s: \"%s\" is not an integer from %ld to %ld", opt,
				  s, min, max);
	*out = v;
	return M3_OK;
}

int
m3_parse_double(const char *opt, const char *s, double min, double max, double *out,
		struct m3_err *e)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno == ERANGE || !isfinite(v) || v < min || v > max)
		return m3_err_set(e, M3_EUSAGE, "%s: \"%s\" is not a number from %g to %g", opt, s,
				  min, max);
	*out = v;
	return M3_OK;
}

unsigned
m3_ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 1024 ? 1024 : (unsigned)n;
}

int
m3_parse_jobs(const char *s, unsigned *out, struct m3_err *e)
{
	long v;
	int rc;

	if (s == NULL) {
		*out = m3_ncpu();
		return M3_OK;
	}
	if ((rc = m3_parse_long("-j", s, 0, 1024, &v, e)) != M3_OK)
		return rc;
	*out = v == 0 ? m3_ncpu() : (unsigned)v;
	return M3_OK;
}

static int
device_name(const char *s, enum m3_device *out)
{
	if (strcmp(s, "auto") == 0)
		*out = M3_DEV_AUTO;
	else if (strcmp(s, "cpu") == 0)
		*out = M3_DEV_CPU;
	else if (strcmp(s, "cuda") == 0)
		*out = M3_DEV_CUDA;
	else
		return -1;
	return 0;
}

int
m3_parse_device(const char *s, enum m3_device *out, struct m3_err *e)
{
	const char *env;

	*out = M3_DEV_AUTO;
	if (s != NULL) {
		if (device_name(s, out) != 0)
			return m3_err_set(e, M3_EUSAGE, "-d: \"%s\" is not auto, cpu or cuda", s);
		return M3_OK;
	}
	env = getenv("M3_DEVICE");
	if (env != NULL && *env != '\0' && device_name(env, out) != 0) {
		m3_warn("M3_DEVICE=\"%s\" is not auto, cpu or cuda; using auto", env);
		*out = M3_DEV_AUTO;
	}
	return M3_OK;
}
