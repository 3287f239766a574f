/* Unit tests for m3/tar.h: archives written and read back in memory, GNU tar's, and bad input. */
#define _XOPEN_SOURCE 700 /* nftw, to remove the trees that GNU tar archives */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "m3/tar.h"

#define BLK 512
#define PADDED(n) (((n) + BLK - 1) / BLK * BLK)

/* The same bytes for a seed on every run. */
static void
fill_bytes(void *p, size_t n, uint32_t seed)
{
	unsigned char *c = p;

	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		c[i] = (unsigned char)(seed >> 16);
	}
}

static uint32_t
rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* A string of n copies of c. */
static char *
rep(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* An archive being written into memory. */
struct mem {
	char *p;
	size_t len;
	FILE *fp;
};

static void
mem_open(struct mem *m)
{
	m->p = NULL;
	m->len = 0;
	assert_non_null(m->fp = open_memstream(&m->p, &m->len));
}

static void
mem_close(struct mem *m)
{
	assert_int_equal(fclose(m->fp), 0);
	m->fp = NULL;
}

/* A growing byte buffer for building archives by hand. */
struct buf {
	unsigned char *p;
	size_t len;
};

static void
buf_add(struct buf *b, const void *s, size_t n)
{
	b->p = realloc(b->p, b->len + n + 1);
	assert_non_null(b->p);
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
buf_zero(struct buf *b, size_t n)
{
	unsigned char *z = calloc(1, n + 1);

	assert_non_null(z);
	buf_add(b, z, n);
	free(z);
}

/* The checksum as POSIX defines it, independent of the library's, put in as "%06o\0 ". */
static void
fix_sum(unsigned char *h)
{
	unsigned s = 0;

	memset(h + 148, ' ', 8);
	for (int i = 0; i < BLK; i++)
		s += h[i];
	snprintf((char *)h + 148, 8, "%06o", s);
	h[155] = ' ';
}

/* A ustar header made by hand: name (at most 100 bytes), typeflag, octal size. */
static void
hand_header(unsigned char *h, const char *name, char type, unsigned long long size)
{
	memset(h, 0, BLK);
	memcpy(h, name, strlen(name) < 100 ? strlen(name) : 100);
	memcpy(h + 100, "0000644", 8);
	memcpy(h + 108, "0000000", 8);
	memcpy(h + 116, "0000000", 8);
	snprintf((char *)h + 124, 12, "%011llo", size);
	memcpy(h + 136, "00000000000", 12);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	fix_sum(h);
}

/* A hand-made member: header, data, padding. */
static void
buf_member(struct buf *b, const char *name, char type, const void *data, size_t n)
{
	unsigned char h[BLK];

	hand_header(h, name, type, n);
	buf_add(b, h, BLK);
	buf_add(b, data, n);
	buf_zero(b, PADDED(n) - n);
}

/* A reader over bytes: head handed to m3_tar_reader_new, the rest through a FILE. */
struct rd {
	FILE *fp;
	struct m3_tar_reader *r;
	struct m3_err e;
};

static void
rd_open_split(struct rd *rd, const void *p, size_t n, size_t nhead)
{
	const unsigned char *c = p;

	assert_true(nhead <= n);
	if (n - nhead == 0)
		rd->fp = fopen("/dev/null", "rb");
	else
		rd->fp = fmemopen((void *)(c + nhead), n - nhead, "rb");
	assert_non_null(rd->fp);
	assert_non_null(rd->r = m3_tar_reader_new(rd->fp, "mem", nhead > 0 ? c : NULL, nhead));
	m3_err_init(&rd->e);
}

static void
rd_open(struct rd *rd, const void *p, size_t n)
{
	rd_open_split(rd, p, n, 0);
}

static void
rd_close(struct rd *rd)
{
	m3_tar_reader_free(rd->r);
	fclose(rd->fp);
}

static int
rd_next(struct rd *rd, struct m3_tar_entry *ent)
{
	/* garbage, so that a field left unset shows */
	memset(ent, 0x5a, sizeof(*ent));
	return m3_tar_next(rd->r, ent, &rd->e);
}

/* Reads the whole member (size bytes) in pieces of chunk and compares with want. */
static void
rd_expect_data(struct rd *rd, const void *want, size_t size, size_t chunk)
{
	unsigned char *got = malloc(size + 1);

	assert_non_null(got);
	for (size_t off = 0; off < size;) {
		size_t k = size - off < chunk ? size - off : chunk;
		assert_int_equal(m3_tar_read(rd->r, got + off, k, &rd->e), M3_OK);
		off += k;
	}
	if (size > 0)
		assert_memory_equal(got, want, size);
	/* not one byte more */
	assert_int_equal(m3_tar_read(rd->r, got, 1, &rd->e), M3_EFAIL);
	free(got);
}

/* Expects m3_tar_next to fail on bad data with a message that names the stream. */
static void
rd_expect_edata(struct rd *rd)
{
	struct m3_tar_entry ent;

	m3_err_init(&rd->e);
	assert_int_equal(rd_next(rd, &ent), M3_EDATA);
	assert_int_equal(rd->e.code, M3_EDATA);
	assert_non_null(strstr(rd->e.msg, "mem"));
}

/* Six members of the sizes that matter around the block size. */
static const size_t sizes[] = {0, 1, 511, 512, 513, 100 * 1024};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static unsigned char *
member_data(size_t i)
{
	unsigned char *d = malloc(sizes[i] + 1);

	assert_non_null(d);
	fill_bytes(d, sizes[i], (uint32_t)i + 7);
	return d;
}

static void
write_sizes(struct mem *m)
{
	struct m3_err e;
	char name[32];

	mem_open(m);
	for (size_t i = 0; i < NSIZES; i++) {
		unsigned char *d = member_data(i);
		snprintf(name, sizeof(name), "dir/f%zu.dcm", sizes[i]);
		m3_err_init(&e);
		assert_int_equal(m3_tar_file(m->fp, name, d, sizes[i], 1700000000, &e), M3_OK);
		free(d);
	}
	assert_int_equal(m3_tar_end(m->fp, &e), M3_OK);
	mem_close(m);
}

static void
test_roundtrip_sizes(void **state)
{
	struct m3_tar_entry ent;
	struct mem m;
	struct rd rd;
	size_t want = 2 * BLK, off = 0;
	char name[32];

	(void)state;
	write_sizes(&m);
	for (size_t i = 0; i < NSIZES; i++)
		want += BLK + PADDED(sizes[i]);
	assert_int_equal(m.len, want);
	/* every header where it belongs, then two zero blocks */
	for (size_t i = 0; i < NSIZES; i++) {
		assert_true(m3_tar_is_header(m.p + off));
		off += BLK + PADDED(sizes[i]);
	}
	for (size_t i = off; i < m.len; i++)
		assert_int_equal(m.p[i], 0);
	/* read back whole, and in odd pieces */
	for (size_t chunk = 1000; chunk <= 1 << 20; chunk <<= 10) {
		rd_open(&rd, m.p, m.len);
		for (size_t i = 0; i < NSIZES; i++) {
			unsigned char *d = member_data(i);
			assert_int_equal(rd_next(&rd, &ent), M3_OK);
			snprintf(name, sizeof(name), "dir/f%zu.dcm", sizes[i]);
			assert_string_equal(ent.name, name);
			assert_int_equal(ent.size, sizes[i]);
			assert_int_equal(ent.kind, M3_TAR_FILE);
			rd_expect_data(&rd, d, sizes[i], chunk);
			free(d);
		}
		assert_int_equal(rd_next(&rd, &ent), M3_EOF);
		assert_int_equal(rd_next(&rd, &ent), M3_EOF);
		assert_int_equal(rd_next(&rd, &ent), M3_EOF);
		rd_close(&rd);
	}
	free(m.p);
}

/* m3_tar_header + data + m3_tar_pad make the same bytes as m3_tar_file. */
static void
test_header_pad(void **state)
{
	struct m3_err e;
	struct mem a, b;

	(void)state;
	m3_err_init(&e);
	mem_open(&a);
	mem_open(&b);
	for (size_t i = 0; i < NSIZES; i++) {
		unsigned char *d = member_data(i);
		size_t before = b.len;
		assert_int_equal(m3_tar_file(a.fp, "x/y", d, sizes[i], 99, &e), M3_OK);
		assert_int_equal(m3_tar_header(b.fp, "x/y", sizes[i], 99, &e), M3_OK);
		assert_int_equal(fwrite(d, 1, sizes[i], b.fp), sizes[i]);
		assert_int_equal(m3_tar_pad(b.fp, sizes[i], &e), M3_OK);
		assert_int_equal(fflush(b.fp), 0);
		assert_int_equal(b.len - before, BLK + PADDED(sizes[i]));
		free(d);
	}
	assert_int_equal(m3_tar_end(a.fp, &e), M3_OK);
	assert_int_equal(m3_tar_end(b.fp, &e), M3_OK);
	mem_close(&a);
	mem_close(&b);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.p, b.p, a.len);
	free(a.p);
	free(b.p);

	/* padding alone */
	for (size_t n = 0; n < 1100; n += 73) {
		mem_open(&a);
		assert_int_equal(m3_tar_pad(a.fp, n, &e), M3_OK);
		mem_close(&a);
		assert_int_equal(a.len, PADDED(n) - n);
		for (size_t i = 0; i < a.len; i++)
			assert_int_equal(a.p[i], 0);
		free(a.p);
	}
	mem_open(&a);
	assert_int_equal(m3_tar_end(a.fp, &e), M3_OK);
	mem_close(&a);
	assert_int_equal(a.len, 2 * BLK);
	for (size_t i = 0; i < a.len; i++)
		assert_int_equal(a.p[i], 0);
	free(a.p);
}

/* The fields of a written header, byte by byte. */
static void
test_header_fields(void **state)
{
	unsigned char h[BLK], want[BLK];
	struct m3_err e;
	struct mem m;

	(void)state;
	m3_err_init(&e);
	mem_open(&m);
	assert_int_equal(m3_tar_header(m.fp, "a/b.dcm", 12345, 1700000000, &e), M3_OK);
	assert_int_equal(m3_tar_header(m.fp, "neg", 0, -5, &e), M3_OK);
	mem_close(&m);
	assert_int_equal(m.len, 2 * BLK);
	memcpy(h, m.p, BLK);
	assert_string_equal((char *)h, "a/b.dcm");
	assert_memory_equal(h + 100, "0000644", 8);
	assert_memory_equal(h + 124, "00000030071", 12); /* 12345 */
	assert_memory_equal(h + 136, "14524770400", 12); /* 1700000000 */
	assert_int_equal(h[156], '0');
	assert_memory_equal(h + 257,
			    "ustar\0"
			    "00",
			    8);
	assert_int_equal(h[345], '\0');
	memcpy(want, h, BLK);
	fix_sum(want);
	assert_memory_equal(h + 148, want + 148, 8);
	assert_true(m3_tar_is_header(h));
	/* a time before 1970 is written as 0 */
	memcpy(h, m.p + BLK, BLK);
	assert_memory_equal(h + 136, "00000000000", 12);
	assert_memory_equal(h + 124, "00000000000", 12);
	free(m.p);
}

/* Names: 100 bytes in the name field, up to 256 split into prefix and name, longer ones in a
 * pax path record before the header; only an empty name and one of 4096 bytes or more are
 * refused. */
static void
test_long_names(void **state)
{
	char *a100 = rep('n', 100), *a101 = rep('n', 101), *p155 = rep('p', 155);
	char *p156 = rep('p', 156), *n100 = rep('m', 100), *n101 = rep('m', 101);
	char *huge = rep('h', 4096);
	char good[6][400], pax[7][400];
	struct m3_tar_entry ent;
	struct m3_err e;
	struct mem m;
	struct rd rd;
	size_t before;

	(void)state;
	snprintf(good[0], sizeof(good[0]), "%s", a100);
	snprintf(good[1], sizeof(good[1]), "%s/%s", p155, n100); /* 256: the longest */
	snprintf(good[2], sizeof(good[2]), "%.150s/x/%.50s", p155, n100);
	snprintf(good[3], sizeof(good[3]), "%.120s/%.30s/%.80s", p155, a100, n100);
	snprintf(good[4], sizeof(good[4]), "%.40s/%.60s/%.99s", p155, a100, n100);
	snprintf(good[5], sizeof(good[5]), "%.101s/", p155); /* a directory-like name */
	snprintf(pax[0], sizeof(pax[0]), "%s", a101); /* no slash to cut at */
	snprintf(pax[1], sizeof(pax[1]), "%.50s/%s", p155, n101); /* name part 101 */
	snprintf(pax[2], sizeof(pax[2]), "%s/%.50s", p156, n100); /* prefix 156 */
	snprintf(pax[3], sizeof(pax[3]), "%s/%s", p155, n101); /* 257 */
	snprintf(pax[4], sizeof(pax[4]), "/%s", a101); /* only a leading slash */
	snprintf(pax[5], sizeof(pax[5]), "%.60s/%s/%.90s", p155, a100, n100); /* no cut fits */
	snprintf(pax[6], sizeof(pax[6]), "%s/%s/%s", p155, a100, n100);

	mem_open(&m);
	for (int i = 0; i < 6; i++) {
		m3_err_init(&e);
		assert_int_equal(m3_tar_file(m.fp, good[i], good[i], 3, 0, &e), M3_OK);
	}
	assert_int_equal(fflush(m.fp), 0);
	assert_int_equal(m.len, 12 * BLK);
	for (int i = 0; i < 7; i++) {
		m3_err_init(&e);
		assert_int_equal(m3_tar_file(m.fp, pax[i], "abc", 3, 0, &e), M3_OK);
	}
	/* refused names write nothing */
	for (int i = 0; i < 2; i++) {
		const char *bad = i == 0 ? "" : huge;
		assert_int_equal(fflush(m.fp), 0);
		before = m.len;
		m3_err_init(&e);
		assert_int_equal(m3_tar_header(m.fp, bad, 3, 0, &e), M3_EFAIL);
		assert_true(strlen(e.msg) > 0);
		assert_int_equal(fflush(m.fp), 0);
		assert_int_equal(m.len, before);
	}
	assert_int_equal(m3_tar_end(m.fp, &e), M3_OK);
	mem_close(&m);
	/* each pax name: an 'x' header, its one-block record, the header, one data block */
	assert_int_equal(m.len, (12 + 7 * 4 + 2) * BLK);
	assert_int_equal(m.p[12 * BLK + 156], 'x');

	/* the 256-byte name: prefix field full, name field full */
	assert_memory_equal(m.p + BLK * 2 + 345, p155, 155);
	assert_memory_equal(m.p + BLK * 2, n100, 100);
	/* the 100-byte name: name field only */
	assert_memory_equal(m.p, a100, 100);
	assert_int_equal(m.p[345], '\0');

	rd_open(&rd, m.p, m.len);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(rd_next(&rd, &ent), M3_OK);
		assert_string_equal(ent.name, good[i]);
		assert_int_equal(ent.size, 3);
		rd_expect_data(&rd, good[i], 3, 3);
	}
	for (int i = 0; i < 7; i++) {
		assert_int_equal(rd_next(&rd, &ent), M3_OK);
		assert_string_equal(ent.name, pax[i]);
		assert_int_equal(ent.size, 3);
		rd_expect_data(&rd, "abc", 3, 3);
	}
	assert_int_equal(rd_next(&rd, &ent), M3_EOF);
	rd_close(&rd);
	free(m.p);
	free(a100);
	free(a101);
	free(p155);
	free(p156);
	free(n100);
	free(n101);
	free(huge);
}

