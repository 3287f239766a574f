#!/usr/bin/env python3
"""Times VTK's vtkDiscreteFlyingEdges3D on the labels of an m3 label volume, for bench/x3d.sh.

    vtkbench.py VOLUME THREADS    prints: seconds triangles (best of 3 Update() calls)
"""
import sys
import time

import numpy as np
import vtk
from vtk.util import numpy_support as ns

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import meshcheck  # noqa: E402


def main():
    vol, _, _ = meshcheck.read_volume(sys.argv[1])
    vtk.vtkSMPTools.Initialize(int(sys.argv[2]))
    nz, ny, nx = vol.shape
    img = vtk.vtkImageData()
    img.SetDimensions(nx, ny, nz)
    img.GetPointData().SetScalars(ns.numpy_to_vtk(vol.ravel(), deep=1, array_type=vtk.VTK_UNSIGNED_CHAR))
    fe = vtk.vtkDiscreteFlyingEdges3D()
    fe.SetInputData(img)
    for i, label in enumerate(l for l in np.unique(vol) if l != 0):
        fe.SetValue(i, int(label))
    fe.ComputeNormalsOff()
    fe.ComputeGradientsOff()
    fe.ComputeScalarsOff()
    best = None
    for _ in range(3):
        fe.Modified()
        t = time.perf_counter()
        fe.Update()
        t = time.perf_counter() - t
        best = t if best is None or t < best else best
    print("%.4f %d" % (best, fe.GetOutput().GetNumberOfCells()))


if __name__ == "__main__":
    main()
