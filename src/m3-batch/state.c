/* m3-batch: the status file (JSON Lines, one line per state change), stamps, locks, the table. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "m3/json.h"

static const char *const names[ST_NSTATES] = {
	"pending",     "queued", "running",   "retrying",    "done",
	"quarantined", "failed", "cancelled", "interrupted",
};

const char *
state_name(enum state s)
{
	return names[s];
}

int
state_parse(const char *s, enum state *out)
{
	for (int i = 0; i < ST_NSTATES; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum state)i;
			return 0;
		}
	return -1;
}

int
state_append(const char *results, const struct event *ev, struct m3_err *e)
{
	char *path = path_join(results, "status.jsonl", NULL), *buf = NULL, t[32];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int fd, err = 0;

	if (path == NULL || f == NULL) {
		free(path);
		if (f != NULL)
			fclose(f);
		free(buf);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	time_iso(t);
	fprintf(f, "{\"time\":\"%s\",\"id\":", t);
	m3_json_str(f, ev->id);
	fprintf(f, ",\"state\":\"%s\",\"attempt\":%d", state_name(ev->state), ev->attempt);
	if (ev->exit >= 0)
		fprintf(f, ",\"exit\":%d", ev->exit);
	if (ev->seconds >= 0)
		fprintf(f, ",\"seconds\":%.3f", ev->seconds);
	if (ev->error != NULL) {
		fputs(",\"error\":", f);
		m3_json_str(f, ev->error);
	}
	fputs(",\"input\":", f);
	m3_json_str(f, ev->input);
	fputs(",\"host\":", f);
	m3_json_str(f, hostname_str());
	fprintf(f, ",\"pid\":%ld", (long)getpid());
	if (ev->job != NULL) {
		fputs(",\"job\":", f);
		m3_json_str(f, ev->job);
	}
	fputs("}\n", f);
	if (fclose(f) != 0) {
		free(path);
		free(buf);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	/* one write() under a lock: whole lines even from many processes (and over NFS) */
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) == -1)
		err = errno;
	else {
		while (fcntl(fd, F_SETLKW, &fl) == -1 && errno == EINTR)
			;
		if (write(fd, buf, len) != (ssize_t)len)
			err = errno ? errno : EIO;
		if (close(fd) != 0 && err == 0)
			err = errno;
	}
	if (err != 0)
		m3_err_set(e, M3_EIO, "%s: %s", path, strerror(err));
	free(path);
	free(buf);
	return err != 0 ? e->code : M3_OK;
}

int
study_done(const char *results, const char *id)
{
	char *p = path_join(results, id, ".m3-batch-done");
	int r = p != NULL && exists(p);

	free(p);
	return r;
}

int
study_locked(const char *results, const char *id)
{
	char *p = path_join(results, ".m3-batch/lock", id);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int fd, r = 0;

	if (p != NULL && (fd = open(p, O_RDONLY | O_CLOEXEC)) != -1) {
		r = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
		close(fd);
	}
	free(p);
	return r;
}

/* A JSON string at *p (just past the opening quote), decoded in place; NULL if malformed. */
static char *
json_string(char **p)
{
	char *s = *p, *o = s;

	for (;;) {
		unsigned c = (unsigned char)*s++;
		if (c == '\0')
			return NULL;
		if (c == '"')
			break;
		if (c != '\\') {
			*o++ = (char)c;
			continue;
		}
		c = (unsigned char)*s++;
		switch (c) {
		case 'n':
			*o++ = '\n';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 'b':
			*o++ = '\b';
			break;
		case 'f':
			*o++ = '\f';
			break;
		case '"':
		case '\\':
		case '/':
			*o++ = (char)c;
			break;
		case 'u': {
			unsigned long u;
			char hex[5] = {0};
			memcpy(hex, s, 4);
			if (strlen(hex) != 4 || strspn(hex, "0123456789abcdefABCDEF") != 4)
				return NULL;
			u = strtoul(hex, NULL, 16);
			s += 4;
			/* our writer escapes only control characters and U+FFFD: BMP only */
			if (u < 0x80) {
				*o++ = (char)u;
			} else if (u < 0x800) {
				*o++ = (char)(0xc0 | (u >> 6));
				*o++ = (char)(0x80 | (u & 0x3f));
			} else {
				*o++ = (char)(0xe0 | (u >> 12));
				*o++ = (char)(0x80 | ((u >> 6) & 0x3f));
				*o++ = (char)(0x80 | (u & 0x3f));
			}
			break;
		}
		default:
			return NULL;
		}
	}
	*o = '\0';
	o = *p;
	*p = s;
	return o;
}