/* The head/nhead hand-back: bytes peeked before the reader was made, then the FILE. */
static void
test_peek(void **state)
{
	size_t nheads[] = {512, 1, 100, 511, 513, 1024 + 37, 2000, 3000, 0, 0};
	struct m3_tar_entry ent;
	struct mem m;
	struct rd rd;
	char name[32];

	(void)state;
	write_sizes(&m);
	/* and all of the archive but its last byte, or all of it, in the head */
	nheads[8] = m.len - 1;
	nheads[9] = m.len;
	for (size_t k = 0; k < sizeof(nheads) / sizeof(nheads[0]); k++) {
		rd_open_split(&rd, m.p, m.len, nheads[k]);
		for (size_t i = 0; i < NSIZES; i++) {
			unsigned char *d = member_data(i);
			assert_int_equal(rd_next(&rd, &ent), M3_OK);
			snprintf(name, sizeof(name), "dir/f%zu.dcm", sizes[i]);
			assert_string_equal(ent.name, name);
			assert_int_equal(ent.size, sizes[i]);
			/* pieces that cross from the head into the FILE */
			rd_expect_data(&rd, d, sizes[i], 700);
			free(d);
		}
		assert_int_equal(rd_next(&rd, &ent), M3_EOF);
		rd_close(&rd);
	}

	/* the head alone is copied: the caller may reuse its buffer at once */
	{
		unsigned char *head = malloc(BLK);
		assert_non_null(head);
		memcpy(head, m.p, BLK);
		FILE *fp = fmemopen(m.p + BLK, m.len - BLK, "rb");
		assert_non_null(fp);
		struct m3_tar_reader *r = m3_tar_reader_new(fp, NULL, head, BLK);
		struct m3_err e;
		assert_non_null(r);
		memset(head, 0xff, BLK);
		free(head);
		m3_err_init(&e);
		assert_int_equal(m3_tar_next(r, &ent, &e), M3_OK);
		assert_string_equal(ent.name, "dir/f0.dcm");
		assert_int_equal(m3_tar_next(r, &ent, &e), M3_OK);
		assert_string_equal(ent.name, "dir/f1.dcm");
		m3_tar_reader_free(r);
		fclose(fp);
	}
	free(m.p);
}

