/*
 * m3-view: the page: one HTML file with the styles, scripts (X3DOM only when there is 3D) and
 * the data (images as data: URIs, findings, scenes, the volume) inside it; it loads no URL.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "m3/json.h"
#include "view.h"

/* What the browser may load: nothing but what is inside the page. */
#define CSP                                                                                        \
	"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "              \
	"img-src data: blob:; connect-src data: blob:; worker-src blob:; base-uri 'none'; "        \
	"form-action 'none'"

/* Upper-case letters and digits of s, for loose name matching ("marks-L_cc.png" -> "MARKSLCC"). */
static void
squash(const char *s, char *out, size_t len)
{
	size_t o = 0;

	for (; *s != '\0' && o + 1 < len; s++)
		if (isalnum((unsigned char)*s))
			out[o++] = (char)toupper((unsigned char)*s);
	out[o] = '\0';
}

static int
name_has_view(const char *name, const struct view_findings *f)
{
	char n[256], a[32], b[32], lat[8], view[16];

	if (f->laterality[0] == '\0' || f->view[0] == '\0')
		return 0;
	squash(name, n, sizeof(n));
	squash(f->laterality, lat, sizeof(lat));
	squash(f->view, view, sizeof(view));
	lat[1] = '\0'; /* "LEFT" -> "L" */
	snprintf(a, sizeof(a), "%s%s", lat, view);
	snprintf(b, sizeof(b), "%s%s", view, lat);
	return strstr(n, a) != NULL || strstr(n, b) != NULL;
}

/* The last run of digits in a file name ("marks-3.png" -> 3), or -1. */
static long
name_number(const char *name)
{
	long n = -1;

	for (const char *s = name; *s != '\0'; s++)
		if (isdigit((unsigned char)*s) && (s == name || !isdigit((unsigned char)s[-1])))
			n = strtol(s, NULL, 10);
	return n;
}

static void
pair(struct view_page *pg, size_t fi, size_t ii)
{
	pg->fnd[fi].image = (int)ii;
	pg->img[ii].findings = (int)fi;
}

void
view_match(struct view_page *pg)
{
	size_t next = 0;

	for (size_t f = 0; f < pg->nfnd; f++) /* the line names its image */
		for (size_t i = 0; i < pg->nimg && pg->fnd[f].file[0] != '\0'; i++)
			if (pg->img[i].findings < 0 &&
			    strcmp(pg->img[i].name, pg->fnd[f].file) == 0) {
				pair(pg, f, i);
				break;
			}
	for (size_t f = 0; f < pg->nfnd; f++) /* the image's name says laterality and view */
		for (size_t i = 0; i < pg->nimg && pg->fnd[f].image < 0; i++)
			if (pg->img[i].findings < 0 && name_has_view(pg->img[i].name, &pg->fnd[f]))
				pair(pg, f, i);
	for (size_t f = 0; f < pg->nfnd; f++) /* m3-mammo -o marks-%n.png: the image's number */
		for (size_t i = 0; i < pg->nimg && pg->fnd[f].image < 0 && pg->fnd[f].index > 0;
		     i++)
			if (pg->img[i].findings < 0 &&
			    name_number(pg->img[i].name) == pg->fnd[f].index)
				pair(pg, f, i);
	for (size_t f = 0; f < pg->nfnd; f++) { /* then in the order given */
		while (next < pg->nimg && pg->img[next].findings >= 0)
			next++;
		if (pg->fnd[f].image < 0 && next < pg->nimg)
			pair(pg, f, next);
	}
}

static void
html_text(FILE *f, const char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '&')
			fputs("&amp;", f);
		else if (*s == '"')
			fputs("&quot;", f);
		else
			putc(*s, f);
}

static void
jstr(FILE *f, const char *s)
{
	view_json_str(f, s, strlen(s));
}

static void
jnum(FILE *f, double d)
{
	m3_json_num(f, d);
}

static void
put_asset(FILE *f, const struct view_asset *a)
{
	fwrite(a->p, 1, a->n, f);
}

static void
image_label(const struct view_page *pg, const struct view_image *im, const struct view_findings *fd,
	    char *out, size_t len)
{
	const char *dot;

	(void)pg;
	if (fd != NULL && fd->laterality[0] != '\0' && fd->view[0] != '\0') {
		snprintf(out, len, "%s %s", fd->laterality, fd->view);
		return;
	}
	dot = im != NULL ? strrchr(im->name, '.') : NULL;
	if (im != NULL)
		snprintf(out, len, "%.*s",
			 dot != NULL ? (int)(dot - im->name) : (int)strlen(im->name), im->name);
	else
		snprintf(out, len, "findings %lu", fd->line);
}

