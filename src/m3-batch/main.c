/* m3-batch: run a pipeline over many studies, on this machine (-j N) or as a Slurm job array. */
#define _DEFAULT_SOURCE /* realpath */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "local.h"
#include "m3/cli.h"
#include "m3/json.h"

enum {
	OPT_BACKOFF = 256,
	OPT_CANCEL,
	OPT_GPUS,
	OPT_LIST,
	OPT_MAXRUN,
	OPT_ONLY,
	OPT_PARTITION,
	OPT_PROGRESS,
	OPT_PUSH_OPT,
	OPT_RETRY_FAILED,
	OPT_RETRY_Q,
	OPT_RUN_ONE,
	OPT_SBATCH,
	OPT_SLURM,
	OPT_STATE,
	OPT_STATUS,
	OPT_TIME,
	OPT_VERSION,
	OPT_WORK,
};

#define MAXLIST 256

struct opts {
	const char *manifest, *results, *status, *cancel, *state, *work;
	long retries, max_running, run_one;
	double backoff;
	unsigned jobs;
	int force, json, list, progress, quiet, verbose, retry_failed, retry_q, slurm;
	const char *only[MAXLIST], *extra[MAXLIST], *push_opt[MAXLIST];
	size_t nonly, nextra, npush_opt;
	struct slurm_opts so;
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: m3-batch [-fqv] [-j jobs] [-r retries] [--backoff seconds] [--only id]\n"
		"                [--retry-failed] [--retry-quarantined] [--progress]\n"
		"                -m manifest -o results -- pipeline\n"
		"       m3-batch [options above] [--state dir] [--work dir] [--push-opt option]\n"
		"                -m manifest -o s3://bucket/prefix/ -- pipeline\n"
		"       m3-batch --slurm [--gpus-per-task n] [--time limit] [--partition name]\n"
		"                [--max-running n] [--sbatch option] ... -m manifest -o results "
		"-- pipeline\n"
		"       m3-batch --status results|s3://bucket/prefix/ [--state dir] [-J]\n"
		"       m3-batch --cancel results|s3://bucket/prefix/ [--state dir]\n"
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
	       "  -o, --output s3://B/P/   results to S3: s3://B/P/<id>/ per finished study, "
	       "its\n"
	       "                           .m3-batch-done stamp last (pushed with m3-push)\n"
	       "      --state DIR          with s3://: local status, logs, locks (default\n"
	       "                           ./m3-batch-state/<hash of the prefix>)\n"
	       "      --work DIR           with s3://: where {out} folders are made (default "
	       "$TMPDIR\n"
	       "                           or /tmp)\n"
	       "      --push-opt OPTION    with s3://: one more m3-push option, as --name=value\n"
	       "                           (--push-opt=--sse=none; repeatable)\n"
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
		{"push-opt", required_argument, NULL, OPT_PUSH_OPT},
		{"quiet", no_argument, NULL, 'q'},
		{"retries", required_argument, NULL, 'r'},
		{"retry-failed", no_argument, NULL, OPT_RETRY_FAILED},
		{"retry-quarantined", no_argument, NULL, OPT_RETRY_Q},
		{"run-one", required_argument, NULL, OPT_RUN_ONE},
		{"sbatch", required_argument, NULL, OPT_SBATCH},
		{"slurm", no_argument, NULL, OPT_SLURM},
		{"state", required_argument, NULL, OPT_STATE},
		{"status", required_argument, NULL, OPT_STATUS},
		{"time", required_argument, NULL, OPT_TIME},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, OPT_VERSION},
		{"work", required_argument, NULL, OPT_WORK},
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
			exit(m3_stdout_done());
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
		case OPT_PUSH_OPT:
			if (optarg[0] != '-' || strpbrk(optarg, "\n\r") != NULL)
				rc = m3_err_set(e, M3_EUSAGE,
						"--push-opt: \"%s\" is not one m3-push option",
						optarg);
			else if (o->npush_opt == MAXLIST)
				rc = m3_err_set(e, M3_EUSAGE, "--push-opt: more than %d", MAXLIST);
			else
				o->push_opt[o->npush_opt++] = optarg;
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
		case OPT_STATE:
			o->state = optarg;
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
			exit(m3_stdout_done());
		case OPT_WORK:
			o->work = optarg;
			break;
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
is_s3(const char *p)
{
	return p != NULL && strncmp(p, "s3://", 5) == 0;
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
			o->state != NULL && is_s3(o->results) ? o->state : o->results);
	}
	return nf ? 1 : nr ? 4 : nq ? 3 : 0;
}

