/* Hashes for the network code: SHA-256, HMAC-SHA256 and MD5 (ETags, Content-MD5), hex, base64. */
#ifndef M3_SHA256_H
#define M3_SHA256_H

#include <stddef.h>

/*
 * A thin layer over OpenSSL's libcrypto, which libcurl already links: its SHA-256 uses the
 * CPU's SHA extensions (several times a portable C version), and it is audited code.
 */
enum m3_hash_kind { M3_HASH_SHA256, M3_HASH_MD5 };

#define M3_SHA256_LEN 32
#define M3_MD5_LEN 16

struct m3_hash {
	void *ctx;
	enum m3_hash_kind kind;
};

/* Returns 0, or -1 when out of memory. */
int m3_hash_init(struct m3_hash *h, enum m3_hash_kind kind);
void m3_hash_update(struct m3_hash *h, const void *p, size_t n);
/* Writes the digest (32 or 16 bytes), returns its length, and releases h. */
size_t m3_hash_final(struct m3_hash *h, unsigned char *out);
void m3_hash_release(struct m3_hash *h);

void m3_sha256(const void *p, size_t n, unsigned char out[M3_SHA256_LEN]);
void m3_md5(const void *p, size_t n, unsigned char out[M3_MD5_LEN]);
/* One message for m3_md5_many: p and n in, md5 out. */
struct m3_md5_job {
	const void *p;
	size_t n;
	unsigned char md5[M3_MD5_LEN];
};

/*
 * The MD5s of n messages (the ETags of many objects).  MD5 is one serial chain per message,
 * so libcrypto cannot go faster than ~0.75 GB/s on a core; here 16 messages go side by side
 * in the lanes of the vector unit (AVX-512, AVX2 or SSE2, chosen at run time: md5x.c), a few
 * times that.  A handful of messages go to libcrypto one by one.
 */
void m3_md5_many(struct m3_md5_job *jobs, size_t n);
void m3_hmac_sha256(const void *key, size_t klen, const void *msg, size_t n,
		    unsigned char out[M3_SHA256_LEN]);

/* Lowercase hex into out (2n + 1 bytes); base64 with padding into out (4 * ((n + 2) / 3) + 1). */
void m3_hex(const unsigned char *in, size_t n, char *out);
void m3_base64(const unsigned char *in, size_t n, char *out);
/* Decodes base64; returns the length or -1 on bad input or when over max. */
long m3_unbase64(const char *in, unsigned char *out, size_t max);

#endif
