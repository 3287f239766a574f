/* m3-batch: run one study: lock, attempts with backoff, log, stamp, rename into place. */
#define _GNU_SOURCE /* renameat2, prctl */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "m3/cli.h"
#include "m3/json.h"

#define ERRLINE_MAX 1000
#define BACKOFF_CAP 300.0

/*
 * The pipeline runs as `bash -c WRAPPER m3-batch PIPELINE PSFILE`: like `set -e -o pipefail`,
 * except that a failed pipeline's status is its FIRST failing tool's (bash gives the last),
 * and a death by SIGPIPE (141), which only means a later tool stopped reading, is no failure.
 * The failing pipeline's statuses go to PSFILE, to find the failing tool's error line.
 */
static const char wrapper[] = "__m3_fail() {\n"
			      "	local s\n"
			      "	for s in \"$@\"; do\n"
			      "		if [ \"$s\" -ne 0 ] && [ \"$s\" -ne 141 ]; then\n"
			      "			echo \"$*\" >\"$__m3_ps\"\n"
			      "			exit \"$s\"\n"
			      "		fi\n"
			      "	done\n"
			      "}\n"
			      "__m3_cmd=$1 __m3_ps=$2\n"
			      "set --\n"
			      "trap '__m3_fail \"${PIPESTATUS[@]}\"' ERR\n"
			      "set -E -o pipefail\n"
			      "eval \"$__m3_cmd\"\n"
			      "exit 0\n";

static volatile sig_atomic_t cancelled;
static volatile sig_atomic_t child_pgid;

static void
on_cancel(int sig)
{
	cancelled = sig;
	if (child_pgid > 0)
		kill(-(pid_t)child_pgid, SIGKILL);
}

/* strlcpy: copies what fits, always terminated. */
static void
copy_str(char *dst, size_t sz, const char *src)
{
	size_t n = strlen(src);

	if (n >= sz)
		n = sz - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Appends s to the buffer, shell-quoted unless made only of characters safe in a word. */
static void
put_quoted(FILE *f, const char *s)
{
	if (*s != '\0' && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				    "0123456789_./:+@%=,-") == strlen(s)) {
		fputs(s, f);
		return;
	}
	fputc('\'', f);
	for (; *s != '\0'; s++)
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	fputc('\'', f);
}

/* The pipeline with {in}, {out} and {id} replaced; NULL when out of memory. */
static char *
substitute(const char *tpl, const char *in, const char *out, const char *id)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	for (const char *p = tpl; *p != '\0'; p++) {
		if (strncmp(p, "{in}", 4) == 0) {
			put_quoted(f, in);
			p += 3;
		} else if (strncmp(p, "{out}", 5) == 0) {
			put_quoted(f, out);
			p += 4;
		} else if (strncmp(p, "{id}", 4) == 0) {
			put_quoted(f, id);
			p += 3;
		} else {
			fputc(*p, f);
		}
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * The program name of stage k of a plain pipeline ("a ... | b ... | c ..."), so that its own
 * error line can be picked out of stderr; "" when the text is more than a plain pipeline.
 */
static void
stage_name(const char *tpl, int k, int nstages, char *name, size_t sz)
{
	const char *p = tpl, *w, *b;
	int n = 1;

	name[0] = '\0';
	if (strpbrk(tpl, ";&\n`()") != NULL)
		return;
	for (const char *q = tpl; *q != '\0'; q++)
		n += *q == '|';
	if (n != nstages)
		return;
	for (int i = 0; i < k; i++)
		p = strchr(p, '|') + 1;
	for (;;) { /* skip blanks and VAR=value words */
		p += strspn(p, " \t");
		w = p + strcspn(p, " \t|");
		if (memchr(p, '=', (size_t)(w - p)) == NULL || *p == '=')
			break;
		p = w;
	}
	for (b = w; b > p && b[-1] != '/'; b--)
		;
	if (w > b && (size_t)(w - b) + 1 < sz && strchr("<>", *b) == NULL) {
		memcpy(name, b, (size_t)(w - b));
		name[w - b] = '\0';
	}
}

/* Line-wise scan of the stderr text that went to the log. */
struct lines {
	char cur[ERRLINE_MAX];
	size_t ncur;
	char last[ERRLINE_MAX];
};

static void
lines_end(struct lines *l)
{
	if (l->ncur == 0)
		return;
	l->cur[l->ncur] = '\0';
	memcpy(l->last, l->cur, l->ncur + 1);
	l->ncur = 0;
}

static void
lines_feed(struct lines *l, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n' || buf[i] == '\r')
			lines_end(l);
		else if (l->ncur < sizeof(l->cur) - 1)
			l->cur[l->ncur++] = buf[i];
	}
}