struct rec {
	char *id, *state, *error, *job;
	int attempt, exit;
	double seconds;
};

static char *
skip_ws(char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

/* One flat JSON object of string, number and null values (what state_append writes). */
static int
parse_rec(char *p, struct rec *r)
{
	memset(r, 0, sizeof(*r));
	r->exit = -1;
	r->seconds = -1;
	p = skip_ws(p);
	if (*p++ != '{')
		return -1;
	for (p = skip_ws(p); *p != '}'; p = skip_ws(p)) {
		char *key, *val = NULL, *end;
		double num = 0;
		if (*p++ != '"' || (key = json_string(&p)) == NULL)
			return -1;
		p = skip_ws(p);
		if (*p++ != ':')
			return -1;
		p = skip_ws(p);
		if (*p == '"') {
			p++;
			if ((val = json_string(&p)) == NULL)
				return -1;
		} else if (strncmp(p, "null", 4) == 0) {
			p += 4;
		} else {
			num = strtod(p, &end);
			if (end == p)
				return -1;
			p = end;
		}
		if (strcmp(key, "id") == 0)
			r->id = val;
		else if (strcmp(key, "state") == 0)
			r->state = val;
		else if (strcmp(key, "error") == 0)
			r->error = val;
		else if (strcmp(key, "job") == 0)
			r->job = val;
		else if (strcmp(key, "attempt") == 0)
			r->attempt = (int)num;
		else if (strcmp(key, "exit") == 0 && val == NULL)
			r->exit = (int)num;
		else if (strcmp(key, "seconds") == 0 && val == NULL)
			r->seconds = num;
		p = skip_ws(p);
		if (*p == ',')
			p++;
		else if (*p != '}')
			return -1;
	}
	return r->id != NULL && r->state != NULL ? 0 : -1;
}

static int
cmp_study(const void *a, const void *b)
{
	return strcmp((*(const struct study *const *)a)->id, (*(const struct study *const *)b)->id);
}

/* Index in m of the study with this id, or -1; idx holds m's studies sorted by id. */
static long
find(const struct manifest *m, const struct study *const *idx, const char *id)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(id, idx[mid]->id);
		if (c == 0)
			return (long)(idx[mid] - m->v);
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static void
set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s != NULL ? strdup(s) : NULL;
}

static void
fold_line(struct fold *f, const struct rec *r)
{
	enum state st;

	if (state_parse(r->state, &st) != 0)
		return;
	f->state = st;
	f->attempt = r->attempt;
	f->exit = r->exit;
	f->seconds = r->seconds;
	set_str(&f->error, r->error);
	set_str(&f->job, r->job);
}

/* What the files say beyond status.jsonl: the stamp wins; a lock tells running from dead. */
static void
fold_fix(const char *results, const struct study *s, struct fold *f)
{
	int locked = study_locked(results, s->id);

	if (study_done(results, s->id)) {
		if (f->state != ST_DONE) {
			f->state = ST_DONE;
			f->exit = 0;
			set_str(&f->error, NULL);
		}
	} else if (f->state == ST_DONE) {
		f->state = ST_PENDING; /* its results folder was removed */
	} else if (locked) {
		if (f->state != ST_RETRYING)
			f->state = ST_RUNNING;
	} else if (f->state == ST_RUNNING || f->state == ST_RETRYING) {
		f->state = ST_INTERRUPTED;
	}
}

