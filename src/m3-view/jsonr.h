/* m3-view: a small JSON reader (RFC 8259) into a tree, for the findings lines. */
#ifndef M3_VIEW_JSONR_H
#define M3_VIEW_JSONR_H

#include <stddef.h>

enum jtype { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ };

/* A value.  Strings are NUL-terminated UTF-8 (len excludes the NUL); arrays and objects hold
 * n values in v, and objects their keys in k. */
struct jv {
	enum jtype t;
	double num;
	char *str;
	size_t len;
	size_t n;
	struct jv *v;
	char **k;
};

#define JSONR_MAXDEPTH 64

/* Parses exactly one value from s[0..n) (whitespace around it allowed).  Returns 0, or -1 with
 * a reason in why ("line 1, byte 7: ...", counted from s). */
int jsonr_parse(const char *s, size_t n, struct jv *out, char *why, size_t whylen);
void jsonr_free(struct jv *v);
/* The member named key of an object, or NULL. */
const struct jv *jsonr_get(const struct jv *obj, const char *key);
/* The number at key, or def when absent or not a number. */
double jsonr_num(const struct jv *obj, const char *key, double def);

#endif