/* Reads the pipeline's stderr until EOF, copying it to the log. */
static void
pump(int rfd, int logfd, struct lines *l)
{
	char buf[8192];

	for (;;) {
		ssize_t r = read(rfd, buf, sizeof(buf));
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (write(logfd, buf, (size_t)r) < 0) {
			/* a full disk loses log text, not the study */
		}
		lines_feed(l, buf, (size_t)r);
	}
	lines_end(l);
}

/* The last line in the log text since offset off that starts with "prog: ". */
static void
find_tool_line(int logfd, off_t off, const char *prog, char *out, size_t sz)
{
	char buf[65536], pre[300];
	ssize_t r;
	off_t end = lseek(logfd, 0, SEEK_END);

	out[0] = '\0';
	if (prog[0] == '\0' || end < 0)
		return;
	if (end - off > (off_t)sizeof(buf) - 1)
		off = end - (off_t)sizeof(buf) + 1;
	if ((r = pread(logfd, buf, sizeof(buf) - 1, off)) <= 0)
		return;
	buf[r] = '\0';
	snprintf(pre, sizeof(pre), "%s: ", prog);
	for (char *line = buf, *next; *line != '\0'; line = next) {
		next = line + strcspn(line, "\n");
		if (*next != '\0')
			*next++ = '\0';
		if (strncmp(line, pre, strlen(pre)) == 0)
			copy_str(out, sz, line);
	}
}

struct attempt {
	int status; /* exit status, 128+N for a death by signal N */
	char error[ERRLINE_MAX];
};

static void
child(const char *cmd, const char *psfile, int logfd, int errfd, const struct study *s,
      const char *out, int attempt)
{
	char a[16];
	int null = open("/dev/null", O_RDONLY);

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (null < 0 || dup2(null, 0) < 0 || dup2(logfd, 1) < 0 || dup2(errfd, 2) < 0)
		_exit(126);
	snprintf(a, sizeof(a), "%d", attempt);
	setenv("M3_BATCH_ID", s->id, 1);
	setenv("M3_BATCH_INPUT", s->input, 1);
	setenv("M3_BATCH_OUT", out, 1);
	setenv("M3_BATCH_ATTEMPT", a, 1);
	signal(SIGPIPE, SIG_DFL);
	execlp("bash", "bash", "-c", wrapper, "m3-batch", cmd, psfile, (char *)NULL);
	fprintf(stderr, "m3-batch: bash: %s\n", strerror(errno));
	_exit(127);
}

