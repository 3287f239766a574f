/* m3-mammo breast mask: Otsu on a coarse grid, largest component, holes filled, pectoral
 * muscle removed in MLO views, and the distance to the skin line. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mammo.h"

#define MM_MASK_MM 0.5 /* coarse pixel size */
#define MM_HIST 256

static float
otsu(const float *v, const unsigned char *sel, size_t n, float lo, float hi)
{
	double hist[MM_HIST] = {0}, tot = 0, sum = 0, wb = 0, sb = 0, best = -1;
	float t = (lo + hi) / 2;

	if (hi <= lo)
		return lo;
	for (size_t i = 0; i < n; i++) {
		if (sel != NULL && !sel[i])
			continue;
		int b = (int)((v[i] - lo) / (hi - lo) * (MM_HIST - 1) + 0.5f);
		hist[b < 0 ? 0 : b >= MM_HIST ? MM_HIST - 1 : b]++;
	}
	for (int i = 0; i < MM_HIST; i++) {
		tot += hist[i];
		sum += i * hist[i];
	}
	for (int i = 0; i < MM_HIST - 1; i++) {
		wb += hist[i];
		sb += i * hist[i];
		if (wb == 0 || wb == tot)
			continue;
		double mb = sb / wb, mf = (sum - sb) / (tot - wb);
		double between = wb * (tot - wb) * (mb - mf) * (mb - mf);
		if (between > best) {
			best = between;
			t = lo + (hi - lo) * (i + 0.5f) / (MM_HIST - 1);
		}
	}
	return t;
}

/* Marks in seen the 4-connected component of m (values != 0) holding seed; its size. */
static size_t
grow(const unsigned char *m, unsigned char *seen, size_t w, size_t h, size_t *queue, size_t seed)
{
	size_t n = w * h, qh = 0, qt = 0;

	queue[qt++] = seed;
	seen[seed] = 1;
	while (qh < qt) {
		size_t i = queue[qh++], x = i % w, y = i / w;
		size_t nb[4] = {x > 0 ? i - 1 : n, x + 1 < w ? i + 1 : n, y > 0 ? i - w : n,
				y + 1 < h ? i + w : n};
		for (int k = 0; k < 4; k++)
			if (nb[k] < n && m[nb[k]] && !seen[nb[k]]) {
				seen[nb[k]] = 1;
				queue[qt++] = nb[k];
			}
	}
	return qt;
}

/* Keeps the largest 4-connected component of m (values != 0), sets it to 1. */
static int
largest_component(unsigned char *m, size_t w, size_t h, size_t *queue)
{
	size_t n = w * h, best = 0, bestseed = n;
	unsigned char *seen = calloc(n, 1);

	if (seen == NULL)
		return -1;
	for (size_t s = 0; s < n; s++) {
		if (!m[s] || seen[s])
			continue;
		size_t size = grow(m, seen, w, h, queue, s);
		if (size > best) {
			best = size;
			bestseed = s;
		}
	}
	memset(seen, 0, n);
	if (bestseed < n)
		grow(m, seen, w, h, queue, bestseed);
	for (size_t i = 0; i < n; i++)
		m[i] = seen[i];
	free(seen);
	return 0;
}

/* Fills holes: background pixels that the border cannot reach become breast. */
static void
fill_holes(unsigned char *m, size_t w, size_t h, size_t *queue)
{
	size_t n = w * h, qh = 0, qt = 0;

	for (size_t i = 0; i < n; i++) {
		size_t x = i % w, y = i / w;
		if (!m[i] && (x == 0 || y == 0 || x == w - 1 || y == h - 1)) {
			m[i] = 3;
			queue[qt++] = i;
		}
	}
	while (qh < qt) {
		size_t i = queue[qh++], x = i % w, y = i / w;
		size_t nb[4] = {x > 0 ? i - 1 : n, x + 1 < w ? i + 1 : n, y > 0 ? i - w : n,
				y + 1 < h ? i + w : n};
		for (int k = 0; k < 4; k++)
			if (nb[k] < n && m[nb[k]] == 0) {
				m[nb[k]] = 3;
				queue[qt++] = nb[k];
			}
	}
	for (size_t i = 0; i < n; i++)
		m[i] = m[i] == 3 ? 0 : 1;
}

