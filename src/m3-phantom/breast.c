/* The breast of one mammogram view: outline, skin, pectoral muscle, glandular tissue, lines. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mammo.h"

#define BACKGROUND 80.0 /* the detector outside the breast */

static double
clampd(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

static double
smoothstep(double e0, double e1, double x)
{
	double t = clampd((x - e0) / (e1 - e0), 0, 1);

	return t * t * (3 - 2 * t);
}

double
ph_quantum_sigma(double value)
{
	return sqrt(0.35 * (value > 0 ? value : 0) + 16.0);
}

void
ph_breast_layout(struct ph_view *v, uint64_t seed, double thr)
{
	double W = (double)v->w, H = (double)v->h;
	struct ph_rng r;

	ph_rng_init(&r, seed, PH_RNG_LAYOUT, (uint64_t)v->index);
	if (!v->mlo) {
		v->cy = H * ph_rng_range(&r, 0.46, 0.54);
		v->a = W * ph_rng_range(&r, 0.62, 0.78);
		v->b = H * ph_rng_range(&r, 0.36, 0.43);
	} else {
		v->cy = H * ph_rng_range(&r, 0.42, 0.46);
		v->a = W * ph_rng_range(&r, 0.66, 0.80);
		v->b = H * ph_rng_range(&r, 0.46, 0.51);
		v->p0 = W * ph_rng_range(&r, 0.20, 0.30);
		v->pv = H * ph_rng_range(&r, 0.36, 0.50);
		v->pk = ph_rng_range(&r, 0.8, 1.25);
	}
	v->m2c = ph_rng_range(&r, -0.04, 0.04);
	v->m2s = ph_rng_range(&r, -0.04, 0.04);
	v->m3c = ph_rng_range(&r, -0.025, 0.025);
	v->m3s = ph_rng_range(&r, -0.025, 0.025);
	v->thr = thr;
}

/* rho < 1 inside the outline; *len is the distance from the centre to the outline along the
 * same ray, in px. */
static double
outline(const struct ph_view *v, double u, double y, double *len)
{
	double X = u / v->a, Y = (y - v->cy) / v->b, r = sqrt(X * X + Y * Y), c, s, m;

	if (r < 1e-9) {
		*len = v->a;
		return 0;
	}
	c = X / r;
	s = Y / r;
	m = 1 + v->m2c * (c * c - s * s) + v->m2s * 2 * c * s + v->m3c * (4 * c * c * c - 3 * c) +
	    v->m3s * (3 * s - 4 * s * s * s);
	*len = m * sqrt(v->a * c * v->a * c + v->b * s * v->b * s);
	return r / m;
}

double
ph_breast_edge(const struct ph_view *v, double u, double y)
{
	double len, rho;

	if (u < 0)
		return u;
	rho = outline(v, u, y, &len);
	return (1 - rho) * len;
}

double
ph_breast_pect(const struct ph_view *v, double y)
{
	double t;

	if (!v->mlo || (t = 1 - y / v->pv) <= 0)
		return -1e9;
	return v->p0 * pow(t, v->pk);
}

/* The point of the outline at angle th (of the normalised ellipse), moved in by inset px. */
static void
outline_point(const struct ph_view *v, double th, double inset, double *u, double *y)
{
	double len, pu = v->a * cos(th), py = v->cy + v->b * sin(th), rho, f;

	rho = outline(v, pu, py, &len);
	f = (len - inset) / len / rho;
	*u = pu * f;
	*y = v->cy + (py - v->cy) * f;
}

static int
add_point(struct ph_line *l, double u, double y, double amp)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		double *p = realloc(l->p, cap * 3 * sizeof(double));
		if (p == NULL)
			return -1;
		l->p = p;
		l->cap = cap;
	}
	l->p[3 * l->n] = u;
	l->p[3 * l->n + 1] = y;
	l->p[3 * l->n + 2] = amp;
	l->n++;
	return 0;
}

/* 1 when a line may go on through (u, y): inside, off the skin and the muscle. */
static int
walkable(const struct ph_view *v, double u, double y)
{
	double mm = 1 / v->sp;

	return y >= 0 && y < (double)v->h && u >= 3 * mm && ph_breast_edge(v, u, y) > 2.5 * mm &&
	       u > ph_breast_pect(v, y) + 1.5 * mm;
}

struct walk {
	double u, y, psi, len, curl, amp, sigma;
	int kind;
};

