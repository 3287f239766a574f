/* m3-mammo per-element math, shared by the CPU path (C) and the CUDA kernels (nvcc). */
#ifndef MMATH_H
#define MMATH_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#ifndef M3_HD
#ifdef __CUDACC__
#define M3_HD __host__ __device__
#else
#define M3_HD
#endif
#endif

/* Products and sums that round the same on both sides (nvcc would fuse them into FMAs). */
#ifdef __CUDA_ARCH__
#define MM_MUL(a, b) __fmul_rn((a), (b))
#define MM_ADD(a, b) __fadd_rn((a), (b))
#else
#define MM_MUL(a, b) ((a) * (b))
#define MM_ADD(a, b) ((a) + (b))
#endif

/* The feature vector of one candidate; the order is the model file's order. */
enum mm_feature {
	MM_F_AREA, /* area, mm^2 */
	MM_F_DIAM, /* equivalent diameter, mm */
	MM_F_PEAK_SNR, /* peak of the enhanced image over the local noise */
	MM_F_MEAN_SNR, /* mean enhanced value in the spot over the local noise */
	MM_F_CONTRAST, /* (mean spot - mean ring) / mean ring, raw intensities */
	MM_F_CONTRAST_Z, /* (mean spot - mean ring) / std ring */
	MM_F_ELONG, /* sqrt of the ratio of the second-moment eigenvalues, >= 1 */
	MM_F_FILL, /* area / bounding-box area */
	MM_F_SHARP, /* peak minus its 8 neighbours' mean, over the local noise */
	MM_F_RING_STD, /* ring standard deviation over the local noise */
	MM_F_GLCM_CON, /* GLCM contrast of the window, 8 grey levels, offsets (1,0) and (0,1) */
	MM_F_GLCM_HOM, /* GLCM homogeneity */
	MM_F_GLCM_ENE, /* GLCM energy (angular second moment) */
	MM_F_SKIN_MM, /* distance to the skin line, mm */
	MM_F_BG_REL, /* mean ring intensity over the breast's median intensity */
	MM_F_NOISE_REL, /* local noise over the breast's median noise */
	MM_F_QSNR, /* peak blob response over the quantum noise alone */
	MM_F_TEXTURE, /* the texture part of the local noise over the quantum part */
	MM_F_ISO, /* Hessian eigenvalue ratio at the peak: 1 a round spot, 0 a ridge or edge */
	MM_F_SPREAD, /* the 8 neighbours' rise over the peak's: ~0.4 blurred, ~0 a lone pixel */
	MM_F_MF1, /* matched filter, binomial spot of sigma 1 px, best of the peak's 3x3, over the
		   * quantum noise (mm_mf_at) */
	MM_F_MF2, /* ... sigma 1.4 px */
	MM_F_MF3, /* ... sigma 2.4 px, at the peak */
	MM_NFEAT
};

#define MM_GLCM_LEVELS 8
#define MM_WIN_MAX 24 /* half-width of the feature window, pixels */
#define MM_KMAX 8 /* largest radius of the spot kernel, pixels */

/* 2D Gaussian-like smoothing with sigma ~0.7 px: the [1 2 1]/4 kernel. */
static inline M3_HD float
mm_k121(float a, float b, float c)
{
	return MM_ADD(MM_ADD(MM_MUL(0.25f, a), MM_MUL(0.5f, b)), MM_MUL(0.25f, c));
}

/*
 * The spot filter: the Hessian of the smoothed image s at a pixel, from its 3x3 neighbours
 * (a..i row by row, e the centre), and the blob response, minus the less negative
 * eigenvalue when both are negative: about half the Laplacian on a round spot, near 0 along
 * a ridge or an edge of the anatomy, 0 in a valley.
 */
