/* Unit tests for m3/json.h: escaped strings, numbers that read back exactly, null for the rest. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "m3/json.h"

static uint64_t
rnd64(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* What m3_json_str writes for s; \uXXXX hex digits in lower case, as the test writes them. */
static char *
json_str(const char *s)
{
	char *p = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&p, &n);

	assert_non_null(f);
	m3_json_str(f, s);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(strlen(p), n);
	for (size_t i = 0; i + 1 < n; i++) {
		if (p[i] != '\\')
			continue;
		if (p[i + 1] == 'u')
			for (size_t j = i + 2; j < i + 6 && j < n; j++)
				if (p[j] >= 'A' && p[j] <= 'F')
					p[j] = (char)(p[j] - 'A' + 'a');
		i++;
	}
	return p;
}

/* Bytes for a failure message: printable ASCII as is, the rest as \xHH. */
static void
print_bytes(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p >= 0x20 && *p < 0x7f)
			print_message("%c", *p);
		else
			print_message("\\x%02x", *p);
}

static void
expect_str(const char *in, const char *want)
{
	char *got = json_str(in);
	int same = strcmp(got, want) == 0;

	if (!same) {
		print_message("input \"");
		print_bytes(in);
		print_message("\" written as ");
		print_bytes(got);
		print_message(", not ");
		print_bytes(want);
		print_message("\n");
	}
	free(got);
	assert_true(same);
}

static char *
json_num(double d)
{
	char *p = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&p, &n);

	assert_non_null(f);
	m3_json_num(f, d);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(strlen(p), n);
	return p;
}

/*
 * The length of the well-formed UTF-8 sequence at s (Unicode table 3-7), or 0.  Written from
 * the table, apart from the library's.
 */
static int
utf8_ok(const unsigned char *s)
{
	static const struct {
		unsigned char lo0, hi0, lo1, hi1;
		int n;
	} t[] = {
		{0x00, 0x7f, 0, 0, 1},       {0xc2, 0xdf, 0x80, 0xbf, 2},
		{0xe0, 0xe0, 0xa0, 0xbf, 3}, {0xe1, 0xec, 0x80, 0xbf, 3},
		{0xed, 0xed, 0x80, 0x9f, 3}, {0xee, 0xef, 0x80, 0xbf, 3},
		{0xf0, 0xf0, 0x90, 0xbf, 4}, {0xf1, 0xf3, 0x80, 0xbf, 4},
		{0xf4, 0xf4, 0x80, 0x8f, 4},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (s[0] < t[i].lo0 || s[0] > t[i].hi0)
			continue;
		if (t[i].n == 1)
			return 1;
		if (s[1] < t[i].lo1 || s[1] > t[i].hi1)
			return 0;
		for (int k = 2; k < t[i].n; k++)
			if (s[k] < 0x80 || s[k] > 0xbf)
				return 0;
		return t[i].n;
	}
	return 0;
}

/* The input with each byte that starts no well-formed sequence made U+FFFD. */
static char *
repaired(const char *in)
{
	const unsigned char *s = (const unsigned char *)in;
	char *out = malloc(3 * strlen(in) + 1), *o = out;

	assert_non_null(out);
	while (*s != '\0') {
		int n = utf8_ok(s);
		if (n == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			s++;
		} else {
			memcpy(o, s, (size_t)n);
			o += n;
			s += n;
		}
	}
	*o = '\0';
	return out;
}

/*
 * js decoded to UTF-8 when it is one JSON string (RFC 8259) in well-formed UTF-8, else NULL.
 * Surrogate escapes are refused: the library has no reason to write them.
 */
