/* The jaw: mandible and maxilla with cortex and trabeculae, teeth with enamel, dentin and pulp. */
#include <math.h>
#include <string.h>

#include "jaw.h"
#include "phantom.h"
#include "rng.h"

#define OCCLUSAL_GAP 0.3
#define MAND_BOTTOM (-34.0)
#define MAX_TOP 26.0

/* Mesio-distal widths, bucco-lingual widths, crown heights, root lengths (mm), from the
 * central incisor back; textbook averages. */
static const double lower_w[7] = {5.0, 5.5, 7.0, 7.0, 7.0, 11.0, 10.5};
static const double lower_bl[7] = {6.0, 6.0, 7.5, 7.5, 8.0, 10.5, 10.0};
static const double lower_hc[7] = {9.0, 9.5, 11.0, 8.5, 8.0, 7.5, 7.0};
static const double lower_lr[7] = {12.5, 13.5, 16.0, 14.0, 14.5, 14.0, 13.0};
static const double upper_w[7] = {8.5, 6.5, 7.5, 7.0, 6.5, 10.0, 9.0};
static const double upper_bl[7] = {7.0, 6.0, 8.0, 9.0, 9.0, 11.0, 10.5};
static const double upper_hc[7] = {10.5, 9.0, 10.0, 8.5, 8.0, 7.5, 7.0};
static const double upper_lr[7] = {13.0, 13.0, 17.0, 14.0, 14.0, 13.0, 13.0};

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

static double
sq(double x)
{
	return x * x;
}

static void
arch_point(const struct ph_jaw *j, double phi, double *x, double *y)
{
	*x = j->A * sin(phi);
	*y = j->yc - j->B * cos(phi);
}

/* The arch parameter at arc length s from the midline, by the sampled table. */
static double
arch_phi_at(const struct ph_jaw *j, const double *len, double s)
{
	for (int i = 1; i <= PH_ARCH_N / 2; i++)
		if (len[i] >= s) {
			double f = (s - len[i - 1]) / (len[i] - len[i - 1]);
			return j->phim * ((i - 1 + f) / (PH_ARCH_N / 2));
		}
	return j->phim;
}

static void
place_teeth(struct ph_jaw *j, struct ph_tooth *t, const double *w, const double *bl,
	    const double *hc, const double *lr, int upper, struct ph_rng *r)
{
	double len[PH_ARCH_N / 2 + 1], sum = 0, k, s = 0;

	len[0] = 0;
	for (int i = 1; i <= PH_ARCH_N / 2; i++) {
		double x0, y0, x1, y1;
		arch_point(j, j->phim * (i - 1) / (PH_ARCH_N / 2), &x0, &y0);
		arch_point(j, j->phim * i / (PH_ARCH_N / 2), &x1, &y1);
		len[i] = len[i - 1] + hypot(x1 - x0, y1 - y0);
	}
	for (int i = 0; i < 7; i++)
		sum += w[i];
	k = (len[PH_ARCH_N / 2] - 7.0) / sum; /* room behind the last molar for the ramus */
	for (int i = 0; i < 7; i++) {
		double phi = arch_phi_at(j, len, s + k * w[i] / 2);
		s += k * w[i];
		for (int side = 0; side < 2; side++) {
			struct ph_tooth *d = &t[side ? 7 + i : 6 - i];
			double p = side ? phi : -phi, nx, ny, tl;
			arch_point(j, p, &d->cx, &d->cy);
			d->tx = j->A * cos(p);
			d->ty = j->B * sin(p);
			tl = hypot(d->tx, d->ty);
			d->tx /= tl;
			d->ty /= tl;
			nx = d->ty; /* outward normal */
			ny = -d->tx;
			d->cx += (upper ? 0.8 : 0) * nx;
			d->cy += (upper ? 0.8 : 0) * ny;
			d->phi = p;
			d->ha = k * w[i] * 0.46;
			d->hb = bl[i] * 0.5 * 0.72;
			d->hc = hc[i] * 0.85;
			d->lr = lr[i] * 0.85;
			d->cej = upper ? OCCLUSAL_GAP + d->hc : -OCCLUSAL_GAP - d->hc;
			d->enamel = i < 3 ? 0.8 : 1.1;
			d->roots = i >= 5 ? 2 : 1;
			/* FDI: quadrants 1 upper right, 2 upper left, 3 lower left, 4 lower right;
			 * patient's right is -x in LPS */
			d->fdi = (upper ? (side ? 20 : 10) : (side ? 30 : 40)) + i + 1;
			d->missing = ph_rng_uni(r) < 0.04;
			d->filled = i >= 3 && ph_rng_uni(r) < 0.25;
		}
	}
}

