/* Unit tests for m3/vol.h: the volume stream written and read back in memory, and bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "m3/vol.h"

static const enum m3_type all_types[] = {M3_UINT8, M3_INT16,  M3_UINT16,
					 M3_INT32, M3_UINT32, M3_FLOAT};
#define NTYPES (sizeof(all_types) / sizeof(all_types[0]))

/* Shapes every type is tried in: 2D, 3D, 2D RGB, 3D RGB. */
static const struct shape {
	unsigned dim;
	int rgb;
	size_t sizes[M3_VOL_MAXDIM];
} shapes[] = {
	{2, 0, {5, 7}},
	{3, 0, {4, 3, 5}},
	{3, 1, {3, 6, 5}},
	{4, 1, {3, 4, 3, 2}},
};
#define NSHAPES (sizeof(shapes) / sizeof(shapes[0]))

/* A growing byte buffer for building input by hand. */
struct buf {
	unsigned char *p;
	size_t len;
};

static void
buf_add(struct buf *b, const void *s, size_t n)
{
	b->p = realloc(b->p, b->len + n + 1);
	assert_non_null(b->p);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

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

/* Sets v to a volume of the shape and type with data, geometry and metadata from seed. */
static void
make_vol(struct m3_vol *v, const struct shape *s, enum m3_type t, uint32_t seed)
{
	static const double vals[] = {0.1, -123.456, 1e-7, 0.25, 0, -0.5, 1e5, 3.0 / 7};
	struct m3_err e;
	size_t n;
	char key[32];

	m3_vol_init(v);
	v->type = t;
	v->dim = s->dim;
	v->rgb = s->rgb;
	memcpy(v->sizes, s->sizes, sizeof(v->sizes));
	v->has_space = 1;
	for (unsigned i = (unsigned)s->rgb; i < s->dim; i++)
		for (int j = 0; j < 3; j++)
			v->dirs[i][j] = vals[(i * 3 + (unsigned)j + seed) % 8];
	v->has_origin = 1;
	v->origin[0] = 0.1;
	v->origin[1] = -123.456;
	v->origin[2] = 1e-7 * (seed + 1);
	snprintf(key, sizeof(key), "%u", seed);
	assert_int_equal(m3_vol_set(v, "m3-modality", "CT", &e), M3_OK);
	assert_int_equal(m3_vol_set(v, "m3-seed", key, &e), M3_OK);
	assert_int_equal(m3_vol_set(v, "m3-note", "two\nlines \\ and \\n literal\\", &e), M3_OK);
	assert_int_equal(m3_vol_alloc(v, &e), M3_OK);
	assert_int_equal(m3_vol_nbytes(v, &n, &e), M3_OK);
	fill_bytes(v->data, n, seed);
}

static void
assert_vol_equal(const struct m3_vol *a, const struct m3_vol *b)
{
	struct m3_err e;
	size_t na, nb;

	assert_int_equal(a->type, b->type);
	assert_int_equal(a->dim, b->dim);
	assert_int_equal(a->rgb, b->rgb);
	for (unsigned i = 0; i < a->dim; i++)
		assert_int_equal(a->sizes[i], b->sizes[i]);
	assert_int_equal(a->has_space, b->has_space);
	for (unsigned i = (unsigned)a->rgb; i < a->dim && a->has_space; i++)
		for (int j = 0; j < 3; j++)
			if (a->dirs[i][j] != b->dirs[i][j])
				fail_msg("dirs[%u][%d]: %.17g != %.17g", i, j, a->dirs[i][j],
					 b->dirs[i][j]);
	assert_int_equal(a->has_origin, b->has_origin);
	for (int j = 0; j < 3 && a->has_origin; j++)
		if (a->origin[j] != b->origin[j])
			fail_msg("origin[%d]: %.17g != %.17g", j, a->origin[j], b->origin[j]);
	assert_int_equal(a->nkv, b->nkv);
	for (size_t i = 0; i < a->nkv; i++) {
		assert_string_equal(a->kv[i].key, b->kv[i].key);
		assert_string_equal(a->kv[i].val, b->kv[i].val);
	}
	assert_int_equal(m3_vol_nbytes(a, &na, &e), M3_OK);
	assert_int_equal(m3_vol_nbytes(b, &nb, &e), M3_OK);
	assert_int_equal(na, nb);
	assert_non_null(a->data);
	assert_non_null(b->data);
	assert_memory_equal(a->data, b->data, na);
}

/* Writes n volumes into one in-memory stream at the level (< 0 raw). */
static void
write_stream(const struct m3_vol *v, size_t n, int level, struct buf *out)
{
	struct m3_vol_writer *w;
	struct m3_err e;
	char *p = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&p, &len);

	assert_non_null(fp);
	assert_non_null(w = m3_vol_writer_new(fp, "mem", level));
	m3_err_init(&e);
	for (size_t i = 0; i < n; i++)
		if (m3_vol_write(w, &v[i], &e) != M3_OK)
			fail_msg("write volume %zu: %s", i, e.msg);
	m3_vol_writer_free(w);
	assert_int_equal(fclose(fp), 0);
	out->p = (unsigned char *)p;
	out->len = len;
}

/* A reader over bytes in memory. */
struct rd {
	FILE *fp;
	struct m3_vol_reader *r;
};

static void
rd_open(struct rd *rd, const void *p, size_t n)
{
	/* fmemopen of zero bytes is not portable; /dev/null reads the same nothing */
	rd->fp = n > 0 ? fmemopen((void *)(uintptr_t)p, n, "r") : fopen("/dev/null", "r");
	assert_non_null(rd->fp);
	assert_non_null(rd->r = m3_vol_reader_new(rd->fp, "mem"));
}

static void
rd_close(struct rd *rd)
{
	m3_vol_reader_free(rd->r);
	fclose(rd->fp);
}

static void
roundtrip_all(int level)
{
	struct m3_vol in[NTYPES * NSHAPES], out;
	struct m3_err e;
	struct buf b;
	struct rd rd;
	size_t n = 0;

	for (size_t s = 0; s < NSHAPES; s++)
		for (size_t t = 0; t < NTYPES; t++, n++)
			make_vol(&in[n], &shapes[s], all_types[t], (uint32_t)n);
	write_stream(in, n, level, &b);

	/* each volume alone, then all of them in one stream */
	for (size_t i = 0; i < n; i++) {
		struct buf one;
		write_stream(&in[i], 1, level, &one);
		rd_open(&rd, one.p, one.len);
		m3_vol_init(&out);
		if (m3_vol_read(rd.r, &out, &e) != M3_OK)
			fail_msg("volume %zu (%s, dim %u): %s", i, m3_type_name(in[i].type),
				 in[i].dim, e.msg);
		assert_vol_equal(&in[i], &out);
		assert_int_equal(m3_vol_read(rd.r, &out, &e), M3_EOF);
		m3_vol_release(&out);
		rd_close(&rd);
		free(one.p);
	}
	rd_open(&rd, b.p, b.len);
	m3_vol_init(&out);
	for (size_t i = 0; i < n; i++) {
		if (m3_vol_read(rd.r, &out, &e) != M3_OK)
			fail_msg("volume %zu of %zu: %s", i, n, e.msg);
		assert_vol_equal(&in[i], &out);
		assert_int_equal(m3_vol_reader_count(rd.r), i + 1);
	}
	assert_int_equal(m3_vol_read_header(rd.r, &out, &e), M3_EOF);
	assert_int_equal(m3_vol_read_header(rd.r, &out, &e), M3_EOF);
	assert_int_equal(m3_vol_reader_count(rd.r), n);
	rd_close(&rd);
	m3_vol_release(&out);
	for (size_t i = 0; i < n; i++)
		m3_vol_release(&in[i]);
	free(b.p);
}

static void
test_roundtrip_raw(void **state)
{
	(void)state;
	roundtrip_all(-1);
}

static void
test_roundtrip_gzip1(void **state)
{
	(void)state;
	roundtrip_all(1);
}