/* m3_tar_next skips what was not read of the previous member. */
static void
test_skip_unread(void **state)
{
	const size_t take[NSIZES] = {0, 0, 100, 0, 512, 50000};
	struct m3_tar_entry ent;
	unsigned char *got = malloc(100 * 1024);
	struct mem m;
	struct rd rd;

	(void)state;
	assert_non_null(got);
	write_sizes(&m);
	/* read some of each member, skip the rest */
	rd_open(&rd, m.p, m.len);
	for (size_t i = 0; i < NSIZES; i++) {
		unsigned char *d = member_data(i);
		assert_int_equal(rd_next(&rd, &ent), M3_OK);
		assert_int_equal(ent.size, sizes[i]);
		assert_int_equal(m3_tar_read(rd.r, got, take[i], &rd.e), M3_OK);
		if (take[i] > 0)
			assert_memory_equal(got, d, take[i]);
		free(d);
	}
	assert_int_equal(rd_next(&rd, &ent), M3_EOF);
	rd_close(&rd);
	/* read nothing at all but the last member's data */
	rd_open(&rd, m.p, m.len);
	for (size_t i = 0; i < NSIZES; i++)
		assert_int_equal(rd_next(&rd, &ent), M3_OK);
	assert_string_equal(ent.name, "dir/f102400.dcm");
	{
		unsigned char *d = member_data(NSIZES - 1);
		rd_expect_data(&rd, d, sizes[NSIZES - 1], 4096);
		free(d);
	}
	assert_int_equal(rd_next(&rd, &ent), M3_EOF);
	rd_close(&rd);
	free(m.p);
	free(got);
}

/* Reading more than is left of a member is refused without using up any of it. */
static void
test_read_past_end(void **state)
{
	struct m3_tar_entry ent;
	unsigned char got[64];
	struct m3_err e;
	struct mem m;
	struct rd rd;

	(void)state;
	m3_err_init(&e);
	mem_open(&m);
	assert_int_equal(m3_tar_file(m.fp, "ten", "0123456789", 10, 0, &e), M3_OK);
	assert_int_equal(m3_tar_file(m.fp, "empty", "", 0, 0, &e), M3_OK);
	assert_int_equal(m3_tar_file(m.fp, "two", "ab", 2, 0, &e), M3_OK);
	assert_int_equal(m3_tar_end(m.fp, &e), M3_OK);
	mem_close(&m);

	rd_open(&rd, m.p, m.len);
	assert_int_equal(rd_next(&rd, &ent), M3_OK);
	m3_err_init(&rd.e);
	assert_int_equal(m3_tar_read(rd.r, got, 11, &rd.e), M3_EFAIL);
	assert_int_equal(rd.e.code, M3_EFAIL);
	assert_non_null(strstr(rd.e.msg, "mem"));
	assert_int_equal(m3_tar_read(rd.r, got, 0, &rd.e), M3_OK);
	assert_int_equal(m3_tar_read(rd.r, got, 4, &rd.e), M3_OK);
	assert_memory_equal(got, "0123", 4);
	assert_int_equal(m3_tar_read(rd.r, got, 7, &rd.e), M3_EFAIL);
	assert_int_equal(m3_tar_read(rd.r, got, 6, &rd.e), M3_OK);
	assert_memory_equal(got, "456789", 6);
	assert_int_equal(m3_tar_read(rd.r, got, 1, &rd.e), M3_EFAIL);
	assert_int_equal(m3_tar_read(rd.r, got, 0, &rd.e), M3_OK);
	assert_int_equal(rd_next(&rd, &ent), M3_OK);
	assert_string_equal(ent.name, "empty");
	assert_int_equal(ent.size, 0);
	assert_int_equal(m3_tar_read(rd.r, got, 1, &rd.e), M3_EFAIL);
	assert_int_equal(rd_next(&rd, &ent), M3_OK);
	assert_string_equal(ent.name, "two");
	assert_int_equal(m3_tar_read(rd.r, got, 3, &rd.e), M3_EFAIL);
	assert_int_equal(m3_tar_read(rd.r, got, 2, &rd.e), M3_OK);
	assert_memory_equal(got, "ab", 2);
	assert_int_equal(rd_next(&rd, &ent), M3_EOF);
	rd_close(&rd);
	free(m.p);
}