void
ph_jaw_init(struct ph_jaw *j, uint64_t seed, int artefacts)
{
	struct ph_rng r;

	memset(j, 0, sizeof(*j));
	ph_rng_init(&r, seed, PH_RNG_LAYOUT, 500);
	j->seed = seed;
	j->artefacts = artefacts;
	j->A = 24 * ph_rng_range(&r, 0.95, 1.05);
	j->B = 28 * ph_rng_range(&r, 0.95, 1.05);
	j->yc = 6;
	j->phim = 1.75;
	for (int i = 0; i <= PH_ARCH_N; i++)
		arch_point(j, j->phim * (2.0 * i / PH_ARCH_N - 1), &j->arch[i][0], &j->arch[i][1]);
	place_teeth(j, j->lower, lower_w, lower_bl, lower_hc, lower_lr, 0, &r);
	place_teeth(j, j->upper, upper_w, upper_bl, upper_hc, upper_lr, 1, &r);
	for (int u = 0; u < 2; u++)
		for (int i = 0; i < PH_JAW_NTOOTH; i++) {
			struct ph_tooth *t = u ? &j->upper[i] : &j->lower[i];
			if (!artefacts || !t->filled || t->missing ||
			    j->nfill >= PH_JAW_NFILL * 2) {
				t->filled = 0;
				continue;
			}
			j->fill[j->nfill][0] = t->cx;
			j->fill[j->nfill][1] = t->cy;
			j->fill[j->nfill][2] = u ? OCCLUSAL_GAP : t->cej + 0.55 * t->hc;
			j->fill[j->nfill][3] = u ? t->cej - 0.55 * t->hc : -OCCLUSAL_GAP;
			for (int k = 0; k < 8; k++) {
				j->streak[j->nfill][k][0] = ph_rng_range(&r, 0, PH_PI);
				j->streak[j->nfill][k][1] =
					(k % 2 ? -1 : 1) * ph_rng_range(&r, 150, 450);
			}
			j->nfill++;
		}
}

/* The nearest point of the arch: coarse search on the table, then a local refinement. */
void
ph_jaw_column(const struct ph_jaw *j, double x, double y, struct ph_col *c)
{
	int best = 0, lo, hi;
	double bd = 1e30, phi, px, py, tx, ty, tl;

	c->x = x;
	c->y = y;
	for (int i = 0; i <= PH_ARCH_N; i += 16) {
		double d = sq(j->arch[i][0] - x) + sq(j->arch[i][1] - y);
		if (d < bd) {
			bd = d;
			best = i;
		}
	}
	lo = best - 16 < 0 ? 0 : best - 16;
	hi = best + 16 > PH_ARCH_N ? PH_ARCH_N : best + 16;
	for (int i = lo; i <= hi; i++) {
		double d = sq(j->arch[i][0] - x) + sq(j->arch[i][1] - y);
		if (d < bd) {
			bd = d;
			best = i;
		}
	}
	phi = j->phim * (2.0 * best / PH_ARCH_N - 1);
	arch_point(j, phi, &px, &py);
	tx = j->A * cos(phi);
	ty = j->B * sin(phi);
	tl = hypot(tx, ty);
	tx /= tl;
	ty /= tl;
	c->phi = phi;
	c->dn = (x - px) * ty - (y - py) * tx;
	c->dt = (best == 0 || best == PH_ARCH_N) ? fabs((x - px) * tx + (y - py) * ty) : 0;
	c->kl = c->ku = 0;
	for (int i = 1; i < PH_JAW_NTOOTH; i++) {
		if (fabs(j->lower[i].phi - phi) < fabs(j->lower[c->kl].phi - phi))
			c->kl = i;
		if (fabs(j->upper[i].phi - phi) < fabs(j->upper[c->ku].phi - phi))
			c->ku = i;
	}
	c->head = sq(x / 46.0) + sq((y - 2.0) / 46.0);
	c->inside_u = c->dn < 0 && c->dt == 0 && y < j->yc + 4;
}

