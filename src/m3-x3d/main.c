/* m3-x3d: a uint8 label volume in, a surface mesh of each label out (X3D, X3DZ, STL, PLY). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "m3/cli.h"
#include "m3/vol.h"
#include "mesh.h"

struct opts {
	enum x3d_format fmt;
	int fmt_set, verbose, progress, quiet;
	const char *out;
	long smooth, maxtri;
	unsigned jobs;
	unsigned char want[256]; /* -l: the labels asked for; all zero means every label */
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: m3-x3d [-qv] [-f x3d|x3dz|stl|ply] [-j jobs] [-l labels] "
		   "[-m max-triangles]\n"
		   "              [-o file] [-s iterations] [--progress] [file]\n"
		   "  -f, --format FMT          x3d, x3dz (gzip), stl or ply; default from -o, "
		   "else x3d\n"
		   "  -j, --jobs N              threads (default: all cores)\n"
		   "  -l, --labels LIST         only these labels, e.g. 1,2 (default: all)\n"
		   "  -m, --max-triangles N     decimate to at most N triangles in all\n"
		   "  -o, --output FILE         write FILE (default: stdout)\n"
		   "  -s, --smooth N            N Taubin smoothing iterations (default 0)\n"
		   "  -q, --quiet               no warnings\n"
		   "  -v, --verbose             counts and timings of each stage on stderr\n"
		   "      --progress            progress on stderr even when it is not a terminal\n"
		   "  -h, --help                this help\n"
		   "      --version             the version\n");
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
parse_format(const char *s, enum x3d_format *f)
{
	static const char *const names[] = {"x3d", "x3dz", "stl", "ply"};

	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*f = (enum x3d_format)i;
			return 1;
		}
	return 0;
}

/* -l 1,2,7 */
static int
parse_labels(const char *s, unsigned char want[256], struct m3_err *e)
{
	const char *p = s;

	do {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p || v < 1 || v > 255 || (*end != ',' && *end != '\0'))
			return m3_err_set(e, M3_EUSAGE,
					  "-l: \"%s\" is not a list of labels from 1 to 255", s);
		want[v] = 1;
		p = end + (*end == ',');
	} while (*p != '\0');
	return M3_OK;
}

