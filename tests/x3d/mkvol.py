#!/usr/bin/env python3
"""Writes m3 label volume streams for the m3-x3d tests and benchmark (python3 + numpy).

    mkvol.py CASE [-o FILE]

Cases:
  shapes   48x40x32, two labels: 1 = a sphere and a torus, 2 = a box that touches the volume
           border; anisotropic spacing (0.5, 0.7, 1.2) mm, origin (-20, 10.5, 5)
  flip     a sphere and a box on left-handed axes (x step -0.6 mm): winding must be reversed
  sphere   40^3, one sphere of radius 14 voxels, spacing 1 mm
  zero     shapes' header with every voxel 0
  int16    a small int16 volume (not a label volume)
  2d       a 2D uint8 image
  jaw N    N^3 (default 512): a jaw-like horseshoe of bone (1) with a row of teeth (2)
"""
import argparse
import sys

import numpy as np


def header(sizes, dirs, origin, typ="uint8", labels=None, dim=None):
    dim = dim or len(sizes)
    h = ["NRRD0004", "# m3 volume stream", "type: %s" % typ, "dimension: %d" % dim,
         "space: left-posterior-superior", "sizes: " + " ".join(map(str, sizes)),
         "space directions: " + " ".join("(%s)" % ",".join("%g" % c for c in d) for d in dirs),
         "space origin: (%s)" % ",".join("%g" % c for c in origin),
         "kinds: " + " ".join(["domain"] * dim)]
    if typ != "uint8":
        h.append("endian: little")
    h.append("encoding: raw")
    if labels:
        h.append("m3-labels:=" + labels)
    return ("\n".join(h) + "\n\n").encode()


def grid(nx, ny, nz):
    # index arrays in (z, y, x) order, the layout of the stream (x fastest)
    return np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")


def shapes():
    nx, ny, nz = 48, 40, 32
    z, y, x = grid(nx, ny, nz)
    v = np.zeros((nz, ny, nx), np.uint8)
    v[(x - 14) ** 2 + (y - 13) ** 2 + (z - 14) ** 2 <= 8.5 ** 2] = 1
    # a torus around the z axis: major radius 9, minor 3.5
    rho = np.sqrt((x - 30.0) ** 2 + (y - 25.0) ** 2)
    v[(rho - 9) ** 2 + (z - 17.0) ** 2 <= 3.5 ** 2] = 1
    # a box through the x = nx-1 and z = 0 faces of the volume
    v[0:7, 3:12, 38:48] = 2
    return header((nx, ny, nz), [(0.5, 0, 0), (0, 0.7, 0), (0, 0, 1.2)], (-20, 10.5, 5),
                  labels="1 bone and torus;2 box") + v.tobytes()


def flip():
    nx, ny, nz = 30, 28, 26
    z, y, x = grid(nx, ny, nz)
    v = np.zeros((nz, ny, nx), np.uint8)
    v[(x - 12) ** 2 + (y - 13) ** 2 + (z - 12) ** 2 <= 8 ** 2] = 1
    v[3:9, 20:28, 20:27] = 2
    return header((nx, ny, nz), [(-0.6, 0, 0), (0, 0.5, 0), (0, 0, 0.8)], (30, -4, 2)) + v.tobytes()


def sphere():
    n = 40
    z, y, x = grid(n, n, n)
    v = ((x - 19.5) ** 2 + (y - 19.5) ** 2 + (z - 19.5) ** 2 <= 14 ** 2).astype(np.uint8)
    return header((n, n, n), [(1, 0, 0), (0, 1, 0), (0, 0, 1)], (0, 0, 0), labels="1 ball") + v.tobytes()


def jaw(n):
    # a horseshoe (half torus) of bone in the axial plane, teeth as short cylinders on top
    s = n / 512.0
    v = np.zeros((n, n, n), np.uint8)
    y, x = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    cx, cy, big, small = n / 2, n * 0.35, 170 * s, 38 * s
    ang = np.arctan2(y - cy, x - cx)
    rho = np.hypot(x - cx, y - cy)
    arch = ang > -0.15 * np.pi  # open at the back
    arch &= ang < 1.15 * np.pi
    zc = n * 0.45
    for k in range(n):
        d2 = (rho - big) ** 2 + ((k - zc) * 1.4) ** 2
        sl = v[k]
        sl[(d2 <= small ** 2) & arch] = 1
    # teeth: 14 cylinders on the arch, from the top of the bone up
    for t in range(14):
        a = (-0.1 + 1.2 * (t + 0.5) / 14) * np.pi
        tx, ty = cx + big * np.cos(a), cy + big * np.sin(a)
        r = 13 * s
        z0, z1 = int(zc + small / 1.4 - 6 * s), int(zc + small / 1.4 + 60 * s)
        m = (x - tx) ** 2 + (y - ty) ** 2 <= r ** 2
        for k in range(z0, min(z1, n)):
            v[k][m] = 2
    return header((n, n, n), [(0.3, 0, 0), (0, 0.3, 0), (0, 0, 0.3)], (-76.8, -76.8, -40),
                  labels="1 bone;2 teeth") + v.tobytes()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case")
    ap.add_argument("n", nargs="?", type=int, default=512)
    ap.add_argument("-o", default="-")
    a = ap.parse_args()
    if a.case == "shapes":
        data = shapes()
    elif a.case == "flip":
        data = flip()
    elif a.case == "sphere":
        data = sphere()
    elif a.case == "zero":
        data = header((8, 8, 8), [(1, 0, 0), (0, 1, 0), (0, 0, 1)], (0, 0, 0)) + bytes(512)
    elif a.case == "int16":
        data = header((8, 8, 8), [(1, 0, 0), (0, 1, 0), (0, 0, 1)], (0, 0, 0), "int16") + \
            np.ones(512, "<i2").tobytes()
    elif a.case == "2d":
        data = header((8, 8), [(1, 0, 0), (0, 1, 0)], (0, 0, 0)) + bytes([1] * 64)
    elif a.case == "jaw":
        data = jaw(a.n)
    else:
        sys.exit("mkvol.py: unknown case %s" % a.case)
    if a.o == "-":
        sys.stdout.buffer.write(data)
    else:
        with open(a.o, "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