/* A random walk from (u, y) heading psi; ducts branch off into new lines. */
static int
walk_line(struct ph_view *v, struct ph_rng *r, struct walk w)
{
	struct ph_line *l;
	double step = 1.0 / v->sp, t = 0;

	if (v->nline >= PH_MAXLINE)
		return 0;
	l = &v->lines[v->nline++];
	l->sigma = w.sigma;
	l->kind = w.kind;
	while (t < w.len && walkable(v, w.u, w.y)) {
		double ramp = clampd(t / (2.0 / v->sp), 0, 1) * (1 - 0.5 * t / w.len);
		if (add_point(l, w.u, w.y, w.amp * ramp) != 0)
			return -1;
		if (w.kind == 0 && t > 4 * step && ph_rng_uni(r) < 0.012) {
			struct walk b = w;
			b.psi += ph_rng_uni(r) < 0.5 ? -0.5 : 0.5;
			b.len = (w.len - t) * 0.8;
			b.amp *= 0.8 * (1 - 0.5 * t / w.len);
			if (walk_line(v, r, b) != 0)
				return -1;
		}
		w.psi += w.curl * ph_rng_normal(r);
		w.u += step * cos(w.psi);
		w.y += step * sin(w.psi);
		t += step;
	}
	return 0;
}

static int
skin_fold(struct ph_view *v, struct ph_rng *r)
{
	double th0 = ph_rng_range(r, -1.1, 1.1), lmm = ph_rng_range(r, 8, 20);
	double inset = ph_rng_range(r, 2, 5) / v->sp, amp = ph_rng_range(r, 180, 300);
	double dth = lmm / (v->sp * v->a), u, y;
	struct ph_line *l;
	int n = (int)(lmm / 0.5);

	if (v->nline >= PH_MAXLINE || v->ndist >= PH_MAXDIST)
		return 0;
	l = &v->lines[v->nline++];
	l->sigma = ph_rng_range(r, 0.2, 0.35) / v->sp;
	l->kind = 2;
	for (int i = 0; i <= n; i++) {
		double t = (double)i / n;
		outline_point(v, th0 + (t - 0.5) * dth, inset, &u, &y);
		if (y < 0 || y >= (double)v->h || u < ph_breast_pect(v, y) + 2 / v->sp)
			continue;
		if (add_point(l, u, y, amp * sin(PH_PI * t)) != 0)
			return -1;
	}
	outline_point(v, th0, inset, &u, &y);
	if (l->n < 4 || u < 0 || y < 0 || u >= (double)v->w || y >= (double)v->h) {
		l->n = 0; /* not drawn: every distractor drawn is in the truth */
		return 0;
	}
	v->dist[v->ndist++] = (struct ph_distractor){
		.kind = PH_D_FOLD, .u = u, .v = y, .size_mm = lmm, .contrast = amp};
	return 0;
}

int
ph_breast_lines(struct ph_view *v, uint64_t seed)
{
	double mm = 1 / v->sp, un, yn;
	struct ph_rng r;
	int n;

	ph_rng_init(&r, seed, PH_RNG_LAYOUT, 16 + (uint64_t)v->index);
	outline_point(v, 0, 0, &un, &yn);
	n = ph_rng_int(&r, 8, 14);
	for (int i = 0; i < n; i++) {
		struct walk w = {
			.u = un - ph_rng_range(&r, 2, 7) * mm,
			.y = yn + ph_rng_range(&r, -6, 6) * mm,
			.psi = PH_PI + ph_rng_range(&r, -0.7, 0.7),
			.len = ph_rng_range(&r, 0.25, 0.65) * v->a,
			.curl = 0.05,
			.amp = ph_rng_range(&r, 35, 70),
			.sigma = ph_rng_range(&r, 0.12, 0.25) * mm,
			.kind = 0,
		};
		if (walk_line(v, &r, w) != 0)
			return -1;
	}
	n = ph_rng_int(&r, 3, 6);
	for (int i = 0; i < n; i++) {
		double y = v->cy + v->b * ph_rng_range(&r, -0.75, 0.75);
		struct walk w = {
			.u = fmax(ph_breast_pect(v, y), 0) + ph_rng_range(&r, 3, 9) * mm,
			.y = y,
			.psi = ph_rng_range(&r, -0.5, 0.5) + 0.3 * (y - v->cy) / v->b,
			.len = ph_rng_range(&r, 0.4, 0.9) * v->a,
			.curl = 0.07,
			.amp = ph_rng_range(&r, 50, 100),
			.sigma = ph_rng_range(&r, 0.28, 0.5) * mm,
			.kind = 1,
		};
		if (walk_line(v, &r, w) != 0)
			return -1;
	}
	n = ph_rng_int(&r, 0, 2);
	for (int i = 0; i < n; i++)
		if (skin_fold(v, &r) != 0)
			return -1;
	return 0;
}

