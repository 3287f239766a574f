/* m3-view: one self-contained HTML page from PNG overlays, findings, X3D/STL meshes and a volume.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "m3/cli.h"
#include "view.h"

#define DEF_MAX_SIZE 2048
#define DEF_VOL_SIZE 128

static int verbose;

static void
usage(FILE *f)
{
	fprintf(f, "usage: m3-view [-qv] [-m pixels] [-o file] [-s voxels] [-T score] [-t title]\n"
		   "               [--progress] [file ...]\n");
	if (f != stdout)
		return;
	fprintf(f,
		"Inputs (by content): PNG images, findings JSON Lines, X3D (.x3d, .x3dz), binary\n"
		"STL, one m3 volume.  The page goes to stdout or -o.\n"
		"  -m, --max-size PIXELS   longest side of an embedded image (default %d, 0: "
		"keep)\n"
		"  -o, --output FILE       write the page to FILE (temporary name, then rename)\n"
		"      --progress          progress on stderr even when it is not a terminal\n"
		"  -q, --quiet             no warnings\n"
		"  -s, --volume-size N     most voxels an axis of the embedded volume (default "
		"%d)\n"
		"  -T, --threshold SCORE   the score threshold the page starts with (default 0)\n"
		"  -t, --title TEXT        the page's title (default \"m3 results\")\n"
		"  -v, --verbose           say what each input was taken as\n"
		"  -h, --help              this help\n"
		"      --version           print the version\n",
		DEF_MAX_SIZE, DEF_VOL_SIZE);
}

struct inputs {
	struct view_page pg;
	struct view_volume vol;
	struct vbuf args;
};

static int
add_image(struct inputs *in, const struct vbuf *b, const char *path, size_t max_size,
	  struct m3_err *e)
{
	struct view_image *im = realloc(in->pg.img, (in->pg.nimg + 1) * sizeof(*im));

	if (im == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	in->pg.img = im;
	im += in->pg.nimg++;
	memset(im, 0, sizeof(*im));
	im->name = view_basename(path);
	im->findings = -1;
	if (view_png_load(b, path, max_size, im, e) != M3_OK)
		return e->code;
	if (verbose)
		m3_warn("%s: PNG %zux%zu, embedded as %zux%zu (%zu bytes%s)", path, im->w0, im->h0,
			im->w, im->h, im->png.n + im->marks.n,
			im->marks.n > 0 ? ", gray image and a layer of coloured marks" : "");
	return M3_OK;
}

static int
add_scene(struct inputs *in, const struct vbuf *b, enum view_kind k, const char *path,
	  struct m3_err *e)
{
	struct view_scene *s = realloc(in->pg.scn, (in->pg.nscn + 1) * sizeof(*s));

	if (s == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	in->pg.scn = s;
	s += in->pg.nscn++;
	memset(s, 0, sizeof(*s));
	s->name = view_basename(path);
	if (k == VIEW_STL) {
		if (view_stl_to_x3d(b, path, s, e) != M3_OK)
			return e->code;
	} else if (view_x3d_scene(b, path, &s->x3d, e) != M3_OK) {
		return e->code;
	}
	if (verbose)
		m3_warn("%s: %s, %zu bytes of X3D", path, view_kind_name(k), s->x3d.n);
	return M3_OK;
}

static int
add_input(struct inputs *in, const char *path, long max_size, long vol_size, struct m3_err *e)
{
	const char *name = strcmp(path, "-") == 0 ? "stdin" : path;
	struct vbuf b = {0};
	enum view_kind k = VIEW_UNKNOWN;
	size_t before = in->pg.nfnd;
	int rc;

	if ((rc = view_input_read(path, &b, &k, e)) != M3_OK)
		goto out;
	switch (k) {
	case VIEW_PNG:
		rc = add_image(in, &b, name, (size_t)max_size, e);
		break;
	case VIEW_FINDINGS:
		rc = view_findings_read(&b, name, &in->pg.fnd, &in->pg.nfnd, e);
		if (rc == M3_OK && verbose)
			m3_warn("%s: %zu findings objects", name, in->pg.nfnd - before);
		break;
	case VIEW_X3D:
	case VIEW_STL:
		rc = add_scene(in, &b, k, name, e);
		break;
	case VIEW_VOLUME:
		if (in->pg.vol != NULL) {
			rc = m3_err_set(e, M3_EDATA, "%s: a second volume: m3-view shows one",
					name);
			break;
		}
		rc = view_volume_load(&b, name, (size_t)vol_size, &in->vol, e);
		if (rc == M3_OK)
			in->pg.vol = &in->vol;
		if (rc == M3_OK && verbose)
			m3_warn("%s: volume embedded as %zux%zux%zu", name, in->vol.n[0],
				in->vol.n[1], in->vol.n[2]);
		break;
	default:
		rc = m3_err_set(e, M3_EDATA, "%s: unknown input", name);
	}
out:
	vbuf_free(&b);
	return rc;
}

/* The page's date: SOURCE_DATE_EPOCH when set (reproducible pages), else now. */
static int
page_date(char *out, size_t len, struct m3_err *e)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	time_t t = time(NULL);
	struct tm tm;
	char *end;

	if (sde != NULL && *sde != '\0') {
		long long v;

		errno = 0;
		v = strtoll(sde, &end, 10);
		if (errno != 0 || *end != '\0' || v < 0)
			return m3_err_set(e, M3_EUSAGE,
					  "SOURCE_DATE_EPOCH: \"%s\" is not a number of seconds",
					  sde);
		t = (time_t)v;
	}
	if (gmtime_r(&t, &tm) == NULL || strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return m3_err_set(e, M3_EUSAGE, "SOURCE_DATE_EPOCH: out of range");
	return M3_OK;
}

