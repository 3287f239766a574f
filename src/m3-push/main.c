/* m3-push: files or stdin to S3 or a folder; presigned links, a signed webhook, STOW-RS. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "push.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: m3-push [-hqv] [-j jobs] [--checksum md5|sha256] [--content-type type]\n"
		   "               [--kms-key id] [--notify url] [--part-size MiB] [--presign "
		   "seconds]\n"
		   "               [--progress] [--retries n] [--sse none|AES256|aws:kms]\n"
		   "               [--timeout seconds] [--version] file ... destination\n"
		   "       m3-push [-hqv] --stow url file ...\n");
}

static const char *
base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

/* Where input name goes under dest (a prefix or folder ending in '/', or the name itself). */
static char *
target(const char *dest, const char *name, int many)
{
	size_t n = strlen(dest);
	char *t;

	if (!many && n > 0 && dest[n - 1] != '/')
		return strdup(dest);
	if ((t = malloc(n + strlen(base(name)) + 2)) != NULL)
		snprintf(t, n + strlen(base(name)) + 2, "%s%s%s", dest,
			 n > 0 && dest[n - 1] != '/' ? "/" : "", base(name));
	return t;
}

static int
push_one(struct m3_s3 *s3, struct m3_net *net, const struct popts *o, const char *file,
	 const char *dest, int many, int is_s3, struct m3_err *e)
{
	struct result res;
	struct stat st;
	char *t, *bucket = NULL, *key = NULL;
	FILE *fp;
	int rc;

	memset(&res, 0, sizeof(res));
	if (strcmp(file, "-") == 0 && (many || dest[strlen(dest) - 1] == '/'))
		return m3_err_set(e, M3_EUSAGE,
				  "-: stdin needs a destination that names the object");
	if ((t = target(dest, file, many)) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	if ((fp = m3_open_in(file, e)) == NULL) {
		free(t);
		return e->code;
	}
	/* an empty stdin is a pipeline whose writer failed: no empty object for it */
	if (fp == stdin) {
		int c = getc(stdin);
		if (c == EOF) {
			free(t);
			return m3_err_set(e, M3_ENOINPUT, "stdin: empty input");
		}
		ungetc(c, stdin);
	}
	if (is_s3) {
		if ((rc = m3_s3_parse(t, &bucket, &key, e)) == M3_OK && *key == '\0')
			rc = m3_err_set(e, M3_EUSAGE, "%s: no object key", t);
		if (rc == M3_OK)
			rc = put_s3(s3, o, fp, file,
				    fp != stdin && fstat(fileno(fp), &st) == 0 ? st.st_size : -1,
				    bucket, key, &res, e);
	} else {
		const char *path = strncmp(t, "file://", 7) == 0 ? t + 7 : t;
		rc = put_dir(o, fp, file, path, &res, e);
	}
	m3_close_in(fp);
	if (rc == M3_OK && is_s3 && o->presign > 0) {
		if ((res.url = m3_s3_presign(s3, bucket, key, o->presign, time(NULL))) == NULL)
			rc = m3_err_set(e, M3_ENOMEM, "out of memory");
		else
			printf("%s\n", res.url);
	} else if (rc == M3_OK && is_s3 && o->notify != NULL) {
		res.url = m3_s3_presign(s3, bucket, key, 3600, time(NULL));
	}
	if (rc == M3_OK && o->verbose)
		m3_warn("%s: %llu bytes, sha256 %s%s%s", t, (unsigned long long)res.size,
			res.sha256, res.etag[0] ? ", etag " : "", res.etag);
	if (rc == M3_OK && o->notify != NULL)
		rc = notify(net, o->notify, &res, e);
	free(res.url);
	free(bucket);
	free(key);
	free(t);
	return rc;
}

static int
parse_sse(const char *s, struct popts *o, struct m3_err *e)
{
	if (strcmp(s, "none") == 0 || strcmp(s, "AES256") == 0 || strcmp(s, "aws:kms") == 0) {
		o->sse = s;
		return M3_OK;
	}
	return m3_err_set(e, M3_EUSAGE, "--sse: \"%s\" is not none, AES256 or aws:kms", s);
}

static int
run(int n, char **args, const struct popts *o, struct m3_err *e)
{
	struct m3_net net;
	struct m3_s3 s3;
	const char *dest = args[n - 1];
	int is_s3 = strncmp(dest, "s3://", 5) == 0, rc = M3_OK;

	m3_net_init(&net);
	net.verbose = o->verbose;
	if (o->retries >= 0)
		net.retries = (int)o->retries;
	if (o->timeout > 0)
		net.timeout = o->timeout;
	memset(&s3, 0, sizeof(s3));
	if (o->stow != NULL) {
		for (int i = 0; i < n && rc == M3_OK; i++)
			rc = stow(&net, o->stow, args[i], e);
		return rc;
	}
	if (!is_s3 && strncmp(dest, "file://", 7) != 0 && strstr(dest, "://") != NULL)
		return m3_err_set(e, M3_EDATA, "%s: unknown scheme (s3 or file)", dest);
	if (!is_s3 && o->presign > 0)
		return m3_err_set(e, M3_EUSAGE, "--presign: only for s3:// destinations");
	/* every input is checked before anything is sent */
	for (int i = 0; i < n - 1; i++) {
		struct stat st;
		if (strcmp(args[i], "-") != 0 && stat(args[i], &st) != 0)
			return m3_err_set(e, M3_EDATA, "%s: %s", args[i], strerror(errno));
		if (strcmp(args[i], "-") != 0 && S_ISDIR(st.st_mode))
			return m3_err_set(e, M3_EDATA, "%s: is a directory", args[i]);
	}
	if (is_s3 && (rc = m3_s3_init(&s3, &net, 0, e)) != M3_OK)
		return m3_err_prefix(e, "%s", dest);
	for (int i = 0; i < n - 1 && rc == M3_OK; i++)
		rc = push_one(&s3, &net, o, args[i], dest, n > 2, is_s3, e);
	if (is_s3)
		m3_s3_release(&s3);
	return rc;
}

int
main(int argc, char *argv[])
{
	enum {
		O_CHECKSUM = 256,
		O_CTYPE,
		O_KMS,
		O_NOTIFY,
		O_PART,
		O_PRESIGN,
		O_PROGRESS,
		O_RETRIES,
		O_SSE,
		O_STOW,
		O_TIMEOUT,
		O_VERSION
	};
	static const struct option longopts[] = {
		{"checksum", required_argument, NULL, O_CHECKSUM},
		{"content-type", required_argument, NULL, O_CTYPE},
		{"help", no_argument, NULL, 'h'},
		{"jobs", required_argument, NULL, 'j'},
		{"kms-key", required_argument, NULL, O_KMS},
		{"notify", required_argument, NULL, O_NOTIFY},
		{"part-size", required_argument, NULL, O_PART},
		{"presign", required_argument, NULL, O_PRESIGN},
		{"progress", no_argument, NULL, O_PROGRESS},
		{"quiet", no_argument, NULL, 'q'},
		{"retries", required_argument, NULL, O_RETRIES},
		{"sse", required_argument, NULL, O_SSE},
		{"stow", required_argument, NULL, O_STOW},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, O_VERSION},
		{NULL, 0, NULL, 0},
	};
	struct popts o = {
		.jobs = 8, .part = 8u << 20, .sse = "AES256", .retries = -1, .timeout = -1};
	struct m3_err e;
	long v;
	int c, rc;

	m3_cli_init(argv[0]);
	m3_err_init(&e);
	while ((c = getopt_long(argc, argv, "hj:qv", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return m3_stdout_done();
		case 'j':
			if (m3_parse_long("-j", optarg, 1, 64, &v, &e) != M3_OK)
				return m3_report(&e);
			o.jobs = (unsigned)v;
			break;
		case 'q':
			m3_cli_quiet(1);
			break;
		case 'v':
			o.verbose = 1;
			break;
		case O_CHECKSUM:
			if (strcmp(optarg, "md5") != 0 && strcmp(optarg, "sha256") != 0) {
				m3_err_set(&e, M3_EUSAGE, "--checksum: \"%s\" is not md5 or sha256",
					   optarg);
				return m3_report(&e);
			}
			o.sha256_checksum = strcmp(optarg, "sha256") == 0;
			break;
		case O_CTYPE:
			o.content_type = optarg;
			break;
		case O_KMS:
			o.kms_key = optarg;
			break;
		case O_NOTIFY:
			o.notify = optarg;
			break;
		case O_PART:
			if (m3_parse_long("--part-size", optarg, 5, 5120, &v, &e) != M3_OK)
				return m3_report(&e);
			o.part = (size_t)v << 20;
			break;
		case O_PRESIGN:
			if (m3_parse_long("--presign", optarg, 1, 604800, &o.presign, &e) != M3_OK)
				return m3_report(&e);
			break;
		case O_PROGRESS:
			o.progress = 1;
			break;
		case O_RETRIES:
			if (m3_parse_long("--retries", optarg, 0, 100, &o.retries, &e) != M3_OK)
				return m3_report(&e);
			break;
		case O_SSE:
			if (parse_sse(optarg, &o, &e) != M3_OK)
				return m3_report(&e);
			break;
		case O_STOW:
			o.stow = optarg;
			break;
		case O_TIMEOUT:
			if (m3_parse_long("--timeout", optarg, 1, 3600, &o.timeout, &e) != M3_OK)
				return m3_report(&e);
			break;
		case O_VERSION:
			m3_print_version();
			return m3_stdout_done();
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind < (o.stow != NULL ? 1 : 2)) {
		usage(stderr);
		return 2;
	}
	if (o.kms_key != NULL && strcmp(o.sse, "aws:kms") != 0) {
		m3_err_set(&e, M3_EUSAGE, "--kms-key: needs --sse aws:kms");
		return m3_report(&e);
	}
	if (m3_net_global_init(&e) != M3_OK)
		return m3_report(&e);
	rc = run(argc - optind, argv + optind, &o, &e);
	if (rc != M3_OK)
		return m3_report(&e);
	return m3_exit_code(m3_stdout_close(&e)) == 0 ? 0 : m3_report(&e);
}
