/* m3-view: PNG in (checked, text chunks dropped, downscaled for the screen) and PNG out. */
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "view.h"

struct png_src {
	const unsigned char *p;
	size_t n, off;
};

struct png_fail {
	char msg[200];
};

static void
on_error(png_structp png, png_const_charp msg)
{
	struct png_fail *f = png_get_error_ptr(png);

	snprintf(f->msg, sizeof(f->msg), "%s", msg);
	png_longjmp(png, 1);
}

static void
on_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

static void
read_mem(png_structp png, png_bytep out, size_t n)
{
	struct png_src *s = png_get_io_ptr(png);

	if (n > s->n - s->off)
		png_error(png, "truncated data");
	memcpy(out, s->p + s->off, n);
	s->off += n;
}

/* Decodes to 8-bit gray or RGB, alpha and 16 bits dropped: *px (w * h * *channels bytes). */
static int
decode(const struct vbuf *in, const char *name, unsigned char **px, size_t *w, size_t *h,
       int *channels, struct m3_err *e)
{
	struct png_src src = {(const unsigned char *)in->p, in->n, 0};
	struct png_fail fail = {""};
	png_structp png;
	png_infop info;
	png_bytep *volatile rows = NULL;
	unsigned char *volatile buf = NULL;
	png_uint_32 pw, ph;
	int ct;

	png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &fail, on_error, on_warning);
	info = png != NULL ? png_create_info_struct(png) : NULL;
	if (info == NULL) {
		png_destroy_read_struct(&png, NULL, NULL);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_read_struct(&png, &info, NULL);
		free(rows);
		free(buf);
		return m3_err_set(e, M3_EDATA, "%s: bad PNG: %s", name, fail.msg);
	}
	png_set_user_limits(png, 65535, 65535);
	png_set_read_fn(png, &src, read_mem);
	png_read_info(png, info);
	png_set_strip_16(png);
	png_set_strip_alpha(png);
	png_set_palette_to_rgb(png);
	png_set_expand_gray_1_2_4_to_8(png);
	png_set_interlace_handling(png);
	png_read_update_info(png, info);
	pw = png_get_image_width(png, info);
	ph = png_get_image_height(png, info);
	ct = png_get_color_type(png, info);
	*channels = ct == PNG_COLOR_TYPE_GRAY ? 1 : 3;
	if (png_get_rowbytes(png, info) != (size_t)pw * (size_t)*channels)
		png_error(png, "unexpected row layout");
	buf = malloc((size_t)pw * ph * (size_t)*channels);
	rows = malloc(ph * sizeof(*rows));
	if (buf == NULL || rows == NULL)
		png_error(png, "out of memory");
	for (png_uint_32 y = 0; y < ph; y++)
		rows[y] = buf + (size_t)y * pw * (size_t)*channels;
	png_read_image(png, rows);
	png_read_end(png, NULL);
	png_destroy_read_struct(&png, &info, NULL);
	free(rows);
	*px = buf;
	*w = pw;
	*h = ph;
	return M3_OK;
}

/* Copies the chunks a browser needs to draw the image; text, time and Exif chunks (where
 * identifiers could hide) are left out. */
static int
strip_copy(const struct vbuf *in, const char *name, struct vbuf *out, struct m3_err *e)
{
	static const char keep[] = "IHDR PLTE IDAT IEND tRNS gAMA cHRM sRGB iCCP sBIT bKGD pHYs ";
	const unsigned char *u = (const unsigned char *)in->p;
	size_t off = 8;

	if (vbuf_add(out, in->p, 8, e) != M3_OK)
		return e->code;
	while (off + 12 <= in->n) {
		size_t len = (size_t)u[off] << 24 | (size_t)u[off + 1] << 16 |
			     (size_t)u[off + 2] << 8 | u[off + 3];
		char type[6];

		if (len > in->n - off - 12)
			return m3_err_set(e, M3_EDATA, "%s: bad PNG: chunk past the end", name);
		memcpy(type, u + off + 4, 4);
		type[4] = ' ';
		type[5] = '\0';
		if (strstr(keep, type) != NULL && vbuf_add(out, u + off, len + 12, e) != M3_OK)
			return e->code;
		off += len + 12;
		if (memcmp(type, "IEND", 4) == 0)
			return M3_OK;
	}
	return m3_err_set(e, M3_EDATA, "%s: bad PNG: no IEND chunk", name);
}

