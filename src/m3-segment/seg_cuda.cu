/*
 * m3-segment on a CUDA GPU: the same plan as the CPU path, step by step, with the
 * per-voxel arithmetic of segmath.h, so that the labels are the same voxel for voxel.
 * Components are labelled by a union-find over voxels whose roots are each component's
 * first voxel, the same tie-break as the CPU's runs.
 */
#include <cuda_runtime.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "m3/cli.h"
#include "seg_cuda.h"
}

#define NONE 0xffffffffu
#define THREADS 256

/* A CUDA call that failed: the error into e, then out. */
#define CK(call)                                                                                   \
	do {                                                                                       \
		cudaError_t err_ = (call);                                                         \
		if (err_ != cudaSuccess) {                                                         \
			rc = m3_err_set(e, M3_EFAIL, "cuda: %s", cudaGetErrorString(err_));        \
			goto out;                                                                  \
		}                                                                                  \
	} while (0)

struct dgrid {
	long nx, ny, nz;
	size_t n, sl;
};

static unsigned
blocks(size_t n)
{
	return (unsigned)((n + THREADS - 1) / THREADS);
}

__device__ static size_t
tid(void)
{
	return (size_t)blockIdx.x * blockDim.x + threadIdx.x;
}

template <typename T>
__global__ static void
k_to_float(const T *src, float *dst, size_t n)
{
	size_t i = tid();
	if (i < n)
		dst[i] = (float)src[i];
}

__global__ static void
k_median(const float *src, float *dst, struct dgrid g)
{
	size_t i = tid();
	float a[27];
	if (i >= g.n)
		return;
	long x = (long)(i % (size_t)g.nx), y = (long)((i / (size_t)g.nx) % (size_t)g.ny);
	long z = (long)(i / g.sl);
	int m = 0;
	for (int dz = -1; dz <= 1; dz++)
		for (int dy = -1; dy <= 1; dy++)
			for (int dx = -1; dx <= 1; dx++)
				a[m++] = src[(size_t)seg_clamp(z + dz, g.nz) * g.sl +
					     (size_t)seg_clamp(y + dy, g.ny) * (size_t)g.nx +
					     (size_t)seg_clamp(x + dx, g.nx)];
	dst[i] = seg_median27(a);
}

__global__ static void
k_conv(const float *src, float *dst, struct dgrid g, int axis, const float *k, int r)
{
	size_t i = tid();
	if (i >= g.n)
		return;
	long pos, n;
	size_t stride;
	if (axis == 0) {
		pos = (long)(i % (size_t)g.nx), n = g.nx, stride = 1;
	} else if (axis == 1) {
		pos = (long)((i / (size_t)g.nx) % (size_t)g.ny), n = g.ny, stride = (size_t)g.nx;
	} else {
		pos = (long)(i / g.sl), n = g.nz, stride = g.sl;
	}
	dst[i] = seg_conv1(src, i, pos, n, stride, k, r);
}

__global__ static void
k_classify(const float *f, uint8_t *lab, size_t n, struct seg_range *r, int nr)
{
	size_t i = tid();
	if (i < n)
		lab[i] = (uint8_t)seg_classify(f[i], r, nr);
}

__global__ static void
k_classes(const float *f, uint8_t *lab, size_t n, const float *t, int nt)
{
	size_t i = tid();
	if (i < n)
		lab[i] = (uint8_t)seg_class_of(f[i], t, nt);
}

__global__ static void
k_pick(const uint8_t *lab, uint8_t *mask, size_t n, uint8_t L)
{
	size_t i = tid();
	if (i < n)
		mask[i] = lab[i] == L;
}

__global__ static void
k_merge(const uint8_t *mask, uint8_t *out, size_t n, uint8_t L)
{
	size_t i = tid();
	if (i < n && mask[i] && out[i] == 0)
		out[i] = L;
}

/* Morphology: d1 along x, the min over y, the test over z (segmath.h). */
__global__ static void
k_xdist(const uint8_t *src, float *d1w, struct dgrid g, struct seg_ball b, uint8_t want)
{
	size_t i = tid();
	if (i >= g.n)
		return;
	long x = (long)(i % (size_t)g.nx);
	d1w[i] = seg_d1w(seg_xdist(src + (i - (size_t)x), x, g.nx, b.rx, want), &b);
}

__global__ static void
k_ymin(const float *d1w, float *gm, struct dgrid g, struct seg_ball b)
{
	size_t i = tid();
	if (i >= g.n)
		return;
	long y = (long)((i / (size_t)g.nx) % (size_t)g.ny);
	gm[i] = seg_ymin(d1w, i, y, g.ny, (size_t)g.nx, &b);
}