static void
test_is_header(void **state)
{
	unsigned char h[BLK], z[BLK], d[BLK];
	struct m3_err e;
	struct mem m;
	uint32_t seed = 5;

	(void)state;
	m3_err_init(&e);
	mem_open(&m);
	assert_int_equal(m3_tar_header(m.fp, "series/0001.dcm", 1234, 1, &e), M3_OK);
	mem_close(&m);
	memcpy(h, m.p, BLK);
	free(m.p);
	assert_true(m3_tar_is_header(h));

	memset(z, 0, BLK);
	assert_false(m3_tar_is_header(z));

	/* a byte changed, the checksum not */
	memcpy(d, h, BLK);
	d[3] ^= 1;
	assert_false(m3_tar_is_header(d));
	fix_sum(d);
	assert_true(m3_tar_is_header(d));
	/* the checksum off by one, or not a number */
	memcpy(d, h, BLK);
	d[153] = d[153] == '7' ? '6' : (unsigned char)(d[153] + 1);
	assert_false(m3_tar_is_header(d));
	memcpy(d, h, BLK);
	memcpy(d + 148, "0x1234\0 ", 8);
	assert_false(m3_tar_is_header(d));
	/* a good checksum without the magic */
	memcpy(d, h, BLK);
	memcpy(d + 257, "ustaR", 5);
	fix_sum(d);
	assert_false(m3_tar_is_header(d));
	/* GNU's magic */
	memcpy(d, h, BLK);
	memcpy(d + 257, "ustar  \0", 8);
	fix_sum(d);
	assert_true(m3_tar_is_header(d));
	/* an old-style checksum: seven digits and a NUL */
	memcpy(d, h, BLK);
	fix_sum(d);
	memmove(d + 149, d + 148, 6);
	d[148] = '0';
	d[155] = '\0';
	assert_true(m3_tar_is_header(d));

	/* the start of a DICOM file: 128-byte preamble, DICM, group 2 elements */
	memset(d, 0, BLK);
	memcpy(d + 128, "DICM", 4);
	memcpy(d + 132, "\x02\x00\x00\x00UL\x04\x00\xc8\x00\x00\x00", 12);
	memcpy(d + 144, "\x02\x00\x01\x00OB\x00\x00\x02\x00\x00\x00\x00\x01", 14);
	memcpy(d + 158,
	       "\x02\x00\x02\x00UI\x1a\x00"
	       "1.2.840.10008.5.1.4.1.1.2",
	       33);
	assert_false(m3_tar_is_header(d));
	/* random bytes */
	for (int i = 0; i < 1000; i++) {
		fill_bytes(d, BLK, rnd(&seed));
		assert_false(m3_tar_is_header(d));
	}
}

/* Ends of archives: nothing, no zero blocks, one, two, many. */
static void
test_eof(void **state)
{
	struct m3_tar_entry ent;
	struct buf b = {NULL, 0};
	struct rd rd;
	size_t len;

	(void)state;
	/* no bytes at all */
	buf_zero(&b, 0);
	rd_open(&rd, b.p, 0);
	assert_int_equal(rd_next(&rd, &ent), M3_EOF);
	assert_int_equal(rd_next(&rd, &ent), M3_EOF);
	rd_close(&rd);

	buf_member(&b, "a", '0', "hello", 5);
	buf_member(&b, "b", '0', "", 0);
	len = b.len;
	buf_zero(&b, 20 * BLK);
	for (size_t zeros = 0; zeros <= 20; zeros++) {
		rd_open(&rd, b.p, len + zeros * BLK);
		assert_int_equal(rd_next(&rd, &ent), M3_OK);
		assert_string_equal(ent.name, "a");
		assert_int_equal(rd_next(&rd, &ent), M3_OK);
		assert_string_equal(ent.name, "b");
		assert_int_equal(rd_next(&rd, &ent), M3_EOF);
		assert_int_equal(rd_next(&rd, &ent), M3_EOF);
		rd_close(&rd);
	}
	/* zero blocks only: an archive with no members */
	rd_open(&rd, b.p + len, 2 * BLK);
	assert_int_equal(rd_next(&rd, &ent), M3_EOF);
	rd_close(&rd);
	free(b.p);
}

/* GNU 'L' long names, pax 'x' path records, 'g' and 'K' headers, made by hand. */
static void
test_extended_by_hand(void **state)
{
	char *longname = malloc(4000), rec[4200];
	struct m3_tar_entry ent;
	struct buf b = {NULL, 0};
	struct rd rd;
	size_t n;

	(void)state;
	assert_non_null(longname);
	for (int i = 0; i < 3999; i++)
		longname[i] = i % 50 == 49 ? '/' : (char)('a' + i % 26);
	longname[3999] = '\0';

	/* GNU: the name with its NUL, as GNU tar writes it */
	buf_member(&b, "././@LongLink", 'L', longname, strlen(longname) + 1);
	buf_member(&b, "truncated-name", '0', "one", 3);
	/* the long name was for that member only */
	buf_member(&b, "plain", '0', "two", 3);
	/* GNU without the NUL */
	buf_member(&b, "././@LongLink", 'L', "L/without/nul", 13);
	buf_member(&b, "x", '0', "3", 1);
	/* a pax global header: skipped */
	buf_member(&b, "pax_global_header", 'g', "17 comment=hello\n", 17);
	buf_member(&b, "after-g", '0', "4", 1);
	/* pax: path among other records */
	n = (size_t)snprintf(rec, sizeof(rec), "30 mtime=1795854707.045144605\n");
	{
		char path[80];
		int len = snprintf(path, sizeof(path), " path=pax/%s/name\n", "dir");
		/* the record's length counts its own digits */
		n += (size_t)snprintf(rec + n, sizeof(rec) - n, "%d%s", len + 2, path);
	}
	n += (size_t)snprintf(rec + n, sizeof(rec) - n, "20 ctime=1795854707\n");
	buf_member(&b, "PaxHeaders/name", 'x', rec, n);
	buf_member(&b, "name", '0', "five", 4);
	/* pax: a 3999-byte path */
	n = (size_t)snprintf(rec, sizeof(rec), "4010 path=%s\n", longname);
	assert_int_equal(n, 4010);
	buf_member(&b, "PaxHeaders/long", 'x', rec, n);
	buf_member(&b, "long", '0', "six", 3);
	/* pax with no path record: the header's own name */
	buf_member(&b, "PaxHeaders/own", 'x', "20 atime=1795854707\n", 20);
	buf_member(&b, "own", '0', "7", 1);
	/* a long link name, then a symbolic link */
	buf_member(&b, "././@LongLink", 'K', longname, 300);
	buf_member(&b, "link", '2', NULL, 0);
	buf_member(&b, "last", '0', "8", 1);
	buf_zero(&b, 2 * BLK);

	rd_open(&rd, b.p, b.len);
	assert_int_equal(rd_next(&rd, &ent), M3_OK);
	assert_string_equal(ent.name, longname);
	assert_int_equal(ent.size, 3);
	rd_expect_data(&rd, "one", 3, 3);
	assert_int_equal(rd_next(&rd, &ent), M3_OK);
	assert_string_equal(ent.name, "plain");
	rd_expect_data(&rd, "two", 3, 3);
	assert_int_equal(rd_next(&rd, &ent), M3_OK);
	assert_string_equal(ent.name, "L/without/nul");
	rd_expect_data(&rd, "3", 1, 1);
	assert_int_equal(rd_next(&rd, &ent), M3_OK);
	assert_string_equal(ent.name, "after-g");
	rd_expect_data(&rd, "4", 1, 1);
	assert_int_equal(rd_next(&rd, &ent), M3_OK);
	assert_string_equal(ent.name, "pax/dir/name");
	rd_expect_data(&rd, "five", 4, 4);
	assert_int_equal(rd_next(&rd, &ent), M3_OK);
	assert_string_equal(ent.name, longname);
	rd_expect_data(&rd, "six", 3, 3);
	assert_int_equal(rd_next(&rd, &ent), M3_OK);
	assert_string_equal(ent.name, "own");
	rd_expect_data(&rd, "7", 1, 1);
	assert_int_equal(rd_next(&rd, &ent), M3_OK);
	assert_string_equal(ent.name, "link");
	assert_int_equal(ent.kind, M3_TAR_OTHER);
	assert_int_equal(ent.size, 0);
	assert_int_equal(rd_next(&rd, &ent), M3_OK);
	assert_string_equal(ent.name, "last");
	rd_expect_data(&rd, "8", 1, 1);
	assert_int_equal(rd_next(&rd, &ent), M3_EOF);
	rd_close(&rd);
	free(b.p);
	free(longname);
}