static void
test_roundtrip_gzip9(void **state)
{
	(void)state;
	roundtrip_all(9);
}

/* Without space, origin or metadata nothing is invented on the way back. */
static void
test_roundtrip_bare(void **state)
{
	struct m3_vol in, out;
	struct m3_err e;
	struct buf b;
	struct rd rd;

	(void)state;
	m3_vol_init(&in);
	in.type = M3_UINT8;
	in.dim = 2;
	in.sizes[0] = 3;
	in.sizes[1] = 2;
	assert_int_equal(m3_vol_alloc(&in, &e), M3_OK);
	memcpy(in.data, "abcdef", 6);
	write_stream(&in, 1, -1, &b);
	rd_open(&rd, b.p, b.len);
	m3_vol_init(&out);
	assert_int_equal(m3_vol_read(rd.r, &out, &e), M3_OK);
	assert_int_equal(out.has_space, 0);
	assert_int_equal(out.has_origin, 0);
	assert_int_equal(out.nkv, 0);
	assert_vol_equal(&in, &out);
	rd_close(&rd);
	m3_vol_release(&in);
	m3_vol_release(&out);
	free(b.p);
}

/* Metadata values with escapes and long lines come back as they went in. */
static void
test_roundtrip_meta(void **state)
{
	static const char *const vals[] = {
		"",          "plain",
		"a\nb",      "\n",
		"\\",        "\\n",
		"\\\\n\n\\", "trailing backslash\\",
		"tab\there", "  leading and trailing spaces  ",
		"x:=y",      "1 bone;2 soft-tissue",
	};
	char *longval = malloc(60001);
	struct m3_vol in, out;
	struct m3_err e;
	struct buf b;
	struct rd rd;
	char key[32];

	(void)state;
	assert_non_null(longval);
	memset(longval, 'v', 60000);
	longval[60000] = '\0';
	make_vol(&in, &shapes[1], M3_INT16, 3);
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		snprintf(key, sizeof(key), "m3-k%zu", i);
		assert_int_equal(m3_vol_set(&in, key, vals[i], &e), M3_OK);
	}
	assert_int_equal(m3_vol_set(&in, "m3-long", longval, &e), M3_OK);
	for (int level = -1; level <= 9; level += 10) {
		write_stream(&in, 1, level, &b);
		rd_open(&rd, b.p, b.len);
		m3_vol_init(&out);
		if (m3_vol_read(rd.r, &out, &e) != M3_OK)
			fail_msg("%s", e.msg);
		assert_vol_equal(&in, &out);
		for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
			snprintf(key, sizeof(key), "m3-k%zu", i);
			assert_string_equal(m3_vol_get(&out, key), vals[i]);
		}
		assert_string_equal(m3_vol_get(&out, "m3-long"), longval);
		assert_null(m3_vol_get(&out, "m3-missing"));
		rd_close(&rd);
		m3_vol_release(&out);
		free(b.p);
	}
	m3_vol_release(&in);
	free(longval);
}

/* Every key and value that m3_vol_set accepts must read back the same. */
static void
test_roundtrip_odd_kv(void **state)
{
	static const struct {
		const char *key, *val;
	} kv[] = {
		{"key with spaces", "value"},
		{"back\\slash", "value"},
		{"m3-hash", "#value"},
	};
	/* what the reader could not give back is refused when it is set */
	static const struct {
		const char *key, *val;
	} refused[] = {
		{"#hash", "a comment line to the reader"},
		{"m3-cr", "ends in CR\r"},
		{"m3-cr2", "mid\rdle"},
	};
	struct m3_vol in, out;
	struct m3_err e;
	struct buf b;
	struct rd rd;
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
		const char *got;
		make_vol(&in, &shapes[0], M3_UINT8, 1);
		assert_int_equal(m3_vol_set(&in, kv[i].key, kv[i].val, &e), M3_OK);
		write_stream(&in, 1, -1, &b);
		rd_open(&rd, b.p, b.len);
		m3_vol_init(&out);
		if (m3_vol_read(rd.r, &out, &e) != M3_OK) {
			print_error("key \"%s\": accepted by m3_vol_set, not read back: %s\n",
				    kv[i].key, e.msg);
			failed++;
		} else if ((got = m3_vol_get(&out, kv[i].key)) == NULL || out.nkv != in.nkv) {
			print_error("key \"%s\": accepted by m3_vol_set, lost on the way back\n",
				    kv[i].key);
			failed++;
		} else if (strcmp(got, kv[i].val) != 0) {
			print_error("key \"%s\": value changed on the way back\n", kv[i].key);
			failed++;
		}
		rd_close(&rd);
		m3_vol_release(&out);
		m3_vol_release(&in);
		free(b.p);
	}
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		m3_vol_init(&in);
		assert_int_equal(m3_vol_set(&in, refused[i].key, refused[i].val, &e), M3_EDATA);
		assert_int_equal(in.nkv, 0);
		m3_vol_release(&in);
	}
	if (failed)
		fail_msg("%d of %zu key:=value pairs do not round-trip", failed,
			 sizeof(kv) / sizeof(kv[0]));
}

/* Reads the next volume in pieces of the given element counts, cycling through them. */
static void
read_chunked(struct m3_vol_reader *r, struct m3_vol *v, const size_t *pieces, size_t np)
{
	struct m3_err e;
	size_t n, done = 0, es;

	assert_int_equal(m3_vol_read_header(r, v, &e), M3_OK);
	assert_int_equal(m3_vol_nbytes(v, &n, &e), M3_OK);
	assert_null(v->data);
	assert_non_null(v->data = malloc(n));
	es = m3_type_size(v->type);
	for (size_t i = 0; done < n; i++) {
		size_t k = pieces[i % np] * es;
		if (k > n - done)
			k = n - done;
		if (m3_vol_read_data(r, (unsigned char *)v->data + done, k, &e) != M3_OK)
			fail_msg("piece of %zu bytes at %zu of %zu: %s", k, done, n, e.msg);
		done += k;
	}
	/* nothing is left to hand out */
	assert_int_equal(m3_vol_read_data(r, v->data, es, &e), M3_EFAIL);
}

static void
test_chunked(void **state)
{
	static const size_t pieces[] = {1, 3, 7, 131, 1, 65537, 2, 200003, 5};
	static const struct shape big = {3, 0, {300, 301, 3}};
	struct m3_vol in[4], out;
	struct m3_err e;
	struct buf b;
	struct rd rd;

	(void)state;
	/* small and large (past the reader's buffer), two element sizes */
	make_vol(&in[0], &shapes[1], M3_INT16, 1);
	make_vol(&in[1], &big, M3_UINT16, 2);
	make_vol(&in[2], &shapes[2], M3_FLOAT, 3);
	make_vol(&in[3], &big, M3_UINT8, 4);
	for (int level = -1; level <= 9; level += 5) {
		write_stream(in, 4, level, &b);
		rd_open(&rd, b.p, b.len);
		m3_vol_init(&out);
		for (int i = 0; i < 4; i++) {
			read_chunked(rd.r, &out, pieces, sizeof(pieces) / sizeof(pieces[0]));
			assert_vol_equal(&in[i], &out);
		}
		assert_int_equal(m3_vol_read_header(rd.r, &out, &e), M3_EOF);
		rd_close(&rd);
		m3_vol_release(&out);
		free(b.p);
	}
	for (int i = 0; i < 4; i++)
		m3_vol_release(&in[i]);
}

