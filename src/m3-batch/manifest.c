/* m3-batch: the manifest (one input a line) and the stable, file-system-safe id of each study. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "batch.h"
#include "m3/cli.h"

#define LINE_MAX_LEN 4096
#define ID_MAX 64

static const char *const schemes[] = {"s3",   "http", "https", "dicomweb+http", "dicomweb+https",
				      "file", NULL};

/* Length of "scheme" in "scheme://...", or 0 when s has no scheme. */
static size_t
scheme_len(const char *s)
{
	size_t n = 0;

	if (!isalpha((unsigned char)s[0]))
		return 0;
	while (isalnum((unsigned char)s[n]) || s[n] == '+' || s[n] == '.' || s[n] == '-')
		n++;
	return strncmp(s + n, "://", 3) == 0 ? n : 0;
}

uint32_t
fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* Last path component of the input, without scheme, query or trailing slashes, made safe:
 * [A-Za-z0-9._-], no leading dot or dash, at most ID_MAX bytes.  "" when nothing is left. */
char *
manifest_base_id(const char *input)
{
	size_t sl = scheme_len(input), n;
	const char *s = input + (sl ? sl + 3 : 0), *end, *b;
	char *id;

	end = s + strcspn(s, "?#");
	while (end > s && end[-1] == '/')
		end--;
	for (b = end; b > s && b[-1] != '/'; b--)
		;
	n = (size_t)(end - b);
	if (n == 0 || (n == 1 && b[0] == '.') || (n == 2 && b[0] == '.' && b[1] == '.')) {
		b = "study";
		n = 5;
	}
	if ((id = malloc(n + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)b[i];
		id[i] = isalnum(c) || c == '.' || c == '_' || c == '-' ? (char)c : '_';
	}
	id[n] = '\0';
	if (id[0] == '.' || id[0] == '-')
		id[0] = '_';
	return id;
}

static int
cmp_id(const void *a, const void *b)
{
	const struct study *x = *(const struct study *const *)a;
	const struct study *y = *(const struct study *const *)b;

	return strcasecmp(x->id, y->id);
}

static int
cmp_input(const void *a, const void *b)
{
	const struct study *x = *(const struct study *const *)a;
	const struct study *y = *(const struct study *const *)b;
	int c = strcmp(x->input, y->input);

	return c != 0 ? c : x->line < y->line ? -1 : 1;
}

static int
add_hash(struct study *s)
{
	size_t n = strlen(s->id);
	char *id;

	if (n > ID_MAX - 9)
		n = ID_MAX - 9;
	if ((id = malloc(n + 10)) == NULL)
		return -1;
	snprintf(id, n + 10, "%.*s-%08x", (int)n, s->id, fnv1a(s->input));
	free(s->id);
	s->id = id;
	return 0;
}

/* Sorted pointers to the studies, by cmp. */
static struct study **
sorted(const struct manifest *m, int (*cmp)(const void *, const void *))
{
	struct study **p = calloc(m->n ? m->n : 1, sizeof(*p));

	if (p == NULL)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		p[i] = &m->v[i];
	qsort(p, m->n, sizeof(*p), cmp);
	return p;
}

/* Makes ids unique: every member of a group that shares an id (ignoring case, as some file
 * systems do) gets "-" and the FNV-1a hash of its input; so does an over-long or reserved id. */
static int
make_unique(struct manifest *m, const char *name, struct m3_err *e)
{
	struct study **p = sorted(m, cmp_input);

	if (p == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	for (size_t i = 1; i < m->n; i++)
		if (strcmp(p[i - 1]->input, p[i]->input) == 0) {
			m3_err_set(e, M3_EDATA, "%s:%zu: duplicate of line %zu", name, p[i]->line,
				   p[i - 1]->line);
			free(p);
			return e->code;
		}
	free(p);
	if ((p = sorted(m, cmp_id)) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	for (size_t i = 0, j; i < m->n; i = j) {
		for (j = i + 1; j < m->n && strcasecmp(p[i]->id, p[j]->id) == 0; j++)
			;
		for (size_t k = i; k < j; k++) {
			int longid = strlen(p[k]->id) > ID_MAX;
			int reserved = strcasecmp(p[k]->id, "status.jsonl") == 0;
			if ((j - i > 1 || longid || reserved) && add_hash(p[k]) != 0) {
				free(p);
				return m3_err_set(e, M3_ENOMEM, "out of memory");
			}
		}
	}
	qsort(p, m->n, sizeof(*p), cmp_id);
	for (size_t i = 1; i < m->n; i++)
		if (strcasecmp(p[i - 1]->id, p[i]->id) == 0) {
			m3_err_set(e, M3_EDATA, "%s: lines %zu and %zu: both have the id \"%s\"",
				   name, p[i - 1]->line, p[i]->line, p[i]->id);
			free(p);
			return e->code;
		}
	free(p);
	return M3_OK;
}

static int
push(struct manifest *m, size_t *cap, char *id, char *input, size_t line)
{
	if (m->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct study *v = realloc(m->v, nc * sizeof(*v));
		if (v == NULL)
			return -1;
		m->v = v;
		*cap = nc;
	}
	m->v[m->n].id = id;
	m->v[m->n].input = input;
	m->v[m->n].line = line;
	m->n++;
	return 0;
}

/* Checks one input line: no control characters, a known scheme. */
static int
check_input(const char *s, const char *name, size_t line, struct m3_err *e)
{
	size_t sl = scheme_len(s);
	int ok = sl == 0;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return m3_err_set(e, M3_EDATA, "%s:%zu: control character in input", name,
					  line);
	for (int i = 0; !ok && schemes[i] != NULL; i++)
		ok = strlen(schemes[i]) == sl && strncasecmp(s, schemes[i], sl) == 0;
	if (!ok)
		return m3_err_set(e, M3_EDATA, "%s:%zu: unknown scheme \"%.*s://\"", name, line,
				  (int)sl, s);
	if (sl != 0 && s[sl + 3] == '\0')
		return m3_err_set(e, M3_EDATA, "%s:%zu: \"%s\" names nothing", name, line, s);
	return M3_OK;
}

static int
parse(struct manifest *m, FILE *fp, const char *name, struct m3_err *e)
{
	char *buf = NULL, *s, *end, *id, *in;
	size_t bufsz = 0, cap = 0, line = 0;
	ssize_t len;
	int rc = M3_OK;

	while (rc == M3_OK && (len = getline(&buf, &bufsz, fp)) != -1) {
		line++;
		if (memchr(buf, '\0', (size_t)len) != NULL) {
			rc = m3_err_set(e, M3_EDATA, "%s:%zu: NUL byte (not a text file)", name,
					line);
			break;
		}
		if ((size_t)len > LINE_MAX_LEN) {
			rc = m3_err_set(e, M3_EDATA, "%s:%zu: line longer than %d bytes", name,
					line, LINE_MAX_LEN);
			break;
		}
		for (s = buf; *s == ' ' || *s == '\t'; s++)
			;
		for (end = s + strlen(s); end > s && isspace((unsigned char)end[-1]); end--)
			;
		*end = '\0';
		if (*s == '\0' || *s == '#')
			continue;
		if ((rc = check_input(s, name, line, e)) != M3_OK)
			break;
		in = strdup(s);
		id = manifest_base_id(s);
		if (in == NULL || id == NULL || push(m, &cap, id, in, line) != 0) {
			free(in);
			free(id);
			rc = m3_err_set(e, M3_ENOMEM, "out of memory");
		}
	}
	if (rc == M3_OK && ferror(fp))
		rc = m3_err_set(e, M3_EIO, "%s: read error", name);
	free(buf);
	if (rc == M3_OK && m->n == 0)
		rc = m3_err_set(e, M3_EDATA, "%s: no studies in the manifest", name);
	return rc == M3_OK ? make_unique(m, name, e) : rc;
}

int
manifest_read(struct manifest *m, const char *path, struct m3_err *e)
{
	const char *name = path == NULL || strcmp(path, "-") == 0 ? "stdin" : path;
	FILE *fp;
	int rc;

	memset(m, 0, sizeof(*m));
	if ((fp = m3_open_in(path, e)) == NULL)
		return e->code;
	rc = parse(m, fp, name, e);
	m3_close_in(fp);
	if (rc != M3_OK)
		manifest_release(m);
	return rc;
}

static int
id_ok(const char *id)
{
	if (id[0] == '\0' || id[0] == '.' || id[0] == '-' || strlen(id) > ID_MAX)
		return 0;
	for (; *id != '\0'; id++)
		if (!isalnum((unsigned char)*id) && *id != '.' && *id != '_' && *id != '-')
			return 0;
	return 1;
}

/* Reads back a list written by manifest_save: "id TAB input" a line. */
int
manifest_load(struct manifest *m, const char *path, struct m3_err *e)
{
	char *data = read_all(path, NULL, e), *line, *tab, *next;
	size_t cap = 0, n = 0;

	memset(m, 0, sizeof(*m));
	if (data == NULL)
		return e->code;
	for (line = data; *line != '\0'; line = next) {
		n++;
		next = line + strcspn(line, "\n");
		if (*next != '\0')
			*next++ = '\0';
		if ((tab = strchr(line, '\t')) == NULL) {
			m3_err_set(e, M3_EDATA, "%s:%zu: not \"id TAB input\"", path, n);
			goto fail;
		}
		*tab = '\0';
		if (!id_ok(line)) {
			m3_err_set(e, M3_EDATA, "%s:%zu: \"%s\" is not a study id", path, n, line);
			goto fail;
		}
		char *id = strdup(line), *in = strdup(tab + 1);
		if (id == NULL || in == NULL || push(m, &cap, id, in, 0) != 0) {
			free(id);
			free(in);
			m3_err_set(e, M3_ENOMEM, "out of memory");
			goto fail;
		}
	}
	free(data);
	return M3_OK;
fail:
	free(data);
	manifest_release(m);
	return e->code;
}

int
manifest_save(const struct manifest *m, const char *path, struct m3_err *e)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	if (f == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	for (size_t i = 0; i < m->n; i++)
		fprintf(f, "%s\t%s\n", m->v[i].id, m->v[i].input);
	if (fclose(f) != 0) {
		free(buf);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	rc = write_atomic(path, buf, len, e);
	free(buf);
	return rc;
}

void
manifest_release(struct manifest *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].id);
		free(m->v[i].input);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}