/* Runs the pipeline once into the folder out; fills a->status and a->error. */
static int
attempt_run(const struct batch *b, const struct study *s, const char *out, const char *psfile,
	    int logfd, int n, struct attempt *a, struct m3_err *e)
{
	char *cmd = substitute(b->pipeline, s->input, out, s->id), *ps;
	struct lines *l = calloc(1, sizeof(*l));
	off_t off = lseek(logfd, 0, SEEK_END);
	int p[2], st = 0, k = 0, nst = 0;
	pid_t pid;

	if (cmd == NULL || l == NULL || pipe(p) != 0) {
		free(cmd);
		free(l);
		return m3_err_set(e, M3_EFAIL, "%s: cannot start: %s", s->id, strerror(errno));
	}
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	unlink(psfile);
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		free(cmd);
		free(l);
		return m3_err_set(e, M3_EFAIL, "%s: fork: %s", s->id, strerror(errno));
	}
	if (pid == 0)
		child(cmd, psfile, logfd, p[1], s, out, n);
	setpgid(pid, pid);
	child_pgid = pid;
	if (cancelled)
		kill(-pid, SIGKILL);
	close(p[1]);
	pump(p[0], logfd, l);
	close(p[0]);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	kill(-pid, SIGKILL); /* nothing of this attempt may live on and write into out */
	child_pgid = 0;
	a->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	a->error[0] = '\0';
	if (a->status != 0 && (ps = read_all(psfile, NULL, e)) != NULL) {
		/* "s0 s1 ...": the index of the first failure names the tool to look for */
		char name[256], *q = ps, *end;
		for (long v; (v = strtol(q, &end, 10)), end != q; q = end, nst++)
			if (k == nst && (v == 0 || v == 141))
				k++;
		stage_name(b->pipeline, k, nst, name, sizeof(name));
		find_tool_line(logfd, off, name, a->error, sizeof(a->error));
		free(ps);
	}
	unlink(psfile);
	if (a->error[0] == '\0')
		copy_str(a->error, sizeof(a->error), l->last);
	if (a->error[0] == '\0')
		snprintf(a->error, sizeof(a->error),
			 a->status > 128 ? "killed by signal %d" : "exit %d with no message",
			 a->status > 128 ? a->status - 128 : a->status);
	free(cmd);
	free(l);
	return M3_OK;
}

int
study_cancelled(void)
{
	return cancelled != 0;
}

