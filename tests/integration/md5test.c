/* md5test: m3_md5_many (MD5 in vector lanes) against libcrypto, for tests/integration/run.sh.
 *   md5test          messages of every length around the block and padding boundaries, and
 *                    batches of mixed lengths, each digest compared with libcrypto's (TAP)
 *   md5test speed    GB/s of both over 1000 messages of 200 KB
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "m3/sha256.h"

static unsigned rnd = 12345;

static unsigned
next(void)
{
	rnd = rnd * 1103515245u + 12345u;
	return rnd >> 8;
}

/* The digests of jobs[0..n) by m3_md5_many and by libcrypto: the number that differ. */
static size_t
compare(struct m3_md5_job *jobs, size_t n)
{
	unsigned char d[M3_MD5_LEN];
	size_t bad = 0;

	m3_md5_many(jobs, n);
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
speed(unsigned char *buf)
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
	printf("m3_md5_many %.2f GB/s, libcrypto %.2f GB/s\n", N * SZ / (t1 - t0) / 1e9,
	       N * SZ / (t2 - t1) / 1e9);
	return 0;
}

int
main(int argc, char *argv[])
{
	enum { MAX = 8 * 204800 };
	static struct m3_md5_job jobs[600];
	unsigned char *buf = malloc(MAX);
	size_t n = 0, bad;

	if (buf == NULL)
		return 1;
	for (size_t i = 0; i < MAX; i++)
		buf[i] = (unsigned char)next();
	if (argc > 1 && strcmp(argv[1], "speed") == 0)
		return speed(buf);
	printf("1..3\n");
	/* every length from 0 to 300 bytes, at unaligned starts: one lane each */
	for (size_t len = 0; len <= 300; len++)
		jobs[n++] = (struct m3_md5_job){.p = buf + len % 7, .n = len};
	bad = compare(jobs, n);
	printf("%s 1 - lengths 0 to 300 (%zu messages)\n", bad ? "not ok" : "ok", n);
	/* mixed lengths: lanes take new messages while others go on */
	n = 0;
	for (size_t i = 0; i < 500; i++) {
		size_t len = i % 5 == 0 ? next() % 300000 : next() % 5000;
		jobs[n++] = (struct m3_md5_job){.p = buf + next() % (MAX - 300000), .n = len};
	}
	bad = compare(jobs, n);
	printf("%s 2 - 500 messages of mixed lengths\n", bad ? "not ok" : "ok");
	/* fewer messages than lanes, and fewer than are worth the lanes */
	bad = 0;
	for (size_t k = 0; k <= 17; k++)
		bad += compare(jobs, k);
	printf("%s 3 - batches of 0 to 17 messages\n", bad ? "not ok" : "ok");
	free(buf);
	return 0;
}