/* A header call without (all) the data skips to the next volume. */
static void
test_skip(void **state)
{
	static const struct shape big = {2, 0, {700, 500}};
	struct m3_vol in[4], out;
	struct m3_err e;
	struct buf b;
	struct rd rd;
	size_t n;

	(void)state;
	make_vol(&in[0], &big, M3_INT32, 1);
	make_vol(&in[1], &shapes[1], M3_INT16, 2);
	make_vol(&in[2], &big, M3_FLOAT, 3);
	make_vol(&in[3], &shapes[2], M3_UINT8, 4);
	for (int level = -1; level <= 1; level += 2) {
		write_stream(in, 4, level, &b);
		rd_open(&rd, b.p, b.len);
		m3_vol_init(&out);
		/* volume 1: header only */
		assert_int_equal(m3_vol_read_header(rd.r, &out, &e), M3_OK);
		assert_int_equal(out.type, M3_INT32);
		/* volume 2: header only */
		assert_int_equal(m3_vol_read_header(rd.r, &out, &e), M3_OK);
		assert_int_equal(out.type, M3_INT16);
		assert_string_equal(m3_vol_get(&out, "m3-seed"), "2");
		/* volume 3: a part of its data */
		assert_int_equal(m3_vol_read_header(rd.r, &out, &e), M3_OK);
		assert_int_equal(out.type, M3_FLOAT);
		assert_int_equal(m3_vol_nbytes(&out, &n, &e), M3_OK);
		assert_non_null(out.data = malloc(n));
		assert_int_equal(m3_vol_read_data(rd.r, out.data, n / 2, &e), M3_OK);
		assert_memory_equal(out.data, in[2].data, n / 2);
		/* volume 4: whole */
		if (m3_vol_read(rd.r, &out, &e) != M3_OK)
			fail_msg("level %d: %s", level, e.msg);
		assert_vol_equal(&in[3], &out);
		assert_int_equal(m3_vol_reader_count(rd.r), 4);
		assert_int_equal(m3_vol_read(rd.r, &out, &e), M3_EOF);
		rd_close(&rd);
		m3_vol_release(&out);
		free(b.p);
	}
	/* skipping the last volume's data still ends cleanly */
	write_stream(in, 2, -1, &b);
	rd_open(&rd, b.p, b.len);
	m3_vol_init(&out);
	assert_int_equal(m3_vol_read_header(rd.r, &out, &e), M3_OK);
	assert_int_equal(m3_vol_read_header(rd.r, &out, &e), M3_OK);
	assert_int_equal(m3_vol_read_header(rd.r, &out, &e), M3_EOF);
	rd_close(&rd);
	m3_vol_release(&out);
	free(b.p);
	for (int i = 0; i < 4; i++)
		m3_vol_release(&in[i]);
}

/* Raw and gzip volumes may follow each other in one stream (cat of two files). */
static void
test_mixed_encodings(void **state)
{
	struct m3_vol in[3], out;
	struct m3_err e;
	struct buf s[3], all = {0};
	struct rd rd;

	(void)state;
	for (int i = 0; i < 3; i++) {
		make_vol(&in[i], &shapes[i], all_types[i + 1], (uint32_t)i);
		write_stream(&in[i], 1, i == 1 ? 6 : -1, &s[i]);
		buf_add(&all, s[i].p, s[i].len);
		free(s[i].p);
	}
	/* all read; then again with the gzip volume skipped */
	for (int pass = 0; pass < 2; pass++) {
		rd_open(&rd, all.p, all.len);
		m3_vol_init(&out);
		for (int i = 0; i < 3; i++) {
			if (pass == 1 && i == 1) {
				assert_int_equal(m3_vol_read_header(rd.r, &out, &e), M3_OK);
				continue;
			}
			if (m3_vol_read(rd.r, &out, &e) != M3_OK)
				fail_msg("pass %d volume %d: %s", pass, i, e.msg);
			assert_vol_equal(&in[i], &out);
		}
		assert_int_equal(m3_vol_read(rd.r, &out, &e), M3_EOF);
		rd_close(&rd);
		m3_vol_release(&out);
	}
	for (int i = 0; i < 3; i++)
		m3_vol_release(&in[i]);
	free(all.p);
}

static void
test_empty_input(void **state)
{
	struct m3_vol v;
	struct m3_err e;
	struct rd rd;

	(void)state;
	rd_open(&rd, "", 0);
	m3_vol_init(&v);
	m3_err_init(&e);
	assert_int_equal(m3_vol_read_header(rd.r, &v, &e), M3_ENOINPUT);
	assert_non_null(strstr(e.msg, "mem"));
	assert_int_equal(m3_vol_reader_count(rd.r), 0);
	rd_close(&rd);
	m3_vol_release(&v);
}

/* gzip-compresses n bytes into a new buffer (one member, as the writer makes). */
static void
gzip_bytes(const void *in, size_t n, struct buf *out)
{
	z_stream zs;

	memset(&zs, 0, sizeof(zs));
	memset(out, 0, sizeof(*out));
	assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
			 Z_OK);
	out->len = deflateBound(&zs, n) + 64;
	assert_non_null(out->p = malloc(out->len));
	zs.next_in = (unsigned char *)(uintptr_t)in;
	zs.avail_in = (uInt)n;
	zs.next_out = out->p;
	zs.avail_out = (uInt)out->len;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	out->len = zs.total_out;
	deflateEnd(&zs);
}

/* Big-endian data, raw and gzip, comes back in host order. */
static void
test_big_endian(void **state)
{
	static const struct {
		const char *type;
		unsigned char be[8];
		size_t esize;
	} cases[] = {
		{"int16", {0x01, 0x02, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x7f}, 2},
		{"uint16", {0x01, 0x02, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x7f}, 2},
		{"int32", {0x01, 0x02, 0x03, 0x04, 0xff, 0xff, 0xff, 0xfe}, 4},
		{"uint32", {0x01, 0x02, 0x03, 0x04, 0xff, 0xff, 0xff, 0xfe}, 4},
		{"float", {0x3f, 0xc0, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00}, 4},
	};
	int16_t i16[4] = {0x0102, -2, INT16_MIN, 0x7f};
	uint16_t u16[4] = {0x0102, 0xfffe, 0x8000, 0x007f};
	int32_t i32[2] = {0x01020304, -2};
	uint32_t u32[2] = {0x01020304, 0xfffffffe};
	float f[2] = {1.5f, -2.0f};
	const void *want[] = {i16, u16, i32, u32, f};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int gz = 0; gz <= 1; gz++) {
			struct buf b = {0}, z;
			struct m3_vol v;
			struct m3_err e;
			struct rd rd;
			char hdr[200];

			snprintf(hdr, sizeof(hdr),
				 "NRRD0004\ntype: %s\ndimension: 2\nsizes: %zu 2\nendian: big\n"
				 "encoding: %s\n\n",
				 cases[i].type, 4 / cases[i].esize, gz ? "gzip" : "raw");
			buf_str(&b, hdr);
			if (gz) {
				gzip_bytes(cases[i].be, 8, &z);
				buf_add(&b, z.p, z.len);
				free(z.p);
			} else
				buf_add(&b, cases[i].be, 8);
			rd_open(&rd, b.p, b.len);
			m3_vol_init(&v);
			if (m3_vol_read(rd.r, &v, &e) != M3_OK)
				fail_msg("%s: %s", cases[i].type, e.msg);
			assert_int_equal(m3_type_size(v.type), cases[i].esize);
			if (memcmp(v.data, want[i], 8) != 0)
				fail_msg("%s %s: not in host order", cases[i].type,
					 gz ? "gzip" : "raw");
			assert_int_equal(m3_vol_read(rd.r, &v, &e), M3_EOF);
			rd_close(&rd);
			m3_vol_release(&v);
			free(b.p);
		}
	}
}

