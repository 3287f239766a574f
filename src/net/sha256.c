/* SHA-256, HMAC-SHA256 and MD5 through libcrypto's EVP interface; hex and base64. */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "m3/sha256.h"

int
m3_hash_init(struct m3_hash *h, enum m3_hash_kind kind)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	h->ctx = c;
	h->kind = kind;
	if (c == NULL)
		return -1;
	if (EVP_DigestInit_ex(c, kind == M3_HASH_MD5 ? EVP_md5() : EVP_sha256(), NULL) != 1) {
		m3_hash_release(h);
		return -1;
	}
	return 0;
}

void
m3_hash_update(struct m3_hash *h, const void *p, size_t n)
{
	if (h->ctx != NULL && n > 0)
		EVP_DigestUpdate(h->ctx, p, n);
}

size_t
m3_hash_final(struct m3_hash *h, unsigned char *out)
{
	unsigned len = 0;

	if (h->ctx != NULL)
		EVP_DigestFinal_ex(h->ctx, out, &len);
	m3_hash_release(h);
	return len;
}

void
m3_hash_release(struct m3_hash *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

void
m3_sha256(const void *p, size_t n, unsigned char out[M3_SHA256_LEN])
{
	EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL);
}

void
m3_md5(const void *p, size_t n, unsigned char out[M3_MD5_LEN])
{
	EVP_Digest(p, n, out, NULL, EVP_md5(), NULL);
}

void
m3_hmac_sha256(const void *key, size_t klen, const void *msg, size_t n,
	       unsigned char out[M3_SHA256_LEN])
{
	unsigned len = M3_SHA256_LEN;

	HMAC(EVP_sha256(), key, (int)klen, msg, n, out, &len);
}

void
m3_hex(const unsigned char *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
m3_base64(const unsigned char *in, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned long v = (unsigned long)in[i] << 16 | in[i + 1] << 8 | in[i + 2];
		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = b64[(v >> 6) & 63];
		out[o++] = b64[v & 63];
	}
	if (i < n) {
		unsigned long v = (unsigned long)in[i] << 16 | (i + 1 < n ? in[i + 1] << 8 : 0);
		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
}

long
m3_unbase64(const char *in, unsigned char *out, size_t max)
{
	unsigned long v = 0;
	size_t o = 0;
	int bits = 0;

	for (; *in != '\0' && *in != '='; in++) {
		const char *p = strchr(b64, *in);
		if (p == NULL)
			return -1;
		v = (v << 6) | (unsigned long)(p - b64);
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (o >= max)
				return -1;
			out[o++] = (unsigned char)(v >> bits);
		}
	}
	return (long)o;
}
