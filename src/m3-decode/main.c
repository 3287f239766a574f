/* m3-decode: DICOM files, folders or a tar stream to the m3 volume stream (or NIfTI-1). */
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decode.h"
#include "m3/cli.h"

#ifndef M3_VERSION
#define M3_VERSION "dev"
#endif

static void
usage(FILE *f)
{
	fprintf(f, "usage: m3-decode [-klqvz] [-f nrrd|nifti] [-j N] [-o file] [-s series] "
		   "[--keep-phi]\n"
		   "                 [--progress] [file | folder | -] ...\n");
}

static void
help(void)
{
	usage(stdout);
	printf("DICOM to the m3 volume stream: one volume per series (or per 2D image).\n"
	       "  -f, --format FMT   nrrd (the m3 volume stream, default) or nifti (one volume;\n"
	       "                     also chosen by -o NAME.nii or NAME.nii.gz)\n"
	       "  -h, --help         this help\n"
	       "  -j, --jobs N       decoding threads (default: all cores)\n"
	       "  -k, --keep-going   skip corrupt files with a warning instead of stopping\n"
	       "      --keep-phi     keep real UIDs and write patient name, ID and birth date\n"
	       "  -l, --list         list the series as JSON Lines; decode nothing\n"
	       "  -o, --output FILE  write FILE (complete or not at all) instead of stdout\n"
	       "      --progress     show progress on stderr even when it is not a terminal\n"
	       "  -q, --quiet        no warnings\n"
	       "  -s, --series S     only series S: an index from -l or a series UID\n"
	       "  -v, --verbose      say what is decoded\n"
	       "      --version      print the version\n"
	       "  -z, --gzip         gzip the volume data (NIfTI: write .nii.gz)\n"
	       "Inputs: files, folders (recursive), - or nothing for stdin (a tar stream or one\n"
	       "DICOM file).  See m3-decode(1).\n");
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

enum { OPT_KEEP_PHI = 256, OPT_PROGRESS, OPT_VERSION };

/* Options into o; -1 to go on, else the exit code. */
static int
parse(int argc, char *argv[], struct m3d_opts *o)
{
	static const struct option longopts[] = {
		{"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{"jobs", required_argument, NULL, 'j'},
		{"keep-going", no_argument, NULL, 'k'},
		{"keep-phi", no_argument, NULL, OPT_KEEP_PHI},
		{"list", no_argument, NULL, 'l'},
		{"output", required_argument, NULL, 'o'},
		{"progress", no_argument, NULL, OPT_PROGRESS},
		{"quiet", no_argument, NULL, 'q'},
		{"series", required_argument, NULL, 's'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, OPT_VERSION},
		{"gzip", no_argument, NULL, 'z'},
		{NULL, 0, NULL, 0},
	};
	const char *format = NULL;
	struct m3_err e;
	int c;

	m3_err_init(&e);
	while ((c = getopt_long(argc, argv, "f:hj:klo:qs:vz", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			format = optarg;
			break;
		case 'h':
			help();
			return m3_stdout_done();
		case 'j':
			if (m3_parse_jobs(optarg, &o->jobs, &e) != M3_OK)
				return m3_report(&e);
			break;
		case 'k':
			o->keep_going = 1;
			break;
		case 'l':
			o->list = 1;
			break;
		case 'o':
			o->outname = optarg;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 's':
			o->series = optarg;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'z':
			o->gzip = 1;
			break;
		case OPT_KEEP_PHI:
			o->keep_phi = 1;
			break;
		case OPT_PROGRESS:
			o->progress = 1;
			break;
		case OPT_VERSION:
			printf("m3-decode (m3) %s (GDCM %s)\n", M3_VERSION, m3_dcm_version());
			return m3_stdout_done();
		default:
			usage(stderr);
			return 2;
		}
	}
	if (format != NULL && strcmp(format, "nrrd") != 0 && strcmp(format, "nifti") != 0) {
		m3_err_set(&e, M3_EUSAGE, "-f: \"%s\" is not nrrd or nifti", format);
		return m3_report(&e);
	}
	o->nifti = format != NULL ? strcmp(format, "nifti") == 0
				  : o->outname != NULL && (ends_with(o->outname, ".nii") ||
							   ends_with(o->outname, ".nii.gz"));
	if (o->nifti && o->outname != NULL && ends_with(o->outname, ".gz"))
		o->gzip = 1;
	m3_cli_quiet(o->quiet);
	return -1;
}

static int
gather(struct m3d_input *in, int argc, char *argv[], struct m3_err *e)
{
	if (argc == 0 && isatty(STDIN_FILENO))
		return m3_err_set(e, M3_EUSAGE,
				  "no input: name files or folders, or pipe a tar "
				  "stream or a DICOM file");
	for (int i = 0; i < (argc > 0 ? argc : 1); i++) {
		int rc = m3d_input_add(in, argc > 0 ? argv[i] : "-", e);
		if (rc != M3_OK)
			return rc;
	}
	if (in->n == 0)
		return m3_err_set(e, M3_EDATA, "%s: no files in the input",
				  argc > 0 ? argv[0] : "-");
	return M3_OK;
}

/* The decoder runs in a child until it ends; with -k a file that crashed it is skipped. */
static int
decode(struct m3d_job *job, struct m3_err *e)
{
	struct m3d_guard *g = m3d_guard_new(job->in->n);
	long culprit;
	int code = 0, rc;

	if (g == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	while ((rc = m3d_guard_run(g, m3d_run, job, &code, &culprit, e)) != M3_OK) {
		if (culprit < 0 || (size_t)culprit >= job->in->n)
			break;
		m3_err_prefix(e, "%s", job->in->src[culprit].name);
		if (!job->opts->keep_going || m3d_guard_skipped(g, (size_t)culprit))
			break;
		m3_warn("%s; skipped", e->msg);
		m3d_guard_skip(g, (size_t)culprit);
	}
	m3d_guard_free(g);
	if (rc != M3_OK)
		return rc;
	/* the child reported its own error; only its exit code is left */
	return code == 0 ? M3_OK : -code;
}

int
main(int argc, char *argv[])
{
	struct m3d_opts o;
	struct m3d_input in;
	struct m3d_job job;
	struct m3_out out;
	struct m3_err e;
	int rc;

	m3_cli_init(argv[0]);
	m3_err_init(&e);
	memset(&o, 0, sizeof(o));
#ifdef __GLIBC__
	/* GDCM allocates and frees a file-sized buffer per image; glibc would give it back to
	 * the kernel each time and fault it in again (3x the time of a native decode) */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
	if ((rc = parse(argc, argv, &o)) >= 0)
		return rc;
	m3d_input_init(&in);
	if ((rc = gather(&in, argc - optind, argv + optind, &e)) != M3_OK) {
		m3d_input_release(&in);
		return m3_report(&e);
	}
	if (m3_out_open(&out, o.outname, !o.list, &e) != M3_OK) {
		m3d_input_release(&in);
		return m3_report(&e);
	}
	job.in = &in;
	job.opts = &o;
	job.out = out.fp;
	rc = decode(&job, &e);
	m3d_input_release(&in);
	if (rc != M3_OK) {
		m3_out_abort(&out);
		return rc < 0 ? -rc : m3_report(&e);
	}
	if (m3_out_commit(&out, &e) != M3_OK)
		return m3_report(&e);
	return 0;
}
