/* tar streams (POSIX ustar, reading also GNU long names and pax paths): many files on a pipe. */
#ifndef M3_TAR_H
#define M3_TAR_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "m3/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writing: a header, exactly size bytes of data, then padding; m3_tar_end() closes the archive. */
int m3_tar_header(FILE *fp, const char *name, size_t size, time_t mtime, struct m3_err *e);
int m3_tar_pad(FILE *fp, size_t size, struct m3_err *e);
int m3_tar_file(FILE *fp, const char *name, const void *data, size_t size, time_t mtime,
		struct m3_err *e);
int m3_tar_end(FILE *fp, struct m3_err *e);

enum m3_tar_kind { M3_TAR_FILE, M3_TAR_DIR, M3_TAR_OTHER };

struct m3_tar_entry {
	char name[4096];
	size_t size;
	enum m3_tar_kind kind;
};

/*
 * Reading.  head/nhead are bytes already taken from fp (a caller that peeked to tell a tar
 * stream from something else hands them back here).  m3_tar_next() returns M3_OK with the
 * next member, M3_EOF at the end of the archive, or M3_EDATA naming the problem; the unread
 * data of the previous member is skipped.  m3_tar_read() reads the member's data.
 */
struct m3_tar_reader;

struct m3_tar_reader *m3_tar_reader_new(FILE *fp, const char *name, const void *head, size_t nhead);
void m3_tar_reader_free(struct m3_tar_reader *r);
int m3_tar_next(struct m3_tar_reader *r, struct m3_tar_entry *ent, struct m3_err *e);
int m3_tar_read(struct m3_tar_reader *r, void *buf, size_t n, struct m3_err *e);
/* 1 when a 512-byte block looks like a ustar or GNU tar header with a valid checksum. */
int m3_tar_is_header(const void *block512);

#ifdef __cplusplus
}
#endif

#endif