static int
parse_args(int argc, char *argv[], struct opts *o, struct m3_err *e)
{
	static const struct option longopts[] = {
		{"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{"jobs", required_argument, NULL, 'j'},
		{"labels", required_argument, NULL, 'l'},
		{"max-triangles", required_argument, NULL, 'm'},
		{"output", required_argument, NULL, 'o'},
		{"progress", no_argument, NULL, 'P'},
		{"quiet", no_argument, NULL, 'q'},
		{"smooth", required_argument, NULL, 's'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "f:hj:l:m:o:qs:v", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (!parse_format(optarg, &o->fmt))
				return m3_err_set(e, M3_EUSAGE,
						  "-f: \"%s\" is not x3d, x3dz, stl or ply",
						  optarg);
			o->fmt_set = 1;
			break;
		case 'h':
			usage(stdout);
			return -1;
		case 'j':
			if (m3_parse_jobs(optarg, &o->jobs, e) != M3_OK)
				return e->code;
			break;
		case 'l':
			if (parse_labels(optarg, o->want, e) != M3_OK)
				return e->code;
			break;
		case 'm':
			if (m3_parse_long("-m", optarg, 4, 2000000000, &o->maxtri, e) != M3_OK)
				return e->code;
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'P':
			o->progress = 1;
			break;
		case 'q':
			m3_cli_quiet(1);
			o->quiet = 1;
			break;
		case 's':
			if (m3_parse_long("-s", optarg, 0, 100000, &o->smooth, e) != M3_OK)
				return e->code;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'V':
			m3_print_version();
			return -1;
		default:
			usage(stderr);
			return -2;
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "%s: one input at most, %d given\n", m3_progname(), argc - optind);
		usage(stderr);
		return -2;
	}
	return M3_OK;
}

/* The format from -f, else from the -o extension, else x3d. */
static int
pick_format(struct opts *o, struct m3_err *e)
{
	const char *dot = o->out != NULL ? strrchr(o->out, '.') : NULL;

	if (o->fmt_set || o->out == NULL || strcmp(o->out, "-") == 0)
		return M3_OK;
	if (dot == NULL || strchr(dot, '/') != NULL || !parse_format(dot + 1, &o->fmt))
		return m3_err_set(
			e, M3_EUSAGE,
			"%s: unknown extension: name .x3d, .x3dz, .stl or .ply, or use -f", o->out);
	return M3_OK;
}

/* One 3D uint8 volume, and nothing after it. */
static int
read_volume(const char *name, struct m3_vol *v, struct m3_err *e)
{
	FILE *fp = m3_open_in(name, e);
	struct m3_vol_reader *r;
	struct m3_vol next;
	const char *obj = name == NULL || strcmp(name, "-") == 0 ? "stdin" : name;
	int rc;

	if (fp == NULL)
		return e->code;
	if ((r = m3_vol_reader_new(fp, name)) == NULL) {
		m3_close_in(fp);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	rc = m3_vol_read(r, v, e);
	if (rc == M3_OK && v->type != M3_UINT8)
		rc = m3_err_set(e, M3_EDATA, "%s: type %s is not a label volume (uint8)", obj,
				m3_type_name(v->type));
	else if (rc == M3_OK && (v->rgb || v->dim != 3 || v->sizes[2] < 2))
		rc = m3_err_set(e, M3_EDATA, "%s: a 2D image: a label volume has 3 axes and %s",
				obj, "at least 2 slices");
	if (rc == M3_OK) {
		m3_vol_init(&next);
		rc = m3_vol_read_header(r, &next, e);
		m3_vol_release(&next);
		if (rc == M3_OK)
			rc = m3_err_set(e, M3_EDATA, "%s: volume 2: m3-x3d takes one volume a run",
					obj);
		else if (rc == M3_EOF)
			rc = M3_OK;
	}
	m3_vol_reader_free(r);
	m3_close_in(fp);
	return rc;
}

/* m3-labels:=1 bone;2 teeth */
static void
label_names(const struct m3_vol *v, char *names[256])
{
	const char *s = m3_vol_get(v, "m3-labels");

	while (s != NULL && *s != '\0') {
		char *end;
		long n = strtol(s, &end, 10);
		const char *semi = strchr(end, ';');
		size_t len = semi != NULL ? (size_t)(semi - end) : strlen(end);

		while (len > 0 && *end == ' ') {
			end++;
			len--;
		}
		while (len > 0 && end[len - 1] == ' ')
			len--;
		if (end != s && n >= 1 && n <= 255 && len > 0 && names[n] == NULL)
			names[n] = strndup(end, len);
		s = semi != NULL ? semi + 1 : NULL;
	}
}

struct run {
	struct opts *o;
	struct m3_pool *pool;
	struct m3_progress pr;
	struct x3d_part parts[255];
	size_t np;
	char *names[256];
};

static void
say(const struct run *r, const struct x3d_part *p, const char *stage, double t0)
{
	if (!r->o->verbose)
		return;
	fprintf(stderr, "%s: label %u%s%s: %s: %zu vertices, %zu triangles in %.3f s\n",
		m3_progname(), p->label, p->name ? " " : "", p->name ? p->name : "", stage,
		p->mesh.nv, p->mesh.nt, now() - t0);
}

static int
mesh_all(struct run *r, const struct m3_vol *v, struct m3_err *e)
{
	size_t total = 0;
	double t0;

	for (size_t i = 0; i < r->np; i++) {
		struct x3d_part *p = &r->parts[i];

		m3_progress(&r->pr, "label %u: surface", p->label);
		t0 = now();
		if (x3d_surface(v, p->label, r->pool, &p->mesh, e) != M3_OK)
			return e->code;
		say(r, p, "surface", t0);
		if (r->o->smooth > 0) {
			m3_progress(&r->pr, "label %u: smooth", p->label);
			t0 = now();
			if (x3d_smooth(&p->mesh, (unsigned)r->o->smooth, r->pool, e) != M3_OK)
				return e->code;
			say(r, p, "smooth", t0);
		}
		total += p->mesh.nt;
	}
	for (size_t i = 0; i < r->np; i++) {
		struct x3d_part *p = &r->parts[i];

		if (r->o->maxtri > 0 && total > (size_t)r->o->maxtri) {
			/* each label gets its share of the budget */
			size_t budget = (size_t)((double)r->o->maxtri * p->mesh.nt / total);

			m3_progress(&r->pr, "label %u: decimate", p->label);
			t0 = now();
			if (x3d_decimate(&p->mesh, budget < 4 ? 4 : budget, r->pool, e) != M3_OK)
				return e->code;
			say(r, p, "decimate", t0);
		}
		if (x3d_normals(&p->mesh, e) != M3_OK)
			return e->code;
	}
	return M3_OK;
}

/* More labels than this, with no m3-labels key and no -l, is not taken for a label volume. */
#define X3D_MAX_UNNAMED 32

/* The parts to make: the labels present, or those of -l (each must be present). */
static int
pick_labels(struct run *r, const struct m3_vol *v, const char *obj, struct m3_err *e)
{
	size_t count[256], nvox = 0;
	int any = 0;

	x3d_histogram(v, r->pool, count);
	for (int l = 1; l < 256; l++)
		any |= r->o->want[l];
	for (unsigned l = 1; l < 256; l++) {
		if (any && !r->o->want[l])
			continue;
		if (any && count[l] == 0)
			return m3_err_set(e, M3_EDATA, "%s: label %u: not in the volume", obj, l);
		if (count[l] == 0)
			continue;
		r->parts[r->np].label = l;
		r->parts[r->np].name = r->names[l];
		x3d_mesh_init(&r->parts[r->np].mesh);
		r->np++;
		nvox += count[l];
	}
	if (r->np == 0)
		return m3_err_set(e, M3_EDATA, "%s: no labels: every voxel is 0", obj);
	/* an image that happens to be uint8 (a CT windowed to 8 bits, a mask of noise) would
	 * make hundreds of meshes; a label volume names its labels or has few of them */
	if (!any && r->np > X3D_MAX_UNNAMED && m3_vol_get(v, "m3-labels") == NULL)
		return m3_err_set(e, M3_EDATA,
				  "%s: not a label volume: %zu different values and no m3-labels "
				  "(-l picks labels anyway)",
				  obj, r->np);
	if (r->o->verbose)
		fprintf(stderr, "%s: %s: %zux%zux%zu uint8, %zu labels on %zu voxels\n",
			m3_progname(), obj, v->sizes[0], v->sizes[1], v->sizes[2], r->np, nvox);
	return M3_OK;
}

static int
write_out(struct run *r, struct m3_out *out, struct m3_err *e)
{
	static const char *const fname[] = {"x3d", "x3dz", "stl", "ply"};
	double t0 = now();

	m3_progress(&r->pr, "write");
	if (x3d_write(out->fp, r->o->out, r->o->fmt, r->parts, r->np, r->pool, e) != M3_OK)
		return e->code;
	if (r->o->verbose)
		fprintf(stderr, "%s: write %s in %.3f s\n", m3_progname(), fname[r->o->fmt],
			now() - t0);
	return M3_OK;
}

static int
run(struct run *r, const char *in, struct m3_err *e)
{
	const char *obj = in == NULL || strcmp(in, "-") == 0 ? "stdin" : in;
	struct m3_out out;
	struct m3_vol v;
	double t0 = now();
	int rc;

	m3_vol_init(&v);
	if (m3_out_open(&out, r->o->out, r->o->fmt != X3D_FX3D, e) != M3_OK)
		return e->code;
	m3_progress(&r->pr, "read");
	rc = read_volume(in, &v, e);
	if (rc == M3_OK && r->o->verbose)
		fprintf(stderr, "%s: read %s in %.3f s\n", m3_progname(), obj, now() - t0);
	if (rc == M3_OK) {
		label_names(&v, r->names);
		rc = pick_labels(r, &v, obj, e);
	}
	if (rc == M3_OK)
		rc = mesh_all(r, &v, e);
	m3_vol_release(&v);
	if (rc == M3_OK)
		rc = write_out(r, &out, e);
	m3_progress_done(&r->pr);
	if (rc != M3_OK) {
		m3_out_abort(&out);
		return rc;
	}
	return m3_out_commit(&out, e);
}

int
main(int argc, char *argv[])
{
	struct opts o = {0};
	struct run r;
	struct m3_err e;
	int rc;

	m3_cli_init(argv[0]);
	m3_err_init(&e);
	memset(&r, 0, sizeof(r));
	if ((rc = parse_args(argc, argv, &o, &e)) != M3_OK)
		return rc == -1 ? m3_stdout_done() : rc == -2 ? 2 : m3_report(&e);
	if (pick_format(&o, &e) != M3_OK)
		return m3_report(&e);
	r.o = &o;
	m3_progress_init(&r.pr, o.progress, o.quiet);
	if ((r.pool = m3_pool_new(o.jobs, &e)) == NULL)
		return m3_report(&e);
	rc = run(&r, optind < argc ? argv[optind] : NULL, &e);
	for (size_t i = 0; i < r.np; i++)
		x3d_mesh_release(&r.parts[i].mesh);
	for (int l = 0; l < 256; l++)
		free(r.names[l]);
	m3_pool_free(r.pool);
	return rc == M3_OK ? 0 : m3_report(&e);
}
