/* m3-mammo: the detector's data structures and the stages that main.c calls in turn. */
#ifndef MAMMO_H
#define MAMMO_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "m3/err.h"
#include "m3/pool.h"
#include "m3/vol.h"
#include "mmath.h"

/* What a radiologist tunes, and the fixed shape of the pipeline. */
struct mm_params {
	double threshold; /* classifier score to report a calcification, 0..1 */
	double min_diam_mm; /* smallest equivalent diameter reported */
	double max_diam_mm; /* largest candidate kept (bigger is a mass, not a calcification) */
	int cluster_count; /* calcifications that make a cluster */
	double cluster_area_mm2; /* ... within this area */
	double cluster_support; /* score from which candidates may complete a cluster */
	double k_sigma; /* candidate pixels: enhanced value over k local noise */
	double k_peak; /* ... in a spot whose peak reaches k_peak local noise */
	double skin_margin_mm; /* no candidates this close to the skin line */
	int features; /* emit every candidate's feature vector (training) */
};

void mm_params_default(struct mm_params *p);

/* The classifier: standardised logistic regression, gradient-boosted trees or a one-hidden-layer
 * perceptron (the built-in one). */
enum mm_model_kind { MM_LOGISTIC, MM_TREES, MM_MLP };

#define MM_HIDDEN_MAX 64 /* hidden units of an MLP model */

struct mm_model {
	enum mm_model_kind kind;
	char name[64];
	float mean[MM_NFEAT], scale[MM_NFEAT], w[MM_NFEAT], bias;
	float init, rate;
	int nhidden; /* MLP: hidden units; w1 by unit, then feature */
	float w1[MM_HIDDEN_MAX * MM_NFEAT], b1[MM_HIDDEN_MAX], w2[MM_HIDDEN_MAX];
	int ntrees, nnodes;
	struct mm_node *nodes; /* heap, or the embedded model's static array */
	int *roots;
	int owned;
	int ctx; /* a context stage follows (mm_score_context) */
	float ctx_mm, ctx_floor, ctx_a, ctx_b, ctx_c;
};

void mm_model_default(struct mm_model *m);
int mm_model_load(struct mm_model *m, const char *path, struct m3_err *e);
void mm_model_release(struct mm_model *m);
float mm_model_score(const struct mm_model *m, const float *f);
extern const char *const mm_feature_names[MM_NFEAT];

/* One image: float pixels (row-major, x fastest), geometry and identity. */
struct mm_image {
	size_t w, h;
	double sx, sy; /* pixel spacing, mm */
	float *px;
	float vmin, vmax;
	int has_window;
	double wc, ww; /* DICOM window centre and width */
	const char *series, *laterality, *view;
};

/* Checks a volume is a 2D mammogram and converts it; M3_EDATA with one line otherwise. */
int mm_image_from_vol(struct mm_image *im, const struct m3_vol *v, struct m3_err *e);
void mm_image_release(struct mm_image *im);

/* The breast mask at a coarse scale (factor f), pectoral muscle removed, skin distance. */
struct mm_mask {
	size_t f, mw, mh; /* block size and coarse size */
	unsigned char *m; /* coarse mask: 1 breast, 2 pectoral, 0 outside */
	float *skin; /* coarse distance to the skin line, mm */
	float otsu, tissue_median;
	size_t npix, npect; /* full-resolution pixel counts */
	int chest_right; /* chest wall on the right edge */
};

int mm_mask_build(struct mm_mask *mk, const struct mm_image *im, const char *view,
		  struct m3_err *e);
void mm_mask_release(struct mm_mask *mk);
/* Mask value and skin distance at a full-resolution pixel. */
static inline unsigned char
mm_mask_at(const struct mm_mask *mk, size_t x, size_t y)
{
	size_t cx = x / mk->f, cy = y / mk->f;
	if (cx >= mk->mw)
		cx = mk->mw - 1;
	if (cy >= mk->mh)
		cy = mk->mh - 1;
	return mk->m[cy * mk->mw + cx];
}
float mm_skin_at(const struct mm_mask *mk, size_t x, size_t y);

/* One candidate spot and, after classification, a calcification. */
struct mm_cand {
	int label;
	int x0, y0, x1, y1; /* bounding box, inclusive */
	int px, py; /* peak pixel */
	double cx, cy; /* centroid, pixels */
	float f[MM_NFEAT];
	float score;
	int id, cluster; /* 1-based when reported; cluster 0 = none */
};

struct mm_cluster {
	int id, n;
	double cx, cy; /* centre, pixels */
	double x0, y0, x1, y1; /* member extent, pixels */
	double score;
};

