#!/usr/bin/env python3
"""Compares what m3-decode wrote with what dcm2niix wrote for the same DICOM series.

    compare.py MINE REF.nii [--tol T] [--ignore-origin]

MINE is an m3 volume stream (NRRD, LPS) or a NIfTI file; REF is dcm2niix's NIfTI (RAS).
Every voxel of MINE must land, through the two affines, on a voxel of REF (same world
position within 1/1000 voxel) with the same value (scaled values, within T).  dcm2niix may
flip or reorder axes; the check does not care how the voxels are laid out, only where they
are and what they hold.  --ignore-origin compares axes and spacing but not the origin, for
projection images (dcm2niix invents one for them).  Exit 0 when they agree; else a line saying what differs, exit 1.
"""
import gzip
import sys

import nibabel as nib
import numpy as np

TYPES = {"uint8": "u1", "int16": "i2", "uint16": "u2", "int32": "i4", "uint32": "u4",
         "float": "f4"}


def vec(s):
    return [float(x) for x in s.strip().strip("()").split(",")]


def read_nrrd(path):
    """The first volume of an m3 stream: data (x fastest) and its RAS affine."""
    raw = open(path, "rb").read()
    head, _, body = raw.partition(b"\n\n")
    f = {}
    for line in head.decode().splitlines()[1:]:
        if line.startswith("#") or ":=" in line:
            continue
        k, _, v = line.partition(":")
        f[k.strip()] = v.strip()
    f.setdefault("space origin", "(0,0,0)")
    sizes = [int(x) for x in f["sizes"].split()]
    dt = np.dtype(TYPES[f["type"]]).newbyteorder("<" if f.get("endian", "little") == "little"
                                                 else ">")
    n = int(np.prod(sizes)) * dt.itemsize
    body = gzip.decompress(body) if f["encoding"] == "gzip" else body
    data = np.frombuffer(body[:n], dtype=dt).reshape(sizes[::-1]).T
    dirs = [d for d in f["space directions"].split(") ")]
    dirs = [vec(d) for d in dirs if d.strip() != "none"]
    org = vec(f["space origin"])
    a = np.eye(4)
    for j, d in enumerate(dirs):
        a[:3, j] = d
    if len(dirs) == 2:
        a[:3, 2] = np.cross(dirs[0], dirs[1]) / np.linalg.norm(np.cross(dirs[0], dirs[1]))
        data = data[..., np.newaxis]
    a[:3, 3] = org
    return data.astype(np.float64), np.diag([-1, -1, 1, 1]) @ a


def main():
    mine, ref = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    tol = float(args[args.index("--tol") + 1]) if "--tol" in args else 1e-3
    no_origin = "--ignore-origin" in args
    if mine.endswith((".nii", ".nii.gz")):
        img = nib.load(mine)
        data, aff = np.asarray(img.get_fdata()), img.affine
        if data.ndim == 2:
            data = data[..., np.newaxis]
    else:
        data, aff = read_nrrd(mine)
    r = nib.load(ref)
    rdata, raff = np.asarray(r.get_fdata()), r.affine
    if rdata.ndim == 2:
        rdata = rdata[..., np.newaxis]
    if data.size != rdata.size:
        print("sizes differ: %s vs dcm2niix %s" % (data.shape, rdata.shape))
        return 1
    t = np.linalg.inv(raff) @ aff
    if no_origin:
        # a signed permutation; put index 0 of each of my axes at the matching end of REF's
        r = np.round(t[:3, :3])
        t[:3, 3] = [sum(rdata.shape[i] - 1 for j in range(3) if r[i, j] < 0) for i in range(3)]
    if np.abs(t - np.round(t)).max() > 1e-3 * max(1, np.abs(t).max()):
        print("geometry differs: mine\n%s\ndcm2niix\n%s" % (aff, raff))
        return 1
    t = np.round(t).astype(int)
    ijk = np.indices(data.shape).reshape(3, -1)
    rijk = t[:3, :3] @ ijk + t[:3, 3:4]
    if (rijk < 0).any() or (rijk >= np.array(rdata.shape)[:, None]).any():
        print("voxels fall outside dcm2niix's grid")
        return 1
    a = data.reshape(-1, order="C")
    b = rdata[rijk[0], rijk[1], rijk[2]]
    a = data[ijk[0], ijk[1], ijk[2]]
    bad = np.abs(a - b) > tol * np.maximum(1, np.abs(b))
    if bad.any():
        k = int(np.argmax(bad))
        print("%d voxels differ, first at %s: %g vs dcm2niix %g" %
              (int(bad.sum()), tuple(ijk[:, k]), a[k], b[k]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
