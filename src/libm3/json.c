/* JSON output helpers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "m3/json.h"

/* Length of the valid UTF-8 sequence at s, or 0: no overlong forms, no surrogates, nothing
 * past U+10FFFF (RFC 3629). */
static int
utf8_len(const unsigned char *s)
{
	int n = s[0] >= 0xf5                  ? 0
		: s[0] >= 0xf0                ? 4
		: s[0] >= 0xe0                ? 3
		: s[0] >= 0xc2 && s[0] < 0xe0 ? 2
					      : 0;

	for (int i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return n;
}

void
m3_json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	while (*p != '\0') {
		if (*p == '"' || *p == '\\') {
			fputc('\\', f);
			fputc(*p++, f);
		} else if (*p == '\n') {
			fputs("\\n", f);
			p++;
		} else if (*p == '\t') {
			fputs("\\t", f);
			p++;
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\u%04x", *p++);
		} else if (*p < 0x80) {
			fputc(*p++, f);
		} else {
			int n = utf8_len(p);
			if (n == 0) {
				fputs("\\ufffd", f);
				p++;
			} else {
				fwrite(p, 1, (size_t)n, f);
				p += n;
			}
		}
	}
	fputc('"', f);
}

void
m3_dtoa(char s[M3_DTOA_MAX], double d)
{
	const char *ep;
	int prec, x;

	for (prec = 1; prec < 17; prec++) {
		snprintf(s, M3_DTOA_MAX, "%.*g", prec, d);
		if (strtod(s, NULL) == d)
			break;
	}
	if (prec == 17)
		snprintf(s, M3_DTOA_MAX, "%.17g", d);
	/* "-1e+01" is short, but people write -10: whole numbers below 1e15 (exact in a double,
	 * so no digit is added) are written out */
	if ((ep = strchr(s, 'e')) != NULL && (x = atoi(ep + 1)) >= 0 && x < 15 && x + 1 > prec)
		snprintf(s, M3_DTOA_MAX, "%.*g", x + 1, d);
}

void
m3_json_num(FILE *f, double d)
{
	char s[M3_DTOA_MAX];

	if (!isfinite(d)) {
		fputs("null", f);
		return;
	}
	m3_dtoa(s, d);
	fputs(s, f);
}
