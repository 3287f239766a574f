#!/usr/bin/env python3
"""An upper bound for any detector on held-out m3-phantom studies: the matched filter that
knows each calcification's profile, in the quantum noise alone (no anatomy).

    /usr/bin/python3 tests/mammo/ideal.py --seeds 101-110

For every planted calcification its profile is drawn as m3-phantom draws it (the projected
thickness of an ellipsoid of the truth's diameter, averaged over 4x4 points a pixel, blurred
by the 3x3 binomial kernel, the pixel nearest the centre rising by the truth's contrast); its
matched-filter signal-to-noise ratio is snr * |profile| (the profile scaled to 1 at that
pixel).  Oval, irregular and linear shapes are approximated by one ellipse (their blobs are
random), which only changes calcifications that are found anyway.  The threshold is where the
matched filter of the smallest (0.1 mm) spot, on white noise of the breast's area, has that
many local maxima above it per image; one template for all is kinder than any real search
over sizes, so the bound is generous.  The sensitivity is the mean of Phi(snr_mf - T).
"""
import json
import math
import os
import sys

import numpy as np
from scipy import ndimage, special

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mlib  # noqa: E402
from train import seeds  # noqa: E402

ASPECT = {"punctate": 0.92, "round": 0.92, "oval": 0.57}  # others: 0.45


def profile(r, rv, fu, fv):
    """m3-phantom's drawn profile of an ellipsoid (radii r, rv pixels) at sub-pixel offset
    (fu, fv), scaled to 1 at the pixel nearest its centre."""
    R = int(math.ceil(r)) + 2
    P = 2 * R + 1
    q = (np.arange(16) & 3) * 0.25 - 0.375, (np.arange(16) >> 2) * 0.25 - 0.375
    i = np.arange(P) - R
    x = i[None, :, None] + q[0][None, None, :] - fu
    y = i[:, None, None] + q[1][None, None, :] - fv
    t = (x / r) ** 2 + (y / rv) ** 2
    a = np.where(t < 1, np.sqrt(np.clip(1 - t, 0, None)), 0).mean(axis=2)
    k = np.array([1.0, 2.0, 1.0])
    b = ndimage.convolve(a, np.outer(k, k) / 16, mode="constant")
    return b / b[R, R]


def main():
    ap = mlib.study_parser(__doc__)
    ap.add_argument("--breast-px", type=float, default=7.2e5,
                    help="breast pixels per image (default 720000, 60%% of 1200x1000)")
    a = ap.parse_args()
    sp = a.spacing
    rows = []
    for s in seeds(a.seeds):
        _, truth = mlib.phantom(s, a.size, sp, a.work)
        for c in json.load(open(truth))["calcifications"]:
            r = c["diameter_mm"] / 2 / sp
            b = profile(r, r * ASPECT.get(c["shape"], 0.45), c["x"] - round(c["x"]),
                        c["y"] - round(c["y"]))
            rows.append((c["snr"] * math.sqrt((b ** 2).sum()), c["shape"]))
    t = profile(0.05 / sp, 0.05 / sp * 0.92, 0, 0)
    t /= math.sqrt((t ** 2).sum())
    rng = np.random.default_rng(1)
    maxima, total = [], 0
    for _ in range(6):
        f = ndimage.correlate(rng.standard_normal((1000, 1200)), t, mode="reflect")
        maxima.append(f[f == ndimage.maximum_filter(f, 3)])
        total += f.size
    m = np.sort(np.concatenate(maxima))[::-1]
    d = np.array([r[0] for r in rows])
    print("ideal.py: %d calcifications, seeds %s; matched-filter SNR quartiles %s" %
          (len(d), a.seeds, " ".join("%.1f" % v for v in np.percentile(d, [25, 50, 75]))))
    for fp in (0.5, 1.0, 2.0):
        T = m[int(fp * total / a.breast_px)]
        by = " ".join("%s %.2f" % (sh, special.ndtr(np.array([r[0] for r in rows if r[1] == sh])
                                                   - T).mean())
                      for sh in sorted(set(r[1] for r in rows)))
        print("ideal.py: %.1f FP/image: threshold %.2f, sensitivity %.3f (%s)" %
              (fp, T, special.ndtr(d - T).mean(), by))


if __name__ == "__main__":
    main()
