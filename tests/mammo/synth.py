#!/usr/bin/env python3
"""Synthetic 2D mammograms with planted micro-calcifications, written as an m3 volume stream.

    synth.py --seed 7 --size 600x500 -n 4 -o study.nrrd --truth truth.json

Each image is one dimension-2 uint16 volume (axis 0 = column x, axis 1 = row y) with the keys
m3-decode writes for MG (m3-modality, m3-laterality, m3-view, m3-series, m3-window).  The picture:
a breast-shaped region with a thickness fall-off towards the skin line, fibroglandular texture
(1/f^3 noise), a pectoral muscle in MLO views, signal-dependent quantum noise, and planted
calcifications (clusters and isolated ones, irregular, blurred by the detector's PSF).  Distractors
that a detector must not report: benign round masses, vessel-like lines, hot pixels.  The truth
JSON follows m3-phantom's truth.json: every calcification with id, image, view, x, y (pixels; x =
column, y = row), x_mm, y_mm, diameter_mm, contrast and cluster id; the clusters; the distractors.
Everything comes from --seed, so the same seed gives the same bytes.
"""
import argparse
import json
import sys

import numpy as np

try:
    from scipy.ndimage import gaussian_filter
except ImportError:  # pragma: no cover - scipy comes with python3-sklearn
    gaussian_filter = None


def fractal(rng, h, w, beta, f0):
    """Zero-mean unit-variance noise with power ~ 1/(f0^2 + f^2)^(beta/2)."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f2 = fx * fx + fy * fy
    amp = (f0 * f0 + f2) ** (-beta / 4.0)
    amp[0, 0] = 0.0
    ph = rng.standard_normal((h, w // 2 + 1)) + 1j * rng.standard_normal((h, w // 2 + 1))
    n = np.fft.irfft2(amp * ph, s=(h, w))
    return (n / n.std()).astype(np.float32)


def blur(a, s):
    if gaussian_filter is not None:
        return gaussian_filter(a, s, mode="nearest")
    r = int(3 * s + 1)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / s) ** 2)
    k /= k.sum()
    a = np.apply_along_axis(lambda v: np.convolve(np.pad(v, r, mode="edge"), k, "valid"), 0, a)
    return np.apply_along_axis(lambda v: np.convolve(np.pad(v, r, mode="edge"), k, "valid"), 1, a)


def spot(diam_px, rng, psf):
    """An irregular calcification: one to three overlapping discs, blurred; peak about 1."""
    r = diam_px / 2.0
    half = int(np.ceil(r + 3 * psf + 2))
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float32)
    img = np.zeros_like(xx)
    lobes = rng.integers(1, 4)
    for i in range(lobes):
        rr = r if i == 0 else r * rng.uniform(0.5, 0.8)
        ox, oy = (0.0, 0.0) if i == 0 else rng.uniform(-0.6, 0.6, 2) * r
        d = np.sqrt((xx - ox) ** 2 + (yy - oy) ** 2)
        img = np.maximum(img, np.clip(rr + 0.5 - d, 0.0, 1.0))
    return blur(img, psf), half


def geometry(view, lat, h, w, rng):
    """Breast support (0..1 thickness), pectoral mask.  Chest wall at x=0 for R, x=w-1 for L."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if lat == "L":
        xx = (w - 1) - xx
    a = w * rng.uniform(0.72, 0.85)
    if view == "CC":
        cy, b = h * rng.uniform(0.47, 0.53), h * rng.uniform(0.40, 0.46)
    else:
        cy, b = h * rng.uniform(0.50, 0.58), h * rng.uniform(0.46, 0.52)
    rho = np.sqrt((xx / a) ** 2 + ((yy - cy) / b) ** 2)
    t = np.sqrt(np.clip(1.0 - rho * rho, 0.0, 1.0))
    pect = np.zeros((h, w), bool)
    if view == "MLO":
        px, py = w * rng.uniform(0.22, 0.32), h * rng.uniform(0.45, 0.6)
        pect = xx / px + yy / py < 1.0
    return t, pect, xx, yy


