/* m3-batch: shared types of the manifest, the runner of one study, the status file and Slurm. */
#ifndef M3_BATCH_H
#define M3_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "m3/err.h"

/* Exit codes of a runner of one study (also a Slurm array task's exit code). */
enum {
	RUN_DONE = 0,
	RUN_FAILED = 1,
	RUN_QUARANTINED = 3,
	RUN_EXHAUSTED = 4, /* exit 4 on every attempt */
	RUN_BUSY = 75, /* locked by another m3-batch: not run here */
};

/* States of a study, as written in status.jsonl and shown by --status. */
enum state {
	ST_PENDING,
	ST_QUEUED, /* a Slurm task not started yet */
	ST_RUNNING,
	ST_RETRYING,
	ST_DONE,
	ST_QUARANTINED,
	ST_FAILED,
	ST_CANCELLED,
	ST_INTERRUPTED, /* "running" in the file, but no process holds its lock */
	ST_NSTATES
};

struct study {
	char *id;
	char *input;
	size_t line; /* manifest line, 1-based (0: read back from a saved list) */
};

struct manifest {
	struct study *v;
	size_t n;
};

/* What --status folds out of status.jsonl (and the stamp, the lock, squeue) for one study. */
struct fold {
	enum state state;
	int attempt;
	int exit; /* -1: none yet */
	double seconds; /* -1: none */
	char *error;
	char *job;
};

struct batch {
	char *results; /* absolute path of the results folder; with -o s3://, of the state folder */
	const char *pipeline;
	long retries;
	double backoff;
	int force;
	const char *job; /* Slurm "JOB_TASK" of this runner, or NULL */
	int parent_pid; /* the local batch that forked the runner, or 0 */
	/* Results in S3 (-o s3://bucket/prefix/); s3 is NULL for a results folder. */
	const char *s3; /* the prefix, ending in '/' */
	const char *work; /* absolute: the studies' {out} are work/m3-batch.UID.HASH/<id> */
	const char *const *push_opt; /* --push-opt words for m3-push */
	size_t npush_opt;
	const char *push, *fetch; /* m3-push and m3-fetch: beside this binary, else from PATH */
};

/* manifest.c */
int manifest_read(struct manifest *m, const char *path, struct m3_err *e);
int manifest_load(struct manifest *m, const char *path, struct m3_err *e);
int manifest_save(const struct manifest *m, const char *path, struct m3_err *e);
void manifest_release(struct manifest *m);
/* The id of one input, before the manifest makes ids unique (exposed for tests via --list). */
char *manifest_base_id(const char *input);
uint32_t fnv1a(const char *s);

/* fsutil.c */
char *path_join(const char *a, const char *b, const char *c);
int mkdir_p(const char *path, struct m3_err *e);
int rm_rf(const char *path);
int write_atomic(const char *path, const char *data, size_t len, struct m3_err *e);
char *read_all(const char *path, size_t *len, struct m3_err *e);
int fsync_dir(const char *path);
int exists(const char *path);
void time_iso(char buf[32]);
double now_s(void);
const char *hostname_str(void);

/* state.c */
const char *state_name(enum state s);
int state_parse(const char *s, enum state *out);
struct event {
	const char *id;
	const char *input;
	enum state state;
	int attempt;
	int exit; /* -1: omitted */
	double seconds; /* <0: omitted */
	const char *error; /* NULL: omitted */
	const char *job; /* NULL: omitted */
};
int state_append(const char *results, const struct event *ev, struct m3_err *e);
/* Folds status.jsonl, stamps and locks into one struct fold per study of m. */
int state_fold(const char *results, const struct manifest *m, struct fold *f, struct m3_err *e);
void fold_release(struct fold *f, size_t n);
int study_done(const char *results, const char *id);
/* 1 when a process holds the study's lock. */
int study_locked(const char *results, const char *id);
int status_print(const char *results, const struct manifest *m, struct fold *f, int json,
		 FILE *out);

/* study.c: runs one study through all its attempts; a RUN_* code, err line in errline. */
int study_run(const struct batch *b, const struct study *s, char *errline, size_t errsz);
/* Runs argv (stdout and stderr into logfd) as the pipeline runs, cancelled with it; its exit
 * status (128+N for signal N) and last line on stderr, or -1 when it could not start. */
int tool_run(char *const argv[], int logfd, char *errline, size_t errsz);
/* Nonzero once the runner got SIGINT, SIGTERM or SIGHUP. */
int study_cancelled(void);

/* s3.c */
/* "s3://bucket/prefix" made "s3://bucket/prefix/"; M3_EUSAGE when it is not one. */
int s3_prefix(const char *url, char **out, struct m3_err *e);
/* The default state folder of a prefix: m3-batch-state/<8 hex digits of its FNV-1a hash>. */
char *s3_state_default(const char *prefix);
/* The m3 tool name beside this binary, else name itself (looked up in PATH). */
char *tool_path(const char *name);
/* The temporary folder of a study's {out}: work/m3-batch.UID.HASH/id, HASH of the state
 * folder's path (the runner makes it). */
char *s3_work_dir(const struct batch *b, const char *id);
/* Puts every file of dir under prefix/id/ with m3-push, then stamp as prefix/id/.m3-batch-done.
 * m3-push's exit status (0: all there) and its error line. */
int s3_upload(const struct batch *b, const struct study *s, const char *dir, const char *stamp,
	      int logfd, char *errline, size_t errsz);
/* Whether prefix/id/.m3-batch-done exists (m3-fetch -l): 1 yes, 0 no, -1 not known, with
 * m3-fetch's exit status in *status (-1: not started) and its error line. */
int s3_remote_done(const struct batch *b, const char *id, int *status, char *errline, size_t errsz);
/* prefix + id + "/" + rest */
char *s3_url(const struct batch *b, const char *id, const char *rest);

/* slurm.c */
struct slurm_opts {
	const char *gpus_per_task;
	const char *time;
	const char *partition;
	long max_running;
	const char **extra;
	size_t nextra;
	const char *self; /* absolute path of this binary */
	const char *work; /* --work as given (each node resolves its own default), or NULL */
};
int slurm_submit(const struct batch *b, const struct manifest *todo, const struct slurm_opts *o,
		 char *jobid, size_t jobsz, struct m3_err *e);
int slurm_cancel(const char *results, char *jobs, size_t jobsz, struct m3_err *e);
/* Overlays Slurm's view (squeue) on studies that have no final state of their own. */
void slurm_overlay(const char *results, const struct manifest *m, struct fold *f);
int slurm_run_one(const char *results, const char *subdir, long index, const struct batch *b,
		  struct m3_err *e);

#endif
