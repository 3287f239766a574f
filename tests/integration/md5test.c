/* md5test: m3_md5_many (MD5 in vector lanes) against libcrypto, for tests/integration/run.sh.
 *   md5test          messages of every length around the block and padding boundaries, and
 *                    batches of mixed lengths, each digest compared with libcrypto's, through
 *                    m3_md5_many and through each path this CPU has (AVX-512, AVX2, SSE2)
 *                    (TAP; each path's speed beside libcrypto's as a comment, not a test:
 *                    speed is for benchmarks, bench/s3.sh)
 *   md5test speed    GB/s of m3_md5_many, each path and libcrypto over 1000 messages of 200 KB
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "m3/sha256.h"
/* the paths themselves are static: the test has its own copy of them (and of m3_md5_many,
 * so the library's is not linked in), to check every path, not only the one this CPU picks */
#include "md5x.c"

struct path {
	const char *name;
	void (*run)(struct m3_md5_job *, size_t);
	int have;
};

static unsigned rnd = 12345;

static unsigned
next(void)
{
	rnd = rnd * 1103515245u + 12345u;
	return rnd >> 8;
}

/* The digests of jobs[0..n) by run and by libcrypto: the number that differ. */
static size_t
compare(void (*run)(struct m3_md5_job *, size_t), struct m3_md5_job *jobs, size_t n)
{
	unsigned char d[M3_MD5_LEN];
	size_t bad = 0;

	run(jobs, n);
	for (size_t i = 0; i < n; i++) {
		m3_md5(jobs[i].p, jobs[i].n, d);
		if (memcmp(d, jobs[i].md5, sizeof(d)) != 0) {
			fprintf(stderr, "md5test: message %zu of %zu bytes differs\n", i,
				jobs[i].n);
			bad++;
		}
	}
	return bad;
}

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int
speed(unsigned char *buf, const struct path *paths, size_t npath)
{
	enum { N = 1000, SZ = 204800 };
	static struct m3_md5_job jobs[N];
	double t0, t1, t2;

	for (size_t i = 0; i < N; i++)
		jobs[i] = (struct m3_md5_job){.p = buf + (i % 8) * SZ, .n = SZ};
	t0 = now();
	m3_md5_many(jobs, N);
	t1 = now();
	for (size_t i = 0; i < N; i++)
		m3_md5(jobs[i].p, jobs[i].n, jobs[i].md5);
	t2 = now();
	printf("m3_md5_many %.2f GB/s, libcrypto %.2f GB/s", N * SZ / (t1 - t0) / 1e9,
	       N * SZ / (t2 - t1) / 1e9);
	for (size_t p = 0; p < npath; p++)
		if (paths[p].have) {
			t0 = now();
			paths[p].run(jobs, N);
			printf("; %s lanes %.2f GB/s", paths[p].name, N * SZ / (now() - t0) / 1e9);
		}
	printf("\n");
	return 0;
}

/* The three sets of messages through run: the number of digests that differ. */
static size_t
check_all(void (*run)(struct m3_md5_job *, size_t), unsigned char *buf, size_t max, size_t *counts)
{
	static struct m3_md5_job jobs[600];
	size_t n = 0;

	rnd = 12345;
	/* every length from 0 to 300 bytes, at unaligned starts: one lane each */
	for (size_t len = 0; len <= 300; len++)
		jobs[n++] = (struct m3_md5_job){.p = buf + len % 7, .n = len};
	counts[0] = compare(run, jobs, n);
	/* mixed lengths: lanes take new messages while others go on */
	n = 0;
	for (size_t i = 0; i < 500; i++) {
		size_t len = i % 5 == 0 ? next() % 300000 : next() % 5000;
		jobs[n++] = (struct m3_md5_job){.p = buf + next() % (max - 300000), .n = len};
	}
	counts[1] = compare(run, jobs, n);
	/* fewer messages than lanes, and fewer than are worth the lanes */
	counts[2] = 0;
	for (size_t k = 0; k <= 17; k++)
		counts[2] += compare(run, jobs, k);
	return counts[0] + counts[1] + counts[2];
}

/* The best of three timings of run over jobs, in seconds. */
static double
best(void (*run)(struct m3_md5_job *, size_t), struct m3_md5_job *jobs, size_t n)
{
	double b = 1e30;

	for (int r = 0; r < 3; r++) {
		double t0 = now();
		run(jobs, n);
		if (now() - t0 < b)
			b = now() - t0;
	}
	return b;
}

static void
one_by_one(struct m3_md5_job *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		m3_md5(jobs[i].p, jobs[i].n, jobs[i].md5);
}

int
main(int argc, char *argv[])
{
	enum { MAX = 8 * 204800, NSPEED = 200 };
	static struct m3_md5_job jobs[NSPEED];
	struct path paths[] = {
		{"SSE2", run_plain, 1},
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
		{"AVX2", run_avx2, __builtin_cpu_supports("avx2")},
		{"AVX-512", run_avx512, __builtin_cpu_supports("avx512f")},
#endif
	};
	size_t npath = sizeof(paths) / sizeof(paths[0]), nhave = 0, t = 1, c[3];
	unsigned char *buf = malloc(MAX);

	if (buf == NULL)
		return 1;
	for (size_t i = 0; i < MAX; i++)
		buf[i] = (unsigned char)next();
	if (argc > 1 && strcmp(argv[1], "speed") == 0)
		return speed(buf, paths, npath);
	for (size_t p = 0; p < npath; p++)
		nhave += paths[p].have != 0;
	printf("1..%zu\n", 3 + nhave);
	check_all(m3_md5_many, buf, MAX, c);
	printf("%s %zu - lengths 0 to 300 (301 messages)\n", c[0] ? "not ok" : "ok", t++);
	printf("%s %zu - 500 messages of mixed lengths\n", c[1] ? "not ok" : "ok", t++);
	printf("%s %zu - batches of 0 to 17 messages\n", c[2] ? "not ok" : "ok", t++);
	for (size_t p = 0; p < npath; p++) {
		double tl, tp;
		if (!paths[p].have)
			continue;
		printf("%s %zu - %s lanes: every length, mixed lengths, 0 to 17 messages\n",
		       check_all(paths[p].run, buf, MAX, c) ? "not ok" : "ok", t++, paths[p].name);
		for (size_t i = 0; i < NSPEED; i++)
			jobs[i] = (struct m3_md5_job){.p = buf + (i % 8) * 204800, .n = 204800};
		tl = best(one_by_one, jobs, NSPEED);
		tp = best(paths[p].run, jobs, NSPEED);
		printf("# %s lanes %.2f GB/s, libcrypto %.2f GB/s\n", paths[p].name,
		       NSPEED * 204800 / tp / 1e9, NSPEED * 204800 / tl / 1e9);
	}
	free(buf);
	return 0;
}