/* Kinds by typeflag: files, directories, and the rest (with or without data). */
static void
test_kinds_by_hand(void **state)
{
	static const struct {
		char type;
		enum m3_tar_kind kind;
		size_t size; /* what the header says */
		size_t data; /* what follows it */
	} k[] = {
		{'0', M3_TAR_FILE, 10, 10},
		{'\0', M3_TAR_FILE, 10, 10},
		{'7', M3_TAR_FILE, 10, 10},
		{'5', M3_TAR_DIR, 0, 0},
		{'1', M3_TAR_OTHER, 0, 0},
		{'2', M3_TAR_OTHER, 0, 0},
		/* devices and FIFOs: no data is stored, whatever the size field says (POSIX) */
		{'3', M3_TAR_OTHER, 7, 0},
		{'4', M3_TAR_OTHER, 600, 0},
		{'6', M3_TAR_OTHER, 1, 0},
		/* GNU sparse, dumpdir, volume label: their data is skipped */
		{'S', M3_TAR_OTHER, 700, 700},
		{'D', M3_TAR_OTHER, 5, 5},
		{'V', M3_TAR_OTHER, 0, 0},
	};
	struct m3_tar_entry ent;
	struct buf b = {NULL, 0};
	unsigned char data[1024], h[BLK];
	struct rd rd;
	char name[16];

	(void)state;
	fill_bytes(data, sizeof(data), 3);
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		snprintf(name, sizeof(name), "m%zu", i);
		hand_header(h, name, k[i].type, k[i].size);
		buf_add(&b, h, BLK);
		buf_add(&b, data, k[i].data);
		buf_zero(&b, PADDED(k[i].data) - k[i].data);
	}
	buf_zero(&b, 2 * BLK);
	rd_open(&rd, b.p, b.len);
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		assert_int_equal(rd_next(&rd, &ent), M3_OK);
		snprintf(name, sizeof(name), "m%zu", i);
		assert_string_equal(ent.name, name);
		assert_int_equal(ent.kind, k[i].kind);
		assert_int_equal(ent.size, k[i].kind == M3_TAR_FILE ? k[i].size : 0);
		if (k[i].kind == M3_TAR_FILE)
			rd_expect_data(&rd, data, k[i].size, 3);
	}
	assert_int_equal(rd_next(&rd, &ent), M3_EOF);
	rd_close(&rd);
	free(b.p);
}

/* Sizes of 8 GiB and up: base-256 in the header, read back by m3_tar_next. */
static void
test_base256(void **state)
{
	const uint64_t big[] = {
		(1ULL << 33),          (1ULL << 33) + 12345,     1ULL << 40,
		0x0123456789abcdefULL, (uint64_t)SIZE_MAX - 512,
	};
	struct m3_tar_entry ent;
	unsigned char h[BLK], got[16];
	struct m3_err e;
	struct mem m;
	struct rd rd;

	(void)state;
	if (SIZE_MAX < (1ULL << 34))
		skip();
	/* the largest octal size */
	m3_err_init(&e);
	mem_open(&m);
	assert_int_equal(m3_tar_header(m.fp, "octal", (1ULL << 33) - 1, 0, &e), M3_OK);
	mem_close(&m);
	assert_memory_equal(m.p + 124, "77777777777", 12);
	rd_open(&rd, m.p, m.len);
	assert_int_equal(rd_next(&rd, &ent), M3_OK);
	assert_int_equal(ent.size, (1ULL << 33) - 1);
	rd_close(&rd);
	free(m.p);

	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		uint64_t v = 0;
		mem_open(&m);
		assert_int_equal(m3_tar_header(m.fp, "big.raw", (size_t)big[i], 0, &e), M3_OK);
		mem_close(&m);
		assert_int_equal(m.len, BLK);
		memcpy(h, m.p, BLK);
		assert_int_equal(h[124], 0x80);
		for (int j = 125; j < 136; j++)
			v = v << 8 | h[j];
		assert_int_equal(v, big[i]);
		assert_true(m3_tar_is_header(h));
		/* the header alone: its size, then its data is missing */
		rd_open(&rd, m.p, m.len);
		assert_int_equal(rd_next(&rd, &ent), M3_OK);
		assert_string_equal(ent.name, "big.raw");
		assert_int_equal(ent.size, big[i]);
		assert_int_equal(m3_tar_read(rd.r, got, sizeof(got), &rd.e), M3_EDATA);
		rd_close(&rd);
		rd_open(&rd, m.p, m.len);
		assert_int_equal(rd_next(&rd, &ent), M3_OK);
		rd_expect_edata(&rd);
		rd_close(&rd);
		free(m.p);
	}

	/* mtimes past 2242 take base-256 too */
	mem_open(&m);
	assert_int_equal(m3_tar_header(m.fp, "future", 1, (time_t)(1LL << 34), &e), M3_OK);
	mem_close(&m);
	assert_int_equal((unsigned char)m.p[136], 0x80);
	assert_int_equal((unsigned char)m.p[143], 0x04);
	assert_int_equal((unsigned char)m.p[147], 0x00);
	assert_true(m3_tar_is_header(m.p));
	free(m.p);
}