static void
match_report(const struct view_page *pg)
{
	for (size_t i = 0; i < pg->nfnd; i++) {
		const struct view_findings *f = &pg->fnd[i];

		if (f->image < 0)
			m3_warn("findings line %lu (%s %s): no image for it, shown as a list",
				f->line, f->laterality, f->view);
		else if (verbose)
			m3_warn("findings line %lu (%s %s, %zu calcifications) -> %s", f->line,
				f->laterality, f->view, f->ncalc, pg->img[f->image].name);
	}
}

static void
release(struct inputs *in)
{
	for (size_t i = 0; i < in->pg.nimg; i++) {
		vbuf_free(&in->pg.img[i].png);
		vbuf_free(&in->pg.img[i].marks);
	}
	for (size_t i = 0; i < in->pg.nscn; i++)
		vbuf_free(&in->pg.scn[i].x3d);
	free(in->pg.img);
	free(in->pg.scn);
	view_findings_free(in->pg.fnd, in->pg.nfnd);
	view_volume_release(&in->vol);
	vbuf_free(&in->args);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"max-size", required_argument, NULL, 'm'},
		{"output", required_argument, NULL, 'o'},
		{"progress", no_argument, NULL, 'P'},
		{"quiet", no_argument, NULL, 'q'},
		{"volume-size", required_argument, NULL, 's'},
		{"threshold", required_argument, NULL, 'T'},
		{"title", required_argument, NULL, 't'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct inputs in;
	struct m3_out out;
	struct m3_err e;
	const char *outname = NULL;
	char date[32];
	long max_size = DEF_MAX_SIZE, vol_size = DEF_VOL_SIZE;
	int c, rc = M3_OK, progress = 0, quiet = 0;
	struct m3_progress pg;

	m3_cli_init(argv[0]);
	m3_err_init(&e);
	memset(&in, 0, sizeof(in));
	in.pg.title = "m3 results";
	while ((c = getopt_long(argc, argv, "hm:o:qs:T:t:v", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return m3_stdout_done();
		case 'm':
			if (m3_parse_long("--max-size", optarg, 0, 65535, &max_size, &e) != M3_OK)
				return m3_report(&e);
			break;
		case 'o':
			outname = optarg;
			break;
		case 'P':
			progress = 1;
			break;
		case 'q':
			m3_cli_quiet(1);
			quiet = 1;
			break;
		case 's':
			if (m3_parse_long("--volume-size", optarg, 8, 1024, &vol_size, &e) != M3_OK)
				return m3_report(&e);
			break;
		case 'T':
			if (m3_parse_double("--threshold", optarg, -1e9, 1e9, &in.pg.threshold,
					    &e) != M3_OK)
				return m3_report(&e);
			break;
		case 't':
			in.pg.title = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			m3_print_version();
			return m3_stdout_done();
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (page_date(date, sizeof(date), &e) != M3_OK)
		return m3_report(&e);
	in.pg.date = date;
	/* what made the page, with file names only (directories often name the patient) */
	rc = vbuf_printf(&in.args, &e, "m3-view --max-size %ld --volume-size %ld --threshold %g",
			 max_size, vol_size, in.pg.threshold);
	m3_progress_init(&pg, progress, quiet);
	for (int i = 0; i < (argc > 0 ? argc : 1) && rc == M3_OK; i++) {
		const char *path = argc > 0 ? argv[i] : "-";

		m3_progress(&pg, "input %d of %d: %s", i + 1, argc > 0 ? argc : 1,
			    view_basename(path));
		rc = vbuf_printf(&in.args, &e, " %s", view_basename(path));
		if (rc == M3_OK)
			rc = add_input(&in, path, max_size, vol_size, &e);
	}
	m3_progress_done(&pg);
	if (rc == M3_OK) {
		in.pg.args = in.args.p;
		view_match(&in.pg);
		match_report(&in.pg);
		rc = m3_out_open(&out, outname, 0, &e);
	}
	if (rc == M3_OK && (rc = view_page_write(out.fp, &in.pg, &e)) != M3_OK) {
		m3_out_abort(&out);
		m3_err_prefix(&e, "%s",
			      outname != NULL && strcmp(outname, "-") != 0 ? outname : "stdout");
	}
	if (rc == M3_OK)
		rc = m3_out_commit(&out, &e);
	release(&in);
	return rc == M3_OK ? 0 : m3_report(&e);
}
