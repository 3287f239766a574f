/* m3-view: what its modules share: a growable buffer, the inputs as read, and the page. */
#ifndef M3_VIEW_H
#define M3_VIEW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "m3/err.h"

/* A growable byte buffer; p stays NUL-terminated after every append. */
struct vbuf {
	char *p;
	size_t n;
	size_t cap;
};

int vbuf_add(struct vbuf *b, const void *p, size_t n, struct m3_err *e);
int vbuf_str(struct vbuf *b, const char *s, struct m3_err *e);
int vbuf_printf(struct vbuf *b, struct m3_err *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void vbuf_free(struct vbuf *b);

/* What an input holds, decided from its content (magic bytes), not its name. */
enum view_kind { VIEW_UNKNOWN, VIEW_PNG, VIEW_FINDINGS, VIEW_X3D, VIEW_STL, VIEW_VOLUME };

/* Reads a whole input ("-" is stdin) into b, unpacking one gzip layer; *kind from the bytes. */
int view_input_read(const char *path, struct vbuf *b, enum view_kind *kind, struct m3_err *e);
const char *view_kind_name(enum view_kind k);
/* The last path component: what the page may show of a file name. */
const char *view_basename(const char *path);

/* One image tab: a PNG as embedded (downscaled, text chunks dropped) and its original size. */
struct view_image {
	const char *name;
	size_t w, h;
	size_t w0, h0;
	struct vbuf png;
	struct vbuf marks; /* RGBA PNG of an overlay's coloured marks, split off its gray image */
	int findings; /* index into the findings, or -1 */
};

int view_png_load(const struct vbuf *in, const char *name, size_t max_size, struct view_image *im,
		  struct m3_err *e);
/* Writes an 8-bit gray, RGB or RGBA image (channels 1, 3 or 4) as PNG into out. */
int view_png_encode(const unsigned char *px, size_t w, size_t h, int channels, struct vbuf *out,
		    struct m3_err *e);

/* One findings object (a line of m3-mammo's JSON Lines), reduced to the keys the page uses. */
struct view_findings {
	struct vbuf json; /* sanitized object, JSON text */
	char laterality[8];
	char view[16];
	char file[256]; /* image.file / overlay / png, when the line names its image */
	double width, height; /* image.width/height, 0 when absent */
	long index; /* m3-mammo's "image": its number in the stream (-o marks-%n.png), or 0 */
	size_t ncalc;
	int image; /* index into the images, or -1 */
	unsigned long line;
};

/* Appends one view_findings per object line of in to *f (*n of them). */
int view_findings_read(const struct vbuf *in, const char *name, struct view_findings **f, size_t *n,
		       struct m3_err *e);
void view_findings_free(struct view_findings *f, size_t n);

/* One 3D scene: X3D XML text, as read or converted from STL. */
struct view_scene {
	const char *name;
	struct vbuf x3d;
	size_t ntri; /* triangles when known (STL); 0 for X3D as given */
};

/* Checks the nesting of X3D XML and copies its Scene element alone, as <X3D><Scene>..</X3D>,
 * into out: the head (meta data), comments and processing instructions stay behind. */
int view_x3d_scene(const struct vbuf *in, const char *name, struct vbuf *out, struct m3_err *e);
int view_stl_to_x3d(const struct vbuf *in, const char *name, struct view_scene *s,
		    struct m3_err *e);

/* The volume, downsampled to at most max_n voxels an axis and quantized to 16 bits:
 * value = lo + q * scale. */
struct view_volume {
	const char *name;
	size_t n[3];
	double sp[3];
	double lo, scale;
	double win_lo, win_hi; /* default window, in the volume's units */
	char units[16];
	char modality[16];
	uint16_t *q;
};

int view_volume_load(const struct vbuf *in, const char *name, size_t max_n, struct view_volume *v,
		     struct m3_err *e);
void view_volume_release(struct view_volume *v);

/* Everything the page shows. */
struct view_page {
	const char *title;
	const char *date; /* ISO 8601, UTC */
	const char *args; /* the command's parameters as the page shows them */
	double threshold;
	struct view_image *img;
	size_t nimg;
	struct view_findings *fnd;
	size_t nfnd;
	struct view_scene *scn;
	size_t nscn;
	struct view_volume *vol; /* NULL when none */
};

/* Assigns each findings object to an image (by name, then laterality and view, then order). */
void view_match(struct view_page *pg);
int view_page_write(FILE *f, const struct view_page *pg, struct m3_err *e);

/* JSON text safe inside an HTML <script>: '<', '>' and '&' escaped too; invalid UTF-8 as U+FFFD. */
void view_json_str(FILE *f, const char *s, size_t n);
int view_json_vstr(struct vbuf *b, const char *s, size_t n, struct m3_err *e);
void view_base64(FILE *f, const void *p, size_t n);

/* The embedded files (build/m3-view/gen-assets.c, made by tool.mk). */
struct view_asset {
	const unsigned char *p;
	size_t n;
};
extern const struct view_asset m3v_x3dom_js, m3v_x3dom_css, m3v_view_js, m3v_view_css,
	m3v_body_html;

#endif
