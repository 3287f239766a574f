#!/usr/bin/env python3
"""Writes small colour DICOM objects (explicit VR little endian) for m3-decode's tests.

    mkcolor.py [options] DIR     writes DIR/C0001.dcm ... one file per slice (or one file)

The pixels are a seeded RGB pattern, stored as RGB or as YBR_FULL (PS3.3 C.7.6.3.1.2,
rounded), interleaved (planar configuration 0) or planar (1).  With --expect FILE the RGB
that a decoder must give is written there too, raw bytes R,G,B per pixel, slices in order:
the pattern itself for RGB, the YBR_FULL bytes turned back with the PS3.3 equations for
YBR_FULL.  Compressed copies are made in the tests with gdcmconv and dcmtk.
"""
import argparse
import os

import numpy as np

from mkdcm import ds, el, uid, us, write


def pattern(rng, nx, ny, k):
    """Ramps, a product term and random speckles: every channel varies, none is smooth."""
    yy, xx = np.mgrid[0:ny, 0:nx]
    img = np.stack([(xx * 8 + k * 40) % 256, (yy * 10 + k * 7) % 256,
                    (xx * yy * 7 + 13 + k) % 256], -1).astype(np.uint8)
    img[::3, ::5] = rng.integers(0, 256, img[::3, ::5].shape, dtype=np.uint8)
    img[0, 0] = (k, 255 - k, 128)
    return img


def to_ybr(rgb):
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b + 128
    return np.clip(np.rint(np.stack([y, cb, cr], -1)), 0, 255).astype(np.uint8)


def from_ybr(ybr):
    y, cb, cr = (ybr[..., i].astype(np.float64) for i in range(3))
    cb, cr = cb - 128, cr - 128
    rgb = np.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], -1)
    return np.clip(np.floor(rgb + 0.5), 0, 255).astype(np.uint8)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--size", default="32x24x3", help="columns x rows x slices")
    p.add_argument("--ybr", action="store_true", help="store YBR_FULL, not RGB")
    p.add_argument("--planar", action="store_true", help="planar configuration 1")
    p.add_argument("--multiframe", action="store_true",
                   help="one classic multi-frame file (Number of Frames), not one per slice")
    p.add_argument("--seed", default="c1")
    p.add_argument("--expect", help="write the RGB a decoder must give here")
    a = p.parse_args()

    nx, ny, nz = (int(v) for v in a.size.split("x"))
    rs, cs, gap = 0.5, 0.4, 2.0
    iop = [1, 0, 0, 0, 1, 0]
    org = np.array([-5.0, -6.0, 10.0])
    rng = np.random.default_rng(sum(a.seed.encode()))
    series, study = uid(a.seed, "series"), uid(a.seed, "study")
    os.makedirs(a.dir, exist_ok=True)
    stored, expect = [], []
    for k in range(nz):
        rgb = pattern(rng, nx, ny, k)
        px = to_ybr(rgb) if a.ybr else rgb
        expect.append(from_ybr(px) if a.ybr else rgb)
        stored.append(px.transpose(2, 0, 1) if a.planar else px)
    if a.expect:
        with open(a.expect, "wb") as f:
            f.write(b"".join(e.tobytes() for e in expect))

    def elems(k, pix, frames):
        ipp = org + np.array([0, 0, gap]) * k
        e = dict([
            ((8, 0x16), el((8, 0x16), "UI", "1.2.840.10008.5.1.4.1.1.7")),
            ((8, 0x18), el((8, 0x18), "UI", uid(a.seed, "sop%d" % k))),
            ((8, 0x60), el((8, 0x60), "CS", "XC")),
            ((0x10, 0x10), el((0x10, 0x10), "PN", "DOE^JANE")),
            ((0x18, 0x50), el((0x18, 0x50), "DS", ds(gap))),
            ((0x18, 0x88), el((0x18, 0x88), "DS", ds(gap))),
            ((0x20, 0x0d), el((0x20, 0x0d), "UI", study)),
            ((0x20, 0x0e), el((0x20, 0x0e), "UI", series)),
            ((0x20, 0x13), el((0x20, 0x13), "IS", str(k + 1))),
            ((0x20, 0x32), el((0x20, 0x32), "DS", ds(*ipp))),
            ((0x20, 0x37), el((0x20, 0x37), "DS", ds(*iop))),
            ((0x28, 2), el((0x28, 2), "US", us(3))),
            ((0x28, 4), el((0x28, 4), "CS", "YBR_FULL" if a.ybr else "RGB")),
            ((0x28, 6), el((0x28, 6), "US", us(1 if a.planar else 0))),
            ((0x28, 0x10), el((0x28, 0x10), "US", us(ny))),
            ((0x28, 0x11), el((0x28, 0x11), "US", us(nx))),
            ((0x28, 0x30), el((0x28, 0x30), "DS", ds(rs, cs))),
            ((0x28, 0x100), el((0x28, 0x100), "US", us(8))),
            ((0x28, 0x101), el((0x28, 0x101), "US", us(8))),
            ((0x28, 0x102), el((0x28, 0x102), "US", us(7))),
            ((0x28, 0x103), el((0x28, 0x103), "US", us(0))),
            ((0x7fe0, 0x10), el((0x7fe0, 0x10), "OB", pix)),
        ])
        if frames > 1:
            e[(0x28, 8)] = el((0x28, 8), "IS", str(frames))
        return list(e.items())

    cls = "1.2.840.10008.5.1.4.1.1.7"
    if a.multiframe:
        pix = b"".join(s.tobytes() for s in stored)
        write(os.path.join(a.dir, "C0001.dcm"), elems(0, pix, nz), sop_class=cls,
              sop_inst=uid(a.seed, "sop0"))
        return
    for k in range(nz):
        write(os.path.join(a.dir, "C%04d.dcm" % (k + 1)), elems(k, stored[k].tobytes(), 1),
              sop_class=cls, sop_inst=uid(a.seed, "sop%d" % k))


if __name__ == "__main__":
    main()
