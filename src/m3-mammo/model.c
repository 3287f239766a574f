/* m3-mammo classifier: the embedded default model, the text model format, scoring. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mammo.h"
#include "model_default.h"

const char *const mm_feature_names[MM_NFEAT] = {
	"area_mm2",    "diameter_mm", "peak_snr",  "mean_snr",  "contrast",      "contrast_z",
	"elongation",  "fill",        "sharpness", "ring_std",  "glcm_contrast", "glcm_homogeneity",
	"glcm_energy", "skin_mm",     "bg_rel",    "noise_rel", "qsnr",          "texture",
	"isotropy",    "spread",      "mf1_snr",   "mf2_snr",   "mf3_snr",
};

void
mm_model_default(struct mm_model *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", MM_DEFAULT_NAME);
	m->kind = MM_DEFAULT_KIND;
	for (int i = 0; i < MM_NFEAT; i++) {
		m->mean[i] = mm_default_mean[i];
		m->scale[i] = mm_default_scale[i];
		m->w[i] = mm_default_w[i];
	}
	m->bias = MM_DEFAULT_BIAS;
	m->init = MM_DEFAULT_INIT;
	m->rate = MM_DEFAULT_RATE;
	m->nhidden = MM_DEFAULT_HIDDEN;
	for (int j = 0; j < m->nhidden; j++) {
		for (int i = 0; i < MM_NFEAT; i++)
			m->w1[j * MM_NFEAT + i] = mm_default_w1[j * MM_NFEAT + i];
		m->b1[j] = mm_default_b1[j];
		m->w2[j] = mm_default_w2[j];
	}
	m->ntrees = (int)(sizeof(mm_default_roots) / sizeof(mm_default_roots[0]));
	m->nnodes = (int)(sizeof(mm_default_nodes) / sizeof(mm_default_nodes[0]));
	m->nodes = (struct mm_node *)mm_default_nodes;
	m->roots = (int *)mm_default_roots;
	m->ctx = MM_DEFAULT_CTX;
	m->ctx_mm = MM_DEFAULT_CTX_MM;
	m->ctx_floor = MM_DEFAULT_CTX_FLOOR;
	m->ctx_a = MM_DEFAULT_CTX_A;
	m->ctx_b = MM_DEFAULT_CTX_B;
	m->ctx_c = MM_DEFAULT_CTX_C;
	if (m->kind != MM_TREES)
		m->ntrees = 0;
}

void
mm_model_release(struct mm_model *m)
{
	if (m->owned) {
		free(m->nodes);
		free(m->roots);
	}
	m->nodes = NULL;
	m->roots = NULL;
}

float
mm_model_score(const struct mm_model *m, const float *f)
{
	if (m->kind == MM_TREES)
		return mm_score_trees(f, m->nodes, m->roots, m->ntrees, m->init, m->rate);
	if (m->kind == MM_MLP)
		return mm_score_mlp(f, m->mean, m->scale, m->w1, m->b1, m->w2, m->bias, m->nhidden);
	return mm_score_logistic(f, m->mean, m->scale, m->w, m->bias, MM_NFEAT);
}

/* A token reader over the model file: words separated by blanks, '#' to end of line. */
struct tok {
	FILE *fp;
	char buf[128];
	unsigned line;
};

static const char *
tok_next(struct tok *t)
{
	int c;
	size_t n = 0;

	for (;;) {
		c = getc(t->fp);
		if (c == '#')
			while (c != '\n' && c != EOF)
				c = getc(t->fp);
		if (c == '\n')
			t->line++;
		if (c == EOF)
			return NULL;
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
	}
	while (c != EOF && c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '#') {
		if (n + 1 < sizeof(t->buf))
			t->buf[n++] = (char)c;
		c = getc(t->fp);
	}
	if (c != EOF)
		ungetc(c, t->fp);
	t->buf[n] = '\0';
	return t->buf;
}

static int
tok_num(struct tok *t, double *v, const char *what, struct m3_err *e)
{
	const char *s = tok_next(t);
	char *end;

	if (s == NULL)
		return m3_err_set(e, M3_EDATA, "line %u: %s: missing number", t->line, what);
	errno = 0;
	*v = strtod(s, &end);
	if (*end != '\0' || errno != 0 || !isfinite(*v))
		return m3_err_set(e, M3_EDATA, "line %u: %s: \"%s\" is not a number", t->line, what,
				  s);
	return M3_OK;
}

