/* m3-batch: run studies on this machine, N at a time: one forked runner process per study. */
#define _GNU_SOURCE /* prctl */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "batch.h"
#include "local.h"
#include "m3/cli.h"

#define MAXJOBS 1024

/* Runner pids, for the signal handler to pass a SIGINT or SIGTERM on. */
static volatile sig_atomic_t pids[MAXJOBS];
static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
	stopping = sig;
	for (int i = 0; i < MAXJOBS; i++)
		if (pids[i] > 0)
			kill((pid_t)pids[i], SIGTERM);
}

struct slot {
	size_t study, k; /* index in the manifest, in todo */
	int fd; /* read end of the pipe the runner writes its error line to */
	double t0;
};

/* The runner: a child that dies with the batch (its own SIGTERM handler cleans up). */
static pid_t
start(const struct batch *b, const struct study *s, int *fd, volatile sig_atomic_t *slot)
{
	pid_t parent = getpid(), pid;
	sigset_t stop, old;
	char err[1024];
	int p[2], rc;

	if (pipe(p) != 0)
		return -1;
	/* a signal between fork and the pid's record would miss the new runner */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop, &old);
	if ((pid = fork()) != 0) {
		close(p[1]);
		if (pid < 0)
			close(p[0]);
		*fd = p[0];
		*slot = pid;
		sigprocmask(SIG_SETMASK, &old, NULL);
		return pid;
	}
	/* the runner: the batch's handler (which signals every runner) is not for it */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[0]);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(128 + SIGTERM);
	rc = study_run(b, s, err, sizeof(err));
	if (write(p[1], err, strlen(err)) < 0) {
		/* the parent is gone: nothing to tell */
	}
	_exit(rc);
}

static void
report(const struct local_opts *o, const struct study *s, int rc, const char *err, double secs)
{
	if (rc == RUN_DONE && o->verbose)
		m3_warn("%s: done in %.1f s", s->id, secs);
	else if (rc == RUN_QUARANTINED)
		m3_warn("%s: quarantined: %s", s->id, err);
	else if (rc == RUN_BUSY)
		m3_warn("%s: skipped: another m3-batch holds its lock", s->id);
	else if (rc == RUN_EXHAUSTED)
		m3_warn("%s: failed after %ld retries: %s", s->id, o->retries, err);
	else if (rc != RUN_DONE && !stopping)
		m3_warn("%s: failed: %s", s->id, err);
}

int
local_run(const struct batch *b, const struct manifest *m, const size_t *todo, size_t ntodo,
	  const struct local_opts *o, int *rcs)
{
	struct slot slots[MAXJOBS];
	struct m3_progress pg;
	size_t next = 0, ndone = 0, nq = 0, nf = 0;
	unsigned running = 0, jobs = o->jobs > MAXJOBS ? MAXJOBS : o->jobs;

	for (size_t i = 0; i < ntodo; i++)
		rcs[i] = -1;
	m3_progress_init(&pg, o->progress, o->quiet);
	m3_catch_stop(on_stop);
	while ((next < ntodo && !stopping) || running > 0) {
		while (next < ntodo && running < jobs && !stopping) {
			int i = 0, fd;
			pid_t pid;
			while (pids[i] != 0)
				i++;
			if ((pid = start(b, &m->v[todo[next]], &fd, &pids[i])) < 0) {
				m3_warn("fork:");
				stopping = -1;
				break;
			}
			slots[i] = (struct slot){todo[next], next, fd, now_s()};
			running++;
			next++;
		}
		m3_progress(&pg, "%zu/%zu done, %zu quarantined, %zu failed, %u running", ndone,
			    ntodo, nq, nf, running);
		int st;
		pid_t pid = waitpid(-1, &st, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < MAXJOBS; i++) {
			if (pids[i] != pid)
				continue;
			char err[1024] = "";
			ssize_t r = read(slots[i].fd, err, sizeof(err) - 1);
			int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			err[r > 0 ? r : 0] = '\0';
			close(slots[i].fd);
			pids[i] = 0;
			rcs[slots[i].k] = rc;
			running--;
			ndone += rc == RUN_DONE;
			nq += rc == RUN_QUARANTINED;
			nf += rc != RUN_DONE && rc != RUN_QUARANTINED;
			m3_progress_done(&pg);
			report(o, &m->v[slots[i].study], rc, err, now_s() - slots[i].t0);
			break;
		}
	}
	m3_progress(&pg, "%zu/%zu done, %zu quarantined, %zu failed", ndone, ntodo, nq, nf);
	m3_progress_done(&pg);
	return stopping > 0 ? 128 + stopping : stopping < 0 ? 1 : 0;
}
