/* volcat: test helper that reads m3 volume streams and writes them back through libm3. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "m3/cli.h"
#include "m3/vol.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: volcat [-cDq] [-z level] [-o file] [file ...]\n");
}

/* Copies every volume of one input to w and/or raw.  A volume is read whole and checked
 * before any of it is written, so bad input leaves no partial volume on the output. */
static int
cat_one(const char *name, struct m3_vol_writer *w, FILE *raw, struct m3_err *e)
{
	FILE *fp = m3_open_in(name, e);
	struct m3_vol_reader *r;
	struct m3_vol v;
	size_t n;
	int rc;

	if (fp == NULL)
		return e->code;
	if ((r = m3_vol_reader_new(fp, name)) == NULL) {
		m3_close_in(fp);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	m3_vol_init(&v);
	while ((rc = m3_vol_read(r, &v, e)) == M3_OK) {
		if (w != NULL && (rc = m3_vol_write(w, &v, e)) != M3_OK)
			break;
		m3_vol_nbytes(&v, &n, e);
		if (raw != NULL && fwrite(v.data, 1, n, raw) != n) {
			rc = m3_err_set(e, M3_EIO, "stdout: write error");
			break;
		}
	}
	m3_vol_release(&v);
	m3_vol_reader_free(r);
	m3_close_in(fp);
	return rc == M3_EOF ? M3_OK : rc;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"check", no_argument, NULL, 'c'},
		{"data", no_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},
		{"output", required_argument, NULL, 'o'},
		{"quiet", no_argument, NULL, 'q'},
		{"gzip", required_argument, NULL, 'z'},
		{NULL, 0, NULL, 0},
	};
	struct m3_vol_writer *w = NULL;
	struct m3_out out;
	struct m3_err e;
	const char *outname = NULL;
	int c, check = 0, data = 0, rc = M3_OK;
	long level = -1;

	m3_cli_init(argv[0]);
	m3_err_init(&e);
	while ((c = getopt_long(argc, argv, "cDho:qz:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			check = 1;
			break;
		case 'D':
			data = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'o':
			outname = optarg;
			break;
		case 'q':
			m3_cli_quiet(1);
			break;
		case 'z':
			if (m3_parse_long("-z", optarg, 0, 9, &level, &e) != M3_OK)
				return m3_report(&e);
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (!check && m3_out_open(&out, outname, 1, &e) != M3_OK)
		return m3_report(&e);
	if (!check && !data && (w = m3_vol_writer_new(out.fp, outname, (int)level)) == NULL) {
		m3_out_abort(&out);
		m3_err_set(&e, M3_ENOMEM, "out of memory");
		return m3_report(&e);
	}
	for (int i = 0; i < (argc > 0 ? argc : 1) && rc == M3_OK; i++)
		rc = cat_one(argc > 0 ? argv[i] : "-", w, data ? out.fp : NULL, &e);
	m3_vol_writer_free(w);
	if (check)
		return rc == M3_OK ? m3_exit_code(m3_stdout_close(&e)) : m3_report(&e);
	if (rc != M3_OK) {
		m3_out_abort(&out);
		return m3_report(&e);
	}
	if (m3_out_commit(&out, &e) != M3_OK)
		return m3_report(&e);
	return 0;
}