static void
test_type_parse(void **state)
{
	static const struct {
		const char *s;
		enum m3_type t;
	} cases[] = {
		{"uint8", M3_UINT8},       {"unsigned char", M3_UINT8},
		{"uchar", M3_UINT8},       {"int16", M3_INT16},
		{"short", M3_INT16},       {"signed short int", M3_INT16},
		{"uint16", M3_UINT16},     {"unsigned short", M3_UINT16},
		{"int32", M3_INT32},       {"int", M3_INT32},
		{"uint32", M3_UINT32},     {"unsigned int", M3_UINT32},
		{"float", M3_FLOAT},       {"double", M3_TNONE},
		{"int64", M3_TNONE},       {"", M3_TNONE},
		{"Float", M3_TNONE},       {"short ", M3_TNONE},
		{"signed char", M3_TNONE},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (m3_type_parse(cases[i].s) != cases[i].t)
			fail_msg("m3_type_parse(\"%s\") is %d, want %d", cases[i].s,
				 m3_type_parse(cases[i].s), cases[i].t);
	/* the canonical names read back as their own type */
	for (size_t i = 0; i < NTYPES; i++)
		assert_int_equal(m3_type_parse(m3_type_name(all_types[i])), all_types[i]);
	assert_int_equal(m3_type_size(M3_UINT8), 1);
	assert_int_equal(m3_type_size(M3_INT16), 2);
	assert_int_equal(m3_type_size(M3_UINT16), 2);
	assert_int_equal(m3_type_size(M3_INT32), 4);
	assert_int_equal(m3_type_size(M3_UINT32), 4);
	assert_int_equal(m3_type_size(M3_FLOAT), 4);
	assert_int_equal(m3_type_size(M3_TNONE), 0);
}

static void
test_nbytes(void **state)
{
	struct m3_vol v;
	struct m3_err e;
	size_t n = 12345;

	(void)state;
	m3_vol_init(&v);
	v.type = M3_INT32;
	v.dim = 3;
	v.sizes[0] = 7;
	v.sizes[1] = 11;
	v.sizes[2] = 13;
	assert_int_equal(m3_vol_nelem(&v, &n, &e), M3_OK);
	assert_int_equal(n, 7 * 11 * 13);
	assert_int_equal(m3_vol_nbytes(&v, &n, &e), M3_OK);
	assert_int_equal(n, 7 * 11 * 13 * 4);

	/* the element count overflows */
	v.sizes[0] = SIZE_MAX / 2 + 1;
	v.sizes[1] = 2;
	v.sizes[2] = 1;
	n = 12345;
	m3_err_init(&e);
	assert_int_equal(m3_vol_nelem(&v, &n, &e), M3_EDATA);
	assert_int_equal(m3_vol_nbytes(&v, &n, &e), M3_EDATA);
	assert_int_equal(n, 12345);
	assert_non_null(strstr(e.msg, "sizes"));

	/* the count fits, the bytes do not */
	v.sizes[0] = SIZE_MAX / 4 + 1;
	v.sizes[1] = 1;
	assert_int_equal(m3_vol_nelem(&v, &n, &e), M3_OK);
	assert_int_equal(n, SIZE_MAX / 4 + 1);
	n = 12345;
	m3_err_init(&e);
	assert_int_equal(m3_vol_nbytes(&v, &n, &e), M3_EDATA);
	assert_int_equal(n, 12345);
	assert_non_null(strstr(e.msg, "sizes"));
	/* and as uint8 they do */
	v.type = M3_UINT8;
	assert_int_equal(m3_vol_nbytes(&v, &n, &e), M3_OK);
	assert_int_equal(n, SIZE_MAX / 4 + 1);

	/* a zero size, no type, a bad dimension */
	v.sizes[1] = 0;
	assert_int_equal(m3_vol_nbytes(&v, &n, &e), M3_EDATA);
	v.sizes[1] = 1;
	v.type = M3_TNONE;
	assert_int_equal(m3_vol_nbytes(&v, &n, &e), M3_EDATA);
	v.type = M3_UINT8;
	v.dim = 0;
	assert_int_equal(m3_vol_nbytes(&v, &n, &e), M3_EDATA);
	v.dim = M3_VOL_MAXDIM + 1;
	assert_int_equal(m3_vol_nbytes(&v, &n, &e), M3_EDATA);
}

static void
test_alloc_limit(void **state)
{
	struct m3_vol v;
	struct m3_err e;

	(void)state;
	assert_int_equal(setenv("M3_MAX_BYTES", "1000", 1), 0);
	assert_int_equal(m3_max_bytes(), 1000);
	m3_vol_init(&v);
	v.type = M3_UINT32;
	v.dim = 2;
	v.sizes[0] = 10;
	v.sizes[1] = 25;
	/* exactly at the limit */
	assert_int_equal(m3_vol_alloc(&v, &e), M3_OK);
	assert_non_null(v.data);
	memset(v.data, 1, 1000);
	m3_vol_release(&v);
	/* one element over */
	v.type = M3_UINT32;
	v.dim = 2;
	v.sizes[0] = 251;
	v.sizes[1] = 1;
	m3_err_init(&e);
	assert_int_equal(m3_vol_alloc(&v, &e), M3_ELIMIT);
	assert_null(v.data);
	assert_non_null(strstr(e.msg, "M3_MAX_BYTES"));
	/* an invalid setting falls back to a default far above 1000 */
	assert_int_equal(setenv("M3_MAX_BYTES", "12x", 1), 0);
	assert_true(m3_max_bytes() > 1000);
	assert_int_equal(setenv("M3_MAX_BYTES", "0", 1), 0);
	assert_true(m3_max_bytes() > 1000);
	assert_int_equal(m3_vol_alloc(&v, &e), M3_OK);
	assert_non_null(v.data);
	assert_int_equal(unsetenv("M3_MAX_BYTES"), 0);
	m3_vol_release(&v);
}

/* A reader limit refuses the volume at its header, before any data is allocated. */
static void
test_reader_limit(void **state)
{
	struct m3_vol in, out;
	struct m3_err e;
	struct buf b;
	struct rd rd;
	size_t n;

	(void)state;
	make_vol(&in, &shapes[1], M3_INT16, 5);
	assert_int_equal(m3_vol_nbytes(&in, &n, &e), M3_OK);
	write_stream(&in, 1, -1, &b);

	rd_open(&rd, b.p, b.len);
	m3_vol_reader_set_limit(rd.r, n - 1);
	m3_vol_init(&out);
	m3_err_init(&e);
	assert_int_equal(m3_vol_read_header(rd.r, &out, &e), M3_ELIMIT);
	assert_null(out.data);
	assert_non_null(strstr(e.msg, "sizes"));
	rd_close(&rd);

	rd_open(&rd, b.p, b.len);
	m3_vol_reader_set_limit(rd.r, n - 1);
	assert_int_equal(m3_vol_read(rd.r, &out, &e), M3_ELIMIT);
	assert_null(out.data);
	rd_close(&rd);

	rd_open(&rd, b.p, b.len);
	m3_vol_reader_set_limit(rd.r, n);
	assert_int_equal(m3_vol_read(rd.r, &out, &e), M3_OK);
	assert_vol_equal(&in, &out);
	rd_close(&rd);

	m3_vol_release(&in);
	m3_vol_release(&out);
	free(b.p);
}

static void
test_unset(void **state)
{
	struct m3_vol v;
	struct m3_err e;

	(void)state;
	m3_vol_init(&v);
	assert_int_equal(m3_vol_set(&v, "a", "1", &e), M3_OK);
	assert_int_equal(m3_vol_set(&v, "b", "2", &e), M3_OK);
	assert_int_equal(m3_vol_set(&v, "c", "3", &e), M3_OK);
	m3_vol_unset(&v, "b");
	assert_int_equal(v.nkv, 2);
	assert_null(m3_vol_get(&v, "b"));
	assert_string_equal(m3_vol_get(&v, "a"), "1");
	assert_string_equal(m3_vol_get(&v, "c"), "3");
	m3_vol_unset(&v, "nothere");
	assert_int_equal(v.nkv, 2);
	m3_vol_unset(&v, "c");
	m3_vol_unset(&v, "a");
	assert_int_equal(v.nkv, 0);
	m3_vol_release(&v);
}

static void
test_set_get(void **state)
{
	static const char *const bad[] = {
		"", "a:=b", ":=", "x:=", "m3:ns", "a: b", "new\nline", "cr\r"};
	struct m3_vol v;
	struct m3_err e;

	(void)state;
	m3_vol_init(&v);
	assert_null(m3_vol_get(&v, "a"));
	assert_int_equal(m3_vol_set(&v, "a", "1", &e), M3_OK);
	assert_int_equal(m3_vol_set(&v, "b", "2", &e), M3_OK);
	assert_int_equal(v.nkv, 2);
	assert_string_equal(m3_vol_get(&v, "a"), "1");
	/* replacing keeps one entry and its place */
	assert_int_equal(m3_vol_set(&v, "a", "one", &e), M3_OK);
	assert_int_equal(v.nkv, 2);
	assert_string_equal(v.kv[0].key, "a");
	assert_string_equal(m3_vol_get(&v, "a"), "one");
	assert_string_equal(m3_vol_get(&v, "b"), "2");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m3_err_init(&e);
		if (m3_vol_set(&v, bad[i], "v", &e) != M3_EDATA)
			fail_msg("key \"%s\" accepted", bad[i]);
		assert_true(e.msg[0] != '\0');
		assert_null(m3_vol_get(&v, bad[i]));
	}
	assert_int_equal(v.nkv, 2);
	/* the value is copied */
	{
		char val[] = "mutable";
		assert_int_equal(m3_vol_set(&v, "c", val, &e), M3_OK);
		val[0] = 'M';
		assert_string_equal(m3_vol_get(&v, "c"), "mutable");
	}
	/* up to M3_VOL_MAXKV keys, not more */
	for (int i = (int)v.nkv; i < M3_VOL_MAXKV; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%d", i);
		assert_int_equal(m3_vol_set(&v, k, "x", &e), M3_OK);
	}
	assert_int_equal(v.nkv, M3_VOL_MAXKV);
	assert_int_equal(m3_vol_set(&v, "one-too-many", "x", &e), M3_EDATA);
	assert_int_equal(m3_vol_set(&v, "a", "still replaceable", &e), M3_OK);
	assert_string_equal(m3_vol_get(&v, "a"), "still replaceable");
	m3_vol_release(&v);
	assert_int_equal(v.nkv, 0);
	assert_null(v.kv);
	assert_null(v.data);
}

