/* m3-segment: CT/CBCT volumes in, label volumes out (thresholds, morphology, components). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m3/cli.h"
#include "m3/pool.h"
#include "m3/vol.h"
#include "seg.h"
#include "seg_cuda.h"

/* Preset ranges in calibrated HU; --hu-offset moves them all. */
static const struct preset {
	const char *name;
	float lo, hi;
} presets[] = {
	{"bone", 300, 3000},
	{"teeth", 1550, 4000},
	{"soft-tissue", -100, 300},
};

enum {
	OPT_OTSU = 256,
	OPT_HU_OFFSET,
	OPT_OPEN,
	OPT_CLOSE,
	OPT_FILL,
	OPT_PROGRESS,
	OPT_VERSION,
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: m3-segment [-lmqv] [-c 6|26] [-d auto|cpu|cuda] [-g sigma[mm]] [-j jobs]\n"
		"                  [-k n] [-o file] [-p preset[,preset...]] [-s voxels]\n"
		"                  [-t low:high] [-z level] [--close r[mm][@label]]\n"
		"                  [--fill-holes[=label]] [--hu-offset hu] [--open r[mm][@label]]\n"
		"                  [--otsu classes] [--progress]\n"
		"                  [file ...]\n"
		"       m3-segment -h | --help | --version\n");
}

/* -h: the usage, then every option in a line. */
static void
help(void)
{
	usage(stdout);
	printf("\n"
	       "  -p, --preset LIST       bone, teeth, soft-tissue (HU ranges, see m3-segment(1))\n"
	       "  -t, --threshold LO:HI   label LO <= v <= HI; an empty side is open\n"
	       "      --hu-offset HU      move every preset range by HU (CBCT)\n"
	       "      --otsu N            N classes by Otsu's method instead of -p/-t\n"
	       "  -g, --gaussian SIGMA    Gaussian smoothing first (voxels, or mm)\n"
	       "  -m, --median            3x3x3 median smoothing first\n"
	       "      --open R[@LABEL]    opening by a ball of R voxels (or Rmm)\n"
	       "      --close R[@LABEL]   closing by a ball of R voxels (or Rmm)\n"
	       "      --fill-holes[=LABEL] fill closed cavities\n"
	       "  -c, --connectivity N    6 or 26 for components (default 26)\n"
	       "  -l, --keep-largest      keep the largest component of each label\n"
	       "  -k, --keep N            keep the N largest components of each label\n"
	       "  -s, --min-size VOXELS   clear components smaller than VOXELS\n"
	       "  -j, --jobs N            CPU threads (default all cores)\n"
	       "  -d, --device DEV        auto, cpu or cuda (default auto, or M3_DEVICE)\n"
	       "  -o, --output FILE       write FILE (renamed into place at the end)\n"
	       "  -z, --gzip LEVEL        gzip each output volume at LEVEL 0-9\n"
	       "  -q, --quiet             no warnings\n"
	       "  -v, --verbose           device, thresholds, components, times on stderr\n"
	       "      --progress          progress on stderr even when not a terminal\n"
	       "  -h, --help              this help\n"
	       "      --version           name and version\n");
}

/* A label range from -t LOW:HIGH; an empty side is open. */
static int
parse_range(const char *s, float *lo, float *hi, struct m3_err *e)
{
	const char *c = strchr(s, ':');
	char *end;
	double a = -INFINITY, b = INFINITY;

	if (c == NULL)
		return m3_err_set(e, M3_EUSAGE, "-t: \"%s\" is not LOW:HIGH", s);
	if (c != s && ((a = strtod(s, &end)), end != c || !isfinite(a)))
		return m3_err_set(e, M3_EUSAGE, "-t: \"%s\": bad low value", s);
	if (c[1] != '\0' && ((b = strtod(c + 1, &end)), *end != '\0' || !isfinite(b)))
		return m3_err_set(e, M3_EUSAGE, "-t: \"%s\": bad high value", s);
	if (a > b)
		return m3_err_set(e, M3_EUSAGE, "-t: \"%s\": low is above high", s);
	*lo = (float)a;
	*hi = (float)b;
	return M3_OK;
}