__global__ static void
k_zhit(const float *gm, uint8_t *dst, struct dgrid g, struct seg_ball b, uint8_t want)
{
	size_t i = tid();
	if (i >= g.n)
		return;
	long z = (long)(i / g.sl);
	int hit = seg_zhit(gm, i, z, g.nz, g.sl, &b);
	dst[i] = (uint8_t)(want ? hit : !hit);
}

/* Components: each voxel of the set starts as its own root; roots link to the smaller. */
__global__ static void
k_cc_init(const uint8_t *mask, unsigned *L, size_t n, uint8_t want)
{
	size_t i = tid();
	if (i < n)
		L[i] = (mask[i] != 0) == want ? (unsigned)i : NONE;
}

__device__ static unsigned
find(const unsigned *L, unsigned x)
{
	unsigned p;
	while ((p = L[x]) != x)
		x = p;
	return x;
}

__device__ static void
unite(unsigned *L, unsigned a, unsigned b)
{
	for (;;) {
		a = find(L, a);
		b = find(L, b);
		if (a == b)
			return;
		if (a > b) {
			unsigned t = a;
			a = b;
			b = t;
		}
		unsigned old = atomicMin(&L[b], a);
		if (old == b)
			return;
		b = old;
	}
}

/* Joins each voxel with its neighbours that come before it in the data. */
__global__ static void
k_cc_join(unsigned *L, struct dgrid g, int conn)
{
	size_t i = tid();
	if (i >= g.n || L[i] == NONE)
		return;
	long x = (long)(i % (size_t)g.nx), y = (long)((i / (size_t)g.nx) % (size_t)g.ny);
	long z = (long)(i / g.sl);
	for (int dz = -1; dz <= 0; dz++)
		for (int dy = -1; dy <= 1; dy++)
			for (int dx = -1; dx <= 1; dx++) {
				if (dz == 0 && (dy > 0 || (dy == 0 && dx >= 0)))
					continue; /* not before i */
				if (conn == 6 && (dx != 0) + (dy != 0) + (dz != 0) != 1)
					continue;
				long X = x + dx, Y = y + dy, Z = z + dz;
				if (X < 0 || X >= g.nx || Y < 0 || Y >= g.ny || Z < 0)
					continue;
				size_t j = (size_t)Z * g.sl + (size_t)Y * (size_t)g.nx + (size_t)X;
				if (L[j] != NONE)
					unite(L, (unsigned)i, (unsigned)j);
			}
}

__global__ static void
k_cc_flatten(unsigned *L, unsigned *size, size_t n)
{
	size_t i = tid();
	if (i >= n || L[i] == NONE)
		return;
	unsigned r = find(L, (unsigned)i);
	L[i] = r;
	if (size != NULL)
		atomicAdd(&size[r], 1u);
}

struct comp {
	unsigned long long size;
	unsigned root;
};

__global__ static void
k_cc_roots(const unsigned *L, const unsigned *size, size_t n, struct comp *list, unsigned *count)
{
	size_t i = tid();
	if (i < n && L[i] == (unsigned)i) {
		unsigned k = atomicAdd(count, 1u);
		list[k].size = size[i];
		list[k].root = (unsigned)i;
	}
}

__global__ static void
k_cc_mark(uint8_t *flag, const struct comp *list, size_t n)
{
	size_t i = tid();
	if (i < n)
		flag[list[i].root] = 1;
}

/* Clears the set voxels whose component is not kept. */
__global__ static void
k_cc_paint(uint8_t *mask, const unsigned *L, const uint8_t *keep, size_t n)
{
	size_t i = tid();
	if (i < n && L[i] != NONE && !keep[L[i]])
		mask[i] = 0;
}

/* Fill holes: background components that touch the border are open. */
__global__ static void
k_fill_border(const unsigned *L, uint8_t *open, struct dgrid g)
{
	size_t i = tid();
	if (i >= g.n || L[i] == NONE)
		return;
	long x = (long)(i % (size_t)g.nx), y = (long)((i / (size_t)g.nx) % (size_t)g.ny);
	long z = (long)(i / g.sl);
	if (x == 0 || y == 0 || z == 0 || x == g.nx - 1 || y == g.ny - 1 || z == g.nz - 1)
		open[L[i]] = 1;
}

__global__ static void
k_fill(uint8_t *mask, const unsigned *L, const uint8_t *open, size_t n)
{
	size_t i = tid();
	if (i < n && L[i] != NONE && !open[L[i]])
		mask[i] = 1;
}

