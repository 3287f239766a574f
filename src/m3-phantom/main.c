/* m3-phantom: sample studies with known truth as real DICOM: mammograms and a dental CBCT. */
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "m3/cli.h"
#include "phantom.h"

enum {
	OPT_SIZE = 256,
	OPT_SPACING,
	OPT_NOISE,
	OPT_SYNTAX,
	OPT_MULTIFRAME,
	OPT_ARTEFACTS,
	OPT_PROGRESS,
	OPT_VERSION,
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: m3-phantom mammo|cbct [-hqv] [-j n] [-o dir | -o file.tar] [-s seed]\n"
		   "                  [--size WxH | --size XxYxZ] [--spacing mm] [--noise f]\n"
		   "                  [--syntax explicit|rle|jpegls|j2k] [--multiframe] "
		   "[--artefacts]\n"
		   "                  [--progress] [--version]\n");
}

static void
help(void)
{
	usage(stdout);
	printf("\nWrites a mammography study (mammo) or a dental CBCT series (cbct) as DICOM "
	       "files\n"
	       "with their truth, into a new directory or as a tar stream on stdout.\n\n"
	       "  -o, --output dest   a directory to create, a .tar file, or - for stdout "
	       "(default)\n"
	       "  -s, --seed n        the same seed gives byte-identical output (default 1)\n"
	       "      --size WxH      mammo image columns x rows (default 3328x4096)\n"
	       "      --size XxYxZ    cbct columns x rows x slices (default 400x400x300)\n"
	       "      --spacing mm    pixel size (mammo default 0.07; cbct default 100 mm / X)\n"
	       "      --noise f       scale of the quantum or CT noise, 0 for none (default 1)\n"
	       "      --syntax name   transfer syntax: explicit (default), rle, jpegls, j2k\n"
	       "      --multiframe    cbct: one Enhanced CT multi-frame file, CT.dcm\n"
	       "      --artefacts     cbct: metal fillings with streaks and beam hardening\n"
	       "  -j, --jobs n        threads (default: all cores)\n"
	       "      --progress      progress on stderr even when it is not a terminal\n"
	       "  -q, --quiet         no warnings\n"
	       "  -v, --verbose       say what was made\n"
	       "  -h, --help          this help\n"
	       "      --version       the version\n");
}

/* "WxH" or "XxYxZ" into n numbers from lo to hi. */
static int
parse_size(const char *s, unsigned *out, int n, long lo, long hi, struct m3_err *e)
{
	const char *p = s;

	for (int i = 0; i < n; i++) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p || v < lo || v > hi || *end != (i + 1 < n ? 'x' : '\0'))
			return m3_err_set(e, M3_EUSAGE,
					  "--size: \"%s\" is not %s with each from %ld to %ld", s,
					  n == 2 ? "WxH" : "XxYxZ", lo, hi);
		out[i] = (unsigned)v;
		p = end + 1;
	}
	return M3_OK;
}

struct args {
	const char *out, *size, *spacing;
	int progress, quiet;
};

/* Options that need the mode, checked after all options are read. */
static int
check_mode(struct ph_opts *o, const struct args *a, int argc, char **argv, struct m3_err *e)
{
	if (argc != 1)
		return m3_err_set(e, M3_EUSAGE,
				  argc == 0 ? "missing mode: mammo or cbct"
					    : "one mode only: mammo or cbct");
	if (strcmp(argv[0], "mammo") == 0)
		o->mode = PH_MAMMO;
	else if (strcmp(argv[0], "cbct") == 0)
		o->mode = PH_CBCT;
	else
		return m3_err_set(e, M3_EUSAGE, "%s: unknown mode (mammo or cbct)", argv[0]);
	if (o->mode == PH_MAMMO && (o->multiframe || o->artefacts))
		return m3_err_set(e, M3_EUSAGE, "%s: only for cbct",
				  o->multiframe ? "--multiframe" : "--artefacts");
	if (a->size != NULL && parse_size(a->size, o->size, o->mode == PH_MAMMO ? 2 : 3, 16,
					  o->mode == PH_MAMMO ? 16384 : 2048, e) != M3_OK)
		return e->code;
	if (a->spacing != NULL &&
	    m3_parse_double("--spacing", a->spacing, 0.01, 10, &o->spacing, e) != M3_OK)
		return e->code;
	return M3_OK;
}

