#!/usr/bin/env python3
"""Trains m3-mammo's default classifier on m3-phantom studies and writes it out.

    /usr/bin/python3 tests/mammo/train.py            # the committed default, reproducibly

Candidates come from m3-mammo --features (every candidate with its feature vector); a candidate
is positive when it lies within a planted calcification's radius + 0.2 mm (truth.json).  The
model is scikit-learn's MLPClassifier (one hidden layer of 32 ReLU units, standardised
inputs, fixed random state), or with --kind logistic its LogisticRegression (C 10), or with
--kind trees its GradientBoostingClassifier (depth-3 trees), then a context stage fitted on
out-of-fold scores; exported as the C header src/m3-mammo/model_default.h and as the text
model format of m3-mammo(1) (--model).  Cross-validated by seed (5 folds): ROC AUC and the
sensitivity at 1 false positive per image among the candidates.  Seeds 31-50 are kept for
validation (choices such as the cluster support) and 101-110 for the held-out FROC
(tests/mammo/froc.py); the default training seeds avoid both.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mlib  # noqa: E402


CTX_MM, CTX_FLOOR = 5.0, 0.2  # the context stage: neighbours within 5 mm scoring >= 0.2


def seeds(s):
    """"1-30,51-100" -> [1, ..., 30, 51, ..., 100]."""
    out = []
    for part in s.split(","):
        a, _, b = part.partition("-")
        out += range(int(a), int(b or a) + 1)
    return out


def collect(seed_list, size, spacing, work):
    """Every candidate of the studies: features X, label y (1 a calcification, 0 not, -1 a
    second hit on one), seed, image number and position in mm; and the calcifications and
    images counted."""
    X, y, seed, img_no, xy, names, ncalc, nimg = [], [], [], [], [], None, 0, 0
    for s in seed_list:
        stream, truth = mlib.phantom(s, size, spacing, work)
        tr = mlib.load_truth(truth)
        for img in mlib.run_tool(stream, ["--features", "-t", "1", "-j", "2"]):
            ti = tr[(img["laterality"], img["view"])]
            sx, sy = img["spacing_mm"]
            names = img["feature_names"]
            cands = img["all_candidates"]
            # which hit on a calcification counts is decided by the peak SNR, not by the
            # model in use, so that training is reproducible
            pk = names.index("peak_snr")
            order = [dict(x=c["x"], y=c["y"], score=c["features"][pk]) for c in cands]
            for c, (hit, dup) in zip(cands, mlib.match(order, ti, sx, sy)):
                X.append(c["features"])
                y.append(-1 if dup else 1 if hit is not None else 0)
                seed.append(s)
                img_no.append(nimg)
                xy.append((c["x_mm"], c["y_mm"]))
            ncalc += len(ti["calcs"])
            nimg += 1
    return dict(X=np.array(X, dtype=np.float32), y=np.array(y), seed=np.array(seed),
                img=np.array(img_no), xy=np.array(xy).reshape(-1, 2), names=names,
                ncalc=ncalc, nimg=nimg)


def neighbours(score, img, xy, radius, floor):
    """The context count: other candidates of the same image within radius mm whose score
    reaches floor (m3-mammo's context stage)."""
    n = np.zeros(len(score))
    for i in np.unique(img):
        idx = np.nonzero(img == i)[0]
        p = xy[idx]
        d = np.hypot(p[:, None, 0] - p[None, :, 0], p[:, None, 1] - p[None, :, 1])
        n[idx] = ((d <= radius) & (score[idx][None, :] >= floor)).sum(1) - \
            (score[idx] >= floor)
    return n


def context_inputs(score, n):
    q = np.clip(score, 1e-6, 1 - 1e-6)
    return np.column_stack([np.log(q / (1 - q)), np.log1p(n)])


def sens_at_1fp(score, y, ncalc, nimg):
    o = np.argsort(-score)
    tp, fp = np.cumsum(y[o] == 1), np.cumsum(y[o] == 0)
    return tp[fp <= nimg].max() / max(ncalc, 1)


def oof(model, d, keep):
    """Out-of-fold scores of every candidate, 5 folds by seed (fit on the kept rows)."""
    sc = np.zeros(len(d["y"]))
    for k in range(5):
        te = d["seed"] % 5 == k
        model.fit(d["X"][~te & keep], d["y"][~te & keep])
        sc[te] = model.predict_proba(d["X"][te])[:, 1]
    return sc


def export_trees(gb, X):
    nodes, roots = [], []
    for est in gb.estimators_[:, 0]:
        t = est.tree_
        base = len(nodes)
        roots.append(base)
        for i in range(t.node_count):
            if t.children_left[i] < 0:
                nodes.append((-1, 0.0, 0, 0, float(t.value[i][0][0])))
            else:
                nodes.append((int(t.feature[i]), float(np.float32(t.threshold[i])),
                              base + int(t.children_left[i]), base + int(t.children_right[i]),
                              0.0))
    raw = gb.decision_function(X[:1])[0]
    tot = sum(est.predict(X[:1])[0] for est in gb.estimators_[:, 0])
    init = float(raw - gb.learning_rate * tot)
    return nodes, roots, init


def model_start(f, name, kind, names):
    """The text model's first lines (m3-mammo(1))."""
    f.write("m3-mammo-model 1\n# written by tests/mammo/train.py\n")
    f.write("name %s\nkind %s\nfeatures %d %s\n" % (name, kind, len(names), " ".join(names)))


def header_start(f, info, name, kind, bias, init, rate, ctx):
    """The C header's comment and scalar macros (bias, init, rate as C literals); ctx the
    context stage's five numbers, or None for none."""
    f.write("/* m3-mammo's default classifier, generated by tests/mammo/train.py: do not edit.\n"
            " * %s */\n" % info)
    f.write('#define MM_DEFAULT_NAME "%s"\n#define MM_DEFAULT_KIND %s\n' % (name, kind))
    f.write("#define MM_DEFAULT_BIAS %s\n#define MM_DEFAULT_INIT %s\n" % (bias, init))
    f.write("#define MM_DEFAULT_RATE %s\n" % rate)
    f.write("#define MM_DEFAULT_CTX %d\n" % (ctx is not None))
    for i, k in enumerate(("MM", "FLOOR", "A", "B", "C")):
        f.write("#define MM_DEFAULT_CTX_%s %s\n" % (k, "%.9ef" % ctx[i] if ctx else "0.0f"))


def write_logistic(path, header, names, lr, ctx, name, info):
    sc, m = lr.steps[0][1], lr.steps[1][1]
    fl = lambda v: " ".join("%.9g" % x for x in v)  # noqa: E731
    with open(path, "w") as f:
        model_start(f, name, "logistic", names)
        f.write("bias %.9g\nmean %s\nscale %s\nweights %s\n" %
                (m.intercept_[0], fl(sc.mean_), fl(sc.scale_), fl(m.coef_[0])))
        f.write("context %s\n" % fl(ctx))
    cl = lambda v: ", ".join("%.9ef" % x for x in v)  # noqa: E731
    with open(header, "w") as f:
        header_start(f, info, name, "MM_LOGISTIC", "%.9ef" % m.intercept_[0], "0.0f", "0.0f", ctx)
        f.write("static const float mm_default_mean[MM_NFEAT] = {%s};\n" % cl(sc.mean_))
        f.write("static const float mm_default_scale[MM_NFEAT] = {%s};\n" % cl(sc.scale_))
        f.write("static const float mm_default_w[MM_NFEAT] = {%s};\n" % cl(m.coef_[0]))
        f.write("static const struct mm_node mm_default_nodes[] = {{-1, 0.0f, 0, 0, 0.0f}};\n")
        f.write("static const int mm_default_roots[] = {0};\n")
        write_no_mlp(f)


def write_no_mlp(f):
    f.write("#define MM_DEFAULT_HIDDEN 0\n")
    for a in ("w1", "b1", "w2"):
        f.write("static const float mm_default_%s[] = {0.0f};\n" % a)


def write_mlp(path, header, names, mlp, ctx, name, info):
    """A one-hidden-layer ReLU MLPClassifier behind a StandardScaler, as the text model and
    the C header."""
    sc, m = mlp.steps[0][1], mlp.steps[1][1]
    w1, w2 = m.coefs_[0].T, m.coefs_[1][:, 0]  # w1: hidden x features
    b1, b2 = m.intercepts_[0], m.intercepts_[1][0]
    fl = lambda v: " ".join("%.9g" % x for x in v)  # noqa: E731
    with open(path, "w") as f:
        model_start(f, name, "mlp", names)
        f.write("mean %s\nscale %s\nhidden %d\n" % (fl(sc.mean_), fl(sc.scale_), len(b1)))
        for j in range(len(b1)):
            f.write("%s %s\n" % ("w1" if j == 0 else "  ", fl(w1[j])))
        f.write("b1 %s\nw2 %s\nbias %.9g\n" % (fl(b1), fl(w2), b2))
        f.write("context %s\n" % fl(ctx))
    cl = lambda v: ", ".join("%.9ef" % x for x in v)  # noqa: E731
    with open(header, "w") as f:
        header_start(f, info, name, "MM_MLP", "%.9ef" % b2, "0.0f", "0.0f", ctx)
        f.write("static const float mm_default_mean[MM_NFEAT] = {%s};\n" % cl(sc.mean_))
        f.write("static const float mm_default_scale[MM_NFEAT] = {%s};\n" % cl(sc.scale_))
        f.write("static const float mm_default_w[MM_NFEAT] = {0};\n")
        f.write("static const struct mm_node mm_default_nodes[] = {{-1, 0.0f, 0, 0, 0.0f}};\n")
        f.write("static const int mm_default_roots[] = {0};\n")
        f.write("#define MM_DEFAULT_HIDDEN %d\n" % len(b1))
        f.write("static const float mm_default_w1[MM_DEFAULT_HIDDEN * MM_NFEAT] = {\n")
        for j in range(len(b1)):
            f.write("\t%s,\n" % cl(w1[j]))
        f.write("};\n")
        f.write("static const float mm_default_b1[MM_DEFAULT_HIDDEN] = {%s};\n" % cl(b1))
        f.write("static const float mm_default_w2[MM_DEFAULT_HIDDEN] = {%s};\n" % cl(w2))


def write_model(path, names, nodes, roots, init, rate, name):
    with open(path, "w") as f:
        model_start(f, name, "trees", names)
        f.write("init %.9g\nrate %.9g\n" % (init, rate))
        f.write("trees %d %s\n" % (len(roots), " ".join(map(str, roots))))
        f.write("nodes %d\n" % len(nodes))
        for n in nodes:
            f.write("node %d %.9g %d %d %.9g\n" % n)


def write_header(path, names, nodes, roots, init, rate, name, info):
    with open(path, "w") as f:
        header_start(f, info, name, "MM_TREES", "0.0f", "%.9ef" % init, "%.9ef" % rate, None)
        z = ", ".join(["0"] * len(names))
        f.write("static const float mm_default_mean[MM_NFEAT] = {%s};\n" % z)
        one = ", ".join(["1"] * len(names))
        f.write("static const float mm_default_scale[MM_NFEAT] = {%s};\n" % one)
        f.write("static const float mm_default_w[MM_NFEAT] = {%s};\n" % z)
        f.write("static const struct mm_node mm_default_nodes[] = {\n")
        for n in nodes:
            f.write("\t{%d, %.9ef, %d, %d, %.9ef},\n" % n)
        f.write("};\nstatic const int mm_default_roots[] = {\n")
        for i in range(0, len(roots), 12):
            f.write("\t" + ", ".join(map(str, roots[i:i + 12])) + ",\n")
        f.write("};\n")
        write_no_mlp(f)


TRAIN_SEEDS = "1-30,51-100,111-230"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default=TRAIN_SEEDS,
                    help="training seeds (default %s)" % TRAIN_SEEDS)
    ap.add_argument("--size", default="1200x1000")
    ap.add_argument("--spacing", type=float, default=0.07)
    ap.add_argument("--work", default=os.path.join(mlib.TOP, "build", "mammo-train"))
    ap.add_argument("--header", default=os.path.join(mlib.TOP, "src", "m3-mammo",
                                                     "model_default.h"))
    ap.add_argument("--model", default=os.path.join(mlib.TOP, "tests", "mammo",
                                                    "default.model"))
    ap.add_argument("--kind", choices=("mlp", "logistic", "trees"), default="mlp")
    ap.add_argument("--hidden", type=int, default=32, help="MLP hidden units (default 32)")
    ap.add_argument("--trees", type=int, default=80)
    a = ap.parse_args()
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    d = collect(seeds(a.seeds), a.size, a.spacing, a.work)
    X, y, names, keep = d["X"], d["y"], d["names"], d["y"] >= 0
    print("train.py: %d candidates, %d positive, %d calcifications, seeds %s, %s at %g mm" %
          (keep.sum(), (y == 1).sum(), d["ncalc"], a.seeds, a.size, a.spacing))
    model = {
        "trees": lambda: GradientBoostingClassifier(n_estimators=a.trees, max_depth=3,
                                                    learning_rate=0.1, subsample=0.8,
                                                    random_state=0),
        "logistic": lambda: make_pipeline(StandardScaler(),
                                          LogisticRegression(C=10, max_iter=5000)),
        "mlp": lambda: make_pipeline(StandardScaler(), MLPClassifier(
            hidden_layer_sizes=(a.hidden,), alpha=1e-3, max_iter=500, early_stopping=True,
            random_state=0)),
    }[a.kind]
    # the context stage is fitted on out-of-fold first scores, as it will see new images
    first = oof(model(), d, keep)
    print("train.py: %s: by seed, 5-fold ROC AUC %.3f, sensitivity %.3f at 1 FP/image" %
          (a.kind, roc_auc_score(y[keep], first[keep]),
           sens_at_1fp(first, y, d["ncalc"], d["nimg"])))
    data = "m3-phantom seeds %s, %s at %g mm, %d candidates (%d positive)" % (
        a.seeds, a.size, a.spacing, keep.sum(), (y == 1).sum())
    m = model().fit(X[keep], y[keep])
    if a.kind == "trees":
        nodes, roots, init = export_trees(m, X[keep])
        info = "GradientBoostingClassifier(%d trees, depth 3, rate 0.1), " % a.trees + data
        write_model(a.model, names, nodes, roots, init, m.learning_rate, "phantom-gbt")
        write_header(a.header, names, nodes, roots, init, m.learning_rate, "phantom-gbt", info)
        print("train.py: wrote %s and %s" % (a.header, a.model))
        return
    n = neighbours(first, d["img"], d["xy"], CTX_MM, CTX_FLOOR)
    ci = context_inputs(first, n)
    cl = LogisticRegression(max_iter=2000)
    sc2 = np.zeros(len(y))
    for k in range(5):
        te = d["seed"] % 5 == k
        cl.fit(ci[~te & keep], y[~te & keep])
        sc2[te] = cl.predict_proba(ci[te])[:, 1]
    print("train.py: %s + context: by seed, sensitivity %.3f at 1 FP/image" %
          (a.kind, sens_at_1fp(sc2, y, d["ncalc"], d["nimg"])))
    cl.fit(ci[keep], y[keep])
    ctx = [CTX_MM, CTX_FLOOR, cl.coef_[0][0], cl.coef_[0][1], cl.intercept_[0]]
    if a.kind == "logistic":
        write_logistic(a.model, a.header, names, m, ctx, "phantom-logistic",
                       "LogisticRegression(C 10), standardised, and a context stage, " + data)
    else:
        write_mlp(a.model, a.header, names, m, ctx, "phantom-mlp",
                  "MLPClassifier(%d ReLU units, alpha 1e-3), standardised, and a context "
                  "stage, %s" % (a.hidden, data))
    print("train.py: wrote %s and %s" % (a.header, a.model))


if __name__ == "__main__":
    main()