static void
test_copy_meta(void **state)
{
	struct m3_vol src, dst;
	struct m3_err e;

	(void)state;
	make_vol(&src, &shapes[3], M3_INT16, 9);
	m3_vol_init(&dst);
	dst.type = M3_FLOAT;
	assert_int_equal(m3_vol_set(&dst, "old", "gone", &e), M3_OK);
	assert_int_equal(m3_vol_copy_meta(&dst, &src, &e), M3_OK);
	assert_int_equal(dst.type, M3_FLOAT);
	assert_null(dst.data);
	assert_int_equal(dst.dim, src.dim);
	assert_int_equal(dst.rgb, src.rgb);
	assert_memory_equal(dst.sizes, src.sizes, sizeof(src.sizes));
	assert_int_equal(dst.has_space, 1);
	assert_memory_equal(dst.dirs, src.dirs, sizeof(src.dirs));
	assert_int_equal(dst.has_origin, 1);
	assert_memory_equal(dst.origin, src.origin, sizeof(src.origin));
	assert_null(m3_vol_get(&dst, "old"));
	assert_int_equal(dst.nkv, src.nkv);
	for (size_t i = 0; i < src.nkv; i++) {
		assert_string_equal(dst.kv[i].key, src.kv[i].key);
		assert_string_equal(dst.kv[i].val, src.kv[i].val);
		/* deep copies: src can go away */
		assert_ptr_not_equal(dst.kv[i].key, src.kv[i].key);
		assert_ptr_not_equal(dst.kv[i].val, src.kv[i].val);
	}
	m3_vol_release(&src);
	assert_string_equal(m3_vol_get(&dst, "m3-modality"), "CT");
	m3_vol_release(&dst);
}

/*
 * Bad input.  Each case is a header (and data) that must be refused with the code and a
 * message naming the field; a body builder appends data that is easier made at run time.
 */
enum body {
	B_NONE,
	B_GZ_TRUNC, /* a member cut in half */
	B_GZ_LONG, /* 20 bytes for 16 */
	B_GZ_SHORT, /* 12 bytes for 16 */
	B_GZ_BLOCK, /* an invalid deflate block type */
	B_GZ_CRC, /* a wrong CRC in the trailer */
	B_LONG_LINE, /* a comment line of 70000 bytes, then a valid header */
	B_GOOD_AFTER, /* a complete valid volume after the text */
	B_BIG_HEADER, /* 20 comment lines of 60000 bytes: a header over 1 MiB */
	B_MANY_KV, /* one key:=value line more than M3_VOL_MAXKV */
};

#define H "NRRD0004\n"
#define U8 "type: uint8\ndimension: 2\n"
#define LIT(s) s, sizeof(s) - 1