static inline M3_HD void
mm_hessian(float a, float b, float c, float d, float e, float f, float g, float h, float i,
	   float *hxx, float *hyy, float *hxy)
{
	*hxx = MM_ADD(MM_ADD(d, f), MM_MUL(-2.0f, e));
	*hyy = MM_ADD(MM_ADD(b, h), MM_MUL(-2.0f, e));
	*hxy = MM_MUL(0.25f, MM_ADD(MM_ADD(i, -g), MM_ADD(a, -c)));
}

/* Eigenvalues of [[xx xy] [xy yy]], lo <= hi. */
static inline M3_HD void
mm_eig2(float xx, float yy, float xy, float *lo, float *hi)
{
	float m = MM_MUL(0.5f, MM_ADD(xx, yy)), dd = MM_MUL(0.5f, MM_ADD(xx, -yy));
	float r = sqrtf(MM_ADD(MM_MUL(dd, dd), MM_MUL(xy, xy)));
	*lo = MM_ADD(m, -r);
	*hi = MM_ADD(m, r);
}

static inline M3_HD float
mm_blob(float hxx, float hyy, float hxy)
{
	float lo, hi;
	mm_eig2(hxx, hyy, hxy, &lo, &hi);
	return hi < 0.0f ? -hi : 0.0f;
}

/* A symmetric 1D kernel's tap sum over s[-r..r] (step apart), in a fixed order. */
static inline M3_HD float
mm_conv_sym(const float *s, long step, const float *k, int r)
{
	float acc = MM_MUL(k[0], s[0]);
	for (int j = 1; j <= r; j++)
		acc = MM_ADD(acc, MM_MUL(k[j], MM_ADD(s[-j * step], s[j * step])));
	return acc;
}

/* The same at element i of a line of n, borders clamped (gathered into a local copy). */
static inline M3_HD float
mm_conv_at(const float *line, long step, long n, long i, const float *k, int r)
{
	float buf[2 * MM_KMAX + 1];

	if (i - r >= 0 && i + r < n)
		return mm_conv_sym(line + i * step, step, k, r);
	for (int j = -r; j <= r; j++) {
		long q = i + j < 0 ? 0 : i + j >= n ? n - 1 : i + j;
		buf[j + r] = line[q * step];
	}
	return mm_conv_sym(buf + r, 1, k, r);
}

/* The pixel minus its 3x3 binomial smoothing: quantum noise, the smooth anatomy removed. */
static inline M3_HD float
mm_highpass(float a, float b, float c, float d, float e, float f, float g, float h, float i)
{
	float s = mm_k121(mm_k121(a, b, c), mm_k121(d, e, f), mm_k121(g, h, i));
	return fabsf(MM_ADD(e, -s));
}

/* Pixels in cell i of a line of n pixels cut in cells of f. */
static inline M3_HD size_t
mm_cell_count(size_t n, size_t f, size_t i)
{
	return (i + 1) * f <= n ? f : n - i * f;
}

/*
 * The local noise of the blob response: the quantum part (cq times the local mean of the
 * high-pass residual) and the anatomy's part (ct times the local mean of the response), in
 * quadrature.  qn gets the quantum part alone.
 */
static inline M3_HD float
mm_noise2(float mean_hp, float mean_blob, float cq, float ct, float floor, float *qn)
{
	float q = MM_MUL(cq, mean_hp), t = MM_MUL(ct, mean_blob);
	float s = sqrtf(MM_ADD(MM_MUL(q, q), MM_MUL(t, t)));
	*qn = q > floor ? q : floor;
	return s > floor ? s : floor;
}

/* The candidate test: enhanced value over k times the local noise, inside the search mask. */
static inline M3_HD int
mm_is_candidate(float enh, float noise, float k, unsigned char inside)
{
	return inside && enh > MM_MUL(k, noise) && enh > 0.0f;
}

/* Local noise from the local mean absolute enhanced value (Gaussian: sigma = 1.2533 MAD). */
static inline M3_HD float
mm_noise(float mean_abs, float floor)
{
	float s = MM_MUL(1.2533141f, mean_abs);
	return s > floor ? s : floor;
}