/* Bad input: each case fails with M3_EDATA, never more. */
static void
test_bad_input(void **state)
{
	unsigned char h[BLK], data[1000];
	struct m3_tar_entry ent;
	struct buf b = {NULL, 0};
	struct rd rd;

	(void)state;
	fill_bytes(data, sizeof(data), 11);
	hand_header(h, "good", '0', 1000);

	/* a header cut at 300 bytes, first or after a good member */
	rd_open(&rd, h, 300);
	rd_expect_edata(&rd);
	rd_close(&rd);
	buf_member(&b, "first", '0', "x", 1);
	buf_add(&b, h, 300);
	rd_open(&rd, b.p, b.len);
	assert_int_equal(rd_next(&rd, &ent), M3_OK);
	rd_expect_edata(&rd);
	rd_close(&rd);
	free(b.p);
	b.p = NULL;
	b.len = 0;

	/* member data cut short: reading it, or skipping it */
	buf_add(&b, h, BLK);
	buf_add(&b, data, 600);
	rd_open(&rd, b.p, b.len);
	assert_int_equal(rd_next(&rd, &ent), M3_OK);
	assert_int_equal(ent.size, 1000);
	m3_err_init(&rd.e);
	assert_int_equal(m3_tar_read(rd.r, data, 1000, &rd.e), M3_EDATA);
	assert_int_equal(rd.e.code, M3_EDATA);
	rd_close(&rd);
	rd_open(&rd, b.p, b.len);
	assert_int_equal(rd_next(&rd, &ent), M3_OK);
	rd_expect_edata(&rd);
	rd_close(&rd);
	/* cut in the padding */
	buf_add(&b, data, 400);
	rd_open(&rd, b.p, b.len);
	assert_int_equal(rd_next(&rd, &ent), M3_OK);
	assert_int_equal(m3_tar_read(rd.r, data, 1000, &rd.e), M3_OK);
	rd_expect_edata(&rd);
	rd_close(&rd);
	/* a partial block after the last member */
	buf_zero(&b, 24);
	buf_zero(&b, 100);
	rd_open(&rd, b.p, b.len);
	assert_int_equal(rd_next(&rd, &ent), M3_OK);
	rd_expect_edata(&rd);
	rd_close(&rd);
	free(b.p);

	/* a bad checksum */
	memcpy(data, h, BLK);
	data[0] = 'G';
	rd_open(&rd, data, BLK);
	rd_expect_edata(&rd);
	rd_close(&rd);
	/* not a header at all: DICOM data where a header should be */
	memset(data, 0, BLK);
	data[1] = 'x';
	memcpy(data + 128, "DICM", 4);
	rd_open(&rd, data, BLK);
	rd_expect_edata(&rd);
	rd_close(&rd);

	/* size fields that are no number, or too large */
	{
		static const char *const fields[] = {
			"00000000x12", "0000000009\0", "-0000000001", "1.000000000", "0000000001x",
		};
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
			memcpy(data, h, BLK);
			memcpy(data + 124, fields[i], 11);
			data[135] = '\0';
			fix_sum(data);
			assert_true(m3_tar_is_header(data));
			rd_open(&rd, data, BLK);
			rd_expect_edata(&rd);
			rd_close(&rd);
		}
	}
	{
		/* base-256: negative, over 64 bits, over SIZE_MAX - 512 */
		static const unsigned char fields[][12] = {
			{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
			{0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0},
			{0x80, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
			{0x80, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
			{0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
			{0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x01},
			{0x81, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
		};
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
			memcpy(data, h, BLK);
			memcpy(data + 124, fields[i], 12);
			fix_sum(data);
			assert_true(m3_tar_is_header(data));
			rd_open(&rd, data, BLK);
			rd_expect_edata(&rd);
			rd_close(&rd);
		}
	}
	{
		/* SIZE_MAX itself, written by the library */
		struct m3_err e;
		struct mem m;
		m3_err_init(&e);
		mem_open(&m);
		assert_int_equal(m3_tar_header(m.fp, "max", SIZE_MAX, 0, &e), M3_OK);
		mem_close(&m);
		rd_open(&rd, m.p, m.len);
		rd_expect_edata(&rd);
		rd_close(&rd);
		free(m.p);
	}

	/* long names: too long, or cut short */
	b.p = NULL;
	b.len = 0;
	hand_header(h, "././@LongLink", 'L', 100000);
	buf_add(&b, h, BLK);
	buf_zero(&b, PADDED(100000));
	buf_member(&b, "after", '0', "x", 1);
	buf_zero(&b, 2 * BLK);
	rd_open(&rd, b.p, b.len);
	rd_expect_edata(&rd);
	rd_close(&rd);
	rd_open(&rd, b.p, BLK + 1000);
	rd_expect_edata(&rd);
	rd_close(&rd);
	free(b.p);
	for (int type = 0; type < 4; type++) {
		b.p = NULL;
		b.len = 0;
		int rc;
		hand_header(h, "ext", "LxgK"[type], 700);
		buf_add(&b, h, BLK);
		buf_add(&b, "10 path=a\n", 10);
		buf_zero(&b, 300);
		rd_open(&rd, b.p, b.len);
		rd_expect_edata(&rd);
		rd_close(&rd);
		/* the whole extended member, then nothing: no member, whatever the code */
		buf_zero(&b, 1024 - 310);
		rd_open(&rd, b.p, b.len);
		rc = rd_next(&rd, &ent);
		assert_true(rc == M3_EOF || rc == M3_EDATA);
		rd_close(&rd);
		free(b.p);
	}
}

/* A pax record whose length is shorter than "LEN path=" may not reach past the record. */
static void
test_pax_bad_record(void **state)
{
	static const char *const recs[] = {"5 path=abc\n", "7 path=abc\n", "8 path=abc\n"};
	struct m3_tar_entry ent;
	struct rd rd;
	int rc;

	(void)state;
	for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
		struct buf b = {NULL, 0};
		buf_member(&b, "PaxHeaders/f", 'x', recs[i], strlen(recs[i]));
		buf_member(&b, "f", '0', "data", 4);
		buf_zero(&b, 2 * BLK);
		rd_open(&rd, b.p, b.len);
		rc = rd_next(&rd, &ent);
		rd_close(&rd);
		free(b.p);
		/* refused, or the record ignored: never a name from bytes past the record */
		if (rc == M3_OK) {
			print_message("record \"%.*s\\n\": name \"%s\"\n", (int)strlen(recs[i]) - 1,
				      recs[i], ent.name);
			assert_null(strchr(ent.name, '\n'));
			assert_string_equal(ent.name, "f");
		} else {
			assert_int_equal(rc, M3_EDATA);
		}
	}
}

/* Archives cut at every byte: clean ends at member boundaries, M3_EDATA elsewhere. */
static void
test_truncated_everywhere(void **state)
{
	char *p155 = rep('p', 155), name[300];
	struct m3_tar_entry ent;
	size_t bound[8], nbound = 0, nmember;
	unsigned char data[1200];
	struct m3_err e;
	struct mem m;
	struct rd rd;

	(void)state;
	fill_bytes(data, sizeof(data), 9);
	snprintf(name, sizeof(name), "%s/%s", p155, "tail");
	m3_err_init(&e);
	mem_open(&m);
	assert_int_equal(m3_tar_file(m.fp, "a", data, 700, 0, &e), M3_OK);
	assert_int_equal(m3_tar_file(m.fp, name, data, 0, 0, &e), M3_OK);
	assert_int_equal(m3_tar_file(m.fp, "c", data, 1200, 0, &e), M3_OK);
	assert_int_equal(m3_tar_end(m.fp, &e), M3_OK);
	mem_close(&m);
	bound[nbound++] = 0;
	bound[nbound++] = BLK + 1024;
	bound[nbound++] = BLK + 1024 + BLK;
	bound[nbound++] = BLK + 1024 + BLK + BLK + 1536;
	bound[nbound++] = m.len - BLK;
	bound[nbound++] = m.len;
	assert_int_equal(m.len, 5120);

	for (size_t cut = 0; cut <= m.len; cut++) {
		int rc, clean = 0;
		nmember = 0;
		for (size_t i = 0; i < nbound; i++)
			clean |= cut == bound[i];
		/* the first zero block ends the archive: the second is not read */
		clean |= cut >= m.len - BLK;
		rd_open(&rd, m.p, cut);
		while ((rc = rd_next(&rd, &ent)) == M3_OK) {
			unsigned char got[1200];
			nmember++;
			rc = m3_tar_read(rd.r, got, ent.size, &rd.e);
			if (rc != M3_OK)
				break;
			assert_memory_equal(got, data, ent.size);
		}
		assert_int_equal(rc, clean ? M3_EOF : M3_EDATA);
		if (clean)
			assert_int_equal(nmember, cut >= bound[3]   ? 3
						  : cut >= bound[2] ? 2
						  : cut >= bound[1] ? 1
								    : 0);
		rd_close(&rd);
	}
	free(m.p);
	free(p155);
}

/* Archives with random bytes changed (and checksums made right again): no crash, no hang. */
static void
test_corrupt_random(void **state)
{
	const size_t hdr[] = {0, BLK + 1024, 2 * BLK + 1024};
	unsigned char data[3000], *c;
	struct m3_tar_entry ent;
	struct m3_err e;
	struct mem m;
	struct rd rd;
	uint32_t seed = 77;
	int nok = 0, nbad = 0;

	(void)state;
	fill_bytes(data, sizeof(data), 13);
	m3_err_init(&e);
	mem_open(&m);
	assert_int_equal(m3_tar_file(m.fp, "a/b", data, 700, 0, &e), M3_OK);
	assert_int_equal(m3_tar_file(m.fp, "c", data, 0, 0, &e), M3_OK);
	assert_int_equal(m3_tar_file(m.fp, "d", data, 3000, 0, &e), M3_OK);
	assert_int_equal(m3_tar_end(m.fp, &e), M3_OK);
	mem_close(&m);
	assert_non_null(c = malloc(m.len));
	for (int iter = 0; iter < 3000; iter++) {
		int rc, steps = 0;
		memcpy(c, m.p, m.len);
		for (int k = (int)(rnd(&seed) % 4); k >= 0; k--) {
			size_t h = hdr[rnd(&seed) % 3];
			size_t at =
				rnd(&seed) % 2 ? h + rnd(&seed) % BLK : h + 100 + rnd(&seed) % 60;
			c[at] = rnd(&seed) % 3 ? (unsigned char)rnd(&seed)
					       : (unsigned char)"0125Lxg\0 7\x80"[rnd(&seed) % 11];
		}
		if (rnd(&seed) % 4 != 0)
			for (size_t i = 0; i < 3; i++)
				fix_sum(c + hdr[i]);
		rd_open(&rd, c, m.len);
		while ((rc = rd_next(&rd, &ent)) == M3_OK && steps++ < 100) {
			unsigned char got[4096];
			assert_non_null(memchr(ent.name, '\0', sizeof(ent.name)));
			assert_true(ent.kind == M3_TAR_FILE || ent.kind == M3_TAR_DIR ||
				    ent.kind == M3_TAR_OTHER);
			if (ent.kind != M3_TAR_FILE)
				assert_int_equal(ent.size, 0);
			if (ent.size <= sizeof(got)) {
				rc = m3_tar_read(rd.r, got, ent.size, &rd.e);
				assert_true(rc == M3_OK || rc == M3_EDATA);
			} else {
				rc = m3_tar_read(rd.r, got, sizeof(got), &rd.e);
				assert_true(rc == M3_OK || rc == M3_EDATA);
			}
		}
		assert_true(steps <= 100);
		assert_true(rc == M3_EOF || rc == M3_EDATA);
		nok += rc == M3_EOF;
		nbad += rc == M3_EDATA;
		rd_close(&rd);
	}
	/* both ends were reached */
	assert_true(nok > 0);
	assert_true(nbad > 0);
	free(c);
	free(m.p);
}

static void
test_write_full(void **state)
{
	struct m3_err e;
	FILE *fp;

	(void)state;
	for (int which = 0; which < 4; which++) {
		int rc;
		if ((fp = fopen("/dev/full", "w")) == NULL)
			skip();
		assert_int_equal(setvbuf(fp, NULL, _IONBF, 0), 0);
		m3_err_init(&e);
		rc = which == 0   ? m3_tar_file(fp, "f", "abc", 3, 0, &e)
		     : which == 1 ? m3_tar_header(fp, "f", 3, 0, &e)
		     : which == 2 ? m3_tar_pad(fp, 3, &e)
				  : m3_tar_end(fp, &e);
		assert_int_equal(rc, M3_EIO);
		assert_int_equal(e.code, M3_EIO);
		assert_true(strlen(e.msg) > 0);
		fclose(fp);
	}
}

/* GNU tar, when there is one: its archives read here, and ours read by it. */

static int
have_gnu_tar(void)
{
	char line[256] = "";
	FILE *p = popen("tar --version 2>/dev/null", "r");

	if (p == NULL)
		return 0;
	if (fgets(line, sizeof(line), p) == NULL)
		line[0] = '\0';
	while (fgetc(p) != EOF)
		;
	return pclose(p) == 0 && strstr(line, "GNU tar") != NULL;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int
dir_setup(void **state)
{
	char *d = strdup("/tmp/m3-test-tar.XXXXXX");

	if (d == NULL || mkdtemp(d) == NULL)
		return -1;
	*state = d;
	return 0;
}

static int
dir_teardown(void **state)
{
	char *d = *state;

	nftw(d, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(d);
	return 0;
}

static void
put_file(const char *dir, const char *name, const void *data, size_t n)
{
	char path[1024];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(fp = fopen(path, "wb"));
	assert_int_equal(fwrite(data, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

static int
contains(const void *hay, size_t n, const void *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (memcmp((const char *)hay + i, needle, m) == 0)
			return 1;
	return 0;
}

/* All that a command writes to its stdout. */
static unsigned char *
run_cmd(const char *cmd, size_t *len)
{
	FILE *p = popen(cmd, "r");
	unsigned char *out = NULL;
	size_t k, n = 0;

	assert_non_null(p);
	do {
		out = realloc(out, n + 65536);
		assert_non_null(out);
		k = fread(out + n, 1, 65536, p);
		n += k;
	} while (k > 0);
	assert_int_equal(pclose(p), 0);
	*len = n;
	return out;
}

struct want {
	const char *name;
	enum m3_tar_kind kind;
	size_t size;
	uint32_t seed; /* of the data */
};

/* The tree for GNU tar, with names in a fixed order; returns the member list for tar. */
static void
make_tree(const char *d, char *sub, char *longf, char *midf, char *target)
{
	char path[1024];
	unsigned char data[5000];

	memset(sub, 's', 90);
	sub[90] = '\0';
	memset(longf, 'L', 140);
	longf[140] = '\0';
	memset(midf, 'M', 70);
	midf[70] = '\0';
	memset(target, 't', 150);
	target[150] = '\0';
	snprintf(path, sizeof(path), "%s/d", d);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/d/%s", d, sub);
	assert_int_equal(mkdir(path, 0755), 0);
	fill_bytes(data, 1000, 1);
	put_file(d, "d/f", data, 1000);
	put_file(d, "d/e", data, 0);
	fill_bytes(data, 5000, 2);
	snprintf(path, sizeof(path), "d/%s/%s", sub, longf);
	put_file(d, path, data, 5000);
	fill_bytes(data, 512, 3);
	snprintf(path, sizeof(path), "d/%s/%s", sub, midf);
	put_file(d, path, data, 512);
	fill_bytes(data, 3, 4);
	put_file(d, "d/z", data, 3);
	snprintf(path, sizeof(path), "%s/d/l", d);
	assert_int_equal(symlink("f", path), 0);
	snprintf(path, sizeof(path), "%s/d/k", d);
	assert_int_equal(symlink(target, path), 0);
	{
		char from[1024];
		snprintf(from, sizeof(from), "%s/d/f", d);
		snprintf(path, sizeof(path), "%s/d/h", d);
		assert_int_equal(link(from, path), 0);
	}
	snprintf(path, sizeof(path), "%s/d/p", d);
	assert_int_equal(mkfifo(path, 0644), 0);
}

static void
check_archive(const unsigned char *p, size_t len, size_t nhead, const struct want *w, size_t nw)
{
	struct m3_tar_entry ent;
	unsigned char data[5000];
	struct rd rd;

	rd_open_split(&rd, p, len, nhead);
	for (size_t i = 0; i < nw; i++) {
		assert_int_equal(rd_next(&rd, &ent), M3_OK);
		assert_string_equal(ent.name, w[i].name);
		assert_int_equal(ent.kind, w[i].kind);
		assert_int_equal(ent.size, w[i].size);
		if (w[i].kind == M3_TAR_FILE && w[i].size > 0) {
			fill_bytes(data, w[i].size, w[i].seed);
			/* only some members are read: the others are skipped */
			if (i % 2 == 0)
				rd_expect_data(&rd, data, w[i].size, 333);
		}
	}
	assert_int_equal(rd_next(&rd, &ent), M3_EOF);
	rd_close(&rd);
}

static void
test_gnu_tar_formats(void **state)
{
	static const char *const formats[] = {"gnu", "pax", "pax --pax-option=comment=m3-test",
					      "ustar", "oldgnu"};
	char *d = *state, sub[128], longf[160], midf[80], target[160];
	char n_sub[300], n_long[400], n_mid[300], cmd[2048];
	unsigned char *out;
	size_t len;

	if (!have_gnu_tar())
		skip();
	make_tree(d, sub, longf, midf, target);
	snprintf(n_sub, sizeof(n_sub), "d/%s/", sub);
	snprintf(n_long, sizeof(n_long), "d/%s/%s", sub, longf);
	snprintf(n_mid, sizeof(n_mid), "d/%s/%s", sub, midf);
	for (size_t f = 0; f < sizeof(formats) / sizeof(formats[0]); f++) {
		int ustar = strcmp(formats[f], "ustar") == 0;
		const struct want all[] = {
			{"d/", M3_TAR_DIR, 0, 0},
			{"d/f", M3_TAR_FILE, 1000, 1},
			{"d/e", M3_TAR_FILE, 0, 0},
			{"d/l", M3_TAR_OTHER, 0, 0},
			{"d/h", M3_TAR_OTHER, 0, 0}, /* a hard link to d/f */
			{"d/p", M3_TAR_OTHER, 0, 0},
			{n_sub, M3_TAR_DIR, 0, 0},
			{n_mid, M3_TAR_FILE, 512, 3},
			{n_long, M3_TAR_FILE, 5000, 2}, /* not in ustar: a 140-byte name */
			{"d/k", M3_TAR_OTHER, 0, 0}, /* nor a 150-byte link target */
			{"d/z", M3_TAR_FILE, 3, 4},
		};
		struct want w[11];
		size_t nw = 0;
		for (size_t i = 0; i < 11; i++)
			if (!ustar || (i != 8 && i != 9))
				w[nw++] = all[i];
		snprintf(cmd, sizeof(cmd),
			 "cd '%s' && tar --format=%s --no-recursion -cf - d d/f d/e d/l d/h d/p "
			 "'%s' '%s' %s%s%s d/z",
			 d, formats[f], n_sub, n_mid, ustar ? "" : "'", ustar ? "" : n_long,
			 ustar ? "" : "' d/k");
		out = run_cmd(cmd, &len);
		/* the archive holds what this test is about */
		assert_true(m3_tar_is_header(out));
		if (strstr(formats[f], "comment") != NULL)
			assert_int_equal(out[156], 'g');
		if (strcmp(formats[f], "pax") == 0)
			assert_int_equal(out[156], 'x');
		if (strstr(formats[f], "gnu") != NULL)
			assert_memory_equal(out + 257, "ustar  \0", 8);
		if (strstr(formats[f], "gnu") != NULL)
			assert_true(contains(out, len, "././@LongLink\0", 14));
		if (strstr(formats[f], "pax") != NULL)
			assert_true(contains(out, len, " path=d/sss", 11));
		check_archive(out, len, 0, w, nw);
		check_archive(out, len, BLK, w, nw);
		free(out);
	}
}

/* GNU tar straight from a pipe: no seeking, short reads. */
static void
test_gnu_tar_pipe(void **state)
{
	char *d = *state, cmd[1024];
	struct m3_tar_entry ent;
	unsigned char data[5000], got[5000];
	struct m3_tar_reader *r;
	struct m3_err e;
	FILE *p;

	if (!have_gnu_tar())
		skip();
	for (int i = 0; i < 20; i++) {
		char name[32];
		snprintf(name, sizeof(name), "f%02d", i);
		fill_bytes(data, (size_t)i * 250, (uint32_t)i);
		put_file(d, name, data, (size_t)i * 250);
	}
	snprintf(cmd, sizeof(cmd), "cd '%s' && tar --format=pax -cf - f0* f1*", d);
	assert_non_null(p = popen(cmd, "r"));
	assert_non_null(r = m3_tar_reader_new(p, "pipe", NULL, 0));
	m3_err_init(&e);
	for (int i = 0; i < 20; i++) {
		char name[32];
		assert_int_equal(m3_tar_next(r, &ent, &e), M3_OK);
		snprintf(name, sizeof(name), "f%02d", i);
		assert_string_equal(ent.name, name);
		assert_int_equal(ent.size, (size_t)i * 250);
		fill_bytes(data, ent.size, (uint32_t)i);
		assert_int_equal(m3_tar_read(r, got, ent.size, &e), M3_OK);
		assert_memory_equal(got, data, ent.size);
	}
	assert_int_equal(m3_tar_next(r, &ent, &e), M3_EOF);
	m3_tar_reader_free(r);
	while (fgetc(p) != EOF)
		;
	assert_int_equal(pclose(p), 0);
}

/* Our archives listed and extracted by GNU tar. */
static void
test_gnu_tar_reads_ours(void **state)
{
	char *d = *state, *p155 = rep('p', 155), *n100 = rep('m', 100), cmd[2048];
	char names[4][400], path[1024], *list;
	unsigned char data[3][2000], *out;
	struct m3_err e;
	size_t len;
	FILE *fp;

	if (!have_gnu_tar())
		skip();
	snprintf(names[0], sizeof(names[0]), "plain.dcm");
	snprintf(names[1], sizeof(names[1]), "%s", n100);
	snprintf(names[2], sizeof(names[2]), "%s/%s", p155, n100);
	snprintf(names[3], sizeof(names[3]), "%.100s/%.20s/%.60s", p155, p155, n100);
	snprintf(path, sizeof(path), "%s/ours.tar", d);
	assert_non_null(fp = fopen(path, "wb"));
	m3_err_init(&e);
	for (int i = 0; i < 4; i++) {
		fill_bytes(data[i % 3], sizeof(data[0]), (uint32_t)i);
		assert_int_equal(m3_tar_file(fp, names[i], data[i % 3], (size_t)(i * 600), 0, &e),
				 M3_OK);
	}
	assert_int_equal(m3_tar_end(fp, &e), M3_OK);
	assert_int_equal(fclose(fp), 0);

	snprintf(cmd, sizeof(cmd), "tar -tf '%s'", path);
	list = (char *)run_cmd(cmd, &len);
	list[len] = '\0';
	{
		char want[2048];
		snprintf(want, sizeof(want), "%s\n%s\n%s\n%s\n", names[0], names[1], names[2],
			 names[3]);
		assert_string_equal(list, want);
	}
	free(list);
	for (int i = 1; i < 4; i++) {
		snprintf(cmd, sizeof(cmd), "tar -xOf '%s' '%s'", path, names[i]);
		out = run_cmd(cmd, &len);
		assert_int_equal(len, (size_t)i * 600);
		fill_bytes(data[0], sizeof(data[0]), (uint32_t)i);
		assert_memory_equal(out, data[0], len);
		free(out);
	}
	free(p155);
	free(n100);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_sizes),
		cmocka_unit_test(test_header_pad),
		cmocka_unit_test(test_header_fields),
		cmocka_unit_test(test_long_names),
		cmocka_unit_test(test_peek),
		cmocka_unit_test(test_skip_unread),
		cmocka_unit_test(test_read_past_end),
		cmocka_unit_test(test_is_header),
		cmocka_unit_test(test_eof),
		cmocka_unit_test(test_extended_by_hand),
		cmocka_unit_test(test_kinds_by_hand),
		cmocka_unit_test(test_base256),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_pax_bad_record),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_corrupt_random),
		cmocka_unit_test(test_write_full),
		cmocka_unit_test_setup_teardown(test_gnu_tar_formats, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_gnu_tar_pipe, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_gnu_tar_reads_ours, dir_setup, dir_teardown),
	};

	unsetenv("TAR_OPTIONS");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
