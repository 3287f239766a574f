/* Reading DICOM through GDCM: a C API over the C++ shim in dcmread.cpp (no C++ types here). */
#ifndef M3_DCMREAD_H
#define M3_DCMREAD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" { /* m3/err.h has no guards of its own */
#endif

#include "m3/err.h"

/*
 * Where a DICOM object is: a path, a byte range of an open file (a member of a spooled tar
 * stream), or a buffer in memory.  Exactly one of path, fd >= 0 or buf is used, in that order.
 * name is what error messages call it.
 */
struct m3_dcm_src {
	const char *name;
	const char *path;
	int fd;
	unsigned long long off, size; /* with fd */
	const void *buf;
	size_t len; /* with buf */
};

#define M3_DCM_UID 65 /* a UID of at most 64 characters and its NUL */
#define M3_DCM_CS 72 /* a short string (CS, LO, PN component) and its NUL */

/* What m3_dcm_scan found; M3_DCM_IMAGE is the only kind that can be decoded. */
enum m3_dcm_kind {
	M3_DCM_NOT_DICOM =
		1, /* no DICM magic and no plausible raw data set: skipped with a warning */
	M3_DCM_NOT_IMAGE, /* DICOM without pixel data (SR, DICOMDIR, presentation state) */
	M3_DCM_CORRUPT, /* DICOM, but truncated, inconsistent or unreadable */
	M3_DCM_IMAGE,
};

/* Geometry and value transform of one frame.  NaN where the data set does not say. */
struct m3_dcm_frame {
	double ipp[3]; /* Image Position (Patient), mm */
	double iop[6]; /* Image Orientation (Patient): row then column direction cosines */
	double spacing[2]; /* Pixel Spacing: between rows, between columns */
	double slope, intercept;
	double wc, ww; /* first window center and width */
};

struct m3_dcm_info {
	enum m3_dcm_kind kind;
	char transfer_syntax[M3_DCM_UID];
	char sop_class[M3_DCM_UID];
	char series_uid[M3_DCM_UID];
	char study_uid[M3_DCM_UID];
	char modality[M3_DCM_CS];
	char photometric[M3_DCM_CS];
	char laterality[M3_DCM_CS]; /* Image Laterality, else Laterality */
	char view[M3_DCM_CS]; /* View Position */
	char presentation[M3_DCM_CS]; /* Presentation Intent Type */
	char rescale_type[M3_DCM_CS];
	/* identifiers, only ever written with --keep-phi */
	char patient_name[M3_DCM_CS * 2];
	char patient_id[M3_DCM_CS];
	char birth_date[M3_DCM_CS];
	char series_desc[M3_DCM_CS];
	long series_number, instance_number; /* LONG_MIN when absent */
	unsigned rows, cols, frames, samples, bits_alloc, bits_stored, high_bit, pixel_rep;
	int encapsulated; /* compressed transfer syntax */
	unsigned long long raw_offset; /* native little-endian grey or interleaved RGB pixel
					* data starts here (0: it must go through GDCM) */
	int imager_spacing; /* spacing came from Imager Pixel Spacing (projection images) */
	int enhanced; /* per-frame functional groups were read */
	int guessed_position; /* classic multi-frame: frames 1.. placed from the first frame */
	size_t pixel_bytes; /* rows * cols * samples * bits_alloc / 8 * frames, checked */
	struct m3_dcm_frame *frame; /* frames entries, malloc'd by the shim */
};

/*
 * Reads the header of one object (everything but the pixel data) and checks that the pixel
 * data is there and long enough.  M3_OK with info->kind == M3_DCM_IMAGE, or M3_EDATA with
 * info->kind saying why and e naming the object; M3_ENOMEM.  Never throws, never prints.
 * Release info with m3_dcm_info_release() whatever the result.
 */
int m3_dcm_scan(const struct m3_dcm_src *src, struct m3_dcm_info *info, struct m3_err *e);
void m3_dcm_info_release(struct m3_dcm_info *info);

/*
 * Decodes the pixel data of an object scanned before into dst, which must hold exactly
 * info->pixel_bytes: frame after frame, rows of columns, samples interleaved (planar data
 * and YBR_FULL are turned into interleaved RGB), stored values as they are (no rescale, no
 * masking of bits above BitsStored, no MONOCHROME1 inversion), host byte order.
 * M3_EDATA when the object does not decode or its decoded size or format differs from info.
 */
int m3_dcm_decode(const struct m3_dcm_src *src, const struct m3_dcm_info *info, void *dst,
		  size_t len, struct m3_err *e);

/*
 * GDCM asserts on some malformed files (assert() is live in Debian's build).  A program that
 * links this shim gets its own __assert_fail: it prints nothing (so that the program's one
 * error line stays one line), keeps "expression (file:line)" for this thread, and aborts as
 * assert() would.  m3_dcm_assertion() returns that text, or "" (async-signal-safe).
 */
const char *m3_dcm_assertion(void);

/* GDCM's version, for --version. */
const char *m3_dcm_version(void);

#ifdef __cplusplus
}
#endif

#endif
