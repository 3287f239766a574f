/* m3-mammo input: checks that a volume is a 2D mammogram and converts it to float. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mammo.h"

#define MM_MIN_MM 10.0 /* an image narrower than this is no mammogram */
#define MM_MIN_PX 16
#define MM_LABEL_VALUES 8 /* a uint8 image with this few values is a label volume */

double
mm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double
vnorm(const double *d)
{
	return sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
}

static int
check_shape(const struct m3_vol *v, struct m3_err *e)
{
	if (v->rgb)
		return m3_err_set(e, M3_EDATA, "an RGB image, not a grey-level mammogram");
	if (v->dim == 3 && v->sizes[2] != 1)
		return m3_err_set(e, M3_EDATA, "a 3D volume (%zux%zux%zu), not a 2D mammogram",
				  v->sizes[0], v->sizes[1], v->sizes[2]);
	if (v->dim != 2 && v->dim != 3)
		return m3_err_set(e, M3_EDATA, "dimension %u, not a 2D mammogram", v->dim);
	if (m3_vol_get(v, "m3-labels") != NULL)
		return m3_err_set(e, M3_EDATA, "a label volume (m3-labels), not a mammogram");
	if (v->sizes[0] < MM_MIN_PX || v->sizes[1] < MM_MIN_PX)
		return m3_err_set(e, M3_EDATA, "image of %zux%zu pixels is too small", v->sizes[0],
				  v->sizes[1]);
	return M3_OK;
}

static int
check_labels_u8(const uint8_t *p, size_t n, struct m3_err *e)
{
	unsigned char seen[256] = {0};
	unsigned distinct = 0;

	for (size_t i = 0; i < n && distinct <= MM_LABEL_VALUES; i++)
		if (!seen[p[i]]) {
			seen[p[i]] = 1;
			distinct++;
		}
	if (distinct <= MM_LABEL_VALUES)
		return m3_err_set(e, M3_EDATA,
				  "uint8 image with %u distinct values looks like a label volume",
				  distinct);
	return M3_OK;
}

static int
convert(float *dst, const struct m3_vol *v, size_t n, size_t w, float *lo, float *hi,
	struct m3_err *e)
{
	/* one loop per type, the extremes kept in the source type (integer min and max
	 * vectorise; no integer is NaN) */
#define CONV(T)                                                                                    \
	do {                                                                                       \
		const T *s = (const T *)v->data;                                                   \
		T a = s[0], b = s[0];                                                              \
		for (size_t i = 0; i < n; i++) {                                                   \
			dst[i] = (float)s[i];                                                      \
			a = s[i] < a ? s[i] : a;                                                   \
			b = s[i] > b ? s[i] : b;                                                   \
		}                                                                                  \
		*lo = (float)a;                                                                    \
		*hi = (float)b;                                                                    \
	} while (0)
	switch (v->type) {
	case M3_UINT8:
		CONV(uint8_t);
		return M3_OK;
	case M3_INT16:
		CONV(int16_t);
		return M3_OK;
	case M3_UINT16:
		CONV(uint16_t);
		return M3_OK;
	case M3_INT32:
		CONV(int32_t);
		return M3_OK;
	case M3_UINT32:
		CONV(uint32_t);
		return M3_OK;
	case M3_FLOAT:
		break;
	default:
		return m3_err_set(e, M3_EDATA, "unsupported type");
	}
#undef CONV
	const float *s = (const float *)v->data;
	*lo = *hi = s[0];
	for (size_t i = 0; i < n; i++) {
		float x = s[i];
		if (!isfinite(x))
			return m3_err_set(e, M3_EDATA, "pixel (%zu,%zu) is %s", i % w, i / w,
					  isnan(x) ? "NaN" : "infinite");
		dst[i] = x;
		*lo = x < *lo ? x : *lo;
		*hi = x > *hi ? x : *hi;
	}
	return M3_OK;
}

static void
spacing(struct mm_image *im, const struct m3_vol *v)
{
	im->sx = im->sy = 0.1;
	if (v->has_space) {
		double a = vnorm(v->dirs[0]), b = vnorm(v->dirs[1]);
		if (a > 0 && isfinite(a) && b > 0 && isfinite(b)) {
			im->sx = a;
			im->sy = b;
		}
	}
}

int
mm_image_from_vol(struct mm_image *im, const struct m3_vol *v, struct m3_err *e)
{
	const char *win;
	size_t n;

	memset(im, 0, sizeof(*im));
	if (check_shape(v, e) != M3_OK)
		return e->code;
	im->w = v->sizes[0];
	im->h = v->sizes[1];
	n = im->w * im->h;
	spacing(im, v);
	if (im->w * im->sx < MM_MIN_MM || im->h * im->sy < MM_MIN_MM)
		return m3_err_set(e, M3_EDATA, "image is %.1f x %.1f mm, smaller than %g mm",
				  im->w * im->sx, im->h * im->sy, MM_MIN_MM);
	if (v->type == M3_UINT8 && check_labels_u8(v->data, n, e) != M3_OK)
		return e->code;
	if ((im->px = m3_alloc_big(n * sizeof(float))) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	if (convert(im->px, v, n, im->w, &im->vmin, &im->vmax, e) != M3_OK) {
		mm_image_release(im);
		return e->code;
	}
	if (im->vmin == im->vmax) {
		mm_image_release(im);
		return m3_err_set(e, M3_EDATA, "constant image (every pixel is %g)", im->vmin);
	}
	win = m3_vol_get(v, "m3-window");
	if (win != NULL && sscanf(win, "%lf/%lf", &im->wc, &im->ww) == 2 && isfinite(im->wc) &&
	    isfinite(im->ww) && im->ww > 0)
		im->has_window = 1;
	im->series = m3_vol_get(v, "m3-series");
	im->laterality = m3_vol_get(v, "m3-laterality");
	im->view = m3_vol_get(v, "m3-view");
	return M3_OK;
}

void
mm_image_release(struct mm_image *im)
{
	free(im->px);
	im->px = NULL;
}
