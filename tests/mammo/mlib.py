"""Shared helpers of the m3-mammo scripts: make phantom studies, run the tool, match its
findings to the truth (a detection counts when it lies within the calcification's radius +
0.2 mm), FROC points, and the cluster rule of m3-mammo(1) re-run in Python for the sweep."""
import json
import math
import os
import subprocess

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(TOP, "bin")
TOL_MM = 0.2


def phantom(seed, size, spacing, outdir, noise=None):
    """A phantom study (4 views) and its m3 stream; returns (stream path, truth path)."""
    d = os.path.join(outdir, "seed%d-%s" % (seed, size))
    stream = d + ".nrrd"
    if not os.path.exists(stream):
        cmd = [os.path.join(BIN, "m3-phantom"), "mammo", "-q", "-s", str(seed), "--size", size,
               "--spacing", str(spacing), "-o", d]
        if noise is not None:
            cmd += ["--noise", str(noise)]
        subprocess.run(["rm", "-rf", d], check=True)
        os.makedirs(outdir, exist_ok=True)
        subprocess.run(cmd, check=True)
        with open(stream + ".tmp", "wb") as f:
            subprocess.run([os.path.join(BIN, "m3-decode"), "-q", d], stdout=f, check=True)
        os.rename(stream + ".tmp", stream)
    return stream, os.path.join(d, "truth.json")


def study_parser(doc, seeds="101-110", work="mammo-froc"):
    """The argument parser of the scripts that run m3-mammo over phantom studies: --seeds,
    --size, --spacing and --work (a folder under build/ by default); the caller adds its own."""
    import argparse
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--seeds", default=seeds)
    ap.add_argument("--size", default="1200x1000")
    ap.add_argument("--spacing", type=float, default=0.07)
    ap.add_argument("--work", default=os.path.join(TOP, "build", work))
    return ap


def run_tool(stream, args=(), env=None):
    """m3-mammo on a stream; returns the list of per-image JSON objects."""
    with open(stream, "rb") as f:
        p = subprocess.run([os.path.join(BIN, "m3-mammo")] + list(args), stdin=f,
                           stdout=subprocess.PIPE, check=True, env=env)
    return [json.loads(l) for l in p.stdout.decode().splitlines() if l.strip()]


def load_truth(path):
    """{(laterality, view): {"calcs": [...], "clusters": [...], "spacing": mm}}."""
    t = json.load(open(path))
    out = {}
    for v in t.get("views", t.get("images", [])):
        key = (v["laterality"], v["view"])
        sp = v.get("pixel_spacing_mm", v.get("spacing_mm"))
        out[key] = {"calcs": [], "clusters": [], "spacing": sp}
    for c in t["calcifications"]:
        out[(c["laterality"], c["view"])]["calcs"].append(c)
    for c in t["clusters"]:
        lat_view = (c.get("laterality"), c.get("view"))
        if lat_view[0] is None:  # synth.py: clusters name the image index
            img = [v for v in t["images"] if v["index"] == c["image"]][0]
            lat_view = (img["laterality"], img["view"])
        out[lat_view]["clusters"].append(c)
    return out


def match(dets, truth_img, sx, sy):
    """Labels detections (dicts with x, y, score): for each, the truth id it hits or None.
    A truth calcification is hit once; further hits on it are duplicates (None, dup=True)."""
    calcs = truth_img["calcs"]
    order = sorted(range(len(dets)), key=lambda i: -dets[i]["score"])
    taken = set()
    res = [(None, False)] * len(dets)
    for i in order:
        d = dets[i]
        best, bd = None, 1e9
        for c in calcs:
            dist = math.hypot((d["x"] - c["x"]) * sx, (d["y"] - c["y"]) * sy)
            if dist <= c["diameter_mm"] / 2 + TOL_MM and dist < bd:
                best, bd = c, dist
        if best is None:
            res[i] = (None, False)
        elif best["id"] in taken:
            res[i] = (None, True)
        else:
            taken.add(best["id"])
            res[i] = (best["id"], False)
    return res


