/* Crash containment: the decoding runs in a child process that m3-decode watches.
 *
 * GDCM has assertions and unchecked reads that fire on malformed files (assert() is live in
 * Debian's build), and a codec can fault on a hostile bit stream.  Validation before GDCM
 * (the shim checks the magic, the image pixel module and the length of native pixel data)
 * stops the common cases but cannot prove a compressed stream harmless, and catching C++
 * exceptions does nothing for abort() or SIGSEGV.  So the scan and the decode run in one
 * forked child, with the threads of -j inside it.  A thread marks the file it is reading;
 * a handler for the fatal signals writes that mark into a page shared with the parent and
 * lets the child die.  The parent then names the file and exits 3, or with -k starts a new
 * child that skips the file and the volumes already written.  One fork per run, not per
 * file, keeps the cost out of the hot path. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, sigaltstack */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "decode.h"

#define ALTSTACK (64 * 1024)

struct m3d_guard {
	volatile long culprit; /* source being read when the child died, or -1 */
	volatile unsigned long written; /* volumes out completely */
	size_t nsrc;
	char why[200]; /* GDCM's failed assertion, if that was it */
	volatile unsigned char skip[]; /* sources to leave out */
};

/* A signal handler can reach nothing else: the shared page and the per-thread mark. */
static struct m3d_guard *child_guard;
static _Thread_local long reading = -1;
static _Thread_local int has_altstack;

struct m3d_guard *
m3d_guard_new(size_t nsrc)
{
	size_t len = sizeof(struct m3d_guard) + nsrc;
	struct m3d_guard *g =
		mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (g == MAP_FAILED)
		return NULL;
	g->culprit = -1;
	g->written = 0;
	g->nsrc = nsrc;
	return g;
}

void
m3d_guard_free(struct m3d_guard *g)
{
	if (g != NULL)
		munmap(g, sizeof(*g) + g->nsrc);
}

int
m3d_guard_skipped(const struct m3d_guard *g, size_t src)
{
	return src < g->nsrc && g->skip[src];
}

void
m3d_guard_skip(struct m3d_guard *g, size_t src)
{
	if (src < g->nsrc)
		g->skip[src] = 1;
}

unsigned long
m3d_guard_written(const struct m3d_guard *g)
{
	return g->written;
}

void
m3d_guard_wrote(struct m3d_guard *g)
{
	g->written++;
}

static void
on_fatal(int sig)
{
	if (child_guard != NULL) {
		const char *a = m3_dcm_assertion();
		size_t n = 0;
		while (a[n] != '\0' && n + 1 < sizeof(child_guard->why)) {
			child_guard->why[n] = a[n];
			n++;
		}
		child_guard->why[n] = '\0';
		child_guard->culprit = reading;
	}
	raise(sig); /* SA_RESETHAND: the default action, once this handler returns */
}

void
m3d_guard_enter(long src)
{
	reading = src;
	if (src >= 0 && !has_altstack) {
		/* so that a stack overflow in a parser still reaches on_fatal */
		stack_t ss;
		memset(&ss, 0, sizeof(ss));
		if ((ss.ss_sp = malloc(ALTSTACK)) != NULL) {
			ss.ss_size = ALTSTACK;
			sigaltstack(&ss, NULL);
		}
		has_altstack = 1;
	}
}

static void
child_start(struct m3d_guard *g)
{
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGSYS};
	struct sigaction sa;

	child_guard = g;
	g->culprit = -1;
	g->why[0] = '\0';
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal;
	sa.sa_flags = SA_RESETHAND | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

int
m3d_guard_run(struct m3d_guard *g, int (*fn)(void *ctx, struct m3d_guard *g), void *ctx, int *code,
	      long *culprit, struct m3_err *e)
{
	int st, sig;
	pid_t pid;

	*culprit = -1;
	fflush(NULL);
	if ((pid = fork()) < 0)
		return m3_err_set(e, M3_EFAIL, "cannot start the decoder process: %s",
				  strerror(errno));
	if (pid == 0) {
		child_start(g);
		st = fn(ctx, g);
		fflush(NULL);
		_exit(st); /* no static destructors of GDCM in the child: the parent goes on */
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return m3_err_set(e, M3_EFAIL, "waitpid: %s", strerror(errno));
	if (WIFEXITED(st)) {
		*code = WEXITSTATUS(st);
		return M3_OK;
	}
	sig = WTERMSIG(st);
	if (sig == SIGPIPE || sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
		/* a closed pipe or the user: end as the child did */
		signal(sig, SIG_DFL);
		raise(sig);
	}
	if (sig == SIGKILL)
		return m3_err_set(e, M3_EFAIL, "the decoder process was killed (out of memory?)");
	*culprit = g->culprit;
	if (sig == SIGABRT && g->why[0] != '\0')
		return m3_err_set(e, M3_EDATA,
				  "the DICOM decoder crashed on it (GDCM assertion %s)", g->why);
	return m3_err_set(e, M3_EDATA, "the DICOM decoder crashed on it (%s)", strsignal(sig));
}