/* Scratch buffers of the enhancement and detection stages. */
struct mm_work {
	float *enh; /* enhanced image: small-scale minus large-scale smoothing */
	float *noise; /* local noise */
	float *tmp, *tmp2;
	float *qnoise; /* the quantum part of the noise (aliases tmp after the enhancement) */
	int *lab; /* candidate labels, 0 none */
	unsigned char *cmask; /* full-resolution search mask */
	float noise_median;
};

struct mm_timing {
	double mask, enhance, detect, features, classify, cluster, overlay, total;
};

struct mm_result {
	struct mm_cand *cand;
	size_t ncand, ncalc, nclusters;
	struct mm_cluster *clusters;
	const char *device;
	struct mm_timing t;
};

void mm_result_release(struct mm_result *r);

/* CPU stages. */
int mm_enhance_cpu(struct mm_work *wk, const struct mm_image *im, const struct mm_mask *mk,
		   const struct mm_params *p, struct m3_pool *pool, struct m3_err *e);
int mm_detect(struct mm_result *r, struct mm_work *wk, const struct mm_image *im,
	      const struct mm_params *p, struct m3_err *e);
void mm_features_cpu(struct mm_result *r, const struct mm_work *wk, const struct mm_image *im,
		     const struct mm_mask *mk, struct m3_pool *pool);
void mm_work_release(struct mm_work *wk);
/* Scores, thresholds by score and size, numbers the calcifications. */
void mm_classify(struct mm_result *r, const struct mm_model *m, const struct mm_params *p,
		 const struct mm_image *im);
int mm_cluster(struct mm_result *r, const struct mm_image *im, const struct mm_params *p,
	       struct m3_err *e);

/* The whole pipeline on one image; device "cpu" or "cuda". */
int mm_run(struct mm_result *r, const struct mm_image *im, const struct mm_params *p,
	   const struct mm_model *m, int use_cuda, struct m3_pool *pool, struct mm_mask *mk,
	   struct m3_err *e);
/* Labels from the candidate bitmap that the CUDA path leaves in wk->lab. */
int mm_detect_bitmap(struct mm_result *r, struct mm_work *wk, const struct mm_image *im,
		     const struct mm_params *p, struct m3_err *e);

int mm_work_alloc(struct mm_work *wk, size_t n, struct m3_err *e);
void mm_search_mask(unsigned char *cm, const struct mm_image *im, const struct mm_mask *mk,
		    double margin);
float mm_noise_median(const float *noise, const unsigned char *cm, size_t n);

/* Scales in mm: the spot filter's smoothing, and the window of the local noise; the weight
 * of the anatomy's part of the noise. */
#define MM_SIGMA_SPOT_MM 0.1
#define MM_NOISE_MM 1.5
#define MM_TEXTURE_WEIGHT 1.0

/* The enhancement's constants for one image (both devices compute them alike). */
struct mm_consts {
	float k[MM_KMAX + 1]; /* spot kernel, k[0] the centre */
	int r;
	float cq, ct; /* quantum and anatomy noise factors (mm_noise2) */
	size_t f, cw, ch; /* the noise's cells: f x f pixels, cw x ch of them */
	size_t rc; /* noise window radius, cells */
};
void mm_consts_init(struct mm_consts *k, const struct mm_image *im);

/*
 * CUDA path (cuda.cu): enhancement and the candidate test on the GPU (wk->enh, wk->noise
 * and the candidate bitmap in wk->lab come back), labels on the host, the candidates' sums
 * on the GPU.  mm_cuda_available() is 0 when no GPU (or no nvcc) is there, with the reason.
 */
struct mm_cuda;
int mm_cuda_available(char *what, size_t n);
int mm_cuda_open(struct mm_cuda **g, size_t w, size_t h, struct m3_err *e);
void mm_cuda_close(struct mm_cuda *g);
int mm_cuda_enhance(struct mm_cuda *g, struct mm_work *wk, const struct mm_image *im, float k,
		    struct m3_err *e);
int mm_cuda_features(struct mm_cuda *g, struct mm_result *r, const struct mm_work *wk,
		     const struct mm_image *im, const struct mm_mask *mk, struct m3_err *e);
/* Host side of a candidate's features once its sums are known (shared by both paths). */
void mm_features_finish(struct mm_cand *c, struct mm_sums *s, int peak, const struct mm_work *wk,
			const struct mm_image *im, const struct mm_mask *mk);
int mm_feature_window(const struct mm_image *im);

/* Output. */
void mm_json_write(FILE *f, const struct mm_result *r, const struct mm_image *im,
		   const struct mm_params *p, unsigned long index, unsigned threads);
struct mm_overlay_opts {
	double scale;
	int zlevel;
};
int mm_overlay_write(FILE *f, const struct mm_image *im, const struct mm_mask *mk,
		     const struct mm_result *r, const struct mm_overlay_opts *o,
		     struct m3_pool *pool, struct m3_err *e);

double mm_now(void);

#ifdef __cplusplus
}
#endif

#endif
