#!/usr/bin/env python3
"""Checks on m3-x3d's meshes for tests/cli/t50-x3d.sh (python3, numpy, python3-vtk9).

    meshcheck.py topo MESH             closed, two-manifold, oriented outward, no duplicates
    meshcheck.py vtk VOL MESH [--hausdorff H] [--measures T]
                                       against VTK's vtkDiscreteFlyingEdges3D on the same labels:
                                       volume and area within T (relative), Hausdorff <= H voxels
    meshcheck.py volume A B --tol T    the volume of each part of B within T of A's
    meshcheck.py bbox VOL MESH         each part spans its label's voxels +- half a voxel in LPS mm
    meshcheck.py ntri MESH             prints the triangle count
    meshcheck.py stl FILE              binary STL: header count matches the size; prints it
    meshcheck.py ply FILE              binary PLY header as documented; prints vertex/face counts
Each prints what it found and exits 1 with a line naming the failure.  MESH is .x3d, .x3dz or
.ply (STL has no shared vertices); the parts are the labels.
"""
import argparse
import gzip
import re
import sys
import xml.etree.ElementTree as ET

import numpy as np


def fail(msg):
    print("meshcheck: " + msg, file=sys.stderr)
    sys.exit(1)


def read_volume(path):
    with open(path, "rb") as f:
        data = f.read()
    end = data.index(b"\n\n")
    hdr = data[:end].decode().split("\n")
    fields = {}
    for line in hdr[1:]:
        if ": " in line and not line.startswith("#"):
            k, v = line.split(": ", 1)
            fields[k] = v
    sizes = [int(s) for s in fields["sizes"].split()]
    dirs = np.array([[float(c) for c in d.split(",")]
                     for d in re.findall(r"\(([^)]*)\)", fields["space directions"])])
    origin = np.array([float(c) for c in re.findall(r"\(([^)]*)\)", fields["space origin"])[0].split(",")])
    vol = np.frombuffer(data[end + 2:], np.uint8).reshape(sizes[::-1])  # (z, y, x)
    return vol, dirs, origin


def parse_x3d(text):
    root = ET.fromstring(text)
    parts = {}
    for shape in root.iter("Shape"):
        label = int(shape.find("MetadataInteger").get("value"))
        its = shape.find("IndexedTriangleSet")
        t = np.array(its.get("index").split(), np.int64).reshape(-1, 3)
        v = np.array(its.find("Coordinate").get("point").split(), float).reshape(-1, 3)
        n = np.array(its.find("Normal").get("vector").split(), float).reshape(-1, 3)
        parts[label] = (v, t, n, shape.get("DEF"))
    return parts


def parse_ply(data):
    end = data.index(b"end_header\n") + len(b"end_header\n")
    head = data[:end].decode().split("\n")
    nv = int(next(l for l in head if l.startswith("element vertex")).split()[2])
    nf = int(next(l for l in head if l.startswith("element face")).split()[2])
    vd = np.dtype([("p", "<f4", 3), ("n", "<f4", 3)])
    fd = np.dtype([("k", "u1"), ("i", "<i4", 3), ("label", "u1")])
    vv = np.frombuffer(data, vd, nv, end)
    ff = np.frombuffer(data, fd, nf, end + nv * vd.itemsize)
    if end + nv * vd.itemsize + nf * fd.itemsize != len(data):
        fail("ply: %d bytes, the header says %d" % (len(data), end + nv * vd.itemsize + nf * fd.itemsize))
    if np.any(ff["k"] != 3):
        fail("ply: a face that is not a triangle")
    parts = {}
    for label in np.unique(ff["label"]):
        t = ff["i"][ff["label"] == label].astype(np.int64)
        used = np.unique(t)
        remap = np.full(nv, -1)
        remap[used] = np.arange(len(used))
        parts[int(label)] = (vv["p"][used].astype(float), remap[t], vv["n"][used].astype(float), None)
    return parts


def read_mesh(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".x3dz"):
        data = gzip.decompress(data)
    if path.endswith(".ply"):
        return parse_ply(data)
    return parse_x3d(data)


def signed_volume(v, t):
    a, b, c = v[t[:, 0]], v[t[:, 1]], v[t[:, 2]]
    return np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0


def area(v, t):
    a, b, c = v[t[:, 0]], v[t[:, 1]], v[t[:, 2]]
    return np.linalg.norm(np.cross(b - a, c - a), axis=1).sum() / 2.0