static char *
json_decode(const char *js)
{
	const unsigned char *p = (const unsigned char *)js, *end;
	size_t len = strlen(js);
	char *out = malloc(len + 1), *o = out;

	assert_non_null(out);
	if (len < 2 || p[0] != '"' || p[len - 1] != '"')
		goto bad;
	for (p++, end = p + len - 2; p < end;) {
		int n;
		if (*p < 0x20 || *p == '"')
			goto bad;
		if (*p == '\\' && p[1] == 'u') {
			unsigned c = 0;
			for (int i = 2; i < 6; i++) {
				const char *x = strchr("0123456789abcdef", p[i] | 0x20);
				if (p + i >= end || x == NULL || p[i] == '\0')
					goto bad;
				c = c * 16 + (unsigned)(x - "0123456789abcdef");
			}
			if (c >= 0xd800 && c <= 0xdfff)
				goto bad;
			if (c < 0x80) {
				*o++ = (char)c;
			} else if (c < 0x800) {
				*o++ = (char)(0xc0 | c >> 6);
				*o++ = (char)(0x80 | (c & 0x3f));
			} else {
				*o++ = (char)(0xe0 | c >> 12);
				*o++ = (char)(0x80 | (c >> 6 & 0x3f));
				*o++ = (char)(0x80 | (c & 0x3f));
			}
			p += 6;
			continue;
		}
		if (*p == '\\') {
			const char *esc = strchr("\"\\/bfnrt", p[1]);
			if (p + 1 >= end || p[1] == '\0' || esc == NULL)
				goto bad;
			*o++ = "\"\\/\b\f\n\r\t"[esc - "\"\\/bfnrt"];
			p += 2;
			continue;
		}
		if ((n = utf8_ok(p)) == 0 || p + n > end)
			goto bad;
		memcpy(o, p, (size_t)n);
		o += n;
		p += n;
	}
	*o = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

static void
test_str_plain(void **state)
{
	char in[128], want[130];
	size_t n = 0;

	(void)state;
	expect_str("", "\"\"");
	expect_str("abc", "\"abc\"");
	expect_str("1.2.840.10008.1.2.1", "\"1.2.840.10008.1.2.1\"");
	/* every printable ASCII character but the two that are escaped */
	want[0] = '"';
	for (int c = 0x20; c < 0x7f; c++)
		if (c != '"' && c != '\\')
			in[n++] = (char)c;
	in[n] = '\0';
	memcpy(want + 1, in, n);
	want[n + 1] = '"';
	want[n + 2] = '\0';
	expect_str(in, want);
}

static void
test_str_escapes(void **state)
{
	char in[4], want[32];

	(void)state;
	expect_str("\"", "\"\\\"\"");
	expect_str("\\", "\"\\\\\"");
	expect_str("\n", "\"\\n\"");
	expect_str("\t", "\"\\t\"");
	expect_str("a\"b\\c\nd\te", "\"a\\\"b\\\\c\\nd\\te\"");
	expect_str("\\n", "\"\\\\n\"");
	expect_str("\\\\\"\"", "\"\\\\\\\\\\\"\\\"\"");
	expect_str("\x7f", "\"\\u007f\"");
	expect_str("DEL\x7f!", "\"DEL\\u007f!\"");
	expect_str("\r\n", "\"\\u000d\\n\"");
	expect_str("\x1b[0m", "\"\\u001b[0m\"");
	/* every other control character as \u00XX */
	for (int c = 1; c < 0x20; c++) {
		if (c == '\n' || c == '\t')
			continue;
		in[0] = 'x';
		in[1] = (char)c;
		in[2] = 'y';
		in[3] = '\0';
		snprintf(want, sizeof(want), "\"x\\u%04xy\"", c);
		expect_str(in, want);
	}
}

static void
test_str_utf8_valid(void **state)
{
	static const char *const ok[] = {
		"\xc3\xa9", /* é */
		"\xe2\x82\xac", /* € */
		"\xf0\x9f\x98\x80", /* an emoji */
		"\xc2\x80", /* U+0080, the first of two bytes */
		"\xdf\xbf", /* U+07FF */
		"\xe0\xa0\x80", /* U+0800, the first of three */
		"\xed\x9f\xbf", /* U+D7FF, below the surrogates */
		"\xee\x80\x80", /* U+E000, above them */
		"\xef\xbf\xbf", /* U+FFFF */
		"\xef\xbf\xbd", /* U+FFFD itself */
		"\xf0\x90\x80\x80", /* U+10000, the first of four */
		"\xf3\xbf\xbf\xbf", /* U+FFFFF */
		"\xf4\x8f\xbf\xbf", /* U+10FFFF, the last */
		"Ma\xc3\x9f, \xe6\x97\xa5\xe6\x9c\xac, \xf0\x90\x8d\x88 \xce\xb1\xce\xb2",
	};
	char in[64], want[80];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(want, sizeof(want), "\"%s\"", ok[i]);
		expect_str(ok[i], want);
		/* between ASCII, and twice in a row */
		snprintf(in, sizeof(in), "a%sb%s", ok[i], ok[i]);
		snprintf(want, sizeof(want), "\"%s\"", in);
		expect_str(in, want);
	}
}