static int
tok_ints(struct tok *t, int *v, long min, long max, const char *what, struct m3_err *e)
{
	double d;
	if (tok_num(t, &d, what, e) != M3_OK)
		return e->code;
	if (d != floor(d) || d < min || d > max)
		return m3_err_set(e, M3_EDATA, "line %u: %s: %g is out of range", t->line, what, d);
	*v = (int)d;
	return M3_OK;
}

static int
tok_floats(struct tok *t, float *v, int n, const char *what, struct m3_err *e)
{
	for (int i = 0; i < n; i++) {
		double d;
		if (tok_num(t, &d, what, e) != M3_OK)
			return e->code;
		if (fabs(d) > FLT_MAX)
			return m3_err_set(e, M3_EDATA, "line %u: %s: %g is out of range", t->line,
					  what, d);
		v[i] = (float)d;
	}
	return M3_OK;
}

static int
read_features(struct tok *t, struct m3_err *e)
{
	int n;
	if (tok_ints(t, &n, 0, 1000, "features", e) != M3_OK)
		return e->code;
	if (n != MM_NFEAT)
		return m3_err_set(e, M3_EDATA, "line %u: features: %d, this m3-mammo has %d",
				  t->line, n, MM_NFEAT);
	for (int i = 0; i < n; i++) {
		const char *s = tok_next(t);
		if (s == NULL || strcmp(s, mm_feature_names[i]) != 0)
			return m3_err_set(e, M3_EDATA, "line %u: feature %d is \"%s\", not \"%s\"",
					  t->line, i + 1, s ? s : "", mm_feature_names[i]);
	}
	return M3_OK;
}