/* Where segment (a, b) crosses segment (c, d): 1 and the parameters along each, or 0. */
static int
cross(const double *a, const double *b, const double *c, const double *d, double *t, double *s)
{
	double r0 = b[0] - a[0], r1 = b[1] - a[1], q0 = d[0] - c[0], q1 = d[1] - c[1];
	double den = r0 * q1 - r1 * q0;

	if (fabs(den) < 1e-12)
		return 0;
	*t = ((c[0] - a[0]) * q1 - (c[1] - a[1]) * q0) / den;
	*s = ((c[0] - a[0]) * r1 - (c[1] - a[1]) * r0) / den;
	return *t >= 0 && *t < 1 && *s >= 0 && *s < 1;
}

static void
add_crossing(struct ph_view *v, double u, double y, double amp, double sigma)
{
	for (size_t k = 0; k < v->ndist; k++)
		if (v->dist[k].kind == PH_D_CROSSING &&
		    hypot(v->dist[k].u - u, v->dist[k].v - y) * v->sp < 1.5)
			return;
	if (v->ndist < PH_MAXDIST)
		v->dist[v->ndist++] = (struct ph_distractor){.kind = PH_D_CROSSING,
							     .u = u,
							     .v = y,
							     .size_mm = 2.355 * sigma * v->sp,
							     .contrast = amp};
}

/* Vessels crossing vessels or ducts add up to a bright spot: a distractor. */
void
ph_breast_crossings(struct ph_view *v)
{
	for (size_t i = 0; i < v->nline; i++)
		for (size_t j = i + 1; j < v->nline; j++) {
			const struct ph_line *a = &v->lines[i], *b = &v->lines[j];
			if (a->kind == 2 || b->kind == 2 || (a->kind == 0 && b->kind == 0))
				continue;
			for (size_t p = 0; p + 1 < a->n; p++)
				for (size_t q = 0; q + 1 < b->n; q++) {
					const double *pa = a->p + 3 * p, *pb = b->p + 3 * q;
					double t, s;
					if (fabs(pa[0] - pb[0]) > 40 || fabs(pa[1] - pb[1]) > 40 ||
					    !cross(pa, pa + 3, pb, pb + 3, &t, &s))
						continue;
					add_crossing(v, pa[0] + t * (pa[3] - pa[0]),
						     pa[1] + t * (pa[4] - pa[1]),
						     pa[2] + t * (pa[5] - pa[2]) + pb[2] +
							     s * (pb[5] - pb[2]),
						     fmax(a->sigma, b->sigma));
				}
		}
}

static double
seg_dist2(const double *a, const double *b, double u, double y, double *t)
{
	double du = b[0] - a[0], dy = b[1] - a[1], l2 = du * du + dy * dy, eu, ey;

	*t = l2 > 0 ? clampd(((u - a[0]) * du + (y - a[1]) * dy) / l2, 0, 1) : 0;
	eu = u - (a[0] + *t * du);
	ey = y - (a[1] + *t * dy);
	return eu * eu + ey * ey;
}

double
ph_line_dist(const struct ph_view *v, double u, double y, double *sigma)
{
	double best = 1e18, t;

	*sigma = 0;
	for (size_t i = 0; i < v->nline; i++) {
		const struct ph_line *l = &v->lines[i];
		for (size_t p = 0; p + 1 < l->n; p++) {
			double d = sqrt(seg_dist2(l->p + 3 * p, l->p + 3 * p + 3, u, y, &t)) -
				   3 * l->sigma;
			if (d < best) {
				best = d;
				*sigma = l->sigma;
			}
		}
		if (l->n == 1) {
			double d = hypot(l->p[0] - u, l->p[1] - y) - 3 * l->sigma;
			if (d < best)
				best = d;
		}
	}
	return best;
}

/* One segment of a line, drawing only the pixels it is the nearest segment for, so that
 * joints are not counted twice. */
static void
draw_segment(const struct ph_view *v, const struct ph_line *l, size_t i, float *img)
{
	const double *a = l->p + 3 * i, *b = a + 3, s3 = 3 * l->sigma;
	double k = -0.5 / (l->sigma * l->sigma), t, t2;
	long u0 = lround(fmin(a[0], b[0]) - s3), u1 = lround(fmax(a[0], b[0]) + s3);
	long y0 = lround(fmin(a[1], b[1]) - s3), y1 = lround(fmax(a[1], b[1]) + s3);

	u0 = u0 < 0 ? 0 : u0;
	y0 = y0 < 0 ? 0 : y0;
	u1 = u1 >= (long)v->w ? (long)v->w - 1 : u1;
	y1 = y1 >= (long)v->h ? (long)v->h - 1 : y1;
	for (long y = y0; y <= y1; y++)
		for (long u = u0; u <= u1; u++) {
			double d2 = seg_dist2(a, b, (double)u, (double)y, &t);
			if (d2 > s3 * s3)
				continue;
			if (i > 0 && seg_dist2(a - 3, a, (double)u, (double)y, &t2) <= d2)
				continue;
			if (i + 2 < l->n && seg_dist2(b, b + 3, (double)u, (double)y, &t2) < d2)
				continue;
			img[(size_t)y * v->w + (size_t)u] +=
				(float)((a[2] + t * (b[2] - a[2])) * exp(k * d2));
		}
}