static int
comp_cmp(const void *a, const void *b)
{
	const struct comp *x = (const struct comp *)a, *y = (const struct comp *)b;

	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return x->root < y->root ? -1 : (x->root > y->root);
}

/* Device buffers for one volume. */
struct dev {
	struct dgrid g;
	float *f, *f2, *k;
	uint8_t *lab, *out, *mask, *tmp, *flag;
	unsigned *L, *size, *count;
	struct comp *list;
	struct seg_range *ranges;
	float *th;
};

static int
cc_label(struct dev *d, const uint8_t *mask, uint8_t want, int conn, int sizes, struct m3_err *e)
{
	size_t n = d->g.n;
	int rc = M3_OK;

	k_cc_init<<<blocks(n), THREADS>>>(mask, d->L, n, want);
	k_cc_join<<<blocks(n), THREADS>>>(d->L, d->g, conn);
	if (sizes)
		CK(cudaMemset(d->size, 0, n * sizeof(unsigned)));
	k_cc_flatten<<<blocks(n), THREADS>>>(d->L, sizes ? d->size : NULL, n);
	CK(cudaGetLastError());
out:
	return rc;
}

static int
cc_filter(struct dev *d, const struct seg_plan *p, int label, struct m3_err *e)
{
	size_t n = d->g.n;
	unsigned count = 0;
	struct comp *list = NULL;
	size_t nk = 0, kept = 0;
	int rc;

	if ((rc = cc_label(d, d->mask, 1, p->conn, 1, e)) != M3_OK)
		return rc;
	CK(cudaMemset(d->count, 0, sizeof(unsigned)));
	k_cc_roots<<<blocks(n), THREADS>>>(d->L, d->size, n, d->list, d->count);
	CK(cudaMemcpy(&count, d->count, sizeof(unsigned), cudaMemcpyDeviceToHost));
	if ((list = (struct comp *)malloc(((size_t)count + 1) * sizeof(*list))) == NULL) {
		rc = m3_err_set(e, M3_ENOMEM, "out of memory");
		goto out;
	}
	CK(cudaMemcpy(list, d->list, (size_t)count * sizeof(*list), cudaMemcpyDeviceToHost));
	for (size_t i = 0; i < count; i++)
		if (list[i].size >= p->min_size)
			list[nk++] = list[i];
	qsort(list, nk, sizeof(*list), comp_cmp);
	if (p->keep > 0 && nk > (size_t)p->keep)
		nk = (size_t)p->keep;
	for (size_t i = 0; i < nk; i++)
		kept += list[i].size;
	CK(cudaMemset(d->flag, 0, n));
	if (nk > 0) {
		CK(cudaMemcpy(d->list, list, nk * sizeof(*list), cudaMemcpyHostToDevice));
		k_cc_mark<<<blocks(nk), THREADS>>>(d->flag, d->list, nk);
	}
	k_cc_paint<<<blocks(n), THREADS>>>(d->mask, d->L, d->flag, n);
	CK(cudaGetLastError());
	if (p->verbose)
		fprintf(stderr, "%s: %s: %u components, %zu kept, %zu voxels (cuda)\n",
			m3_progname(), p->names[label - 1], count, nk, kept);
out:
	free(list);
	return rc;
}

static int
fill_holes(struct dev *d, struct m3_err *e)
{
	size_t n = d->g.n;
	int rc;

	if ((rc = cc_label(d, d->mask, 0, 6, 0, e)) != M3_OK)
		return rc;
	CK(cudaMemset(d->flag, 0, n));
	k_fill_border<<<blocks(n), THREADS>>>(d->L, d->flag, d->g);
	k_fill<<<blocks(n), THREADS>>>(d->mask, d->L, d->flag, n);
	CK(cudaGetLastError());
out:
	return rc;
}

/* dst = src dilated (want 1) or eroded (want 0) by the ball; d->f and d->f2 are scratch. */
static void
dilate(struct dev *d, const uint8_t *src, uint8_t *dst, const struct seg_ball *b, uint8_t want)
{
	size_t n = d->g.n;

	k_xdist<<<blocks(n), THREADS>>>(src, d->f, d->g, *b, want);
	k_ymin<<<blocks(n), THREADS>>>(d->f, d->f2, d->g, *b);
	k_zhit<<<blocks(n), THREADS>>>(d->f2, dst, d->g, *b, want);
}

