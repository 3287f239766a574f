#!/usr/bin/env python3
"""Test inputs for m3-view, made reproducibly from a seed with the standard library alone.

    mkdata.py DIR [--size W H] [--views N]

writes into DIR:
  marks-L-CC.png ...   synthetic mammogram-like overlays (8-bit RGB, marks drawn in colour)
  findings.jsonl       one object per view, the keys m3-mammo writes, with known scores
  scene.x3d            a cube (12 triangles, DEF "bone") and a tetrahedron (4, DEF "soft-tissue")
  scene.x3dz           the same, gzip
  cube.stl             a binary STL cube (12 triangles)
  expect.json          what the browser test checks against (triangles, scores)
"""
import gzip
import json
import math
import os
import random
import struct
import sys
import zlib

VIEWS = [("L", "CC"), ("L", "MLO"), ("R", "CC"), ("R", "MLO")]
# Scores of the calcifications of each view: the browser test moves the threshold to 0.5 and
# expects the ones below it hidden.
SCORES = [0.95, 0.81, 0.62, 0.55, 0.49, 0.33, 0.12]


def png_bytes(w, h, rows, colour, level=9):
    raw = b"".join(b"\x00" + bytes(r) for r in rows)

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2 if colour else 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"tEXt", b"Comment\x00Patient DOE^JANE") +  # m3-view must drop this
            chunk(b"IDAT", zlib.compress(raw, level)) + chunk(b"IEND", b""))


def mammogram(w, h, rng, left, finds):
    """A breast-like half ellipse with texture and noise, bright specks at the finds, and a
    coloured ring around each (as m3-mammo's overlay has)."""
    rows = []
    cx = 0 if left else w - 1
    for y in range(h):
        row = bytearray(3 * w)
        for x in range(w):
            dx = (x - cx) / (0.8 * w)
            dy = (y - h / 2) / (0.45 * h)
            r = dx * dx + dy * dy
            if r < 1:
                v = 80 + 90 * (1 - r) + 18 * math.sin(x / 7.0) * math.cos(y / 11.0)
                v += rng.gauss(0, 4)
                v = max(0, min(255, int(v)))
            else:
                v = 0
            row[3 * x:3 * x + 3] = bytes((v, v, v))
        rows.append(row)
    for (fx, fy, _) in finds:
        for yy in range(fy - 2, fy + 3):
            for xx in range(fx - 2, fx + 3):
                if 0 <= xx < w and 0 <= yy < h:
                    rows[yy][3 * xx:3 * xx + 3] = b"\xf0\xf0\xf0"
        for a in range(0, 360, 3):
            xx = int(fx + 9 * math.cos(math.radians(a)))
            yy = int(fy + 9 * math.sin(math.radians(a)))
            if 0 <= xx < w and 0 <= yy < h:
                rows[yy][3 * xx:3 * xx + 3] = b"\xff\x40\x40"
    return rows


def big_mammogram(w, h, rng, left):
    """A full-size mammogram made fast: per-row tissue level, noise from seeded random bytes
    (about 3 bits a pixel, like a windowed mammogram), and coloured rings as marks."""
    rows = []
    for y in range(h):
        dy = (y - h / 2) / (0.45 * h)
        half = int(0.8 * w * math.sqrt(max(0.0, 1 - dy * dy)))
        level = int(90 + 60 * (1 - abs(dy)) + 15 * math.sin(y / 40.0))
        table = bytes(max(0, min(255, level + (b % 9) - 4)) for b in range(256))
        noise = rng.randbytes(half).translate(table)
        g = noise + bytes(w - half) if left else bytes(w - half) + noise
        r = bytearray(3 * w)
        rows.append(r)
        r[0::3] = g
        r[1::3] = g
        r[2::3] = g
    for i in range(20):
        fx, fy = rng.randrange(w // 4, 3 * w // 4), rng.randrange(h // 4, 3 * h // 4)
        for a in range(0, 360, 2):
            xx = int(fx + 14 * math.cos(math.radians(a)))
            yy = int(fy + 14 * math.sin(math.radians(a)))
            rows[yy][3 * xx:3 * xx + 3] = b"\xff\x40\x40"
    return rows


def x3d_scene():
    cube_pts = "-10 -10 -10 10 -10 -10 10 10 -10 -10 10 -10 -10 -10 10 10 -10 10 10 10 10 -10 10 10"
    cube_idx = ("0 2 1 0 3 2 4 5 6 4 6 7 0 1 5 0 5 4 1 2 6 1 6 5 2 3 7 2 7 6 3 0 4 3 4 7")
    tet_pts = "20 -10 -10 40 -10 -10 30 10 -10 30 0 10"
    tet_idx = "0 1 2 0 1 3 1 2 3 2 0 3"
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<!DOCTYPE X3D PUBLIC "ISO//Web3D//DTD X3D 3.3//EN" '
            '"http://www.web3d.org/specifications/x3d-3.3.dtd">\n'
            '<X3D profile="Interchange" version="3.3">\n'
            '<head><meta name="generator" content="mkdata.py"/></head>\n<Scene>\n'
            '<!-- one Shape per label, as m3-x3d writes -->\n'
            '<Shape DEF="bone"><Appearance><Material diffuseColor="0.9 0.87 0.8"/></Appearance>\n'
            '<IndexedTriangleSet solid="false" index="%s"><Coordinate point="%s"/>'
            '</IndexedTriangleSet></Shape>\n'
            '<Shape DEF="soft-tissue"><Appearance><Material diffuseColor="0.85 0.45 0.42"/>'
            '</Appearance>\n<IndexedTriangleSet solid="false" index="%s">'
            '<Coordinate point="%s"/></IndexedTriangleSet></Shape>\n'
            '</Scene>\n</X3D>\n' % (cube_idx, cube_pts, tet_idx, tet_pts))


