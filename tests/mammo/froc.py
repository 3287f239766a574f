#!/usr/bin/env python3
"""FROC of m3-mammo on held-out m3-phantom studies (seeds never used in training).

    /usr/bin/python3 tests/mammo/froc.py --seeds 101-110 --plot froc.png
    froc.py --seeds 201-202 --size 600x500 --min-sens 0.2     # a quick bar, for the tests

Every candidate is scored once (m3-mammo --features -t 1); the score threshold is then swept,
and at each point the calcifications are matched to truth.json (within the radius + 0.2 mm),
and clusters re-formed with m3-mammo's rule (with its support score, --support, as -c).  Prints one line per point and the sensitivities
at the goals (1 FP per image; 0.25 false clusters per image); with --min-sens, exits 1 when
the calcification sensitivity at 1 FP/image is below it (--min-cluster-sens: the cluster
sensitivity at 0.25 false clusters/image).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mlib  # noqa: E402
from train import seeds  # noqa: E402


def plot(rows, path, title):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("froc.py: no matplotlib (python3-matplotlib); no plot")
        return
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    ax[0].plot([r[2] for r in rows], [r[1] for r in rows], "o-", ms=3)
    ax[0].axvline(1.0, ls=":", c="gray")
    ax[0].axhline(0.9, ls=":", c="gray")
    ax[0].set(xlabel="false positives per image", ylabel="calcification sensitivity",
              ylim=(0, 1.02), title="calcifications")
    ax[0].set_xscale("symlog", linthresh=1.0)
    ax[0].set_xlim(left=0)
    ax[1].plot([r[4] for r in rows], [r[3] for r in rows], "o-", ms=3, c="C1")
    ax[1].axvline(0.25, ls=":", c="gray")
    ax[1].axhline(0.95, ls=":", c="gray")
    ax[1].set(xlabel="false clusters per image", ylabel="cluster sensitivity",
              ylim=(0, 1.02), title="clusters")
    ax[1].set_xscale("symlog", linthresh=0.25)
    ax[1].set_xlim(left=0)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    print("froc.py: plot in %s" % path)


def main():
    ap = mlib.study_parser(__doc__)
    ap.add_argument("--model", help="a model file instead of the built-in one")
    ap.add_argument("--plot", help="PNG of the two FROC curves")
    ap.add_argument("--support", type=float, default=0.01,
                    help="m3-mammo -c: score from which a candidate may complete a cluster "
                    "(default 0.01, m3-mammo's; 1 for the plain rule)")
    ap.add_argument("--min-sens", type=float, help="bar for the sensitivity at 1 FP/image")
    ap.add_argument("--min-cluster-sens", type=float,
                    help="bar for the cluster sensitivity at 0.25 false clusters/image")
    ap.add_argument("--min-snr", type=float,
                    help="count only calcifications of truth snr >= this (contrast over the "
                    "quantum noise); detections on fainter ones are ignored")
    a = ap.parse_args()
    args = ["--features", "-t", "1"] + (["-M", a.model] if a.model else [])
    results = []
    for s in seeds(a.seeds):
        stream, truth = mlib.phantom(s, a.size, a.spacing, a.work)
        results.append((mlib.run_tool(stream, args), mlib.load_truth(truth)))
    ths = [1.0, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5, 0.45, 0.4, 0.35, 0.3,
           0.25, 0.2, 0.15, 0.12, 0.1, 0.08, 0.07, 0.06, 0.05, 0.04, 0.03, 0.02, 0.01, 0.005,
           0.0]
    rows = mlib.evaluate(results, None, ths, min_snr=a.min_snr, support=a.support)
    nimg = sum(len(f) for f, _ in results)
    print("froc.py: seeds %s, %d images, %s at %g mm, cluster support %g%s" % (
        a.seeds, nimg, a.size, a.spacing, a.support,
        "" if a.min_snr is None else ", calcifications of snr >= %g only" % a.min_snr))
    print("threshold  calc-sens  FP/image  cluster-sens  false-clusters/image")
    for r in rows:
        print("%9.3f  %9.3f  %8.2f  %12.3f  %20.2f" % r)
    s1 = mlib.at_fp(rows, 1, 1.0)
    s2 = mlib.at_fp(rows, 3, 0.25)
    print("froc.py: calcification sensitivity %.3f at <= 1 FP/image (goal 0.90)" % s1)
    print("froc.py: cluster sensitivity %.3f at <= 0.25 false clusters/image (goal 0.95)" % s2)
    if a.plot:
        plot(rows, a.plot, "m3-mammo FROC, m3-phantom seeds %s (%d images)" % (a.seeds, nimg))
    rc = 0
    if a.min_sens is not None and s1 < a.min_sens:
        print("froc.py: calcifications below the bar %.2f" % a.min_sens)
        rc = 1
    if a.min_cluster_sens is not None and s2 < a.min_cluster_sens:
        print("froc.py: clusters below the bar %.2f" % a.min_cluster_sens)
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
