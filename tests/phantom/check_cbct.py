"""Checks an m3-phantom cbct series against its truth.nrrd, and optionally dcm2niix's NIfTI.

usage: check_cbct.py DIR [NIFTI]
  - truth.nrrd is an NRRD 0004 volume of uint8 labels with LPS geometry;
  - every CT slice sits where the truth says (IPP = origin + k * slice spacing, IOP, spacing);
  - the HU of each label is what its tissue should be;
  - with NIFTI: its affine (RAS) maps every voxel onto the same LPS point as the truth, and
    its values are the slices' HU.
Prints one line per failure and exits 1 when any check fails.
"""
import glob
import gzip
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dcm  # noqa: E402


def read_nrrd(path):
    raw = open(path, "rb").read()
    head, _, data = raw.partition(b"\n\n")
    lines = head.decode("ascii").split("\n")
    if lines[0] != "NRRD0004":
        raise ValueError("not NRRD0004")
    fields, keys = {}, {}
    for line in lines[1:]:
        if line.startswith("#"):
            continue
        if ":=" in line:
            k, v = line.split(":=", 1)
            keys[k] = v
        else:
            k, v = line.split(": ", 1)
            fields[k] = v
    sizes = [int(s) for s in fields["sizes"].split()]
    dirs = [[float(x) for x in d.strip("()").split(",")] for d in fields["space directions"].split()]
    origin = [float(x) for x in fields["space origin"].strip("()").split(",")]
    if fields["encoding"] == "gzip":
        data = gzip.decompress(data)
    assert fields["type"] in ("uint8", "unsigned char"), fields["type"]
    vol = np.frombuffer(data, dtype=np.uint8).reshape(sizes[::-1])  # (z, y, x)
    return fields, keys, vol, np.array(dirs), np.array(origin)


def fail(msg):
    print(msg)
    return 1


def main():
    d = sys.argv[1]
    fields, keys, lab, dirs, origin = read_nrrd(os.path.join(d, "truth.nrrd"))
    bad = 0
    if fields["space"] != "left-posterior-superior" or keys.get("m3-labels") != "1 bone;2 teeth;3 soft-tissue":
        bad |= fail("truth.nrrd: space or labels wrong")
    files = sorted(glob.glob(os.path.join(d, "*.dcm")))
    nz, ny, nx = lab.shape
    if len(files) != nz:
        return fail("%d slices, truth has %d" % (len(files), nz))
    hu = np.empty(lab.shape, dtype=np.float64)
    for f in files:
        ds = dcm.read(f)
        k = int(dcm.text(ds, 0x00200013)) - 1
        ipp = np.array([float(x) for x in dcm.text(ds, 0x00200032).split("\\")])
        iop = [float(x) for x in dcm.text(ds, 0x00200037).split("\\")]
        ps = [float(x) for x in dcm.text(ds, 0x00280030).split("\\")]
        want = origin + k * dirs[2]
        if np.abs(ipp - want).max() > 1e-4 or iop != [1, 0, 0, 0, 1, 0]:
            bad |= fail("%s: IPP %s IOP %s, truth says %s" % (f, ipp, iop, want))
        if abs(ps[0] - dirs[1][1]) > 1e-6 or abs(ps[1] - dirs[0][0]) > 1e-6:
            bad |= fail("%s: pixel spacing %s, truth says %s" % (f, ps, dirs))
        slope = float(dcm.text(ds, 0x00281053))
        icpt = float(dcm.text(ds, 0x00281052))
        hu[k] = dcm.pixels(f) * slope + icpt
    want = {0: (-1100, -700), 1: (250, 1600), 2: (1000, 3100), 3: (-60, 160)}
    for label, (lo, hi) in want.items():
        sel = lab == label
        if sel.sum() < 50:
            bad |= fail("label %d: only %d voxels" % (label, sel.sum()))
            continue
        m = float(np.median(hu[sel]))
        if not lo <= m <= hi:
            bad |= fail("label %d: median %.0f HU, not in %d..%d" % (label, m, lo, hi))
    if len(sys.argv) > 2:
        bad |= check_nifti(sys.argv[2], hu, dirs, origin)
    return bad


def check_nifti(path, hu, dirs, origin):
    import nibabel as nib

    im = nib.load(path)
    a = im.affine  # voxel index -> RAS mm
    lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ a  # voxel index -> LPS mm
    t = np.eye(4)
    t[:3, :3] = dirs.T
    t[:3, 3] = origin  # truth index (x, y, z) -> LPS mm
    m = np.linalg.inv(t) @ lps  # NIfTI index -> truth index
    r = np.round(m[:3, :3])
    if np.abs(m[:3, :3] - r).max() > 1e-3 or np.abs(np.abs(r).sum(axis=0) - 1).max() > 0:
        return fail("NIfTI axes are not the truth's axes: %s" % m)
    if np.abs(m[:3, 3] - np.round(m[:3, 3])).max() > 1e-2:
        return fail("NIfTI origin is off the truth's grid: %s" % m[:3, 3])
    data = im.get_fdata()  # scaled to HU by scl_slope and scl_inter
    if sorted(data.shape) != sorted(hu.shape):
        return fail("NIfTI shape %s, truth %s" % (data.shape, hu.shape[::-1]))
    idx = np.indices(data.shape).reshape(3, -1)
    ti = np.round(m[:3, :3] @ idx + m[:3, 3:4]).astype(int)  # (x, y, z) truth indices
    nz, ny, nx = hu.shape
    if ti[0].min() < 0 or ti[0].max() >= nx or ti[1].min() < 0 or ti[1].max() >= ny or ti[2].min() < 0 or ti[2].max() >= nz:
        return fail("NIfTI voxels fall outside the truth volume")
    if not np.array_equal(hu[ti[2], ti[1], ti[0]], data.reshape(-1)):
        return fail("NIfTI values differ from the DICOM slices at the same LPS points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