/* A radius "2" (voxels) or "0.5mm", for one label with "@name". */
static int
parse_radius(const char *opt, const char *s, struct seg_op *op, struct m3_err *e)
{
	char buf[64];
	const char *at = strchr(s, '@');
	size_t n = at != NULL ? (size_t)(at - s) : strlen(s);

	if (at != NULL &&
	    snprintf(op->only, sizeof(op->only), "%s", at + 1) >= (int)sizeof(op->only))
		return m3_err_set(e, M3_EUSAGE, "%s: \"%s\": no such label", opt, at + 1);
	if (n >= sizeof(buf))
		return m3_err_set(e, M3_EUSAGE, "%s: \"%s\" is too long", opt, s);
	memcpy(buf, s, n);
	buf[n] = '\0';
	s = buf;

	op->mm = n > 2 && strcmp(buf + n - 2, "mm") == 0;
	if (op->mm)
		buf[n - 2] = '\0';
	if (m3_parse_double(opt, s, 0, 1000, &op->radius, e) != M3_OK)
		return e->code;
	if (op->radius <= 0)
		return m3_err_set(e, M3_EUSAGE, "%s: the radius must be above 0", opt);
	return M3_OK;
}

static int
add_label(struct seg_plan *p, const char *name, float lo, float hi, struct m3_err *e)
{
	if (p->nlabels >= SEG_MAXLAB - 1)
		return m3_err_set(e, M3_EUSAGE, "more than %d labels", SEG_MAXLAB - 1);
	snprintf(p->names[p->nlabels], sizeof(p->names[0]), "%s", name);
	p->nlabels++;
	p->ranges[p->nranges++] = (struct seg_range){lo, hi, p->nlabels};
	return M3_OK;
}

static int
add_presets(struct seg_plan *p, const char *list, double off, struct m3_err *e)
{
	char buf[256], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		size_t i;
		for (i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
			if (strcmp(tok, presets[i].name) == 0)
				break;
		if (i == sizeof(presets) / sizeof(presets[0]))
			return m3_err_set(e, M3_EUSAGE,
					  "-p: \"%s\" is not bone, teeth or soft-tissue", tok);
		if (add_label(p, tok, (float)(presets[i].lo + off), (float)(presets[i].hi + off),
			      e) != M3_OK)
			return e->code;
	}
	return M3_OK;
}

/* Ranges that overlap go to the one that starts higher (the brighter tissue): stable sort. */
static void
sort_ranges(struct seg_plan *p)
{
	for (int i = 1; i < p->nranges; i++)
		for (int j = i; j > 0 && p->ranges[j].lo > p->ranges[j - 1].lo; j--) {
			struct seg_range t = p->ranges[j];
			p->ranges[j] = p->ranges[j - 1];
			p->ranges[j - 1] = t;
		}
}

struct opts {
	struct seg_plan plan;
	const char *presets[SEG_MAXLAB];
	int npresets;
	const char *ranges[SEG_MAXLAB];
	int nranges;
	double hu_offset;
	unsigned jobs;
	enum m3_device dev;
	const char *devarg;
	const char *outname;
	long level;
	int progress, quiet;
};