static int
morph(struct dev *d, const struct seg_grid *g, const struct seg_op *op, struct m3_err *e)
{
	struct seg_ball b;
	int rc, open = op->kind == SEG_OPEN;

	if (op->kind == SEG_FILL)
		return fill_holes(d, e);
	if ((rc = seg_ball_make(g, op->radius, op->mm, &b, e)) != M3_OK)
		return rc;
	dilate(d, d->mask, d->tmp, &b, open ? 0 : 1);
	dilate(d, d->tmp, d->mask, &b, open ? 1 : 0);
	CK(cudaGetLastError());
out:
	return rc;
}

/* Smoothing on d->f (d->f2 scratch), then the threshold into d->lab. */
static int
smooth_threshold(struct dev *d, const struct seg_plan *p, const struct seg_grid *g,
		 struct m3_err *e)
{
	size_t n = d->g.n;
	float k[2 * SEG_MAXK + 1], th[SEG_MAXLAB], *host = NULL;
	int r, rc = M3_OK;

	if (p->median) {
		k_median<<<blocks(n), THREADS>>>(d->f, d->f2, d->g);
		CK(cudaMemcpy(d->f, d->f2, n * sizeof(float), cudaMemcpyDeviceToDevice));
	}
	if (p->sigma > 0)
		for (int a = 0; a < 3; a++) {
			seg_gauss_kernel(p->sigma_mm ? p->sigma / g->sp[a] : p->sigma, k, &r);
			CK(cudaMemcpy(d->k, k, sizeof(k), cudaMemcpyHostToDevice));
			k_conv<<<blocks(n), THREADS>>>(d->f, d->f2, d->g, a, d->k, r);
			float *t = d->f;
			d->f = d->f2;
			d->f2 = t;
		}
	if (p->otsu > 0) {
		/* the histogram on the host, from the smoothed values */
		if ((host = (float *)malloc(n * sizeof(float))) == NULL) {
			rc = m3_err_set(e, M3_ENOMEM, "out of memory");
			goto out;
		}
		CK(cudaMemcpy(host, d->f, n * sizeof(float), cudaMemcpyDeviceToHost));
		if ((rc = seg_otsu(g, host, p->otsu, th, e)) != M3_OK)
			goto out;
		CK(cudaMemcpy(d->th, th, sizeof(th), cudaMemcpyHostToDevice));
		k_classes<<<blocks(n), THREADS>>>(d->f, d->lab, n, d->th, p->otsu - 1);
	} else {
		CK(cudaMemcpy(d->ranges, p->ranges, sizeof(p->ranges), cudaMemcpyHostToDevice));
		k_classify<<<blocks(n), THREADS>>>(d->f, d->lab, n, d->ranges, p->nranges);
	}
	CK(cudaGetLastError());
out:
	free(host);
	return rc;
}

static int
to_float(struct dev *d, const struct m3_vol *in, struct m3_err *e)
{
	size_t n = d->g.n, nb = n * m3_type_size(in->type);
	void *raw = NULL;
	int rc = M3_OK;

	CK(cudaMalloc(&raw, nb));
	CK(cudaMemcpy(raw, in->data, nb, cudaMemcpyHostToDevice));
	switch (in->type) {
	case M3_UINT8:
		k_to_float<<<blocks(n), THREADS>>>((const uint8_t *)raw, d->f, n);
		break;
	case M3_INT16:
		k_to_float<<<blocks(n), THREADS>>>((const int16_t *)raw, d->f, n);
		break;
	case M3_UINT16:
		k_to_float<<<blocks(n), THREADS>>>((const uint16_t *)raw, d->f, n);
		break;
	case M3_INT32:
		k_to_float<<<blocks(n), THREADS>>>((const int32_t *)raw, d->f, n);
		break;
	case M3_UINT32:
		k_to_float<<<blocks(n), THREADS>>>((const uint32_t *)raw, d->f, n);
		break;
	default:
		k_to_float<<<blocks(n), THREADS>>>((const float *)raw, d->f, n);
		break;
	}
	CK(cudaGetLastError());
out:
	cudaFree(raw);
	return rc;
}