def clusters(points, sx, sy, count=3, area=100.0, sure=None):
    """m3-mammo's cluster rule (DBSCAN with support, eps = radius of a circle of the area);
    points are (x, y) in falling score order, sure[i] whether point i scores >= -t (the
    others score >= the support score, -c); returns a cluster number (1-based) or 0 per
    point.  A sure point is a core with >= count points within eps, >= min(count, 2) of them
    sure; cores within eps join, sure points within eps of a core are members; a cluster of
    fewer than count sure members takes the best support points within eps of its cores
    until it has count."""
    eps2 = area / math.pi
    n = len(points)
    sure = [True] * n if sure is None else sure
    need = min(count, 2)

    def near(a, b):
        dx = (points[a][0] - points[b][0]) * sx
        dy = (points[a][1] - points[b][1]) * sy
        return dx * dx + dy * dy <= eps2
    nb = [[j for j in range(n) if j != i and near(i, j)] if sure[i] else [] for i in range(n)]
    core = [sure[i] and len(nb[i]) + 1 >= count and sum(sure[j] for j in nb[i]) + 1 >= need
            for i in range(n)]
    lab = [0] * n
    nc = 0
    for i in range(n):
        if not core[i] or lab[i]:
            continue
        nc += 1
        lab[i] = nc
        stack, cores, m = [i], [i], 1
        while stack:
            a = stack.pop()
            for j in nb[a]:
                if sure[j] and not lab[j]:
                    lab[j] = nc
                    m += 1
                    if core[j]:
                        stack.append(j)
                        cores.append(j)
        for j in range(n):
            if m >= count:
                break
            if not sure[j] and not lab[j] and any(near(c, j) for c in cores):
                lab[j] = nc
                m += 1
    return lab


def cluster_hits(members, truth_img, hit_ids, sx, sy):
    """The truth cluster a detected cluster finds (>= 2 of its members are that cluster's
    calcifications, or its centre lies within that cluster's radius), else None."""
    cx = sum(m["x"] for m in members) / len(members)
    cy = sum(m["y"] for m in members) / len(members)
    calc_cluster = {c["id"]: c.get("cluster") for c in truth_img["calcs"]}
    for tc in truth_img["clusters"]:
        n = sum(1 for h in hit_ids if h is not None and calc_cluster.get(h) == tc["id"])
        r = tc.get("radius_mm", 5.0)
        if n >= 2 or math.hypot((cx - tc["x"]) * sx, (cy - tc["y"]) * sy) <= r:
            return tc["id"]
    return None


def evaluate(results, truth, thresholds, count=3, area=100.0, min_snr=None, support=0.01):
    """FROC points over the images of several studies.  results: [(findings, truth)] where
    findings come from m3-mammo --features -t 1 (every candidate scored).  Returns rows of
    (threshold, calc sensitivity, FP per image, cluster sensitivity, false clusters/image);
    the calcifications are those m3-mammo -t threshold -c support reports (support taken into
    a cluster included).
    With min_snr, calcifications whose truth snr is below it are left out of the
    sensitivity, and a detection on one is neither a hit nor a false positive."""
    rows = []
    faint = set()
    if min_snr is not None:
        for _, tr in results:
            for ti in tr.values():
                faint |= {id(c) for c in ti["calcs"] if c.get("snr", 1e9) < min_snr}
    for t in thresholds:
        tp = ncalc = fp = nimg = ctp = nclus = cfp = 0
        for findings, tr in results:
            for img in findings:
                key = (img["laterality"], img["view"])
                ti = tr[key]
                sx, sy = img["spacing_mm"]
                pts = sorted((c for c in img["all_candidates"]
                              if c["score"] >= min(t, support) and c["diameter_mm"] >= 0.1),
                             key=lambda c: -c["score"])
                lab = clusters([(d["x"], d["y"]) for d in pts], sx, sy, count, area,
                               [d["score"] >= t for d in pts])
                dets = [d for d, k in zip(pts, lab) if d["score"] >= t or k]
                lab = [k for d, k in zip(pts, lab) if d["score"] >= t or k]
                m = match(dets, ti, sx, sy)
                nimg += 1
                skip = {c["id"] for c in ti["calcs"] if id(c) in faint}
                ncalc += len(ti["calcs"]) - len(skip)
                tp += sum(1 for h, dup in m if h is not None and h not in skip)
                fp += sum(1 for h, dup in m if h is None and not dup)
                found = set()
                for k in range(1, max(lab + [0]) + 1):
                    mem = [i for i in range(len(dets)) if lab[i] == k]
                    hit = cluster_hits([dets[i] for i in mem], ti, [m[i][0] for i in mem],
                                       sx, sy)
                    if hit is None:
                        cfp += 1
                    else:
                        found.add(hit)
                ctp += len(found)
                nclus += len(ti["clusters"])
        rows.append((t, tp / max(ncalc, 1), fp / max(nimg, 1), ctp / max(nclus, 1),
                     cfp / max(nimg, 1)))
    return rows


def at_fp(rows, col, limit):
    """Best sensitivity (column 1 or 3) among the points whose FP column (2 or 4) <= limit."""
    best = 0.0
    for r in rows:
        if r[col + 1] <= limit:
            best = max(best, r[col])
    return best