static void
write_image(FILE *f, const struct view_page *pg, const struct view_image *im,
	    const struct view_findings *fd)
{
	char label[64];

	image_label(pg, im, fd, label, sizeof(label));
	fputs("{\"label\":", f);
	jstr(f, label);
	if (im != NULL) {
		fputs(",\"name\":", f);
		jstr(f, im->name);
		fprintf(f, ",\"width\":%zu,\"height\":%zu,\"orig_width\":%zu,\"orig_height\":%zu",
			im->w, im->h, im->w0, im->h0);
		fputs(",\"src\":\"data:image/png;base64,", f);
		view_base64(f, im->png.p, im->png.n);
		fputs("\"", f);
		if (im->marks.n > 0) {
			fputs(",\"marks\":\"data:image/png;base64,", f);
			view_base64(f, im->marks.p, im->marks.n);
			fputs("\"", f);
		}
	} else {
		fputs(",\"width\":", f);
		jnum(f, fd->width > 0 ? fd->width : 1000);
		fputs(",\"height\":", f);
		jnum(f, fd->height > 0 ? fd->height : 1000);
	}
	fputs(",\"findings\":", f);
	if (fd != NULL)
		fwrite(fd->json.p, 1, fd->json.n, f);
	else
		fputs("null", f);
	fputs("}", f);
}

static void
write_volume(FILE *f, const struct view_volume *v)
{
	size_t n = v->n[0] * v->n[1] * v->n[2];
	unsigned char buf[8192];
	size_t o = 0;

	fputs("{\"name\":", f);
	jstr(f, v->name);
	fprintf(f, ",\"sizes\":[%zu,%zu,%zu],\"spacing\":[", v->n[0], v->n[1], v->n[2]);
	for (int i = 0; i < 3; i++) {
		if (i > 0)
			putc(',', f);
		jnum(f, v->sp[i]);
	}
	fputs("],\"lo\":", f);
	jnum(f, v->lo);
	fputs(",\"scale\":", f);
	jnum(f, v->scale);
	fputs(",\"window\":[", f);
	jnum(f, v->win_lo);
	putc(',', f);
	jnum(f, v->win_hi);
	fputs("],\"units\":", f);
	jstr(f, v->units);
	fputs(",\"modality\":", f);
	jstr(f, v->modality);
	fputs(",\"data\":\"", f); /* little-endian uint16, base64 in pieces of whole triples */
	for (size_t i = 0; i < n; i++) {
		buf[o++] = (unsigned char)(v->q[i] & 0xff);
		buf[o++] = (unsigned char)(v->q[i] >> 8);
		if (o == sizeof(buf) - 2 || i + 1 == n) {
			size_t whole = i + 1 == n ? o : o - o % 3;

			view_base64(f, buf, whole);
			memmove(buf, buf + whole, o - whole);
			o -= whole;
		}
	}
	fputs("\"}", f);
}

static void
write_data(FILE *f, const struct view_page *pg)
{
	int sep = 0;

	fputs("{\"producer\":{\"tool\":\"m3-view\",\"version\":", f);
	jstr(f, M3_VERSION);
	fputs(",\"date\":", f);
	jstr(f, pg->date);
	fputs(",\"args\":", f);
	jstr(f, pg->args);
	fputs("},\"title\":", f);
	jstr(f, pg->title);
	fputs(",\"threshold\":", f);
	jnum(f, pg->threshold);
	fputs(",\"images\":[", f);
	for (size_t i = 0; i < pg->nimg; i++, sep = 1) {
		const struct view_image *im = &pg->img[i];

		fputs(sep ? ",\n" : "\n", f);
		write_image(f, pg, im, im->findings >= 0 ? &pg->fnd[im->findings] : NULL);
	}
	for (size_t i = 0; i < pg->nfnd; i++) /* findings with no image: a tab of their own */
		if (pg->fnd[i].image < 0) {
			fputs(sep ? ",\n" : "\n", f);
			write_image(f, pg, NULL, &pg->fnd[i]);
			sep = 1;
		}
	fputs("],\"scenes\":[", f);
	for (size_t i = 0; i < pg->nscn; i++) {
		fputs(i > 0 ? ",\n{\"name\":" : "\n{\"name\":", f);
		jstr(f, pg->scn[i].name);
		fprintf(f, ",\"triangles\":%zu,\"x3d\":", pg->scn[i].ntri);
		view_json_str(f, pg->scn[i].x3d.p, pg->scn[i].x3d.n);
		fputs("}", f);
	}
	fputs("],\"volume\":", f);
	if (pg->vol != NULL)
		write_volume(f, pg->vol);
	else
		fputs("null", f);
	fputs("}", f);
}

int
view_page_write(FILE *f, const struct view_page *pg, struct m3_err *e)
{
	int three_d = pg->nscn > 0;

	errno = 0;
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"" CSP "\">\n"
	      "<meta name=\"generator\" content=\"m3-view " M3_VERSION "\">\n<title>",
	      f);
	html_text(f, pg->title);
	fputs("</title>\n<style>\n", f);
	if (three_d)
		put_asset(f, &m3v_x3dom_css);
	put_asset(f, &m3v_view_css);
	fputs("</style>\n", f);
	if (three_d) {
		fputs("<script>\n", f);
		put_asset(f, &m3v_x3dom_js);
		fputs("\n</script>\n", f);
	}
	fputs("</head>\n<body>\n", f);
	put_asset(f, &m3v_body_html);
	fputs("<script type=\"application/json\" id=\"m3-data\">", f);
	write_data(f, pg);
	fputs("</script>\n<script>\n", f);
	put_asset(f, &m3v_view_js);
	fputs("</script>\n</body>\n</html>\n", f);
	if (ferror(f) || fflush(f) != 0)
		return m3_err_set(e, M3_EIO, "%s", errno != 0 ? strerror(errno) : "write error");
	return M3_OK;
}
