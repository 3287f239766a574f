#!/usr/bin/python3
"""Test data and brute-force references for m3-segment (tests/cli/t40-segment.sh).

Volumes are m3 streams (man/m3-volume.5) written and read with numpy alone.  The
references here are the slow, obvious algorithms: morphology by OR/AND over every offset
of the ball, connected components and hole filling by breadth-first search.

  segref.py gen KIND SEED NX NY NZ [TYPE [SX SY SZ]] > vol.nrrd
      KIND: spheres | blobs | boxes | corner | bimodal | uniform | noisy | ball
  segref.py median < in.nrrd > out.nrrd                 3x3x3 median, border continued
  segref.py count LO HI vol.nrrd                        voxels with LO <= v <= HIGH
  segref.py labels vol.nrrd                             "label:count ..." of each volume
  segref.py ref STEPS... < in.nrrd > ref.nrrd           reference on the mask v > 0
      steps: dilate:R  erode:R  open:R  close:R  (R in voxels, or Rmm with the spacing)
             fill  cc:CONN:KEEP:MINSIZE
  segref.py same a.nrrd b.nrrd                          same data, or the first difference
  segref.py dice A.nrrd LA B.nrrd LB                    Dice of label LA in A and LB in B
"""
import gzip
import sys
from collections import deque

import numpy as np

TYPES = {"uint8": "u1", "int16": "i2", "uint16": "u2", "int32": "i4", "uint32": "u4",
         "float": "f4"}


def write(vol, spacing=(0.5, 0.5, 0.5), keys=(("m3-units", "HU"),), out=None):
    """vol is indexed [z, y, x]; the stream's axis 0 is x."""
    out = out or sys.stdout.buffer
    name = [k for k, v in TYPES.items() if np.dtype(v) == vol.dtype.newbyteorder("=")][0]
    nz, ny, nx = vol.shape
    h = ["NRRD0004", "# m3 volume stream", "type: " + name, "dimension: 3",
         "space: left-posterior-superior", "sizes: %d %d %d" % (nx, ny, nz),
         "space directions: (%g,0,0) (0,%g,0) (0,0,%g)" % spacing,
         "space origin: (-10,20.5,-3.25)", "kinds: domain domain domain",
         "endian: little", "encoding: raw"]
    h += ["%s:=%s" % kv for kv in keys]
    out.write(("\n".join(h) + "\n\n").encode())
    out.write(vol.astype(vol.dtype.newbyteorder("<")).tobytes())


def read_all(f):
    """Every volume of a stream: a list of (header dict, keys dict, array [z, y, x])."""
    data = f.read()
    vols = []
    while data:
        end = data.index(b"\n\n")
        lines = data[:end].decode().split("\n")
        data = data[end + 2:]
        hdr, keys = {}, {}
        for l in lines[1:]:
            if l.startswith("#"):
                continue
            if ":=" in l:
                k, v = l.split(":=", 1)
                keys[k] = v
            else:
                k, v = l.split(": ", 1)
                hdr[k] = v
        sizes = [int(s) for s in hdr["sizes"].split()]
        dt = np.dtype(TYPES[hdr["type"]]).newbyteorder(
            "<" if hdr.get("endian", "little") == "little" else ">")
        nbytes = int(np.prod(sizes)) * dt.itemsize
        if hdr["encoding"] == "raw":
            raw, data = data[:nbytes], data[nbytes:]
        else:
            d = __import__("zlib").decompressobj(31)
            raw = d.decompress(data)
            data = d.unused_data
        arr = np.frombuffer(raw, dtype=dt).reshape(sizes[::-1]).astype(dt.newbyteorder("="))
        vols.append((hdr, keys, arr))
    return vols


def spacing_of(hdr):
    vs = hdr["space directions"].replace("(", " ").replace(")", " ").split()
    vs = [np.array([float(x) for x in v.split(",")]) for v in vs]
    return [float(np.sqrt((v * v).sum())) for v in vs]


