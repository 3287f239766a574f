/* Calcifications: planted where the truth says, with the contrast it says, and their look-alikes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mammo.h"

#define TRIES 400

static double
extent_px(const struct ph_calc *c)
{
	double e = 0;

	for (int i = 0; i < c->nb; i++)
		e = fmax(e, hypot(c->b[i].du, c->b[i].dv) + fmax(c->b[i].ru, c->b[i].rv));
	return e;
}

static void
blob(struct ph_calc *c, double du, double dv, double ru, double rv, double angle)
{
	if (c->nb >= PH_MAXBLOB)
		return;
	c->b[c->nb++] = (struct ph_blob){du, dv, ru, rv, cos(angle), sin(angle)};
}

/* The blobs of a calcification of about d mm across, centred on its first blob. */
static void
shape(struct ph_calc *c, struct ph_rng *r, double d_mm, double sp, enum ph_shape sh)
{
	double R = d_mm / 2 / sp, ang = ph_rng_range(r, 0, PH_PI), k;
	int n;

	c->nb = 0;
	c->shape = sh;
	switch (sh) {
	case PH_PUNCTATE:
	case PH_ROUND:
	case PH_RIM:
		blob(c, 0, 0, R, R * ph_rng_range(r, 0.85, 1.0), ang);
		break;
	case PH_OVAL:
		blob(c, 0, 0, R, R * ph_rng_range(r, 0.45, 0.7), ang);
		break;
	case PH_IRREGULAR:
		blob(c, 0, 0, R * 0.55, R * ph_rng_range(r, 0.4, 0.55), ang);
		n = ph_rng_int(r, 2, 3);
		for (int i = 0; i < n; i++) {
			double a = ph_rng_range(r, 0, 2 * PH_PI),
			       rr = R * ph_rng_range(r, 0.25, 0.4);
			k = R - rr;
			blob(c, k * cos(a), k * sin(a), rr, rr * 0.8, a);
		}
		break;
	case PH_LINEAR:
		blob(c, 0, 0, R * 0.6, R * 0.22, ang);
		k = ang + ph_rng_range(r, -0.6, 0.6);
		blob(c, 0.55 * R * cos(ang) + 0.2 * R * cos(k),
		     0.55 * R * sin(ang) + 0.2 * R * sin(k), R * 0.35, R * 0.18, k);
		blob(c, -0.55 * R * cos(ang), -0.55 * R * sin(ang), R * 0.4, R * 0.2, ang);
		break;
	case PH_COARSE:
		blob(c, 0, 0, R * 0.4, R * 0.35, ang);
		n = ph_rng_int(r, 3, 5);
		for (int i = 0; i < n; i++) {
			double a = ang + 2 * PH_PI * i / n, rr = R * ph_rng_range(r, 0.28, 0.4);
			blob(c, (R - rr) * cos(a), (R - rr) * sin(a), rr, rr * 0.85, a);
		}
		break;
	}
	c->diam_mm = 2 * extent_px(c) * sp;
	if (sh < PH_RIM && c->diam_mm > 1.0) { /* micro-calcifications stay within 1 mm */
		k = 1.0 / c->diam_mm;
		for (int i = 0; i < c->nb; i++) {
			c->b[i].du *= k;
			c->b[i].dv *= k;
			c->b[i].ru *= k;
			c->b[i].rv *= k;
		}
		c->diam_mm = 2 * extent_px(c) * sp;
	}
}

/* The projected thickness at (du, dv) from the centre, 0..1. */
static double
profile(const struct ph_calc *c, double du, double dv)
{
	double best = 0;

	for (int i = 0; i < c->nb; i++) {
		const struct ph_blob *b = &c->b[i];
		double x = du - b->du, y = dv - b->dv;
		double p = (x * b->cs + y * b->sn) / b->ru, q = (-x * b->sn + y * b->cs) / b->rv;
		double s = p * p + q * q, t;
		if (s >= 1)
			continue;
		t = sqrt(1 - s);
		if (c->shape == PH_RIM && s < 0.64) /* an eggshell: the hollow part is missing */
			t -= 0.8 * sqrt(1 - s / 0.64);
		best = fmax(best, t);
	}
	return best;
}

