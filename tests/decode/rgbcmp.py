#!/usr/bin/env python3
"""Compares RGB bytes (volcat -D of an m3-decode colour volume) with reference images.

    rgbcmp.py MINE [--tol T] REF...

MINE holds R,G,B bytes per pixel, rows of columns, slice after slice (the RGB-color axis 0
of an m3 volume).  Each REF is a binary PPM (P6, maxval 255: what dcmj2pnm +op writes) or raw
RGB bytes; they are joined in order, one per slice or frame.  Exit 0 when every byte is
within T (default 0) of the reference; else a line saying where they differ, exit 1.
"""
import sys

import numpy as np


def ppm(path):
    raw = open(path, "rb").read()
    if not raw.startswith(b"P6"):
        return np.frombuffer(raw, np.uint8)
    fields, at = [], 2
    while len(fields) < 3:  # width, height, maxval, with comments and blanks between
        while raw[at:at + 1].isspace():
            at += 1
        if raw[at:at + 1] == b"#":
            at = raw.index(b"\n", at)
            continue
        end = at
        while not raw[end:end + 1].isspace():
            end += 1
        fields.append(int(raw[at:end]))
        at = end
    w, h, maxval = fields
    if maxval != 255:
        sys.exit("%s: maxval %d, only 255 is read" % (path, maxval))
    return np.frombuffer(raw[at + 1:at + 1 + w * h * 3], np.uint8)


def main():
    args = sys.argv[1:]
    tol = 0
    if "--tol" in args:
        i = args.index("--tol")
        tol = int(args[i + 1])
        del args[i:i + 2]
    mine = np.frombuffer(open(args[0], "rb").read(), np.uint8).astype(int)
    ref = np.concatenate([ppm(p) for p in args[1:]]).astype(int)
    if mine.size != ref.size:
        print("%d bytes, the reference has %d" % (mine.size, ref.size))
        return 1
    d = np.abs(mine - ref)
    if d.max(initial=0) > tol:
        k = int(np.argmax(d > tol))
        print("%d of %d values differ by more than %d (at most %d), first pixel %d: %s vs %s" %
              (int((d > tol).sum()), d.size, tol, d.max(), k // 3,
               mine[k // 3 * 3:k // 3 * 3 + 3], ref[k // 3 * 3:k // 3 * 3 + 3]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
