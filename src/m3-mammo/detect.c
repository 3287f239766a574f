/* m3-mammo candidates: threshold over the local noise, 8-connected components (union-find),
 * features per candidate, the classifier's cut, and clusters. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mammo.h"

#define MM_MAX_CAND 20000 /* candidates kept per image, the strongest first */

struct uf {
	int *p;
	size_t n, cap;
};

static int
uf_new(struct uf *u)
{
	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 4096;
		int *p = realloc(u->p, cap * sizeof(int));
		if (p == NULL)
			return -1;
		u->p = p;
		u->cap = cap;
	}
	u->p[u->n] = (int)u->n;
	return (int)u->n++;
}

static int
uf_find(struct uf *u, int a)
{
	while (u->p[a] != a) {
		u->p[a] = u->p[u->p[a]];
		a = u->p[a];
	}
	return a;
}

static void
uf_union(struct uf *u, int a, int b)
{
	a = uf_find(u, a);
	b = uf_find(u, b);
	if (a < b)
		u->p[b] = a;
	else if (b < a)
		u->p[a] = b;
}

/* First pass: provisional labels from the west and the three north neighbours. */
static int
label_pass(struct uf *u, struct mm_work *wk, const struct mm_image *im, float k, int bitmap)
{
	size_t w = im->w, h = im->h;
	int *lab = wk->lab;

	if (uf_new(u) < 0) /* label 0: background */
		return -1;
	for (size_t y = 0; y < h; y++)
		for (size_t x = 0; x < w; x++) {
			size_t i = y * w + x;
			int l = 0;
			if (bitmap ? wk->lab[i] == 0
				   : !mm_is_candidate(wk->enh[i], wk->noise[i], k, wk->cmask[i])) {
				lab[i] = 0;
				continue;
			}
			int nb[4] = {x > 0 ? lab[i - 1] : 0, y > 0 && x > 0 ? lab[i - w - 1] : 0,
				     y > 0 ? lab[i - w] : 0,
				     y > 0 && x + 1 < w ? lab[i - w + 1] : 0};
			for (int j = 0; j < 4; j++)
				if (nb[j] > 0) {
					if (l == 0)
						l = nb[j];
					else
						uf_union(u, l, nb[j]);
				}
			if (l == 0 && (l = uf_new(u)) < 0)
				return -1;
			lab[i] = l;
		}
	return 0;
}

static int
cmp_peak(const void *a, const void *b)
{
	const struct mm_cand *x = a, *y = b;
	return (x->score < y->score) - (x->score > y->score);
}