static const struct bad {
	const char *name;
	const char *text;
	size_t len;
	enum body body;
	int code;
	const char *needle, *needle2;
} bad[] = {
	{"empty input", LIT(""), B_NONE, M3_ENOINPUT, "empty", NULL},
	{"wrong magic", LIT("P5\n2 2\n255\n\0\0\0\0"), B_NONE, M3_EDATA, "magic", NULL},
	{"magic NRRD0009", LIT("NRRD0009\n" U8 "sizes: 2 2\nencoding: raw\n\nabcd"), B_NONE,
	 M3_EDATA, "magic", NULL},
	{"missing type", LIT(H "dimension: 2\nsizes: 2 2\nencoding: raw\n\nabcd"), B_NONE, M3_EDATA,
	 "type", "missing"},
	{"missing dimension", LIT(H "type: uint8\nencoding: raw\n\nabcd"), B_NONE, M3_EDATA,
	 "dimension", NULL},
	{"sizes before dimension",
	 LIT(H "type: uint8\nsizes: 2 2\ndimension: 2\nencoding: raw\n\n"), B_NONE, M3_EDATA,
	 "dimension", NULL},
	{"missing sizes", LIT(H U8 "encoding: raw\n\nabcd"), B_NONE, M3_EDATA, "sizes", "missing"},
	{"missing encoding", LIT(H U8 "sizes: 2 2\n\nabcd"), B_NONE, M3_EDATA, "encoding",
	 "missing"},
	{"missing endian for int16",
	 LIT(H "type: int16\ndimension: 2\nsizes: 2 2\nencoding: raw\n\nabcdefgh"), B_NONE,
	 M3_EDATA, "endian", NULL},
	{"bad endian",
	 LIT(H "type: int16\ndimension: 2\nsizes: 1 1\nendian: middle\nencoding: raw\n\nab"),
	 B_NONE, M3_EDATA, "endian", NULL},
	{"unknown field", LIT(H U8 "frobnicate: 3\nsizes: 2 2\nencoding: raw\n\nabcd"), B_NONE,
	 M3_EDATA, "frobnicate", NULL},
	{"no space after colon",
	 LIT(H "type:uint8\ndimension: 2\nsizes: 2 2\nencoding: raw\n\nabcd"), B_NONE, M3_EDATA,
	 "type", NULL},
	{"line without colon", LIT(H U8 "sizes 2 2\nencoding: raw\n\nabcd"), B_NONE, M3_EDATA,
	 "field", NULL},
	{"field given twice", LIT(H U8 "type: uint8\nsizes: 2 2\nencoding: raw\n\nabcd"), B_NONE,
	 M3_EDATA, "type", "twice"},
	{"unknown type",
	 LIT(H "type: double\ndimension: 2\nsizes: 2 2\nendian: little\nencoding: raw\n\n"), B_NONE,
	 M3_EDATA, "type", "double"},
	{"dimension 1", LIT(H "type: uint8\ndimension: 1\nsizes: 4\nencoding: raw\n\nabcd"), B_NONE,
	 M3_EDATA, "dimension", NULL},
	{"dimension 5", LIT(H "type: uint8\ndimension: 5\nsizes: 1 1 1 1 1\nencoding: raw\n\na"),
	 B_NONE, M3_EDATA, "dimension", NULL},
	{"dimension 4 without RGB-color (4 spatial axes)",
	 LIT(H "type: uint8\ndimension: 4\nsizes: 1 1 1 1\nkinds: domain domain domain domain\n"
	       "encoding: raw\n\na"),
	 B_NONE, M3_EDATA, "dimension", NULL},
	{"dimension 2 with RGB-color (1 spatial axis)",
	 LIT(H U8 "sizes: 3 2\nkinds: RGB-color domain\nencoding: raw\n\nabcdef"), B_NONE, M3_EDATA,
	 "dimension", NULL},
	{"dimension x", LIT(H "type: uint8\ndimension: x\nsizes: 2 2\nencoding: raw\n\nabcd"),
	 B_NONE, M3_EDATA, "dimension", NULL},
	{"sizes too few", LIT(H "type: uint8\ndimension: 3\nsizes: 2 2\nencoding: raw\n\nabcd"),
	 B_NONE, M3_EDATA, "sizes", NULL},
	{"sizes too many", LIT(H U8 "sizes: 2 2 1\nencoding: raw\n\nabcd"), B_NONE, M3_EDATA,
	 "sizes", NULL},
	{"sizes 0", LIT(H U8 "sizes: 2 0\nencoding: raw\n\n"), B_NONE, M3_EDATA, "sizes", NULL},
	{"sizes negative", LIT(H U8 "sizes: 2 -2\nencoding: raw\n\nabcd"), B_NONE, M3_EDATA,
	 "sizes", NULL},
	{"sizes not a number", LIT(H U8 "sizes: 2 2x\nencoding: raw\n\nabcd"), B_NONE, M3_EDATA,
	 "sizes", NULL},
	{"sizes 100000^3 over the limit",
	 LIT(H "type: uint8\ndimension: 3\nsizes: 100000 100000 100000\nencoding: raw\n\nabcd"),
	 B_NONE, M3_ELIMIT, "sizes", NULL},
	{"sizes product overflows 64 bits",
	 LIT(H "type: uint8\ndimension: 3\nsizes: 4294967296 4294967296 2\nencoding: raw\n\n"),
	 B_NONE, M3_EDATA, "sizes", NULL},
	{"sizes bytes overflow 64 bits",
	 LIT(H "type: float\ndimension: 2\nsizes: 4611686018427387904 1\nendian: little\n"
	       "encoding: raw\n\n"),
	 B_NONE, M3_EDATA, "sizes", NULL},
	{"size over 2^64", LIT(H U8 "sizes: 18446744073709551616 1\nencoding: raw\n\n"), B_NONE,
	 M3_EDATA, "sizes", NULL},
	{"space without space directions",
	 LIT(H U8 "space: left-posterior-superior\nsizes: 2 2\nencoding: raw\n\nabcd"), B_NONE,
	 M3_EDATA, "space directions", NULL},
	{"space not LPS",
	 LIT(H U8 "space: right-anterior-superior\nsizes: 2 2\nencoding: raw\n\nabcd"), B_NONE,
	 M3_EDATA, "space", NULL},
	{"space directions before space",
	 LIT(H U8 "sizes: 2 2\nspace directions: (1,0,0) (0,1,0)\nencoding: raw\n\nabcd"), B_NONE,
	 M3_EDATA, "space", NULL},
	{"space directions too few",
	 LIT(H U8 "space: LPS\nsizes: 2 2\nspace directions: (1,0,0)\nencoding: raw\n\nabcd"),
	 B_NONE, M3_EDATA, "space directions", NULL},
	{"space directions too many",
	 LIT(H U8 "space: LPS\nsizes: 2 2\nspace directions: (1,0,0) (0,1,0) (0,0,1)\n"
		  "encoding: raw\n\nabcd"),
	 B_NONE, M3_EDATA, "space directions", NULL},
	{"space directions malformed",
	 LIT(H U8 "space: LPS\nsizes: 2 2\nspace directions: (1,0) (0,1,0)\nencoding: raw\n\nabcd"),
	 B_NONE, M3_EDATA, "space directions", NULL},
	{"space directions not finite",
	 LIT(H U8 "space: LPS\nsizes: 2 2\nspace directions: (inf,0,0) (0,1,0)\nencoding: raw\n\n"
		  "abcd"),
	 B_NONE, M3_EDATA, "space directions", NULL},
	{"none on a spatial axis",
	 LIT(H U8 "space: LPS\nsizes: 2 2\nspace directions: none (0,1,0)\nencoding: raw\n\nabcd"),
	 B_NONE, M3_EDATA, "space directions", NULL},
	{"space origin malformed",
	 LIT(H U8 "space: LPS\nsizes: 2 2\nspace directions: (1,0,0) (0,1,0)\n"
		  "space origin: (1,2)\nencoding: raw\n\nabcd"),
	 B_NONE, M3_EDATA, "space origin", NULL},
	{"RGB-color with size 4",
	 LIT(H "type: uint8\ndimension: 3\nsizes: 4 1 1\nkinds: RGB-color domain domain\n"
	       "encoding: raw\n\nabcd"),
	 B_NONE, M3_EDATA, "RGB", NULL},
	{"RGB-color on axis 1",
	 LIT(H "type: uint8\ndimension: 3\nsizes: 1 3 1\nkinds: domain RGB-color domain\n"
	       "encoding: raw\n\nabc"),
	 B_NONE, M3_EDATA, "kinds", NULL},
	{"RGB-color axis with a direction",
	 LIT(H "type: uint8\ndimension: 3\nspace: LPS\nsizes: 3 1 1\n"
	       "space directions: (1,0,0) (1,0,0) (0,1,0)\nkinds: RGB-color domain domain\n"
	       "encoding: raw\n\nabc"),
	 B_NONE, M3_EDATA, "space directions", NULL},
	{"kinds unknown", LIT(H U8 "sizes: 2 2\nkinds: domain banana\nencoding: raw\n\nabcd"),
	 B_NONE, M3_EDATA, "kinds", NULL},
	{"kinds too few", LIT(H U8 "sizes: 2 2\nkinds: domain\nencoding: raw\n\nabcd"), B_NONE,
	 M3_EDATA, "kinds", NULL},
	{"encoding bzip2", LIT(H U8 "sizes: 2 2\nencoding: bzip2\n\nabcd"), B_NONE, M3_EDATA,
	 "encoding", NULL},
	{"data file", LIT(H U8 "sizes: 2 2\nencoding: raw\ndata file: /etc/passwd\n\n"), B_NONE,
	 M3_EDATA, "data file", NULL},
	{"line skip: 3", LIT(H U8 "sizes: 2 2\nencoding: raw\nline skip: 3\n\nabcd"), B_NONE,
	 M3_EDATA, "line skip", NULL},
	{"header truncated before blank line", LIT(H U8 "sizes: 2 2\nencoding: raw\n"), B_NONE,
	 M3_EDATA, "header", NULL},
	{"header truncated inside a line", LIT(H U8 "sizes: 2 2\nencod"), B_NONE, M3_EDATA,
	 "header", NULL},
	{"header truncated after magic", LIT("NRRD0004"), B_NONE, M3_EDATA, "header", NULL},
	{"raw data truncated", LIT(H U8 "sizes: 2 2\nencoding: raw\n\nabc"), B_NONE, M3_EDATA,
	 "truncated", NULL},
	{"raw data missing", LIT(H U8 "sizes: 2 2\nencoding: raw\n\n"), B_NONE, M3_EDATA,
	 "truncated", NULL},
	{"gzip data truncated", LIT(H U8 "sizes: 4 4\nencoding: gzip\n\n"), B_GZ_TRUNC, M3_EDATA,
	 "gzip", NULL},
	{"gzip data missing", LIT(H U8 "sizes: 4 4\nencoding: gzip\n\n"), B_NONE, M3_EDATA, "gzip",
	 NULL},
	{"gzip data longer than sizes say", LIT(H U8 "sizes: 4 4\nencoding: gzip\n\n"), B_GZ_LONG,
	 M3_EDATA, "gzip", "longer"},
	{"gzip data shorter than sizes say", LIT(H U8 "sizes: 4 4\nencoding: gzip\n\n"), B_GZ_SHORT,
	 M3_EDATA, "gzip", "shorter"},
	{"corrupt gzip block", LIT(H U8 "sizes: 4 4\nencoding: gzip\n\n"), B_GZ_BLOCK, M3_EDATA,
	 "gzip", "corrupt"},
	{"corrupt gzip CRC", LIT(H U8 "sizes: 4 4\nencoding: gzip\n\n"), B_GZ_CRC, M3_EDATA, "gzip",
	 "corrupt"},
	{"raw bytes where gzip is said", LIT(H U8 "sizes: 2 2\nencoding: gzip\n\nabcdefghijklmnop"),
	 B_NONE, M3_EDATA, "gzip", NULL},
	{"NUL in header", LIT(H U8 "sizes: 2 2\nenco\0ding: raw\n\nabcd"), B_NONE, M3_EDATA, "NUL",
	 NULL},
	{"header line over 64 KiB", LIT(""), B_LONG_LINE, M3_EDATA, "header line", NULL},
	{"header over 1 MiB", LIT(""), B_BIG_HEADER, M3_EDATA, "header", NULL},
	{"more key:=value lines than M3_VOL_MAXKV", LIT(""), B_MANY_KV, M3_EDATA, "key:=value",
	 NULL},
	{"key with a colon", LIT(H U8 "sizes: 2 2\nm3:ns:=v\nencoding: raw\n\nabcd"), B_NONE,
	 M3_EDATA, "m3", NULL},
	{"bad key in a key:=value line", LIT(H U8 "sizes: 2 2\n:=empty key\nencoding: raw\n\nabcd"),
	 B_NONE, M3_EDATA, "key", NULL},
	{"garbage after first volume", LIT(H U8 "sizes: 2 2\nencoding: raw\n\nabcdgarbage\n"),
	 B_NONE, M3_EDATA, "volume 2", "magic"},
	{"error in second volume's header",
	 LIT(H U8 "sizes: 2 2\nencoding: raw\n\nabcd" H U8 "sizes: 2 2\nencoding: lzma\n\nabcd"),
	 B_NONE, M3_EDATA, "volume 2", "encoding"},
	{"second volume truncated",
	 LIT(H U8 "sizes: 2 2\nencoding: raw\n\nabcd" H U8 "sizes: 2 2\nencoding: raw\n\nab"),
	 B_NONE, M3_EDATA, "volume 2", "truncated"},
};

