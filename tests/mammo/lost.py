#!/usr/bin/env python3
"""Where m3-mammo loses calcifications on held-out m3-phantom studies: for every planted
calcification, whether it is a candidate at all and its best score, by SNR and size; and what
the false positives above a threshold lie on (distractors by kind, or plain tissue).

    /usr/bin/python3 tests/mammo/lost.py --seeds 101-110 -t 0.5
"""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mlib  # noqa: E402
from train import seeds  # noqa: E402


def main():
    ap = mlib.study_parser(__doc__)
    ap.add_argument("--model")
    ap.add_argument("-t", type=float, default=0.5, help="threshold for the FP breakdown")
    a = ap.parse_args()
    args = ["--features", "-t", "1"] + (["-M", a.model] if a.model else [])
    import json
    rows, fps, nimg, ncand = [], {}, 0, 0
    for s in seeds(a.seeds):
        stream, truth = mlib.phantom(s, a.size, a.spacing, a.work)
        tr = mlib.load_truth(truth)
        dist = json.load(open(truth))["distractors"]
        for img in mlib.run_tool(stream, args):
            nimg += 1
            key = (img["laterality"], img["view"])
            ti = tr[key]
            sx, sy = img["spacing_mm"]
            cands = img["all_candidates"]
            ncand += len(cands)
            for c in ti["calcs"]:
                best, n = -1.0, 0
                for d in cands:
                    if math.hypot((d["x"] - c["x"]) * sx, (d["y"] - c["y"]) * sy) <= \
                            c["diameter_mm"] / 2 + mlib.TOL_MM:
                        n += 1
                        best = max(best, d["score"])
                rows.append((c["snr"], c["diameter_mm"], c["shape"], best, n))
            m = mlib.match([d for d in cands], ti, sx, sy)
            dv = [d for d in dist if (d["laterality"], d["view"]) == key]
            for d, (h, dup) in zip(cands, m):
                if h is not None or dup or d["score"] < a.t:
                    continue
                kind = "tissue"
                for q in dv:
                    r = max(q["size_mm"] / 2, 0.3) + 0.3
                    if math.hypot((d["x"] - q["x"]) * sx, (d["y"] - q["y"]) * sy) <= r:
                        kind = q["kind"]
                fps[kind] = fps.get(kind, 0) + 1
    print("lost.py: %d calcifications, %d images, %.0f candidates per image; %.3f of the "
          "calcifications are candidates, %.3f score >= %.2f" %
          (len(rows), nimg, ncand / max(nimg, 1), sum(r[4] > 0 for r in rows) / len(rows),
           sum(r[3] >= a.t for r in rows) / len(rows), a.t))
    print("snr-bin   n  candidate  score>=%.2f" % a.t)
    for lo, hi in ((0, 2.5), (2.5, 3), (3, 3.5), (3.5, 4), (4, 5), (5, 6), (6, 8), (8, 99)):
        g = [r for r in rows if lo <= r[0] < hi]
        if g:
            print("%4.1f-%-4g %3d  %9.2f  %9.2f" % (lo, hi, len(g),
                  sum(r[4] > 0 for r in g) / len(g), sum(r[3] >= a.t for r in g) / len(g)))
    print("diam-bin  n  candidate  score>=%.2f" % a.t)
    for lo, hi in ((0, 0.15), (0.15, 0.25), (0.25, 0.4), (0.4, 0.6), (0.6, 2)):
        g = [r for r in rows if lo <= r[1] < hi]
        if g:
            print("%4.2f-%-4g %3d  %9.2f  %9.2f" % (lo, hi, len(g),
                  sum(r[4] > 0 for r in g) / len(g), sum(r[3] >= a.t for r in g) / len(g)))
    print("shape        n  candidate  score>=%.2f" % a.t)
    for sh in sorted(set(r[2] for r in rows)):
        g = [r for r in rows if r[2] == sh]
        print("%-10s %3d  %9.2f  %9.2f" % (sh, len(g), sum(r[4] > 0 for r in g) / len(g),
                                          sum(r[3] >= a.t for r in g) / len(g)))
    print("false positives at score >= %.2f: %s (%.2f per image)" %
          (a.t, fps, sum(fps.values()) / max(nimg, 1)))


if __name__ == "__main__":
    main()