/*
 * Pectoral muscle in an MLO view: the bright wedge in the upper corner at the chest wall.
 * Per row, the first pixel from the chest wall that falls below the Otsu threshold of the
 * upper chest-wall quarter; a straight line fitted to those; accepted when it narrows
 * downwards and the wedge is clearly brighter than the tissue beside it.
 */
static void
pectoral(struct mm_mask *mk, const float *c)
{
	size_t w = mk->mw, h = mk->mh, rows = h * 7 / 10, cols = w / 2;
	unsigned char *sel = calloc(w * h, 1);
	double sy = 0, sb = 0, syy = 0, syb = 0, cnt = 0, in = 0, nin = 0, out = 0, nout = 0;
	float t;

	if (sel == NULL)
		return;
	for (size_t y = 0; y < rows; y++)
		for (size_t xx = 0; xx < cols; xx++) {
			size_t x = mk->chest_right ? w - 1 - xx : xx;
			sel[y * w + x] = mk->m[y * w + x] == 1;
		}
	t = otsu(c, sel, w * h, mk->otsu, mk->tissue_median * 2);
	free(sel);
	for (size_t y = 0; y < rows; y++) {
		size_t b = 0;
		for (size_t xx = 0; xx + 2 < cols; xx++) {
			size_t x0 = mk->chest_right ? w - 1 - xx : xx;
			size_t x1 = mk->chest_right ? x0 - 1 : x0 + 1;
			size_t x2 = mk->chest_right ? x0 - 2 : x0 + 2;
			if (c[y * w + x0] < t && c[y * w + x1] < t && c[y * w + x2] < t)
				break;
			b = xx + 1;
		}
		if (b > 0 && b < cols - 3) {
			sy += (double)y;
			sb += (double)b;
			syy += (double)y * y;
			syb += (double)y * b;
			cnt++;
		}
	}
	if (cnt < 5 || cnt * syy - sy * sy <= 0)
		return;
	double a1 = (cnt * syb - sy * sb) / (cnt * syy - sy * sy), a0 = (sb - a1 * sy) / cnt;
	if (a1 >= 0 || a0 < 0.05 * w)
		return;
	for (size_t y = 0; y < h; y++)
		for (size_t xx = 0; xx < w; xx++) {
			size_t x = mk->chest_right ? w - 1 - xx : xx;
			double d = a0 + a1 * (double)y - (double)xx;
			if (mk->m[y * w + x] != 1 || d < -4 || d > 4)
				continue;
			if (d > 1) {
				in += c[y * w + x];
				nin++;
			} else if (d < -1) {
				out += c[y * w + x];
				nout++;
			}
		}
	if (nin == 0 || nout == 0 || in / nin - out / nout < 0.05 * mk->tissue_median)
		return;
	for (size_t y = 0; y < h; y++)
		for (size_t xx = 0; xx < w; xx++) {
			size_t x = mk->chest_right ? w - 1 - xx : xx;
			if (mk->m[y * w + x] == 1 && (double)xx < a0 + a1 * (double)y + 2.0)
				mk->m[y * w + x] = 2;
		}
}

/* Chamfer (3-4) distance to the nearest outside pixel; the image border counts as inside,
 * so a chest wall cut by the detector edge is no skin. */
static void
skin_distance(struct mm_mask *mk, double px_mm)
{
	size_t w = mk->mw, h = mk->mh;
	float *d = mk->skin, big = 1e9f;

	for (size_t i = 0; i < w * h; i++)
		d[i] = mk->m[i] ? big : 0;
	for (size_t y = 0; y < h; y++)
		for (size_t x = 0; x < w; x++) {
			float *p = &d[y * w + x];
			if (x > 0 && d[y * w + x - 1] + 3 < *p)
				*p = d[y * w + x - 1] + 3;
			if (y > 0) {
				if (d[(y - 1) * w + x] + 3 < *p)
					*p = d[(y - 1) * w + x] + 3;
				if (x > 0 && d[(y - 1) * w + x - 1] + 4 < *p)
					*p = d[(y - 1) * w + x - 1] + 4;
				if (x + 1 < w && d[(y - 1) * w + x + 1] + 4 < *p)
					*p = d[(y - 1) * w + x + 1] + 4;
			}
		}
	for (size_t y = h; y-- > 0;)
		for (size_t x = w; x-- > 0;) {
			float *p = &d[y * w + x];
			if (x + 1 < w && d[y * w + x + 1] + 3 < *p)
				*p = d[y * w + x + 1] + 3;
			if (y + 1 < h) {
				if (d[(y + 1) * w + x] + 3 < *p)
					*p = d[(y + 1) * w + x] + 3;
				if (x + 1 < w && d[(y + 1) * w + x + 1] + 4 < *p)
					*p = d[(y + 1) * w + x + 1] + 4;
				if (x > 0 && d[(y + 1) * w + x - 1] + 4 < *p)
					*p = d[(y + 1) * w + x - 1] + 4;
			}
		}
	for (size_t i = 0; i < w * h; i++)
		d[i] = d[i] >= big ? 1e3f : (float)(d[i] / 3.0 * px_mm);
}

