/* JSON output helpers: strings escaped per RFC 8259, numbers that read back exactly. */
#ifndef M3_JSON_H
#define M3_JSON_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A quoted JSON string; control characters escaped, invalid UTF-8 bytes as U+FFFD. */
void m3_json_str(FILE *f, const char *s);
#define M3_DTOA_MAX 40
/* The shortest "%g" text that reads back as the same double; whole numbers below 1e15 are
 * written without an exponent ("-10", "1000000"). */
void m3_dtoa(char s[M3_DTOA_MAX], double d);
/* The shortest decimal that reads back as d; null for NaN and infinities. */
void m3_json_num(FILE *f, double d);

#ifdef __cplusplus
}
#endif

#endif
