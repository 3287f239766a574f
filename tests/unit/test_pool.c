/* Unit tests for m3/pool.h: every item exactly once, on a worker of the pool, run after run. */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "m3/cli.h"
#include "m3/pool.h"

#define MAXWORKERS 1024

/* What fn saw: calls per item, items per worker, and any worker id out of range. */
struct tally {
	atomic_uint *calls;
	atomic_ulong per_worker[MAXWORKERS];
	atomic_uint bad_worker;
	unsigned nworkers;
	size_t n;
};

static void
count(void *ctx, size_t item, unsigned worker)
{
	struct tally *t = ctx;

	if (item >= t->n || worker >= t->nworkers || worker >= MAXWORKERS) {
		atomic_fetch_add(&t->bad_worker, 1);
		return;
	}
	atomic_fetch_add(&t->calls[item], 1);
	atomic_fetch_add(&t->per_worker[worker], 1);
}

static struct tally *
tally_new(size_t n, unsigned nworkers)
{
	struct tally *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	assert_non_null(t->calls = calloc(n > 0 ? n : 1, sizeof(*t->calls)));
	for (size_t i = 0; i < n; i++)
		atomic_init(&t->calls[i], 0);
	for (unsigned w = 0; w < MAXWORKERS; w++)
		atomic_init(&t->per_worker[w], 0);
	atomic_init(&t->bad_worker, 0);
	t->n = n;
	t->nworkers = nworkers;
	return t;
}

static void
tally_free(struct tally *t)
{
	free(t->calls);
	free(t);
}

/* Runs n items and checks each was done exactly once, by a worker of the pool. */
static void
run_and_check(struct m3_pool *p, size_t n)
{
	struct tally *t = tally_new(n, m3_pool_size(p));
	unsigned long sum = 0;

	m3_pool_run(p, count, t, n);
	assert_int_equal(atomic_load(&t->bad_worker), 0);
	for (size_t i = 0; i < n; i++)
		if (atomic_load(&t->calls[i]) != 1)
			fail_msg("%u threads, %zu items: item %zu done %u times", m3_pool_size(p),
				 n, i, atomic_load(&t->calls[i]));
	for (unsigned w = 0; w < MAXWORKERS; w++)
		sum += atomic_load(&t->per_worker[w]);
	assert_int_equal(sum, n);
	tally_free(t);
}

static void
test_each_item_once(void **state)
{
	static const unsigned threads[] = {1, 2, 4};
	static const size_t sizes[] = {0, 1, 7, 10000};

	(void)state;
	for (size_t i = 0; i < sizeof(threads) / sizeof(threads[0]); i++) {
		struct m3_err e;
		struct m3_pool *p = m3_pool_new(threads[i], &e);

		assert_non_null(p);
		assert_int_equal(m3_pool_size(p), threads[i]);
		for (size_t j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++)
			run_and_check(p, sizes[j]);
		m3_pool_free(p);
	}
}

/* One pool, many runs of different sizes back to back: no item lost or run twice. */
static void
test_consecutive_runs(void **state)
{
	struct m3_err e;
	struct m3_pool *p = m3_pool_new(4, &e);

	(void)state;
	assert_non_null(p);
	for (size_t r = 0; r < 300; r++)
		run_and_check(p, (r * 37) % 101);
	m3_pool_free(p);
}

/* More threads than items, and a pool freed without ever running. */
static void
test_more_threads_than_items(void **state)
{
	struct m3_err e;
	struct m3_pool *p = m3_pool_new(8, &e);

	(void)state;
	assert_non_null(p);
	assert_int_equal(m3_pool_size(p), 8);
	run_and_check(p, 3);
	run_and_check(p, 1);
	m3_pool_free(p);
	assert_non_null(p = m3_pool_new(3, &e));
	m3_pool_free(p);
	m3_pool_free(NULL);
}

static void
test_default_size(void **state)
{
	struct m3_err e;
	struct m3_pool *p = m3_pool_new(0, &e);

	(void)state;
	assert_non_null(p);
	assert_int_equal(m3_pool_size(p), m3_ncpu());
	run_and_check(p, 1000);
	m3_pool_free(p);
}

/*
 * The work is shared: each item waits (up to 10 seconds in all) until a second worker has
 * taken an item, which a pool that ran everything on the caller's thread never gets to.
 */
struct spread {
	atomic_uint seen[4];
	atomic_uint distinct;
	atomic_int gave_up;
	struct timespec start;
};

static double
since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
wait_for_company(void *ctx, size_t item, unsigned worker)
{
	struct spread *s = ctx;

	(void)item;
	if (worker >= 4)
		return;
	if (atomic_fetch_add(&s->seen[worker], 1) == 0)
		atomic_fetch_add(&s->distinct, 1);
	while (atomic_load(&s->distinct) < 2 && !atomic_load(&s->gave_up)) {
		if (since(&s->start) > 10)
			atomic_store(&s->gave_up, 1);
		sched_yield();
	}
}

static void
test_work_is_shared(void **state)
{
	struct m3_err e;
	struct m3_pool *p = m3_pool_new(4, &e);
	struct spread s;
	unsigned total = 0;

	(void)state;
	assert_non_null(p);
	for (int i = 0; i < 4; i++)
		atomic_init(&s.seen[i], 0);
	atomic_init(&s.distinct, 0);
	atomic_init(&s.gave_up, 0);
	clock_gettime(CLOCK_MONOTONIC, &s.start);
	m3_pool_run(p, wait_for_company, &s, 100);
	for (int i = 0; i < 4; i++)
		total += atomic_load(&s.seen[i]);
	assert_int_equal(total, 100);
	assert_false(atomic_load(&s.gave_up));
	assert_true(atomic_load(&s.distinct) >= 2);
	m3_pool_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_item_once),
		cmocka_unit_test(test_consecutive_runs),
		cmocka_unit_test(test_more_threads_than_items),
		cmocka_unit_test(test_default_size),
		cmocka_unit_test(test_work_is_shared),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