int
tool_run(char *const argv[], int logfd, char *errline, size_t errsz)
{
	struct lines *l = calloc(1, sizeof(*l));
	int p[2], st = 0;
	pid_t pid;

	errline[0] = '\0';
	if (l == NULL || pipe(p) != 0) {
		snprintf(errline, errsz, "m3-batch: %s: cannot start: %s", argv[0],
			 strerror(errno));
		free(l);
		return -1;
	}
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	if ((pid = fork()) == -1) {
		snprintf(errline, errsz, "m3-batch: fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		free(l);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (null < 0 || dup2(null, 0) < 0 || dup2(logfd, 1) < 0 || dup2(p[1], 2) < 0)
			_exit(126);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		fprintf(stderr, "m3-batch: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	child_pgid = pid;
	if (cancelled)
		kill(-pid, SIGKILL);
	close(p[1]);
	pump(p[0], logfd, l);
	close(p[0]);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	kill(-pid, SIGKILL);
	child_pgid = 0;
	st = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	copy_str(errline, errsz, l->last);
	if (errline[0] == '\0' && st != 0)
		snprintf(errline, errsz,
			 st > 128 ? "%s: killed by signal %d" : "%s: exit %d with no message",
			 argv[0], st > 128 ? st - 128 : st);
	free(l);
	return st;
}

/* Sleeps for the jittered backoff before attempt n+1; returns early when cancelled. */
static void
backoff_sleep(double base, int n, uint64_t *rnd)
{
	double d = base, until;

	for (int i = 1; i < n && d < BACKOFF_CAP; i++)
		d *= 2;
	*rnd ^= *rnd << 13;
	*rnd ^= *rnd >> 7;
	*rnd ^= *rnd << 17;
	d *= 0.5 + (double)(*rnd % 1000) / 1000.0;
	if (d > BACKOFF_CAP)
		d = BACKOFF_CAP;
	until = now_s() + d;
	while (!cancelled && now_s() < until) {
		double left = until - now_s();
		struct timespec ts = {0, 0};
		left = left > 0.1 ? 0.1 : left;
		ts.tv_nsec = left > 0 ? (long)(left * 1e9) : 0;
		nanosleep(&ts, NULL);
	}
}

static char *
stamp_json(const struct batch *b, const struct study *s, int attempts, double secs)
{
	char *buf = NULL, t[32];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	time_iso(t);
	fputs("{\"id\":", f);
	m3_json_str(f, s->id);
	fputs(",\"input\":", f);
	m3_json_str(f, s->input);
	fputs(",\"pipeline\":", f);
	m3_json_str(f, b->pipeline);
	fprintf(f, ",\"attempts\":%d,\"seconds\":%.3f,\"finished\":\"%s\",\"host\":", attempts,
		secs, t);
	m3_json_str(f, hostname_str());
	if (b->job != NULL) {
		fputs(",\"job\":", f);
		m3_json_str(f, b->job);
	}
	if (b->s3 != NULL) { /* where the results are */
		char *url = s3_url(b, s->id, "");
		fputs(",\"results\":", f);
		m3_json_str(f, url != NULL ? url : b->s3);
		free(url);
	}
	fputs("}\n", f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Puts the finished folder tmp in place as results/<id>, atomically. */
static int
publish(const struct batch *b, const struct study *s, const char *tmp, const char *logpath,
	const char *stamp, struct m3_err *e)
{
	char *sp = path_join(tmp, ".m3-batch-done", NULL),
	     *lp = path_join(tmp, "m3-batch.log", NULL);
	char *dest = path_join(b->results, s->id, NULL);
	int rc = M3_OK;

	if (stamp == NULL || sp == NULL || lp == NULL || dest == NULL) {
		rc = m3_err_set(e, M3_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = write_atomic(sp, stamp, strlen(stamp), e)) != M3_OK)
		goto out;
	if (rename(logpath, lp) != 0 || fsync_dir(tmp) != 0) {
		rc = m3_err_set(e, M3_EIO, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, dest) == 0) {
		fsync_dir(b->results);
		goto out;
	}
	if ((errno == EEXIST || errno == ENOTEMPTY) && b->force &&
	    renameat2(AT_FDCWD, tmp, AT_FDCWD, dest, RENAME_EXCHANGE) == 0) {
		fsync_dir(b->results);
		rm_rf(tmp); /* the old results, swapped out */
		goto out;
	}
	if (errno == EEXIST || errno == ENOTEMPTY)
		rc = m3_err_set(e, M3_EFAIL, "%s: exists and is not a finished study (remove it)",
				dest);
	else
		rc = m3_err_set(e, M3_EIO, "%s: %s", dest, strerror(errno));
	rename(lp, logpath); /* keep the log where a failed study's log is */
out:
	free(sp);
	free(lp);
	free(dest);
	return rc;
}

/* Takes the study's lock (held until exit or close); -1 when another process holds it. */
static int
lock_study(const char *results, const char *id, struct m3_err *e)
{
	char *p = path_join(results, ".m3-batch/lock", id);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int fd;

	if (p == NULL) {
		m3_err_set(e, M3_ENOMEM, "out of memory");
		return -2;
	}
	fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd == -1) {
		m3_err_set(e, M3_EIO, "%s: %s", p, strerror(errno));
		free(p);
		return -2;
	}
	free(p);
	if (fcntl(fd, F_SETLK, &fl) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

struct paths {
	char *tmp, *log, *ps;
	char *keep; /* with -o s3://: the local folder that becomes results/<id> (log, stamp) */
	char *stamp; /* with -o s3://: the stamp file pushed last */
};

/* results/.m3-batch/log/<id><ext> */
static char *
path_ext(const char *results, const char *id, const char *ext)
{
	size_t n = strlen(results) + strlen(id) + strlen(ext) + 32;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s/.m3-batch/log/%s%s", results, id, ext);
	return p;
}

static void
paths_free(struct paths *p)
{
	free(p->tmp);
	free(p->log);
	free(p->ps);
	free(p->keep);
	free(p->stamp);
}

static int
emit(const struct batch *b, const struct study *s, enum state st, int n, int ex, double secs,
     const char *error)
{
	struct event ev = {s->id, s->input, st, n, ex, secs, error, b->job};
	struct m3_err e;

	m3_err_init(&e);
	return state_append(b->results, &ev, &e);
}

/*
 * Puts the finished folder p->tmp into S3, the stamp last; m3-push's exit 4 (a remote
 * failure) is tried again, after the same backoff and within the same number of retries as
 * the pipeline's.  The status: 0 when every object is there, else m3-push's.
 */
static int
upload(const struct batch *b, const struct study *s, const struct paths *p, int logfd, int *n,
       uint64_t *rnd, char *errline, size_t errsz)
{
	for (;;) {
		double ta = now_s();
		int st;
		dprintf(logfd, "# m3-batch: %s: upload to %s%s/ (attempt %d of %ld)\n", s->id,
			b->s3, s->id, *n, b->retries + 1);
		st = s3_upload(b, s, p->tmp, p->stamp, logfd, errline, errsz);
		if (st == 0 || cancelled || st != 4 || *n > b->retries)
			return st < 0 ? 1 : st;
		emit(b, s, ST_RETRYING, *n, 4, now_s() - ta, errline);
		backoff_sleep(b->backoff, *n, rnd);
		if (cancelled)
			return st;
		++*n;
		emit(b, s, ST_RUNNING, *n, -1, -1, NULL);
	}
}

/* Makes the study's {out}; a missing parent (a --work folder that another study of the batch
 * removed when it ended) is made again, private to the user. */
static int
mkdir_out(char *path)
{
	char *slash = strrchr(path, '/');

	for (int i = 0; i < 10; i++) {
		if (mkdir(path, 0777) == 0)
			return 0;
		if (errno != ENOENT || slash == NULL || slash == path)
			return -1;
		*slash = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			*slash = '/';
			return -1;
		}
		*slash = '/';
	}
	return -1;
}

/* The attempts of one study, with the lock held. */
static int
attempts(const struct batch *b, const struct study *s, const struct paths *p, char *errline,
	 size_t errsz)
{
	uint64_t rnd = ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL) ^ 0x9e3779b97f4a7c15u;
	double t0 = now_s();
	struct attempt a = {0};
	struct m3_err e;
	char *stamp = NULL;
	int logfd, n;

	m3_err_init(&e);
	logfd = open(p->log, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (logfd == -1) {
		snprintf(errline, errsz, "m3-batch: %s: %s", p->log, strerror(errno));
		emit(b, s, ST_FAILED, 1, 1, 0, errline);
		return RUN_FAILED;
	}
	for (n = 1;; n++) {
		double ta = now_s();
		rm_rf(p->tmp);
		if (mkdir_out(p->tmp) != 0) {
			snprintf(errline, errsz, "m3-batch: %s: %s", p->tmp, strerror(errno));
			a.status = 1;
			break;
		}
		dprintf(logfd, "# m3-batch: %s: attempt %d of %ld on %s\n", s->id, n,
			b->retries + 1, hostname_str());
		emit(b, s, ST_RUNNING, n, -1, -1, NULL);
		if (attempt_run(b, s, p->tmp, p->ps, logfd, n, &a, &e) != M3_OK) {
			snprintf(errline, errsz, "m3-batch: %s", e.msg);
			a.status = 1;
			break;
		}
		copy_str(errline, errsz, a.error);
		if (cancelled || a.status != 4 || n > b->retries)
			break;
		emit(b, s, ST_RETRYING, n, 4, now_s() - ta, a.error);
		backoff_sleep(b->backoff, n, &rnd);
		if (cancelled)
			break;
	}
	if (!cancelled && a.status == 0 && b->s3 != NULL) {
		stamp = stamp_json(b, s, n, now_s() - t0);
		if (stamp == NULL || write_atomic(p->stamp, stamp, strlen(stamp), &e) != M3_OK) {
			snprintf(errline, errsz, "m3-batch: %s",
				 stamp == NULL ? "out of memory" : e.msg);
			a.status = 1;
		} else {
			a.status = upload(b, s, p, logfd, &n, &rnd, errline, errsz);
		}
		unlink(p->stamp);
	}
	close(logfd);
	if (cancelled) {
		rm_rf(p->tmp);
		free(stamp);
		snprintf(errline, errsz, "cancelled by signal %d", (int)cancelled);
		emit(b, s, ST_CANCELLED, n, 128 + cancelled, now_s() - t0, errline);
		return 128 + cancelled;
	}
	if (a.status == 0) {
		errline[0] = '\0';
		if (stamp == NULL)
			stamp = stamp_json(b, s, n, now_s() - t0);
		if (b->s3 != NULL) { /* the results are in S3: the log and stamp stay here */
			rm_rf(p->tmp);
			rm_rf(p->keep);
			if (mkdir(p->keep, 0777) != 0) {
				snprintf(errline, errsz, "m3-batch: %s: %s", p->keep,
					 strerror(errno));
				a.status = 1;
			}
		}
		if (a.status == 0 && stamp == NULL) {
			snprintf(errline, errsz, "m3-batch: out of memory");
			a.status = 1;
		} else if (a.status == 0 && publish(b, s, b->s3 != NULL ? p->keep : p->tmp, p->log,
						    stamp, &e) == M3_OK) {
			free(stamp);
			emit(b, s, ST_DONE, n, 0, now_s() - t0, NULL);
			return RUN_DONE;
		} else if (a.status == 0) {
			snprintf(errline, errsz, "m3-batch: %s", e.msg);
			a.status = 1;
		}
	}
	free(stamp);
	rm_rf(p->tmp);
	if (p->keep != NULL)
		rm_rf(p->keep);
	emit(b, s, a.status == 3 ? ST_QUARANTINED : ST_FAILED, n, a.status, now_s() - t0, errline);
	return a.status == 3 ? RUN_QUARANTINED : a.status == 4 ? RUN_EXHAUSTED : RUN_FAILED;
}

int
study_run(const struct batch *b, const struct study *s, char *errline, size_t errsz)
{
	struct paths p = {0};
	struct m3_err e;
	int lock, rc;

	m3_err_init(&e);
	errline[0] = '\0';
	m3_catch_stop(on_cancel);
	if ((lock = lock_study(b->results, s->id, &e)) < 0) {
		if (lock == -2)
			snprintf(errline, errsz, "m3-batch: %s", e.msg);
		return lock == -1 ? RUN_BUSY : RUN_FAILED;
	}
	if (!b->force && study_done(b->results, s->id)) {
		close(lock);
		return RUN_DONE;
	}
	if (b->s3 != NULL) { /* {out} on a local disk; results/.m3-batch/tmp/<id> becomes <id> */
		p.tmp = s3_work_dir(b, s->id);
		p.keep = path_join(b->results, ".m3-batch/tmp", s->id);
		p.stamp = path_ext(b->results, s->id, ".stamp");
	} else {
		p.tmp = path_join(b->results, ".m3-batch/tmp", s->id);
	}
	p.log = path_ext(b->results, s->id, ".log");
	p.ps = path_ext(b->results, s->id, ".ps");
	if (p.tmp == NULL || p.log == NULL || p.ps == NULL ||
	    (b->s3 != NULL && (p.keep == NULL || p.stamp == NULL))) {
		paths_free(&p);
		close(lock);
		snprintf(errline, errsz, "m3-batch: out of memory");
		return RUN_FAILED;
	}
	rc = attempts(b, s, &p, errline, errsz);
	if (b->s3 != NULL) { /* the batch's folder in --work goes with its last study */
		char *slash = strrchr(p.tmp, '/');
		*slash = '\0';
		rmdir(p.tmp);
	}
	paths_free(&p);
	close(lock);
	return rc;
}
