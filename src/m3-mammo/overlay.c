/* m3-mammo overlay: the image windowed to 8 bits as an indexed PNG (240 greys and a few
 * colours, so one byte a pixel), marks and ids for calcifications, outlines for clusters. */
#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "font.h"
#include "mammo.h"

enum { GREYS = 240, C_RED = 240, C_YELLOW, C_BLACK, C_WHITE, C_CYAN, NCOLOURS };

struct canvas {
	unsigned char *p;
	int w, h;
};

static void
dot(struct canvas *c, int x, int y, unsigned char col)
{
	if (x >= 0 && y >= 0 && x < c->w && y < c->h)
		c->p[(size_t)y * c->w + x] = col;
}

static void
circle(struct canvas *c, double cx, double cy, double r, int thick, unsigned char col)
{
	int steps = (int)(2 * 3.14159265 * (r + thick) * 1.5) + 16;
	for (int t = 0; t < thick; t++)
		for (int i = 0; i < steps; i++) {
			double a = 2 * 3.14159265358979 * i / steps;
			dot(c, (int)lround(cx + (r + t) * cos(a)),
			    (int)lround(cy + (r + t) * sin(a)), col);
		}
}

static void
text(struct canvas *c, int x, int y, const char *s, int mag, unsigned char col)
{
	for (; *s; s++, x += (MM_FONT_W + 1) * mag) {
		const unsigned char *g = mm_glyph(*s);
		if (g == NULL)
			continue;
		for (int r = 0; r < MM_FONT_H; r++)
			for (int b = 0; b < MM_FONT_W; b++)
				if (g[r] & (0x10 >> b))
					for (int dy = 0; dy < mag; dy++)
						for (int dx = 0; dx < mag; dx++)
							dot(c, x + b * mag + dx, y + r * mag + dy,
							    col);
	}
}

/* Text with a black outline, legible on any grey. */
static void
label(struct canvas *c, int x, int y, const char *s, int mag, unsigned char col)
{
	for (int dy = -1; dy <= 1; dy++)
		for (int dx = -1; dx <= 1; dx++)
			if (dx || dy)
				text(c, x + dx * mag, y + dy * mag, s, mag, C_BLACK);
	text(c, x, y, s, mag, col);
}