static void
test_str_utf8_invalid(void **state)
{
	static const struct {
		const char *in, *want;
	} bad[] = {
		/* lone continuation bytes */
		{"\x80", "\"\\ufffd\""},
		{"a\xbf"
		 "b",
		 "\"a\\ufffdb\""},
		{"\x80\x80", "\"\\ufffd\\ufffd\""},
		/* sequences cut short by the end of the string, or by ASCII */
		{"\xc3", "\"\\ufffd\""},
		{"\xe2\x82", "\"\\ufffd\\ufffd\""},
		{"\xf0\x9f\x98", "\"\\ufffd\\ufffd\\ufffd\""},
		{"ok\xf0\x9f", "\"ok\\ufffd\\ufffd\""},
		{"\xe2\x82z", "\"\\ufffd\\ufffdz\""},
		{"\xc3\"", "\"\\ufffd\\\"\""},
		{"\xe2\n", "\"\\ufffd\\n\""},
		/* overlong forms */
		{"\xc0\x80", "\"\\ufffd\\ufffd\""},
		{"\xc1\xbf", "\"\\ufffd\\ufffd\""},
		{"\xe0\x80\x80", "\"\\ufffd\\ufffd\\ufffd\""},
		{"\xe0\x9f\xbf", "\"\\ufffd\\ufffd\\ufffd\""},
		{"\xf0\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""},
		{"\xf0\x8f\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""},
		/* surrogates */
		{"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""},
		{"\xed\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\""},
		{"\xed\xa0\xbd\xed\xb8\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\""},
		/* past U+10FFFF */
		{"\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""},
		{"\xf4\xbf\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""},
		/* a good sequence right after a bad byte is kept */
		{"\xff\xc3\xa9", "\"\\ufffd\xc3\xa9\""},
		{"\xe2\xc3\xa9", "\"\\ufffd\xc3\xa9\""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_str(bad[i].in, bad[i].want);
}

/* 0xF5..0xFF never start a sequence, whatever follows them. */
static void
test_str_utf8_f5_ff(void **state)
{
	char in[8], want[64];

	(void)state;
	for (int b = 0xf5; b <= 0xff; b++) {
		in[0] = (char)b;
		in[1] = '\0';
		expect_str(in, "\"\\ufffd\"");
		/* followed by continuation bytes, as if it began a 3-, 4-, 5- or 6-byte form */
		for (int k = 1; k <= 5; k++) {
			size_t n = 1;
			memset(in + 1, 0x80 | (k * 7 & 0x3f), (size_t)k);
			in[k + 1] = '\0';
			snprintf(want, sizeof(want), "\"");
			for (int j = 0; j <= k; j++)
				n += (size_t)snprintf(want + n, sizeof(want) - n, "\\ufffd");
			snprintf(want + n, sizeof(want) - n, "\"");
			expect_str(in, want);
		}
	}
}

/* Random bytes: always one JSON string in well-formed UTF-8 that decodes to the repaired input. */
static void
test_str_random(void **state)
{
	static const unsigned char pick[] = {'a',  '"',  '\\', '\n', '\t', 0x01, 0x1f, 0x7f,
					     0x80, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef,
					     0xf0, 0xf4, 0xf5, 0xf8, 0xff, 0x90, 0xa0, 0x8f};
	uint64_t seed = 1;
	char in[48];

	(void)state;
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = rnd64(&seed) % (sizeof(in) - 1);
		char *js, *dec, *rep;
		int same;
		for (size_t i = 0; i < n; i++) {
			uint64_t r = rnd64(&seed);
			in[i] = (char)(r % 3 ? pick[(r >> 8) % sizeof(pick)] : (r >> 16) % 255 + 1);
		}
		in[n] = '\0';
		js = json_str(in);
		dec = json_decode(js);
		rep = repaired(in);
		same = dec != NULL && strcmp(dec, rep) == 0;
		if (!same) {
			print_message("input \"");
			print_bytes(in);
			print_message("\" written as ");
			print_bytes(js);
			print_message(dec == NULL ? ": no JSON string in UTF-8\n"
						  : ": not the input with U+FFFD\n");
		}
		free(js);
		free(dec);
		free(rep);
		assert_true(same);
	}
}

/* RFC 8259 number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
json_number_ok(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return 0;
	if (*s == '.') {
		if (*++s < '0' || *s > '9')
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (*s < '0' || *s > '9')
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

/* The number of significant digits of a decimal: leading and trailing zeros left out. */
static int
sig_digits(const char *s)
{
	char dig[64];
	int n = 0, a = 0;

	for (; *s != '\0' && *s != 'e' && *s != 'E'; s++)
		if (*s >= '0' && *s <= '9' && n < (int)sizeof(dig))
			dig[n++] = *s;
	while (a < n && dig[a] == '0')
		a++;
	while (n > a && dig[n - 1] == '0')
		n--;
	return n - a;
}

static int
same_double(double a, double b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

/* Reads back as d, and no decimal of fewer significant digits does. */
static void
check_shortest(double d, const char *s)
{
	char t[400];
	int k = sig_digits(s);

	if (!same_double(strtod(s, NULL), d))
		print_message("%.17g written as %s\n", d, s);
	assert_true(same_double(strtod(s, NULL), d));
	assert_true(json_number_ok(s));
	for (int p = 1; p < k; p++) {
		snprintf(t, sizeof(t), "%.*g", p, d);
		if (strtod(t, NULL) == d)
			print_message("%.17g written as %s, but %s reads back too\n", d, s, t);
		assert_false(strtod(t, NULL) == d);
	}
}

static void
expect_num(double d, const char *want)
{
	char *p = json_num(d), got[64], s[M3_DTOA_MAX];

	snprintf(got, sizeof(got), "%s", p);
	free(p);
	assert_string_equal(got, want);
	m3_dtoa(s, d);
	assert_string_equal(s, want);
}

static void
test_num_values(void **state)
{
	(void)state;
	expect_num(0, "0");
	expect_num(-0.0, "-0");
	expect_num(1, "1");
	expect_num(-1, "-1");
	expect_num(42, "42");
	expect_num(512, "512");
	expect_num(-32768, "-32768");
	expect_num(65535, "65535");
	expect_num(123456, "123456");
	expect_num(1234567, "1234567");
	expect_num(2147483647, "2147483647");
	expect_num(4294967296.0, "4294967296");
	expect_num(9007199254740992.0, "9007199254740992"); /* 2^53 */
	expect_num(-9007199254740993.0, "-9007199254740992");
	expect_num(0.1, "0.1");
	expect_num(-0.1, "-0.1");
	expect_num(0.5, "0.5");
	expect_num(0.25, "0.25");
	expect_num(1.5, "1.5");
	expect_num(0.2 + 0.1, "0.30000000000000004");
	expect_num(1.0 / 3, "0.3333333333333333");
	expect_num(2.0 / 3, "0.6666666666666666");
	expect_num(0.7, "0.7");
	expect_num(3.14159, "3.14159");
	expect_num(1e300, "1e+300");
	expect_num(-1e-300, "-1e-300");
	expect_num(1e-7, "1e-07");
	expect_num(1e21, "1e+21");
	expect_num(1e22, "1e+22");
	expect_num(1e23, "1e+23");
	expect_num(DBL_MAX, "1.7976931348623157e+308");
	expect_num(-DBL_MAX, "-1.7976931348623157e+308");
	expect_num(DBL_MIN, "2.2250738585072014e-308");
	expect_num(DBL_EPSILON, "2.220446049250313e-16");
	expect_num(0.000123, "0.000123");
	/* whole numbers below 1e15 are written out, as a person writes them */
	expect_num(1e6, "1000000");
	expect_num(-10, "-10");
	expect_num(1.2345e14, "123450000000000");
	expect_num(1e15, "1e+15");
}

static void
test_num_nonfinite(void **state)
{
	const double v[] = {NAN, -NAN, INFINITY, -INFINITY, HUGE_VAL, -HUGE_VAL, DBL_MAX * 2};
	char s[M3_DTOA_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *got = json_num(v[i]);
		assert_string_equal(got, "null");
		free(got);
		/* m3_dtoa has no null: what it writes reads back as the same kind of value */
		m3_dtoa(s, v[i]);
		if (isnan(v[i]))
			assert_true(isnan(strtod(s, NULL)));
		else
			assert_true(strtod(s, NULL) == v[i]);
	}
}

/* Many doubles, from every part of the range: they read back, in the fewest digits. */
static void
test_num_random(void **state)
{
	uint64_t seed = 42;
	char s[M3_DTOA_MAX + 8];
	int n = 0;

	(void)state;
	while (n < 50000) {
		uint64_t r = rnd64(&seed);
		double d;
		char *p, got[64];
		switch (n % 4) {
		case 0: /* any bit pattern */
			memcpy(&d, &r, sizeof(d));
			break;
		case 1: /* small integers and short decimals */
			d = (double)(int64_t)(r % 2000001) - 1000000;
			d /= (double)(1 + (r >> 32) % 3 * 9 + (r >> 40) % 2 * 990);
			break;
		case 2: /* values of the size of coordinates and spacings */
			d = ldexp((double)(r >> 11), -53) * 1000 - 500;
			break;
		default: /* a decimal of up to 17 digits, typed in */
			snprintf(s, sizeof(s), "%.*ge%d", (int)(r % 17) + 1,
				 ldexp((double)(r >> 11), -53), (int)((r >> 5) % 600) - 300);
			d = strtod(s, NULL);
			break;
		}
		if (!isfinite(d))
			continue;
		p = json_num(d);
		snprintf(got, sizeof(got), "%s", p);
		free(p);
		check_shortest(d, got);
		memset(s, 'Z', sizeof(s));
		m3_dtoa(s, d);
		assert_string_equal(s, got);
		for (size_t i = M3_DTOA_MAX; i < sizeof(s); i++)
			assert_int_equal(s[i], 'Z');
		n++;
	}
}

/* The smallest subnormals: the fewest digits there too. */
static void
test_num_subnormal(void **state)
{
	(void)state;
	expect_num(5e-324, "5e-324");
	expect_num(-5e-324, "-5e-324");
	expect_num(1e-323, "1e-323");
	for (int k = 1; k < 5000; k += 7) {
		double d = 4.9406564584124654e-324 * k;
		char *p = json_num(d), got[64];
		snprintf(got, sizeof(got), "%s", p);
		free(p);
		check_shortest(d, got);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_str_plain),      cmocka_unit_test(test_str_escapes),
		cmocka_unit_test(test_str_utf8_valid), cmocka_unit_test(test_str_utf8_invalid),
		cmocka_unit_test(test_str_utf8_f5_ff), cmocka_unit_test(test_str_random),
		cmocka_unit_test(test_num_values),     cmocka_unit_test(test_num_nonfinite),
		cmocka_unit_test(test_num_random),     cmocka_unit_test(test_num_subnormal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