def make_image(rng, h, w, sp, lat, view, index, nclusters, nsingle, spots_out, dist_out):
    t, pect, xx, yy = geometry(view, lat, h, w, rng)
    inside = t > 0
    dense = fractal(rng, h, w, 3.0, sp / 15.0)  # structure of a few mm to cm
    fine = fractal(rng, h, w, 2.0, sp / 1.5)
    density = np.clip(0.45 + 0.22 * dense, 0, 1)
    thick = np.clip(t * 3.0, 0, 1) ** 0.6
    img = 150.0 + thick * (1300.0 + 900.0 * density + 60.0 * fine)
    img[pect & inside] += 650.0 + 120.0 * fine[pect & inside]
    img[~inside] = 150.0
    psf = 0.55
    ok = (t > 0.25) & ~pect
    ys, xs = np.nonzero(ok)

    def place(x, y, diam_mm, contrast, cluster):
        d_px = diam_mm / sp
        s, half = spot(d_px, rng, psf)
        xi, yi = int(round(x)), int(round(y))
        if yi - half < 0 or xi - half < 0 or yi + half >= h or xi + half >= w:
            return False
        if not ok[yi, xi]:
            return False
        sl = (slice(yi - half, yi + half + 1), slice(xi - half, xi + half + 1))
        img[sl] += contrast * img[yi, xi] * s
        spots_out.append({"image": index, "laterality": lat, "view": view, "x": xi, "y": yi,
                          "x_mm": round(xi * sp, 3), "y_mm": round(yi * sp, 3),
                          "diameter_mm": round(diam_mm, 3), "contrast": round(contrast, 4),
                          "cluster": cluster})
        return True

    clusters = []
    for _ in range(nclusters):
        for _try in range(50):
            k = rng.integers(len(xs))
            cx, cy = float(xs[k]), float(ys[k])
            if ok[int(cy), int(cx)] and t[int(cy), int(cx)] > 0.4:
                break
        cid = len(clusters) + 1
        members = 0
        radius = rng.uniform(2.0, 4.5) / sp
        for _j in range(rng.integers(5, 11)):
            ang, rad = rng.uniform(0, 2 * np.pi), radius * np.sqrt(rng.uniform())
            members += place(cx + rad * np.cos(ang), cy + rad * np.sin(ang),
                             rng.uniform(0.16, 0.55), rng.uniform(0.06, 0.16), cid)
        if members >= 3:
            clusters.append({"id": cid, "image": index, "x": round(cx), "y": round(cy),
                             "x_mm": round(cx * sp, 3), "y_mm": round(cy * sp, 3),
                             "radius_mm": round(radius * sp, 3)})
        else:  # too few landed: the few that did become isolated ones
            for s in spots_out:
                if s["image"] == index and s["cluster"] == cid:
                    s["cluster"] = None
    for _ in range(nsingle):
        k = rng.integers(len(xs))
        place(float(xs[k]), float(ys[k]), rng.uniform(0.2, 0.6), rng.uniform(0.07, 0.16), None)

    # distractors: benign masses, vessels, hot pixels
    for _ in range(rng.integers(1, 4)):
        k = rng.integers(len(xs))
        s = rng.uniform(1.0, 2.5) / sp
        half = int(3 * s)
        x0, y0 = int(xs[k]), int(ys[k])
        y1, y2, x1, x2 = max(0, y0 - half), min(h, y0 + half), max(0, x0 - half), min(w, x0 + half)
        g = np.exp(-((xx[y1:y2, x1:x2] * 0 + np.arange(x1, x2) - x0) ** 2 +
                     (np.arange(y1, y2)[:, None] - y0) ** 2) / (2 * s * s))
        img[y1:y2, x1:x2] += rng.uniform(0.08, 0.18) * img[y0, x0] * g
        dist_out.append({"image": index, "kind": "mass", "x": x0, "y": y0})
    for _ in range(rng.integers(1, 4)):
        k = rng.integers(len(xs))
        x0, y0 = float(xs[k]), float(ys[k])
        ang = rng.uniform(0, np.pi)
        width = rng.uniform(0.25, 0.6) / sp
        length = rng.uniform(15, 40) / sp
        curv = rng.uniform(-0.01, 0.01) * sp
        line = np.zeros((h, w), np.float32)
        for u in np.arange(-length / 2, length / 2, 0.5):
            a2 = ang + curv * u
            x, y = int(x0 + u * np.cos(a2)), int(y0 + u * np.sin(a2))
            if 0 <= x < w and 0 <= y < h:
                line[y, x] = 1.0
        line = blur(line, width / 2.0)
        if line.max() > 0:
            img += rng.uniform(0.05, 0.1) * 1600.0 * line / line.max() * inside
        dist_out.append({"image": index, "kind": "vessel", "x": int(x0), "y": int(y0)})
    sigma = 0.011 * img + 6.0
    img += sigma * rng.standard_normal((h, w)).astype(np.float32)
    for _ in range(rng.integers(2, 6)):
        k = rng.integers(len(xs))
        img[ys[k], xs[k]] += rng.uniform(4, 8) * sigma[ys[k], xs[k]]
        dist_out.append({"image": index, "kind": "hot-pixel", "x": int(xs[k]), "y": int(ys[k])})
    return np.clip(img, 0, 4095).astype("<u2"), clusters


