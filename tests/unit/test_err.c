/* Unit tests for m3/err.h: the error buffer and the mapping of codes onto exit codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "m3/err.h"

static void
test_init(void **state)
{
	struct m3_err e;

	(void)state;
	memset(&e, 'x', sizeof(e));
	m3_err_init(&e);
	assert_int_equal(e.code, M3_OK);
	assert_string_equal(e.msg, "");
}

static void
test_set(void **state)
{
	struct m3_err e;

	(void)state;
	m3_err_init(&e);
	assert_int_equal(m3_err_set(&e, M3_EDATA, "%s: axis %d is %s", "sizes", 2, "0"), M3_EDATA);
	assert_int_equal(e.code, M3_EDATA);
	assert_string_equal(e.msg, "sizes: axis 2 is 0");
	/* a second call replaces both */
	assert_int_equal(m3_err_set(&e, M3_EREMOTE, "retry"), M3_EREMOTE);
	assert_int_equal(e.code, M3_EREMOTE);
	assert_string_equal(e.msg, "retry");
}

static void
test_set_null(void **state)
{
	(void)state;
	assert_int_equal(m3_err_set(NULL, M3_EACCESS, "ignored %d", 1), M3_EACCESS);
	assert_int_equal(m3_err_prefix(NULL, "ignored"), M3_EFAIL);
}

static void
test_prefix(void **state)
{
	struct m3_err e;

	(void)state;
	m3_err_init(&e);
	m3_err_set(&e, M3_EDATA, "bad magic");
	assert_int_equal(m3_err_prefix(&e, "%s", "a.nrrd"), M3_EDATA);
	assert_string_equal(e.msg, "a.nrrd: bad magic");
	assert_int_equal(m3_err_prefix(&e, "volcat %d", 7), M3_EDATA);
	assert_string_equal(e.msg, "volcat 7: a.nrrd: bad magic");
	assert_int_equal(e.code, M3_EDATA);
}

static void
test_set_truncates(void **state)
{
	char big[4 * M3_ERR_MAX];
	struct m3_err e;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memset(&e, 'x', sizeof(e));
	m3_err_set(&e, M3_EFAIL, "%s%s", big, big);
	assert_int_equal(e.code, M3_EFAIL);
	assert_int_equal(strlen(e.msg), M3_ERR_MAX - 1);
	assert_memory_equal(e.msg, big, M3_ERR_MAX - 1);
}

static void
test_prefix_truncates(void **state)
{
	char big[4 * M3_ERR_MAX];
	struct m3_err e;
	size_t n;

	(void)state;
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	m3_err_init(&e);
	m3_err_set(&e, M3_EIO, "%s", big);
	memset(big, 'p', sizeof(big) - 1);
	m3_err_prefix(&e, "%s", big);
	n = strlen(e.msg);
	assert_true(n < M3_ERR_MAX);
	assert_int_equal(e.code, M3_EIO);
	/* the prefix comes first, then ": ", then (part of) the old message */
	assert_int_equal(strspn(e.msg, "p"), strstr(e.msg, ": ") - e.msg);
	assert_non_null(strstr(e.msg, ": b"));
	assert_int_equal(e.msg[n - 1], 'b');

	/* many prefixes in a row stay within the buffer */
	for (int i = 0; i < 50; i++) {
		m3_err_prefix(&e, "level %d %s", i, big);
		assert_true(strlen(e.msg) < M3_ERR_MAX);
	}
}

static void
test_exit_code(void **state)
{
	static const struct {
		int code, exit;
	} map[] = {
		{M3_OK, 0},      {M3_EFAIL, 1},   {M3_EUSAGE, 2}, {M3_EDATA, 3},
		{M3_EREMOTE, 4}, {M3_EACCESS, 5}, {M3_EOF, 0},    {M3_ENOINPUT, 3},
		{M3_ENOMEM, 1},  {M3_EIO, 1},     {M3_ELIMIT, 3}, {6, 1},
		{15, 1},         {21, 1},         {-1, 1},        {1000, 1},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (m3_exit_code(map[i].code) != map[i].exit)
			fail_msg("m3_exit_code(%d) is %d, want %d", map[i].code,
				 m3_exit_code(map[i].code), map[i].exit);
	}
	/* 0-5 are exit codes already and map onto themselves */
	for (int c = 0; c <= 5; c++)
		assert_int_equal(m3_exit_code(c), c);
}

static void
test_code_str(void **state)
{
	static const int codes[] = {M3_OK,      M3_EFAIL,   M3_EUSAGE, M3_EDATA,
				    M3_EREMOTE, M3_EACCESS, M3_EOF,    M3_ENOINPUT,
				    M3_ENOMEM,  M3_EIO,     M3_ELIMIT, 99};

	(void)state;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		const char *s = m3_code_str(codes[i]);
		assert_non_null(s);
		assert_true(s[0] != '\0');
	}
	/* distinct codes read differently */
	assert_string_not_equal(m3_code_str(M3_EDATA), m3_code_str(M3_EFAIL));
	assert_string_not_equal(m3_code_str(M3_ENOINPUT), m3_code_str(M3_ELIMIT));
	assert_string_not_equal(m3_code_str(M3_EOF), m3_code_str(M3_OK));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),          cmocka_unit_test(test_set),
		cmocka_unit_test(test_set_null),      cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_set_truncates), cmocka_unit_test(test_prefix_truncates),
		cmocka_unit_test(test_exit_code),     cmocka_unit_test(test_code_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
