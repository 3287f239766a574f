/* m3-mammo pipeline: the stages of one image in order, on the CPU or the GPU, timed. */
#include <stdlib.h>
#include <string.h>

#include "mammo.h"

void
mm_params_default(struct mm_params *p)
{
	memset(p, 0, sizeof(*p));
	p->threshold = 0.3;
	p->min_diam_mm = 0.1;
	p->max_diam_mm = 1.5;
	p->cluster_count = 3;
	p->cluster_area_mm2 = 100.0;
	p->cluster_support = 0.01;
	p->k_sigma = 2.0;
	p->k_peak = 2.75;
	p->skin_margin_mm = 1.5;
}

static int
run_cuda(struct mm_result *r, struct mm_work *wk, const struct mm_image *im,
	 const struct mm_mask *mk, const struct mm_params *p, struct m3_err *e)
{
	struct mm_cuda *g = NULL;
	double t;
	int rc;

	if ((rc = mm_cuda_open(&g, im->w, im->h, e)) != M3_OK)
		return rc;
	t = mm_now();
	mm_search_mask(wk->cmask, im, mk, p->skin_margin_mm);
	if ((rc = mm_cuda_enhance(g, wk, im, (float)p->k_sigma, e)) == M3_OK) {
		wk->noise_median = mm_noise_median(wk->noise, wk->cmask, im->w * im->h);
		r->t.enhance = mm_now() - t;
		t = mm_now();
		rc = mm_detect_bitmap(r, wk, im, p, e);
		r->t.detect = mm_now() - t;
	}
	if (rc == M3_OK) {
		t = mm_now();
		rc = mm_cuda_features(g, r, wk, im, mk, e);
		r->t.features = mm_now() - t;
	}
	mm_cuda_close(g);
	return rc;
}

static int
run_cpu(struct mm_result *r, struct mm_work *wk, const struct mm_image *im,
	const struct mm_mask *mk, const struct mm_params *p, struct m3_pool *pool, struct m3_err *e)
{
	double t = mm_now();
	int rc;

	if ((rc = mm_enhance_cpu(wk, im, mk, p, pool, e)) != M3_OK)
		return rc;
	r->t.enhance = mm_now() - t;
	t = mm_now();
	if ((rc = mm_detect(r, wk, im, p, e)) != M3_OK)
		return rc;
	r->t.detect = mm_now() - t;
	t = mm_now();
	mm_features_cpu(r, wk, im, mk, pool);
	r->t.features = mm_now() - t;
	return M3_OK;
}

int
mm_run(struct mm_result *r, const struct mm_image *im, const struct mm_params *p,
       const struct mm_model *m, int use_cuda, struct m3_pool *pool, struct mm_mask *mk,
       struct m3_err *e)
{
	struct mm_work wk;
	double t0 = mm_now(), t;
	int rc;

	memset(r, 0, sizeof(*r));
	r->device = use_cuda ? "cuda" : "cpu";
	if ((rc = mm_mask_build(mk, im, im->view, e)) != M3_OK)
		return rc;
	r->t.mask = mm_now() - t0;
	if ((rc = mm_work_alloc(&wk, im->w * im->h, e)) != M3_OK)
		return rc;
	rc = use_cuda ? run_cuda(r, &wk, im, mk, p, e) : run_cpu(r, &wk, im, mk, p, pool, e);
	mm_work_release(&wk);
	if (rc != M3_OK)
		return rc;
	t = mm_now();
	mm_classify(r, m, p, im);
	r->t.classify = mm_now() - t;
	t = mm_now();
	rc = mm_cluster(r, im, p, e);
	r->t.cluster = mm_now() - t;
	r->t.total = mm_now() - t0;
	return rc;
}

#ifndef M3_HAVE_CUDA
/* A build without nvcc: the GPU path is not there, and says so. */
int
mm_cuda_available(char *what, size_t n)
{
	snprintf(what, n, "this m3-mammo was built without CUDA (no nvcc)");
	return 0;
}

int
mm_cuda_open(struct mm_cuda **g, size_t w, size_t h, struct m3_err *e)
{
	(void)w;
	(void)h;
	*g = NULL;
	return m3_err_set(e, M3_EFAIL, "cuda: built without CUDA");
}

void
mm_cuda_close(struct mm_cuda *g)
{
	(void)g;
}

int
mm_cuda_enhance(struct mm_cuda *g, struct mm_work *wk, const struct mm_image *im, float k,
		struct m3_err *e)
{
	(void)k;
	(void)g;
	(void)wk;
	(void)im;
	return m3_err_set(e, M3_EFAIL, "cuda: built without CUDA");
}

int
mm_cuda_features(struct mm_cuda *g, struct mm_result *r, const struct mm_work *wk,
		 const struct mm_image *im, const struct mm_mask *mk, struct m3_err *e)
{
	(void)g;
	(void)r;
	(void)wk;
	(void)im;
	(void)mk;
	return m3_err_set(e, M3_EFAIL, "cuda: built without CUDA");
}
#endif
