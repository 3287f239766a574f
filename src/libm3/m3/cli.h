/* Command-line helpers for main(): messages, inputs, atomic outputs, progress, numbers. */
#ifndef M3_CLI_H
#define M3_CLI_H

#include <stdio.h>

#include "m3/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* First call in main: program name, fds 0-2 open, SIGPIPE back to its default. */
void m3_cli_init(const char *argv0);
/* handler for SIGINT, SIGTERM and SIGHUP (the signals that stop a tool from outside): no other
 * signal masked while it runs, no SA_RESTART, so a blocked read() returns EINTR. */
void m3_catch_stop(void (*handler)(int));
const char *m3_progname(void);
/* --version: "prog (m3) VERSION" on stdout. */
void m3_print_version(void);

/* "prog: message"; a message ending in ':' gets ": strerror(errno)" added. */
void m3_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the error buffer as one line and returns its exit code (0-5). */
int m3_report(const struct m3_err *e);
/* Silences m3_warn (not m3_report): -q. */
void m3_cli_quiet(int on);

/* "-" or NULL is stdin.  Error: M3_EDATA for a missing file, M3_EACCESS for permission. */
FILE *m3_open_in(const char *path, struct m3_err *e);
/* Closes an input opened by m3_open_in (never stdin). */
void m3_close_in(FILE *fp);

/*
 * An output file written to a temporary name beside it (mode 0600) and renamed on
 * commit, so a failure leaves nothing behind.  "-" or NULL is stdout, which is never
 * removed, and so is an existing device, FIFO or symbolic link (/dev/null, /dev/stdout),
 * written in place.  Binary output to a terminal is refused with M3_EUSAGE.  A SIGINT,
 * SIGTERM or SIGHUP removes the temporary files still open (up to 256 at once).  Safe to
 * use from pool workers.
 */
struct m3_out {
	FILE *fp;
	char *path;
	char *tmp;
};

int m3_out_open(struct m3_out *o, const char *path, int binary, struct m3_err *e);
/* Renames into place; for stdout, flushes and closes it (m3_stdout_close), so main does not
 * close stdout again. */
int m3_out_commit(struct m3_out *o, struct m3_err *e);
void m3_out_abort(struct m3_out *o);

/* Flushes and closes stdout, reporting a write error (a full disk) as M3_EIO. */
int m3_stdout_close(struct m3_err *e);
/* After --help or --version: stdout closed; 0, or 1 with one line on stderr when it could
 * not be written (a full disk; EPIPE where SIGPIPE is blocked, else SIGPIPE ends the tool as
 * usual), so that "--help >/dev/full" fails. */
int m3_stdout_done(void);

/* Progress lines on stderr, shown when stderr is a terminal or when forced (--progress).
 * m3_progress() may be called from pool workers. */
struct m3_progress {
	int on;
	int dirty;
};

void m3_progress_init(struct m3_progress *p, int force, int quiet);
void m3_progress(struct m3_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void m3_progress_done(struct m3_progress *p);

/* Numeric option arguments, range-checked; M3_EUSAGE naming the option on error. */
int m3_parse_long(const char *opt, const char *s, long min, long max, long *out, struct m3_err *e);
int m3_parse_double(const char *opt, const char *s, double min, double max, double *out,
		    struct m3_err *e);
/* -j N: 1-1024; 0 or NULL means all online cores. */
int m3_parse_jobs(const char *s, unsigned *out, struct m3_err *e);
unsigned m3_ncpu(void);

/* -d auto|cpu|cuda, or M3_DEVICE when s is NULL (a bad M3_DEVICE is ignored with a warning). */
enum m3_device { M3_DEV_AUTO, M3_DEV_CPU, M3_DEV_CUDA };
int m3_parse_device(const char *s, enum m3_device *out, struct m3_err *e);

#ifdef __cplusplus
}
#endif

#endif