/* Labels from -p and -t, in the order given on the command line (presets first). */
static int
build_labels(struct opts *o, struct m3_err *e)
{
	struct seg_plan *p = &o->plan;

	if (p->otsu > 0 && o->npresets + o->nranges > 0)
		return m3_err_set(e, M3_EUSAGE, "--otsu: not with -p or -t");
	if (p->otsu == 0 && o->npresets + o->nranges == 0)
		return m3_err_set(e, M3_EUSAGE, "nothing to segment: give -p, -t or --otsu");
	for (int i = 0; i < o->npresets; i++)
		if (add_presets(p, o->presets[i], o->hu_offset, e) != M3_OK)
			return e->code;
	for (int i = 0; i < o->nranges; i++) {
		float lo = 0, hi = 0;
		char name[32];
		if (parse_range(o->ranges[i], &lo, &hi, e) != M3_OK)
			return e->code;
		snprintf(name, sizeof(name), "range%d", i + 1);
		if (add_label(p, name, lo, hi, e) != M3_OK)
			return e->code;
	}
	for (int c = 1; c < p->otsu; c++) {
		snprintf(p->names[c - 1], sizeof(p->names[0]), "class%d", c);
		p->nlabels = c;
	}
	sort_ranges(p);
	for (int i = 0; i < p->nops; i++) {
		struct seg_op *op = &p->ops[i];
		if (op->only[0] == '\0')
			continue;
		for (int l = 1; l <= p->nlabels && op->label == 0; l++)
			if (strcmp(op->only, p->names[l - 1]) == 0)
				op->label = l;
		if (op->label == 0)
			return m3_err_set(e, M3_EUSAGE, "%s: \"%s\": no such label",
					  op->kind == SEG_OPEN    ? "--open"
					  : op->kind == SEG_CLOSE ? "--close"
								  : "--fill-holes",
					  op->only);
	}
	return M3_OK;
}