static void
add_body(struct buf *b, enum body body)
{
	unsigned char data[20];
	struct buf z = {0};

	fill_bytes(data, sizeof(data), 77);
	switch (body) {
	case B_NONE:
		return;
	case B_GZ_TRUNC:
		gzip_bytes(data, 16, &z);
		z.len /= 2;
		break;
	case B_GZ_LONG:
		gzip_bytes(data, 20, &z);
		break;
	case B_GZ_SHORT:
		gzip_bytes(data, 12, &z);
		break;
	case B_GZ_BLOCK:
		gzip_bytes(data, 16, &z);
		z.p[10] = 0xff; /* BFINAL 1, BTYPE 11: reserved */
		break;
	case B_GZ_CRC:
		gzip_bytes(data, 16, &z);
		z.p[z.len - 8] ^= 0x55;
		break;
	case B_LONG_LINE:
		buf_str(b, H "# ");
		for (int i = 0; i < 70; i++) {
			char line[1001];
			memset(line, 'x', 1000);
			line[1000] = '\0';
			buf_str(b, line);
		}
		buf_str(b, "\n" U8 "sizes: 2 2\nencoding: raw\n\nabcd");
		return;
	case B_GOOD_AFTER:
		buf_str(b, H U8 "sizes: 2 2\nencoding: raw\n\nabcd");
		return;
	case B_BIG_HEADER:
		buf_str(b, H);
		for (int i = 0; i < 20; i++) {
			char *line = malloc(60002);
			assert_non_null(line);
			memset(line, '#', 60000);
			line[60000] = '\n';
			line[60001] = '\0';
			buf_str(b, line);
			free(line);
		}
		buf_str(b, U8 "sizes: 2 2\nencoding: raw\n\nabcd");
		return;
	case B_MANY_KV:
		buf_str(b, H U8 "sizes: 2 2\nencoding: raw\n");
		for (int i = 0; i <= M3_VOL_MAXKV; i++) {
			char line[40];
			snprintf(line, sizeof(line), "m3-k%d:=%d\n", i, i);
			buf_str(b, line);
		}
		buf_str(b, "\nabcd");
		return;
	}
	buf_add(b, z.p, z.len);
	free(z.p);
}

static void
test_bad_input(void **state)
{
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct bad *c = &bad[i];
		struct buf b = {0};
		struct m3_vol v;
		struct m3_err e;
		struct rd rd;
		int rc;

		buf_add(&b, c->text, c->len);
		add_body(&b, c->body);
		rd_open(&rd, b.p, b.len);
		m3_vol_init(&v);
		m3_err_init(&e);
		/* every volume before the bad one reads; the bad one fails */
		while ((rc = m3_vol_read(rd.r, &v, &e)) == M3_OK)
			;
		if (rc != c->code) {
			print_error("%s: code %d (%s), want %d\n", c->name, rc, e.msg, c->code);
			failed++;
		} else if (e.code != rc || strstr(e.msg, c->needle) == NULL ||
			   (c->needle2 != NULL && strstr(e.msg, c->needle2) == NULL)) {
			print_error("%s: message \"%s\" (code %d) lacks \"%s\"%s%s\n", c->name,
				    e.msg, e.code, c->needle, c->needle2 ? " or " : "",
				    c->needle2 ? c->needle2 : "");
			failed++;
		} else if (strstr(e.msg, "mem") != e.msg) {
			print_error("%s: message \"%s\" does not start with the name\n", c->name,
				    e.msg);
			failed++;
		}
		if (v.data != NULL) {
			print_error("%s: data left allocated after an error\n", c->name);
			failed++;
		}
		rd_close(&rd);
		m3_vol_release(&v);
		free(b.p);
	}
	if (failed)
		fail_msg("%d of %zu bad inputs not refused as they should be", failed,
			 sizeof(bad) / sizeof(bad[0]));
}

/* The cases above, with a valid volume in front, fail the same way (as volume 2). */
static void
test_bad_input_second(void **state)
{
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct bad *c = &bad[i];
		struct buf b = {0};
		struct m3_vol v;
		struct m3_err e;
		struct rd rd;
		int rc;

		if (c->code == M3_ENOINPUT || strstr(c->needle, "volume") != NULL)
			continue;
		add_body(&b, B_GOOD_AFTER);
		buf_add(&b, c->text, c->len);
		add_body(&b, c->body);
		rd_open(&rd, b.p, b.len);
		m3_vol_init(&v);
		m3_err_init(&e);
		assert_int_equal(m3_vol_read(rd.r, &v, &e), M3_OK);
		rc = m3_vol_read(rd.r, &v, &e);
		if (rc != c->code || strstr(e.msg, "volume 2") == NULL) {
			print_error("%s: code %d \"%s\", want %d and \"volume 2\"\n", c->name, rc,
				    e.msg, c->code);
			failed++;
		} else
			assert_null(v.data);
		rd_close(&rd);
		m3_vol_release(&v);
		free(b.p);
	}
	if (failed)
		fail_msg("%d bad second volumes not refused as they should be", failed);
}

