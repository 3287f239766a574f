#!/usr/bin/env python3
"""The m3-mammo pipeline written with scikit-image, for the speed comparison in make bench.

    skpipe.py stream.nrrd out.png      # prints the seconds it took, stages on stderr

Same stages and scales as m3-mammo(1): Otsu mask on 0.5 mm blocks with the largest
component, difference of Gaussians (0.7 px and 0.3 mm), local noise over 3 mm, candidates over
2.5 x noise, connected components and region properties, a GLCM per candidate, the PNG
overlay (RGB, skimage.io).  The classifier (a few hundred tree walks) is left out.
"""
import sys
import time

import numpy as np
from scipy import ndimage as ndi
from skimage import filters, io, measure, morphology
from skimage.feature import graycomatrix, graycoprops


def read(path):
    d = open(path, "rb").read()
    e = d.index(b"\n\n") + 2
    hdr = d[:e].decode()
    w, h = [int(v) for v in [l for l in hdr.split("\n") if l.startswith("sizes")][0].split()[1:]]
    sp = 0.07
    for l in hdr.split("\n"):
        if l.startswith("space directions"):
            sp = float(l.split("(")[1].split(",")[0])
    return np.frombuffer(d[e:e + w * h * 2], "<u2").reshape(h, w).astype(np.float32), sp


def main():
    img, sp = read(sys.argv[1])
    t0 = time.time()
    f = max(1, int(round(0.5 / sp)))
    h, w = img.shape
    small = img[:h // f * f, :w // f * f].reshape(h // f, f, w // f, f).mean(axis=(1, 3))
    m = small > filters.threshold_otsu(small)
    lab = measure.label(m, connectivity=1)
    if lab.max() > 0:
        m = lab == (np.argmax(np.bincount(lab.ravel())[1:]) + 1)
    m = ndi.binary_fill_holes(m)
    m = morphology.binary_erosion(m, morphology.disk(max(1, int(1.5 / (sp * f)))))
    mask = np.kron(m, np.ones((f, f), bool))
    mask = np.pad(mask, ((0, h - mask.shape[0]), (0, w - mask.shape[1])))
    t1 = time.time()
    enh = filters.gaussian(img, 0.7, preserve_range=True) - \
        filters.gaussian(img, 0.3 / sp, preserve_range=True)
    noise = 1.2533 * ndi.uniform_filter(np.abs(enh), int(3.0 / sp))
    cand = (enh > 2.5 * noise) & mask
    t2 = time.time()
    lab = measure.label(cand, connectivity=2)
    props = measure.regionprops(lab, intensity_image=img)
    t3 = time.time()
    lo, hi = float(img.min()), float(img.max())
    feats = []
    hw = max(4, int(np.ceil(1.0 / sp)))
    for p in props:
        y, x = (int(v) for v in p.centroid)
        win = img[max(0, y - hw):y + hw + 1, max(0, x - hw):x + hw + 1]
        q = ((win - win.min()) / (np.ptp(win) + 1e-6) * 7.999).astype(np.uint8)
        g = graycomatrix(q, [1], [0, np.pi / 2], levels=8, symmetric=True, normed=True)
        feats.append((p.area, p.eccentricity, p.mean_intensity,
                      graycoprops(g, "contrast").mean(), graycoprops(g, "homogeneity").mean()))
    t4 = time.time()
    g8 = np.clip((img - lo) / (hi - lo) * 255, 0, 255).astype(np.uint8)
    rgb = np.dstack([g8, g8, g8])
    io.imsave(sys.argv[2], rgb, check_contrast=False, compress_level=2)
    t5 = time.time()
    print("skpipe: %d candidates; mask %.2f s, enhance %.2f s, label %.2f s, features %.2f s, "
          "png %.2f s" % (len(props), t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4),
          file=sys.stderr)
    print("%.3f" % (t5 - t0))


if __name__ == "__main__":
    main()
