/* m3-batch: run a pipeline over many studies, on this machine (-j N) or as a Slurm job array. */
#define _DEFAULT_SOURCE /* realpath */
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "local.h"
#include "m3/cli.h"

enum {
	OPT_BACKOFF = 256,
	OPT_CANCEL,
	OPT_GPUS,
	OPT_LIST,
	OPT_MAXRUN,
	OPT_ONLY,
	OPT_PARTITION,
	OPT_PROGRESS,
	OPT_RETRY_FAILED,
	OPT_RETRY_Q,
	OPT_RUN_ONE,
	OPT_SBATCH,
	OPT_SLURM,
	OPT_STATUS,
	OPT_TIME,
	OPT_VERSION,
};

#define MAXLIST 256

struct opts {
	const char *manifest, *results, *status, *cancel;
	long retries, max_running, run_one;
	double backoff;
	unsigned jobs;
	int force, json, list, progress, quiet, verbose, retry_failed, retry_q, slurm;
	const char *only[MAXLIST], *extra[MAXLIST];
	size_t nonly, nextra;
	struct slurm_opts so;
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: m3-batch [-fqv] [-j jobs] [-r retries] [--backoff seconds] [--only id]\n"
		   "                [--retry-failed] [--retry-quarantined] [--progress]\n"
		   "                -m manifest -o results -- pipeline\n"
		   "       m3-batch --slurm [--gpus-per-task n] [--time limit] [--partition name]\n"
		   "                [--max-running n] [--sbatch option] ... -m manifest -o results "
		   "-- pipeline\n"
		   "       m3-batch --status results [-J]\n"
		   "       m3-batch --cancel results\n"
		   "       m3-batch --list -m manifest\n");
}

static void
help(void)
{
	usage(stdout);
	printf("\nThe pipeline runs under bash for each study, with {in}, {out} and {id} "
	       "replaced.\n"
	       "  -m, --manifest FILE      inputs, one a line ('#' comments); - is stdin\n"
	       "  -o, --output DIR         results folder: DIR/<id>/ per finished study\n"
	       "  -j, --jobs N             studies at once on this machine (default 1; 0: cores)\n"
	       "  -r, --retries N          retries of a study that exits 4 (default 3)\n"
	       "      --backoff SECONDS    first retry delay, doubled each time, jittered (default "
	       "10)\n"
	       "      --retry-failed       run failed studies again\n"
	       "      --retry-quarantined  run quarantined studies (exit 3) again\n"
	       "  -f, --force              run finished studies again; new results replace old\n"
	       "      --only ID            only this study (repeatable)\n"
	       "      --progress           progress on stderr even when it is not a terminal\n"
	       "      --slurm              submit one Slurm job array instead of running here\n"
	       "      --gpus-per-task N    GPUs for each task (sbatch --gpus-per-task)\n"
	       "      --time LIMIT         time limit of each task (sbatch --time)\n"
	       "      --partition NAME     Slurm partition\n"
	       "      --max-running N      tasks running at once (--array=...%%N)\n"
	       "      --sbatch OPTION      one more sbatch option, as --name=value (repeatable)\n"
	       "      --status DIR         table of the studies in DIR: state, exit, attempts, "
	       "time, error\n"
	       "  -J, --json               with --status: JSON Lines\n"
	       "      --cancel DIR         scancel the Slurm job arrays recorded in DIR\n"
	       "      --list               print each study's id and input, and exit\n"
	       "      --run-one INDEX      run one task of a --slurm submission (for its script)\n"
	       "  -q, --quiet              no warnings\n"
	       "  -v, --verbose            a line for every finished study\n"
	       "  -h, --help               this help\n"
	       "      --version            version\n");
}

