/* m3-mammo enhancement on the CPU: a spot filter (the blob response of the Hessian of the image
 * smoothed at the scale of a micro-calcification) and its local noise (the quantum part from
 * a high-pass residual, the anatomy's part from the response's own local mean), each pass
 * split over the thread pool; box means are running sums, O(1) per pixel at any window. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mammo.h"

#define MM_COLBLOCK 256 /* columns one worker sweeps down the image at a time */

enum pass { ROW_BOX, COL_BOX, ROW_CONV, COL_CONV, HESS, NOISE2 };

struct pass_ctx {
	enum pass kind;
	const float *src;
	float *dst, *dst2;
	size_t w, h, r, nblock;
	size_t rows; /* rows to split over the pool when not h (HESS: the coarse rows) */
	const struct mm_consts *k;
	const float *px; /* HESS: the image */
	float *chp, *cb; /* HESS: coarse means; NOISE2: their box means */
	float floor;
};

static inline size_t
clampi(long i, size_t n)
{
	return i < 0 ? 0 : (size_t)i >= n ? n - 1 : (size_t)i;
}

static void
row_box(const float *s, float *d, size_t w, size_t r)
{
	double acc = 0, inv = 1.0 / (double)(2 * r + 1);

	for (long k = -(long)r; k <= (long)r; k++)
		acc += s[clampi(k, w)];
	for (size_t x = 0; x < w; x++) {
		d[x] = (float)(acc * inv);
		acc += s[clampi((long)(x + r + 1), w)] - s[clampi((long)x - (long)r, w)];
	}
}

/* A box down columns x0..x1 for all rows: running sums per column, rows read in order. */
static void
col_box(const float *s, float *d, size_t w, size_t h, size_t r, size_t x0, size_t x1)
{
	double acc[MM_COLBLOCK];
	float inv = 1.0f / (float)(2 * r + 1);
	size_t nx = x1 - x0;

	memset(acc, 0, sizeof(acc));
	for (long k = -(long)r; k <= (long)r; k++) {
		const float *row = s + clampi(k, h) * w + x0;
		for (size_t i = 0; i < nx; i++)
			acc[i] += row[i];
	}
	for (size_t y = 0; y < h; y++) {
		const float *add = s + clampi((long)(y + r + 1), h) * w + x0;
		const float *sub = s + clampi((long)y - (long)r, h) * w + x0;
		float *out = d + y * w + x0;
		for (size_t i = 0; i < nx; i++) {
			out[i] = (float)acc[i] * inv;
			acc[i] += add[i] - sub[i];
		}
	}
}

/* One row through the spot kernel: the interior tap by tap (mm_conv_sym's order, so that the
 * compiler vectorises it), the borders clamped by mm_conv_at. */
static void
row_conv(const float *restrict s, float *restrict d, size_t w, const struct mm_consts *k)
{
	size_t r = (size_t)k->r, x;

	if (w <= 2 * r) {
		for (x = 0; x < w; x++)
			d[x] = mm_conv_at(s, 1, (long)w, (long)x, k->k, k->r);
		return;
	}
	for (x = r; x < w - r; x++)
		d[x] = MM_MUL(k->k[0], s[x]);
	for (size_t j = 1; j <= r; j++) {
		float kj = k->k[j];
		for (x = r; x < w - r; x++)
			d[x] = MM_ADD(d[x], MM_MUL(kj, MM_ADD(s[x - j], s[x + j])));
	}
	for (x = 0; x < r; x++) {
		d[x] = mm_conv_at(s, 1, (long)w, (long)x, k->k, k->r);
		d[w - 1 - x] = mm_conv_at(s, 1, (long)w, (long)(w - 1 - x), k->k, k->r);
	}
}

/* One output row of the column pass: rows y-r..y+r of s, the taps in mm_conv_sym's order. */
static void
col_conv(const float *restrict s, float *restrict d, size_t w, size_t h, size_t y,
	 const struct mm_consts *k)
{
	const float *c = s + y * w;

	for (size_t x = 0; x < w; x++)
		d[x] = MM_MUL(k->k[0], c[x]);
	for (int j = 1; j <= k->r; j++) {
		const float *a = s + clampi((long)y - j, h) * w,
			    *b = s + clampi((long)y + j, h) * w;
		float kj = k->k[j];
		for (size_t x = 0; x < w; x++)
			d[x] = MM_ADD(d[x], MM_MUL(kj, MM_ADD(a[x], b[x])));
	}
}

