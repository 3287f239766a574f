/* m3-segment on the GPU (placeholder while the kernels are written). */
#include <cuda_runtime.h>

extern "C" {
#include "seg_cuda.h"
}

extern "C" int
seg_cuda_probe(char *name, size_t len)
{
	int n = 0;
	cudaDeviceProp prop;

	if (cudaGetDeviceCount(&n) != cudaSuccess || n <= 0)
		return 0;
	if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess)
		return 0;
	snprintf(name, len, "%s", prop.name);
	return n;
}

extern "C" int
seg_cuda_run(const struct seg_plan *p, const struct seg_grid *g, const struct m3_vol *in,
	     uint8_t *lab, struct seg_times *t, struct m3_err *e)
{
	(void)p, (void)g, (void)in, (void)lab, (void)t;
	return m3_err_set(e, M3_EFAIL, "cuda: not yet");
}