static int
parse(int argc, char *argv[], struct opts *o, struct m3_err *e)
{
	static const struct option longopts[] = {
		{"backoff", required_argument, NULL, OPT_BACKOFF},
		{"cancel", required_argument, NULL, OPT_CANCEL},
		{"force", no_argument, NULL, 'f'},
		{"gpus-per-task", required_argument, NULL, OPT_GPUS},
		{"help", no_argument, NULL, 'h'},
		{"jobs", required_argument, NULL, 'j'},
		{"json", no_argument, NULL, 'J'},
		{"list", no_argument, NULL, OPT_LIST},
		{"manifest", required_argument, NULL, 'm'},
		{"max-running", required_argument, NULL, OPT_MAXRUN},
		{"only", required_argument, NULL, OPT_ONLY},
		{"output", required_argument, NULL, 'o'},
		{"partition", required_argument, NULL, OPT_PARTITION},
		{"progress", no_argument, NULL, OPT_PROGRESS},
		{"quiet", no_argument, NULL, 'q'},
		{"retries", required_argument, NULL, 'r'},
		{"retry-failed", no_argument, NULL, OPT_RETRY_FAILED},
		{"retry-quarantined", no_argument, NULL, OPT_RETRY_Q},
		{"run-one", required_argument, NULL, OPT_RUN_ONE},
		{"sbatch", required_argument, NULL, OPT_SBATCH},
		{"slurm", no_argument, NULL, OPT_SLURM},
		{"status", required_argument, NULL, OPT_STATUS},
		{"time", required_argument, NULL, OPT_TIME},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "fhj:Jm:o:qr:v", longopts, NULL)) != -1) {
		int rc = M3_OK;
		switch (c) {
		case OPT_BACKOFF:
			rc = m3_parse_double("--backoff", optarg, 0, 3600, &o->backoff, e);
			break;
		case OPT_CANCEL:
			o->cancel = optarg;
			break;
		case 'f':
			o->force = 1;
			break;
		case OPT_GPUS:
			if (optarg[0] == '\0' ||
			    strspn(optarg,
				   "abcdefghijklmnopqrstuvwxyz"
				   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:.-") != strlen(optarg))
				rc = m3_err_set(e, M3_EUSAGE,
						"--gpus-per-task: \"%s\" is not [type:]count",
						optarg);
			o->so.gpus_per_task = optarg;
			break;
		case 'h':
			help();
			exit(0);
		case 'j':
			rc = m3_parse_jobs(optarg, &o->jobs, e);
			break;
		case 'J':
			o->json = 1;
			break;
		case OPT_LIST:
			o->list = 1;
			break;
		case 'm':
			o->manifest = optarg;
			break;
		case OPT_MAXRUN:
			rc = m3_parse_long("--max-running", optarg, 1, 1000000, &o->max_running, e);
			break;
		case OPT_ONLY:
			if (o->nonly == MAXLIST)
				rc = m3_err_set(e, M3_EUSAGE, "--only: more than %d", MAXLIST);
			else
				o->only[o->nonly++] = optarg;
			break;
		case 'o':
			o->results = optarg;
			break;
		case OPT_PARTITION:
			o->so.partition = optarg;
			break;
		case OPT_PROGRESS:
			o->progress = 1;
			break;
		case 'q':
			o->quiet = 1;
			m3_cli_quiet(1);
			break;
		case 'r':
			rc = m3_parse_long("--retries", optarg, 0, 100, &o->retries, e);
			break;
		case OPT_RETRY_FAILED:
			o->retry_failed = 1;
			break;
		case OPT_RETRY_Q:
			o->retry_q = 1;
			break;
		case OPT_RUN_ONE:
			rc = m3_parse_long("--run-one", optarg, 0, LONG_MAX, &o->run_one, e);
			break;
		case OPT_SBATCH:
			if (o->nextra == MAXLIST)
				rc = m3_err_set(e, M3_EUSAGE, "--sbatch: more than %d", MAXLIST);
			else
				o->extra[o->nextra++] = optarg;
			break;
		case OPT_SLURM:
			o->slurm = 1;
			break;
		case OPT_STATUS:
			o->status = optarg;
			break;
		case OPT_TIME:
			o->so.time = optarg;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case OPT_VERSION:
			m3_print_version();
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
		if (rc != M3_OK)
			return rc;
	}
	return M3_OK;
}

/* The words after the options, joined by blanks, as the pipeline. */
static char *
join(int argc, char *argv[])
{
	size_t n = 1;
	char *s;

	for (int i = 0; i < argc; i++)
		n += strlen(argv[i]) + 1;
	if ((s = calloc(1, n)) == NULL)
		return NULL;
	for (int i = 0; i < argc; i++) {
		if (i > 0)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

static int
selected(const struct opts *o, const char *id)
{
	if (o->nonly == 0)
		return 1;
	for (size_t i = 0; i < o->nonly; i++)
		if (strcmp(o->only[i], id) == 0)
			return 1;
	return 0;
}

/* Whether a run picks this study up. */
static int
wanted(const struct opts *o, const struct fold *f)
{
	switch (f->state) {
	case ST_DONE:
		return o->force;
	case ST_QUARANTINED:
		return o->force || o->retry_q;
	case ST_FAILED:
		return o->force || o->retry_failed;
	case ST_RUNNING:
	case ST_RETRYING:
		return 0; /* its lock is held: someone runs it now */
	default:
		return 1;
	}
}

/* The batch's exit: 1 if a study failed or is unfinished, else 4 if one ran out of retries,
 * else 3 if one is quarantined, else 0.  A study run now counts by how that run ended (a
 * forced rerun may fail while older results stay); any other by its state. */
static int
batch_exit(const struct opts *o, const struct manifest *m, const struct fold *f, const int *ran,
	   int report)
{
	size_t nsel = 0, nd = 0, nq = 0, nr = 0, nf = 0;

	for (size_t i = 0; i < m->n; i++) {
		int rc = ran[i];
		if (!selected(o, m->v[i].id))
			continue;
		nsel++;
		if (rc < 0)
			rc = f[i].state == ST_DONE                       ? RUN_DONE
			     : f[i].state == ST_QUARANTINED              ? RUN_QUARANTINED
			     : f[i].state == ST_FAILED && f[i].exit == 4 ? RUN_EXHAUSTED
									 : RUN_FAILED;
		nd += rc == RUN_DONE;
		nq += rc == RUN_QUARANTINED;
		nr += rc == RUN_EXHAUSTED;
		nf += rc != RUN_DONE && rc != RUN_QUARANTINED && rc != RUN_EXHAUSTED;
	}
	if (report && nd < nsel) {
		char more[128] = "";
		if (nq)
			snprintf(more + strlen(more), sizeof(more) - strlen(more),
				 ", %zu quarantined", nq);
		if (nr)
			snprintf(more + strlen(more), sizeof(more) - strlen(more),
				 ", %zu out of retries", nr);
		if (nf)
			snprintf(more + strlen(more), sizeof(more) - strlen(more), ", %zu failed",
				 nf);
		m3_warn("%zu of %zu studies done%s (m3-batch --status %s)", nd, nsel, more,
			o->results);
	}
	return nf ? 1 : nr ? 4 : nq ? 3 : 0;
}

static int
prepare(struct opts *o, struct batch *b, struct m3_err *e)
{
	char *dir, real[PATH_MAX];
	int rc;

	if (strncmp(o->results, "s3://", 5) == 0 || strstr(o->results, "://") != NULL)
		return m3_err_set(
			e, M3_EUSAGE,
			"%s: results in an object store are not supported yet: write to a "
			"folder, then m3-push it",
			o->results);
	if ((rc = mkdir_p(o->results, e)) != M3_OK)
		return rc;
	if (realpath(o->results, real) == NULL)
		return m3_err_set(e, M3_EIO, "%s: cannot resolve", o->results);
	if ((b->results = strdup(real)) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	static const char *const sub[] = {".m3-batch/lock", ".m3-batch/tmp", ".m3-batch/log"};
	for (size_t i = 0; i < sizeof(sub) / sizeof(*sub); i++) {
		if ((dir = path_join(b->results, sub[i], NULL)) == NULL)
			return m3_err_set(e, M3_ENOMEM, "out of memory");
		rc = mkdir_p(dir, e);
		free(dir);
		if (rc != M3_OK)
			return rc;
	}
	return M3_OK;
}

static int
save_batch(const struct batch *b, const struct manifest *m, struct m3_err *e)
{
	char *p = path_join(b->results, ".m3-batch/manifest", NULL);
	int rc;

	if (p == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	rc = manifest_save(m, p, e);
	free(p);
	if (rc != M3_OK)
		return rc;
	if ((p = path_join(b->results, ".m3-batch/pipeline", NULL)) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	rc = write_atomic(p, b->pipeline, strlen(b->pipeline), e);
	free(p);
	return rc;
}

static int
submit(struct opts *o, const struct batch *b, const struct manifest *m, const size_t *todo,
       size_t n, struct m3_err *e)
{
	struct manifest sub = {calloc(n ? n : 1, sizeof(struct study)), n};
	char jobid[64], self[PATH_MAX];
	ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int rc;

	if (sub.v == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	if (l <= 0) {
		free(sub.v);
		return m3_err_set(e, M3_EFAIL, "/proc/self/exe: cannot find m3-batch itself");
	}
	self[l] = '\0';
	for (size_t i = 0; i < n; i++)
		sub.v[i] = m->v[todo[i]];
	o->so.self = self;
	o->so.max_running = o->max_running;
	o->so.extra = o->extra;
	o->so.nextra = o->nextra;
	rc = slurm_submit(b, &sub, &o->so, jobid, sizeof(jobid), e);
	free(sub.v);
	if (rc != M3_OK)
		return rc;
	printf("%s\n", jobid);
	if (o->verbose)
		m3_warn("submitted job array %s: %zu studies", jobid, n);
	return M3_OK;
}

static int
run_batch(struct opts *o, const char *pipeline)
{
	struct batch b = {NULL, pipeline, o->retries, o->backoff, o->force, NULL, 0};
	struct manifest m;
	struct fold *f;
	struct m3_err e;
	size_t *todo, n = 0;
	int rc;

	m3_err_init(&e);
	if (manifest_read(&m, o->manifest, &e) != M3_OK)
		return m3_report(&e);
	for (size_t i = 0; i < o->nonly; i++) {
		size_t j = 0;
		while (j < m.n && strcmp(m.v[j].id, o->only[i]) != 0)
			j++;
		if (j == m.n) {
			m3_err_set(&e, M3_EUSAGE, "--only: no study \"%s\" in %s", o->only[i],
				   o->manifest);
			manifest_release(&m);
			return m3_report(&e);
		}
	}
	f = calloc(m.n, sizeof(*f));
	todo = calloc(m.n, sizeof(*todo));
	if (f == NULL || todo == NULL) {
		m3_err_set(&e, M3_ENOMEM, "out of memory");
		rc = m3_report(&e);
		goto out;
	}
	if (prepare(o, &b, &e) != M3_OK || save_batch(&b, &m, &e) != M3_OK ||
	    state_fold(b.results, &m, f, &e) != M3_OK) {
		rc = m3_report(&e);
		goto out;
	}
	for (size_t i = 0; i < m.n; i++)
		if (selected(o, m.v[i].id) && wanted(o, &f[i]))
			todo[n++] = i;
	if (o->slurm) {
		rc = n == 0 ? 0 : submit(o, &b, &m, todo, n, &e) != M3_OK ? m3_report(&e) : 0;
		if (n == 0 && !o->quiet)
			m3_warn("nothing to submit");
		goto out;
	}
	struct local_opts lo = {o->jobs, o->progress, o->quiet, o->verbose, o->retries};
	int *rcs = calloc(n ? n : 1, sizeof(*rcs)), *ran = malloc(m.n * sizeof(*ran));
	if (rcs == NULL || ran == NULL) {
		free(rcs);
		free(ran);
		m3_err_set(&e, M3_ENOMEM, "out of memory");
		rc = m3_report(&e);
		goto out;
	}
	rc = local_run(&b, &m, todo, n, &lo, rcs);
	for (size_t i = 0; i < m.n; i++)
		ran[i] = -1;
	for (size_t i = 0; i < n; i++)
		ran[todo[i]] = rcs[i] == RUN_BUSY ? RUN_FAILED : rcs[i];
	free(rcs);
	fold_release(f, m.n);
	if (state_fold(b.results, &m, f, &e) != M3_OK)
		rc = m3_report(&e);
	else if (rc == 0)
		rc = batch_exit(o, &m, f, ran, !o->quiet);
	free(ran);
out:
	if (f != NULL)
		fold_release(f, m.n);
	free(f);
	free(todo);
	free(b.results);
	manifest_release(&m);
	return rc;
}

static int
show_status(const struct opts *o)
{
	char *p = path_join(o->status, ".m3-batch/manifest", NULL);
	struct manifest m;
	struct fold *f;
	struct m3_err e;

	m3_err_init(&e);
	if (p == NULL) {
		m3_err_set(&e, M3_ENOMEM, "out of memory");
		return m3_report(&e);
	}
	if (manifest_load(&m, p, &e) != M3_OK) {
		free(p);
		if (e.code == M3_EDATA)
			m3_err_set(&e, M3_EDATA, "%s: not an m3-batch results folder", o->status);
		return m3_report(&e);
	}
	free(p);
	if ((f = calloc(m.n ? m.n : 1, sizeof(*f))) == NULL ||
	    state_fold(o->status, &m, f, &e) != M3_OK) {
		if (f == NULL)
			m3_err_set(&e, M3_ENOMEM, "out of memory");
		free(f);
		manifest_release(&m);
		return m3_report(&e);
	}
	slurm_overlay(o->status, &m, f);
	status_print(o->status, &m, f, o->json, stdout);
	fold_release(f, m.n);
	free(f);
	manifest_release(&m);
	return m3_stdout_close(&e) != M3_OK ? m3_report(&e) : 0;
}

static int
list(const struct opts *o)
{
	struct manifest m;
	struct m3_err e;

	m3_err_init(&e);
	if (manifest_read(&m, o->manifest, &e) != M3_OK)
		return m3_report(&e);
	for (size_t i = 0; i < m.n; i++)
		printf("%s\t%s\n", m.v[i].id, m.v[i].input);
	manifest_release(&m);
	return m3_stdout_close(&e) != M3_OK ? m3_report(&e) : 0;
}

static int
run_one(const struct opts *o, int argc, char *argv[])
{
	struct batch b = {NULL, NULL, o->retries, o->backoff, 0, NULL, 0};
	char real[PATH_MAX];
	struct m3_err e;

	m3_err_init(&e);
	if (argc != 1 || o->results == NULL) {
		usage(stderr);
		return 2;
	}
	if (realpath(o->results, real) == NULL) {
		m3_err_set(&e, M3_EDATA, "%s: no such results folder", o->results);
		return m3_report(&e);
	}
	b.results = real;
	return slurm_run_one(real, argv[0], o->run_one, &b, &e);
}

int
main(int argc, char *argv[])
{
	struct opts o = {.retries = 3, .backoff = 10, .jobs = 1, .run_one = -1};
	struct m3_err e;
	char *pipeline;
	int rc, modes;

	m3_cli_init(argv[0]);
	m3_err_init(&e);
	if (parse(argc, argv, &o, &e) != M3_OK)
		return m3_report(&e);
	argc -= optind;
	argv += optind;
	modes = (o.status != NULL) + (o.cancel != NULL) + o.list + (o.run_one >= 0);
	if (modes > 1) {
		m3_err_set(&e, M3_EUSAGE,
			   "--status, --cancel, --list and --run-one exclude each other");
		return m3_report(&e);
	}
	if (o.run_one >= 0)
		return run_one(&o, argc, argv);
	if ((o.status != NULL || o.cancel != NULL) && argc > 0) {
		usage(stderr);
		return 2;
	}
	if (o.status != NULL)
		return show_status(&o);
	if (o.cancel != NULL) {
		char jobs[1024];
		if (slurm_cancel(o.cancel, jobs, sizeof(jobs), &e) != M3_OK)
			return m3_report(&e);
		if (o.verbose)
			m3_warn("cancelled %s", jobs);
		return 0;
	}
	if (o.manifest == NULL) {
		m3_err_set(&e, M3_EUSAGE, "no manifest (-m FILE)");
		return m3_report(&e);
	}
	if (o.list)
		return list(&o);
	if (o.results == NULL) {
		m3_err_set(&e, M3_EUSAGE, "no results folder (-o DIR)");
		return m3_report(&e);
	}
	if (argc == 0) {
		m3_err_set(&e, M3_EUSAGE, "no pipeline (give it after --)");
		return m3_report(&e);
	}
	if ((pipeline = join(argc, argv)) == NULL) {
		m3_err_set(&e, M3_ENOMEM, "out of memory");
		return m3_report(&e);
	}
	rc = run_batch(&o, pipeline);
	free(pipeline);
	return rc;
}