static int
detect(struct mm_result *r, struct mm_work *wk, const struct mm_image *im,
       const struct mm_params *p, int bitmap, struct m3_err *e)
{
	size_t w = im->w, n = im->w * im->h, ncomp;
	struct uf u = {NULL, 0, 0};
	struct mm_cand *c;
	int *map;
	double maxarea = 3.14159265 * p->max_diam_mm * p->max_diam_mm / 4 / (im->sx * im->sy);

	if (label_pass(&u, wk, im, (float)p->k_sigma, bitmap) != 0) {
		free(u.p);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	map = calloc(u.n, sizeof(int));
	ncomp = 0;
	for (size_t l = 1; l < u.n && map != NULL; l++)
		if (uf_find(&u, (int)l) == (int)l)
			map[l] = (int)++ncomp;
	c = calloc(ncomp + 1, sizeof(*c));
	if (map == NULL || c == NULL) {
		free(u.p);
		free(map);
		free(c);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	for (size_t l = 1; l < u.n; l++)
		map[l] = map[uf_find(&u, (int)l)];
	for (size_t i = 1; i <= ncomp; i++) {
		c[i].x0 = c[i].y0 = 1 << 30;
		c[i].x1 = c[i].y1 = -1;
		c[i].label = (int)i;
	}
	/* second pass: final labels, boxes, areas (in f[MM_F_AREA] for now), peak SNR */
	for (size_t i = 0; i < n; i++) {
		if (wk->lab[i] == 0)
			continue;
		struct mm_cand *q = &c[map[wk->lab[i]]];
		int x = (int)(i % w), y = (int)(i / w);
		float snr = wk->enh[i] / wk->noise[i];
		wk->lab[i] = q->label;
		q->x0 = x < q->x0 ? x : q->x0;
		q->x1 = x > q->x1 ? x : q->x1;
		q->y0 = y < q->y0 ? y : q->y0;
		q->y1 = y > q->y1 ? y : q->y1;
		q->f[MM_F_AREA] += 1;
		q->score = snr > q->score ? snr : q->score;
	}
	free(u.p);
	free(map);
	/* drop what is too large to be a calcification or too faint at its peak; keep the
	 * strongest MM_MAX_CAND */
	size_t k = 0;
	for (size_t i = 1; i <= ncomp; i++)
		if (c[i].f[MM_F_AREA] <= maxarea && c[i].score >= p->k_peak)
			c[k++] = c[i];
	if (k > MM_MAX_CAND) {
		qsort(c, k, sizeof(*c), cmp_peak);
		k = MM_MAX_CAND;
	}
	/* relabel: kept candidates get 1..k, dropped ones -1 (not background for the rings) */
	int *keep = calloc(ncomp + 1, sizeof(int));
	if (keep == NULL) {
		free(c);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < k; i++) {
		keep[c[i].label] = (int)i + 1;
		c[i].label = (int)i + 1;
	}
	for (size_t i = 0; i < n; i++)
		if (wk->lab[i] != 0)
			wk->lab[i] = keep[wk->lab[i]] ? keep[wk->lab[i]] : -1;
	free(keep);
	r->cand = c;
	r->ncand = k;
	return M3_OK;
}

int
mm_detect(struct mm_result *r, struct mm_work *wk, const struct mm_image *im,
	  const struct mm_params *p, struct m3_err *e)
{
	return detect(r, wk, im, p, 0, e);
}

int
mm_detect_bitmap(struct mm_result *r, struct mm_work *wk, const struct mm_image *im,
		 const struct mm_params *p, struct m3_err *e)
{
	return detect(r, wk, im, p, 1, e);
}

struct feat_ctx {
	struct mm_result *r;
	const struct mm_work *wk;
	const struct mm_image *im;
	const struct mm_mask *mk;
	size_t nblock;
};

/* Half-width of the feature window: 1 mm, 4 to MM_WIN_MAX pixels. */
int
mm_feature_window(const struct mm_image *im)
{
	int hw = (int)ceil(2.0 / (im->sx + im->sy));
	return hw < 4 ? 4 : hw > MM_WIN_MAX ? MM_WIN_MAX : hw;
}

static void
features_one(struct mm_cand *c, const struct mm_work *wk, const struct mm_image *im,
	     const struct mm_mask *mk)
{
	struct mm_sums s;
	struct mm_consts k;
	int peak;

	mm_consts_init(&k, im);
	mm_cand_sums(im->px, wk->enh, wk->noise, wk->qnoise, wk->lab, (int)im->w, (int)im->h,
		     c->label, c->x0, c->y0, c->x1, c->y1, mm_feature_window(im), k.k, k.r, &s,
		     &peak);
	mm_features_finish(c, &s, peak, wk, im, mk);
}

void
mm_features_finish(struct mm_cand *c, struct mm_sums *s, int peak, const struct mm_work *wk,
		   const struct mm_image *im, const struct mm_mask *mk)
{
	c->px = peak % (int)im->w;
	c->py = peak / (int)im->w;
	c->cx = c->x0 + s->sx / s->n;
	c->cy = c->y0 + s->sy / s->n;
	s->skin_mm = mm_skin_at(mk, (size_t)c->px, (size_t)c->py);
	s->tissue_median = mk->tissue_median;
	s->noise_median = wk->noise_median;
	s->px_area = im->sx * im->sy;
	s->px_size = (im->sx + im->sy) / 2;
	mm_features_from_sums(s, c->f);
}

static void
features_block(void *vctx, size_t item, unsigned worker)
{
	struct feat_ctx *x = vctx;
	size_t a = item * x->r->ncand / x->nblock, b = (item + 1) * x->r->ncand / x->nblock;
	(void)worker;

	for (size_t i = a; i < b; i++)
		features_one(&x->r->cand[i], x->wk, x->im, x->mk);
}

void
mm_features_cpu(struct mm_result *r, const struct mm_work *wk, const struct mm_image *im,
		const struct mm_mask *mk, struct m3_pool *pool)
{
	struct feat_ctx x = {r, wk, im, mk, r->ncand < 64 ? r->ncand : 64};

	if (r->ncand > 0)
		m3_pool_run(pool, features_block, &x, x.nblock);
}

static int
cmp_score(const void *a, const void *b)
{
	const struct mm_cand *x = a, *y = b;
	int rx = x->id > 0, ry = y->id > 0;
	if (rx != ry)
		return ry - rx;
	if (x->score != y->score)
		return (x->score < y->score) - (x->score > y->score);
	return (x->py > y->py) - (x->py < y->py) ? (x->py > y->py) - (x->py < y->py)
						 : (x->px > y->px) - (x->px < y->px);
}

static int
cmp_cy(const void *a, const void *b)
{
	const struct mm_cand *x = *(const struct mm_cand *const *)a,
			     *y = *(const struct mm_cand *const *)b;
	return (x->cy > y->cy) - (x->cy < y->cy);
}

/* The context stage: each candidate's neighbours over the floor, from the strong ones sorted
 * by row, then the second score.  Without memory for the list, the first scores stand. */
static void
context(struct mm_result *r, const struct mm_model *m, const struct mm_image *im)
{
	struct mm_cand **st = malloc((r->ncand + 1) * sizeof(*st));
	int *cnt = malloc((r->ncand + 1) * sizeof(int));
	size_t ns = 0;
	double ry = m->ctx_mm / im->sy;

	if (st == NULL || cnt == NULL) {
		free(st);
		free(cnt);
		return;
	}
	for (size_t i = 0; i < r->ncand; i++)
		if (r->cand[i].score >= m->ctx_floor)
			st[ns++] = &r->cand[i];
	qsort(st, ns, sizeof(*st), cmp_cy);
	for (size_t i = 0; i < r->ncand; i++) {
		struct mm_cand *c = &r->cand[i];
		size_t lo = 0, hi = ns;
		int n = 0;
		while (lo < hi) { /* first strong one at or below the window's top row */
			size_t mid = (lo + hi) / 2;
			if (st[mid]->cy < c->cy - ry)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t j = lo; j < ns && st[j]->cy <= c->cy + ry; j++)
			n += st[j] != c && hypot((st[j]->cx - c->cx) * im->sx,
						 (st[j]->cy - c->cy) * im->sy) <= m->ctx_mm;
		cnt[i] = n;
	}
	for (size_t i = 0; i < r->ncand; i++) {
		struct mm_cand *c = &r->cand[i];
		c->score = mm_score_context(c->score, cnt[i], m->ctx_a, m->ctx_b, m->ctx_c);
	}
	free(st);
	free(cnt);
}

void
mm_classify(struct mm_result *r, const struct mm_model *m, const struct mm_params *p,
	    const struct mm_image *im)
{
	for (size_t i = 0; i < r->ncand; i++)
		r->cand[i].score = mm_model_score(m, r->cand[i].f);
	if (m->ctx)
		context(r, m, im);
	for (size_t i = 0; i < r->ncand; i++) {
		struct mm_cand *c = &r->cand[i];
		c->id = c->score >= p->threshold && c->f[MM_F_DIAM] >= p->min_diam_mm;
		c->cluster = 0;
	}
	qsort(r->cand, r->ncand, sizeof(*r->cand), cmp_score);
	r->ncalc = 0;
	for (size_t i = 0; i < r->ncand && r->cand[i].id > 0; i++)
		r->cand[i].id = (int)++r->ncalc;
}

/*
 * Clusters: density-based (DBSCAN) with support.  Points are the calcifications (score >= t,
 * "sure") and the candidates of score >= the support score that are not (their size passing
 * too): "support".  A sure point is a core when, within the radius of a circle of the given
 * area, it has at least count points (itself included) of which at least min(count, 2) are
 * sure.  Cores within that radius join, and sure points within it of a core are members.  A
 * cluster with fewer than count sure members is completed to count with the best support
 * points within the radius of its cores, which become calcifications of the cluster.  With
 * the support score at t or above there is no support: "count within area" as before.
 */
struct clu {
	struct mm_cand *c;
	size_t n, nsure; /* points: the sure ones first, then the support, by falling score */
	size_t *pt; /* point -> index in r->cand */
	double eps2, sx, sy;
};

static int
clu_near(const struct clu *q, size_t a, size_t b)
{
	const struct mm_cand *x = &q->c[q->pt[a]], *y = &q->c[q->pt[b]];
	double dx = (x->cx - y->cx) * q->sx, dy = (x->cy - y->cy) * q->sy;
	return dx * dx + dy * dy <= q->eps2;
}

/* Marks the members (cluster ids from 1, support taken made id 1); the number of clusters, or
 * -1 without memory. */
static int
form_clusters(struct mm_result *r, const struct mm_image *im, const struct mm_params *p,
	      struct m3_err *e)
{
	struct clu q = {r->cand, 0, r->ncalc, NULL, 0, im->sx, im->sy};
	double eps = sqrt(p->cluster_area_mm2 / 3.14159265358979);
	size_t *stack, *cores;
	unsigned char *core;
	int nc = 0, need_sure = p->cluster_count < 2 ? p->cluster_count : 2;

	q.eps2 = eps * eps;
	if ((q.pt = malloc((r->ncand + 1) * sizeof(size_t))) == NULL) {
		m3_err_set(e, M3_ENOMEM, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < r->ncalc; i++)
		q.pt[q.n++] = i;
	if (p->cluster_support < p->threshold)
		for (size_t i = r->ncalc; i < r->ncand; i++) {
			const struct mm_cand *c = &r->cand[i];
			if (c->score < p->cluster_support)
				break; /* the rest, by falling score, are below it too */
			if (c->f[MM_F_DIAM] >= p->min_diam_mm)
				q.pt[q.n++] = i;
		}
	core = calloc(q.nsure + 1, 1);
	stack = malloc((q.nsure + 1) * sizeof(size_t));
	cores = malloc((q.nsure + 1) * sizeof(size_t));
	if (core == NULL || stack == NULL || cores == NULL) {
		free(q.pt);
		free(core);
		free(stack);
		free(cores);
		m3_err_set(e, M3_ENOMEM, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < q.nsure; i++) {
		int all = 1, sure = 1;
		for (size_t j = 0; j < q.n; j++)
			if (j != i && clu_near(&q, i, j)) {
				all++;
				sure += j < q.nsure;
			}
		core[i] = all >= p->cluster_count && sure >= need_sure;
	}
	for (size_t i = 0; i < q.nsure; i++) {
		size_t sp = 0, ncore = 0, m = 1;
		if (!core[i] || r->cand[q.pt[i]].cluster)
			continue;
		r->cand[q.pt[i]].cluster = ++nc;
		stack[sp++] = cores[ncore++] = i;
		while (sp > 0) {
			size_t a = stack[--sp];
			for (size_t j = 0; j < q.nsure; j++)
				if (!r->cand[q.pt[j]].cluster && clu_near(&q, a, j)) {
					r->cand[q.pt[j]].cluster = nc;
					m++;
					if (core[j])
						stack[sp++] = cores[ncore++] = j;
				}
		}
		/* complete it with the best support near its cores */
		for (size_t j = q.nsure; j < q.n && m < (size_t)p->cluster_count; j++) {
			struct mm_cand *c = &r->cand[q.pt[j]];
			if (c->cluster)
				continue;
			for (size_t k = 0; k < ncore; k++)
				if (clu_near(&q, cores[k], j)) {
					c->cluster = nc;
					c->id = 1;
					m++;
					break;
				}
		}
	}
	free(q.pt);
	free(core);
	free(stack);
	free(cores);
	return nc;
}

int
mm_cluster(struct mm_result *r, const struct mm_image *im, const struct mm_params *p,
	   struct m3_err *e)
{
	size_t n;
	int nc;

	r->nclusters = 0;
	r->clusters = NULL;
	if (r->ncalc == 0)
		return M3_OK;
	if ((nc = form_clusters(r, im, p, e)) < 0)
		return M3_ENOMEM;
	if (nc == 0)
		return M3_OK;
	/* support taken into clusters became calcifications: number them all by falling score */
	for (size_t i = r->ncalc; i < r->ncand; i++)
		if (r->cand[i].id > 0) {
			qsort(r->cand, r->ncand, sizeof(*r->cand), cmp_score);
			break;
		}
	for (n = 0; n < r->ncand && r->cand[n].id > 0; n++)
		r->cand[n].id = (int)n + 1;
	r->ncalc = n;
	if ((r->clusters = calloc((size_t)nc, sizeof(*r->clusters))) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	r->nclusters = (size_t)nc;
	for (int k = 0; k < nc; k++) {
		struct mm_cluster *q = &r->clusters[k];
		double top[3] = {0, 0, 0};
		q->id = k + 1;
		q->x0 = q->y0 = 1e30;
		q->x1 = q->y1 = -1e30;
		for (size_t i = 0; i < n; i++) {
			const struct mm_cand *c = &r->cand[i];
			if (c->cluster != q->id)
				continue;
			q->n++;
			q->cx += c->cx;
			q->cy += c->cy;
			q->x0 = fmin(q->x0, c->cx);
			q->x1 = fmax(q->x1, c->cx);
			q->y0 = fmin(q->y0, c->cy);
			q->y1 = fmax(q->y1, c->cy);
			if (q->n <= 3) /* members come in falling score order */
				top[q->n - 1] = c->score;
		}
		q->cx /= q->n;
		q->cy /= q->n;
		q->score = (top[0] + top[1] + top[2]) / (q->n < 3 ? q->n : 3);
	}
	return M3_OK;
}

void
mm_result_release(struct mm_result *r)
{
	free(r->cand);
	free(r->clusters);
	r->cand = NULL;
	r->clusters = NULL;
	r->ncand = r->ncalc = r->nclusters = 0;
}
