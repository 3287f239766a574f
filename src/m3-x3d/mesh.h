/* m3-x3d's triangle mesh and the stages that make, change and write it. */
#ifndef M3_X3D_MESH_H
#define M3_X3D_MESH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "m3/err.h"
#include "m3/pool.h"
#include "m3/vol.h"

/*
 * An indexed triangle mesh: v holds nv xyz triples in LPS millimetres, t holds nt
 * counter-clockwise (outward-facing) vertex triples, n holds nv unit vertex normals once
 * x3d_normals() has run (NULL before).
 */
struct x3d_mesh {
	float *v;
	float *n;
	uint32_t *t;
	size_t nv, nt;
};

void x3d_mesh_init(struct x3d_mesh *m);
void x3d_mesh_release(struct x3d_mesh *m);
/* Allocates v and t for nv vertices and nt triangles (n stays NULL). */
int x3d_mesh_alloc(struct x3d_mesh *m, size_t nv, size_t nt, struct m3_err *e);

/*
 * Vertex stars: for each vertex, the corners (3 * triangle + 0..2) that sit on it, in
 * CSR form: corners first[v] .. first[v + 1] - 1 of corner[].
 */
struct x3d_star {
	uint32_t *first;
	uint32_t *corner;
};

int x3d_star_build(const struct x3d_mesh *m, struct x3d_star *s, struct m3_err *e);
void x3d_star_release(struct x3d_star *s);

/* Voxel count of each label value 0..255, in parallel. */
void x3d_histogram(const struct m3_vol *vol, struct m3_pool *pool, size_t count[256]);

/*
 * The surface of the voxels equal to label, by marching cubes on the label's binary mask
 * with one voxel of background padded around the volume, so that the mesh is always
 * closed, two-manifold and oriented outward.  Vertices sit at edge midpoints, one per
 * edge, shared by every triangle that uses it.
 */
int x3d_surface(const struct m3_vol *vol, unsigned label, struct m3_pool *pool, struct x3d_mesh *m,
		struct m3_err *e);

/* Taubin lambda/mu smoothing, iter passes of both steps: smooths without shrinking. */
int x3d_smooth(struct x3d_mesh *m, unsigned iter, struct m3_pool *pool, struct m3_err *e);

/* Quadric-error edge collapse (Garland-Heckbert) down to at most maxtri triangles, keeping
 * the mesh closed and manifold.  It stops early when no collapse is left that keeps it so. */
int x3d_decimate(struct x3d_mesh *m, size_t maxtri, struct m3_pool *pool, struct m3_err *e);

/* Area-weighted unit vertex normals into m->n. */
int x3d_normals(struct x3d_mesh *m, struct m3_err *e);

enum x3d_format { X3D_FX3D, X3D_FX3DZ, X3D_FSTL, X3D_FPLY };

/* One mesh of the output, with the label it came from and the label's name. */
struct x3d_part {
	struct x3d_mesh mesh;
	unsigned label;
	const char *name;
};

/* Writes parts in format f to fp; name is the output's name for error messages. */
int x3d_write(FILE *fp, const char *name, enum x3d_format f, const struct x3d_part *parts,
	      size_t nparts, struct m3_pool *pool, struct m3_err *e);

#endif