static int
dev_alloc(struct dev *d, struct m3_err *e)
{
	size_t n = d->g.n;
	int rc = M3_OK;

	CK(cudaMalloc(&d->f, n * sizeof(float)));
	CK(cudaMalloc(&d->f2, n * sizeof(float)));
	CK(cudaMalloc(&d->k, (2 * SEG_MAXK + 1) * sizeof(float)));
	CK(cudaMalloc(&d->lab, n));
	CK(cudaMalloc(&d->out, n));
	CK(cudaMalloc(&d->mask, n));
	CK(cudaMalloc(&d->tmp, n));
	CK(cudaMalloc(&d->flag, n));
	CK(cudaMalloc(&d->L, n * sizeof(unsigned)));
	CK(cudaMalloc(&d->size, n * sizeof(unsigned)));
	CK(cudaMalloc(&d->count, sizeof(unsigned)));
	CK(cudaMalloc(&d->list, (n / 2 + 64) * sizeof(struct comp))); /* at most n/2 components */
	CK(cudaMalloc(&d->ranges, SEG_MAXLAB * sizeof(struct seg_range)));
	CK(cudaMalloc(&d->th, SEG_MAXLAB * sizeof(float)));
out:
	return rc;
}

static void
dev_free(struct dev *d)
{
	cudaFree(d->f);
	cudaFree(d->f2);
	cudaFree(d->k);
	cudaFree(d->lab);
	cudaFree(d->out);
	cudaFree(d->mask);
	cudaFree(d->tmp);
	cudaFree(d->flag);
	cudaFree(d->L);
	cudaFree(d->size);
	cudaFree(d->count);
	cudaFree(d->list);
	cudaFree(d->ranges);
	cudaFree(d->th);
}

extern "C" int
seg_cuda_probe(char *name, size_t len)
{
	int n = 0;
	cudaDeviceProp prop;

	if (cudaGetDeviceCount(&n) != cudaSuccess || n <= 0)
		return 0;
	if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess)
		return 0;
	snprintf(name, len, "%s", prop.name);
	return n;
}

extern "C" int
seg_cuda_run(const struct seg_plan *p, const struct seg_grid *g, const struct m3_vol *in,
	     uint8_t *lab, struct seg_times *t, struct m3_err *e)
{
	struct dev d;
	int order[SEG_MAXLAB], n = 0, rc;
	double t0 = seg_now(), tm = 0, tc = 0;

	memset(&d, 0, sizeof(d));
	d.g = (struct dgrid){g->nx, g->ny, g->nz, g->n, (size_t)g->nx * (size_t)g->ny};
	if (g->n >= NONE)
		return m3_err_set(e, M3_EDATA, "over %u voxels for the CUDA path", NONE - 1);
	if ((rc = dev_alloc(&d, e)) != M3_OK || (rc = to_float(&d, in, e)) != M3_OK ||
	    (rc = smooth_threshold(&d, p, g, e)) != M3_OK)
		goto out;
	CK(cudaDeviceSynchronize());
	seg_time(t, "upload+threshold", t0);
	if (p->otsu > 0)
		for (int c = p->otsu - 1; c >= 1; c--)
			order[n++] = c;
	else
		for (int i = 0; i < p->nranges; i++)
			order[n++] = p->ranges[i].label;
	if (p->nops == 0 && p->keep == 0 && p->min_size <= 1) {
		CK(cudaMemcpy(d.out, d.lab, g->n, cudaMemcpyDeviceToDevice));
		n = 0;
	} else {
		CK(cudaMemset(d.out, 0, g->n));
	}
	for (int k = 0; k < n; k++) {
		k_pick<<<blocks(g->n), THREADS>>>(d.lab, d.mask, g->n, (uint8_t)order[k]);
		t0 = seg_now();
		for (int i = 0; i < p->nops; i++)
			if ((p->ops[i].label == 0 || p->ops[i].label == order[k]) &&
			    (rc = morph(&d, g, &p->ops[i], e)) != M3_OK)
				goto out;
		CK(cudaDeviceSynchronize());
		tm += seg_now() - t0;
		t0 = seg_now();
		if ((p->keep > 0 || p->min_size > 1) &&
		    (rc = cc_filter(&d, p, order[k], e)) != M3_OK)
			goto out;
		CK(cudaDeviceSynchronize());
		tc += seg_now() - t0;
		k_merge<<<blocks(g->n), THREADS>>>(d.mask, d.out, g->n, (uint8_t)order[k]);
	}
	t0 = seg_now();
	CK(cudaMemcpy(lab, d.out, g->n, cudaMemcpyDeviceToHost));
	if (t != NULL && n > 0 && p->nops > 0 && t->n < 8) {
		t->what[t->n] = "morphology";
		t->t[t->n++] = tm;
	}
	if (t != NULL && n > 0 && (p->keep > 0 || p->min_size > 1) && t->n < 8) {
		t->what[t->n] = "components";
		t->t[t->n++] = tc;
	}
	seg_time(t, "download", t0);
out:
	dev_free(&d);
	return rc;
}
