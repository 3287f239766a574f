/* The SOP Instance and Series Instance UIDs from the start of a DICOM Part 10 file: enough of
 * the encoding (explicit or implicit VR, sequences of undefined length) to walk to them. */
#include <string.h>

#include "dcmuid.h"

struct rd {
	const unsigned char *p, *end;
	int explicit_vr, big;
	char *sop, *series;
	size_t sopsz, seriessz;
};

static unsigned
u16(const struct rd *r, const unsigned char *p)
{
	return r->big ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0];
}

static unsigned long
u32(const struct rd *r, const unsigned char *p)
{
	return r->big ? (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 |
				(unsigned long)p[2] << 8 | p[3]
		      : (unsigned long)p[3] << 24 | (unsigned long)p[2] << 16 |
				(unsigned long)p[1] << 8 | p[0];
}

static int
long_vr(const unsigned char *vr)
{
	static const char *const v[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ",
					"SV", "UC", "UN", "UR", "UT", "UV"};

	for (size_t i = 0; i < sizeof(v) / sizeof(*v); i++)
		if (vr[0] == v[i][0] && vr[1] == v[i][1])
			return 1;
	return 0;
}

/* A UID value: digits and dots, at most 64, first a digit. */
static void
take_uid(const unsigned char *p, unsigned long n, char *out, size_t outsz)
{
	size_t k = 0;

	while (n > 0 && (p[n - 1] == '\0' || p[n - 1] == ' '))
		n--;
	if (n == 0 || n > 64 || n >= outsz || p[0] < '0' || p[0] > '9')
		return;
	for (unsigned long i = 0; i < n; i++)
		if ((p[i] < '0' || p[i] > '9') && p[i] != '.')
			return;
	for (; k < n; k++)
		out[k] = (char)p[k];
	out[k] = '\0';
}

#define UNDEF 0xFFFFFFFFul
#define ITEM 0xFFFEE000ul
#define ITEM_END 0xFFFEE00Dul
#define SEQ_END 0xFFFEE0DDul

static int elements(struct rd *r, int depth, int top);

/* The items of a sequence of undefined length, up to its delimiter. */
static int
sequence(struct rd *r, int depth)
{
	while (r->end - r->p >= 8) {
		unsigned long tag = (unsigned long)u16(r, r->p) << 16 | u16(r, r->p + 2);
		unsigned long len = u32(r, r->p + 4);
		r->p += 8;
		if (tag == SEQ_END)
			return 0;
		if (tag != ITEM)
			return -1;
		if (len != UNDEF) {
			if ((unsigned long)(r->end - r->p) < len)
				return -1;
			r->p += len;
		} else if (elements(r, depth + 1, 0) != 0) {
			return -1;
		}
	}
	return -1;
}

/* Elements of a data set: at the top level up to (0020,000E); in an item up to its end. */
static int
elements(struct rd *r, int depth, int top)
{
	if (depth > 8)
		return -1;
	while (r->end - r->p >= 8) {
		unsigned long tag = (unsigned long)u16(r, r->p) << 16 | u16(r, r->p + 2);
		unsigned long len;
		size_t hl;
		int sq = 0;

		if (tag == ITEM_END) {
			r->p += 8;
			return top ? -1 : 0;
		}
		if (top && tag > 0x0020000Eul)
			return 0;
		if (r->explicit_vr && (tag >> 16) != 0xFFFE) {
			const unsigned char *vr = r->p + 4;
			if (long_vr(vr)) {
				if (r->end - r->p < 12)
					return -1;
				len = u32(r, r->p + 8);
				hl = 12;
			} else {
				len = u16(r, r->p + 6);
				hl = 8;
			}
			sq = vr[0] == 'S' && vr[1] == 'Q';
			if (len == UNDEF && !sq)
				return -1; /* UN of undefined length: not walked */
		} else {
			len = u32(r, r->p + 4);
			hl = 8;
			sq = len == UNDEF;
		}
		r->p += hl;
		if (len == UNDEF) {
			if (sequence(r, depth) != 0)
				return -1;
			continue;
		}
		if ((unsigned long)(r->end - r->p) < len)
			return -1;
		if (top && tag == 0x00080018ul)
			take_uid(r->p, len, r->sop, r->sopsz);
		else if (top && tag == 0x0020000Eul)
			take_uid(r->p, len, r->series, r->seriessz);
		(void)sq;
		r->p += len;
	}
	return top ? 0 : -1;
}

void
dcm_uids(const void *buf, size_t n, char *sop, size_t sopsz, char *series, size_t seriessz)
{
	struct rd r = {.p = buf, .end = (const unsigned char *)buf + n};
	char ts[65] = "", meta_sop[65] = "";

	sop[0] = series[0] = '\0';
	r.sop = sop;
	r.series = series;
	r.sopsz = sopsz;
	r.seriessz = seriessz;
	if (n >= 132 && memcmp(r.p + 128, "DICM", 4) == 0) {
		r.p += 132;
		/* the file meta information: explicit VR little endian */
		while (r.end - r.p >= 8 && u16(&r, r.p) == 0x0002) {
			unsigned el = u16(&r, r.p + 2);
			unsigned long len;
			size_t hl;
			if (long_vr(r.p + 4)) {
				if (r.end - r.p < 12)
					return;
				len = u32(&r, r.p + 8);
				hl = 12;
			} else {
				len = u16(&r, r.p + 6);
				hl = 8;
			}
			r.p += hl;
			if ((unsigned long)(r.end - r.p) < len)
				return;
			if (el == 0x0003)
				take_uid(r.p, len, meta_sop, sizeof(meta_sop));
			else if (el == 0x0010)
				take_uid(r.p, len, ts, sizeof(ts));
			r.p += len;
		}
		if (meta_sop[0] != '\0' && strlen(meta_sop) < sopsz)
			strcpy(sop, meta_sop);
		if (strcmp(ts, "1.2.840.10008.1.2.1.99") == 0)
			return; /* deflated: the data set is not readable here */
		r.explicit_vr = strcmp(ts, "1.2.840.10008.1.2") != 0;
		r.big = strcmp(ts, "1.2.840.10008.1.2.2") == 0;
	} else {
		/* no preamble: guess the VR encoding from the first element */
		r.explicit_vr =
			n >= 6 && r.p[4] >= 'A' && r.p[4] <= 'Z' && r.p[5] >= 'A' && r.p[5] <= 'Z';
	}
	elements(&r, 0, 1);
}