/* Sums gathered over one candidate's pixels and its ring, turned into features. */
struct mm_sums {
	double n, sx, sy, sxx, syy, sxy; /* spot pixel moments */
	double si, senh; /* spot intensity and enhanced sums */
	double rn, ri, rii; /* ring count, sum, sum of squares */
	float peak_enh, peak_noise, peak_q, sharp, peak_px, n8;
	float hlo, hhi; /* Hessian eigenvalues of the smoothed image at the peak */
	double rhp; /* ring: sum of the high-pass residual (mm_highpass) */
	double mf[3]; /* matched filter responses (mm_mf_at), pixel units */
	int bw, bh; /* bounding box */
	double glcm[MM_GLCM_LEVELS * MM_GLCM_LEVELS];
	double skin_mm, tissue_median, noise_median, px_area, px_size;
};

static inline M3_HD void
mm_features_from_sums(const struct mm_sums *s, float *f)
{
	double n = s->n > 0 ? s->n : 1;
	double mx = s->sx / n, my = s->sy / n;
	double cxx = s->sxx / n - mx * mx + 1.0 / 12, cyy = s->syy / n - my * my + 1.0 / 12;
	double cxy = s->sxy / n - mx * my;
	double tr = cxx + cyy, det = cxx * cyy - cxy * cxy;
	double disc = sqrt(fmax(tr * tr / 4 - det, 0.0));
	double l1 = tr / 2 + disc, l2 = fmax(tr / 2 - disc, 1e-6);
	double rm = s->rn > 0 ? s->ri / s->rn : 0, rv = 0;
	double gsum = 0, con = 0, hom = 0, ene = 0;
	double noise = s->peak_noise > 0 ? s->peak_noise : 1;

	if (s->rn > 1)
		rv = fmax(s->rii / s->rn - rm * rm, 0.0);
	for (int i = 0; i < MM_GLCM_LEVELS * MM_GLCM_LEVELS; i++)
		gsum += s->glcm[i];
	for (int i = 0; i < MM_GLCM_LEVELS && gsum > 0; i++)
		for (int j = 0; j < MM_GLCM_LEVELS; j++) {
			double p = s->glcm[i * MM_GLCM_LEVELS + j] / gsum;
			con += p * (i - j) * (i - j);
			hom += p / (1.0 + (i - j) * (i - j));
			ene += p * p;
		}
	f[MM_F_AREA] = (float)(s->n * s->px_area);
	f[MM_F_DIAM] = (float)(2.0 * sqrt(s->n * s->px_area / 3.14159265358979));
	f[MM_F_PEAK_SNR] = (float)(s->peak_enh / noise);
	f[MM_F_MEAN_SNR] = (float)(s->senh / n / noise);
	f[MM_F_CONTRAST] = (float)(rm > 0 ? (s->si / n - rm) / rm : 0);
	f[MM_F_CONTRAST_Z] = (float)((s->si / n - rm) / sqrt(rv + 1e-6));
	f[MM_F_ELONG] = (float)sqrt(l1 / l2);
	f[MM_F_FILL] = (float)(s->n / ((double)s->bw * s->bh));
	f[MM_F_SHARP] = (float)(s->sharp / noise);
	f[MM_F_RING_STD] = (float)(sqrt(rv) / noise);
	f[MM_F_GLCM_CON] = (float)con;
	f[MM_F_GLCM_HOM] = (float)hom;
	f[MM_F_GLCM_ENE] = (float)ene;
	f[MM_F_SKIN_MM] = (float)s->skin_mm;
	f[MM_F_BG_REL] = (float)(s->tissue_median > 0 ? rm / s->tissue_median : 0);
	f[MM_F_NOISE_REL] = (float)(s->noise_median > 0 ? s->peak_noise / s->noise_median : 0);
	{
		double q = s->peak_q > 0 ? s->peak_q : 1, t = noise * noise - q * q;
		double rise = s->peak_px - rm, iso = s->hlo < 0 ? -s->hhi / s->hlo : 0;
		f[MM_F_QSNR] = (float)(s->peak_enh / q);
		f[MM_F_TEXTURE] = (float)(sqrt(t > 0 ? t : 0) / q);
		f[MM_F_ISO] = (float)(iso < -1 ? -1 : iso > 1 ? 1 : iso);
		f[MM_F_SPREAD] = (float)(rise > 0 ? (s->n8 - rm) / rise : 0);
	}
	{
		/* the pixel noise from the ring's mean high-pass residual: for white noise of
		 * sigma 1, |e - 121x121(e)| averages sqrt(2/pi) * sqrt(0.640625) */
		double sig = s->rn > 0 ? s->rhp / s->rn / 0.638617 : 0;
		for (int i = 0; i < 3; i++)
			f[MM_F_MF1 + i] = (float)(sig > 0 ? s->mf[i] / sig : 0);
	}
}

