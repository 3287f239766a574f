/* m3-segment: the CUDA path, built only where nvcc is (M3_HAVE_CUDA). */
#ifndef SEG_CUDA_H
#define SEG_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "seg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Number of usable CUDA devices (0 when none or no driver); name gets the first's name. */
int seg_cuda_probe(char *name, size_t len);
/* The whole plan for one volume on the GPU: lab gets the final labels (g->n bytes). */
int seg_cuda_run(const struct seg_plan *p, const struct seg_grid *g, const struct m3_vol *in,
		 uint8_t *lab, struct seg_times *t, struct m3_err *e);

#ifdef __cplusplus
}
#endif

#endif
