/* Unit tests for m3/cli.h: numeric arguments, devices, inputs, atomic outputs, progress. */
#define _XOPEN_SOURCE 700 /* posix_openpt, for a terminal to test against */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "m3/cli.h"

/* A fresh empty directory per test, removed (with what is left in it) afterwards. */
static int
dir_setup(void **state)
{
	char *d = strdup("/tmp/m3-test-cli.XXXXXX");

	if (d == NULL || mkdtemp(d) == NULL)
		return -1;
	*state = d;
	return 0;
}

static int
dir_teardown(void **state)
{
	char *d = *state, path[512];
	struct dirent *de;
	DIR *dp = opendir(d);

	while (dp != NULL && (de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", d, de->d_name);
		if (unlink(path) != 0)
			rmdir(path);
	}
	if (dp != NULL)
		closedir(dp);
	rmdir(d);
	free(d);
	return 0;
}

/* The names in dir, sorted, joined by spaces ("" when empty). */
static void
dir_list(const char *dir, char *out, size_t n)
{
	char names[32][256];
	struct dirent *de;
	DIR *dp = opendir(dir);
	int k = 0;

	assert_non_null(dp);
	while ((de = readdir(dp)) != NULL && k < 32)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			snprintf(names[k++], sizeof(names[0]), "%s", de->d_name);
	closedir(dp);
	qsort(names, (size_t)k, sizeof(names[0]), (int (*)(const void *, const void *))strcmp);
	out[0] = '\0';
	for (int i = 0; i < k; i++) {
		if (i > 0)
			strncat(out, " ", n - strlen(out) - 1);
		strncat(out, names[i], n - strlen(out) - 1);
	}
}

static void
slurp(const char *path, char *buf, size_t n)
{
	FILE *fp = fopen(path, "rb");
	size_t got;

	assert_non_null(fp);
	got = fread(buf, 1, n - 1, fp);
	buf[got] = '\0';
	fclose(fp);
}

/* stderr into a file for a while, to see what was printed and to make it no terminal. */
struct capture {
	int saved;
	char path[64];
};

static void
capture_start(struct capture *c)
{
	int fd;

	snprintf(c->path, sizeof(c->path), "/tmp/m3-test-cli-err.XXXXXX");
	assert_true((fd = mkstemp(c->path)) >= 0);
	fflush(stderr);
	assert_true((c->saved = dup(STDERR_FILENO)) >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
}

static void
capture_end(struct capture *c, char *out, size_t n)
{
	fflush(stderr);
	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	slurp(c->path, out, n);
	unlink(c->path);
}

/* A pseudo-terminal's slave side, or -1 where there is none. */
static int
open_tty(int *master)
{
	char *name;
	int fd;

	if ((*master = posix_openpt(O_RDWR | O_NOCTTY)) < 0)
		return -1;
	if (grantpt(*master) != 0 || unlockpt(*master) != 0 || (name = ptsname(*master)) == NULL ||
	    (fd = open(name, O_RDWR | O_NOCTTY)) < 0) {
		close(*master);
		return -1;
	}
	return fd;
}

static void
test_parse_long(void **state)
{
	static const struct {
		const char *s;
		long min, max;
		int rc;
		long want;
	} cases[] = {
		{"5", 1, 10, M3_OK, 5},
		{"1", 1, 10, M3_OK, 1},
		{"10", 1, 10, M3_OK, 10},
		{"-7", -10, 10, M3_OK, -7},
		{"0", 0, 0, M3_OK, 0},
		{"9223372036854775807", 0, 9223372036854775807L, M3_OK, 9223372036854775807L},
		{"", 0, 10, M3_EUSAGE, 0},
		{"12x", 0, 100, M3_EUSAGE, 0},
		{"x12", 0, 100, M3_EUSAGE, 0},
		{"1.5", 0, 100, M3_EUSAGE, 0},
		{"-1", 0, 10, M3_EUSAGE, 0},
		{"0", 1, 10, M3_EUSAGE, 0},
		{"11", 1, 10, M3_EUSAGE, 0},
		{"-11", -10, 10, M3_EUSAGE, 0},
		{"9223372036854775808", 0, 9223372036854775807L, M3_EUSAGE, 0},
		{"99999999999999999999999", 0, 9223372036854775807L, M3_EUSAGE, 0},
		{"-99999999999999999999999", -9223372036854775807L, 0, M3_EUSAGE, 0},
		{"5 ", 0, 10, M3_EUSAGE, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct m3_err e;
		long out = -12345;
		int rc;

		m3_err_init(&e);
		rc = m3_parse_long("--level", cases[i].s, cases[i].min, cases[i].max, &out, &e);
		if (rc != cases[i].rc)
			fail_msg("\"%s\" in [%ld, %ld]: rc %d, want %d", cases[i].s, cases[i].min,
				 cases[i].max, rc, cases[i].rc);
		if (rc == M3_OK) {
			assert_int_equal(out, cases[i].want);
		} else {
			assert_int_equal(out, -12345);
			assert_int_equal(e.code, M3_EUSAGE);
			assert_non_null(strstr(e.msg, "--level"));
		}
	}
}

static void
test_parse_double(void **state)
{
	static const struct {
		const char *s;
		double min, max;
		int rc;
		double want;
	} cases[] = {
		{"0.25", 0, 1, M3_OK, 0.25},
		{"1", 0, 1, M3_OK, 1},
		{"0", 0, 1, M3_OK, 0},
		{"-2.5e1", -100, 100, M3_OK, -25},
		{"1e-3", 0, 1, M3_OK, 1e-3},
		{"", 0, 1, M3_EUSAGE, 0},
		{"12x", 0, 100, M3_EUSAGE, 0},
		{"0.5.", 0, 1, M3_EUSAGE, 0},
		{"-0.5", 0, 1, M3_EUSAGE, 0},
		{"1.0001", 0, 1, M3_EUSAGE, 0},
		{"nan", -1e300, 1e300, M3_EUSAGE, 0},
		{"inf", -1e300, 1e308, M3_EUSAGE, 0},
		{"-inf", -1e308, 1e300, M3_EUSAGE, 0},
		{"1e999", -1e308, 1e308, M3_EUSAGE, 0},
		{"x", 0, 1, M3_EUSAGE, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct m3_err e;
		double out = -12345;
		int rc;

		m3_err_init(&e);
		rc = m3_parse_double("--sigma", cases[i].s, cases[i].min, cases[i].max, &out, &e);
		if (rc != cases[i].rc)
			fail_msg("\"%s\" in [%g, %g]: rc %d, want %d", cases[i].s, cases[i].min,
				 cases[i].max, rc, cases[i].rc);
		if (rc == M3_OK) {
			assert_true(out == cases[i].want);
		} else {
			assert_true(out == -12345);
			assert_non_null(strstr(e.msg, "--sigma"));
		}
	}
}

static void
test_parse_jobs(void **state)
{
	static const char *const bad[] = {"", "12x", "-1", "1025", "99999999999999999999", "x"};
	struct m3_err e;
	unsigned n;

	(void)state;
	assert_true(m3_ncpu() >= 1 && m3_ncpu() <= 1024);
	n = 0;
	assert_int_equal(m3_parse_jobs(NULL, &n, &e), M3_OK);
	assert_int_equal(n, m3_ncpu());
	n = 0;
	assert_int_equal(m3_parse_jobs("0", &n, &e), M3_OK);
	assert_int_equal(n, m3_ncpu());
	assert_int_equal(m3_parse_jobs("1", &n, &e), M3_OK);
	assert_int_equal(n, 1);
	assert_int_equal(m3_parse_jobs("7", &n, &e), M3_OK);
	assert_int_equal(n, 7);
	assert_int_equal(m3_parse_jobs("1024", &n, &e), M3_OK);
	assert_int_equal(n, 1024);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 99;
		m3_err_init(&e);
		if (m3_parse_jobs(bad[i], &n, &e) != M3_EUSAGE)
			fail_msg("-j \"%s\" accepted", bad[i]);
		assert_int_equal(n, 99);
		assert_non_null(strstr(e.msg, "-j"));
	}
}

static void
test_parse_device(void **state)
{
	static const struct {
		const char *arg, *env;
		int rc;
		enum m3_device want;
		int warns;
	} cases[] = {
		{"auto", NULL, M3_OK, M3_DEV_AUTO, 0},
		{"cpu", NULL, M3_OK, M3_DEV_CPU, 0},
		{"cuda", NULL, M3_OK, M3_DEV_CUDA, 0},
		{"cuda", "cpu", M3_OK, M3_DEV_CUDA, 0}, /* the option wins over the environment */
		{"gpu", NULL, M3_EUSAGE, M3_DEV_AUTO, 0},
		{"", NULL, M3_EUSAGE, M3_DEV_AUTO, 0},
		{"CPU", NULL, M3_EUSAGE, M3_DEV_AUTO, 0},
		{NULL, NULL, M3_OK, M3_DEV_AUTO, 0},
		{NULL, "", M3_OK, M3_DEV_AUTO, 0},
		{NULL, "cpu", M3_OK, M3_DEV_CPU, 0},
		{NULL, "cuda", M3_OK, M3_DEV_CUDA, 0},
		{NULL, "auto", M3_OK, M3_DEV_AUTO, 0},
		{NULL, "garbage", M3_OK, M3_DEV_AUTO, 1},
	};

	(void)state;
	m3_cli_quiet(0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct capture c;
		struct m3_err e;
		enum m3_device d = (enum m3_device)99;
		char err[1024];
		int rc;

		if (cases[i].env != NULL)
			assert_int_equal(setenv("M3_DEVICE", cases[i].env, 1), 0);
		else
			assert_int_equal(unsetenv("M3_DEVICE"), 0);
		m3_err_init(&e);
		capture_start(&c);
		rc = m3_parse_device(cases[i].arg, &d, &e);
		capture_end(&c, err, sizeof(err));
		if (rc != cases[i].rc)
			fail_msg("-d %s, M3_DEVICE=%s: rc %d, want %d",
				 cases[i].arg ? cases[i].arg : "-",
				 cases[i].env ? cases[i].env : "-", rc, cases[i].rc);
		if (rc == M3_OK)
			assert_int_equal(d, cases[i].want);
		else
			assert_non_null(strstr(e.msg, "-d"));
		if (cases[i].warns)
			assert_non_null(strstr(err, "M3_DEVICE"));
		else
			assert_string_equal(err, "");
	}
	unsetenv("M3_DEVICE");
}

/* The output is written under a temporary name and appears with the umask's mode on commit. */
static void
out_commit_with_umask(const char *dir, mode_t um)
{
	struct m3_out o;
	struct m3_err e;
	struct stat st;
	char path[512], tmpbase[1600], list[1024], got[64];
	mode_t old = umask(um);

	snprintf(path, sizeof(path), "%s/out.bin", dir);
	m3_err_init(&e);
	assert_int_equal(m3_out_open(&o, path, 1, &e), M3_OK);
	assert_non_null(o.fp);
	assert_true(o.fp != stdout);
	/* not there yet (or still the old one); a hidden temporary beside it is */
	assert_true(stat(path, &st) == -1 || st.st_size == 0);
	dir_list(dir, list, sizeof(list));
	assert_int_equal(strncmp(list, ".out.bin.", 9), 0);
	assert_int_equal(strcspn(list, " "), strlen(".out.bin.XXXXXX"));
	snprintf(tmpbase, sizeof(tmpbase), "%s/%.*s", dir, (int)strcspn(list, " "), list);
	assert_true(fputs("hello", o.fp) >= 0);
	assert_int_equal(m3_out_commit(&o, &e), M3_OK);
	assert_null(o.fp);
	/* there, complete, with the mode, and no temporary left */
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	if ((st.st_mode & 07777) != (0666 & ~um))
		fail_msg("umask %03o: mode %03o, want %03o", (unsigned)um,
			 (unsigned)(st.st_mode & 07777), (unsigned)(0666 & ~um));
	slurp(path, got, sizeof(got));
	assert_string_equal(got, "hello");
	dir_list(dir, list, sizeof(list));
	assert_string_equal(list, "out.bin");
	assert_int_equal(access(tmpbase, F_OK), -1);
	assert_int_equal(unlink(path), 0);
	umask(old);
}

static void
test_out_commit(void **state)
{
	const char *dir = *state;
	char path[512];

	out_commit_with_umask(dir, 022);
	out_commit_with_umask(dir, 027);
	out_commit_with_umask(dir, 0);
	out_commit_with_umask(dir, 077);
	/* and over a file already there */
	snprintf(path, sizeof(path), "%s/out.bin", dir);
	assert_int_equal(close(open(path, O_WRONLY | O_CREAT, 0600)), 0);
	out_commit_with_umask(dir, 022);
}

/* A relative name gets its temporary in the current directory. */
static void
test_out_relative(void **state)
{
	const char *dir = *state;
	struct m3_out o;
	struct m3_err e;
	char cwd[4096], list[1024];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(m3_out_open(&o, "rel.txt", 0, &e), M3_OK);
	dir_list(".", list, sizeof(list));
	assert_int_equal(strncmp(list, ".rel.txt.", 9), 0);
	fputs("x", o.fp);
	assert_int_equal(m3_out_commit(&o, &e), M3_OK);
	dir_list(".", list, sizeof(list));
	assert_string_equal(list, "rel.txt");
	unlink("rel.txt");
	assert_int_equal(chdir(cwd), 0);
}

static void
test_out_replaces(void **state)
{
	const char *dir = *state;
	struct m3_out o;
	struct m3_err e;
	char path[512], got[64], list[1024];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/old.txt", dir);
	assert_non_null(fp = fopen(path, "w"));
	fputs("old", fp);
	fclose(fp);
	/* aborted: the old file stays as it was */
	assert_int_equal(m3_out_open(&o, path, 0, &e), M3_OK);
	fputs("new", o.fp);
	m3_out_abort(&o);
	slurp(path, got, sizeof(got));
	assert_string_equal(got, "old");
	/* committed: replaced */
	assert_int_equal(m3_out_open(&o, path, 0, &e), M3_OK);
	fputs("new", o.fp);
	slurp(path, got, sizeof(got));
	assert_string_equal(got, "old"); /* not yet */
	assert_int_equal(m3_out_commit(&o, &e), M3_OK);
	slurp(path, got, sizeof(got));
	assert_string_equal(got, "new");
	dir_list(dir, list, sizeof(list));
	assert_string_equal(list, "old.txt");
	unlink(path);
}

static void
test_out_abort(void **state)
{
	const char *dir = *state;
	struct m3_out o;
	struct m3_err e;
	char path[512], list[1024];

	snprintf(path, sizeof(path), "%s/never.bin", dir);
	assert_int_equal(m3_out_open(&o, path, 1, &e), M3_OK);
	dir_list(dir, list, sizeof(list));
	assert_int_equal(strncmp(list, ".never.bin.", 11), 0);
	for (int i = 0; i < 1000; i++)
		fputs("partial data ", o.fp);
	m3_out_abort(&o);
	assert_null(o.fp);
	assert_null(o.tmp);
	dir_list(dir, list, sizeof(list));
	assert_string_equal(list, "");
	/* abort twice, and abort of nothing opened, do no harm */
	m3_out_abort(&o);
	/* commit after abort fails */
	assert_int_equal(m3_out_commit(&o, &e), M3_EFAIL);
}

static void
test_out_bad_path(void **state)
{
	const char *dir = *state;
	struct m3_out o;
	struct m3_err e;
	char path[512], list[1024];

	snprintf(path, sizeof(path), "%s/no/such/dir/x.bin", dir);
	m3_err_init(&e);
	assert_int_not_equal(m3_out_open(&o, path, 1, &e), M3_OK);
	assert_null(o.fp);
	assert_non_null(strstr(e.msg, path));
	dir_list(dir, list, sizeof(list));
	assert_string_equal(list, "");
}

/* Devices and FIFOs are written in place, never replaced by a file; a directory is refused. */
static void
test_out_in_place(void **state)
{
	const char *dir = *state;
	struct m3_out o;
	struct m3_err e;
	struct stat st;
	char path[512], list[1024], got[8];
	int rfd;

	assert_int_equal(m3_out_open(&o, "/dev/null", 1, &e), M3_OK);
	assert_true(fputs("gone", o.fp) >= 0);
	assert_int_equal(m3_out_commit(&o, &e), M3_OK);
	assert_int_equal(stat("/dev/null", &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	/* a full disk shows at commit */
	if (stat("/dev/full", &st) == 0) {
		assert_int_equal(m3_out_open(&o, "/dev/full", 1, &e), M3_OK);
		assert_true(fputs("no room", o.fp) >= 0);
		m3_err_init(&e);
		assert_int_equal(m3_out_commit(&o, &e), M3_EIO);
		assert_true(stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode));
	}
	/* a named pipe: the reader gets the bytes, the pipe stays */
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_true((rfd = open(path, O_RDONLY | O_NONBLOCK)) >= 0);
	assert_int_equal(m3_out_open(&o, path, 1, &e), M3_OK);
	assert_true(fputs("hi", o.fp) >= 0);
	assert_int_equal(m3_out_commit(&o, &e), M3_OK);
	assert_int_equal(read(rfd, got, sizeof(got)), 2);
	assert_memory_equal(got, "hi", 2);
	close(rfd);
	assert_true(stat(path, &st) == 0 && S_ISFIFO(st.st_mode));
	dir_list(dir, list, sizeof(list));
	assert_string_equal(list, "fifo");
	/* a directory */
	m3_err_init(&e);
	assert_int_equal(m3_out_open(&o, dir, 1, &e), M3_EUSAGE);
	assert_null(o.fp);
	dir_list(dir, list, sizeof(list));
	assert_string_equal(list, "fifo");
}

/* A SIGTERM while an output is open removes its temporary file. */
static void
test_out_signal(void **state)
{
	const char *dir = *state;
	char path[512], list[1024];
	int status;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/killed.bin", dir);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		struct m3_out o;
		struct m3_err e;
		if (m3_out_open(&o, path, 1, &e) != M3_OK)
			_exit(1);
		fputs("partial", o.fp);
		fflush(o.fp);
		kill(getpid(), SIGTERM);
		_exit(2);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM);
	dir_list(dir, list, sizeof(list));
	assert_string_equal(list, "");
}

/* Standard output: "-" and NULL; binary data to a terminal is refused. */
static void
test_out_stdout(void **state)
{
	struct m3_out o;
	struct m3_err e;
	int master, tty, saved;

	(void)state;
	assert_int_equal(m3_out_open(&o, "-", 0, &e), M3_OK);
	assert_ptr_equal(o.fp, stdout);
	m3_out_abort(&o); /* never closes stdout */
	assert_int_not_equal(fcntl(STDOUT_FILENO, F_GETFD), -1);
	assert_int_equal(m3_out_open(&o, NULL, 0, &e), M3_OK);
	assert_ptr_equal(o.fp, stdout);
	m3_out_abort(&o);

	if ((tty = open_tty(&master)) < 0)
		skip();
	fflush(stdout);
	assert_true((saved = dup(STDOUT_FILENO)) >= 0);
	assert_int_equal(dup2(tty, STDOUT_FILENO), STDOUT_FILENO);
	m3_err_init(&e);
	int bin = m3_out_open(&o, "-", 1, &e);
	int text = m3_out_open(&o, "-", 0, &e);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(tty);
	close(master);
	assert_int_equal(bin, M3_EUSAGE);
	assert_int_equal(text, M3_OK);
	m3_out_abort(&o);
}

static void
test_open_in(void **state)
{
	const char *dir = *state;
	struct m3_err e;
	char path[512], buf[16];
	FILE *fp;

	/* missing */
	snprintf(path, sizeof(path), "%s/missing.dcm", dir);
	m3_err_init(&e);
	assert_null(m3_open_in(path, &e));
	assert_int_equal(e.code, M3_EDATA);
	assert_non_null(strstr(e.msg, path));
	/* a directory */
	m3_err_init(&e);
	assert_null(m3_open_in(dir, &e));
	assert_int_equal(e.code, M3_EDATA);
	assert_non_null(strstr(e.msg, dir));
	/* below a file that is not a directory */
	snprintf(path, sizeof(path), "%s/file", dir);
	assert_non_null(fp = fopen(path, "w"));
	fputs("data", fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/file/x", dir);
	m3_err_init(&e);
	assert_null(m3_open_in(path, &e));
	assert_int_equal(e.code, M3_EDATA);
	/* a file */
	snprintf(path, sizeof(path), "%s/file", dir);
	assert_non_null(fp = m3_open_in(path, &e));
	assert_int_equal(fread(buf, 1, sizeof(buf), fp), 4);
	assert_memory_equal(buf, "data", 4);
	m3_close_in(fp);
	/* not readable: access denied (root reads it anyway) */
	if (geteuid() != 0) {
		assert_int_equal(chmod(path, 0), 0);
		m3_err_init(&e);
		assert_null(m3_open_in(path, &e));
		assert_int_equal(e.code, M3_EACCESS);
	}
	unlink(path);
	/* stdin, never closed */
	assert_ptr_equal(m3_open_in("-", &e), stdin);
	assert_ptr_equal(m3_open_in(NULL, &e), stdin);
	m3_close_in(stdin);
	assert_int_not_equal(fcntl(STDIN_FILENO, F_GETFD), -1);
	m3_close_in(NULL);
}

static void
test_progress(void **state)
{
	struct m3_progress p;
	struct capture c;
	char err[1024];
	int master, tty, saved;

	(void)state;
	m3_cli_init("/some/where/m3-unit");
	assert_string_equal(m3_progname(), "m3-unit");
	/* stderr a file: off unless forced, off when quiet */
	capture_start(&c);
	m3_progress_init(&p, 0, 0);
	int off = p.on;
	m3_progress(&p, "hidden %d", 1);
	m3_progress_done(&p);
	m3_progress_init(&p, 1, 0);
	int forced = p.on;
	m3_progress(&p, "shown %d", 2);
	m3_progress_done(&p);
	m3_progress_init(&p, 1, 1);
	int quiet = p.on;
	m3_progress(&p, "hidden %d", 3);
	capture_end(&c, err, sizeof(err));
	assert_false(off);
	assert_true(forced);
	assert_false(quiet);
	assert_string_equal(err, "m3-unit: shown 2\n");

	/* stderr a terminal: on by itself, still off when quiet */
	if ((tty = open_tty(&master)) < 0)
		skip();
	fflush(stderr);
	assert_true((saved = dup(STDERR_FILENO)) >= 0);
	assert_int_equal(dup2(tty, STDERR_FILENO), STDERR_FILENO);
	m3_progress_init(&p, 0, 0);
	int on = p.on;
	m3_progress_init(&p, 0, 1);
	quiet = p.on;
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(tty);
	close(master);
	assert_true(on);
	assert_false(quiet);
}

static void
test_warn_report(void **state)
{
	struct capture c;
	struct m3_err e;
	char err[1024];
	int code;

	(void)state;
	m3_cli_init("m3-unit");
	capture_start(&c);
	m3_cli_quiet(0);
	errno = ENOENT;
	m3_warn("reading %s:", "x.dcm");
	m3_warn("plain %d", 1);
	m3_cli_quiet(1);
	m3_warn("silenced");
	m3_err_set(&e, M3_ELIMIT, "a.nrrd: too big");
	code = m3_report(&e); /* -q does not silence errors */
	m3_cli_quiet(0);
	capture_end(&c, err, sizeof(err));
	assert_int_equal(code, 3);
	assert_string_equal(err, "m3-unit: reading x.dcm: No such file or directory\n"
				 "m3-unit: plain 1\n"
				 "m3-unit: a.nrrd: too big\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_long),
		cmocka_unit_test(test_parse_double),
		cmocka_unit_test(test_parse_jobs),
		cmocka_unit_test(test_parse_device),
		cmocka_unit_test_setup_teardown(test_out_commit, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_out_relative, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_out_replaces, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_out_abort, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_out_bad_path, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_out_in_place, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_out_signal, dir_setup, dir_teardown),
		cmocka_unit_test(test_out_stdout),
		cmocka_unit_test_setup_teardown(test_open_in, dir_setup, dir_teardown),
		cmocka_unit_test(test_progress),
		cmocka_unit_test(test_warn_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