static int
cmpf(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

/* The grey window: the DICOM window when the stream has one, else the 0.5 and 99.5
 * percentiles of the breast. */
static void
window(const struct mm_image *im, const struct mm_mask *mk, double *lo, double *hi)
{
	size_t n = im->w * im->h, step = n / 100000 + 1, k = 0;
	float *v;

	*lo = im->vmin;
	*hi = im->vmax;
	if (im->has_window) {
		*lo = im->wc - im->ww / 2;
		*hi = im->wc + im->ww / 2;
		return;
	}
	if ((v = malloc((n / step + 1) * sizeof(float))) == NULL)
		return;
	for (size_t i = 0; i < n; i += step)
		if (mk == NULL || mm_mask_at(mk, i % im->w, i / im->w) != 0)
			v[k++] = im->px[i];
	if (k > 10) {
		qsort(v, k, sizeof(float), cmpf);
		*lo = v[k / 200];
		*hi = v[k - 1 - k / 200];
	}
	free(v);
	if (*hi <= *lo)
		*hi = *lo + 1;
}

static void
render(struct canvas *c, const struct mm_image *im, double scale, double lo, double hi)
{
	double g = (GREYS - 1) / (hi - lo), inv = 1.0 / scale;

	for (int y = 0; y < c->h; y++) {
		size_t sy0 = (size_t)(y * inv), sy1 = (size_t)((y + 1) * inv);
		sy1 = sy1 > sy0 ? (sy1 < im->h ? sy1 : im->h) : sy0 + 1;
		for (int x = 0; x < c->w; x++) {
			size_t sx0 = (size_t)(x * inv), sx1 = (size_t)((x + 1) * inv);
			double s = 0;
			sx1 = sx1 > sx0 ? (sx1 < im->w ? sx1 : im->w) : sx0 + 1;
			for (size_t yy = sy0; yy < sy1; yy++)
				for (size_t xx = sx0; xx < sx1; xx++)
					s += im->px[yy * im->w + xx];
			s = (s / (double)((sy1 - sy0) * (sx1 - sx0)) - lo) * g;
			c->p[(size_t)y * c->w + x] = (unsigned char)(s < 0           ? 0
								     : s > GREYS - 1 ? GREYS - 1
										     : s + 0.5);
		}
	}
}

static void
marks(struct canvas *c, const struct mm_image *im, const struct mm_result *r, double scale)
{
	int mag = c->w < c->h ? c->w / 500 : c->h / 500;
	int thick = mag < 1 ? 1 : mag;
	char buf[32];

	mag = mag < 1 ? 1 : mag;
	for (size_t i = 0; i < r->nclusters; i++) {
		const struct mm_cluster *q = &r->clusters[i];
		double rad = hypot(q->x1 - q->x0, q->y1 - q->y0) / 2 * scale + 10 * thick;
		circle(c, q->cx * scale, q->cy * scale, rad, thick, C_YELLOW);
		snprintf(buf, sizeof(buf), "C%d", q->id);
		label(c, (int)(q->cx * scale - 6 * mag), (int)(q->cy * scale - rad - 9 * mag), buf,
		      mag, C_YELLOW);
	}
	for (size_t i = 0; i < r->ncalc; i++) {
		const struct mm_cand *q = &r->cand[i];
		double rad = q->f[MM_F_DIAM] / im->sx / 2 * scale + 3 + 2 * thick;
		circle(c, q->cx * scale, q->cy * scale, rad, thick, C_RED);
		snprintf(buf, sizeof(buf), "%d", q->id);
		label(c, (int)(q->cx * scale + rad + 2 * thick), (int)(q->cy * scale - 3 * mag),
		      buf, mag, C_CYAN);
	}
	snprintf(buf, sizeof(buf), "%s %s", im->laterality ? im->laterality : "",
		 im->view ? im->view : "");
	label(c, 4 * mag, 4 * mag, buf, mag, C_WHITE);
}

static int
png_out(FILE *f, const struct canvas *c, int zlevel, struct m3_err *e)
{
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	png_color pal[NCOLOURS];
	png_bytep *rows = malloc((size_t)c->h * sizeof(png_bytep));

	if (png == NULL || info == NULL || rows == NULL) {
		png_destroy_write_struct(&png, &info);
		free(rows);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	for (int i = 0; i < GREYS; i++)
		pal[i].red = pal[i].green = pal[i].blue = (png_byte)(i * 255 / (GREYS - 1));
	pal[C_RED] = (png_color){255, 40, 40};
	pal[C_YELLOW] = (png_color){255, 220, 0};
	pal[C_BLACK] = (png_color){0, 0, 0};
	pal[C_WHITE] = (png_color){255, 255, 255};
	pal[C_CYAN] = (png_color){0, 230, 255};
	for (int y = 0; y < c->h; y++)
		rows[y] = c->p + (size_t)y * c->w;
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		free(rows);
		return m3_err_set(e, M3_EIO, "PNG write failed");
	}
	png_init_io(png, f);
	png_set_IHDR(png, info, (png_uint_32)c->w, (png_uint_32)c->h, 8, PNG_COLOR_TYPE_PALETTE,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_set_PLTE(png, info, pal, NCOLOURS);
	/* speed over size: zlib level 1-3 and no filter (the usual choice for palette images) */
	png_set_compression_level(png, zlevel);
	png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
	png_write_info(png, info);
	png_write_image(png, rows);
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	free(rows);
	if (fflush(f) != 0 || ferror(f))
		return m3_err_set(e, M3_EIO, "write error");
	return M3_OK;
}

int
mm_overlay_write(FILE *f, const struct mm_image *im, const struct mm_mask *mk,
		 const struct mm_result *r, const struct mm_overlay_opts *o, struct m3_err *e)
{
	struct canvas c;
	double lo, hi;
	int rc;

	c.w = (int)fmax(1.0, floor(im->w * o->scale + 0.5));
	c.h = (int)fmax(1.0, floor(im->h * o->scale + 0.5));
	if ((c.p = malloc((size_t)c.w * c.h)) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	window(im, mk, &lo, &hi);
	render(&c, im, (double)c.w / im->w, lo, hi);
	marks(&c, im, r, (double)c.w / im->w);
	rc = png_out(f, &c, o->zlevel, e);
	free(c.p);
	return rc;
}
