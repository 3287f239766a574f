/* Writing DICOM files through GDCM: a flat list of elements and a pixel array in, one file's bytes
 * out. */
#ifndef M3_DCMWRITE_H
#define M3_DCMWRITE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* err.h has no C++ guards of its own. */
#include "m3/err.h"

/* Transfer syntaxes of the pixel data; every one is lossless. */
enum m3_dcm_syntax {
	M3_DCM_EXPLICIT, /* 1.2.840.10008.1.2.1 explicit VR little endian */
	M3_DCM_RLE, /* 1.2.840.10008.1.2.5 RLE lossless */
	M3_DCM_JPEGLS, /* 1.2.840.10008.1.2.4.80 JPEG-LS lossless */
	M3_DCM_J2K, /* 1.2.840.10008.1.2.4.90 JPEG 2000 lossless only */
};

/* "explicit", "rle", "jpegls", "j2k"; -1 for anything else. */
int m3_dcm_syntax_parse(const char *s);
const char *m3_dcm_syntax_name(enum m3_dcm_syntax s);
const char *m3_dcm_syntax_uid(enum m3_dcm_syntax s);

/*
 * One element of the data set, in the order the caller likes (the writer sorts them).
 * tag is (group << 16) | element.  value is the text DICOM shows: several values split
 * by '\\', numbers in decimal for the binary VRs US, SS, UL, SL, FL and FD, tags as eight
 * hex digits GGGGEEEE for AT (DimensionIndexPointer "00209056"); NULL or "" is an empty
 * (type 2) element.  A sequence is an element with VR "SQ" whose items
 * follow it in the list: M3_DCM_ITEM opens an item, M3_DCM_ITEM_END closes it and
 * M3_DCM_SEQ_END closes the sequence (vr and value unused for these three).
 */
struct m3_dcm_elem {
	unsigned long tag;
	const char *vr;
	const char *value;
};

#define M3_DCM_ITEM 0xFFFEE000UL
#define M3_DCM_ITEM_END 0xFFFEE00DUL
#define M3_DCM_SEQ_END 0xFFFEE0DDUL

/*
 * The pixel data: grey samples (one per pixel), columns * rows * frames of them, row by
 * row and frame by frame, in host byte order.  The writer adds the Image Pixel elements
 * (rows, columns, bits, photometric interpretation, number of frames when frames > 1).
 */
struct m3_dcm_pixels {
	unsigned columns, rows, frames;
	unsigned bits_allocated; /* 8 or 16 */
	unsigned bits_stored; /* high bit is bits_stored - 1 */
	int is_signed;
	const char *photometric; /* "MONOCHROME2" */
	const void *data;
};

/*
 * Encodes the pixels in the syntax asked for and writes the whole file (preamble, file
 * meta information, data set) into a buffer from malloc that the caller frees.  The
 * data set must hold SOP Class UID and SOP Instance UID.  Errors: M3_EUSAGE for a bad
 * element list, M3_EFAIL when GDCM or its codec fails, M3_ENOMEM; never an exception.
 * Safe to call from several threads at once on different data.
 */
int m3_dcm_write_mem(const struct m3_dcm_elem *el, size_t nel, const struct m3_dcm_pixels *px,
		     enum m3_dcm_syntax syntax, void **buf, size_t *len, struct m3_err *e);

#ifdef __cplusplus
}
#endif

#endif
