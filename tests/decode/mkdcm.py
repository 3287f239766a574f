#!/usr/bin/env python3
"""Writes small DICOM series (explicit VR little endian) for m3-decode's tests, reproducibly.

    mkdcm.py [options] DIR     writes DIR/IM0001.dcm ... one file per slice

The pixel values are a seeded pattern, so that a test can compare what m3-decode decodes with
what dcm2niix writes for the same files.  Only the standard library and numpy are used.
"""
import argparse
import hashlib
import math
import os
import struct

import numpy as np


def el(tag, vr, value):
    """One data element in explicit VR little endian."""
    g, e = tag
    if isinstance(value, str):
        value = value.encode("latin-1")
        pad = b"\0" if vr == "UI" else b" "
        if len(value) % 2:
            value += pad
    if len(value) % 2:
        value += b"\0"
    if vr in ("OB", "OW", "SQ", "UN", "UT", "OF"):
        return struct.pack("<HH2sHI", g, e, vr.encode(), 0, len(value)) + value
    return struct.pack("<HH2sH", g, e, vr.encode(), len(value)) + value


def item(elems):
    body = b"".join(elems)
    return struct.pack("<HHI", 0xFFFE, 0xE000, len(body)) + body


def sq(tag, items):
    body = b"".join(items)
    return struct.pack("<HH2sHI", tag[0], tag[1], b"SQ", 0, len(body)) + body


def us(v):
    return struct.pack("<H", v)


def ds(*vals):
    return "\\".join(("%.6f" % v).rstrip("0").rstrip(".") if v != int(v) else str(int(v))
                     for v in vals)


def uid(seed, what):
    h = int(hashlib.sha256(("%s/%s" % (seed, what)).encode()).hexdigest()[:24], 16)
    return "2.25.%d" % h


def write(path, elems, ts="1.2.840.10008.1.2.1", sop_class="1.2.840.10008.5.1.4.1.1.2",
          sop_inst="1.2.3"):
    meta = b"".join([
        el((2, 1), "OB", b"\0\1"),
        el((2, 2), "UI", sop_class),
        el((2, 3), "UI", sop_inst),
        el((2, 0x10), "UI", ts),
        el((2, 0x12), "UI", "1.2.826.0.1.3680043.10.1"),
    ])
    group = el((2, 0), "UL", struct.pack("<I", len(meta)))
    body = b"".join(e for _, e in sorted(elems, key=lambda t: t[0]))
    with open(path, "wb") as f:
        f.write(b"\0" * 128 + b"DICM" + group + meta + body)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--size", default="32x24x10", help="columns x rows x slices")
    p.add_argument("--spacing", default="0.7,0.6,1.25", help="row spacing, column spacing, gap")
    p.add_argument("--iop", default="1,0,0,0,1,0")
    p.add_argument("--origin", default="-10,-20,30")
    p.add_argument("--slope", type=float, default=1.0)
    p.add_argument("--intercept", type=float, default=-1024.0)
    p.add_argument("--unsigned", action="store_true", help="pixel representation 0")
    p.add_argument("--bits-stored", type=int, default=16)
    p.add_argument("--monochrome1", action="store_true")
    p.add_argument("--modality", default="CT")
    p.add_argument("--seed", default="1")
    p.add_argument("--series", default=None, help="series instance UID (default from seed)")
    p.add_argument("--name", default="DOE^JANE", help="patient name")
    p.add_argument("--skip", type=int, default=-1, help="leave out this slice (a missing slice)")
    p.add_argument("--tilt", type=float, default=0.0, help="gantry tilt in degrees")
    p.add_argument("--shuffle", action="store_true", help="instance numbers not in slice order")
    p.add_argument("--prefix", default="IM")
    p.add_argument("--multiframe", action="store_true",
                   help="one enhanced CT file, frames in shuffled order, per-frame positions")
    a = p.parse_args()

    nx, ny, nz = (int(v) for v in a.size.split("x"))
    rs, cs, gap = (float(v) for v in a.spacing.split(","))
    iop = [float(v) for v in a.iop.split(",")]
    org = np.array([float(v) for v in a.origin.split(",")])
    r, c = np.array(iop[:3]), np.array(iop[3:])
    n = np.cross(r, c)
    step = n * gap + c * gap * math.tan(math.radians(a.tilt))
    series = a.series or uid(a.seed, "series")
    study = uid(a.seed, "study")
    rng = np.random.default_rng(int(hashlib.sha256(a.seed.encode()).hexdigest()[:8], 16))
    lo = 0 if a.unsigned else -(1 << (a.bits_stored - 1))
    hi = (1 << a.bits_stored) - 1 if a.unsigned else (1 << (a.bits_stored - 1)) - 1
    os.makedirs(a.dir, exist_ok=True)
    order = list(range(nz))
    if a.shuffle:
        rng.shuffle(order)
    frames = []
    for k in range(nz):
        if k == a.skip:
            continue
        yy, xx = np.mgrid[0:ny, 0:nx]
        img = (xx * 37 + yy * 101 + k * 997) % (hi - lo + 1) + lo
        img[rng.integers(0, ny), rng.integers(0, nx)] = hi
        img[0, 0] = lo + k
        pix = img.astype("<u2" if a.unsigned else "<i2").tobytes()
        ipp = org + step * k
        inst = order[k] + 1
        sop = uid(a.seed, "sop%d" % k)
        elems = dict([
            ((8, 0x16), el((8, 0x16), "UI", "1.2.840.10008.5.1.4.1.1.2")),
            ((8, 0x18), el((8, 0x18), "UI", sop)),
            ((8, 0x60), el((8, 0x60), "CS", a.modality)),
            ((0x10, 0x10), el((0x10, 0x10), "PN", a.name)),
            ((0x10, 0x20), el((0x10, 0x20), "LO", "PID4242")),
            ((0x10, 0x30), el((0x10, 0x30), "DA", "19700101")),
            ((0x18, 0x50), el((0x18, 0x50), "DS", ds(gap))),
            ((0x20, 0x0d), el((0x20, 0x0d), "UI", study)),
            ((0x20, 0x0e), el((0x20, 0x0e), "UI", series)),
            ((0x20, 0x11), el((0x20, 0x11), "IS", "7")),
            ((0x20, 0x13), el((0x20, 0x13), "IS", str(inst))),
            ((0x20, 0x32), el((0x20, 0x32), "DS", ds(*ipp))),
            ((0x20, 0x37), el((0x20, 0x37), "DS", ds(*iop))),
            ((0x20, 0x52), el((0x20, 0x52), "UI", uid(a.seed, "for"))),
            ((0x28, 2), el((0x28, 2), "US", us(1))),
            ((0x28, 4), el((0x28, 4), "CS", "MONOCHROME1" if a.monochrome1 else "MONOCHROME2")),
            ((0x28, 0x10), el((0x28, 0x10), "US", us(ny))),
            ((0x28, 0x11), el((0x28, 0x11), "US", us(nx))),
            ((0x28, 0x30), el((0x28, 0x30), "DS", ds(rs, cs))),
            ((0x28, 0x100), el((0x28, 0x100), "US", us(16))),
            ((0x28, 0x101), el((0x28, 0x101), "US", us(a.bits_stored))),
            ((0x28, 0x102), el((0x28, 0x102), "US", us(a.bits_stored - 1))),
            ((0x28, 0x103), el((0x28, 0x103), "US", us(0 if a.unsigned else 1))),
            ((0x28, 0x1050), el((0x28, 0x1050), "DS", "40")),
            ((0x28, 0x1051), el((0x28, 0x1051), "DS", "400")),
            ((0x28, 0x1052), el((0x28, 0x1052), "DS", ds(a.intercept))),
            ((0x28, 0x1053), el((0x28, 0x1053), "DS", ds(a.slope))),
            ((0x7fe0, 0x10), el((0x7fe0, 0x10), "OW", pix)),
        ])
        if a.multiframe:
            frames.append((k, ipp, pix, elems))
            continue
        write(os.path.join(a.dir, "%s%04d.dcm" % (a.prefix, k + 1)), list(elems.items()),
              sop_inst=sop)
    if a.multiframe:
        write_enhanced(a, frames, rng, iop, rs, cs, gap)


