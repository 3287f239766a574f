/* m3-batch: Slurm: one job array a submission (sbatch), one study a task, scancel, squeue. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "batch.h"
#include "m3/cli.h"

/* Runs argv; its stdout into *out (NUL-terminated), stderr kept or thrown away.  The exit
 * status, 127 when the program is not found, -1 when it could not start. */
static int
run_capture(char *const argv[], char **out, int quiet_err)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	int p[2], st;
	pid_t pid;

	*out = NULL;
	if (buf == NULL || pipe(p) != 0) {
		free(buf);
		return -1;
	}
	if ((pid = fork()) == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(p[1], 1);
		if (quiet_err)
			dup2(null, 2);
		dup2(null, 0);
		close(p[0]);
		close(p[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	for (ssize_t r; pid > 0;) {
		if (n + 1 >= cap) {
			char *nb = cap < (1u << 26) ? realloc(buf, cap * 2) : NULL;
			if (nb == NULL)
				break;
			buf = nb;
			cap *= 2;
		}
		r = read(p[0], buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(p[0]);
	buf[n] = '\0';
	if (pid < 0) {
		free(buf);
		return -1;
	}
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	*out = buf;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A path that can go into an #SBATCH line and a shell word unquoted. */
static int
plain_path(const char *p)
{
	for (; *p != '\0'; p++)
		if (isspace((unsigned char)*p) || strchr("%'\"\\$`;&|<>()*?[]{}#~!", *p) != NULL)
			return 0;
	return 1;
}

static int
check_opts(const struct slurm_opts *o, const char *results, struct m3_err *e)
{
	char cwd[4096];

	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return m3_err_set(e, M3_EFAIL, "getcwd: %s", strerror(errno));
	if (!plain_path(results) || !plain_path(cwd) || !plain_path(o->self))
		return m3_err_set(
			e, M3_EUSAGE,
			"--slurm: paths with blanks or shell characters are not supported "
			"(results, working folder, m3-batch)");
	if (o->time != NULL &&
	    (o->time[0] == '\0' || strspn(o->time, "0123456789:-") != strlen(o->time)))
		return m3_err_set(e, M3_EUSAGE, "--time: \"%s\" is not a Slurm time limit",
				  o->time);
	if (o->partition != NULL &&
	    (o->partition[0] == '\0' ||
	     strspn(o->partition,
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.,-") !=
		     strlen(o->partition)))
		return m3_err_set(e, M3_EUSAGE, "--partition: \"%s\" is not a partition name",
				  o->partition);
	for (size_t i = 0; i < o->nextra; i++)
		if (strncmp(o->extra[i], "--", 2) != 0 || strpbrk(o->extra[i], "\n\r") != NULL)
			return m3_err_set(e, M3_EUSAGE,
					  "--sbatch: \"%s\" is not one long sbatch option",
					  o->extra[i]);
	return M3_OK;
}

/* One shell word, single-quoted. */
static void
put_word(FILE *f, const char *s)
{
	fputs(" '", f);
	for (; *s != '\0'; s++)
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	fputc('\'', f);
}

static char *
array_script(const struct batch *b, const struct slurm_opts *o, const char *sub, size_t n)
{
	char *buf = NULL, cwd[4096];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL || getcwd(cwd, sizeof(cwd)) == NULL) {
		if (f != NULL)
			fclose(f);
		free(buf);
		return NULL;
	}
	fprintf(f, "#!/bin/sh\n"
		   "# Written by m3-batch --slurm: one study per array task.  Each task runs\n"
		   "# m3-batch itself on one study, so exit codes, retries and stamps are those\n"
		   "# of a local run.\n"
		   "#SBATCH --job-name=m3-batch\n");
	if (o->max_running > 0)
		fprintf(f, "#SBATCH --array=0-%zu%%%ld\n", n - 1, o->max_running);
	else
		fprintf(f, "#SBATCH --array=0-%zu\n", n - 1);
	fprintf(f,
		"#SBATCH --ntasks=1\n#SBATCH --chdir=%s\n#SBATCH "
		"--output=%s/.slurm/task-%%A_%%a.out\n",
		cwd, b->results);
	if (o->gpus_per_task != NULL)
		fprintf(f, "#SBATCH --gpus-per-task=%s\n", o->gpus_per_task);
	if (o->time != NULL)
		fprintf(f, "#SBATCH --time=%s\n", o->time);
	if (o->partition != NULL)
		fprintf(f, "#SBATCH --partition=%s\n", o->partition);
	for (size_t i = 0; i < o->nextra; i++)
		fprintf(f, "#SBATCH %s\n", o->extra[i]);
	fprintf(f, "exec %s --run-one \"$SLURM_ARRAY_TASK_ID\" --retries %ld --backoff %g", o->self,
		b->retries, b->backoff);
	if (b->s3 != NULL) { /* each task pushes its study itself */
		fputs(" -o", f);
		put_word(f, b->s3);
		fprintf(f, " --state %s", b->results);
		if (o->work != NULL) {
			fputs(" --work", f);
			put_word(f, o->work);
		}
		for (size_t i = 0; i < b->npush_opt; i++) {
			fputs(" --push-opt", f);
			put_word(f, b->push_opt[i]);
		}
		fprintf(f, " %s\n", sub);
	} else {
		fprintf(f, " -o %s %s\n", b->results, sub);
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int
append_line(const char *path, const char *line, struct m3_err *e)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	ssize_t n = (ssize_t)strlen(line);

	if (fd == -1 || write(fd, line, (size_t)n) != n) {
		m3_err_set(e, M3_EIO, "%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return e->code;
	}
	close(fd);
	return M3_OK;
}

int
slurm_submit(const struct batch *b, const struct manifest *todo, const struct slurm_opts *o,
	     char *jobid, size_t jobsz, struct m3_err *e)
{
	char *dir = path_join(b->results, ".slurm", NULL), *sub = NULL, *p = NULL, *script = NULL;
	char *out = NULL, line[8192];
	int rc;

	if (dir == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	if ((rc = check_opts(o, b->results, e)) != M3_OK || (rc = mkdir_p(dir, e)) != M3_OK)
		goto done;
	if ((sub = path_join(dir, "sub.XXXXXX", NULL)) == NULL || mkdtemp(sub) == NULL) {
		rc = m3_err_set(e, M3_EIO, "%s: %s", dir, strerror(errno));
		goto done;
	}
	free(p);
	p = path_join(sub, "tasks", NULL);
	if ((rc = manifest_save(todo, p, e)) != M3_OK)
		goto done;
	free(p);
	p = path_join(sub, "pipeline", NULL);
	if ((rc = write_atomic(p, b->pipeline, strlen(b->pipeline), e)) != M3_OK)
		goto done;
	free(p);
	p = path_join(dir, "array.sh", NULL);
	if ((script = array_script(b, o, sub, todo->n)) == NULL) {
		rc = m3_err_set(e, M3_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = write_atomic(p, script, strlen(script), e)) != M3_OK)
		goto done;
	char *argv[] = {"sbatch", "--parsable", p, NULL};
	rc = run_capture(argv, &out, 0);
	if (rc != 0) {
		rc = m3_err_set(e, M3_EFAIL, "sbatch: %s",
				rc == 127 ? "not found (is Slurm installed and on PATH?)"
				: rc < 0  ? strerror(errno)
					  : "the job array was not submitted");
		goto done;
	}
	out[strcspn(out, ";\n")] = '\0';
	if (out[0] == '\0' || strspn(out, "0123456789") != strlen(out)) {
		rc = m3_err_set(e, M3_EFAIL, "sbatch: no job id in its output");
		goto done;
	}
	snprintf(jobid, jobsz, "%s", out);
	snprintf(line, sizeof(line), "%s %s %zu\n", out, sub, todo->n);
	free(p);
	p = path_join(dir, "jobs", NULL);
	rc = append_line(p, line, e);
done:
	free(dir);
	free(sub);
	free(p);
	free(script);
	free(out);
	return rc;
}

/* The recorded submissions, "JOB SUBDIR COUNT" a line; NULL when there are none. */
static char *
read_jobs(const char *results, struct m3_err *e)
{
	char *p = path_join(results, ".slurm/jobs", NULL), *data;

	if (p == NULL) {
		m3_err_set(e, M3_ENOMEM, "out of memory");
		return NULL;
	}
	data = read_all(p, NULL, e);
	free(p);
	return data;
}

int
slurm_cancel(const char *results, char *jobs, size_t jobsz, struct m3_err *e)
{
	char *data = read_jobs(results, e), *argv[66], *out = NULL, *line, *next;
	int n = 0, rc;

	if (data == NULL)
		return m3_err_set(e, M3_EUSAGE,
				  "%s: no Slurm job recorded (was it run with --slurm?)", results);
	argv[n++] = "scancel";
	jobs[0] = '\0';
	/* the newest 64 submissions: any older one has long finished */
	for (line = data; *line != '\0'; line = next) {
		next = line + strcspn(line, "\n");
		if (*next != '\0')
			*next++ = '\0';
		line[strcspn(line, " ")] = '\0';
		if (line[0] == '\0')
			continue;
		if (n == 65) {
			memmove(argv + 1, argv + 2, 63 * sizeof(*argv));
			n--;
		}
		argv[n++] = line;
	}
	argv[n] = NULL;
	for (int i = 1; i < n; i++)
		snprintf(jobs + strlen(jobs), jobsz - strlen(jobs), "%s%s", i > 1 ? " " : "",
			 argv[i]);
	rc = run_capture(argv, &out, 0);
	free(out);
	free(data);
	if (rc != 0)
		return m3_err_set(e, M3_EFAIL, "scancel %s: %s", jobs,
				  rc == 127 ? "not found (is Slurm installed and on PATH?)"
					    : "failed");
	return M3_OK;
}

static long
find_id(const struct manifest *m, const char *id)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->v[i].id, id) == 0)
			return (long)i;
	return -1;
}

/* Slurm's word for a task that has not written (or could not write) a state of its own. */
static void
overlay_one(struct fold *f, const char *state, const char *job)
{
	int final = f->state == ST_DONE || f->state == ST_QUARANTINED || f->state == ST_FAILED;
	int own = f->state != ST_PENDING && f->state != ST_INTERRUPTED;

	if (f->job == NULL || !own) {
		free(f->job);
		f->job = strdup(job);
	}
	if (strcmp(state, "PENDING") == 0 || strcmp(state, "REQUEUED") == 0) {
		if (!own)
			f->state = ST_QUEUED;
	} else if (strcmp(state, "RUNNING") == 0 || strcmp(state, "CONFIGURING") == 0 ||
		   strcmp(state, "COMPLETING") == 0) {
		if (!own)
			f->state = ST_RUNNING;
	} else if (strcmp(state, "CANCELLED") == 0) {
		if (!own) {
			f->state = ST_CANCELLED;
			free(f->error);
			f->error = strdup("slurm: cancelled before it started");
		}
	} else if (strcmp(state, "COMPLETED") != 0 && !final) {
		char msg[96];
		snprintf(msg, sizeof(msg), "slurm: %s", state); /* TIMEOUT, OUT_OF_MEMORY, ... */
		f->state = ST_FAILED;
		free(f->error);
		f->error = strdup(msg);
	}
}

void
slurm_overlay(const char *results, const struct manifest *m, struct fold *f)
{
	struct m3_err e;
	char *data, *line, *next;

	m3_err_init(&e);
	if ((data = read_jobs(results, &e)) == NULL)
		return;
	for (line = data; *line != '\0'; line = next) {
		char job[64], sub[4096], *tp, *out = NULL, *l, *ln;
		struct manifest t;
		next = line + strcspn(line, "\n");
		if (*next != '\0')
			*next++ = '\0';
		if (sscanf(line, "%63s %4095s", job, sub) != 2 ||
		    (tp = path_join(sub, "tasks", NULL)) == NULL)
			continue;
		int rc = manifest_load(&t, tp, &e);
		free(tp);
		if (rc != M3_OK)
			continue;
		char *argv[] = {"squeue", "-h", "-r", "-t", "all", "-j", job, "-o", "%K %T", NULL};
		if (run_capture(argv, &out, 1) == 0)
			for (l = out; *l != '\0'; l = ln) {
				char st[64], jt[96];
				long k, i;
				ln = l + strcspn(l, "\n");
				if (*ln != '\0')
					*ln++ = '\0';
				if (sscanf(l, "%ld %63s", &k, st) != 2 || k < 0 ||
				    (size_t)k >= t.n || (i = find_id(m, t.v[k].id)) < 0)
					continue;
				snprintf(jt, sizeof(jt), "%s_%ld", job, k);
				overlay_one(&f[i], st, jt);
			}
		free(out);
		manifest_release(&t);
	}
	free(data);
}

int
slurm_run_one(const char *results, const char *subdir, long index, const struct batch *b,
	      struct m3_err *e)
{
	struct batch rb = *b;
	struct manifest t;
	char *tp = path_join(subdir, "tasks", NULL), *pp = path_join(subdir, "pipeline", NULL);
	char *pipeline = NULL, job[96], err[1024];
	const char *aj = getenv("SLURM_ARRAY_JOB_ID"), *at = getenv("SLURM_ARRAY_TASK_ID");
	int rc;

	(void)results;
	if (tp == NULL || pp == NULL) {
		free(tp);
		free(pp);
		m3_err_set(e, M3_ENOMEM, "out of memory");
		return m3_report(e);
	}
	rc = manifest_load(&t, tp, e);
	free(tp);
	if (rc != M3_OK) {
		free(pp);
		return m3_report(e);
	}
	pipeline = read_all(pp, NULL, e);
	free(pp);
	if (pipeline == NULL) {
		manifest_release(&t);
		return m3_report(e);
	}
	if (index < 0 || (size_t)index >= t.n) {
		manifest_release(&t);
		free(pipeline);
		m3_err_set(e, M3_EUSAGE, "--run-one: %ld is not a task of %s (0 to %zu)", index,
			   subdir, t.n - 1);
		return m3_report(e);
	}
	if (aj != NULL && at != NULL) {
		snprintf(job, sizeof(job), "%s_%s", aj, at);
		rb.job = job;
	}
	rb.pipeline = pipeline;
	rc = study_run(&rb, &t.v[index], err, sizeof(err));
	if (rc == RUN_BUSY) {
		fprintf(stderr, "m3-batch: %s: another m3-batch holds its lock; not run here\n",
			t.v[index].id);
		rc = 0;
	} else if (rc != RUN_DONE) {
		fprintf(stderr, "m3-batch: %s: %s\n", t.v[index].id, err);
	}
	manifest_release(&t);
	free(pipeline);
	return rc;
}