def gen(kind, seed, nx, ny, nz, typ="int16"):
    rng = np.random.default_rng(seed)
    z, y, x = np.mgrid[0:nz, 0:ny, 0:nx]
    if kind == "uniform":  # every value from -1000 to 3000
        v = rng.integers(-1000, 3001, size=(nz, ny, nx))
    elif kind == "spheres":  # air, a bone ball, a brighter "tooth" ball inside, noise
        v = np.full((nz, ny, nx), -1000.0)
        c = np.array([nz, ny, nx]) / 2
        r = np.sqrt((z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2)
        v[r <= min(nx, ny, nz) / 2 - 2] = 800
        v[r <= min(nx, ny, nz) / 5] = 2500
        v += rng.normal(0, 30, v.shape)
    elif kind == "blobs":  # a random mask, lightly smoothed: 1000 inside, 0 outside
        m = rng.random((nz, ny, nx)) < 0.35
        s = m.astype(float)
        for a in range(3):
            s = (np.roll(s, 1, a) + s + np.roll(s, -1, a)) / 3
        v = np.where(s > 0.45, 1000, 0)
    elif kind == "boxes":  # solid boxes of several sizes and a gap: for large radii
        v = np.zeros((nz, ny, nx))
        v[2:nz - 4, 3:ny // 2 + 4, 2:nx // 2 + 3] = 1000
        v[4:10, ny // 2 + 6:ny - 2, 5:nx - 3] = 1000
        v[nz // 2:nz - 2, 2:ny - 2, nx - 6:nx - 3] = 1000
    elif kind == "corner":  # a 3x3x3 cube and a 2x2x2 cube that share one corner only
        v = np.zeros((nz, ny, nx))
        v[1:4, 1:4, 1:4] = 1000
        v[4:6, 4:6, 4:6] = 1000
    elif kind in ("noisy", "ball"):  # a ball at 900 in 100, noise sd 250; or its truth 1/0
        c = np.array([nz, ny, nx]) / 2
        r = np.sqrt((z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2)
        inside = r <= min(nx, ny, nz) / 3
        v = inside * 1 if kind == "ball" else \
            np.where(inside, 900, 100) + rng.normal(0, 250, (nz, ny, nx))
    elif kind == "bimodal":  # a ball at 900 +- 20 in a background at 100 +- 20
        c = np.array([nz, ny, nx]) / 2
        r = np.sqrt((z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2)
        v = np.where(r <= min(nx, ny, nz) / 3, 900, 100) + rng.normal(0, 20, (nz, ny, nx))
    else:
        sys.exit("segref: unknown kind " + kind)
    if typ != "float":
        v = np.round(v)
    return v.astype(np.dtype(TYPES[typ]))


def ball(r, sp):
    """Offsets (k, j, i) with (i^2 wx + j^2 wy) + k^2 wz <= r^2, in float32 as m3 sums."""
    w = [np.float32(s * s) for s in sp]  # x, y, z
    r2 = np.float32(r * r)
    n = [int(np.floor(r / s)) + 1 for s in sp]
    offs = []
    for k in range(-n[2], n[2] + 1):
        for j in range(-n[1], n[1] + 1):
            for i in range(-n[0], n[0] + 1):
                d = np.float32(np.float32(i * i) * w[0]) + np.float32(np.float32(j * j) * w[1])
                d = np.float32(d + np.float32(np.float32(k * k) * w[2]))
                if d <= r2:
                    offs.append((k, j, i))
    return offs


def shift(m, off, fill):
    """out[p] = m[p + off], fill outside."""
    out = np.full_like(m, fill)
    src, dst = [], []
    for o, n in zip(off, m.shape):
        src.append(slice(max(o, 0), n + min(o, 0)))
        dst.append(slice(max(-o, 0), n + min(-o, 0)))
    out[tuple(dst)] = m[tuple(src)]
    return out


def dilate(m, offs):
    out = np.zeros_like(m)
    for o in offs:
        out |= shift(m, o, False)
    return out


def erode(m, offs):
    out = np.ones_like(m)
    for o in offs:
        out &= shift(m, o, True)
    return out


def neighbours(conn):
    return [(a, b, c) for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1)
            if (a, b, c) != (0, 0, 0) and (conn == 26 or abs(a) + abs(b) + abs(c) == 1)]


def components(m, conn):
    """Components of the set voxels: a list of (first voxel's raster index, voxel list)."""
    seen = np.zeros_like(m)
    nb = neighbours(conn)
    comps = []
    for p in zip(*np.nonzero(m)):  # raster order: z, then y, then x
        if seen[p]:
            continue
        seen[p] = True
        q, vox = deque([p]), []
        while q:
            v = q.popleft()
            vox.append(v)
            for d in nb:
                u = (v[0] + d[0], v[1] + d[1], v[2] + d[2])
                if all(0 <= u[i] < m.shape[i] for i in range(3)) and m[u] and not seen[u]:
                    seen[u] = True
                    q.append(u)
        comps.append((np.ravel_multi_index(p, m.shape), vox))
    return comps


def cc_filter(m, conn, keep, minsize):
    comps = [c for c in components(m, conn) if len(c[1]) >= minsize]
    comps.sort(key=lambda c: (-len(c[1]), c[0]))
    if keep > 0:
        comps = comps[:keep]
    out = np.zeros_like(m)
    for _, vox in comps:
        for v in vox:
            out[v] = True
    return out


def fill(m):
    bg = ~m
    border = np.zeros_like(m)
    for a in range(3):
        idx = [slice(None)] * 3
        for e in (0, -1):
            idx[a] = e
            border[tuple(idx)] = True
    outside = np.zeros_like(m)
    for _, vox in components(bg, 6):
        if any(border[v] for v in vox):
            for v in vox:
                outside[v] = True
    return ~outside


def radius(s, sp):
    if s.endswith("mm"):
        return float(s[:-2]), sp
    return float(s), (1.0, 1.0, 1.0)


def ref(steps):
    out = sys.stdout.buffer
    for hdr, keys, v in read_all(sys.stdin.buffer):
        sp = spacing_of(hdr)
        m = v > 0
        for s in steps:
            op, _, arg = s.partition(":")
            if op in ("dilate", "erode", "open", "close"):
                offs = ball(*radius(arg, sp))
                if op == "dilate":
                    m = dilate(m, offs)
                elif op == "erode":
                    m = erode(m, offs)
                elif op == "open":
                    m = dilate(erode(m, offs), offs)
                else:
                    m = erode(dilate(m, offs), offs)
            elif op == "fill":
                m = fill(m)
            elif op == "cc":
                conn, keep, minsize = (int(x) for x in arg.split(":"))
                m = cc_filter(m, conn, keep, minsize)
        write(m.astype(np.uint8), keys=(), out=out)


def main(a):
    if a[0] == "gen":
        sp = tuple(float(x) for x in a[7:10]) if len(a) > 7 else (0.5, 0.5, 0.5)
        write(gen(a[1], int(a[2]), int(a[3]), int(a[4]), int(a[5]), *a[6:7]), spacing=sp)
    elif a[0] == "count":
        lo, hi = float(a[1]), float(a[2])
        for _, _, v in read_all(open(a[3], "rb")):
            print(int(((v >= lo) & (v <= hi)).sum()))
    elif a[0] == "labels":
        for _, _, v in read_all(open(a[1], "rb")):
            u, c = np.unique(v, return_counts=True)
            print(" ".join("%d:%d" % t for t in zip(u, c)))
    elif a[0] == "median":
        for hdr, keys, v in read_all(sys.stdin.buffer):
            p = np.pad(v, 1, mode="edge")
            n = v.shape
            stack = [p[k:k + n[0], j:j + n[1], i:i + n[2]]
                     for k in range(3) for j in range(3) for i in range(3)]
            write(np.median(np.stack(stack), axis=0).astype(v.dtype), spacing=tuple(spacing_of(hdr)),
                  keys=tuple(keys.items()))
    elif a[0] == "ref":
        ref(a[1:])
    elif a[0] == "same":
        va, vb = read_all(open(a[1], "rb")), read_all(open(a[2], "rb"))
        if len(va) != len(vb):
            sys.exit("%d volumes, %d volumes" % (len(va), len(vb)))
        for n, ((_, _, x), (_, _, y)) in enumerate(zip(va, vb)):
            if x.shape != y.shape:
                sys.exit("volume %d: shapes %s, %s" % (n + 1, x.shape, y.shape))
            d = np.argwhere((x != 0) != (y != 0))
            if len(d):
                sys.exit("volume %d: %d voxels differ, first at z,y,x %s" %
                         (n + 1, len(d), tuple(d[0])))
    elif a[0] == "dice":
        x = read_all(open(a[1], "rb"))[0][2] == int(a[2])
        y = read_all(open(a[3], "rb"))[0][2] == int(a[4])
        print("%.4f" % (2.0 * (x & y).sum() / max(1, x.sum() + y.sum())))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
