#!/usr/bin/env python3
"""Renders an m3-x3d mesh to a PNG: a numpy z-buffer rasteriser with Lambert (Gouraud) shading
and a PNG writer on zlib; no other dependency.

    render.py MESH OUT.png [--size WxH] [--view front|top|side] [--yaw DEG] [--pitch DEG]

MESH is .x3d, .x3dz, .ply or .stl; X3D and PLY parts get their label's palette colour.
The camera looks at LPS millimetres: "front" from the anterior (the face), "top" from the
superior, "side" from the patient's left; --yaw and --pitch turn it further.
"""
import argparse
import struct
import sys
import zlib

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import meshcheck  # noqa: E402

# m3-x3d's palette (src/m3-x3d/write.c), by (label + 7) % 8
PALETTE = [(0.89, 0.85, 0.78), (1.00, 0.98, 0.90), (0.80, 0.36, 0.33), (0.36, 0.58, 0.80),
           (0.45, 0.74, 0.42), (0.93, 0.70, 0.30), (0.62, 0.45, 0.75), (0.40, 0.75, 0.75)]


def read_stl(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack_from("<I", data, 80)[0]
    tri = np.frombuffer(data, np.dtype([("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")]), n, 84)
    v = tri["v"].reshape(-1, 3).astype(float)
    v, t = np.unique(v, axis=0, return_inverse=True)
    return {1: (v, t.reshape(-1, 3), None, None)}


def vertex_normals(v, t):
    fn = np.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]])
    n = np.zeros_like(v)
    for k in range(3):
        np.add.at(n, t[:, k], fn)
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def rotation(view, yaw, pitch):
    # screen x to the right, screen y up, z toward the viewer; LPS: x left, y posterior, z up
    base = {
        # from the front (anterior, -y): the patient's left on screen right, superior up
        "front": np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]], float),
        # from above (superior, +z): anterior up
        "top": np.array([[-1, 0, 0], [0, -1, 0], [0, 0, 1]], float),
        # from the patient's left (+x): posterior on screen right
        "side": np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]], float),
    }[view]
    assert np.linalg.det(base) > 0  # a mirror would turn the triangles inside out
    a, b = np.radians(yaw), np.radians(pitch)
    ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    return rx @ ry @ base


def render(parts, w, h, rot, ss=2):
    W, H = w * ss, h * ss
    allv = np.concatenate([p[0] for p in parts.values()]) @ rot.T
    lo, hi = allv.min(0), allv.max(0)
    scale = 0.9 * min(W / (hi[0] - lo[0]), H / (hi[1] - lo[1]))
    mid = (lo + hi) / 2
    zbuf = np.full((H, W), -np.inf)
    img = np.zeros((H, W, 3))
    # background: a soft vertical gradient
    g = np.linspace(0.18, 0.05, H)[:, None]
    img[:] = np.stack([g * 0.9, g, g * 1.2], -1)
    light = np.array([-0.4, 0.5, 0.77])
    light /= np.linalg.norm(light)
    for label, (v, t, n, _) in sorted(parts.items()):
        col = np.array(PALETTE[(label + 7) % 8])
        p = v @ rot.T
        nn = (n if n is not None and len(n) else vertex_normals(v, t)) @ rot.T
        inten = 0.18 + 0.82 * np.clip(nn @ light, 0, 1)
        sx = (p[:, 0] - mid[0]) * scale + W / 2
        sy = H / 2 - (p[:, 1] - mid[1]) * scale
        sz = p[:, 2]
        # back faces never show on a closed mesh: skip them
        e1 = np.stack([sx[t[:, 1]] - sx[t[:, 0]], sy[t[:, 1]] - sy[t[:, 0]]], 1)
        e2 = np.stack([sx[t[:, 2]] - sx[t[:, 0]], sy[t[:, 2]] - sy[t[:, 0]]], 1)
        area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
        for tri in t[area < 0]:  # counter-clockwise in y-up is clockwise in y-down
            x, y, z, c = sx[tri], sy[tri], sz[tri], inten[tri]
            x0, x1 = max(int(np.floor(x.min())), 0), min(int(np.ceil(x.max())), W - 1)
            y0, y1 = max(int(np.floor(y.min())), 0), min(int(np.ceil(y.max())), H - 1)
            if x0 > x1 or y0 > y1:
                continue
            px, py = np.meshgrid(np.arange(x0, x1 + 1) + 0.5, np.arange(y0, y1 + 1) + 0.5)
            d = (y[1] - y[2]) * (x[0] - x[2]) + (x[2] - x[1]) * (y[0] - y[2])
            if d == 0:
                continue
            l0 = ((y[1] - y[2]) * (px - x[2]) + (x[2] - x[1]) * (py - y[2])) / d
            l1 = ((y[2] - y[0]) * (px - x[2]) + (x[0] - x[2]) * (py - y[2])) / d
            l2 = 1 - l0 - l1
            inside = (l0 >= -1e-6) & (l1 >= -1e-6) & (l2 >= -1e-6)
            zz = l0 * z[0] + l1 * z[1] + l2 * z[2]
            zb = zbuf[y0:y1 + 1, x0:x1 + 1]
            m = inside & (zz > zb)
            if not m.any():
                continue
            zb[m] = zz[m]
            ci = (l0 * c[0] + l1 * c[1] + l2 * c[2])[m]
            img[y0:y1 + 1, x0:x1 + 1][m] = ci[:, None] * col
    img = img.reshape(h, ss, w, ss, 3).mean((1, 3))
    return (np.clip(img, 0, 1) ** (1 / 1.1) * 255 + 0.5).astype(np.uint8)


def write_png(path, rgb):
    h, w, _ = rgb.shape
    raw = b"".join(b"\0" + rgb[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mesh")
    ap.add_argument("out")
    ap.add_argument("--size", default="800x600")
    ap.add_argument("--view", default="front", choices=("front", "top", "side"))
    ap.add_argument("--yaw", type=float, default=25)
    ap.add_argument("--pitch", type=float, default=20)
    a = ap.parse_args()
    w, h = (int(s) for s in a.size.split("x"))
    parts = read_stl(a.mesh) if a.mesh.endswith(".stl") else meshcheck.read_mesh(a.mesh)
    write_png(a.out, render(parts, w, h, rotation(a.view, a.yaw, a.pitch)))


if __name__ == "__main__":
    main()
