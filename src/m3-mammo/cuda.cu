/* m3-mammo CUDA path: enhancement, the candidate test and the candidates' sums on the GPU,
 * with the per-element math of mmath.h, so results match the CPU's (see man page). */
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mammo.h"

struct mm_cuda {
	size_t w, h;
	float *px, *enh, *noise, *tmp, *tmp2;
	unsigned char *cmask;
	int *lab;
};

static int
cerr(cudaError_t rc, const char *what, struct m3_err *e)
{
	if (rc == cudaSuccess)
		return M3_OK;
	return m3_err_set(e, M3_EFAIL, "cuda: %s: %s", what, cudaGetErrorString(rc));
}

__device__ static inline size_t
clampi(long i, size_t n)
{
	return i < 0 ? 0 : (size_t)i >= n ? n - 1 : (size_t)i;
}

/* The same running sums as enhance.c, one thread per row or column. */
__global__ static void
k_row_box(const float *s, float *d, size_t w, size_t h, size_t r)
{
	size_t y = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
	if (y >= h)
		return;
	s += y * w;
	d += y * w;
	double acc = 0, inv = 1.0 / (double)(2 * r + 1);
	for (long k = -(long)r; k <= (long)r; k++)
		acc += s[clampi(k, w)];
	for (size_t x = 0; x < w; x++) {
		d[x] = (float)(acc * inv);
		acc += __fsub_rn(s[clampi((long)(x + r + 1), w)], s[clampi((long)x - (long)r, w)]);
	}
}

__global__ static void
k_col_box(const float *s, float *d, size_t w, size_t h, size_t r)
{
	size_t x = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
	if (x >= w)
		return;
	double acc = 0;
	float inv = 1.0f / (float)(2 * r + 1);
	for (long k = -(long)r; k <= (long)r; k++)
		acc += s[clampi(k, h) * w + x];
	for (size_t y = 0; y < h; y++) {
		d[y * w + x] = __fmul_rn((float)acc, inv);
		acc += __fsub_rn(s[clampi((long)(y + r + 1), h) * w + x],
				 s[clampi((long)y - (long)r, h) * w + x]);
	}
}

/* The spot kernel along rows (step 1) or columns (step w), borders clamped. */
__global__ static void
k_conv(const float *s, float *d, size_t w, size_t h, int down, struct mm_consts K)
{
	size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
	if (i >= w * h)
		return;
	size_t x = i % w, y = i / w;
	if (down)
		d[i] = mm_conv_at(s + x, (long)w, (long)h, (long)y, K.k, K.r);
	else
		d[i] = mm_conv_at(s + y * w, 1, (long)w, (long)x, K.k, K.r);
}

__global__ static void
k_hess(const float *s, const float *px, float *blob, float *hp, size_t w, size_t h)
{
	size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
	if (i >= w * h)
		return;
	size_t x = i % w, y = i / w;
	size_t l = x > 0 ? x - 1 : 0, r = x + 1 < w ? x + 1 : w - 1;
	size_t u = clampi((long)y - 1, h) * w, m = y * w, dn = clampi((long)y + 1, h) * w;
	float hxx, hyy, hxy;
	mm_hessian(s[u + l], s[u + x], s[u + r], s[m + l], s[m + x], s[m + r], s[dn + l], s[dn + x],
		   s[dn + r], &hxx, &hyy, &hxy);
	blob[i] = mm_blob(hxx, hyy, hxy);
	hp[i] = mm_highpass(px[u + l], px[u + x], px[u + r], px[m + l], px[m + x], px[m + r],
			    px[dn + l], px[dn + x], px[dn + r]);
}

/* The coarse cells' means of the residual and the response, summed in the CPU's order. */
__global__ static void
k_cells(const float *hp, const float *blob, float *chp, float *cb, size_t w, size_t h,
	struct mm_consts K)
{
	size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
	if (i >= K.cw * K.ch)
		return;
	size_t cx = i % K.cw, cy = i / K.cw, f = K.f;
	size_t x0 = cx * f, y0 = cy * f, y1 = y0 + f < h ? y0 + f : h;
	size_t nx = mm_cell_count(w, f, cx);
	float a = 0.0f, b = 0.0f, n = (float)(nx * (y1 - y0));
	for (size_t y = y0; y < y1; y++)
		for (size_t x = x0; x < x0 + nx; x++) {
			a = MM_ADD(a, hp[y * w + x]);
			b = MM_ADD(b, blob[y * w + x]);
		}
	chp[i] = a / n;
	cb[i] = b / n;
}