int
state_fold(const char *results, const struct manifest *m, struct fold *f, struct m3_err *e)
{
	char *path = path_join(results, "status.jsonl", NULL), *data, *line, *next;
	const struct study **idx = calloc(m->n ? m->n : 1, sizeof(*idx));
	struct rec r;

	for (size_t i = 0; i < m->n; i++) {
		memset(&f[i], 0, sizeof(f[i]));
		f[i].exit = -1;
		f[i].seconds = -1;
	}
	if (path == NULL || idx == NULL) {
		free(path);
		free(idx);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < m->n; i++)
		idx[i] = &m->v[i];
	qsort(idx, m->n, sizeof(*idx), cmp_study);
	if ((data = read_all(path, NULL, e)) == NULL && e->code != M3_EDATA) {
		free(path);
		free(idx);
		return e->code;
	}
	for (line = data; line != NULL && *line != '\0'; line = next) {
		long i;
		next = line + strcspn(line, "\n");
		if (*next != '\0')
			*next++ = '\0';
		/* a torn or foreign line (a full disk, an editor) is skipped, not fatal */
		if (parse_rec(line, &r) == 0 && (i = find(m, idx, r.id)) >= 0)
			fold_line(&f[i], &r);
	}
	for (size_t i = 0; i < m->n; i++)
		fold_fix(results, &m->v[i], &f[i]);
	free(data);
	free(path);
	free(idx);
	return M3_OK;
}

void
fold_release(struct fold *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].error);
		free(f[i].job);
	}
}

static void
json_or_null(FILE *out, const char *s)
{
	if (s != NULL)
		m3_json_str(out, s);
	else
		fputs("null", out);
}

static void
print_json(FILE *out, const struct study *s, const struct fold *f)
{
	fputs("{\"id\":", out);
	m3_json_str(out, s->id);
	fputs(",\"input\":", out);
	m3_json_str(out, s->input);
	fprintf(out, ",\"state\":\"%s\",\"attempts\":%d,\"exit\":", state_name(f->state),
		f->attempt);
	if (f->exit >= 0)
		fprintf(out, "%d", f->exit);
	else
		fputs("null", out);
	fputs(",\"seconds\":", out);
	if (f->seconds >= 0)
		fprintf(out, "%.3f", f->seconds);
	else
		fputs("null", out);
	fputs(",\"error\":", out);
	json_or_null(out, f->error);
	fputs(",\"job\":", out);
	json_or_null(out, f->job);
	fputs("}\n", out);
}

/* The table (or JSON Lines) and, for the table, a summary line. */
int
status_print(const char *results, const struct manifest *m, struct fold *f, int json, FILE *out)
{
	size_t count[ST_NSTATES] = {0};
	int w = 5;

	(void)results;
	for (size_t i = 0; i < m->n; i++) {
		int l = (int)strlen(m->v[i].id);
		w = l > w ? l : w;
		count[f[i].state]++;
	}
	if (!json)
		fprintf(out, "%-*s  %-11s  %4s  %8s  %8s  %s\n", w, "STUDY", "STATE", "EXIT",
			"ATTEMPTS", "TIME", "ERROR");
	for (size_t i = 0; i < m->n; i++) {
		char ex[16] = "-", at[16] = "-", tm[32] = "-";
		if (json) {
			print_json(out, &m->v[i], &f[i]);
			continue;
		}
		if (f[i].exit >= 0)
			snprintf(ex, sizeof(ex), "%d", f[i].exit);
		if (f[i].attempt > 0)
			snprintf(at, sizeof(at), "%d", f[i].attempt);
		if (f[i].seconds >= 0)
			snprintf(tm, sizeof(tm), "%.1fs", f[i].seconds);
		fprintf(out, "%-*s  %-11s  %4s  %8s  %8s  %s\n", w, m->v[i].id,
			state_name(f[i].state), ex, at, tm, f[i].error ? f[i].error : "");
	}
	if (!json) {
		fprintf(out, "%zu %s:", m->n, m->n == 1 ? "study" : "studies");
		for (int s = 0, first = 1; s < ST_NSTATES; s++)
			if (count[s] > 0) {
				fprintf(out, "%s %zu %s", first ? "" : ",", count[s],
					state_name((enum state)s));
				first = 0;
			}
		fputc('\n', out);
	}
	return ferror(out) ? -1 : 0;
}