def write_enhanced(a, frames, rng, iop, rs, cs, gap):
    """The frames as one enhanced CT object: geometry and rescale in functional groups."""
    frames = [frames[i] for i in rng.permutation(len(frames))]
    top = dict(frames[0][3])
    for t in [(0x20, 0x32), (0x20, 0x37), (0x28, 0x30), (0x28, 0x1052), (0x28, 0x1053),
              (0x18, 0x50), (0x20, 0x13), (0x7fe0, 0x10)]:
        top.pop(t, None)
    shared = item([
        sq((0x20, 0x9116), [item([el((0x20, 0x37), "DS", ds(*iop))])]),
        sq((0x28, 0x9110), [item([el((0x18, 0x50), "DS", ds(gap)),
                                  el((0x28, 0x30), "DS", ds(rs, cs))])]),
        sq((0x28, 0x9145), [item([el((0x28, 0x1052), "DS", ds(a.intercept)),
                                  el((0x28, 0x1053), "DS", ds(a.slope)),
                                  el((0x28, 0x1054), "LO", "HU")])]),
    ])
    per = [item([sq((0x20, 0x9113), [item([el((0x20, 0x32), "DS", ds(*ipp))])])])
           for _, ipp, _, _ in frames]
    top[(0x28, 0x08)] = el((0x28, 0x08), "IS", str(len(frames)))
    top[(0x5200, 0x9229)] = sq((0x5200, 0x9229), [shared])
    top[(0x5200, 0x9230)] = sq((0x5200, 0x9230), per)
    top[(0x7fe0, 0x10)] = el((0x7fe0, 0x10), "OW", b"".join(f[2] for f in frames))
    cls = "1.2.840.10008.5.1.4.1.1.2.1"
    top[(8, 0x16)] = el((8, 0x16), "UI", cls)
    write(os.path.join(a.dir, "%s-enhanced.dcm" % a.prefix), list(top.items()), sop_class=cls,
          sop_inst=uid(a.seed, "enhanced"))


if __name__ == "__main__":
    main()
