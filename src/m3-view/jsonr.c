/* m3-view: a small recursive-descent JSON reader with a depth limit and exact error places. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonr.h"

struct jp {
	const char *s;
	size_t n, i;
	char *why;
	size_t whylen;
};

static int
fail(struct jp *p, const char *what)
{
	snprintf(p->why, p->whylen, "byte %zu: %s", p->i + 1, what);
	return -1;
}

static void
ws(struct jp *p)
{
	while (p->i < p->n && strchr(" \t\r\n", p->s[p->i]) != NULL && p->s[p->i] != '\0')
		p->i++;
}

static int
hex4(struct jp *p, unsigned long *out)
{
	unsigned long v = 0;

	if (p->n - p->i < 4)
		return fail(p, "truncated \\u escape");
	for (int k = 0; k < 4; k++) {
		char c = p->s[p->i++];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned long)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned long)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned long)(c - 'A' + 10);
		else
			return fail(p, "bad \\u escape");
	}
	*out = v;
	return 0;
}

static size_t
put_utf8(char *o, unsigned long c)
{
	if (c < 0x80) {
		o[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (char)(0xc0 | c >> 6);
		o[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (char)(0xe0 | c >> 12);
		o[1] = (char)(0x80 | (c >> 6 & 0x3f));
		o[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | c >> 18);
	o[1] = (char)(0x80 | (c >> 12 & 0x3f));
	o[2] = (char)(0x80 | (c >> 6 & 0x3f));
	o[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/* A string at p->i (on the opening quote); escapes never make the text longer. */
static int
string(struct jp *p, char **out, size_t *len)
{
	size_t start = ++p->i, o = 0;
	char *s;

	while (p->i < p->n && p->s[p->i] != '"') {
		if ((unsigned char)p->s[p->i] < 0x20)
			return fail(p, "control character in a string");
		p->i += p->s[p->i] == '\\' ? 2 : 1;
	}
	if (p->i >= p->n)
		return fail(p, "unterminated string");
	if ((s = malloc(p->i - start + 1)) == NULL)
		return fail(p, "out of memory");
	for (p->i = start; p->s[p->i] != '"';) {
		unsigned long c, lo;
		char esc;

		if (p->s[p->i] != '\\') {
			s[o++] = p->s[p->i++];
			continue;
		}
		esc = p->s[p->i + 1];
		p->i += 2;
		if (esc == 'u') {
			if (hex4(p, &c) != 0)
				goto bad;
			if (c >= 0xd800 && c <= 0xdbff && p->n - p->i >= 6 && p->s[p->i] == '\\' &&
			    p->s[p->i + 1] == 'u') {
				p->i += 2;
				if (hex4(p, &lo) != 0)
					goto bad;
				c = lo >= 0xdc00 && lo <= 0xdfff
					    ? 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00)
					    : 0xfffd;
			} else if (c >= 0xd800 && c <= 0xdfff) {
				c = 0xfffd;
			}
			o += put_utf8(s + o, c);
			continue;
		}
		switch (esc) {
		case '"':
		case '\\':
		case '/':
			s[o++] = esc;
			break;
		case 'b':
			s[o++] = '\b';
			break;
		case 'f':
			s[o++] = '\f';
			break;
		case 'n':
			s[o++] = '\n';
			break;
		case 'r':
			s[o++] = '\r';
			break;
		case 't':
			s[o++] = '\t';
			break;
		default:
			p->i -= 1;
			fail(p, "bad escape");
			goto bad;
		}
	}
	p->i++;
	s[o] = '\0';
	*out = s;
	*len = o;
	return 0;
bad:
	free(s);
	return -1;
}

static int
number(struct jp *p, double *out)
{
	size_t start = p->i;
	char buf[64], *end;

	if (p->i < p->n && p->s[p->i] == '-')
		p->i++;
	if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
		return fail(p, "bad number");
	if (p->s[p->i] == '0')
		p->i++;
	else
		while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
			p->i++;
	if (p->i < p->n && p->s[p->i] == '.') {
		if (++p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
			return fail(p, "bad number");
		while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
			p->i++;
	}
	if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		p->i++;
		if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
			p->i++;
		if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
			return fail(p, "bad number");
		while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
			p->i++;
	}
	if (p->i - start >= sizeof(buf))
		return fail(p, "number too long");
	memcpy(buf, p->s + start, p->i - start);
	buf[p->i - start] = '\0';
	errno = 0;
	*out = strtod(buf, &end);
	if (!isfinite(*out))
		return fail(p, "number out of range");
	return 0;
}