static int
cmpf(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

static float
median_in(const float *c, const unsigned char *m, size_t n)
{
	float *v = malloc(n * sizeof(float)), med = 0;
	size_t k = 0;

	if (v == NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (m[i] == 1)
			v[k++] = c[i];
	if (k > 0) {
		qsort(v, k, sizeof(float), cmpf);
		med = v[k / 2];
	}
	free(v);
	return med;
}

static void
coarse(float *c, const struct mm_image *im, size_t f, size_t mw, size_t mh)
{
	for (size_t cy = 0; cy < mh; cy++)
		for (size_t cx = 0; cx < mw; cx++) {
			double s = 0;
			size_t k = 0;
			for (size_t y = cy * f; y < (cy + 1) * f && y < im->h; y++)
				for (size_t x = cx * f; x < (cx + 1) * f && x < im->w; x++, k++)
					s += im->px[y * im->w + x];
			c[cy * mw + cx] = (float)(s / (k ? k : 1));
		}
}

int
mm_mask_build(struct mm_mask *mk, const struct mm_image *im, const char *view, struct m3_err *e)
{
	double px = (im->sx + im->sy) / 2;
	size_t n, *queue, left = 0, right = 0, npect = 0, nbreast = 0;
	float *c;

	memset(mk, 0, sizeof(*mk));
	mk->f = (size_t)fmax(1.0, floor(MM_MASK_MM / px + 0.5));
	mk->mw = (im->w + mk->f - 1) / mk->f;
	mk->mh = (im->h + mk->f - 1) / mk->f;
	n = mk->mw * mk->mh;
	c = malloc(n * sizeof(float));
	queue = malloc(n * sizeof(size_t));
	mk->m = malloc(n);
	mk->skin = malloc(n * sizeof(float));
	if (c == NULL || queue == NULL || mk->m == NULL || mk->skin == NULL) {
		free(c);
		free(queue);
		mm_mask_release(mk);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	coarse(c, im, mk->f, mk->mw, mk->mh);
	mk->otsu = otsu(c, NULL, n, im->vmin, im->vmax);
	for (size_t i = 0; i < n; i++)
		mk->m[i] = c[i] > mk->otsu;
	if (largest_component(mk->m, mk->mw, mk->mh, queue) != 0) {
		free(c);
		free(queue);
		mm_mask_release(mk);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	fill_holes(mk->m, mk->mw, mk->mh, queue);
	for (size_t y = 0; y < mk->mh; y++) {
		left += mk->m[y * mk->mw];
		right += mk->m[y * mk->mw + mk->mw - 1];
	}
	mk->chest_right = right > left;
	mk->tissue_median = median_in(c, mk->m, n);
	if (view != NULL && strstr(view, "MLO") != NULL)
		pectoral(mk, c);
	skin_distance(mk, px * (double)mk->f);
	for (size_t i = 0; i < n; i++) {
		nbreast += mk->m[i] == 1;
		npect += mk->m[i] == 2;
	}
	mk->npix = nbreast * mk->f * mk->f;
	mk->npect = npect * mk->f * mk->f;
	free(c);
	free(queue);
	if (nbreast == 0)
		return m3_err_set(e, M3_EDATA, "no breast tissue found");
	return M3_OK;
}

float
mm_skin_at(const struct mm_mask *mk, size_t x, size_t y)
{
	size_t cx = x / mk->f, cy = y / mk->f;
	if (cx >= mk->mw)
		cx = mk->mw - 1;
	if (cy >= mk->mh)
		cy = mk->mh - 1;
	return mk->skin[cy * mk->mw + cx];
}

void
mm_mask_release(struct mm_mask *mk)
{
	free(mk->m);
	free(mk->skin);
	mk->m = NULL;
	mk->skin = NULL;
}