/* A node of a regression tree: feat < 0 marks a leaf holding value. */
struct mm_node {
	int feat;
	float thr;
	int left, right;
	float value;
};

static inline M3_HD float
mm_sigmoid(float z)
{
	return 1.0f / (1.0f + expf(-z));
}

/* Standardised logistic regression: sigmoid(bias + sum w_i (f_i - mean_i) / scale_i). */
static inline M3_HD float
mm_score_logistic(const float *f, const float *mean, const float *scale, const float *w, float bias,
		  int nf)
{
	float z = bias;
	for (int i = 0; i < nf; i++)
		z += w[i] * (f[i] - mean[i]) / scale[i];
	return mm_sigmoid(z);
}

/*
 * A standardised multi-layer perceptron of one hidden layer of nh rectified units:
 * sigmoid(bias + sum_j w2_j max(0, b1_j + sum_i w1_ji (f_i - mean_i) / scale_i)).
 */
static inline M3_HD float
mm_score_mlp(const float *f, const float *mean, const float *scale, const float *w1,
	     const float *b1, const float *w2, float bias, int nh)
{
	float x[MM_NFEAT], z = bias;
	for (int i = 0; i < MM_NFEAT; i++)
		x[i] = (f[i] - mean[i]) / scale[i];
	for (int j = 0; j < nh; j++) {
		const float *wj = w1 + j * MM_NFEAT;
		float a = b1[j];
		for (int i = 0; i < MM_NFEAT; i++)
			a += wj[i] * x[i];
		if (a > 0.0f)
			z += w2[j] * a;
	}
	return mm_sigmoid(z);
}

/*
 * The context stage: the first score s and the number n of other candidates within the
 * context radius whose first score reaches the context floor (calcifications come in
 * clusters, noise and texture do not): sigmoid(a logit(s) + b log(1 + n) + c).
 */
static inline M3_HD float
mm_score_context(float s, int n, float a, float b, float c)
{
	float q = s < 1e-6f ? 1e-6f : s > 1.0f - 1e-6f ? 1.0f - 1e-6f : s;
	return mm_sigmoid(a * logf(q / (1.0f - q)) + b * logf(1.0f + (float)n) + c);
}

/* Gradient-boosted trees: sigmoid(init + rate * sum of the leaves reached). */
static inline M3_HD float
mm_score_trees(const float *f, const struct mm_node *nodes, const int *roots, int ntrees,
	       float init, float rate)
{
	float z = 0.0f;
	for (int t = 0; t < ntrees; t++) {
		int k = roots[t];
		while (nodes[k].feat >= 0)
			k = f[nodes[k].feat] <= nodes[k].thr ? nodes[k].left : nodes[k].right;
		z += nodes[k].value;
	}
	return mm_sigmoid(init + rate * z);
}

/*
 * The sums of one candidate (label lb, bounding box x0..x1, y0..y1) over its pixels and a
 * ring around it: the window of half-width hw around the peak, less the box grown by 2 px
 * and other candidates.  GLCM over the window, 8 levels between its minimum and maximum.
 */
