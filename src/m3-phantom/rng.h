/* Seeded random numbers for m3-phantom: the same seed gives the same numbers on every run. */
#ifndef PH_RNG_H
#define PH_RNG_H

#include <stdint.h>

/* splitmix64: small, fast, and every stream is its own seed hashed with its purpose. */
struct ph_rng {
	uint64_t s;
	double spare;
	int has_spare;
};

/* A well-mixed hash of a and b: keys per view, per row, per slice. */
uint64_t ph_hash(uint64_t a, uint64_t b);
/* A stream for (seed, what, index), independent of how work is split between threads. */
void ph_rng_init(struct ph_rng *r, uint64_t seed, uint64_t what, uint64_t index);
uint64_t ph_rng_u64(struct ph_rng *r);
/* Uniform in [0, 1). */
double ph_rng_uni(struct ph_rng *r);
/* Uniform in [lo, hi). */
double ph_rng_range(struct ph_rng *r, double lo, double hi);
/* Uniform integer in [lo, hi]. */
int ph_rng_int(struct ph_rng *r, int lo, int hi);
/* Standard normal (polar method; the second value of each pair is kept for the next call). */
double ph_rng_normal(struct ph_rng *r);

/* Stream names for ph_rng_init. */
enum {
	PH_RNG_LAYOUT = 1,
	PH_RNG_FIELD,
	PH_RNG_NOISE,
	PH_RNG_CALC,
	PH_RNG_TEXTURE,
};

#endif