/* Local background, noise and the spot's fitness, for placing things. */
struct spot {
	double edge_mm, sep_mm, line_mm;
};

static int
spot_ok(const struct ph_view *v, double u, double y, const struct spot *s, double radius_mm)
{
	double sig, mm = 1 / v->sp;

	if (u < 8 || y < 8 || u > (double)v->w - 9 || y > (double)v->h - 9)
		return 0;
	if (ph_breast_edge(v, u, y) * v->sp < s->edge_mm + radius_mm ||
	    u * v->sp < s->edge_mm + radius_mm ||
	    (u - ph_breast_pect(v, y)) * v->sp < s->edge_mm + radius_mm)
		return 0;
	if (ph_line_dist(v, u, y, &sig) * v->sp < s->line_mm + radius_mm)
		return 0;
	for (size_t i = 0; i < v->ncalc; i++)
		if (hypot(v->calcs[i].u - u, v->calcs[i].v - y) <
		    (s->sep_mm + radius_mm + v->calcs[i].diam_mm / 2) * mm)
			return 0;
	for (size_t i = 0; i < v->ndist; i++)
		if (hypot(v->dist[i].u - u, v->dist[i].v - y) <
		    (2.0 + radius_mm +
		     (v->dist[i].kind == PH_D_BENIGN ? v->dist[i].size_mm / 2 : 0)) *
			    mm)
			return 0;
	return 1;
}

static enum ph_shape
micro_shape(struct ph_rng *r, double d_mm)
{
	static const enum ph_shape pick[] = {PH_ROUND, PH_ROUND, PH_OVAL, PH_IRREGULAR, PH_LINEAR};

	if (d_mm < 0.22)
		return PH_PUNCTATE;
	return pick[ph_rng_int(r, 0, 4)];
}

static int
place_cluster(struct ph_view *v, struct ph_rng *r)
{
	int n = 3 + (int)(17 * pow(ph_rng_uni(r), 2.5)), placed = 0;
	double rc = fmin(fmax(ph_rng_range(r, 2.5, 4.0) + 0.12 * n, 2.5), 5.6), cu = 0, cv = 0;
	struct spot centre = {3.0, 8.0, -100}, member = {2.0, 0.5, 1.0};
	size_t first = v->ncalc;
	int t;

	if (v->nclust >= PH_MAXCLUST)
		return 0;
	for (t = 0; t < TRIES; t++) {
		cu = ph_rng_range(r, 0, (double)v->w);
		cv = ph_rng_range(r, 0, (double)v->h);
		if (spot_ok(v, cu, cv, &centre, rc))
			break;
	}
	if (t == TRIES)
		return 0;
	for (int k = 0; k < n && v->ncalc < PH_MAXCALC; k++)
		for (t = 0; t < TRIES; t++) {
			double rr = rc * sqrt(ph_rng_uni(r)) / v->sp,
			       a = ph_rng_range(r, 0, 2 * PH_PI);
			double d = 0.1 + 0.5 * pow(ph_rng_uni(r), 1.6);
			struct ph_calc *c = &v->calcs[v->ncalc];
			memset(c, 0, sizeof(*c));
			c->u = round((cu + rr * cos(a)) * 100) / 100;
			c->v = round((cv + rr * sin(a)) * 100) / 100;
			shape(c, r, d, v->sp, micro_shape(r, d));
			if (hypot(c->u - cu, c->v - cv) * v->sp + c->diam_mm / 2 > rc ||
			    !spot_ok(v, c->u, c->v, &member, c->diam_mm / 2))
				continue;
			c->cluster = (int)v->nclust;
			v->ncalc++;
			placed++;
			break;
		}
	if (placed < 3) {
		v->ncalc = first;
		return 0;
	}
	v->clusters[v->nclust++] = (struct ph_cluster){cu, cv, rc, placed};
	return 1;
}