def header(w, h, sp, lat, view, series):
    return ("NRRD0004\n# m3 volume stream\ntype: uint16\ndimension: 2\n"
            "space: left-posterior-superior\n"
            f"sizes: {w} {h}\nspace directions: ({sp:g},0,0) (0,{sp:g},0)\n"
            "space origin: (0,0,0)\nkinds: domain domain\nendian: little\nencoding: raw\n"
            "m3-modality:=MG\n"
            f"m3-laterality:={lat}\nm3-view:={view}\nm3-series:={series}\n"
            "m3-window:=2048/4096\nm3-photometric:=MONOCHROME2\n\n").encode()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--size", default="600x500", help="WxH in pixels")
    ap.add_argument("--spacing", type=float, default=0.1, help="pixel spacing, mm")
    ap.add_argument("-n", type=int, default=4, help="images (views L-CC, L-MLO, R-CC, R-MLO, ...)")
    ap.add_argument("--clusters", type=float, default=1.0, help="mean clusters per image")
    ap.add_argument("-o", default="-", help="stream output (default stdout)")
    ap.add_argument("--truth", help="truth JSON output")
    a = ap.parse_args()
    w, h = (int(v) for v in a.size.lower().split("x"))
    rng = np.random.default_rng(a.seed)
    views = [("L", "CC"), ("L", "MLO"), ("R", "CC"), ("R", "MLO")]
    out = sys.stdout.buffer if a.o == "-" else open(a.o, "wb")
    spots, dists, clusters, images = [], [], [], []
    for i in range(a.n):
        lat, view = views[i % 4]
        series = f"2.25.{a.seed}{i + 1:03d}"
        img, cl = make_image(rng, h, w, a.spacing, lat, view, i + 1, rng.poisson(a.clusters),
                             rng.integers(0, 3), spots, dists)
        clusters += cl
        images.append({"index": i + 1, "laterality": lat, "view": view, "series": series,
                       "width": w, "height": h, "spacing_mm": a.spacing})
        out.write(header(w, h, a.spacing, lat, view, series))
        out.write(img.tobytes())
    out.flush()
    for k, s in enumerate(spots):
        s["id"] = k + 1
    for c in clusters:
        c["members"] = [s["id"] for s in spots
                        if s["image"] == c["image"] and s["cluster"] == c["id"]]
    # cluster ids unique over the study
    remap = {(c["image"], c["id"]): k + 1 for k, c in enumerate(clusters)}
    for c in clusters:
        c["id"] = remap[(c["image"], c["id"])]
    for s in spots:
        if s["cluster"] is not None:
            s["cluster"] = remap[(s["image"], s["cluster"])]
    if a.truth:
        with open(a.truth, "w") as f:
            json.dump({"generator": "tests/mammo/synth.py", "seed": a.seed, "images": images,
                       "calcifications": spots, "clusters": clusters, "distractors": dists}, f,
                      indent=1)


if __name__ == "__main__":
    main()