__global__ static void
k_noise_cand(const float *chp, const float *cb, const float *enh, const unsigned char *cm,
	     float *noise, float *qn, int *lab, size_t w, size_t h, struct mm_consts K, float floor,
	     float k)
{
	size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
	if (i >= w * h)
		return;
	size_t c = (i / w / K.f) * K.cw + (i % w) / K.f;
	float q, s = mm_noise2(chp[c], cb[c], K.cq, K.ct, floor, &q);
	noise[i] = s;
	qn[i] = q;
	lab[i] = mm_is_candidate(enh[i], s, k, cm[i]);
}

__global__ static void
k_sums(const float *px, const float *enh, const float *noise, const float *qn, const int *lab,
       int w, int h, const int *box, int n, int hw, struct mm_consts K, struct mm_sums *out,
       int *peak)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= n)
		return;
	const int *b = box + 4 * i;
	mm_cand_sums(px, enh, noise, qn, lab, w, h, i + 1, b[0], b[1], b[2], b[3], hw, K.k, K.r,
		     &out[i], &peak[i]);
}

extern "C" int
mm_cuda_available(char *what, size_t n)
{
	int count = 0;
	cudaError_t rc = cudaGetDeviceCount(&count);
	cudaDeviceProp prop;

	if (rc != cudaSuccess) {
		snprintf(what, n, "no CUDA device (%s)", cudaGetErrorString(rc));
		return 0;
	}
	if (count == 0) {
		snprintf(what, n, "no CUDA device");
		return 0;
	}
	if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) {
		snprintf(what, n, "CUDA device 0 cannot be queried");
		return 0;
	}
	snprintf(what, n, "%s", prop.name);
	return 1;
}