def topo(args):
    parts = read_mesh(args.mesh)
    if not parts:
        fail("no parts")
    for label, (v, t, n, _) in sorted(parts.items()):
        if len(t) == 0:
            fail("label %d: no triangles" % label)
        if np.any((t[:, 0] == t[:, 1]) | (t[:, 1] == t[:, 2]) | (t[:, 0] == t[:, 2])):
            fail("label %d: degenerate triangle" % label)
        d = np.concatenate([t[:, [0, 1]], t[:, [1, 2]], t[:, [2, 0]]])
        # each directed edge once: consistent orientation; its reverse present: closed
        key = d[:, 0] * len(v) + d[:, 1]
        rkey = d[:, 1] * len(v) + d[:, 0]
        uk, cnt = np.unique(key, return_counts=True)
        if cnt.max() > 1:
            fail("label %d: %d directed edges used twice (inconsistent orientation or "
                 "non-manifold)" % (label, int((cnt > 1).sum())))
        missing = ~np.isin(rkey, uk)
        if missing.any():
            fail("label %d: %d edges on one triangle only (not closed)" % (label, int(missing.sum())))
        # every vertex's triangles form one fan: V - E + F per component is even, and the
        # vertex link is a single cycle (checked by walking it)
        check_fans(label, t, len(v))
        uv = np.unique(v, axis=0)
        if len(uv) != len(v):
            fail("label %d: %d duplicate vertices" % (label, len(v) - len(uv)))
        if len(np.unique(t)) != len(v):
            fail("label %d: unused vertices" % label)
        vol = signed_volume(v, t)
        if not vol > 0:
            fail("label %d: signed volume %g: not oriented outward" % (label, vol))
        if n is not None and len(n):
            ln = np.linalg.norm(n, axis=1)
            if np.abs(ln - 1).max() > 0.01:
                fail("label %d: normals are not unit vectors" % label)
            # vertex normals agree with the faces around them
            fn = np.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]])
            acc = np.zeros_like(v)
            for k in range(3):
                np.add.at(acc, t[:, k], fn)
            if np.mean(np.einsum("ij,ij->i", acc, n) > 0) < 0.999:
                fail("label %d: vertex normals point inward" % label)
        print("label %d: %d vertices, %d triangles, closed, manifold, volume %.6g" %
              (label, len(v), len(t), vol))


def check_fans(label, t, nv):
    # around each vertex, following "next" of each corner from a start must visit all corners
    nxt = {}
    for tri in t:
        for k in range(3):
            a, b, c = tri[k], tri[(k + 1) % 3], tri[(k + 2) % 3]
            nxt.setdefault(a, {})[b] = c
    for a, m in nxt.items():
        start = next(iter(m))
        b, n = start, 0
        while True:
            b = m.get(b)
            n += 1
            if b is None or n > len(m):
                fail("label %d: vertex %d: its triangles do not form one fan" % (label, a))
            if b == start:
                break
        if n != len(m):
            fail("label %d: vertex %d: non-manifold (%d of %d triangles in one fan)" %
                 (label, a, n, len(m)))


def to_index(v, dirs, origin):
    return np.linalg.solve(dirs.T, (v - origin).T).T


