/* m3-mammo: micro-calcification detection on 2D mammograms from the m3 volume stream;
 * findings as JSON Lines on stdout, a marked PNG with -o. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "m3/cli.h"
#include "m3/vol.h"
#include "mammo.h"

enum { OPT_FEATURES = 256, OPT_PROGRESS, OPT_VERSION, OPT_PNG_LEVEL };

struct opts {
	struct mm_params p;
	struct mm_overlay_opts ov;
	const char *out, *model;
	enum m3_device dev;
	unsigned jobs;
	int explain, verbose, progress, quiet;
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: m3-mammo [-eqv] [-d auto|cpu|cuda] [-t score] [-m mm] [-n count] [-a mm2]\n"
		"                [-c score] [-o file.png] [-s scale] [-M model] [-j threads]\n"
		"                [--png-level N] [--features] [--progress] [file ...]\n"
		"  -d, --device D         auto, cpu or cuda (default auto, or M3_DEVICE)\n"
		"  -t, --threshold S      classifier score to report a calcification (0.3)\n"
		"  -m, --min-size MM      smallest equivalent diameter reported, mm (0.1)\n"
		"  -n, --cluster-count N  calcifications that make a cluster (3)\n"
		"  -a, --cluster-area A   ... within this area, mm^2 (100)\n"
		"  -c, --cluster-support S  score from which a candidate may complete a cluster\n"
		"                         of 2 calcifications to -n members (0.01)\n"
		"  -o, --output FILE      PNG overlay; %%n in the name is the image number\n"
		"  -s, --overlay-scale S  overlay size relative to the image, 0.01-1 (1)\n"
		"      --png-level N      zlib level of the overlay, 1-9 (2)\n"
		"  -M, --model FILE       classifier to use instead of the built-in one\n"
		"  -e, --explain          per-stage counts and timings on stderr\n"
		"      --features         every candidate with its feature vector (for training)\n"
		"  -j, --jobs N           CPU threads (default: all cores)\n"
		"  -q, --quiet            no warnings\n"
		"  -v, --verbose          say which device and model run\n"
		"      --progress         progress on stderr even when it is not a terminal\n"
		"  -h, --help             this help\n"
		"      --version          version\n");
}

/* Parses the options; returns -1 to go on, else the exit code. */
static int
parse(int argc, char *argv[], struct opts *o)
{
	static const struct option longopts[] = {
		{"cluster-area", required_argument, NULL, 'a'},
		{"cluster-support", required_argument, NULL, 'c'},
		{"device", required_argument, NULL, 'd'},
		{"explain", no_argument, NULL, 'e'},
		{"features", no_argument, NULL, OPT_FEATURES},
		{"help", no_argument, NULL, 'h'},
		{"jobs", required_argument, NULL, 'j'},
		{"model", required_argument, NULL, 'M'},
		{"min-size", required_argument, NULL, 'm'},
		{"cluster-count", required_argument, NULL, 'n'},
		{"output", required_argument, NULL, 'o'},
		{"overlay-scale", required_argument, NULL, 's'},
		{"png-level", required_argument, NULL, OPT_PNG_LEVEL},
		{"progress", no_argument, NULL, OPT_PROGRESS},
		{"quiet", no_argument, NULL, 'q'},
		{"threshold", required_argument, NULL, 't'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	const char *dev = NULL;
	struct m3_err e;
	long l;
	int c, rc = M3_OK;

	m3_err_init(&e);
	while ((c = getopt_long(argc, argv, "a:c:d:ehj:M:m:n:o:qs:t:v", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			rc = m3_parse_double("-a", optarg, 1, 1e5, &o->p.cluster_area_mm2, &e);
			break;
		case 'c':
			rc = m3_parse_double("-c", optarg, 0, 1, &o->p.cluster_support, &e);
			break;
		case 'd':
			dev = optarg;
			break;
		case 'e':
			o->explain = 1;
			break;
		case OPT_FEATURES:
			o->p.features = 1;
			break;
		case 'h':
			usage(stdout);
			return m3_stdout_done();
		case 'j':
			rc = m3_parse_jobs(optarg, &o->jobs, &e);
			break;
		case 'M':
			o->model = optarg;
			break;
		case 'm':
			rc = m3_parse_double("-m", optarg, 0, 10, &o->p.min_diam_mm, &e);
			break;
		case 'n':
			if ((rc = m3_parse_long("-n", optarg, 1, 1000, &l, &e)) == M3_OK)
				o->p.cluster_count = (int)l;
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 's':
			rc = m3_parse_double("-s", optarg, 0.01, 1, &o->ov.scale, &e);
			break;
		case OPT_PNG_LEVEL:
			if ((rc = m3_parse_long("--png-level", optarg, 1, 9, &l, &e)) == M3_OK)
				o->ov.zlevel = (int)l;
			break;
		case OPT_PROGRESS:
			o->progress = 1;
			break;
		case 't':
			rc = m3_parse_double("-t", optarg, 0, 1, &o->p.threshold, &e);
			break;
		case 'v':
			o->verbose = 1;
			break;
		case OPT_VERSION:
			m3_print_version();
			return m3_stdout_done();
		default:
			usage(stderr);
			return 2;
		}
		if (rc != M3_OK)
			return m3_report(&e);
	}
	if (m3_parse_device(dev, &o->dev, &e) != M3_OK)
		return m3_report(&e);
	if (o->out != NULL && strcmp(o->out, "-") == 0) {
		m3_err_set(&e, M3_EUSAGE,
			   "-o: the overlay goes to a file; stdout has the findings");
		return m3_report(&e);
	}
	return -1;
}

/* The -o name for image n: every %n replaced by n. */
static char *
out_name(const char *pat, unsigned long n)
{
	size_t len = strlen(pat) + 1;
	char num[24], *s, *d;

	snprintf(num, sizeof(num), "%lu", n);
	for (const char *p = pat; (p = strstr(p, "%n")) != NULL; p += 2)
		len += strlen(num);
	if ((s = d = malloc(len)) == NULL)
		return NULL;
	while (*pat) {
		if (pat[0] == '%' && pat[1] == 'n') {
			d = stpcpy(d, num);
			pat += 2;
		} else {
			*d++ = *pat++;
		}
	}
	*d = '\0';
	return s;
}

static void
explain(const struct mm_result *r, const struct mm_image *im, const struct mm_mask *mk,
	const struct mm_params *p, unsigned long n)
{
	const char *pn = m3_progname();
	fprintf(stderr, "%s: image %lu: %s %s, %zux%zu, %g x %g mm pixels, device %s\n", pn, n,
		im->laterality ? im->laterality : "-", im->view ? im->view : "-", im->w, im->h,
		im->sx, im->sy, r->device);
	fprintf(stderr, "%s:   mask: %zu breast px, %zu pectoral px, chest wall %s  %.1f ms\n", pn,
		mk->npix, mk->npect, mk->chest_right ? "right" : "left", r->t.mask * 1e3);
	fprintf(stderr, "%s:   enhance: Hessian spot filter, local noise  %.1f ms\n", pn,
		r->t.enhance * 1e3);
	fprintf(stderr, "%s:   detect: %zu candidates over %g x local noise, peak %g  %.1f ms\n",
		pn, r->ncand, p->k_sigma, p->k_peak, r->t.detect * 1e3);
	fprintf(stderr, "%s:   features: %d per candidate  %.1f ms\n", pn, MM_NFEAT,
		r->t.features * 1e3);
	fprintf(stderr, "%s:   classify: %zu calcifications at score >= %g  %.1f ms\n", pn,
		r->ncalc, p->threshold, r->t.classify * 1e3);
	fprintf(stderr,
		"%s:   cluster: %zu clusters (>= %d within %g mm^2, support from score %g), %zu "
		"calcifications in all  %.1f ms\n",
		pn, r->nclusters, p->cluster_count, p->cluster_area_mm2, p->cluster_support,
		r->ncalc, r->t.cluster * 1e3);
	fprintf(stderr, "%s:   overlay: %.1f ms; total %.1f ms\n", pn, r->t.overlay * 1e3,
		r->t.total * 1e3);
}

struct run {
	struct opts *o;
	struct mm_model model;
	struct m3_pool *pool;
	int use_cuda, pending; /* pending: an overlay without %n waits for the stream's end */
	struct m3_out pend;
	char *pjson; /* ... and so does its image's JSON line, so that a second image leaves none */
	size_t pjson_len;
	unsigned long n;
	struct m3_progress pg;
};

/* -o naming the standard output (-o /dev/stdout, or the file it is redirected to) would put
 * the PNG into the findings; a device there (/dev/null) takes both harmlessly. */
static int
is_stdout(const char *path)
{
	struct stat so, st;

	return fstat(1, &so) == 0 && stat(path, &st) == 0 && so.st_dev == st.st_dev &&
	       so.st_ino == st.st_ino && !S_ISCHR(st.st_mode);
}

static int
overlay(struct run *R, const struct mm_image *im, const struct mm_mask *mk, struct mm_result *r,
	struct m3_err *e)
{
	struct m3_out out;
	char *name;
	double t = mm_now();
	int several = strstr(R->o->out, "%n") != NULL;

	if (R->pending) {
		m3_out_abort(&R->pend);
		R->pending = 0;
		free(R->pjson);
		R->pjson = NULL;
		return m3_err_set(e, M3_EUSAGE, "-o: several images need %%n in the name");
	}
	if ((name = out_name(R->o->out, R->n)) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	if (several && is_stdout(name)) {
		m3_err_set(e, M3_EUSAGE, "-o %s: that is the standard output", name);
		free(name);
		return e->code;
	}
	/* m3_out_open names the file in its message already; the PNG writer does not */
	if (m3_out_open(&out, name, 1, e) != M3_OK) {
		free(name);
		return e->code;
	}
	if (mm_overlay_write(out.fp, im, mk, r, &R->o->ov, R->pool, e) != M3_OK) {
		m3_out_abort(&out);
		m3_err_prefix(e, "%s", name);
		free(name);
		return e->code;
	}
	free(name);
	r->t.overlay = mm_now() - t;
	r->t.total += r->t.overlay;
	if (!several) {
		R->pend = out;
		R->pending = 1;
		return M3_OK;
	}
	return m3_out_commit(&out, e);
}

static int
one_image(struct run *R, const struct m3_vol *v, const char *name, struct m3_err *e)
{
	struct mm_image im;
	struct mm_mask mk;
	struct mm_result r;
	const char *mod = m3_vol_get(v, "m3-modality");
	int rc;

	R->n++;
	m3_progress(&R->pg, "image %lu", R->n);
	if ((rc = mm_image_from_vol(&im, v, e)) != M3_OK)
		return m3_err_prefix(e, "%s: image %lu", name, R->n);
	if (mod != NULL && strcmp(mod, "MG") != 0)
		m3_warn("%s: image %lu: modality %s, not MG; going on", name, R->n, mod);
	rc = mm_run(&r, &im, &R->o->p, &R->model, R->use_cuda, R->pool, &mk, e);
	if (rc == M3_OK && R->o->out != NULL)
		rc = overlay(R, &im, &mk, &r, e);
	if (rc == M3_OK) {
		if (R->o->explain)
			explain(&r, &im, &mk, &R->o->p, R->n);
		FILE *js = R->pending ? open_memstream(&R->pjson, &R->pjson_len) : stdout;
		if (js == NULL) {
			rc = m3_err_set(e, M3_ENOMEM, "out of memory");
		} else {
			mm_json_write(js, &r, &im, &R->o->p, R->n, m3_pool_size(R->pool));
			if (js != stdout && (ferror(js) | fclose(js)) != 0) {
				free(R->pjson);
				R->pjson = NULL;
				rc = m3_err_set(e, M3_ENOMEM, "out of memory");
			}
			fflush(stdout);
		}
	} else if (e->code == M3_EDATA) {
		m3_err_prefix(e, "%s: image %lu", name, R->n);
	}
	mm_result_release(&r);
	mm_mask_release(&mk);
	mm_image_release(&im);
	return rc;
}

static int
one_input(struct run *R, const char *name, struct m3_err *e)
{
	FILE *fp = m3_open_in(name, e);
	struct m3_vol_reader *rd;
	struct m3_vol v;
	int rc;

	if (fp == NULL)
		return e->code;
	if ((rd = m3_vol_reader_new(fp, name)) == NULL) {
		m3_close_in(fp);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	m3_vol_init(&v);
	while ((rc = m3_vol_read(rd, &v, e)) == M3_OK) {
		rc = one_image(R, &v, name, e);
		m3_vol_release(&v);
		m3_vol_init(&v);
		if (rc != M3_OK)
			break;
	}
	m3_vol_release(&v);
	m3_vol_reader_free(rd);
	m3_close_in(fp);
	return rc == M3_EOF ? M3_OK : rc;
}

static int
setup(struct run *R, struct m3_err *e)
{
	char what[256];
	int have = mm_cuda_available(what, sizeof(what));

	if (R->o->out != NULL && is_stdout(R->o->out))
		return m3_err_set(e, M3_EUSAGE, "-o %s: that is the standard output", R->o->out);
	if (R->o->dev == M3_DEV_CUDA && !have)
		return m3_err_set(e, M3_EFAIL, "cuda: %s", what);
	R->use_cuda = R->o->dev != M3_DEV_CPU && have;
	if (R->o->model != NULL) {
		if (mm_model_load(&R->model, R->o->model, e) != M3_OK)
			return e->code;
	} else {
		mm_model_default(&R->model);
	}
	if ((R->pool = m3_pool_new(R->o->jobs, e)) == NULL)
		return e->code;
	if (R->o->verbose)
		fprintf(stderr, "%s: device %s (%s), %u threads, model %s\n", m3_progname(),
			R->use_cuda ? "cuda" : "cpu", what, m3_pool_size(R->pool), R->model.name);
	return M3_OK;
}

int
main(int argc, char *argv[])
{
	struct opts o;
	struct run R;
	struct m3_err e;
	int rc;

	m3_cli_init(argv[0]);
	m3_err_init(&e);
	memset(&o, 0, sizeof(o));
	memset(&R, 0, sizeof(R));
	mm_params_default(&o.p);
	o.ov.scale = 1.0;
	o.ov.zlevel = 2;
	if ((rc = parse(argc, argv, &o)) >= 0)
		return rc;
	m3_cli_quiet(o.quiet);
	R.o = &o;
	if ((rc = setup(&R, &e)) != M3_OK) {
		mm_model_release(&R.model);
		return m3_report(&e);
	}
	m3_progress_init(&R.pg, o.progress, o.quiet);
	argc -= optind;
	argv += optind;
	for (int i = 0; i < (argc > 0 ? argc : 1) && rc == M3_OK; i++)
		rc = one_input(&R, argc > 0 ? argv[i] : "-", &e);
	m3_progress_done(&R.pg);
	if (R.pending) {
		/* the PNG first: a failed commit must not leave its image's line behind */
		if (rc == M3_OK)
			rc = m3_out_commit(&R.pend, &e);
		else
			m3_out_abort(&R.pend);
		if (rc == M3_OK && R.pjson != NULL &&
		    fwrite(R.pjson, 1, R.pjson_len, stdout) != R.pjson_len)
			rc = m3_err_set(&e, M3_EIO, "stdout: %s", strerror(errno));
	}
	free(R.pjson);
	m3_pool_free(R.pool);
	mm_model_release(&R.model);
	if (rc != M3_OK)
		return m3_report(&e);
	return m3_exit_code(m3_stdout_close(&e)) ? m3_report(&e) : 0;
}