static int
parse(int argc, char **argv, struct ph_opts *o, struct args *a, struct m3_err *e)
{
	static const struct option longopts[] = {
		{"artefacts", no_argument, NULL, OPT_ARTEFACTS},
		{"help", no_argument, NULL, 'h'},
		{"jobs", required_argument, NULL, 'j'},
		{"multiframe", no_argument, NULL, OPT_MULTIFRAME},
		{"noise", required_argument, NULL, OPT_NOISE},
		{"output", required_argument, NULL, 'o'},
		{"progress", no_argument, NULL, OPT_PROGRESS},
		{"quiet", no_argument, NULL, 'q'},
		{"seed", required_argument, NULL, 's'},
		{"size", required_argument, NULL, OPT_SIZE},
		{"spacing", required_argument, NULL, OPT_SPACING},
		{"syntax", required_argument, NULL, OPT_SYNTAX},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	long seed;
	int c, syn;

	while ((c = getopt_long(argc, argv, "hj:o:qs:v", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			help();
			return -1;
		case OPT_VERSION:
			m3_print_version();
			return -1;
		case 'j':
			if (m3_parse_jobs(optarg, &o->jobs, e) != M3_OK)
				return e->code;
			break;
		case 'o':
			a->out = optarg;
			break;
		case 'q':
			a->quiet = 1;
			m3_cli_quiet(1);
			break;
		case 's':
			if (m3_parse_long("--seed", optarg, 0, LONG_MAX, &seed, e) != M3_OK)
				return e->code;
			o->seed = (uint64_t)seed;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case OPT_SIZE:
			a->size = optarg;
			break;
		case OPT_SPACING:
			a->spacing = optarg;
			break;
		case OPT_NOISE:
			if (m3_parse_double("--noise", optarg, 0, 10, &o->noise, e) != M3_OK)
				return e->code;
			break;
		case OPT_SYNTAX:
			if ((syn = m3_dcm_syntax_parse(optarg)) < 0)
				return m3_err_set(
					e, M3_EUSAGE,
					"--syntax: \"%s\" is not explicit, rle, jpegls or j2k",
					optarg);
			o->syntax = (enum m3_dcm_syntax)syn;
			break;
		case OPT_MULTIFRAME:
			o->multiframe = 1;
			break;
		case OPT_ARTEFACTS:
			o->artefacts = 1;
			break;
		case OPT_PROGRESS:
			a->progress = 1;
			break;
		default:
			usage(stderr);
			return -2;
		}
	}
	return check_mode(o, a, argc - optind, argv + optind, e);
}

int
main(int argc, char *argv[])
{
	struct ph_opts o = {.seed = 1, .noise = 1, .syntax = M3_DCM_EXPLICIT};
	struct args a = {0};
	struct m3_progress prog;
	struct ph_sink sink;
	struct ph_when when;
	struct m3_err e;
	int rc;

	m3_cli_init(argv[0]);
	m3_err_init(&e);
	if ((rc = parse(argc, argv, &o, &a, &e)) != M3_OK)
		return rc == -1 ? m3_stdout_done() : rc == -2 ? 2 : m3_report(&e);
	if (o.jobs == 0 && m3_parse_jobs(NULL, &o.jobs, &e) != M3_OK)
		return m3_report(&e);
	m3_progress_init(&prog, a.progress, a.quiet);
	o.progress = &prog;
	ph_when(&when, o.seed);
	if (ph_sink_open(&sink, a.out, o.mode == PH_MAMMO ? 8 : (size_t)o.size[2] + 310, when.t,
			 &e) != M3_OK)
		return m3_report(&e);
	rc = o.mode == PH_MAMMO ? ph_mammo(&o, &sink, &e) : ph_cbct(&o, &sink, &e);
	m3_progress_done(&prog);
	if (rc != M3_OK) {
		ph_sink_abort(&sink);
		return m3_report(&e);
	}
	if (ph_sink_commit(&sink, &e) != M3_OK)
		return m3_report(&e);
	return 0;
}