def vtk_mesh(vol, label):
    import vtk
    from vtk.util import numpy_support as ns
    nz, ny, nx = vol.shape
    pad = np.zeros((nz + 2, ny + 2, nx + 2), np.uint8)
    pad[1:-1, 1:-1, 1:-1] = vol
    img = vtk.vtkImageData()
    img.SetDimensions(nx + 2, ny + 2, nz + 2)
    img.GetPointData().SetScalars(ns.numpy_to_vtk(pad.ravel(), deep=1, array_type=vtk.VTK_UNSIGNED_CHAR))
    fe = vtk.vtkDiscreteFlyingEdges3D()
    fe.SetInputData(img)
    fe.SetValue(0, label)
    fe.ComputeNormalsOff()
    fe.ComputeGradientsOff()
    fe.ComputeScalarsOff()
    fe.Update()
    out = fe.GetOutput()
    v = ns.vtk_to_numpy(out.GetPoints().GetData()).astype(float) - 1.0
    t = ns.vtk_to_numpy(out.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    return v, t


def polydata(v, t):
    import vtk
    from vtk.util import numpy_support as ns
    pts = vtk.vtkPoints()
    pts.SetData(ns.numpy_to_vtk(np.ascontiguousarray(v, float), deep=1))
    cells = vtk.vtkCellArray()
    off = np.arange(0, 3 * len(t) + 1, 3, dtype=np.int64)
    cells.SetData(ns.numpy_to_vtkIdTypeArray(off, deep=1),
                  ns.numpy_to_vtkIdTypeArray(np.ascontiguousarray(t, np.int64).ravel(), deep=1))
    pd = vtk.vtkPolyData()
    pd.SetPoints(pts)
    pd.SetPolys(cells)
    return pd


def mass(v, t):
    import vtk
    mp = vtk.vtkMassProperties()
    mp.SetInputData(polydata(v, t))
    mp.Update()
    return mp.GetVolume(), mp.GetSurfaceArea()


def hausdorff(va, ta, vb, tb):
    import vtk
    h = vtk.vtkHausdorffDistancePointSetFilter()
    h.SetInputData(0, polydata(va, ta))
    h.SetInputData(1, polydata(vb, tb))
    h.SetTargetDistanceMethodToPointToCell()
    h.Update()
    return h.GetOutput(0).GetFieldData().GetArray("HausdorffDistance").GetValue(0)


def vtkcmp(args):
    vol, dirs, origin = read_volume(args.vol)
    parts = read_mesh(args.mesh)
    want = sorted(int(l) for l in np.unique(vol) if l != 0)
    if sorted(parts) != want:
        fail("labels %s, the volume has %s" % (sorted(parts), want))
    for label, (v, t, _, _) in sorted(parts.items()):
        rv, rt = vtk_mesh(vol, label)
        world = origin + rv @ dirs
        vm, am = mass(v, t)
        vr, ar = mass(world, rt)
        dv, da = abs(vm - vr) / vr, abs(am - ar) / ar
        hd = hausdorff(to_index(v, dirs, origin), t, rv, rt)
        print("label %d: volume %.6g (vtk %.6g, %.3f%%), area %.6g (vtk %.6g, %.3f%%), "
              "hausdorff %.3f voxel; %d triangles (vtk %d)" %
              (label, vm, vr, 100 * dv, am, ar, 100 * da, hd, len(t), len(rt)))
        if args.measures is not None and (dv > args.measures or da > args.measures):
            fail("label %d: volume or area off VTK's by more than %g" % (label, args.measures))
        if hd > args.hausdorff:
            fail("label %d: hausdorff distance %.3f voxel over %g" % (label, hd, args.hausdorff))


def volume(args):
    a, b = read_mesh(args.a), read_mesh(args.b)
    for label in sorted(a):
        va, vb = signed_volume(*a[label][:2]), signed_volume(*b[label][:2])
        print("label %d: volume %.6g -> %.6g (%+.3f%%)" % (label, va, vb, 100 * (vb - va) / va))
        if abs(vb - va) / va > args.tol:
            fail("label %d: volume changed by more than %g" % (label, args.tol))


def bbox(args):
    vol, dirs, origin = read_volume(args.vol)
    parts = read_mesh(args.mesh)
    for label, (v, t, _, _) in sorted(parts.items()):
        z, y, x = np.nonzero(vol == label)
        lo = np.array([x.min(), y.min(), z.min()]) - 0.5
        hi = np.array([x.max(), y.max(), z.max()]) + 0.5
        corners = np.array([[(hi if i >> a & 1 else lo)[a] for a in range(3)] for i in range(8)])
        w = origin + corners @ dirs
        if not np.allclose(v.min(0), w.min(0), atol=1e-3) or not np.allclose(v.max(0), w.max(0), atol=1e-3):
            fail("label %d: mesh spans %s .. %s mm, the voxels %s .. %s" %
                 (label, v.min(0), v.max(0), w.min(0), w.max(0)))
        print("label %d: spans %s .. %s mm as its voxels do" % (label, v.min(0), v.max(0)))


def ntri(args):
    print(sum(len(p[1]) for p in read_mesh(args.mesh).values()))


def stl(args):
    with open(args.file, "rb") as f:
        data = f.read()
    if data[:5] == b"solid":
        fail("stl: binary STL header starts with \"solid\"")
    n = int(np.frombuffer(data, "<u4", 1, 80)[0])
    if len(data) != 84 + 50 * n:
        fail("stl: %d bytes for %d triangles" % (len(data), n))
    tri = np.frombuffer(data, np.dtype([("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")]), n, 84)
    fn = np.cross(tri["v"][:, 1] - tri["v"][:, 0], tri["v"][:, 2] - tri["v"][:, 0])
    if np.mean(np.einsum("ij,ij->i", fn, tri["n"]) > 0) < 0.999:
        fail("stl: facet normals disagree with the winding")
    print(n)


def ply(args):
    with open(args.file, "rb") as f:
        data = f.read()
    head = data[:data.index(b"end_header\n")].decode().split("\n")
    want = ["ply", "format binary_little_endian 1.0"]
    if head[:2] != want:
        fail("ply: header starts %s" % head[:2])
    props = [l for l in head if l.startswith("property") or l.startswith("element")]
    vp = ["property float " + p for p in ("x", "y", "z", "nx", "ny", "nz")]
    if props[0].split()[:2] != ["element", "vertex"] or props[1:7] != vp or \
            props[7].split()[:2] != ["element", "face"] or \
            props[8:] != ["property list uchar int vertex_indices", "property uchar label"]:
        fail("ply: unexpected elements or properties: %s" % props)
    parts = parse_ply(data)
    print(int(props[0].split()[2]), int(props[7].split()[2]), len(parts))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("topo")
    p.add_argument("mesh")
    p = sub.add_parser("vtk")
    p.add_argument("vol")
    p.add_argument("mesh")
    p.add_argument("--hausdorff", type=float, default=0.5)
    p.add_argument("--measures", type=float)
    p = sub.add_parser("volume")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--tol", type=float, default=0.03)
    p = sub.add_parser("bbox")
    p.add_argument("vol")
    p.add_argument("mesh")
    for c in ("ntri",):
        sub.add_parser(c).add_argument("mesh")
    sub.add_parser("stl").add_argument("file")
    sub.add_parser("ply").add_argument("file")
    a = ap.parse_args()
    {"topo": topo, "vtk": vtkcmp, "volume": volume, "bbox": bbox, "ntri": ntri, "stl": stl,
     "ply": ply}[a.cmd](a)


if __name__ == "__main__":
    main()