/* A good header followed by good data that m3_vol_read accepts, as a control for the above. */
static void
test_good_handwritten(void **state)
{
	static const char text[] =
		H "# a comment\r\ntype: uchar\r\ndimension: 3\nspace: left-posterior-superior\n"
		  "sizes: 3 2 1\nspace directions: none (0.5,0,0) (0,0.5,-1e-7)\n"
		  "space origin: (-10, 20.5, 1e3)\nkinds: RGB-color space domain\n"
		  "content: ignored\nline skip: 0\nm3-units:=HU\\nx\nencoding: raw\n\nabcdef";
	struct m3_vol v;
	struct m3_err e;
	struct rd rd;

	(void)state;
	rd_open(&rd, text, sizeof(text) - 1);
	m3_vol_init(&v);
	if (m3_vol_read(rd.r, &v, &e) != M3_OK)
		fail_msg("%s", e.msg);
	assert_int_equal(v.type, M3_UINT8);
	assert_int_equal(v.dim, 3);
	assert_int_equal(v.rgb, 1);
	assert_int_equal(v.sizes[0], 3);
	assert_int_equal(v.sizes[1], 2);
	assert_int_equal(v.sizes[2], 1);
	assert_int_equal(v.has_space, 1);
	assert_true(v.dirs[1][0] == 0.5 && v.dirs[2][2] == -1e-7);
	assert_int_equal(v.has_origin, 1);
	assert_true(v.origin[0] == -10 && v.origin[1] == 20.5 && v.origin[2] == 1e3);
	assert_string_equal(m3_vol_get(&v, "m3-units"), "HU\nx");
	assert_memory_equal(v.data, "abcdef", 6);
	assert_int_equal(m3_vol_read(rd.r, &v, &e), M3_EOF);
	rd_close(&rd);
	m3_vol_release(&v);
}

static void
test_write_too_much(void **state)
{
	struct m3_vol_writer *w;
	struct m3_vol v;
	struct m3_err e;
	char *p = NULL;
	size_t len = 0, n;
	FILE *fp = open_memstream(&p, &len);

	(void)state;
	assert_non_null(fp);
	make_vol(&v, &shapes[0], M3_INT16, 1);
	assert_int_equal(m3_vol_nbytes(&v, &n, &e), M3_OK);
	for (int level = -1; level <= 1; level += 2) {
		assert_non_null(w = m3_vol_writer_new(fp, "mem", level));
		assert_int_equal(m3_vol_write_header(w, &v, &e), M3_OK);
		m3_err_init(&e);
		assert_int_equal(m3_vol_write_data(w, v.data, n + 2, &e), M3_EFAIL);
		assert_non_null(strstr(e.msg, "mem"));
		/* part, then more than the rest */
		assert_int_equal(m3_vol_write_data(w, v.data, n - 4, &e), M3_OK);
		assert_int_equal(m3_vol_write_data(w, v.data, 6, &e), M3_EFAIL);
		/* a header before the data is complete */
		m3_err_init(&e);
		assert_int_equal(m3_vol_write_header(w, &v, &e), M3_EFAIL);
		assert_true(e.msg[0] != '\0');
		assert_int_equal(m3_vol_write(w, &v, &e), M3_EFAIL);
		/* the rest, then a new volume is fine */
		assert_int_equal(m3_vol_write_data(w, v.data, 4, &e), M3_OK);
		assert_int_equal(m3_vol_write(w, &v, &e), M3_OK);
		m3_vol_writer_free(w);
	}
	fclose(fp);
	free(p);
	m3_vol_release(&v);
}

/* Volumes the writer must refuse, writing nothing at all. */
enum wbad { W_RGB4, W_DIR_INF, W_ORIGIN_NAN, W_NO_TYPE, W_DIM1, W_4SPATIAL, W_NO_DATA };

static void
test_write_refuses(void **state)
{
	static const char *const names[] = {"RGB axis of 4", "direction inf", "origin nan",
					    "no type",       "dimension 1",   "4 spatial axes",
					    "no data"};
	int failed = 0;

	(void)state;
	for (int c = W_RGB4; c <= W_NO_DATA; c++) {
		struct m3_vol_writer *w;
		struct m3_vol v;
		struct m3_err e;
		char *p = NULL;
		size_t len = 0;
		FILE *fp = open_memstream(&p, &len);
		int rc;

		assert_non_null(fp);
		assert_non_null(w = m3_vol_writer_new(fp, "mem", -1));
		make_vol(&v, &shapes[2], M3_UINT8, 1);
		switch (c) {
		case W_RGB4:
			v.sizes[0] = 4;
			break;
		case W_DIR_INF:
			v.dirs[1][1] = HUGE_VAL;
			break;
		case W_ORIGIN_NAN:
			v.origin[2] = nan("");
			break;
		case W_NO_TYPE:
			v.type = M3_TNONE;
			break;
		case W_DIM1:
			v.rgb = 0;
			v.dim = 1;
			break;
		case W_4SPATIAL:
			v.rgb = 0;
			v.dim = 4;
			v.sizes[3] = 1;
			break;
		case W_NO_DATA:
			free(v.data);
			v.data = NULL;
			break;
		}
		m3_err_init(&e);
		rc = m3_vol_write(w, &v, &e);
		m3_vol_writer_free(w);
		fclose(fp);
		if (rc != M3_EFAIL || e.msg[0] == '\0') {
			print_error("%s: code %d, want %d\n", names[c], rc, M3_EFAIL);
			failed++;
		} else if (len != 0) {
			print_error("%s: refused, but %zu bytes written\n", names[c], len);
			failed++;
		}
		free(p);
		m3_vol_release(&v);
	}
	if (failed)
		fail_msg("%d bad volumes not refused cleanly", failed);
}

static void
test_write_full(void **state)
{
	struct m3_vol_writer *w;
	struct m3_vol v;
	struct m3_err e;
	FILE *fp;

	(void)state;
	make_vol(&v, &shapes[1], M3_FLOAT, 1);
	for (int level = -1; level <= 1; level += 2) {
		if ((fp = fopen("/dev/full", "w")) == NULL)
			skip();
		assert_int_equal(setvbuf(fp, NULL, _IONBF, 0), 0);
		assert_non_null(w = m3_vol_writer_new(fp, "full", level));
		m3_err_init(&e);
		assert_int_equal(m3_vol_write(w, &v, &e), M3_EIO);
		assert_non_null(strstr(e.msg, "full"));
		m3_vol_writer_free(w);
		fclose(fp);
	}
	m3_vol_release(&v);
}

/* m3_alloc_big: small sizes plain, image sizes 2 MiB-aligned, both writable end to end. */
static void
test_alloc_big(void **state)
{
	size_t sizes[] = {0, 1, 4096, ((size_t)8 << 20) - 1, (size_t)8 << 20, 27u << 20};
	(void)state;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *p = m3_alloc_big(sizes[i]);
		if (sizes[i] > 0) {
			assert_non_null(p);
			memset(p, 0xa5, sizes[i]);
			assert_int_equal(p[sizes[i] - 1], 0xa5);
		}
		if (sizes[i] >= ((size_t)8 << 20))
			assert_int_equal((uintptr_t)p % (2u << 20), 0);
		free(p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_raw),    cmocka_unit_test(test_roundtrip_gzip1),
		cmocka_unit_test(test_roundtrip_gzip9),  cmocka_unit_test(test_roundtrip_bare),
		cmocka_unit_test(test_roundtrip_meta),   cmocka_unit_test(test_roundtrip_odd_kv),
		cmocka_unit_test(test_chunked),          cmocka_unit_test(test_skip),
		cmocka_unit_test(test_mixed_encodings),  cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_big_endian),       cmocka_unit_test(test_type_parse),
		cmocka_unit_test(test_nbytes),           cmocka_unit_test(test_alloc_limit),
		cmocka_unit_test(test_reader_limit),     cmocka_unit_test(test_set_get),
		cmocka_unit_test(test_copy_meta),        cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_bad_input_second), cmocka_unit_test(test_good_handwritten),
		cmocka_unit_test(test_write_too_much),   cmocka_unit_test(test_write_refuses),
		cmocka_unit_test(test_write_full),       cmocka_unit_test(test_unset),
		cmocka_unit_test(test_alloc_big),
	};

	unsetenv("M3_MAX_BYTES");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
