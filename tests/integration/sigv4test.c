/* sigv4test: m3's SigV4 signer on fixed inputs, for tests/cli/t81-push.sh.
 *   sigv4test example                       AWS's documented S3 examples (header and presigned):
 * TAP sigv4test presign URL EPOCH EXPIRES     a presigned GET for s3://bucket/key at a fixed time;
 *                                           endpoint, region and keys from the environment
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m3/s3.h"
#include "m3/sigv4.h"

static struct m3_creds aws = {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
			      NULL};

static int
example(void)
{
	/* "Example: GET Object" and "Example: presigned URL" of the S3 SigV4 documentation */
	struct m3_kv h[] = {
		{"host", "examplebucket.s3.amazonaws.com"},
		{"range", "bytes=0-9"},
		{"x-amz-content-sha256",
		 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"x-amz-date", "20130524T000000Z"},
	};
	struct m3_sigv4_req r = {.method = "GET",
				 .path = "/test.txt",
				 .query = "",
				 .headers = h,
				 .nheaders = 4,
				 .region = "us-east-1",
				 .service = "s3"};
	const char *want_auth =
		"AWS4-HMAC-SHA256 "
		"Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
		"SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
		"Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";
	const char *want_sig = "X-Amz-Signature="
			       "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
	char *auth, *q;
	int ok1, ok2;

	r.payload_hash = h[2].v;
	snprintf(r.amzdate, sizeof(r.amzdate), "20130524T000000Z");
	auth = m3_sigv4_auth(&aws, &r);
	ok1 = auth != NULL && strcmp(auth, want_auth) == 0;
	printf("%s 1 - AWS example: GET Object, Authorization header\n", ok1 ? "ok" : "not ok");
	if (!ok1)
		printf("# got %s\n", auth ? auth : "NULL");
	r.nheaders = 1;
	q = m3_sigv4_presign(&aws, &r, NULL, 0, 86400);
	ok2 = q != NULL && strstr(q, want_sig) != NULL;
	printf("%s 2 - AWS example: presigned URL\n", ok2 ? "ok" : "not ok");
	if (!ok2)
		printf("# got %s\n", q ? q : "NULL");
	printf("1..2\n");
	free(auth);
	free(q);
	return ok1 && ok2 ? 0 : 1;
}

int
main(int argc, char *argv[])
{
	struct m3_net net;
	struct m3_s3 s;
	struct m3_err e;
	char *bucket, *key, *url;

	if (argc == 2 && strcmp(argv[1], "example") == 0)
		return example();
	if (argc != 5 || strcmp(argv[1], "presign") != 0) {
		fprintf(stderr,
			"usage: sigv4test example | presign s3://bucket/key epoch expires\n");
		return 2;
	}
	m3_err_init(&e);
	m3_net_init(&net);
	if (m3_s3_init(&s, &net, 0, &e) != M3_OK ||
	    m3_s3_parse(argv[2], &bucket, &key, &e) != M3_OK) {
		fprintf(stderr, "sigv4test: %s\n", e.msg);
		return 1;
	}
	url = m3_s3_presign(&s, bucket, key, atol(argv[4]), (time_t)atoll(argv[3]));
	if (url == NULL)
		return 1;
	printf("%s\n", url);
	free(url);
	free(bucket);
	free(key);
	m3_s3_release(&s);
	return 0;
}