/* The Hessian's eigenvalues of the image smoothed by kernel k at pixel (cx, cy). */
static inline M3_HD void
mm_hessian_at(const float *px, int w, int h, int cx, int cy, const float *k, int r, float *lo,
	      float *hi)
{
	float rv[(2 * MM_KMAX + 3) * 3], sv[9], hxx, hyy, hxy;

	for (int j = 0; j < 2 * r + 3; j++) {
		int y = cy - r - 1 + j;
		y = y < 0 ? 0 : y >= h ? h - 1 : y;
		for (int d = 0; d < 3; d++) {
			int x = cx - 1 + d;
			x = x < 0 ? 0 : x >= w ? w - 1 : x;
			rv[j * 3 + d] = mm_conv_at(px + (long)y * w, 1, w, x, k, r);
		}
	}
	for (int dy = 0; dy < 3; dy++)
		for (int d = 0; d < 3; d++)
			sv[dy * 3 + d] = mm_conv_sym(rv + (r + dy) * 3 + d, 3, k, r);
	mm_hessian(sv[0], sv[1], sv[2], sv[3], sv[4], sv[5], sv[6], sv[7], sv[8], &hxx, &hyy, &hxy);
	mm_eig2(hxx, hyy, hxy, lo, hi);
}

/*
 * The matched filter of a small spot at (cx, cy): the image correlated with a binomial spot
 * of order n (n + 1 taps a side, sigma sqrt(n) / 2 px) less its mean over the box of n + 5
 * pixels a side (a flat or sloped background gives 0), over the kernel's norm: the response
 * in pixel units whose noise is the pixel noise.  Borders clamped.  n even, <= MM_MF_NMAX.
 */
#define MM_MF_NMAX 24
static inline M3_HD double
mm_mf_at(const float *px, int w, int h, int cx, int cy, int n)
{
	double b[MM_MF_NMAX + 1], sb = 0, sbb = 0, acc = 0, box = 0;
	int r = n / 2, m = r + 2, nb = (2 * m + 1) * (2 * m + 1);

	b[0] = 1;
	for (int i = 0; i < n; i++)
		b[i + 1] = b[i] * (n - i) / (i + 1);
	for (int i = 0; i <= n; i++) {
		sb += b[i];
		sbb += b[i] * b[i];
	}
	for (int dy = -m; dy <= m; dy++) {
		int y = cy + dy < 0 ? 0 : cy + dy >= h ? h - 1 : cy + dy;
		const float *row = px + (long)y * w;
		for (int dx = -m; dx <= m; dx++) {
			int x = cx + dx < 0 ? 0 : cx + dx >= w ? w - 1 : cx + dx;
			double v = row[x];
			box += v;
			if (dx >= -r && dx <= r && dy >= -r && dy <= r)
				acc += b[dx + r] * b[dy + r] * v;
		}
	}
	sb *= sb;
	sbb *= sbb;
	return (acc - sb / nb * box) / sqrt(sbb - sb * sb / nb);
}

