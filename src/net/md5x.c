/* MD5 of many messages at once, one per lane of a vector of 16 (RFC 1321, written for lanes). */
#include <stdint.h>
#include <string.h>

#include "m3/sha256.h"

/*
 * MD5 is one serial chain of 64 dependent steps per block: libcrypto's assembly does about
 * 0.75 GB/s on one core whatever the CPU.  The ETags of many objects are many independent
 * chains, so 16 of them go side by side in the 32-bit lanes of a vector: with AVX-512 one
 * instruction per operation, with AVX2 two, with SSE2 four.  Each lane takes the next message
 * as soon as its own is done, so messages of any lengths keep every lane busy.
 */
#define LANES 16
#define MIN_MANY 4 /* fewer messages: libcrypto, one after another */

typedef uint32_t vec __attribute__((vector_size(4 * LANES)));

static const uint32_t init[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};

#define F(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define G(x, y, z) ((y) ^ ((z) & ((x) ^ (y))))
#define H(x, y, z) ((x) ^ (y) ^ (z))
#define I(x, y, z) ((y) ^ ((x) | ~(z)))
#define STEP(f, a, b, c, d, k, s, t)                                                               \
	do {                                                                                       \
		a += f(b, c, d) + w[k] + (uint32_t)(t);                                            \
		a = ((a << (s)) | (a >> (32 - (s)))) + b;                                          \
	} while (0)

/* One 64-byte block of every lane: w[k] holds word k of each lane's block. */
static inline __attribute__((always_inline)) void
block(vec *s, const vec *w)
{
	vec a = s[0], b = s[1], c = s[2], d = s[3];

	STEP(F, a, b, c, d, 0, 7, 0xd76aa478);
	STEP(F, d, a, b, c, 1, 12, 0xe8c7b756);
	STEP(F, c, d, a, b, 2, 17, 0x242070db);
	STEP(F, b, c, d, a, 3, 22, 0xc1bdceee);
	STEP(F, a, b, c, d, 4, 7, 0xf57c0faf);
	STEP(F, d, a, b, c, 5, 12, 0x4787c62a);
	STEP(F, c, d, a, b, 6, 17, 0xa8304613);
	STEP(F, b, c, d, a, 7, 22, 0xfd469501);
	STEP(F, a, b, c, d, 8, 7, 0x698098d8);
	STEP(F, d, a, b, c, 9, 12, 0x8b44f7af);
	STEP(F, c, d, a, b, 10, 17, 0xffff5bb1);
	STEP(F, b, c, d, a, 11, 22, 0x895cd7be);
	STEP(F, a, b, c, d, 12, 7, 0x6b901122);
	STEP(F, d, a, b, c, 13, 12, 0xfd987193);
	STEP(F, c, d, a, b, 14, 17, 0xa679438e);
	STEP(F, b, c, d, a, 15, 22, 0x49b40821);

	STEP(G, a, b, c, d, 1, 5, 0xf61e2562);
	STEP(G, d, a, b, c, 6, 9, 0xc040b340);
	STEP(G, c, d, a, b, 11, 14, 0x265e5a51);
	STEP(G, b, c, d, a, 0, 20, 0xe9b6c7aa);
	STEP(G, a, b, c, d, 5, 5, 0xd62f105d);
	STEP(G, d, a, b, c, 10, 9, 0x02441453);
	STEP(G, c, d, a, b, 15, 14, 0xd8a1e681);
	STEP(G, b, c, d, a, 4, 20, 0xe7d3fbc8);
	STEP(G, a, b, c, d, 9, 5, 0x21e1cde6);
	STEP(G, d, a, b, c, 14, 9, 0xc33707d6);
	STEP(G, c, d, a, b, 3, 14, 0xf4d50d87);
	STEP(G, b, c, d, a, 8, 20, 0x455a14ed);
	STEP(G, a, b, c, d, 13, 5, 0xa9e3e905);
	STEP(G, d, a, b, c, 2, 9, 0xfcefa3f8);
	STEP(G, c, d, a, b, 7, 14, 0x676f02d9);
	STEP(G, b, c, d, a, 12, 20, 0x8d2a4c8a);

	STEP(H, a, b, c, d, 5, 4, 0xfffa3942);
	STEP(H, d, a, b, c, 8, 11, 0x8771f681);
	STEP(H, c, d, a, b, 11, 16, 0x6d9d6122);
	STEP(H, b, c, d, a, 14, 23, 0xfde5380c);
	STEP(H, a, b, c, d, 1, 4, 0xa4beea44);
	STEP(H, d, a, b, c, 4, 11, 0x4bdecfa9);
	STEP(H, c, d, a, b, 7, 16, 0xf6bb4b60);
	STEP(H, b, c, d, a, 10, 23, 0xbebfbc70);
	STEP(H, a, b, c, d, 13, 4, 0x289b7ec6);
	STEP(H, d, a, b, c, 0, 11, 0xeaa127fa);
	STEP(H, c, d, a, b, 3, 16, 0xd4ef3085);
	STEP(H, b, c, d, a, 6, 23, 0x04881d05);
	STEP(H, a, b, c, d, 9, 4, 0xd9d4d039);
	STEP(H, d, a, b, c, 12, 11, 0xe6db99e5);
	STEP(H, c, d, a, b, 15, 16, 0x1fa27cf8);
	STEP(H, b, c, d, a, 2, 23, 0xc4ac5665);

	STEP(I, a, b, c, d, 0, 6, 0xf4292244);
	STEP(I, d, a, b, c, 7, 10, 0x432aff97);
	STEP(I, c, d, a, b, 14, 15, 0xab9423a7);
	STEP(I, b, c, d, a, 5, 21, 0xfc93a039);
	STEP(I, a, b, c, d, 12, 6, 0x655b59c3);
	STEP(I, d, a, b, c, 3, 10, 0x8f0ccc92);
	STEP(I, c, d, a, b, 10, 15, 0xffeff47d);
	STEP(I, b, c, d, a, 1, 21, 0x85845dd1);
	STEP(I, a, b, c, d, 8, 6, 0x6fa87e4f);
	STEP(I, d, a, b, c, 15, 10, 0xfe2ce6e0);
	STEP(I, c, d, a, b, 6, 15, 0xa3014314);
	STEP(I, b, c, d, a, 13, 21, 0x4e0811a1);
	STEP(I, a, b, c, d, 4, 6, 0xf7537e82);
	STEP(I, d, a, b, c, 11, 10, 0xbd3af235);
	STEP(I, c, d, a, b, 2, 15, 0x2ad7d2bb);
	STEP(I, b, c, d, a, 9, 21, 0xeb86d391);

	s[0] += a;
	s[1] += b;
	s[2] += c;
	s[3] += d;
}

