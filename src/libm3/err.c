/* Error buffer and the mapping of m3 codes onto exit codes. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "m3/err.h"

void
m3_err_init(struct m3_err *e)
{
	e->code = M3_OK;
	e->msg[0] = '\0';
}

int
m3_err_set(struct m3_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

int
m3_err_prefix(struct m3_err *e, const char *fmt, ...)
{
	char pre[M3_ERR_MAX], old[M3_ERR_MAX];
	va_list ap;

	if (e == NULL)
		return M3_EFAIL;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	snprintf(e->msg, sizeof(e->msg), "%.200s: %.300s", pre, old);
	return e->code;
}

int
m3_exit_code(int code)
{
	switch (code) {
	case M3_OK:
	case M3_EOF:
		return 0;
	case M3_EUSAGE:
		return 2;
	case M3_EDATA:
	case M3_ENOINPUT:
	case M3_ELIMIT:
		return 3;
	case M3_EREMOTE:
		return 4;
	case M3_EACCESS:
		return 5;
	default:
		return 1;
	}
}

const char *
m3_code_str(int code)
{
	switch (code) {
	case M3_OK:
		return "success";
	case M3_EUSAGE:
		return "usage error";
	case M3_EDATA:
		return "bad input data";
	case M3_EREMOTE:
		return "remote failure";
	case M3_EACCESS:
		return "access denied";
	case M3_EOF:
		return "end of stream";
	case M3_ENOINPUT:
		return "no input";
	case M3_ENOMEM:
		return "out of memory";
	case M3_EIO:
		return "input/output error";
	case M3_ELIMIT:
		return "over the size limit";
	default:
		return "failure";
	}
}
