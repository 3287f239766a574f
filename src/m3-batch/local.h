/* m3-batch: the local scheduler (-j N). */
#ifndef M3_BATCH_LOCAL_H
#define M3_BATCH_LOCAL_H

#include "batch.h"

struct local_opts {
	unsigned jobs;
	int progress, quiet, verbose;
	long retries;
};

/* Runs the studies m->v[todo[i]], each runner's exit in rcs[i] (-1: not run); 0, or 128+N
 * when stopped by signal N. */
int local_run(const struct batch *b, const struct manifest *m, const size_t *todo, size_t ntodo,
	      const struct local_opts *o, int *rcs);

#endif
