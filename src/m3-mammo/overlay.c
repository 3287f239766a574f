/* m3-mammo overlay: the image windowed to 8 bits as an indexed PNG (240 greys and a few
 * colours, so one byte a pixel), marks and ids for calcifications, outlines for clusters.
 * Rendering and deflate are split over the thread pool: the canvas is laid out as the PNG's
 * scanlines (a filter byte, 0, before each row), deflated in pieces that join into one zlib
 * stream, and libpng writes the chunks around it. */
#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "font.h"
#include "mammo.h"

enum { GREYS = 240, C_RED = 240, C_YELLOW, C_BLACK, C_WHITE, C_CYAN, NCOLOURS };

struct canvas {
	unsigned char *buf; /* h rows of 1 + w bytes: the PNG's filter byte, then the pixels */
	int w, h;
};

static inline unsigned char *
row_at(const struct canvas *c, int y)
{
	return c->buf + (size_t)y * ((size_t)c->w + 1) + 1;
}

static void
dot(struct canvas *c, int x, int y, unsigned char col)
{
	if (x >= 0 && y >= 0 && x < c->w && y < c->h)
		row_at(c, y)[x] = col;
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

struct render_ctx {
	struct canvas *c;
	const struct mm_image *im;
	double inv, lo, g;
	size_t nblock;
};

/* Rows of block `item`: each output pixel the mean of the source pixels it covers. */
static void
render_block(void *vctx, size_t item, unsigned worker)
{
	const struct render_ctx *x = vctx;
	const struct mm_image *im = x->im;
	struct canvas *c = x->c;
	int y0 = (int)(item * (size_t)c->h / x->nblock),
	    y1 = (int)((item + 1) * (size_t)c->h / x->nblock);
	(void)worker;

	if (c->w == (int)im->w && c->h == (int)im->h) { /* full size: a pixel each */
		double lo = x->lo, g = x->g; /* in double, as below: the same greys */
		for (int y = y0; y < y1; y++) {
			const float *src = im->px + (size_t)y * im->w;
			unsigned char *out = row_at(c, y);
			out[-1] = 0; /* PNG filter: none */
			for (int xo = 0; xo < c->w; xo++) {
				double s = (src[xo] - lo) * g;
				out[xo] = (unsigned char)(s < 0           ? 0
							  : s > GREYS - 1 ? GREYS - 1
									  : s + 0.5);
			}
		}
		return;
	}
	for (int y = y0; y < y1; y++) {
		size_t sy0 = (size_t)(y * x->inv), sy1 = (size_t)((y + 1) * x->inv);
		unsigned char *out = row_at(c, y);
		sy1 = sy1 > sy0 ? (sy1 < im->h ? sy1 : im->h) : sy0 + 1;
		out[-1] = 0; /* PNG filter: none */
		for (int xo = 0; xo < c->w; xo++) {
			size_t sx0 = (size_t)(xo * x->inv), sx1 = (size_t)((xo + 1) * x->inv);
			double s = 0;
			sx1 = sx1 > sx0 ? (sx1 < im->w ? sx1 : im->w) : sx0 + 1;
			if (sy1 - sy0 == 1 && sx1 - sx0 == 1) {
				s = im->px[sy0 * im->w + sx0];
			} else {
				for (size_t yy = sy0; yy < sy1; yy++)
					for (size_t xx = sx0; xx < sx1; xx++)
						s += im->px[yy * im->w + xx];
				s /= (double)((sy1 - sy0) * (sx1 - sx0));
			}
			s = (s - x->lo) * x->g;
			out[xo] = (unsigned char)(s < 0 ? 0 : s > GREYS - 1 ? GREYS - 1 : s + 0.5);
		}
	}
}

static void
render(struct canvas *c, const struct mm_image *im, double scale, double lo, double hi,
       struct m3_pool *pool)
{
	struct render_ctx x = {c, im, 1.0 / scale, lo, (GREYS - 1) / (hi - lo), 0};

	x.nblock = c->h < 64 ? (size_t)c->h : 64;
	m3_pool_run(pool, render_block, &x, x.nblock);
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

/* Pieces of the scanlines, deflated on their own (raw deflate, no shared history) and ended
 * by a sync flush, the last by the end of the stream: joined, one deflate stream. */
#define ZPIECE (2u << 20)

struct zpar {
	const unsigned char *in;
	size_t n, npieces;
	int level;
	unsigned char **out;
	size_t *outlen;
	uLong *adler;
	int *bad;
};

static void
deflate_piece(void *vctx, size_t i, unsigned worker)
{
	struct zpar *z = vctx;
	size_t a = i * ZPIECE, len = a + ZPIECE < z->n ? ZPIECE : z->n - a;
	int last = i + 1 == z->npieces;
	z_stream s;
	(void)worker;

	memset(&s, 0, sizeof(s));
	z->adler[i] = adler32(adler32(0L, Z_NULL, 0), z->in + a, (uInt)len);
	if (deflateInit2(&s, z->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		z->bad[i] = 1;
		return;
	}
	/* a bound for the piece plus the flush's few bytes */
	size_t cap = deflateBound(&s, (uLong)len) + 16;
	if ((z->out[i] = malloc(cap)) == NULL) {
		deflateEnd(&s);
		z->bad[i] = 1;
		return;
	}
	s.next_in = (Bytef *)(uintptr_t)(z->in + a);
	s.avail_in = (uInt)len;
	s.next_out = z->out[i];
	s.avail_out = (uInt)cap;
	z->bad[i] = deflate(&s, last ? Z_FINISH : Z_SYNC_FLUSH) != (last ? Z_STREAM_END : Z_OK) ||
		    s.avail_in != 0 || s.avail_out == 0; /* no room left: the flush may be cut */
	z->outlen[i] = cap - s.avail_out;
	deflateEnd(&s);
}

/* libpng's errors end in our one line, not on stderr of their own: its message goes into the
 * caller's m3_err (outside png_out's frame, so well defined after the jump back), then the jump;
 * warnings (none expected for what we write) are dropped. */
static void
png_err(png_structp png, png_const_charp msg)
{
	m3_err_set(png_get_error_ptr(png), M3_EIO, "PNG: %s", msg);
	png_longjmp(png, 1);
}

static void
png_warn(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

/* The chunks: signature, IHDR and PLTE by libpng, then the zlib stream as IDATs of at most
 * 1 MiB, and IEND (png_write_chunk puts the length and CRC around each). */
static int
png_out(FILE *f, const struct canvas *c, int zlevel, struct m3_pool *pool, struct m3_err *e)
{
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, e, png_err, png_warn);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	png_color pal[NCOLOURS];
	struct zpar z;
	unsigned char *zs = NULL;
	size_t zn = 0;
	uLong adler = 1;
	int rc = M3_OK;

	memset(&z, 0, sizeof(z));
	z.in = c->buf;
	z.n = (size_t)c->h * ((size_t)c->w + 1);
	z.npieces = (z.n + ZPIECE - 1) / ZPIECE;
	z.level = zlevel;
	z.out = calloc(z.npieces, sizeof(*z.out));
	z.outlen = calloc(z.npieces, sizeof(*z.outlen));
	z.adler = calloc(z.npieces, sizeof(*z.adler));
	z.bad = calloc(z.npieces, sizeof(*z.bad));
	if (png == NULL || info == NULL || z.out == NULL || z.outlen == NULL || z.adler == NULL ||
	    z.bad == NULL) {
		rc = m3_err_set(e, M3_ENOMEM, "out of memory");
		goto done;
	}
	m3_pool_run(pool, deflate_piece, &z, z.npieces);
	zn = 2 + 4;
	for (size_t i = 0; i < z.npieces; i++) {
		if (z.bad[i]) {
			rc = m3_err_set(e, M3_ENOMEM, "deflate failed (out of memory)");
			goto done;
		}
		zn += z.outlen[i];
		adler = adler32_combine(adler, z.adler[i],
					(z_off_t)(i + 1 < z.npieces ? ZPIECE : z.n - i * ZPIECE));
	}
	if ((zs = malloc(zn)) == NULL) {
		rc = m3_err_set(e, M3_ENOMEM, "out of memory");
		goto done;
	}
	zs[0] = 0x78; /* deflate, 32 KiB window */
	zs[1] = 0x01; /* no dictionary, fastest; 0x7801 is a multiple of 31 */
	{
		size_t k = 2;
		for (size_t i = 0; i < z.npieces; i++) {
			memcpy(zs + k, z.out[i], z.outlen[i]);
			k += z.outlen[i];
		}
		for (int b = 3; b >= 0; b--)
			zs[k++] = (unsigned char)(adler >> (8 * b));
	}
	for (int i = 0; i < GREYS; i++)
		pal[i].red = pal[i].green = pal[i].blue = (png_byte)(i * 255 / (GREYS - 1));
	pal[C_RED] = (png_color){255, 40, 40};
	pal[C_YELLOW] = (png_color){255, 220, 0};
	pal[C_BLACK] = (png_color){0, 0, 0};
	pal[C_WHITE] = (png_color){255, 255, 255};
	pal[C_CYAN] = (png_color){0, 230, 255};
	if (setjmp(png_jmpbuf(png))) {
		int err = errno;
		/* libpng's write function says only "Write Error": errno says why */
		rc = err != 0 && ferror(f) ? m3_err_set(e, M3_EIO, "%s", strerror(err)) : e->code;
		goto done;
	}
	errno = 0;
	png_init_io(png, f);
	png_set_IHDR(png, info, (png_uint_32)c->w, (png_uint_32)c->h, 8, PNG_COLOR_TYPE_PALETTE,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_set_PLTE(png, info, pal, NCOLOURS);
	png_write_info(png, info);
	for (size_t k = 0; k < zn; k += 1u << 20)
		png_write_chunk(png, (png_const_bytep) "IDAT", zs + k,
				zn - k < (1u << 20) ? zn - k : 1u << 20);
	png_write_chunk(png, (png_const_bytep) "IEND", NULL, 0);
	errno = 0;
	if (fflush(f) != 0 || ferror(f))
		rc = m3_err_set(e, M3_EIO, "%s", errno != 0 ? strerror(errno) : "write error");
done:
	png_destroy_write_struct(&png, &info);
	for (size_t i = 0; z.out != NULL && i < z.npieces; i++)
		free(z.out[i]);
	free(z.out);
	free(z.outlen);
	free(z.adler);
	free(z.bad);
	free(zs);
	return rc;
}

int
mm_overlay_write(FILE *f, const struct mm_image *im, const struct mm_mask *mk,
		 const struct mm_result *r, const struct mm_overlay_opts *o, struct m3_pool *pool,
		 struct m3_err *e)
{
	struct canvas c;
	double lo, hi;
	int rc;

	c.w = (int)fmax(1.0, floor(im->w * o->scale + 0.5));
	c.h = (int)fmax(1.0, floor(im->h * o->scale + 0.5));
	if ((c.buf = m3_alloc_big((size_t)c.h * ((size_t)c.w + 1))) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	window(im, mk, &lo, &hi);
	render(&c, im, (double)c.w / im->w, lo, hi, pool);
	marks(&c, im, r, (double)c.w / im->w);
	rc = png_out(f, &c, o->zlevel, pool, e);
	free(c.buf);
	return rc;
}
