/* m3-mammo enhancement on the CPU: small-scale minus large-scale smoothing (a difference of
 * Gaussians, the large one a cascade of three box filters, O(1) per pixel at any scale) and
 * the local noise level, each pass split over the thread pool. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mammo.h"

#define MM_COLBLOCK 256 /* columns one worker sweeps down the image at a time */

enum pass { ROW_BOX, COL_BOX, ROW_121, COL_121_DOG, ABS_DIFF, NOISE };

struct pass_ctx {
	enum pass kind;
	const float *src, *aux;
	float *dst;
	size_t w, h, r, nblock;
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

static void
row_121(const float *s, float *d, size_t w)
{
	d[0] = mm_k121(s[0], s[0], s[1]);
	for (size_t x = 1; x + 1 < w; x++)
		d[x] = mm_k121(s[x - 1], s[x], s[x + 1]);
	d[w - 1] = mm_k121(s[w - 2], s[w - 1], s[w - 1]);
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
	size_t y0 = item * h / c->nblock, y1 = (item + 1) * h / c->nblock;
	for (size_t y = y0; y < y1; y++) {
		const float *s = c->src + y * w;
		float *d = c->dst + y * w;
		switch (c->kind) {
		case ROW_BOX: row_box(s, d, w, c->r); break;
		case ROW_121: row_121(s, d, w); break;
		case COL_121_DOG: { /* dst = [1 2 1] down columns of src, minus aux (large scale) */
			const float *a = c->src + clampi((long)y - 1, h) * w;
			const float *b = c->src + clampi((long)y + 1, h) * w;
			const float *big = c->aux + y * w;
			for (size_t x = 0; x < w; x++)
				d[x] = MM_ADD(mm_k121(a[x], s[x], b[x]), -big[x]);
			break;
		}
		case ABS_DIFF:
			for (size_t x = 0; x < w; x++)
				d[x] = fabsf(s[x]);
			break;
		case NOISE:
			for (size_t x = 0; x < w; x++)
				d[x] = mm_noise(s[x], c->floor);
			break;
		default: break;
		}
	}
}

static void
pass(struct m3_pool *pool, enum pass kind, const float *src, const float *aux, float *dst,
     size_t w, size_t h, size_t r, float floor)
{
	struct pass_ctx c = {kind, src, aux, dst, w, h, r, 0, floor};
	size_t n;

	if (kind == COL_BOX) {
		n = (w + MM_COLBLOCK - 1) / MM_COLBLOCK;
	} else {
		c.nblock = h < 64 ? h : 64;
		n = c.nblock;
	}
	m3_pool_run(pool, run_pass, &c, n);
}

/* Box radius whose three-fold cascade has standard deviation sigma: r(r+1) = sigma^2. */
size_t
mm_box_radius(double sigma_px)
{
	double r = (-1.0 + sqrt(1.0 + 4.0 * sigma_px * sigma_px)) / 2.0;
	return r < 1 ? 1 : (size_t)(r + 0.5);
}

/* The full-resolution search mask: breast (no pectoral), at least skin_margin from the skin. */
void
mm_search_mask(unsigned char *cm, const struct mm_image *im, const struct mm_mask *mk,
	    double margin)
{
	for (size_t y = 0; y < im->h; y++) {
		size_t cy = y / mk->f < mk->mh ? y / mk->f : mk->mh - 1;
		for (size_t x = 0; x < im->w; x++) {
			size_t cx = x / mk->f < mk->mw ? x / mk->f : mk->mw - 1;
			size_t i = cy * mk->mw + cx;
			cm[y * im->w + x] = mk->m[i] == 1 && mk->skin[i] >= margin;
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
	wk->enh = malloc(n * sizeof(float));
	wk->noise = malloc(n * sizeof(float));
	wk->tmp = malloc(n * sizeof(float));
	wk->tmp2 = malloc(n * sizeof(float));
	wk->lab = malloc(n * sizeof(int));
	wk->cmask = malloc(n);
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

int
mm_enhance_cpu(struct mm_work *wk, const struct mm_image *im, const struct mm_mask *mk,
	       const struct mm_params *p, struct m3_pool *pool, struct m3_err *e)
{
	size_t w = im->w, h = im->h, n = w * h;
	double px = (im->sx + im->sy) / 2;
	size_t rb = mm_box_radius(MM_SIGMA_BG_MM / px);
	size_t rn = (size_t)fmax(2.0, MM_NOISE_MM / px);
	float floor = (im->vmax - im->vmin) * 1e-5f;
	(void)e;

	mm_search_mask(wk->cmask, im, mk, p->skin_margin_mm);
	/* large scale: three boxes along rows, three down columns -> tmp2 */
	pass(pool, ROW_BOX, im->px, NULL, wk->tmp, w, h, rb, 0);
	pass(pool, ROW_BOX, wk->tmp, NULL, wk->tmp2, w, h, rb, 0);
	pass(pool, ROW_BOX, wk->tmp2, NULL, wk->tmp, w, h, rb, 0);
	pass(pool, COL_BOX, wk->tmp, NULL, wk->tmp2, w, h, rb, 0);
	pass(pool, COL_BOX, wk->tmp2, NULL, wk->tmp, w, h, rb, 0);
	pass(pool, COL_BOX, wk->tmp, NULL, wk->noise, w, h, rb, 0);
	/* small scale [1 2 1] both ways, minus the large scale -> enh */
	pass(pool, ROW_121, im->px, NULL, wk->tmp, w, h, 0, 0);
	pass(pool, COL_121_DOG, wk->tmp, wk->noise, wk->enh, w, h, 0, 0);
	/* local noise: box mean of |enh| */
	pass(pool, ABS_DIFF, wk->enh, NULL, wk->tmp, w, h, 0, 0);
	pass(pool, ROW_BOX, wk->tmp, NULL, wk->tmp2, w, h, rn, 0);
	pass(pool, COL_BOX, wk->tmp2, NULL, wk->tmp, w, h, rn, 0);
	pass(pool, NOISE, wk->tmp, NULL, wk->noise, w, h, 0, floor);
	wk->noise_median = mm_noise_median(wk->noise, wk->cmask, n);
	return M3_OK;
}