static void
place_single(struct ph_view *v, struct ph_rng *r)
{
	double sep = fmin(15.0, 0.3 * v->a * v->sp);
	struct spot s = {3.0, sep, 1.2};

	if (v->ncalc >= PH_MAXCALC)
		return;
	for (int t = 0; t < TRIES; t++) {
		double d = 0.15 + 0.85 * pow(ph_rng_uni(r), 1.3);
		struct ph_calc *c = &v->calcs[v->ncalc];
		int near = 0;
		memset(c, 0, sizeof(*c));
		c->u = round(ph_rng_range(r, 0, (double)v->w) * 100) / 100;
		c->v = round(ph_rng_range(r, 0, (double)v->h) * 100) / 100;
		shape(c, r, d, v->sp, micro_shape(r, d));
		for (size_t k = 0; k < v->nclust; k++)
			if (hypot(v->clusters[k].u - c->u, v->clusters[k].v - c->v) * v->sp <
			    sep + v->clusters[k].radius_mm)
				near = 1;
		if (near || !spot_ok(v, c->u, c->v, &s, c->diam_mm / 2))
			continue;
		c->cluster = -1;
		v->ncalc++;
		return;
	}
}

static void
place_benign(struct ph_view *v, struct ph_rng *r)
{
	struct spot s = {2.0, 6.0, 0.5};

	if (v->ndist >= PH_MAXDIST)
		return;
	for (int t = 0; t < TRIES; t++) {
		struct ph_distractor *d = &v->dist[v->ndist];
		double dm = ph_rng_range(r, 2.0, 5.0);
		memset(d, 0, sizeof(*d));
		d->kind = PH_D_BENIGN;
		d->u = d->shape.u = round(ph_rng_range(r, 0, (double)v->w) * 100) / 100;
		d->v = d->shape.v = round(ph_rng_range(r, 0, (double)v->h) * 100) / 100;
		shape(&d->shape, r, dm, v->sp, ph_rng_uni(r) < 0.5 ? PH_RIM : PH_COARSE);
		d->shape.cluster = -1;
		d->size_mm = d->shape.diam_mm;
		if (!spot_ok(v, d->u, d->v, &s, d->size_mm / 2))
			continue;
		v->ndist++;
		return;
	}
}

static void
place_noise_peak(struct ph_view *v, struct ph_rng *r)
{
	struct spot s = {2.0, 3.0, 0.3};

	if (v->ndist >= PH_MAXDIST)
		return;
	for (int t = 0; t < TRIES; t++) {
		double u = floor(ph_rng_range(r, 0, (double)v->w)),
		       y = floor(ph_rng_range(r, 0, (double)v->h));
		if (!spot_ok(v, u, y, &s, 0))
			continue;
		v->dist[v->ndist++] = (struct ph_distractor){
			.kind = PH_D_NOISE, .u = u, .v = y, .size_mm = v->sp};
		return;
	}
}

void
ph_calc_plant(struct ph_view *v, uint64_t seed, int nclusters)
{
	struct ph_rng r;
	int n;

	ph_rng_init(&r, seed, PH_RNG_CALC, (uint64_t)v->index);
	for (int i = 0; i < nclusters; i++)
		place_cluster(v, &r);
	n = ph_rng_int(&r, 2, 5);
	for (int i = 0; i < n; i++)
		place_single(v, &r);
	n = ph_rng_int(&r, 1, 2);
	for (int i = 0; i < n; i++)
		place_benign(v, &r);
	n = ph_rng_int(&r, 3, 6);
	for (int i = 0; i < n; i++)
		place_noise_peak(v, &r);
}

/*
 * Draws one object: the profile, averaged over 4x4 points in each pixel and blurred by the
 * detector (a 3x3 binomial kernel), scaled so that the pixel nearest the centre rises by
 * exactly `contrast` (or, with at_peak, the brightest pixel does).
 */