void
ph_breast_draw_lines(const struct ph_view *v, float *img)
{
	for (size_t i = 0; i < v->nline; i++)
		for (size_t p = 0; p + 1 < v->lines[i].n; p++)
			draw_segment(v, &v->lines[i], p, img);
}

/*
 * Glandular tissue: the real part of the field read straight (clouds of dense tissue) and
 * the imaginary part read in polar coordinates around the nipple (radius, angle times a
 * quarter of the breast depth), both at half the pixel size and wrapping around the
 * period.  Stretched along the radius, the second converges on the nipple as ducts and
 * lobes do; it fades out near the nipple, where the polar grid would pinch.
 */
/* Channel k of the field at (x, y) in field pixels, bilinear, periodic. */
static double
lerp_field(const float *field, size_t fnx, size_t fny, double x, double y, int k)
{
	double fx = floor(x), fy = floor(y), ax = x - fx, ay = y - fy;
	size_t x0 = (size_t)((long long)fx % (long long)fnx + (long long)fnx) % fnx;
	size_t y0 = (size_t)((long long)fy % (long long)fny + (long long)fny) % fny;
	size_t x1 = (x0 + 1) % fnx, y1 = (y0 + 1) % fny;

	return (1 - ay) * ((1 - ax) * field[2 * (y0 * fnx + x0) + k] +
			   ax * field[2 * (y0 * fnx + x1) + k]) +
	       ay * ((1 - ax) * field[2 * (y1 * fnx + x0) + k] +
		     ax * field[2 * (y1 * fnx + x1) + k]);
}

static void
field_at(const struct ph_view *v, const float *field, size_t fnx, size_t fny, double u, double y,
	 double un, double yn, double *g, double *t)
{
	double du = un - u, dy = y - yn, r = sqrt(du * du + dy * dy), th = atan2(dy, du);
	double fade = smoothstep(0.25, 0.5, r / v->a);

	*g = lerp_field(field, fnx, fny, u * 0.5, y * 0.5, 0);
	*t = fade > 0 ? lerp_field(field, fnx, fny, r * 0.5, th * v->a * 0.25, 1) * fade : 0;
}

/* The pixel value of tissue at column u: fat, glandular tissue, skin, pectoral muscle. */
static double
tissue(const struct ph_view *v, double u, double e, double pect, double g, double t)
{
	double em = e * v->sp, tf, env, dens, val, wp;

	tf = 1 - exp(-fmax(em, 0) / 5.0);
	env = smoothstep(1, 18, em) * (1 - exp(-u * v->sp / 10.0));
	g = 0.85 * g + 0.45 * t;
	/* smooth everywhere, so that a calcification's background is a smooth surface */
	dens = env * (1 / (1 + exp(-(g - v->thr) / 0.5)) + 0.3 / (1 + exp(-g / 0.7)));
	val = 1500 + 700 * tf + 120 * t * tf + 1600 * dens * tf;
	if (em < 3)
		val += 250 * exp(-(em - 0.5) * (em - 0.5) / 0.06);
	if (pect > 0 && u < pect + 2 / v->sp) {
		wp = smoothstep(-0.7, 0.7, (pect - u) * v->sp);
		val = val * (1 - wp) + wp * (2900 + 150 * g + 100 * t);
	}
	e = clampd(e + 0.5, 0, 1);
	return BACKGROUND * (1 - e) + val * e;
}

void
ph_breast_tissue(const struct ph_view *v, float *img, const float *field, size_t fnx, size_t fny)
{
	double un, yn, g, t;

	outline_point(v, 0, 0, &un, &yn);
	for (size_t y = 0; y < v->h; y++) {
		double pect = ph_breast_pect(v, (double)y);
		for (size_t u = 0; u < v->w; u++) {
			double e = ph_breast_edge(v, (double)u, (double)y);
			if (e < -1) {
				img[y * v->w + u] = (float)BACKGROUND;
				continue;
			}
			field_at(v, field, fnx, fny, (double)u, (double)y, un, yn, &g, &t);
			img[y * v->w + u] = (float)tissue(v, (double)u, e, pect, g, t);
		}
	}
}
