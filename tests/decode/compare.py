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
import re
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
    if f.get("kinds", "").startswith("RGB-color"):
        data = np.moveaxis(data, 0, -1)  # the colour axis last, as nibabel gives RGB24
    dirs = re.findall(r"none|\([^)]*\)", f["space directions"])
    dirs = [vec(d) for d in dirs if d != "none"]
    org = vec(f["space origin"])
    a = np.eye(4)
    for j, d in enumerate(dirs):
        a[:3, j] = d
    if len(dirs) == 2:
        a[:3, 2] = np.cross(dirs[0], dirs[1]) / np.linalg.norm(np.cross(dirs[0], dirs[1]))
        data = data.reshape(data.shape[:2] + (1,) + data.shape[2:])
    a[:3, 3] = org
    return data.astype(np.float64), np.diag([-1, -1, 1, 1]) @ a


def read_nii(path):
    """Data (x, y, z, and a last axis of 3 for RGB24) and affine of a NIfTI file."""
    img = nib.load(path)
    data = np.asarray(img.dataobj)
    if data.dtype.names:  # RGB24: fields R, G, B
        data = np.stack([data[k] for k in data.dtype.names], -1).astype(np.float64)
        spatial = data.ndim - 1
    else:
        data = np.asarray(img.get_fdata())
        spatial = data.ndim
    if spatial == 2:
        data = data.reshape(data.shape[:2] + (1,) + data.shape[2:])
    return data, img.affine


def main():
    mine, ref = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    tol = float(args[args.index("--tol") + 1]) if "--tol" in args else 1e-3
    no_origin = "--ignore-origin" in args
    if mine.endswith((".nii", ".nii.gz")):
        data, aff = read_nii(mine)
    else:
        data, aff = read_nrrd(mine)
    rdata, raff = read_nii(ref)
    if data.shape[3:] != rdata.shape[3:]:
        print("%s vs dcm2niix %s" % ("RGB" if data.ndim > 3 else "grey",
                                     "RGB" if rdata.ndim > 3 else "grey"))
        return 1
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
    ijk = np.indices(data.shape[:3]).reshape(3, -1)
    rijk = t[:3, :3] @ ijk + t[:3, 3:4]
    if (rijk < 0).any() or (rijk >= np.array(rdata.shape[:3])[:, None]).any():
        print("voxels fall outside dcm2niix's grid")
        return 1
    b = rdata[rijk[0], rijk[1], rijk[2]]
    a = data[ijk[0], ijk[1], ijk[2]]
    bad = np.abs(a - b) > tol * np.maximum(1, np.abs(b))
    if bad.ndim > 1:  # RGB: a voxel differs when one of its channels does
        bad = bad.any(axis=1)
    if bad.any():
        k = int(np.argmax(bad))
        print("%d voxels differ, first at %s: %s vs dcm2niix %s" %
              (int(bad.sum()), tuple(ijk[:, k]), a[k], b[k]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
