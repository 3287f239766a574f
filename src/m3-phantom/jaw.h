/* The dental CBCT phantom: a jaw in nominal millimetres (LPS, 100 x 100 x 75 mm field). */
#ifndef PH_JAW_H
#define PH_JAW_H

#include <stddef.h>
#include <stdint.h>

#define PH_JAW_NTOOTH 14 /* per jaw: central incisor to second molar, both sides */
#define PH_JAW_NFILL 4
#define PH_ARCH_N 1024

/* Labels of the truth volume. */
enum { PH_L_AIR, PH_L_BONE, PH_L_TEETH, PH_L_SOFT };

struct ph_tooth {
	double phi; /* position on the arch */
	double cx, cy; /* centre (mm) */
	double tx, ty; /* unit tangent (mesio-distal axis) */
	double ha, hb; /* crown semi-axes: mesio-distal, bucco-lingual */
	double hc, lr; /* crown height, root length */
	double cej; /* z of the cemento-enamel junction */
	double enamel; /* enamel thickness */
	int roots; /* 1 or 2 */
	int missing, filled; /* filled: a metal filling in the crown */
	int fdi; /* FDI tooth number */
};

struct ph_jaw {
	uint64_t seed;
	double A, B, yc, phim; /* the arch: (A sin phi, yc - B cos phi), |phi| <= phim */
	double arch[PH_ARCH_N + 1][2];
	struct ph_tooth lower[PH_JAW_NTOOTH], upper[PH_JAW_NTOOTH];
	int artefacts;
	double fill[2 * PH_JAW_NTOOTH][4]; /* x, y, zlo, zhi of each filling */
	int nfill;
	double streak[PH_JAW_NFILL * 2][8][2]; /* per filling: angle, amplitude */
};

/* What a pixel's column of the phantom shares at every z. */
struct ph_col {
	double x, y; /* nominal mm */
	double dn, dt; /* from the arch centre line: normal (buccal +), beyond its ends */
	double phi; /* nearest point on the arch */
	int kl, ku; /* nearest lower and upper tooth */
	double head; /* (x/rx)^2 + (y/ry)^2 of the head outline at its widest */
	int inside_u; /* lingual of the arch: the palate's side */
};

void ph_jaw_init(struct ph_jaw *j, uint64_t seed, int artefacts);
void ph_jaw_column(const struct ph_jaw *j, double x, double y, struct ph_col *c);
/* Label and Hounsfield units of the point (c's x, y, z), before noise and artefacts. */
int ph_jaw_eval(const struct ph_jaw *j, const struct ph_col *c, double z, double *hu);
/* Streaks and beam hardening from metal fillings near height z, in HU, at (x, y). */
double ph_jaw_artefact(const struct ph_jaw *j, const struct ph_col *c, double z);

#endif
