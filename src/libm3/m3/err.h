/* m3 error codes and the error buffer that library calls fill for main to print. */
#ifndef M3_ERR_H
#define M3_ERR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Codes 0-5 are the exit codes of man/m3.7 and are never renumbered.
 * Codes from 16 up are finer distinctions for callers; m3_exit_code() folds them
 * onto 0-5.  New codes are only ever appended.
 */
enum m3_code {
	M3_OK = 0,
	M3_EFAIL = 1, /* internal error, out of memory, disk full */
	M3_EUSAGE = 2, /* bad option or argument */
	M3_EDATA = 3, /* bad input data */
	M3_EREMOTE = 4, /* remote failure that may pass */
	M3_EACCESS = 5, /* access denied or missing credentials */
	M3_EOF = 16, /* clean end of a stream: no further volume (not an error) */
	M3_ENOINPUT = 17, /* input was empty: nothing at all to read (exit 3) */
	M3_ENOMEM = 18, /* allocation failed (exit 1) */
	M3_EIO = 19, /* read or write error of the system (exit 1) */
	M3_ELIMIT = 20, /* input larger than M3_MAX_BYTES (exit 3) */
};

#define M3_ERR_MAX 512

/* The error buffer: a code and one line of text, "object: reason". */
struct m3_err {
	int code;
	char msg[M3_ERR_MAX];
};

void m3_err_init(struct m3_err *e);
/* Sets code and message; returns code so that callers can `return m3_err_set(...)`. */
int m3_err_set(struct m3_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Puts "prefix: " in front of the message already there (adds context on the way up). */
int m3_err_prefix(struct m3_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Maps any m3_code onto the exit codes 0-5. */
int m3_exit_code(int code);
/* A short name for a code ("bad input data"), for -v output and docs. */
const char *m3_code_str(int code);

#ifdef __cplusplus
}
#endif

#endif