static int
parse_args(int argc, char *argv[], struct opts *o, struct m3_err *e)
{
	static const struct option longopts[] = {
		{"connectivity", required_argument, NULL, 'c'},
		{"close", required_argument, NULL, OPT_CLOSE},
		{"device", required_argument, NULL, 'd'},
		{"fill-holes", optional_argument, NULL, OPT_FILL},
		{"gaussian", required_argument, NULL, 'g'},
		{"help", no_argument, NULL, 'h'},
		{"hu-offset", required_argument, NULL, OPT_HU_OFFSET},
		{"jobs", required_argument, NULL, 'j'},
		{"keep", required_argument, NULL, 'k'},
		{"keep-largest", no_argument, NULL, 'l'},
		{"median", no_argument, NULL, 'm'},
		{"min-size", required_argument, NULL, 's'},
		{"open", required_argument, NULL, OPT_OPEN},
		{"otsu", required_argument, NULL, OPT_OTSU},
		{"output", required_argument, NULL, 'o'},
		{"preset", required_argument, NULL, 'p'},
		{"progress", no_argument, NULL, OPT_PROGRESS},
		{"quiet", no_argument, NULL, 'q'},
		{"threshold", required_argument, NULL, 't'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, OPT_VERSION},
		{"gzip", required_argument, NULL, 'z'},
		{NULL, 0, NULL, 0},
	};
	struct seg_plan *p = &o->plan;
	const char *jobs = NULL;
	long l;
	int c;

	while ((c = getopt_long(argc, argv, "c:d:g:hj:k:lmo:p:qs:t:vz:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (m3_parse_long("-c", optarg, 6, 26, &l, e) != M3_OK)
				return e->code;
			if (l != 6 && l != 26)
				return m3_err_set(e, M3_EUSAGE, "-c: \"%s\" is not 6 or 26",
						  optarg);
			p->conn = (int)l;
			break;
		case 'd':
			o->devarg = optarg;
			break;
		case 'g': {
			struct seg_op op;
			if (parse_radius("-g", optarg, &op, e) != M3_OK)
				return e->code;
			p->sigma = op.radius;
			p->sigma_mm = op.mm;
			break;
		}
		case 'h':
			help();
			return -1;
		case 'j':
			jobs = optarg;
			break;
		case 'k':
			if (m3_parse_long("-k", optarg, 1, 1000000000, &p->keep, e) != M3_OK)
				return e->code;
			break;
		case 'l':
			p->keep = 1;
			break;
		case 'm':
			p->median = 1;
			break;
		case 'o':
			o->outname = optarg;
			break;
		case 'p':
			if (o->npresets >= SEG_MAXLAB)
				return m3_err_set(e, M3_EUSAGE, "-p: given too often");
			o->presets[o->npresets++] = optarg;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 's':
			if (m3_parse_long("-s", optarg, 1, 1L << 50, &l, e) != M3_OK)
				return e->code;
			p->min_size = (size_t)l;
			break;
		case 't':
			if (o->nranges >= SEG_MAXLAB)
				return m3_err_set(e, M3_EUSAGE, "-t: given too often");
			o->ranges[o->nranges++] = optarg;
			break;
		case 'v':
			p->verbose = 1;
			break;
		case 'z':
			if (m3_parse_long("-z", optarg, 0, 9, &o->level, e) != M3_OK)
				return e->code;
			break;
		case OPT_OTSU:
			if (m3_parse_long("--otsu", optarg, 2, SEG_MAXLAB, &l, e) != M3_OK)
				return e->code;
			p->otsu = (int)l;
			break;
		case OPT_HU_OFFSET:
			if (m3_parse_double("--hu-offset", optarg, -100000, 100000, &o->hu_offset,
					    e) != M3_OK)
				return e->code;
			break;
		case OPT_OPEN:
		case OPT_CLOSE:
		case OPT_FILL:
			if (p->nops >= SEG_MAXOPS)
				return m3_err_set(e, M3_EUSAGE, "more than %d morphology steps",
						  SEG_MAXOPS);
			memset(&p->ops[p->nops], 0, sizeof(p->ops[0]));
			p->ops[p->nops].kind = c == OPT_OPEN ? SEG_OPEN : SEG_CLOSE;
			if (c == OPT_FILL) {
				p->ops[p->nops].kind = SEG_FILL;
				if (optarg != NULL &&
				    snprintf(p->ops[p->nops].only, sizeof(p->ops[0].only), "%s",
					     optarg) >= (int)sizeof(p->ops[0].only))
					return m3_err_set(e, M3_EUSAGE,
							  "--fill-holes: \"%s\": no such label",
							  optarg);
			} else if (parse_radius(c == OPT_OPEN ? "--open" : "--close", optarg,
						&p->ops[p->nops], e) != M3_OK)
				return e->code;
			p->nops++;
			break;
		case OPT_PROGRESS:
			o->progress = 1;
			break;
		case OPT_VERSION:
			m3_print_version();
			return -1;
		default:
			usage(stderr);
			return -2;
		}
	}
	if (m3_parse_jobs(jobs, &o->jobs, e) != M3_OK)
		return e->code;
	if (m3_parse_device(o->devarg, &o->dev, e) != M3_OK)
		return e->code;
	return build_labels(o, e);
}

/* Picks the device: 1 for CUDA, 0 for the CPU, or an error for -d cuda without one. */
static int
pick_device(const struct opts *o, int *cuda, struct m3_err *e)
{
	*cuda = 0;
	if (o->dev == M3_DEV_CPU)
		return M3_OK;
#ifdef M3_HAVE_CUDA
	char name[256];
	if (seg_cuda_probe(name, sizeof(name)) > 0) {
		*cuda = 1;
		if (o->plan.verbose)
			fprintf(stderr, "%s: using CUDA device %s\n", m3_progname(), name);
		return M3_OK;
	}
	if (o->dev == M3_DEV_CUDA)
		return m3_err_set(e, M3_EFAIL, "-d cuda: no CUDA device");
#else
	if (o->dev == M3_DEV_CUDA)
		return m3_err_set(e, M3_EFAIL, "-d cuda: built without CUDA");
#endif
	if (o->plan.verbose)
		fprintf(stderr, "%s: no CUDA device; using the CPU\n", m3_progname());
	return M3_OK;
}

static void
verbose_volume(const struct opts *o, const char *name, unsigned long nv, const struct m3_vol *v,
	       const struct seg_times *t, double total)
{
	const char *units = m3_vol_get(v, "m3-units");

	/* units that say they are not HU are a warning (silenced by -q); missing units, as in
	 * hand-made volumes, only a note under -v */
	if (o->npresets > 0 && units != NULL && strcmp(units, "HU") != 0)
		m3_warn("%s: volume %lu: m3-units is %s, not HU: the presets may not fit", name, nv,
			units);
	if (!o->plan.verbose)
		return;
	if (o->npresets > 0 && units == NULL)
		fprintf(stderr,
			"%s: %s: volume %lu: m3-units is missing, not HU: the presets may not "
			"fit\n",
			m3_progname(), name, nv);
	fprintf(stderr, "%s: %s: volume %lu: %zux%zux%zu %s:", m3_progname(), name, nv, v->sizes[0],
		v->sizes[1], v->sizes[2], m3_type_name(v->type));
	for (int i = 0; i < t->n; i++)
		fprintf(stderr, " %s %.3f s,", t->what[i], t->t[i]);
	fprintf(stderr, " total %.3f s\n", total);
}

/* Every volume of one input through the plan onto w. */
static int
segment_file(const struct opts *o, const char *name, struct m3_pool *pool, int cuda,
	     struct m3_vol_writer *w, struct m3_progress *pg, struct m3_err *e)
{
	FILE *fp = m3_open_in(name, e);
	const char *label = strcmp(name, "-") == 0 ? "stdin" : name;
	struct m3_vol_reader *r;
	struct m3_vol in, out;
	int rc;

	if (fp == NULL)
		return e->code;
	if ((r = m3_vol_reader_new(fp, label)) == NULL) {
		m3_close_in(fp);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	m3_vol_init(&in);
	m3_vol_init(&out);
	while ((rc = m3_vol_read(r, &in, e)) == M3_OK) {
		unsigned long nv = m3_vol_reader_count(r);
		struct seg_times t = {.n = 0};
		double t0 = seg_now();
		m3_progress(pg, "%s: volume %lu: segmenting", label, nv);
		if ((rc = seg_volume(&o->plan, pool, cuda, &in, &out, &t, e)) != M3_OK) {
			if (nv > 1)
				m3_err_prefix(e, "%s: volume %lu", label, nv);
			else
				m3_err_prefix(e, "%s", label);
			break;
		}
		verbose_volume(o, label, nv, &in, &t, seg_now() - t0);
		if ((rc = m3_vol_write(w, &out, e)) != M3_OK)
			break;
		m3_vol_release(&in);
		m3_vol_release(&out);
	}
	m3_progress_done(pg);
	m3_vol_release(&in);
	m3_vol_release(&out);
	m3_vol_reader_free(r);
	m3_close_in(fp);
	return rc == M3_EOF ? M3_OK : rc;
}

int
main(int argc, char *argv[])
{
	struct opts o = {.plan = {.conn = 26, .min_size = 0}, .level = -1};
	struct m3_vol_writer *w = NULL;
	struct m3_pool *pool = NULL;
	struct m3_progress pg;
	struct m3_out out;
	struct m3_err e;
	int rc, cuda;

	m3_cli_init(argv[0]);
	m3_err_init(&e);
	if ((rc = parse_args(argc, argv, &o, &e)) < 0)
		return rc == -1 ? m3_stdout_done() : 2;
	if (rc != M3_OK)
		return m3_report(&e);
	argc -= optind;
	argv += optind;
	m3_cli_quiet(o.quiet);
	m3_progress_init(&pg, o.progress, o.quiet);
	if (pick_device(&o, &cuda, &e) != M3_OK)
		return m3_report(&e);
	if ((pool = m3_pool_new(o.jobs, &e)) == NULL)
		return m3_report(&e);
	if (m3_out_open(&out, o.outname, 1, &e) != M3_OK) {
		m3_pool_free(pool);
		return m3_report(&e);
	}
	if ((w = m3_vol_writer_new(out.fp, o.outname, (int)o.level)) == NULL) {
		rc = m3_err_set(&e, M3_ENOMEM, "out of memory");
	} else {
		rc = M3_OK;
		for (int i = 0; i < (argc > 0 ? argc : 1) && rc == M3_OK; i++)
			rc = segment_file(&o, argc > 0 ? argv[i] : "-", pool, cuda, w, &pg, &e);
	}
	m3_vol_writer_free(w);
	m3_pool_free(pool);
	if (rc != M3_OK) {
		m3_out_abort(&out);
		return m3_report(&e);
	}
	if (m3_out_commit(&out, &e) != M3_OK)
		return m3_report(&e);
	return 0;
}
