/* The m3 volume stream: a strict subset of NRRD 0004 with attached data (man/m3-volume.5). */
#ifndef M3_VOL_H
#define M3_VOL_H

#include <stddef.h>
#include <stdio.h>

#include "m3/err.h"

#ifdef __cplusplus
extern "C" {
#endif

enum m3_type {
	M3_TNONE = 0,
	M3_UINT8,
	M3_INT16,
	M3_UINT16,
	M3_INT32,
	M3_UINT32,
	M3_FLOAT,
};

#define M3_VOL_MAXDIM 4 /* 2 or 3 spatial axes, plus an RGB-color axis first */
#define M3_VOL_MAXKV 256 /* key:=value lines in one header */

struct m3_kv {
	char *key;
	char *val;
};

/*
 * One volume.  Axis 0 is the fastest.  With rgb set, axis 0 is an RGB-color axis of
 * size 3 and axes 1.. are spatial.  dirs[i] is axis i's step in LPS millimetres;
 * it is unused for the RGB axis.  data holds nelem * m3_type_size(type) bytes in host
 * byte order.
 */
struct m3_vol {
	enum m3_type type;
	unsigned dim;
	int rgb;
	size_t sizes[M3_VOL_MAXDIM];
	int has_space;
	double dirs[M3_VOL_MAXDIM][3];
	int has_origin;
	double origin[3];
	struct m3_kv *kv;
	size_t nkv;
	void *data;
};

size_t m3_type_size(enum m3_type t);
const char *m3_type_name(enum m3_type t);
/* Takes the m3 names and teem's aliases ("short", "unsigned char", ...). */
enum m3_type m3_type_parse(const char *s);

/* The byte limit for one volume: M3_MAX_BYTES if set and valid, else half of RAM. */
size_t m3_max_bytes(void);

void m3_vol_init(struct m3_vol *v);
void m3_vol_release(struct m3_vol *v);
/* Elements and bytes, checked for overflow; M3_EDATA when they overflow. */
int m3_vol_nelem(const struct m3_vol *v, size_t *n, struct m3_err *e);
int m3_vol_nbytes(const struct m3_vol *v, size_t *n, struct m3_err *e);
/* Allocates data for the sizes and type set, after checking them against m3_max_bytes(). */
int m3_vol_alloc(struct m3_vol *v, struct m3_err *e);
/* n bytes for free(): from 8 MiB up, 2 MiB-aligned and advised to use huge pages
 * (fewer page faults for image-sized buffers); NULL without memory. */
void *m3_alloc_big(size_t n);
/* Sets (or replaces) key:=value. */
int m3_vol_set(struct m3_vol *v, const char *key, const char *val, struct m3_err *e);
const char *m3_vol_get(const struct m3_vol *v, const char *key);
/* Removes key:=value if present. */
void m3_vol_unset(struct m3_vol *v, const char *key);
/* Copies type-independent geometry and metadata from src to dst (not the data). */
int m3_vol_copy_meta(struct m3_vol *dst, const struct m3_vol *src, struct m3_err *e);

/*
 * Reading.  A reader owns a buffer in front of fp; volumes follow each other until EOF.
 * m3_vol_read_header() returns M3_OK, M3_EOF at a clean end after at least one volume,
 * M3_ENOINPUT when the input is empty, or an error.  The header is fully checked (and
 * its size against the limit) before the call returns, so nothing is allocated for bad
 * input.  m3_vol_read_data() then hands out the data in pieces (a multiple of the
 * element size), in host byte order; unread data is skipped by the next header call.
 */
struct m3_vol_reader;

struct m3_vol_reader *m3_vol_reader_new(FILE *fp, const char *name);
void m3_vol_reader_free(struct m3_vol_reader *r);
void m3_vol_reader_set_limit(struct m3_vol_reader *r, size_t bytes);
int m3_vol_read_header(struct m3_vol_reader *r, struct m3_vol *v, struct m3_err *e);
int m3_vol_read_data(struct m3_vol_reader *r, void *buf, size_t n, struct m3_err *e);
/* Header, allocation and all data of the next volume. */
int m3_vol_read(struct m3_vol_reader *r, struct m3_vol *v, struct m3_err *e);
/* Volumes begun so far. */
unsigned long m3_vol_reader_count(const struct m3_vol_reader *r);

/*
 * Writing.  level < 0 writes raw data, 0-9 one gzip member per volume at that zlib
 * level.  After the header, exactly nbytes of data must follow, in any pieces.
 */
struct m3_vol_writer;

struct m3_vol_writer *m3_vol_writer_new(FILE *fp, const char *name, int level);
void m3_vol_writer_free(struct m3_vol_writer *w);
int m3_vol_write_header(struct m3_vol_writer *w, const struct m3_vol *v, struct m3_err *e);
int m3_vol_write_data(struct m3_vol_writer *w, const void *buf, size_t n, struct m3_err *e);
int m3_vol_write(struct m3_vol_writer *w, const struct m3_vol *v, struct m3_err *e);

#ifdef __cplusplus
}
#endif

#endif
