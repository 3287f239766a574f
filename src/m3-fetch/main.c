/* m3-fetch: get objects from S3, DICOMweb, http(s) or files, to stdout or a folder. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "fetch.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: m3-fetch [-hlqv] [-j jobs] [-o path] [--no-sign-request] [--part-size "
		   "MiB]\n"
		   "                [--progress] [--retries n] [--sha256 hex] [--timeout seconds]\n"
		   "                [--verify-etag] [--version] url\n");
}

void
opts_net(const struct opts *o, struct m3_net *n)
{
	m3_net_init(n);
	n->verbose = o->verbose;
	if (o->retries >= 0)
		n->retries = (int)o->retries;
	if (o->timeout > 0)
		n->timeout = o->timeout;
}

static int
list(struct src *s, struct m3_conn *c, struct m3_err *e)
{
	int rc;

	if (s->kind == SRC_S3 && !s->prefix)
		s->prefix = 1; /* -l on a key lists every key that starts with it */
	if ((rc = src_objects(s, c, e)) != M3_OK)
		return rc;
	for (size_t i = 0; i < s->nobj; i++)
		list_line(stdout, &s->objs[i]);
	return m3_stdout_close(e);
}

static int
fetch(const char *url, const struct opts *o, struct m3_err *e)
{
	struct src s;
	struct m3_conn *c = NULL;
	int rc;

	memset(&s, 0, sizeof(s));
	opts_net(o, &s.net);
	if ((rc = src_open(&s, url, o, e)) != M3_OK)
		goto done;
	if ((c = m3_conn_new(&s.net)) == NULL) {
		rc = m3_err_set(e, M3_ENOMEM, "out of memory");
		goto done;
	}
	if (o->list) {
		rc = list(&s, c, e);
		goto done;
	}
	/* one S3 object is learnt from the answer to its first ranged GET, with no HEAD */
	if (!(s.kind == SRC_S3 && !s.prefix) && (rc = src_objects(&s, c, e)) != M3_OK)
		goto done;
	if (s.prefix && s.nobj == 0) {
		rc = m3_err_set(e, M3_EDATA, "%s: no objects", url);
		goto done;
	}
	for (size_t i = 0; s.prefix && i < s.nobj; i++)
		if (!safe_name(s.objs[i].name)) {
			rc = m3_err_set(e, M3_EDATA, "%s: unsafe name \"%s\"", url, s.objs[i].name);
			goto done;
		}
	if (s.prefix && o->sha256 != NULL) {
		rc = m3_err_set(e, M3_EUSAGE, "--sha256: only for one object");
		goto done;
	}
	rc = fetch_run(&s, c, o, e);
done:
	m3_conn_free(c);
	src_close(&s);
	return rc;
}

int
main(int argc, char *argv[])
{
	enum {
		O_NOSIGN = 256,
		O_PART,
		O_PROGRESS,
		O_RETRIES,
		O_SHA256,
		O_TIMEOUT,
		O_VERIFY,
		O_VERSION
	};
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"jobs", required_argument, NULL, 'j'},
		{"list", no_argument, NULL, 'l'},
		{"no-sign-request", no_argument, NULL, O_NOSIGN},
		{"output", required_argument, NULL, 'o'},
		{"part-size", required_argument, NULL, O_PART},
		{"progress", no_argument, NULL, O_PROGRESS},
		{"quiet", no_argument, NULL, 'q'},
		{"retries", required_argument, NULL, O_RETRIES},
		{"sha256", required_argument, NULL, O_SHA256},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"verbose", no_argument, NULL, 'v'},
		{"verify-etag", no_argument, NULL, O_VERIFY},
		{"version", no_argument, NULL, O_VERSION},
		{NULL, 0, NULL, 0},
	};
	struct opts o = {.jobs = 8, .part = 0};
	struct m3_err e;
	long v, retries = -1, timeout = -1;
	int c, rc;

	m3_cli_init(argv[0]);
	m3_err_init(&e);
	while ((c = getopt_long(argc, argv, "hj:lo:qv", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return m3_stdout_done();
		case 'j':
			if (m3_parse_long("-j", optarg, 1, 256, &v, &e) != M3_OK)
				return m3_report(&e);
			o.jobs = (unsigned)v;
			break;
		case 'l':
			o.list = 1;
			break;
		case 'o':
			o.out = optarg;
			break;
		case 'q':
			m3_cli_quiet(1);
			break;
		case 'v':
			o.verbose = 1;
			break;
		case O_NOSIGN:
			o.anon = 1;
			break;
		case O_PART:
			if (m3_parse_long("--part-size", optarg, 1, 1024, &v, &e) != M3_OK)
				return m3_report(&e);
			o.part = (size_t)v << 20;
			break;
		case O_PROGRESS:
			o.progress = 1;
			break;
		case O_RETRIES:
			if (m3_parse_long("--retries", optarg, 0, 100, &retries, &e) != M3_OK)
				return m3_report(&e);
			break;
		case O_SHA256:
			if (strlen(optarg) != 64 ||
			    strspn(optarg, "0123456789abcdefABCDEF") != 64) {
				m3_err_set(&e, M3_EUSAGE, "--sha256: \"%s\" is not 64 hex digits",
					   optarg);
				return m3_report(&e);
			}
			o.sha256 = optarg;
			break;
		case O_TIMEOUT:
			if (m3_parse_long("--timeout", optarg, 1, 3600, &timeout, &e) != M3_OK)
				return m3_report(&e);
			break;
		case O_VERIFY:
			o.verify_etag = 1;
			break;
		case O_VERSION:
			m3_print_version();
			return m3_stdout_done();
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 1) {
		usage(stderr);
		return 2;
	}
	if (m3_net_global_init(&e) != M3_OK)
		return m3_report(&e);
	o.retries = retries;
	o.timeout = timeout;
	/* 16 MiB: half the requests of 8 MiB parts, each of which costs a server as much CPU as
	 * ~1 MiB of data; --verify-etag keeps to m3-push's 8 MiB parts, which it checks */
	o.adaptive = o.part == 0 && !o.verify_etag;
	if (o.part == 0)
		o.part = o.verify_etag ? 8u << 20 : 16u << 20;
	if (strncmp(argv[optind], "dicomweb+", 9) == 0) {
		struct m3_net net;
		opts_net(&o, &net);
		rc = dicomweb_run(argv[optind], &o, &net, &e);
	} else {
		rc = fetch(argv[optind], &o, &e);
	}
	return rc == M3_OK ? 0 : m3_report(&e);
}