def stl_cube():
    p = [(-5, -5, -5), (5, -5, -5), (5, 5, -5), (-5, 5, -5),
         (-5, -5, 5), (5, -5, 5), (5, 5, 5), (-5, 5, 5)]
    idx = [0, 2, 1, 0, 3, 2, 4, 5, 6, 4, 6, 7, 0, 1, 5, 0, 5, 4,
           1, 2, 6, 1, 6, 5, 2, 3, 7, 2, 7, 6, 3, 0, 4, 3, 4, 7]
    out = b"binary STL cube, made by mkdata.py".ljust(80, b" ") + struct.pack("<I", 12)
    for t in range(12):
        out += struct.pack("<3f", 0, 0, 0)
        for k in range(3):
            out += struct.pack("<3f", *p[idx[3 * t + k]])
        out += b"\x00\x00"
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    d = sys.argv[1]
    w, h, nviews, full = 320, 400, 2, False
    args = sys.argv[2:]
    while args:
        if args[0] == "--size":
            w, h, args = int(args[1]), int(args[2]), args[3:]
        elif args[0] == "--full":
            w, h, nviews, args = 3328, 4096, 4, args[1:]
            full = True
        elif args[0] == "--views":
            nviews, args = int(args[1]), args[2:]
        else:
            sys.exit("mkdata.py: unknown option " + args[0])
    os.makedirs(d, exist_ok=True)
    rng = random.Random(42)
    lines = []
    for i, (lat, view) in enumerate(VIEWS[:nviews]):
        finds = []
        for j, s in enumerate(SCORES):
            fx = int(w * (0.15 + 0.1 * j)) if lat == "L" else int(w * (0.85 - 0.1 * j))
            fy = int(h * (0.3 + 0.06 * j))
            finds.append((fx, fy, s))
        if full:
            rows = big_mammogram(w, h, rng, lat == "L")
        else:
            rows = mammogram(w, h, rng, lat == "L", finds)
        with open(os.path.join(d, "marks-%s-%s.png" % (lat, view)), "wb") as f:
            f.write(png_bytes(w, h, rows, True, 1 if full else 9))
        calcs = [{"id": j + 1, "x": fx, "y": fy, "x_mm": fx * 0.07, "y_mm": fy * 0.07,
                  "diameter_mm": 0.3 + 0.05 * j, "area_mm2": 0.1, "contrast": 0.2 + 0.01 * j,
                  "score": s, "cluster": 1 if j < 3 else None}
                 for j, (fx, fy, s) in enumerate(finds)]
        lines.append({"image": {"laterality": lat, "view": view, "width": w, "height": h,
                                "pixel_spacing_mm": [0.07, 0.07],
                                "PatientName": "DOE^JANE"},
                      "calcifications": calcs,
                      "clusters": [{"id": 1, "members": [1, 2, 3], "centre": [w // 2, h // 2],
                                    "extent": [10, 10, 40, 40], "score": 0.9}],
                      "device": "cpu", "timings": {"detect_ms": 12.5, "total_ms": 30},
                      "patient_id": "P-SECRET-123"})
    with open(os.path.join(d, "findings.jsonl"), "w") as f:
        for o in reversed(lines):  # out of order: matching goes by laterality and view
            f.write(json.dumps(o) + "\n")
    x3d = x3d_scene()
    with open(os.path.join(d, "scene.x3d"), "w") as f:
        f.write(x3d)
    with gzip.GzipFile(os.path.join(d, "scene.x3dz"), "wb", mtime=0) as f:
        f.write(x3d.encode())
    with open(os.path.join(d, "cube.stl"), "wb") as f:
        f.write(stl_cube())
    with open(os.path.join(d, "expect.json"), "w") as f:
        json.dump({"triangles": 16, "labels": 2, "stl_triangles": 12, "scores": SCORES,
                   "threshold": 0.5, "below": sum(1 for s in SCORES if s < 0.5),
                   "views": ["%s %s" % v for v in VIEWS[:nviews]]}, f)


if __name__ == "__main__":
    main()
