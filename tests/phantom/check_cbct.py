"""Checks an m3-phantom cbct series against its truth.nrrd, and optionally dcm2niix's NIfTI.

usage: check_cbct.py DIR [NIFTI]
  - truth.nrrd is an NRRD 0004 volume of uint8 labels with LPS geometry;
  - DIR holds one CT Image file per slice, or one Enhanced CT Image (--multiframe) whose
    frames are read through its functional groups (per frame: Plane Position, Frame Content;
    shared: Plane Orientation, Pixel Measures, Pixel Value Transformation);
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


ENHANCED_CT = "1.2.840.10008.5.1.4.1.1.2.1"


def slices(files):
    """(name, k, ipp, iop, pixel spacing, slice thickness, slice spacing, slope, intercept,
    stored pixels) for every slice, from classic files or the frames of one enhanced file."""
    out = []
    nums = lambda ds, tag: [float(x) for x in dcm.text(ds, tag).split("\\")]
    if len(files) == 1 and dcm.text(dcm.read(files[0]), 0x00080016) == ENHANCED_CT:
        f = files[0]
        ds = dcm.read_tree(f)
        shared = dcm.item(ds, 0x52009229)
        pm = dcm.item(shared, 0x00289110)
        pv = dcm.item(shared, 0x00289145)
        iop = nums(dcm.item(shared, 0x00209116), 0x00200037)
        if dcm.text(pv, 0x00281054) != "HU" or dcm.text(ds, 0x00280008) != str(len(ds[0x52009230][1])):
            raise ValueError(f + ": rescale type not HU or frame count wrong")
        px = dcm.pixels(f)
        for i, fr in enumerate(ds[0x52009230][1]):
            fc = dcm.item(fr, 0x00209111)
            k = dcm.ul(fc, 0x00209057)[0] - 1
            if dcm.ul(fc, 0x00209157) != [1, k + 1]:
                raise ValueError("%s: frame %d: dimension index values %s" % (f, i + 1, dcm.ul(fc, 0x00209157)))
            ipp = nums(dcm.item(fr, 0x00209113), 0x00200032)
            out.append(("%s frame %d" % (f, i + 1), k, ipp, iop, nums(pm, 0x00280030),
                        nums(pm, 0x00180050)[0], nums(pm, 0x00180088)[0],
                        nums(pv, 0x00281053)[0], nums(pv, 0x00281052)[0], px[i]))
        return out
    for f in files:
        ds = dcm.read(f)
        out.append((f, int(dcm.text(ds, 0x00200013)) - 1, nums(ds, 0x00200032), nums(ds, 0x00200037),
                    nums(ds, 0x00280030), nums(ds, 0x00180050)[0], nums(ds, 0x00180088)[0],
                    nums(ds, 0x00281053)[0], nums(ds, 0x00281052)[0], dcm.pixels(f)))
    return out


def main():
    d = sys.argv[1]
    fields, keys, lab, dirs, origin = read_nrrd(os.path.join(d, "truth.nrrd"))
    bad = 0
    if fields["space"] != "left-posterior-superior" or keys.get("m3-labels") != "1 bone;2 teeth;3 soft-tissue":
        bad |= fail("truth.nrrd: space or labels wrong")
    nz, ny, nx = lab.shape
    sl = slices(sorted(glob.glob(os.path.join(d, "*.dcm"))))
    if sorted(x[1] for x in sl) != list(range(nz)):
        return fail("slices %s, truth has %d" % (sorted(x[1] for x in sl), nz))
    hu = np.empty(lab.shape, dtype=np.float64)
    for f, k, ipp, iop, ps, thick, step, slope, icpt, px in sl:
        want = origin + k * dirs[2]
        if np.abs(np.array(ipp) - want).max() > 1e-4 or iop != [1, 0, 0, 0, 1, 0]:
            bad |= fail("%s: IPP %s IOP %s, truth says %s" % (f, ipp, iop, want))
        if abs(ps[0] - dirs[1][1]) > 1e-6 or abs(ps[1] - dirs[0][0]) > 1e-6:
            bad |= fail("%s: pixel spacing %s, truth says %s" % (f, ps, dirs))
        if abs(thick - dirs[2][2]) > 1e-6 or abs(step - dirs[2][2]) > 1e-6:
            bad |= fail("%s: slice thickness %s, spacing %s, truth says %s" % (f, thick, step, dirs[2][2]))
        hu[k] = px * slope + icpt
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