static int
draw(const struct ph_view *v, float *img, const struct ph_calc *c, double contrast, int at_peak)
{
	int R = (int)ceil(extent_px(c)) + 2, P = 2 * R + 1;
	long iu = lround(c->u), iy = lround(c->v);
	double *a = calloc((size_t)P * P * 2, sizeof(double)), *b, centre, peak = 0, k;

	if (a == NULL)
		return -1;
	b = a + P * P;
	for (int j = 0; j < P; j++)
		for (int i = 0; i < P; i++) {
			double s = 0;
			for (int q = 0; q < 16; q++)
				s += profile(c,
					     (double)(iu + i - R) - 0.375 + 0.25 * (q & 3) - c->u,
					     (double)(iy + j - R) - 0.375 + 0.25 * (q >> 2) - c->v);
			a[j * P + i] = s / 16;
		}
	for (int j = 1; j < P - 1; j++)
		for (int i = 1; i < P - 1; i++) {
			double s = 0;
			for (int dj = -1; dj <= 1; dj++)
				for (int di = -1; di <= 1; di++)
					s += a[(j + dj) * P + i + di] * (2 - abs(di)) *
					     (2 - abs(dj));
			b[j * P + i] = s / 16;
			peak = fmax(peak, b[j * P + i]);
		}
	centre = b[R * P + R];
	k = contrast / (at_peak ? peak : centre);
	for (int j = 0; j < P; j++)
		for (int i = 0; i < P; i++) {
			long x = iu + i - R, y = iy + j - R;
			if (x >= 0 && y >= 0 && x < (long)v->w && y < (long)v->h)
				img[(size_t)y * v->w + (size_t)x] += (float)(k * b[j * P + i]);
		}
	free(a);
	return 0;
}

static double
background(const struct ph_view *v, const float *img, double u, double y)
{
	return img[(size_t)lround(y) * v->w + (size_t)lround(u)];
}

/* Contrasts come from the background before anything is drawn, so that neighbours in a
 * cluster do not change each other's numbers. */
static void
set_contrasts(struct ph_view *v, const float *img, uint64_t seed)
{
	struct ph_rng r;

	ph_rng_init(&r, seed, PH_RNG_CALC, 64 + (uint64_t)v->index);
	for (size_t i = 0; i < v->ncalc; i++) {
		struct ph_calc *c = &v->calcs[i];
		double sig = ph_quantum_sigma(background(v, img, c->u, c->v));
		double f = (c->diam_mm - 0.1) / 0.9;
		c->snr = ph_rng_range(&r, 2.0, 4.0) + 6.0 * fmax(f, 0) * ph_rng_range(&r, 0.6, 1.0);
		c->contrast = round(c->snr * sig * 10) / 10;
		c->snr = round(c->contrast / sig * 100) / 100;
	}
	for (size_t i = 0; i < v->ndist; i++) {
		struct ph_distractor *d = &v->dist[i];
		double sig = ph_quantum_sigma(background(v, img, d->u, d->v));
		if (d->kind == PH_D_BENIGN)
			d->contrast = round(ph_rng_range(&r, 12, 25) * sig * 10) / 10;
		else if (d->kind == PH_D_NOISE)
			d->contrast = round(ph_rng_range(&r, 3, 5) * sig * 10) / 10;
	}
}

int
ph_calc_draw(struct ph_view *v, float *img, uint64_t seed)
{
	set_contrasts(v, img, seed);
	for (size_t i = 0; i < v->ncalc; i++)
		if (draw(v, img, &v->calcs[i], v->calcs[i].contrast, 0) != 0)
			return -1;
	for (size_t i = 0; i < v->ndist; i++) {
		struct ph_distractor *d = &v->dist[i];
		if (d->kind == PH_D_BENIGN && draw(v, img, &d->shape, d->contrast, 1) != 0)
			return -1;
		if (d->kind == PH_D_NOISE)
			img[(size_t)d->v * v->w + (size_t)d->u] += (float)d->contrast;
	}
	return 0;
}

const char *
ph_shape_name(enum ph_shape s)
{
	static const char *names[] = {"punctate", "round",    "oval",  "irregular",
				      "linear",   "eggshell", "coarse"};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}
