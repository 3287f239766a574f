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
    """A jaw-like phantom: a bumpy horseshoe of bone (1) with rami at its ends, marrow
    cavities inside, and a row of teeth (2) on top; 0.3 mm voxels, made from a fixed seed."""
    s = n / 512.0
    rng = np.random.default_rng(7)
    v = np.zeros((n, n, n), np.uint8)
    y, x = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    cx, cy, big, small = n / 2, n * 0.68, 175 * s, 44 * s
    ang = np.arctan2(cy - y, x - cx)  # the arch bulges anterior (-y in LPS)
    rho = np.hypot(x - cx, y - cy)
    arch = (ang > -0.12 * np.pi) & (ang < 1.12 * np.pi)
    zc = n * 0.42
    for k in range(n):
        r = small * (1 + 0.12 * np.sin(7 * ang) * np.sin(k * 0.09 / s))
        d2 = (rho - big) ** 2 + ((k - zc) * 1.3) ** 2
        v[k][(d2 <= r ** 2) & arch] = 1
        # rami: flat pillars rising at the two open ends
        if zc - small < k < zc + 150 * s:
            for a in (-0.12 * np.pi, 1.12 * np.pi):
                px, py = cx + big * np.cos(a), cy - big * np.sin(a) + 10 * s
                v[k][((x - px) / (30 * s)) ** 2 + ((y - py) / (55 * s)) ** 2 <= 1] = 1
    # marrow cavities: small spheres of background inside the bone
    zz, yy, xx = np.nonzero(v[:, ::8, ::8] == 1)
    pick = rng.choice(len(zz), size=min(len(zz), 1500), replace=False)
    for i in pick:
        kz, ky, kx = zz[i], 8 * yy[i], 8 * xx[i]
        r = rng.uniform(3, 8) * s
        lo = [max(int(c - r) - 1, 0) for c in (kz, ky, kx)]
        hi = [min(int(c + r) + 2, n) for c in (kz, ky, kx)]
        g = np.meshgrid(*[np.arange(l, h) for l, h in zip(lo, hi)], indexing="ij")
        m = (g[0] - kz) ** 2 + (g[1] - ky) ** 2 + (g[2] - kx) ** 2 <= r * r
        sub = v[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
        sub[m & (sub == 1)] = 0
    # teeth: 16 rounded cylinders standing on the arch
    for t in range(16):
        a = (-0.06 + 1.12 * (t + 0.5) / 16) * np.pi
        tx, ty = cx + big * np.cos(a), cy - big * np.sin(a)
        r = 12 * s
        z0 = int(zc + small / 1.3 - 8 * s)
        z1 = int(z0 + (55 + 15 * (t % 3)) * s)
        for k in range(z0, min(z1, n)):
            rr = r * min(1.0, np.sqrt(max(z1 - k, 0) / (8 * s)))
            v[k][(x - tx) ** 2 + (y - ty) ** 2 <= rr ** 2] = 2
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