static int
read_nodes(struct tok *t, struct mm_model *m, struct m3_err *e)
{
	if (tok_ints(t, &m->nnodes, 1, 10000000, "nodes", e) != M3_OK)
		return e->code;
	if ((m->nodes = calloc((size_t)m->nnodes, sizeof(*m->nodes))) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	for (int i = 0; i < m->nnodes; i++) {
		struct mm_node *q = &m->nodes[i];
		const char *s = tok_next(t);
		if (s == NULL || strcmp(s, "node") != 0)
			return m3_err_set(e, M3_EDATA, "line %u: expected node %d", t->line, i);
		if (tok_ints(t, &q->feat, -1, MM_NFEAT - 1, "node feature", e) != M3_OK ||
		    tok_floats(t, &q->thr, 1, "node threshold", e) != M3_OK ||
		    tok_ints(t, &q->left, 0, m->nnodes - 1, "node left", e) != M3_OK ||
		    tok_ints(t, &q->right, 0, m->nnodes - 1, "node right", e) != M3_OK ||
		    tok_floats(t, &q->value, 1, "node value", e) != M3_OK)
			return e->code;
		/* children only forward: no cycles, every walk ends at a leaf */
		if (q->feat >= 0 && (q->left <= i || q->right <= i))
			return m3_err_set(e, M3_EDATA, "line %u: node %d: children must follow it",
					  t->line, i);
	}
	return M3_OK;
}

static int
read_body(struct tok *t, struct mm_model *m, struct m3_err *e)
{
	const char *s;
	int have_feat = 0, have_mlp = 0;

	while ((s = tok_next(t)) != NULL) {
		int rc = M3_OK;
		if (strcmp(s, "name") == 0) {
			if ((s = tok_next(t)) == NULL)
				return m3_err_set(e, M3_EDATA, "line %u: name: missing", t->line);
			snprintf(m->name, sizeof(m->name), "%s", s);
		} else if (strcmp(s, "kind") == 0) {
			s = tok_next(t);
			if (s != NULL && strcmp(s, "logistic") == 0)
				m->kind = MM_LOGISTIC;
			else if (s != NULL && strcmp(s, "trees") == 0)
				m->kind = MM_TREES;
			else if (s != NULL && strcmp(s, "mlp") == 0)
				m->kind = MM_MLP;
			else
				return m3_err_set(e, M3_EDATA,
						  "line %u: kind: not logistic, trees or mlp",
						  t->line);
		} else if (strcmp(s, "features") == 0) {
			rc = read_features(t, e);
			have_feat = 1;
		} else if (strcmp(s, "bias") == 0) {
			rc = tok_floats(t, &m->bias, 1, "bias", e);
		} else if (strcmp(s, "mean") == 0) {
			rc = tok_floats(t, m->mean, MM_NFEAT, "mean", e);
		} else if (strcmp(s, "scale") == 0) {
			rc = tok_floats(t, m->scale, MM_NFEAT, "scale", e);
		} else if (strcmp(s, "weights") == 0) {
			rc = tok_floats(t, m->w, MM_NFEAT, "weights", e);
		} else if (strcmp(s, "context") == 0) {
			float v[5];
			if ((rc = tok_floats(t, v, 5, "context", e)) == M3_OK && !(v[0] > 0))
				rc = m3_err_set(e, M3_EDATA, "line %u: context: radius %g", t->line,
						v[0]);
			m->ctx = 1;
			m->ctx_mm = v[0];
			m->ctx_floor = v[1];
			m->ctx_a = v[2];
			m->ctx_b = v[3];
			m->ctx_c = v[4];
		} else if (strcmp(s, "hidden") == 0 && m->nhidden == 0) {
			rc = tok_ints(t, &m->nhidden, 1, MM_HIDDEN_MAX, "hidden", e);
		} else if (strcmp(s, "w1") == 0 || strcmp(s, "b1") == 0 || strcmp(s, "w2") == 0) {
			int k = s[0] == 'b' ? 1 : s[1] == '1' ? 0 : 2;
			if (m->nhidden == 0)
				return m3_err_set(e, M3_EDATA, "line %u: %s before hidden", t->line,
						  s);
			rc = k == 0   ? tok_floats(t, m->w1, m->nhidden * MM_NFEAT, "w1", e)
			     : k == 1 ? tok_floats(t, m->b1, m->nhidden, "b1", e)
				      : tok_floats(t, m->w2, m->nhidden, "w2", e);
			have_mlp |= 1 << k;
		} else if (strcmp(s, "init") == 0) {
			rc = tok_floats(t, &m->init, 1, "init", e);
		} else if (strcmp(s, "rate") == 0) {
			rc = tok_floats(t, &m->rate, 1, "rate", e);
		} else if (strcmp(s, "nodes") == 0 && m->nodes == NULL) {
			rc = read_nodes(t, m, e);
		} else if (strcmp(s, "trees") == 0 && m->roots == NULL) {
			if ((rc = tok_ints(t, &m->ntrees, 1, 1000000, "trees", e)) != M3_OK)
				return rc;
			if ((m->roots = calloc((size_t)m->ntrees, sizeof(int))) == NULL)
				return m3_err_set(e, M3_ENOMEM, "out of memory");
			for (int i = 0; i < m->ntrees && rc == M3_OK; i++)
				rc = tok_ints(t, &m->roots[i], 0, 10000000, "tree root", e);
		} else {
			return m3_err_set(e, M3_EDATA, "line %u: unknown word \"%s\"", t->line, s);
		}
		if (rc != M3_OK)
			return rc;
	}
	if (!have_feat)
		return m3_err_set(e, M3_EDATA, "features: missing");
	for (int i = 0; i < MM_NFEAT; i++)
		if (m->kind != MM_TREES && !(m->scale[i] != 0))
			return m3_err_set(e, M3_EDATA, "scale: %s is 0", mm_feature_names[i]);
	if (m->kind == MM_MLP && have_mlp != 7)
		return m3_err_set(e, M3_EDATA, "mlp: hidden, w1, b1 or w2 missing");
	if (m->kind == MM_TREES) {
		if (m->nodes == NULL || m->roots == NULL)
			return m3_err_set(e, M3_EDATA, "trees: nodes or roots missing");
		for (int i = 0; i < m->ntrees; i++)
			if (m->roots[i] >= m->nnodes)
				return m3_err_set(e, M3_EDATA, "trees: root %d is no node",
						  m->roots[i]);
	}
	return M3_OK;
}

int
mm_model_load(struct mm_model *m, const char *path, struct m3_err *e)
{
	struct tok t;
	const char *s;
	int rc;

	memset(m, 0, sizeof(*m));
	m->owned = 1;
	snprintf(m->name, sizeof(m->name), "%s", "file");
	if ((t.fp = fopen(path, "r")) == NULL)
		return m3_err_set(e, errno == EACCES ? M3_EACCESS : M3_EDATA, "%s: %s", path,
				  strerror(errno));
	t.line = 1;
	s = tok_next(&t);
	if (s == NULL || strcmp(s, "m3-mammo-model") != 0 || (s = tok_next(&t)) == NULL ||
	    strcmp(s, "1") != 0)
		rc = m3_err_set(e, M3_EDATA, "not an m3-mammo model (want \"m3-mammo-model 1\")");
	else
		rc = read_body(&t, m, e);
	fclose(t.fp);
	if (rc != M3_OK) {
		m3_err_prefix(e, "%s", path);
		mm_model_release(m);
	}
	return rc;
}