static void
batch_release(struct batch *b)
{
	free(b->results);
	free((char *)b->s3);
	free((char *)b->work);
	free((char *)b->push);
	free((char *)b->fetch);
	b->results = NULL;
	b->s3 = b->work = b->push = b->fetch = NULL;
}

/* The state folder of a batch with results in S3: --state, or the prefix's default. */
static char *
state_dir(const struct opts *o, const char *prefix)
{
	return o->state != NULL ? strdup(o->state) : s3_state_default(prefix);
}

enum { S3_STATUS, S3_RUN, S3_RUN_ONE };

/* With -o s3://: the prefix, the state folder (made for a run), the work folder, the tools. */
static int
setup_s3(const struct opts *o, struct batch *b, const char *url, int mode, struct m3_err *e)
{
	char *prefix, *state = NULL, real[PATH_MAX];
	const char *work = o->work, *tmpdir = getenv("TMPDIR");
	int rc;

	if ((rc = s3_prefix(url, &prefix, e)) != M3_OK)
		return rc;
	b->s3 = prefix;
	if ((state = state_dir(o, prefix)) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	if (mode == S3_RUN && (rc = mkdir_p(state, e)) != M3_OK) {
		free(state);
		return rc;
	}
	if (realpath(state, real) == NULL) {
		rc = mode == S3_RUN
			     ? m3_err_set(e, M3_EIO, "%s: cannot resolve", state)
			     : m3_err_set(e, M3_EDATA,
					  "%s: no state of %s here (give its --state folder)",
					  state, prefix);
		free(state);
		return rc;
	}
	free(state);
	if ((b->results = strdup(real)) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	if (mode == S3_STATUS)
		return M3_OK;
	if (work == NULL)
		work = tmpdir != NULL && tmpdir[0] != '\0' ? tmpdir : "/tmp";
	if ((rc = mkdir_p(work, e)) != M3_OK)
		return rc;
	if (realpath(work, real) == NULL)
		return m3_err_set(e, M3_EIO, "%s: cannot resolve", work);
	b->work = strdup(real);
	b->push = tool_path("m3-push");
	b->fetch = tool_path("m3-fetch");
	b->push_opt = o->push_opt;
	b->npush_opt = o->npush_opt;
	if (b->work == NULL || b->push == NULL || b->fetch == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	return M3_OK;
}

/* A state folder serves one prefix: it is recorded in .m3-batch/s3 on the first run. */
static int
own_prefix(const struct batch *b, struct m3_err *e)
{
	char *p = path_join(b->results, ".m3-batch/s3", NULL), *data, *line = NULL;
	size_t n = strlen(b->s3) + 2;
	int rc = M3_OK;

	if (p == NULL || (line = malloc(n)) == NULL) {
		free(p);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	snprintf(line, n, "%s\n", b->s3);
	if ((data = read_all(p, NULL, e)) == NULL)
		rc = e->code == M3_EDATA ? write_atomic(p, line, strlen(line), e) : e->code;
	else if (strcmp(data, line) != 0) {
		data[strcspn(data, "\n")] = '\0';
		rc = m3_err_set(e, M3_EUSAGE,
				"%s: the state of %s, not of %s (give another --state)", b->results,
				data, b->s3);
	}
	free(data);
	free(line);
	free(p);
	return rc;
}

static int
prepare(struct opts *o, struct batch *b, struct m3_err *e)
{
	char *dir, real[PATH_MAX];
	int rc;

	if (is_s3(o->results)) {
		if ((rc = setup_s3(o, b, o->results, S3_RUN, e)) != M3_OK)
			return rc;
	} else if (strstr(o->results, "://") != NULL) {
		return m3_err_set(e, M3_EUSAGE,
				  "%s: results go to a folder or an s3://bucket/prefix/",
				  o->results);
	} else if (o->state != NULL || o->work != NULL || o->npush_opt > 0) {
		return m3_err_set(
			e, M3_EUSAGE,
			"--state, --work and --push-opt are for results in S3 (-o s3://...)");
	} else {
		if ((rc = mkdir_p(o->results, e)) != M3_OK)
			return rc;
		if (realpath(o->results, real) == NULL)
			return m3_err_set(e, M3_EIO, "%s: cannot resolve", o->results);
		if ((b->results = strdup(real)) == NULL)
			return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	static const char *const sub[] = {".m3-batch/lock", ".m3-batch/tmp", ".m3-batch/log"};
	for (size_t i = 0; i < sizeof(sub) / sizeof(*sub); i++) {
		if ((dir = path_join(b->results, sub[i], NULL)) == NULL)
			return m3_err_set(e, M3_ENOMEM, "out of memory");
		rc = mkdir_p(dir, e);
		free(dir);
		if (rc != M3_OK)
			return rc;
	}
	return b->s3 != NULL ? own_prefix(b, e) : M3_OK;
}

/* Records a study that S3 says is done (its stamp is there) but this state does not know. */
static int
adopt(const struct batch *b, const struct study *s, struct m3_err *e)
{
	char *tmp = path_join(b->results, ".m3-batch/tmp", s->id), *sp = NULL, *dest = NULL;
	char *url = s3_url(b, s->id, ""), *buf = NULL, t[32];
	size_t len = 0;
	FILE *f = NULL;
	int rc = M3_OK;

	if (tmp == NULL || url == NULL || (sp = path_join(tmp, ".m3-batch-done", NULL)) == NULL ||
	    (dest = path_join(b->results, s->id, NULL)) == NULL ||
	    (f = open_memstream(&buf, &len)) == NULL) {
		rc = m3_err_set(e, M3_ENOMEM, "out of memory");
		goto out;
	}
	time_iso(t);
	fputs("{\"id\":", f);
	m3_json_str(f, s->id);
	fputs(",\"input\":", f);
	m3_json_str(f, s->input);
	fputs(",\"results\":", f);
	m3_json_str(f, url);
	fprintf(f, ",\"found\":\"%s\",\"host\":", t);
	m3_json_str(f, hostname_str());
	fputs("}\n", f);
	if (fclose(f) != 0) {
		f = NULL;
		rc = m3_err_set(e, M3_ENOMEM, "out of memory");
		goto out;
	}
	f = NULL;
	rm_rf(tmp);
	if (mkdir(tmp, 0777) != 0 || write_atomic(sp, buf, len, e) != M3_OK ||
	    rename(tmp, dest) != 0) {
		if (e->code == M3_OK)
			m3_err_set(e, M3_EIO, "%s: %s", dest, strerror(errno));
		rc = e->code;
		rm_rf(tmp);
		goto out;
	}
	struct event ev = {s->id, s->input, ST_DONE, 0, 0, -1, NULL, NULL};
	rc = state_append(b->results, &ev, e);
out:
	if (f != NULL)
		fclose(f);
	free(buf);
	free(tmp);
	free(sp);
	free(dest);
	free(url);
	return rc;
}

/* Studies with no local state at all may have been done from another state folder or
 * machine: their stamp in S3 says so. */
static void
look_in_s3(const struct opts *o, const struct batch *b, const struct manifest *m, struct fold *f)
{
	char err[1024];
	struct m3_err e;

	for (size_t i = 0; i < m->n; i++) {
		int st, r;
		if (!selected(o, m->v[i].id) || f[i].state != ST_PENDING || f[i].attempt != 0 ||
		    f[i].exit != -1 || study_locked(b->results, m->v[i].id))
			continue;
		r = s3_remote_done(b, m->v[i].id, &st, err, sizeof(err));
		if (r < 0) {
			m3_warn("cannot look for stamps in %s (%s); studies with no local state "
				"run "
				"again",
				b->s3, err[0] != '\0' ? err : "m3-fetch failed");
			return;
		}
		if (r == 0)
			continue;
		m3_err_init(&e);
		if (adopt(b, &m->v[i], &e) != M3_OK) {
			m3_warn("%s", e.msg);
			continue;
		}
		f[i].state = ST_DONE;
		f[i].exit = 0;
		if (o->verbose)
			m3_warn("%s: done by an earlier run (its stamp is in %s%s/)", m->v[i].id,
				b->s3, m->v[i].id);
	}
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
	o->so.work = o->work;
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
	struct batch b = {.pipeline = pipeline,
			  .retries = o->retries,
			  .backoff = o->backoff,
			  .force = o->force};
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
	if (b.s3 != NULL && !o->force)
		look_in_s3(o, &b, &m, f);
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
	batch_release(&b);
	manifest_release(&m);
	return rc;
}

/* The folder that --status or --cancel reads: a results folder, or the state of a prefix. */
static char *
status_dir(const struct opts *o, const char *arg, struct m3_err *e)
{
	struct batch b = {0};
	char *dir;

	if (!is_s3(arg)) {
		if (o->state != NULL) {
			m3_err_set(e, M3_EUSAGE, "--state is for results in S3 (s3://...)");
			return NULL;
		}
		if ((dir = strdup(arg)) == NULL)
			m3_err_set(e, M3_ENOMEM, "out of memory");
		return dir;
	}
	if (setup_s3(o, &b, arg, S3_STATUS, e) != M3_OK) {
		batch_release(&b);
		return NULL;
	}
	dir = b.results;
	b.results = NULL;
	batch_release(&b);
	return dir;
}

static int
show_status(const struct opts *o)
{
	struct manifest m;
	struct fold *f;
	struct m3_err e;
	char *dir, *p;
	int rc;

	m3_err_init(&e);
	if ((dir = status_dir(o, o->status, &e)) == NULL)
		return m3_report(&e);
	if ((p = path_join(dir, ".m3-batch/manifest", NULL)) == NULL) {
		free(dir);
		m3_err_set(&e, M3_ENOMEM, "out of memory");
		return m3_report(&e);
	}
	if (manifest_load(&m, p, &e) != M3_OK) {
		free(p);
		if (e.code == M3_EDATA)
			m3_err_set(&e, M3_EDATA, "%s: not an m3-batch results folder", dir);
		free(dir);
		return m3_report(&e);
	}
	free(p);
	if ((f = calloc(m.n ? m.n : 1, sizeof(*f))) == NULL ||
	    state_fold(dir, &m, f, &e) != M3_OK) {
		if (f == NULL)
			m3_err_set(&e, M3_ENOMEM, "out of memory");
		free(f);
		free(dir);
		manifest_release(&m);
		return m3_report(&e);
	}
	slurm_overlay(dir, &m, f);
	status_print(dir, &m, f, o->json, stdout);
	fold_release(f, m.n);
	free(f);
	free(dir);
	manifest_release(&m);
	rc = m3_stdout_close(&e) != M3_OK ? m3_report(&e) : 0;
	return rc;
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
	struct batch b = {.retries = o->retries, .backoff = o->backoff};
	char real[PATH_MAX];
	struct m3_err e;
	int rc;

	m3_err_init(&e);
	if (argc != 1 || o->results == NULL) {
		usage(stderr);
		return 2;
	}
	if (is_s3(o->results)) {
		if (setup_s3(o, &b, o->results, S3_RUN_ONE, &e) != M3_OK) {
			batch_release(&b);
			return m3_report(&e);
		}
		rc = slurm_run_one(b.results, argv[0], o->run_one, &b, &e);
		batch_release(&b);
		return rc;
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
		char jobs[1024], *dir = status_dir(&o, o.cancel, &e);
		if (dir == NULL)
			return m3_report(&e);
		rc = slurm_cancel(dir, jobs, sizeof(jobs), &e);
		free(dir);
		if (rc != M3_OK)
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
