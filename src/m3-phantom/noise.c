/* Power-law noise: random complex spectrum shaped by f^(-beta/2), inverse 2D FFT, normalised. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "noise.h"
#include "rng.h"

#define COLBLOCK 16 /* columns copied out together, so a column pass reads whole cache lines */

size_t
ph_pow2(size_t n)
{
	size_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

void
ph_fft_twiddles(float *tw, size_t n, int sign)
{
	for (size_t k = 0; k < n / 2; k++) {
		double a = sign * 6.283185307179586 * (double)k / (double)n;
		tw[2 * k] = (float)cos(a);
		tw[2 * k + 1] = (float)sin(a);
	}
}

void
ph_fft(float *c, size_t n, const float *tw)
{
	/* bit reversal, then log2(n) passes of radix-2 butterflies */
	for (size_t i = 1, j = 0; i < n; i++) {
		size_t bit = n >> 1;
		for (; j & bit; bit >>= 1)
			j ^= bit;
		j |= bit;
		if (i < j) {
			float t0 = c[2 * i], t1 = c[2 * i + 1];
			c[2 * i] = c[2 * j];
			c[2 * i + 1] = c[2 * j + 1];
			c[2 * j] = t0;
			c[2 * j + 1] = t1;
		}
	}
	for (size_t len = 2; len <= n; len <<= 1) {
		size_t half = len / 2, step = n / len;
		for (size_t i = 0; i < n; i += len)
			for (size_t k = 0; k < half; k++) {
				float wr = tw[2 * k * step], wi = tw[2 * k * step + 1];
				float *a = c + 2 * (i + k), *b = c + 2 * (i + k + half);
				float br = b[0] * wr - b[1] * wi, bi = b[0] * wi + b[1] * wr;
				b[0] = a[0] - br;
				b[1] = a[1] - bi;
				a[0] += br;
				a[1] += bi;
			}
	}
}

static double
freq(size_t k, size_t n)
{
	return (k <= n / 2 ? (double)k : (double)k - (double)n) / (double)n;
}

/* Spectral synthesis with uniform (not Gaussian) coefficients of unit variance: each field
 * value sums millions of them, so it is Gaussian all the same, at a fraction of the cost. */
static double
amplitude(double q, double beta)
{
	return beta == 3.0 ? 1.0 / (sqrt(q) * sqrt(sqrt(q))) : pow(q, -beta / 4.0);
}

/* A Gaussian roll-off above fcut, so that the field has no detail finer than it. */
static double
rolloff(double f2, double fcut)
{
	return fcut > 0 ? exp(-f2 / (fcut * fcut)) : 1.0;
}

/* The shaped random spectrum; each row has its own stream, so the result never depends on
 * the order rows are made in. */
static void
spectrum(float *c, size_t nx, size_t ny, const struct ph_field *p, uint64_t seed)
{
	const double k = 3.4641016151377544 / 4294967296.0; /* 2 sqrt(3) / 2^32 */

	for (size_t y = 0; y < ny; y++) {
		struct ph_rng r;
		double fy = freq(y, ny);
		ph_rng_init(&r, seed, PH_RNG_FIELD, y);
		for (size_t x = 0; x < nx; x++) {
			double fx = p->aniso * freq(x, nx), f2 = fx * fx + fy * fy;
			double a = amplitude(p->f0 * p->f0 + f2, p->beta) * rolloff(f2, p->fcut);
			uint64_t u = ph_rng_u64(&r);
			c[2 * (y * nx + x)] =
				(float)(a * ((double)(u >> 32) * k - 1.7320508075688772));
			c[2 * (y * nx + x) + 1] =
				(float)(a * ((double)(u & 0xffffffffU) * k - 1.7320508075688772));
		}
	}
	c[0] = c[1] = 0; /* zero mean */
}

static void
fft2(float *c, size_t nx, size_t ny, float *tw, float *col)
{
	ph_fft_twiddles(tw, nx, 1);
	for (size_t y = 0; y < ny; y++)
		ph_fft(c + 2 * y * nx, nx, tw);
	ph_fft_twiddles(tw, ny, 1);
	for (size_t x0 = 0; x0 < nx; x0 += COLBLOCK) {
		size_t nb = nx - x0 < COLBLOCK ? nx - x0 : COLBLOCK;
		for (size_t y = 0; y < ny; y++)
			for (size_t b = 0; b < nb; b++) {
				col[2 * (b * ny + y)] = c[2 * (y * nx + x0 + b)];
				col[2 * (b * ny + y) + 1] = c[2 * (y * nx + x0 + b) + 1];
			}
		for (size_t b = 0; b < nb; b++)
			ph_fft(col + 2 * b * ny, ny, tw);
		for (size_t y = 0; y < ny; y++)
			for (size_t b = 0; b < nb; b++) {
				c[2 * (y * nx + x0 + b)] = col[2 * (b * ny + y)];
				c[2 * (y * nx + x0 + b) + 1] = col[2 * (b * ny + y) + 1];
			}
	}
}

/* Scales each of the two fields to unit variance over the whole period. */
static void
normalise(float *c, size_t n)
{
	double s[2] = {0, 0};

	for (size_t i = 0; i < n; i++) {
		s[0] += (double)c[2 * i] * c[2 * i];
		s[1] += (double)c[2 * i + 1] * c[2 * i + 1];
	}
	for (int k = 0; k < 2; k++)
		s[k] = s[k] > 0 ? 1.0 / sqrt(s[k] / (double)n) : 0;
	for (size_t i = 0; i < n; i++) {
		c[2 * i] = (float)(c[2 * i] * s[0]);
		c[2 * i + 1] = (float)(c[2 * i + 1] * s[1]);
	}
}

float *
ph_powerlaw(size_t nx, size_t ny, const struct ph_field *p, uint64_t seed, struct m3_err *e)
{
	size_t nmax = nx > ny ? nx : ny;
	float *c, *tw, *col;

	if (nx == 0 || ny == 0 || ph_pow2(nx) != nx || ph_pow2(ny) != ny ||
	    nx > SIZE_MAX / 8 / ny) {
		m3_err_set(e, M3_EFAIL, "noise field: bad size");
		return NULL;
	}
	c = malloc(nx * ny * 2 * sizeof(float));
	tw = malloc(nmax * sizeof(float));
	col = malloc(COLBLOCK * ny * 2 * sizeof(float));
	if (c == NULL || tw == NULL || col == NULL) {
		free(c);
		free(tw);
		free(col);
		m3_err_set(e, M3_ENOMEM, "out of memory");
		return NULL;
	}
	spectrum(c, nx, ny, p, seed);
	fft2(c, nx, ny, tw, col);
	normalise(c, nx * ny);
	free(tw);
	free(col);
	return c;
}