extern "C" int
mm_cuda_open(struct mm_cuda **gp, size_t w, size_t h, struct m3_err *e)
{
	struct mm_cuda *g = (struct mm_cuda *)calloc(1, sizeof(*g));
	size_t n = w * h;
	int rc = M3_OK;

	*gp = g;
	if (g == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	g->w = w;
	g->h = h;
	float **bufs[] = {&g->px, &g->enh, &g->noise, &g->tmp, &g->tmp2};
	for (int i = 0; i < 5 && rc == M3_OK; i++)
		rc = cerr(cudaMalloc((void **)bufs[i], n * sizeof(float)), "cudaMalloc", e);
	if (rc == M3_OK)
		rc = cerr(cudaMalloc((void **)&g->cmask, n), "cudaMalloc", e);
	if (rc == M3_OK)
		rc = cerr(cudaMalloc((void **)&g->lab, n * sizeof(int)), "cudaMalloc", e);
	return rc;
}

extern "C" void
mm_cuda_close(struct mm_cuda *g)
{
	if (g == NULL)
		return;
	cudaFree(g->px);
	cudaFree(g->enh);
	cudaFree(g->noise);
	cudaFree(g->tmp);
	cudaFree(g->tmp2);
	cudaFree(g->cmask);
	cudaFree(g->lab);
	free(g);
}

#define T 256
#define BLOCKS(n) (unsigned)(((n) + T - 1) / T)

extern "C" int
mm_cuda_enhance(struct mm_cuda *g, struct mm_work *wk, const struct mm_image *im, float k,
		struct m3_err *e)
{
	size_t w = im->w, h = im->h, n = w * h;
	struct mm_consts K;
	float floor = (im->vmax - im->vmin) * 1e-6f, *chp, *cb, *ct;
	size_t cn;
	int rc;

	mm_consts_init(&K, im);
	cn = K.cw * K.ch;
	chp = g->tmp2;
	cb = chp + cn;
	ct = cb + cn;
	if ((rc = cerr(cudaMemcpy(g->px, im->px, n * sizeof(float), cudaMemcpyHostToDevice),
		       "upload", e)) != M3_OK ||
	    (rc = cerr(cudaMemcpy(g->cmask, wk->cmask, n, cudaMemcpyHostToDevice), "upload", e)) !=
		    M3_OK)
		return rc;
	k_conv<<<BLOCKS(n), T>>>(g->px, g->tmp, w, h, 0, K);
	k_conv<<<BLOCKS(n), T>>>(g->tmp, g->tmp2, w, h, 1, K);
	k_hess<<<BLOCKS(n), T>>>(g->tmp2, g->px, g->enh, g->tmp, w, h);
	/* the coarse arrays live in tmp2 (3 cells of f >= 2 fit in a quarter each) */
	k_cells<<<BLOCKS(cn), T>>>(g->tmp, g->enh, chp, cb, w, h, K);
	k_row_box<<<BLOCKS(K.ch), T>>>(chp, ct, K.cw, K.ch, K.rc);
	k_col_box<<<BLOCKS(K.cw), T>>>(ct, chp, K.cw, K.ch, K.rc);
	k_row_box<<<BLOCKS(K.ch), T>>>(cb, ct, K.cw, K.ch, K.rc);
	k_col_box<<<BLOCKS(K.cw), T>>>(ct, cb, K.cw, K.ch, K.rc);
	k_noise_cand<<<BLOCKS(n), T>>>(chp, cb, g->enh, g->cmask, g->noise, g->tmp, g->lab, w, h, K,
				       floor, k);
	if ((rc = cerr(cudaGetLastError(), "enhance kernels", e)) != M3_OK)
		return rc;
	wk->qnoise = wk->tmp;
	if ((rc = cerr(cudaMemcpy(wk->enh, g->enh, n * sizeof(float), cudaMemcpyDeviceToHost),
		       "download", e)) != M3_OK ||
	    (rc = cerr(cudaMemcpy(wk->noise, g->noise, n * sizeof(float), cudaMemcpyDeviceToHost),
		       "download", e)) != M3_OK ||
	    (rc = cerr(cudaMemcpy(wk->qnoise, g->tmp, n * sizeof(float), cudaMemcpyDeviceToHost),
		       "download", e)) != M3_OK)
		return rc;
	return cerr(cudaMemcpy(wk->lab, g->lab, n * sizeof(int), cudaMemcpyDeviceToHost),
		    "download", e);
}

extern "C" int
mm_cuda_features(struct mm_cuda *g, struct mm_result *r, const struct mm_work *wk,
		 const struct mm_image *im, const struct mm_mask *mk, struct m3_err *e)
{
	size_t n = im->w * im->h, nc = r->ncand;
	struct mm_sums *sums = NULL, *dsums = NULL;
	struct mm_consts K;
	int *box = NULL, *dbox = NULL, *peak = NULL, *dpeak = NULL, rc;

	if (nc == 0)
		return M3_OK;
	sums = (struct mm_sums *)malloc(nc * sizeof(*sums));
	box = (int *)malloc(nc * 4 * sizeof(int));
	peak = (int *)malloc(nc * sizeof(int));
	if (sums == NULL || box == NULL || peak == NULL) {
		rc = m3_err_set(e, M3_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nc; i++) {
		box[4 * i] = r->cand[i].x0;
		box[4 * i + 1] = r->cand[i].y0;
		box[4 * i + 2] = r->cand[i].x1;
		box[4 * i + 3] = r->cand[i].y1;
	}
	if ((rc = cerr(cudaMemcpy(g->lab, wk->lab, n * sizeof(int), cudaMemcpyHostToDevice),
		       "upload", e)) != M3_OK ||
	    (rc = cerr(cudaMalloc((void **)&dsums, nc * sizeof(*sums)), "cudaMalloc", e)) !=
		    M3_OK ||
	    (rc = cerr(cudaMalloc((void **)&dbox, nc * 4 * sizeof(int)), "cudaMalloc", e)) !=
		    M3_OK ||
	    (rc = cerr(cudaMalloc((void **)&dpeak, nc * sizeof(int)), "cudaMalloc", e)) != M3_OK ||
	    (rc = cerr(cudaMemcpy(dbox, box, nc * 4 * sizeof(int), cudaMemcpyHostToDevice),
		       "upload", e)) != M3_OK)
		goto out;
	mm_consts_init(&K, im);
	k_sums<<<BLOCKS(nc), 64>>>(g->px, g->enh, g->noise, g->tmp, g->lab, (int)im->w, (int)im->h,
				   dbox, (int)nc, mm_feature_window(im), K, dsums, dpeak);
	if ((rc = cerr(cudaGetLastError(), "feature kernel", e)) != M3_OK ||
	    (rc = cerr(cudaMemcpy(sums, dsums, nc * sizeof(*sums), cudaMemcpyDeviceToHost),
		       "download", e)) != M3_OK ||
	    (rc = cerr(cudaMemcpy(peak, dpeak, nc * sizeof(int), cudaMemcpyDeviceToHost),
		       "download", e)) != M3_OK)
		goto out;
	for (size_t i = 0; i < nc; i++)
		mm_features_finish(&r->cand[i], &sums[i], peak[i], wk, im, mk);
out:
	cudaFree(dsums);
	cudaFree(dbox);
	cudaFree(dpeak);
	free(sums);
	free(box);
	free(peak);
	return rc;
}