/* Area-average downscale of a w x h image with c channels to W x H. */
static unsigned char *
downscale(const unsigned char *px, size_t w, size_t h, int c, size_t W, size_t H)
{
	unsigned char *out = malloc(W * H * (size_t)c);
	uint32_t *acc = malloc(W * (size_t)c * sizeof(*acc));

	if (out == NULL || acc == NULL) {
		free(out);
		free(acc);
		return NULL;
	}
	for (size_t Y = 0; Y < H; Y++) {
		size_t y0 = Y * h / H, y1 = (Y + 1) * h / H;

		if (y1 <= y0)
			y1 = y0 + 1;
		memset(acc, 0, W * (size_t)c * sizeof(*acc));
		for (size_t y = y0; y < y1; y++)
			for (size_t X = 0; X < W; X++) {
				size_t x0 = X * w / W, x1 = (X + 1) * w / W;

				if (x1 <= x0)
					x1 = x0 + 1;
				for (size_t x = x0; x < x1; x++)
					for (int k = 0; k < c; k++)
						acc[X * (size_t)c + (size_t)k] +=
							px[(y * w + x) * (size_t)c + (size_t)k];
			}
		for (size_t X = 0; X < W; X++) {
			size_t x0 = X * w / W, x1 = (X + 1) * w / W;
			size_t cnt = (x1 > x0 ? x1 - x0 : 1) * (y1 - y0);

			for (int k = 0; k < c; k++)
				out[(Y * W + X) * (size_t)c + (size_t)k] =
					(unsigned char)((acc[X * (size_t)c + (size_t)k] + cnt / 2) /
							cnt);
		}
	}
	free(acc);
	return out;
}

/*
 * An RGB overlay that is a gray image with a few coloured marks (what m3-mammo draws) is split
 * into a gray image and an RGBA layer of the marks alone: about half the bytes, and brightness
 * and contrast then change the image, not the marks.  px becomes gray in place; *marks is set
 * (RGBA) when there are coloured pixels, NULL when there are none.  Returns 0, or -1 when the
 * image has too much colour to split (it stays RGB).
 */
static int
split_marks(unsigned char *px, size_t n, unsigned char **marks)
{
	size_t colour = 0;

	*marks = NULL;
	for (size_t i = 0; i < n; i++)
		colour += px[3 * i] != px[3 * i + 1] || px[3 * i] != px[3 * i + 2];
	if (colour > n / 10)
		return -1;
	if (colour > 0 && (*marks = calloc(n, 4)) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const unsigned char *p = px + 3 * i;

		if (*marks != NULL && (p[0] != p[1] || p[0] != p[2])) {
			memcpy(*marks + 4 * i, p, 3);
			(*marks)[4 * i + 3] = 255;
		}
		px[i] = (unsigned char)((p[0] + p[1] + p[2] + 1) / 3);
	}
	return 0;
}

int
view_png_load(const struct vbuf *in, const char *name, size_t max_size, struct view_image *im,
	      struct m3_err *e)
{
	unsigned char *px = NULL, *small, *marks = NULL;
	size_t w, h, big;
	int c, rc;

	if ((rc = decode(in, name, &px, &w, &h, &c, e)) != M3_OK)
		return rc;
	im->w0 = im->w = w;
	im->h0 = im->h = h;
	big = w > h ? w : h;
	if (max_size == 0 || big <= max_size) {
		free(px);
		return strip_copy(in, name, &im->png, e);
	}
	im->w = w > h ? max_size : (w * max_size + big / 2) / big;
	im->h = h >= w ? max_size : (h * max_size + big / 2) / big;
	if (im->w == 0)
		im->w = 1;
	if (im->h == 0)
		im->h = 1;
	small = downscale(px, w, h, c, im->w, im->h);
	free(px);
	if (small == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	if (c == 3 && split_marks(small, im->w * im->h, &marks) == 0)
		c = 1;
	rc = view_png_encode(small, im->w, im->h, c, &im->png, e);
	if (rc == M3_OK && marks != NULL)
		rc = view_png_encode(marks, im->w, im->h, 4, &im->marks, e);
	free(small);
	free(marks);
	return rc;
}

struct png_sink {
	struct vbuf *b;
	struct m3_err *e;
};

static void
write_mem(png_structp png, png_bytep p, size_t n)
{
	struct png_sink *s = png_get_io_ptr(png);

	if (vbuf_add(s->b, p, n, s->e) != M3_OK)
		png_error(png, "out of memory");
}

static void
flush_mem(png_structp png)
{
	(void)png;
}

int
view_png_encode(const unsigned char *px, size_t w, size_t h, int channels, struct vbuf *out,
		struct m3_err *e)
{
	struct png_fail fail = {""};
	struct png_sink sink = {out, e};
	png_structp png;
	png_infop info;

	if (w > 0x7fffffff || h > 0x7fffffff)
		return m3_err_set(e, M3_EFAIL, "image too large to encode");
	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &fail, on_error, on_warning);
	info = png != NULL ? png_create_info_struct(png) : NULL;
	if (info == NULL) {
		png_destroy_write_struct(&png, NULL);
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		return m3_err_set(e, M3_ENOMEM, "PNG encoding failed: %s", fail.msg);
	}
	png_set_write_fn(png, &sink, write_mem, flush_mem);
	png_set_compression_level(png, 6);
	png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8,
		     channels == 1   ? PNG_COLOR_TYPE_GRAY
		     : channels == 4 ? PNG_COLOR_TYPE_RGB_ALPHA
				     : PNG_COLOR_TYPE_RGB,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (size_t y = 0; y < h; y++)
		png_write_row(png, px + y * w * (size_t)channels);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	return M3_OK;
}
