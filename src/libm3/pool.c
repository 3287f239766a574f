/* Thread pool: workers sleep on a condition variable and take items from a shared counter. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "m3/cli.h"
#include "m3/pool.h"

struct m3_pool {
	pthread_mutex_t mu;
	pthread_cond_t wake, done;
	pthread_t *threads;
	unsigned nthreads, started;
	/* the job in progress */
	m3_pool_fn fn;
	void *ctx;
	size_t n, next;
	unsigned busy;
	unsigned long gen;
	int quit;
};

struct worker_arg {
	struct m3_pool *p;
	unsigned id;
};

/* Takes items until none is left; the mutex is held on entry and on return. */
static void
drain(struct m3_pool *p, unsigned id)
{
	while (p->next < p->n) {
		size_t item = p->next++;
		pthread_mutex_unlock(&p->mu);
		p->fn(p->ctx, item, id);
		pthread_mutex_lock(&p->mu);
	}
}

static void *
worker(void *arg)
{
	struct m3_pool *p = ((struct worker_arg *)arg)->p;
	unsigned id = ((struct worker_arg *)arg)->id;
	unsigned long seen = 0;

	free(arg);
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->quit && p->gen == seen)
			pthread_cond_wait(&p->wake, &p->mu);
		if (p->quit)
			break;
		seen = p->gen;
		p->busy++;
		drain(p, id);
		if (--p->busy == 0)
			pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct m3_pool *
m3_pool_new(unsigned nthreads, struct m3_err *e)
{
	struct m3_pool *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		m3_err_set(e, M3_ENOMEM, "out of memory");
		return NULL;
	}
	p->nthreads = nthreads == 0 ? m3_ncpu() : nthreads;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->wake, NULL);
	pthread_cond_init(&p->done, NULL);
	/* the caller's thread is worker 0, so n threads need n - 1 helpers */
	if (p->nthreads > 1 && (p->threads = calloc(p->nthreads - 1, sizeof(pthread_t))) == NULL) {
		m3_pool_free(p);
		m3_err_set(e, M3_ENOMEM, "out of memory");
		return NULL;
	}
	for (unsigned i = 1; i < p->nthreads; i++) {
		struct worker_arg *a = malloc(sizeof(*a));
		int rc;
		if (a == NULL) {
			m3_pool_free(p);
			m3_err_set(e, M3_ENOMEM, "out of memory");
			return NULL;
		}
		a->p = p;
		a->id = i;
		if ((rc = pthread_create(&p->threads[i - 1], NULL, worker, a)) != 0) {
			free(a);
			m3_pool_free(p);
			m3_err_set(e, M3_EFAIL, "cannot start thread %u: %s", i, strerror(rc));
			return NULL;
		}
		p->started++;
	}
	return p;
}

void
m3_pool_free(struct m3_pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = 1;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->started; i++)
		pthread_join(p->threads[i], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->wake);
	pthread_cond_destroy(&p->done);
	free(p->threads);
	free(p);
}

unsigned
m3_pool_size(const struct m3_pool *p)
{
	return p->nthreads;
}

void
m3_pool_run(struct m3_pool *p, m3_pool_fn fn, void *ctx, size_t n)
{
	if (n == 0)
		return;
	pthread_mutex_lock(&p->mu);
	p->fn = fn;
	p->ctx = ctx;
	p->n = n;
	p->next = 0;
	p->gen++;
	pthread_cond_broadcast(&p->wake);
	p->busy++;
	drain(p, 0);
	p->busy--;
	while (p->busy > 0)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
}
