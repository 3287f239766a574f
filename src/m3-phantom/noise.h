/* Power-law (1/f^beta) Gaussian random fields by spectral synthesis and a small FFT. */
#ifndef PH_NOISE_H
#define PH_NOISE_H

#include <stddef.h>
#include <stdint.h>

#include "m3/err.h"

/* In-place complex FFT of n (a power of two) interleaved float pairs; sign -1 forward, +1
 * inverse (unscaled).  tw holds n/2 twiddles from ph_fft_twiddles for the same n and sign. */
void ph_fft(float *c, size_t n, const float *tw);
void ph_fft_twiddles(float *tw, size_t n, int sign);

/* The spectrum's shape; frequencies in cycles per pixel. */
struct ph_field {
	double beta; /* power falls as 1 / f^beta */
	double f0; /* below this frequency the spectrum is flat */
	double aniso; /* > 1 stretches structures along x */
	double fcut; /* Gaussian roll-off above this frequency; 0 for none */
};

/*
 * Two independent zero-mean, unit-variance Gaussian fields of nx by ny (powers of two)
 * with power spectrum exp(-2 f^2 / fcut^2) / (f0^2 + (aniso fx)^2 + fy^2)^(beta/2): the
 * real parts of the returned buffer are one field, the imaginary parts the other, at
 * c[2 (y nx + x)] and c[2 (y nx + x) + 1].  The caller frees the buffer.
 */
float *ph_powerlaw(size_t nx, size_t ny, const struct ph_field *p, uint64_t seed, struct m3_err *e);

/* The smallest power of two >= n. */
size_t ph_pow2(size_t n);

#endif