/* Blob response of row y of the smoothed image (src) -> dst; the high-pass residual of the
 * image and the response summed into the coarse cells (f x f pixels) of the row's band. */
static void
hess_row(const struct pass_ctx *c, size_t y, float *chp, float *cb)
{
	size_t w = c->w, h = c->h, f = c->k->f;
	const float *s0 = c->src + clampi((long)y - 1, h) * w, *s1 = c->src + y * w,
		    *s2 = c->src + clampi((long)y + 1, h) * w;
	const float *p0 = c->px + clampi((long)y - 1, h) * w, *p1 = c->px + y * w,
		    *p2 = c->px + clampi((long)y + 1, h) * w;
	float *b = c->dst + y * w;

	for (size_t x = 0; x < w; x++) {
		size_t l = x > 0 ? x - 1 : 0, r = x + 1 < w ? x + 1 : w - 1;
		float hxx, hyy, hxy, hp;
		mm_hessian(s0[l], s0[x], s0[r], s1[l], s1[x], s1[r], s2[l], s2[x], s2[r], &hxx,
			   &hyy, &hxy);
		b[x] = mm_blob(hxx, hyy, hxy);
		hp = mm_highpass(p0[l], p0[x], p0[r], p1[l], p1[x], p1[r], p2[l], p2[x], p2[r]);
		chp[x / f] = MM_ADD(chp[x / f], hp);
		cb[x / f] = MM_ADD(cb[x / f], b[x]);
	}
}

/* Coarse rows cy0..cy1: their full-resolution rows, then the cells' sums made means. */
static void
hess_band(const struct pass_ctx *c, size_t cy0, size_t cy1)
{
	const struct mm_consts *k = c->k;

	for (size_t cy = cy0; cy < cy1; cy++) {
		float *chp = c->chp + cy * k->cw, *cb = c->cb + cy * k->cw;
		size_t y0 = cy * k->f, y1 = y0 + k->f < c->h ? y0 + k->f : c->h;
		for (size_t i = 0; i < k->cw; i++)
			chp[i] = cb[i] = 0.0f;
		for (size_t y = y0; y < y1; y++)
			hess_row(c, y, chp, cb);
		for (size_t i = 0; i < k->cw; i++) {
			float n = (float)(mm_cell_count(c->w, k->f, i) * (y1 - y0));
			chp[i] = chp[i] / n;
			cb[i] = cb[i] / n;
		}
	}
}

static void
run_pass(void *vctx, size_t item, unsigned worker)
{
	const struct pass_ctx *c = vctx;
	size_t w = c->w, h = c->h;
	(void)worker;

	if (c->kind == COL_BOX) {
		size_t x0 = item * MM_COLBLOCK, x1 = x0 + MM_COLBLOCK < w ? x0 + MM_COLBLOCK : w;
		col_box(c->src, c->dst, w, h, c->r, x0, x1);
		return;
	}
	size_t rows = c->rows ? c->rows : h;
	size_t y0 = item * rows / c->nblock, y1 = (item + 1) * rows / c->nblock;
	if (c->kind == HESS) {
		hess_band(c, y0, y1);
		return;
	}
	for (size_t y = y0; y < y1; y++) {
		const float *s = c->src + y * w;
		float *d = c->dst + y * w;
		switch (c->kind) {
		case ROW_BOX:
			row_box(s, d, w, c->r);
			break;
		case ROW_CONV:
			row_conv(s, d, w, c->k);
			break;
		case COL_CONV:
			col_conv(c->src, d, w, h, y, c->k);
			break;
		case NOISE2: { /* the coarse means' box means -> noise (dst) and its quantum part */
			const struct mm_consts *k = c->k;
			const float *chp = c->chp + (y / k->f) * k->cw,
				    *cb = c->cb + (y / k->f) * k->cw;
			float *q = c->dst2 + y * w;
			for (size_t x = 0; x < w; x++)
				d[x] = mm_noise2(chp[x / k->f], cb[x / k->f], k->cq, k->ct,
						 c->floor, &q[x]);
			break;
		}
		default:
			break;
		}
	}
}

