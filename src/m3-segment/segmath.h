/* m3-segment per-element math, shared by the CPU path (C) and the CUDA kernels (nvcc). */
#ifndef SEGMATH_H
#define SEGMATH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __CUDACC__
#define M3_HD __host__ __device__
#else
#define M3_HD
#endif

/*
 * Float products and sums that round the same on both sides: nvcc would otherwise fuse
 * a * b + c into one FMA and give labels that differ from the CPU's at a threshold.
 */
#ifdef __CUDA_ARCH__
#define SEG_MUL(a, b) __fmul_rn((a), (b))
#define SEG_ADD(a, b) __fadd_rn((a), (b))
#else
#define SEG_MUL(a, b) ((a) * (b))
#define SEG_ADD(a, b) ((a) + (b))
#endif

#define SEG_MAXLAB 16 /* labels in one run */
#define SEG_MAXK 64 /* Gaussian kernel half-width, voxels */
#define SEG_MAXR 255 /* morphology radius per axis, voxels */

/* One labelled range, low <= v <= high; ranges are kept sorted by precedence. */
struct seg_range {
	float lo, hi;
	int label;
};

/* The label of value v: the first range (highest precedence) that holds it, else 0. */
static inline M3_HD int
seg_classify(float v, const struct seg_range *r, int n)
{
	for (int i = 0; i < n; i++)
		if (v >= r[i].lo && v <= r[i].hi)
			return r[i].label;
	return 0;
}

/* Multi-Otsu class of v: how many thresholds it is at or above (class 0 is the darkest). */
static inline M3_HD int
seg_class_of(float v, const float *t, int nt)
{
	int c = 0;

	for (int i = 0; i < nt; i++)
		c += v >= t[i];
	return c;
}

static inline M3_HD long
seg_clamp(long i, long n)
{
	return i < 0 ? 0 : (i >= n ? n - 1 : i);
}

/*
 * One tap sum of a separable Gaussian along one axis at position pos of n, stride apart,
 * the border continued by its nearest sample.  k holds 2r+1 weights.  The sum runs from
 * the lowest tap to the highest on both sides, so the float results are the same.
 */
static inline M3_HD float
seg_conv1(const float *src, size_t idx, long pos, long n, size_t stride, const float *k, int r)
{
	float s = 0.0f;

	for (int j = -r; j <= r; j++) {
		long p = seg_clamp(pos + j, n);
		s = SEG_ADD(s, SEG_MUL(k[j + r], src[idx + (size_t)(p - pos) * stride]));
	}
	return s;
}

/* The median of 27 values (the 14th smallest); a partial selection sort, a is reordered. */
static inline M3_HD float
seg_median27(float *a)
{
	for (int i = 0; i <= 13; i++) {
		int m = i;
		for (int j = i + 1; j < 27; j++)
			if (a[j] < a[m])
				m = j;
		float t = a[i];
		a[i] = a[m];
		a[m] = t;
	}
	return a[13];
}

/*
 * Morphology by a ball (an ellipsoid in voxels when the spacing is not even): a voxel
 * is in the dilation when some source voxel q has (dx*sx)^2 + (dy*sy)^2 + (dz*sz)^2 <= r^2.
 * The test is split by axis: d1 is the distance along x to the nearest source voxel in
 * the same row (capped at rx + 1), then g = min over dy of d1^2 wx + dy^2 wy, then a
 * voxel is in when some dz has g + dz^2 wz <= r^2.  The cost is O(rx + ry + rz) per
 * voxel, not O(r^3).
 */
struct seg_ball {
	int rx, ry, rz; /* half-widths along each axis, voxels */
	float wx, wy, wz; /* squared spacing (1 for radii in voxels) */
	float r2; /* squared radius */
};

#define SEG_GINF 3.0e38f /* no source within the ball along the rows seen */

/* d1 at x of one row, the sources being bytes equal to want, by looking both ways. */
static inline M3_HD int
seg_xdist(const uint8_t *row, long x, long nx, int rx, uint8_t want)
{
	for (int i = 0; i <= rx; i++) {
		if (x - i >= 0 && (row[x - i] != 0) == want)
			return i;
		if (x + i < nx && (row[x + i] != 0) == want)
			return i;
	}
	return rx + 1;
}

/* d1 squared and weighted, INF beyond the cap. */
static inline M3_HD float
seg_d1w(int d, const struct seg_ball *b)
{
	return d > b->rx ? SEG_GINF : SEG_MUL((float)(d * d), b->wx);
}

/* g at (y) from the column of weighted d1 values above and below, stride apart. */
static inline M3_HD float
seg_ymin(const float *d1w, size_t idx, long y, long ny, size_t stride, const struct seg_ball *b)
{
	float g = SEG_GINF;

	for (int j = -b->ry; j <= b->ry; j++) {
		if (y + j < 0 || y + j >= ny)
			continue;
		float v = d1w[idx + (size_t)((long)j * (long)stride)];
		if (v < SEG_GINF) {
			v = SEG_ADD(v, SEG_MUL((float)(j * j), b->wy));
			g = v < g ? v : g;
		}
	}
	return g;
}

/* The dilation at (z): does some dz bring g + dz^2 wz within r^2? */
static inline M3_HD int
seg_zhit(const float *g, size_t idx, long z, long nz, size_t stride, const struct seg_ball *b)
{
	for (int k = -b->rz; k <= b->rz; k++) {
		if (z + k < 0 || z + k >= nz)
			continue;
		float v = g[idx + (size_t)((long)k * (long)stride)];
		if (v < SEG_GINF && SEG_ADD(v, SEG_MUL((float)(k * k), b->wz)) <= b->r2)
			return 1;
	}
	return 0;
}

#endif
