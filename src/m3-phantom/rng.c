/* Seeded random numbers: splitmix64 streams keyed by seed, purpose and index. */
#include <math.h>

#include "rng.h"

static uint64_t
mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t
ph_hash(uint64_t a, uint64_t b)
{
	return mix(mix(a + 0x9e3779b97f4a7c15ULL) ^ (b + 0x632be59bd9b4e019ULL));
}

void
ph_rng_init(struct ph_rng *r, uint64_t seed, uint64_t what, uint64_t index)
{
	r->s = ph_hash(ph_hash(seed, what), index);
	r->has_spare = 0;
	r->spare = 0;
}

uint64_t
ph_rng_u64(struct ph_rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return mix(r->s);
}

double
ph_rng_uni(struct ph_rng *r)
{
	return (double)(ph_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

double
ph_rng_range(struct ph_rng *r, double lo, double hi)
{
	return lo + (hi - lo) * ph_rng_uni(r);
}

int
ph_rng_int(struct ph_rng *r, int lo, int hi)
{
	return lo + (int)(ph_rng_uni(r) * (double)(hi - lo + 1));
}

double
ph_rng_normal(struct ph_rng *r)
{
	double u, v, s;

	if (r->has_spare) {
		r->has_spare = 0;
		return r->spare;
	}
	do { /* Marsaglia's polar method: no sin or cos */
		u = 2 * ph_rng_uni(r) - 1;
		v = 2 * ph_rng_uni(r) - 1;
		s = u * u + v * v;
	} while (s >= 1 || s == 0);
	s = sqrt(-2 * log(s) / s);
	r->spare = v * s;
	r->has_spare = 1;
	return u * s;
}