static void
pass(struct m3_pool *pool, const struct pass_ctx *c0)
{
	struct pass_ctx c = *c0;
	size_t n;

	if (c.kind == COL_BOX) {
		n = (c.w + MM_COLBLOCK - 1) / MM_COLBLOCK;
	} else {
		size_t rows = c.rows ? c.rows : c.h;
		c.nblock = rows < 64 ? rows : 64;
		n = c.nblock;
	}
	m3_pool_run(pool, run_pass, &c, n);
}

/* A box mean of radius r over a w x h array a, rows then columns (scratch t). */
static void
box2(struct m3_pool *pool, float *a, float *t, size_t w, size_t h, size_t r)
{
	pass(pool, &(struct pass_ctx){.kind = ROW_BOX, .src = a, .dst = t, .w = w, .h = h, .r = r});
	pass(pool, &(struct pass_ctx){.kind = COL_BOX, .src = t, .dst = a, .w = w, .h = h, .r = r});
}

/* The full-resolution search mask: breast (no pectoral), at least skin_margin from the skin. */
void
mm_search_mask(unsigned char *cm, const struct mm_image *im, const struct mm_mask *mk,
	       double margin)
{
	/* a coarse row's pixels are alike: build each once, copy it to its f fine rows; the
	 * coarse cells in runs of f pixels (the last takes the remainder) */
	for (size_t y = 0; y < im->h; y++) {
		size_t cy = y / mk->f < mk->mh ? y / mk->f : mk->mh - 1;
		unsigned char *row = cm + y * im->w;
		if (y > 0 && (y - 1) / mk->f == y / mk->f) {
			memcpy(row, row - im->w, im->w);
			continue;
		}
		for (size_t x = 0; x < im->w;) {
			size_t cx = x / mk->f < mk->mw ? x / mk->f : mk->mw - 1;
			size_t i = cy * mk->mw + cx,
			       end = cx + 1 < mk->mw ? (cx + 1) * mk->f : im->w;
			memset(row + x, mk->m[i] == 1 && mk->skin[i] >= margin, end - x);
			x = end;
		}
	}
}