/* 3D value noise in [0, 1) on a lattice of 1 mm, smoothly interpolated. */
static double
lattice(uint64_t seed, long x, long y, long z)
{
	uint64_t h = ph_hash(ph_hash(seed, (uint64_t)x), ph_hash((uint64_t)y, (uint64_t)z));

	return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

static double
vnoise(uint64_t seed, double x, double y, double z)
{
	double fx = floor(x), fy = floor(y), fz = floor(z), v = 0;
	double ax = smoothstep(0, 1, x - fx), ay = smoothstep(0, 1, y - fy),
	       az = smoothstep(0, 1, z - fz);

	for (int k = 0; k < 8; k++) {
		double w = (k & 1 ? ax : 1 - ax) * (k & 2 ? ay : 1 - ay) * (k & 4 ? az : 1 - az);
		v += w * lattice(seed, (long)fx + (k & 1), (long)fy + (k >> 1 & 1),
				 (long)fz + (k >> 2 & 1));
	}
	return v;
}

/* Trabecular bone: plates where the noise crosses its middle, marrow between them. */
static double
trabecular(const struct ph_jaw *j, double x, double y, double z)
{
	double n = vnoise(j->seed, x / 1.1, y / 1.1, z / 1.1);

	return 180 + 650 * exp(-sq((n - 0.5) / 0.07));
}

/* A superellipse cross-section: < 1 inside. */
static double
superq(double a, double ra, double b, double rb)
{
	return sq(sq(a / ra)) + sq(sq(b / rb));
}

/* Bone: 0 none, 1 cortical, 2 trabecular. */
static int
mandible(const struct ph_col *c, double z)
{
	double crest = -OCCLUSAL_GAP - 8.5, zm, hh, w;

	if (z < MAND_BOTTOM || z > 28)
		return 0;
	if (c->dt > 0) { /* the ramus, behind the last molar, up to the joint */
		zm = (MAND_BOTTOM + 28) / 2;
		hh = (28 - MAND_BOTTOM) / 2;
		double e = sq((c->dt - 5) / 7) + sq(c->dn / 3.5); /* an oval plate */
		if (e >= 1 || superq(0, 1, z - zm, hh) >= 1)
			return 0;
		return e > sq(1 - 1.5 / 3.5) || superq(0, 1, z - zm, hh - 1.5) >= 1 ? 1 : 2;
	}
	if (z > crest)
		return 0;
	zm = (MAND_BOTTOM + crest) / 2;
	hh = (crest - MAND_BOTTOM) / 2;
	w = 4.0 + 1.5 * clampd((crest - z) / 12, 0, 1);
	if (superq(c->dn, w, z - zm, hh) >= 1)
		return 0;
	return superq(c->dn, w - 1.8, z - zm, hh - 1.6) >= 1 ? 1 : 2;
}

static int
maxilla(const struct ph_jaw *j, const struct ph_col *c, double z)
{
	double crest = OCCLUSAL_GAP + 8.5, zm = (crest + MAX_TOP) / 2, hh = (MAX_TOP - crest) / 2,
	       w;

	if (z < crest || z > MAX_TOP)
		return 0;
	if (c->inside_u && fabs(c->phi) < j->phim - 0.3 && z > MAX_TOP - 6) /* the palate */
		return z < MAX_TOP - 4.8 || z > MAX_TOP - 1.2 ? 1 : 2;
	if (c->dt > 0 || fabs(c->phi) > j->phim - 0.12)
		return 0;
	w = 4.5 + 2.0 * clampd((z - crest) / 10, 0, 1);
	if (superq(c->dn - 0.8, w, z - zm, hh) >= 1)
		return 0;
	return superq(c->dn - 0.8, w - 1.3, z - zm, hh - 1.3) >= 1 ? 1 : 2;
}

/* The maxillary sinuses: air in a thin bony shell. 0 none, 1 wall, 2 air. */
static int
sinus(const struct ph_col *c, double z)
{
	for (int s = -1; s <= 1; s += 2) {
		double q = sq((c->x - s * 21) / 10) + sq((c->y - 4) / 13) + sq((z - 34) / 10);
		if (q < 1)
			return 2;
		if (q < sq(1 + 1.0 / 10))
			return 1;
	}
	return 0;
}

enum { T_NONE, T_ENAMEL, T_DENTIN, T_PULP, T_PDL, T_METAL };

/* One root: an ellipse at offset off along the tooth, tapering to a rounded apex at s = 1. */
static int
root(const struct ph_tooth *t, double a, double b, double s, double off, double fa)
{
	double g = 0.8 * (1 - 0.7 * pow(s, 1.5)), ra, rb, rc;

	if (s > 0.85)
		g *= sqrt(fmax(0, 1 - sq((s - 0.85) / 0.15)));
	ra = t->ha * fa * g;
	rb = t->hb * g;
	if (ra <= 0 || rb <= 0)
		return T_NONE;
	rc = fmin(0.4, 0.3 * fmin(ra, rb));
	if (sq(a - off) + sq(b) < sq(rc) && s < 0.97)
		return T_PULP;
	if (sq((a - off) / ra) + sq(b / rb) < 1)
		return T_DENTIN;
	if (sq((a - off) / (ra + 0.25)) + sq(b / (rb + 0.25)) < 1)
		return T_PDL;
	return T_NONE;
}

static int
crown(const struct ph_tooth *t, double a, double b, double h)
{
	double f = 0.85 + 0.15 * smoothstep(0, 0.4 * t->hc, h), te, q;

	if (h > 0.7 * t->hc)
		f *= sqrt(fmax(0, 1 - sq((h - 0.7 * t->hc) / (0.3 * t->hc))));
	if (f <= 0)
		return T_NONE;
	q = sq(a / (t->ha * f)) + sq(b / (t->hb * f));
	if (q >= 1)
		return T_NONE;
	if (t->filled && h > 0.55 * t->hc && q < 0.25)
		return T_METAL;
	if (h < 0.55 * t->hc && sq(a / (0.3 * t->ha)) + sq(b / (0.3 * t->hb)) < 1)
		return T_PULP;
	te = t->enamel * smoothstep(0, 0.35 * t->hc, h);
	if (h < t->hc - te && sq(a / (t->ha * f - te)) + sq(b / (t->hb * f - te)) < 1)
		return T_DENTIN;
	return T_ENAMEL;
}

/* The tissue of tooth t at (x, y, z); up is 1 for the upper jaw. */
static int
tooth(const struct ph_tooth *t, double x, double y, double z, int up)
{
	double a = (x - t->cx) * t->tx + (y - t->cy) * t->ty;
	double b = -(x - t->cx) * t->ty + (y - t->cy) * t->tx;
	double h = up ? t->cej - z : z - t->cej, s;
	int m, n;

	if (t->missing || fabs(a) > t->ha + 0.5 || fabs(b) > t->hb + 0.5)
		return T_NONE;
	if (h >= 0)
		return h <= t->hc ? crown(t, a, b, h) : T_NONE;
	s = -h / t->lr;
	if (s > 1)
		return T_NONE;
	if (t->roots == 1 || s < 0.25)
		return root(t, a, b, s, 0, 1);
	m = root(t, a, b, s, -0.45 * t->ha * (1 + 0.4 * (s - 0.25)), 0.45);
	n = root(t, a, b, s, 0.45 * t->ha * (1 + 0.4 * (s - 0.25)), 0.45);
	return m == T_NONE || m == T_PDL ? (n == T_NONE ? m : n) : m;
}

static int
teeth(const struct ph_jaw *j, const struct ph_col *c, double z)
{
	const struct ph_tooth *set = z < 0 ? j->lower : j->upper;
	int k = z < 0 ? c->kl : c->ku, best = T_NONE;

	for (int i = k - 1; i <= k + 1; i++) {
		int m;
		if (i < 0 || i >= PH_JAW_NTOOTH)
			continue;
		m = tooth(&set[i], c->x, c->y, z, z >= 0);
		if (m != T_NONE && (best == T_NONE || best == T_PDL))
			best = m;
	}
	return best;
}

int
ph_jaw_eval(const struct ph_jaw *j, const struct ph_col *c, double z, double *hu)
{
	double head = c->head / sq(1 - 0.25 * smoothstep(-15, 5, -z - 15));
	int label = PH_L_AIR, b, t;

	*hu = -1000;
	if (head >= 1)
		return label;
	label = PH_L_SOFT;
	*hu = 40;
	if ((sq(c->x / 8) + sq((c->y - 30) / 5) < 1 && z < 22) ||
	    (sq(c->x / 7) + sq((c->y + 2) / 20) + sq((z - 36) / 9) < 1)) { /* airway, nose */
		*hu = -1000;
		return PH_L_AIR;
	}
	if ((b = sinus(c, z)) == 2) {
		*hu = -1000;
		return PH_L_AIR;
	}
	if (b == 0)
		b = mandible(c, z);
	if (b == 0)
		b = maxilla(j, c, z);
	if (b != 0) {
		label = PH_L_BONE;
		*hu = b == 1 ? 1500 : trabecular(j, c->x, c->y, z);
	}
	t = teeth(j, c, z);
	switch (t) {
	case T_ENAMEL:
		*hu = 2800;
		return PH_L_TEETH;
	case T_DENTIN:
		*hu = 1700;
		return PH_L_TEETH;
	case T_PULP:
		*hu = 60;
		return PH_L_TEETH;
	case T_METAL:
		*hu = 3071;
		return PH_L_TEETH;
	case T_PDL:
		if (label == PH_L_BONE) {
			*hu = 120;
			return PH_L_SOFT;
		}
		break;
	}
	return label;
}

static double
line_dist(double px, double py, double ax, double ay, double ang)
{
	return fabs((px - ax) * sin(ang) - (py - ay) * cos(ang));
}

double
ph_jaw_artefact(const struct ph_jaw *j, const struct ph_col *c, double z)
{
	double v = 0;

	if (!j->artefacts || c->head >= 1.2)
		return 0;
	v -= 60 * fmax(0, 1 - c->head); /* cupping: beam hardening through the whole head */
	for (int f = 0; f < j->nfill; f++) {
		const double *p = j->fill[f];
		double r;
		if (z < p[2] - 1 || z > p[3] + 1)
			continue;
		r = hypot(c->x - p[0], c->y - p[1]);
		for (int k = 0; k < 8; k++) {
			double d = line_dist(c->x, c->y, p[0], p[1], j->streak[f][k][0]);
			v += j->streak[f][k][1] * exp(-sq(d) / 0.7) * exp(-r / 40) *
			     smoothstep(0.5, 3, r);
		}
		for (int g = f + 1; g < j->nfill; g++) { /* dark band between two fillings */
			const double *q = j->fill[g];
			double dx = q[0] - p[0], dy = q[1] - p[1], l2 = dx * dx + dy * dy, t, d;
			if (z < q[2] - 1 || z > q[3] + 1 || l2 <= 0)
				continue;
			t = clampd(((c->x - p[0]) * dx + (c->y - p[1]) * dy) / l2, 0, 1);
			d = hypot(c->x - p[0] - t * dx, c->y - p[1] - t * dy);
			v -= 350 * exp(-sq(d) / 4.5);
		}
	}
	return v;
}
