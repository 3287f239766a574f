/* UIDs read from the start of a DICOM file, to name what WADO-RS sends. */
#ifndef M3_FETCH_DCMUID_H
#define M3_FETCH_DCMUID_H

#include <stddef.h>

/* SOP Instance UID and Series Instance UID, each "" when not found in the n bytes at buf
 * (a valid UID: digits and dots, 1 to 64 characters). */
void dcm_uids(const void *buf, size_t n, char *sop, size_t sopsz, char *series, size_t seriessz);

#endif