static int
cmpf(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

/* Median local noise over the search mask, from a sparse sample. */
float
mm_noise_median(const float *noise, const unsigned char *cm, size_t n)
{
	size_t step = n / 20000 + 1, k = 0;
	float *v = malloc((n / step + 1) * sizeof(float)), med = 1;

	if (v == NULL)
		return 1;
	for (size_t i = 0; i < n; i += step)
		if (cm[i])
			v[k++] = noise[i];
	if (k > 0) {
		qsort(v, k, sizeof(float), cmpf);
		med = v[k / 2];
	}
	free(v);
	return med;
}

int
mm_work_alloc(struct mm_work *wk, size_t n, struct m3_err *e)
{
	memset(wk, 0, sizeof(*wk));
	wk->enh = m3_alloc_big(n * sizeof(float));
	wk->noise = m3_alloc_big(n * sizeof(float));
	wk->tmp = m3_alloc_big(n * sizeof(float));
	wk->tmp2 = m3_alloc_big(n * sizeof(float));
	wk->lab = m3_alloc_big(n * sizeof(int));
	wk->cmask = m3_alloc_big(n);
	if (!wk->enh || !wk->noise || !wk->tmp || !wk->tmp2 || !wk->lab || !wk->cmask) {
		mm_work_release(wk);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	return M3_OK;
}

void
mm_work_release(struct mm_work *wk)
{
	free(wk->enh);
	free(wk->noise);
	free(wk->tmp);
	free(wk->tmp2);
	free(wk->lab);
	free(wk->cmask);
	memset(wk, 0, sizeof(*wk));
}

/* The spot kernel (a sampled Gaussian of MM_SIGMA_SPOT_MM) and the noise constants. */
void
mm_consts_init(struct mm_consts *k, const struct mm_image *im)
{
	double px = (im->sx + im->sy) / 2, sg = MM_SIGMA_SPOT_MM / px, sum = 0;
	enum { P = 2 * MM_KMAX + 5 };
	double g[P], lx[P], nl = 0, nh = 0;
	int r = (int)ceil(2.5 * sg), c = P / 2;
	size_t rn = (size_t)fmax(4.0, MM_NOISE_MM / px);

	k->r = r < 1 ? 1 : r > MM_KMAX ? MM_KMAX : r;
	for (int j = 0; j <= k->r; j++) {
		double v = exp(-0.5 * j * j / (sg * sg));
		g[j] = v;
		sum += j ? 2 * v : v;
	}
	for (int j = 0; j <= k->r; j++)
		k->k[j] = (float)(g[j] / sum);
	/* white noise through -(d2/dx2 + d2/dy2)/2 of the smoothing: the response's unit */
	memset(g, 0, sizeof(g));
	memset(lx, 0, sizeof(lx));
	for (int j = -k->r; j <= k->r; j++)
		g[c + j] = k->k[j < 0 ? -j : j];
	for (int j = 1; j + 1 < P; j++)
		lx[j] = g[j - 1] - 2 * g[j] + g[j + 1];
	for (int y = 0; y < P; y++)
		for (int x = 0; x < P; x++) {
			double v = (lx[x] * g[y] + g[x] * lx[y]) / 2;
			nl += v * v;
		}
	/* ... and through the pixel minus its 3x3 binomial */
	for (int y = 0; y < 3; y++)
		for (int x = 0; x < 3; x++) {
			double v = (x == 1 && y == 1 ? 1.0 : 0.0) -
				   (x == 1 ? 0.5 : 0.25) * (y == 1 ? 0.5 : 0.25);
			nh += v * v;
		}
	/* mean |residual| * sqrt(pi/2) is its sigma; over its norm, the pixels' */
	k->cq = (float)(1.2533141 / sqrt(nh) * sqrt(nl));
	k->ct = (float)MM_TEXTURE_WEIGHT;
	/* the noise's means on cells of f x f pixels, a box of about MM_NOISE_MM over them */
	k->f = rn / 5 < 2 ? 2 : rn / 5;
	k->rc = (rn + k->f / 2) / k->f;
	k->cw = (im->w + k->f - 1) / k->f;
	k->ch = (im->h + k->f - 1) / k->f;
}

int
mm_enhance_cpu(struct mm_work *wk, const struct mm_image *im, const struct mm_mask *mk,
	       const struct mm_params *p, struct m3_pool *pool, struct m3_err *e)
{
	size_t w = im->w, h = im->h, n = w * h, cn;
	struct mm_consts k;
	float *chp, floor = (im->vmax - im->vmin) * 1e-6f;

	mm_consts_init(&k, im);
	cn = k.cw * k.ch;
	if ((chp = malloc(3 * cn * sizeof(float))) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	mm_search_mask(wk->cmask, im, mk, p->skin_margin_mm);
	/* smoothing at the spot scale, rows then columns -> tmp2 */
	pass(pool,
	     &(struct pass_ctx){
		     .kind = ROW_CONV, .src = im->px, .dst = wk->tmp, .w = w, .h = h, .k = &k});
	pass(pool,
	     &(struct pass_ctx){
		     .kind = COL_CONV, .src = wk->tmp, .dst = wk->tmp2, .w = w, .h = h, .k = &k});
	/* blob response -> enh; coarse means of the image's high-pass residual and of enh */
	pass(pool, &(struct pass_ctx){.kind = HESS,
				      .src = wk->tmp2,
				      .dst = wk->enh,
				      .w = w,
				      .h = h,
				      .rows = k.ch,
				      .k = &k,
				      .px = im->px,
				      .chp = chp,
				      .cb = chp + cn});
	/* their box means, then the noise in quadrature -> noise, its quantum part -> tmp */
	box2(pool, chp, chp + 2 * cn, k.cw, k.ch, k.rc);
	box2(pool, chp + cn, chp + 2 * cn, k.cw, k.ch, k.rc);
	pass(pool, &(struct pass_ctx){.kind = NOISE2,
				      .dst = wk->noise,
				      .dst2 = wk->tmp,
				      .w = w,
				      .h = h,
				      .k = &k,
				      .chp = chp,
				      .cb = chp + cn,
				      .floor = floor});
	free(chp);
	wk->qnoise = wk->tmp;
	wk->noise_median = mm_noise_median(wk->noise, wk->cmask, n);
	return M3_OK;
}
