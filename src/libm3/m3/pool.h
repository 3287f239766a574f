/* A small pthreads pool: a parallel for over item indices, shared by every tool. */
#ifndef M3_POOL_H
#define M3_POOL_H

#include <stddef.h>

#include "m3/err.h"

#ifdef __cplusplus
extern "C" {
#endif

struct m3_pool;

/* Called once per item; worker is 0..nthreads-1, for per-thread scratch space. */
typedef void (*m3_pool_fn)(void *ctx, size_t item, unsigned worker);

/* nthreads 0 means all online cores.  NULL (with e filled) when threads cannot start. */
struct m3_pool *m3_pool_new(unsigned nthreads, struct m3_err *e);
void m3_pool_free(struct m3_pool *p);
unsigned m3_pool_size(const struct m3_pool *p);
/* Runs fn for items 0..n-1 across the pool and returns when all are done.  Items are
 * handed out one at a time in order, so make an item a slice, not a voxel.  Not
 * reentrant: call from one thread at a time, never from inside fn. */
void m3_pool_run(struct m3_pool *p, m3_pool_fn fn, void *ctx, size_t n);

#ifdef __cplusplus
}
#endif

#endif