static int value(struct jp *p, struct jv *v, int depth);

/* Appends one more slot to an array or object. */
static struct jv *
slot(struct jv *v, int keyed)
{
	struct jv *nv = realloc(v->v, (v->n + 1) * sizeof(*nv));
	char **nk;

	if (nv == NULL)
		return NULL;
	v->v = nv;
	if (keyed) {
		if ((nk = realloc(v->k, (v->n + 1) * sizeof(*nk))) == NULL)
			return NULL;
		v->k = nk;
		v->k[v->n] = NULL;
	}
	memset(&v->v[v->n], 0, sizeof(*nv));
	return &v->v[v->n++];
}

static int
container(struct jp *p, struct jv *v, int depth)
{
	int obj = p->s[p->i] == '{';
	char close = obj ? '}' : ']';
	struct jv *item;
	size_t klen;
	char *key;

	v->t = obj ? J_OBJ : J_ARR;
	p->i++;
	ws(p);
	if (p->i < p->n && p->s[p->i] == close) {
		p->i++;
		return 0;
	}
	for (;;) {
		key = NULL;
		if (obj) {
			if (p->i >= p->n || p->s[p->i] != '"')
				return fail(p, "expected a key");
			if (string(p, &key, &klen) != 0)
				return -1;
			ws(p);
			if (p->i >= p->n || p->s[p->i] != ':') {
				free(key);
				return fail(p, "expected ':'");
			}
			p->i++;
		}
		if ((item = slot(v, obj)) == NULL) {
			free(key);
			return fail(p, "out of memory");
		}
		if (obj)
			v->k[v->n - 1] = key;
		if (value(p, item, depth + 1) != 0)
			return -1;
		ws(p);
		if (p->i < p->n && p->s[p->i] == ',') {
			p->i++;
			ws(p);
			continue;
		}
		if (p->i < p->n && p->s[p->i] == close) {
			p->i++;
			return 0;
		}
		return fail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int
literal(struct jp *p, const char *word, enum jtype t, struct jv *v)
{
	size_t m = strlen(word);

	if (p->n - p->i < m || memcmp(p->s + p->i, word, m) != 0)
		return fail(p, "unexpected character");
	p->i += m;
	v->t = t;
	return 0;
}

static int
value(struct jp *p, struct jv *v, int depth)
{
	if (depth > JSONR_MAXDEPTH)
		return fail(p, "nested too deep");
	ws(p);
	if (p->i >= p->n)
		return fail(p, "unexpected end");
	switch (p->s[p->i]) {
	case '{':
	case '[':
		return container(p, v, depth);
	case '"':
		v->t = J_STR;
		return string(p, &v->str, &v->len);
	case 't':
		return literal(p, "true", J_TRUE, v);
	case 'f':
		return literal(p, "false", J_FALSE, v);
	case 'n':
		return literal(p, "null", J_NULL, v);
	default:
		if (p->s[p->i] != '-' && (p->s[p->i] < '0' || p->s[p->i] > '9'))
			return fail(p, "unexpected character");
		v->t = J_NUM;
		return number(p, &v->num);
	}
}

int
jsonr_parse(const char *s, size_t n, struct jv *out, char *why, size_t whylen)
{
	struct jp p = {s, n, 0, why, whylen};

	memset(out, 0, sizeof(*out));
	if (value(&p, out, 0) != 0) {
		jsonr_free(out);
		return -1;
	}
	ws(&p);
	if (p.i < p.n) {
		jsonr_free(out);
		return fail(&p, "text after the value");
	}
	return 0;
}

void
jsonr_free(struct jv *v)
{
	for (size_t i = 0; i < v->n; i++) {
		jsonr_free(&v->v[i]);
		if (v->k != NULL)
			free(v->k[i]);
	}
	free(v->v);
	free(v->k);
	free(v->str);
	memset(v, 0, sizeof(*v));
}

const struct jv *
jsonr_get(const struct jv *obj, const char *key)
{
	if (obj == NULL || obj->t != J_OBJ)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (obj->k[i] != NULL && strcmp(obj->k[i], key) == 0)
			return &obj->v[i];
	return NULL;
}

double
jsonr_num(const struct jv *obj, const char *key, double def)
{
	const struct jv *v = jsonr_get(obj, key);

	return v != NULL && v->t == J_NUM ? v->num : def;
}