static inline M3_HD void
mm_cand_sums(const float *px, const float *enh, const float *noise, const float *qnoise,
	     const int *lab, int w, int h, int lb, int x0, int y0, int x1, int y1, int hw,
	     const float *k, int r, struct mm_sums *s, int *peak)
{
	int pk = y0 * w + x0, wx0, wy0, wx1, wy1;
	float lo = 3.4e38f, hi = -3.4e38f, nsum = 0.0f;
	int nn = 0;

	s->n = s->sx = s->sy = s->sxx = s->syy = s->sxy = s->si = s->senh = 0;
	s->rn = s->ri = s->rii = s->rhp = 0;
	s->peak_enh = -3.4e38f;
	for (int y = y0; y <= y1; y++)
		for (int x = x0; x <= x1; x++) {
			int i = y * w + x;
			if (lab[i] != lb)
				continue;
			double dx = x - x0, dy = y - y0;
			s->n += 1;
			s->sx += dx;
			s->sy += dy;
			s->sxx += dx * dx;
			s->syy += dy * dy;
			s->sxy += dx * dy;
			s->si += px[i];
			s->senh += enh[i];
			if (enh[i] > s->peak_enh) {
				s->peak_enh = enh[i];
				pk = i;
			}
		}
	*peak = pk;
	s->peak_noise = noise[pk];
	s->peak_q = qnoise[pk];
	s->peak_px = px[pk];
	mm_hessian_at(px, w, h, pk % w, pk / w, k, r, &s->hlo, &s->hhi);
	s->bw = x1 - x0 + 1;
	s->bh = y1 - y0 + 1;
	{
		int cx = pk % w, cy = pk / w;
		for (int dy = -1; dy <= 1; dy++)
			for (int dx = -1; dx <= 1; dx++) {
				int xx = cx + dx, yy = cy + dy;
				if ((dx || dy) && xx >= 0 && yy >= 0 && xx < w && yy < h) {
					nsum += px[yy * w + xx];
					nn++;
				}
			}
		s->sharp = nn ? px[pk] - nsum / nn : 0.0f;
		s->mf[0] = s->mf[1] = -1e300;
		for (int dy = -1; dy <= 1; dy++)
			for (int dx = -1; dx <= 1; dx++) {
				double a = mm_mf_at(px, w, h, cx + dx, cy + dy, 4),
				       b = mm_mf_at(px, w, h, cx + dx, cy + dy, 8);
				s->mf[0] = a > s->mf[0] ? a : s->mf[0];
				s->mf[1] = b > s->mf[1] ? b : s->mf[1];
			}
		s->mf[2] = mm_mf_at(px, w, h, cx, cy, MM_MF_NMAX);
		s->n8 = nn ? nsum / nn : px[pk];
		wx0 = cx - hw > 0 ? cx - hw : 0;
		wy0 = cy - hw > 0 ? cy - hw : 0;
		wx1 = cx + hw < w - 1 ? cx + hw : w - 1;
		wy1 = cy + hw < h - 1 ? cy + hw : h - 1;
	}
	for (int y = wy0; y <= wy1; y++)
		for (int x = wx0; x <= wx1; x++) {
			float v = px[y * w + x];
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
			if (x >= x0 - 2 && x <= x1 + 2 && y >= y0 - 2 && y <= y1 + 2)
				continue;
			if (lab[y * w + x] != 0)
				continue;
			s->rn += 1;
			s->ri += v;
			s->rii += (double)v * v;
			{
				const float *r0 = px + (long)(y > 0 ? y - 1 : 0) * w,
					    *r1 = px + (long)y * w,
					    *r2 = px + (long)(y < h - 1 ? y + 1 : y) * w;
				int xa = x > 0 ? x - 1 : 0, xb = x < w - 1 ? x + 1 : x;
				s->rhp += mm_highpass(r0[xa], r0[x], r0[xb], r1[xa], r1[x], r1[xb],
						      r2[xa], r2[x], r2[xb]);
			}
		}
	for (int i = 0; i < MM_GLCM_LEVELS * MM_GLCM_LEVELS; i++)
		s->glcm[i] = 0;
	{
		float q = hi > lo ? (MM_GLCM_LEVELS - 0.001f) / (hi - lo) : 0.0f;
		for (int y = wy0; y <= wy1; y++)
			for (int x = wx0; x <= wx1; x++) {
				int a = (int)((px[y * w + x] - lo) * q);
				if (x < wx1) {
					int b = (int)((px[y * w + x + 1] - lo) * q);
					s->glcm[a * MM_GLCM_LEVELS + b] += 1;
					s->glcm[b * MM_GLCM_LEVELS + a] += 1;
				}
				if (y < wy1) {
					int b = (int)((px[(y + 1) * w + x] - lo) * q);
					s->glcm[a * MM_GLCM_LEVELS + b] += 1;
					s->glcm[b * MM_GLCM_LEVELS + a] += 1;
				}
			}
	}
}

#endif
