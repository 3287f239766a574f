/* Pseudonyms for UIDs: 2.25.<decimal> from HMAC-SHA-256 keyed by M3_PSEUDO_KEY, or from plain
 * SHA-256 without a key.  The same UID always gets the same pseudonym, so series and studies
 * still match across runs and machines; with a secret key nobody without it can test a guess. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

struct sha256 {
	uint32_t h[8];
	unsigned char buf[64];
	uint64_t len;
	size_t nbuf;
};

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

static uint32_t
ror(uint32_t x, int n)
{
	return x >> n | x << (32 - n);
}

static void
block(struct sha256 *c, const unsigned char *p)
{
	uint32_t w[64], a[8];

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ w[i - 15] >> 3;
		uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ w[i - 2] >> 10;
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	memcpy(a, c->h, sizeof(a));
	for (int i = 0; i < 64; i++) {
		uint32_t s1 = ror(a[4], 6) ^ ror(a[4], 11) ^ ror(a[4], 25);
		uint32_t ch = (a[4] & a[5]) ^ (~a[4] & a[6]);
		uint32_t t1 = a[7] + s1 + ch + K[i] + w[i];
		uint32_t s0 = ror(a[0], 2) ^ ror(a[0], 13) ^ ror(a[0], 22);
		uint32_t maj = (a[0] & a[1]) ^ (a[0] & a[2]) ^ (a[1] & a[2]);
		memmove(a + 1, a, 7 * sizeof(*a));
		a[4] += t1;
		a[0] = t1 + s0 + maj;
	}
	for (int i = 0; i < 8; i++)
		c->h[i] += a[i];
}

static void
sha_init(struct sha256 *c)
{
	static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
				       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	memcpy(c->h, h0, sizeof(h0));
	c->len = 0;
	c->nbuf = 0;
}

static void
sha_add(struct sha256 *c, const void *data, size_t n)
{
	const unsigned char *p = data;

	c->len += n;
	while (n > 0) {
		size_t k = 64 - c->nbuf < n ? 64 - c->nbuf : n;
		memcpy(c->buf + c->nbuf, p, k);
		c->nbuf += k;
		p += k;
		n -= k;
		if (c->nbuf == 64) {
			block(c, c->buf);
			c->nbuf = 0;
		}
	}
}

static void
sha_end(struct sha256 *c, unsigned char out[32])
{
	uint64_t bits = c->len * 8;
	unsigned char pad = 0x80, len[8];

	sha_add(c, &pad, 1);
	pad = 0;
	while (c->nbuf != 56)
		sha_add(c, &pad, 1);
	for (int i = 0; i < 8; i++)
		len[i] = (unsigned char)(bits >> (56 - 8 * i));
	sha_add(c, len, 8);
	for (int i = 0; i < 8; i++)
		for (int j = 0; j < 4; j++)
			out[4 * i + j] = (unsigned char)(c->h[i] >> (24 - 8 * j));
}

void
m3d_sha256(const void *data, size_t n, unsigned char out[32])
{
	struct sha256 c;

	sha_init(&c);
	sha_add(&c, data, n);
	sha_end(&c, out);
}

/* RFC 2104 HMAC over SHA-256. */
static void
hmac(const char *key, const char *msg, unsigned char out[32])
{
	unsigned char k[64] = {0}, pad[64], inner[32];
	struct sha256 c;
	size_t klen = strlen(key);

	if (klen > 64)
		m3d_sha256(key, klen, k);
	else
		memcpy(k, key, klen);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	sha_init(&c);
	sha_add(&c, pad, 64);
	sha_add(&c, msg, strlen(msg));
	sha_end(&c, inner);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	sha_init(&c);
	sha_add(&c, pad, 64);
	sha_add(&c, inner, 32);
	sha_end(&c, out);
}

void
m3d_pseudo_uid(const char *uid, char out[M3D_UID_MAX])
{
	const char *key = getenv("M3_PSEUDO_KEY");
	unsigned char d[32], num[16];
	char dec[48];
	size_t nd = 0;
	int zero;

	if (*uid == '\0') {
		*out = '\0';
		return;
	}
	if (key != NULL && *key != '\0')
		hmac(key, uid, d);
	else
		m3d_sha256(uid, strlen(uid), d);
	/* 128 bits as an unsigned decimal: repeated division by 10, big-endian bytes */
	memcpy(num, d, sizeof(num));
	do {
		unsigned rem = 0;
		zero = 1;
		for (int i = 0; i < 16; i++) {
			unsigned cur = rem << 8 | num[i];
			num[i] = (unsigned char)(cur / 10);
			rem = cur % 10;
			zero &= num[i] == 0;
		}
		dec[nd++] = (char)('0' + rem);
	} while (!zero);
	memcpy(out, "2.25.", 5);
	for (size_t i = 0; i < nd; i++)
		out[5 + i] = dec[nd - 1 - i];
	out[5 + nd] = '\0';
}
