"""Checks m3-phantom mammo truth.json against the pixels of its DICOM files.

usage: check_mammo.py DIR MODE
  MODE exact: noise-free images; 90% of the calcifications rise by their contrast within
    10% + 3 + the roughness of the background around them, and all within 15% + 3 + twice it
  MODE noisy: with quantum noise; the mean ratio of measured to stated contrast is 0.8-1.2
  MODE shifted: measured 20 px beside each calcification, the mean ratio is below 0.3
Prints one line per failure and exits 1 when any check fails.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dcm  # noqa: E402


def measure(img, x, y, diam_px, others=()):
    """The centre pixel over the local background, and how rough that background is.

    The background is a quadratic surface fitted to an annulus just outside the object,
    without the pixels of other objects (x, y, radius in px), evaluated at the centre;
    roughness is the RMS of the fit's residuals.
    """
    r, c = int(round(y)), int(round(x))
    r1 = diam_px / 2 + 3
    r2 = r1 + 5
    n = int(r2) + 1
    yy, xx = np.mgrid[-n:n + 1, -n:n + 1]
    d = np.hypot(yy, xx)
    ring = (d >= r1) & (d <= r2) & (yy + r >= 0) & (yy + r < img.shape[0]) \
        & (xx + c >= 0) & (xx + c < img.shape[1])
    for ox, oy, orad in others:
        if (ox, oy) != (x, y):
            ring &= np.hypot(yy + r - oy, xx + c - ox) > orad + 3
    ys, xs = yy[ring].astype(float), xx[ring].astype(float)
    vals = img[yy[ring] + r, xx[ring] + c]
    a = np.stack([np.ones_like(xs), xs, ys, xs * xs, xs * ys, ys * ys], axis=1)
    coef, _, _, _ = np.linalg.lstsq(a, vals, rcond=None)
    rms = float(np.sqrt(np.mean((a @ coef - vals) ** 2)))
    return float(img[r, c]) - coef[0], rms


def main():
    d, mode = sys.argv[1], sys.argv[2]
    t = json.load(open(os.path.join(d, "truth.json")))
    views = {v["file"]: v for v in t["views"]}
    imgs = {f: dcm.pixels(os.path.join(d, f)).astype(np.float64) for f in views}
    objects = {f: [] for f in views}
    for o in t["calcifications"] + t["distractors"]:
        size = o["diameter_mm"] if "diameter_mm" in o else o["size_mm"]
        if o.get("kind") == "skin-fold":
            size = 3.0  # a line: keep its middle out; the rest is kept away by placement
        objects[o["file"]].append((o["x"], o["y"], size / 2 / views[o["file"]]["pixel_spacing_mm"]))
    bad = 0
    close = 0
    ratios = []
    for c in t["calcifications"]:
        v = views[c["file"]]
        img = imgs[c["file"]]
        if img.shape != (v["rows"], v["columns"]):
            print("%s: shape %s, truth says %dx%d" % (c["file"], img.shape, v["columns"], v["rows"]))
            return 1
        sp = v["pixel_spacing_mm"]
        if abs(c["x_mm"] - c["x"] * sp) > 1e-3 or abs(c["y_mm"] - c["y"] * sp) > 1e-3:
            print("calcification %d: mm and pixel positions disagree" % c["id"])
            bad += 1
        x = c["x"]
        if mode == "shifted":
            x += 20 if x < v["columns"] / 2 else -20
        m, rms = measure(img, x, c["y"], c["diameter_mm"] / sp, objects[c["file"]])
        ratios.append(m / c["contrast"])
        err = abs(m - c["contrast"])
        close += err <= 0.1 * c["contrast"] + 3 + rms
        if mode == "exact" and err > 0.15 * c["contrast"] + 3 + 2 * rms:
            print("calcification %d in %s at %.2f,%.2f: rises %.1f, truth says %.1f (rms %.1f)"
                  % (c["id"], c["file"], c["x"], c["y"], m, c["contrast"], rms))
            bad += 1
    if not ratios:
        print("no calcifications in the truth")
        return 1
    mean = float(np.mean(ratios))
    if mode == "exact" and close < 0.9 * len(ratios):
        print("only %d of %d calcifications within 10%% + 3 + rms of their contrast"
              % (close, len(ratios)))
        bad += 1
    if mode == "noisy" and not 0.8 <= mean <= 1.2:
        print("mean measured/stated contrast %.3f over %d calcifications" % (mean, len(ratios)))
        bad += 1
    if mode == "shifted" and mean >= 0.3:
        print("20 px beside the calcifications the mean ratio is %.3f" % mean)
        bad += 1
    for k in t["clusters"]:
        members = [c for c in t["calcifications"] if c["cluster"] == k["id"]]
        if len(members) != k["count"] or not 3 <= k["count"] <= 20:
            print("cluster %d: %d members, count %d" % (k["id"], len(members), k["count"]))
            bad += 1
        for c in members:
            if c["file"] != k["file"] or np.hypot(c["x_mm"] - k["x_mm"], c["y_mm"] - k["y_mm"]) > k["radius_mm"] + 1e-6:
                print("cluster %d: member %d outside it" % (k["id"], c["id"]))
                bad += 1
        if np.pi * k["radius_mm"] ** 2 > 100.0:
            print("cluster %d: larger than 1 cm^2" % k["id"])
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