/* A lane's message: its whole blocks, then one or two blocks of tail and padding. */
struct lane {
	const unsigned char *p;
	size_t nblk; /* whole blocks not yet hashed */
	unsigned ntail, tail_at; /* tail blocks, and how many of them are hashed */
	struct m3_md5_job *job; /* NULL: the lane is idle */
	unsigned char tail[128];
};

static void
lane_start(struct lane *l, struct m3_md5_job *j)
{
	size_t rest = j->n % 64;
	uint64_t bits = (uint64_t)j->n << 3;

	l->job = j;
	l->p = j->p;
	l->nblk = j->n / 64;
	l->ntail = rest < 56 ? 1 : 2;
	l->tail_at = 0;
	memset(l->tail, 0, sizeof(l->tail));
	if (rest > 0)
		memcpy(l->tail, l->p + l->nblk * 64, rest);
	l->tail[rest] = 0x80;
	for (unsigned i = 0; i < 8; i++)
		l->tail[l->ntail * 64 - 8 + i] = (unsigned char)(bits >> (8 * i));
}

/*
 * The block of each lane's src, little-endian words, transposed so that w[k] is word k.  The
 * words go to a plain array first and into the vectors whole: stored one element at a time
 * into a vector wider than the target's (SSE2, AVX2), clang builds spent more time here than
 * libcrypto takes for the whole MD5 (0.5 against 0.76 GB/s).
 */
static inline __attribute__((always_inline)) void
transpose(vec *w, const unsigned char *const *src)
{
	uint32_t t[16][LANES];

	for (unsigned l = 0; l < LANES; l++)
		for (unsigned k = 0; k < 16; k++) {
			const unsigned char *q = src[l] + 4 * k;
			t[k][l] = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
				  (uint32_t)q[3] << 24;
		}
	memcpy(w, t, sizeof(t));
}

/*
 * Every job through the lanes.  While every busy lane has whole blocks left, runs of them are
 * hashed with the state kept in registers; a lane's tail blocks are one run each.
 */
static inline __attribute__((always_inline)) void
run_lanes(struct m3_md5_job *jobs, size_t n)
{
	static const unsigned char zero[64];
	struct lane ln[LANES];
	vec s[4], w[16];
	const unsigned char *src[LANES];
	size_t next = 0;

	memset(ln, 0, sizeof(ln));
	for (;;) {
		size_t run = SIZE_MAX;
		unsigned busy = 0;
		for (unsigned l = 0; l < LANES; l++) {
			if (ln[l].job == NULL && next < n) {
				lane_start(&ln[l], &jobs[next++]);
				for (unsigned i = 0; i < 4; i++)
					s[i][l] = init[i];
			}
			if (ln[l].job == NULL) {
				src[l] = zero;
				continue;
			}
			busy++;
			if (ln[l].nblk > 0) {
				src[l] = ln[l].p;
				run = ln[l].nblk < run ? ln[l].nblk : run;
			} else {
				src[l] = ln[l].tail + 64 * ln[l].tail_at;
				run = 1;
			}
		}
		if (busy == 0)
			break;
		for (size_t r = 0; r < run; r++) {
			transpose(w, src);
			block(s, w);
			for (unsigned l = 0; l < LANES; l++)
				if (ln[l].job != NULL && ln[l].nblk > 0)
					src[l] += 64;
		}
		for (unsigned l = 0; l < LANES; l++) {
			if (ln[l].job == NULL)
				continue;
			if (ln[l].nblk > 0) {
				ln[l].nblk -= run;
				ln[l].p += 64 * run;
			} else if (++ln[l].tail_at == ln[l].ntail) {
				for (unsigned i = 0; i < 16; i++)
					ln[l].job->md5[i] =
						(unsigned char)(s[i / 4][l] >> (8 * (i % 4)));
				ln[l].job = NULL;
			}
		}
	}
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("avx512f"))) static void
run_avx512(struct m3_md5_job *jobs, size_t n)
{
	run_lanes(jobs, n);
}

__attribute__((target("avx2"))) static void
run_avx2(struct m3_md5_job *jobs, size_t n)
{
	run_lanes(jobs, n);
}
#endif

static void
run_plain(struct m3_md5_job *jobs, size_t n)
{
	run_lanes(jobs, n);
}

void
m3_md5_many(struct m3_md5_job *jobs, size_t n)
{
	if (n < MIN_MANY) {
		for (size_t i = 0; i < n; i++)
			m3_md5(jobs[i].p, jobs[i].n, jobs[i].md5);
		return;
	}
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f")) {
		run_avx512(jobs, n);
		return;
	}
	if (__builtin_cpu_supports("avx2")) {
		run_avx2(jobs, n);
		return;
	}
#endif
	run_plain(jobs, n);
}
