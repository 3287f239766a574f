/* m3-phantom cbct: a dental CBCT series (CT, one file per slice) and its label volume. */
#include "phantom.h"

int
ph_cbct(const struct ph_opts *o, struct ph_sink *s, struct m3_err *e)
{
	(void)o;
	(void)s;
	return m3_err_set(e, M3_EFAIL, "cbct: not yet");
}
