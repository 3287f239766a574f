#!/bin/sh
# m3-mammo: the CUDA path gives the CPU's results (candidates, positions within 0.01 px,
# scores within 1e-4) on phantom-like images.  TAP; skips with the reason where no GPU is.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
M="$TOP/bin/m3-mammo"
PY=python3
for p in /usr/bin/python3 python3; do
	if "$p" -c "import numpy" 2>/dev/null; then PY=$p; break; fi
done
echo "1..1"
if [ ! -x "$M" ]; then
	echo "ok 1 - CPU/CUDA parity # SKIP bin/m3-mammo is not built"
	exit 0
fi
why=$("$M" -v -d auto </dev/null 2>&1 | sed -n 's/.*device \([a-z]*\) (\(.*\)),.*/\1 \2/p')
case "$why" in
cuda*) ;;
*)
	echo "ok 1 - CPU/CUDA parity # SKIP no usable GPU (${why#cpu })"
	exit 0
	;;
esac
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
if [ -x "$TOP/bin/m3-phantom" ] && [ -x "$TOP/bin/m3-decode" ]; then
	"$TOP/bin/m3-phantom" mammo -q -s 77 --size 1600x1300 -o "$d/ph" &&
		"$TOP/bin/m3-decode" -q "$d/ph" >"$d/s.nrrd"
else
	$PY "$TOP/tests/mammo/synth.py" --seed 77 --size 1600x1300 -o "$d/s.nrrd"
fi
"$M" -d cpu -t 0 --features <"$d/s.nrrd" >"$d/cpu.json" &&
	"$M" -d cuda -t 0 --features <"$d/s.nrrd" >"$d/cuda.json" &&
	$PY - "$d/cpu.json" "$d/cuda.json" <<'PYEOF'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert len(a) == len(b)
for x, y in zip(a, b):
    assert y["device"] == "cuda", y["device"]
    assert x["candidates"] == y["candidates"], (x["candidates"], y["candidates"])
    for p, q in zip(x["all_candidates"], y["all_candidates"]):
        assert abs(p["x"] - q["x"]) <= 0.01 and abs(p["y"] - q["y"]) <= 0.01, (p, q)
        assert abs(p["score"] - q["score"]) <= 1e-4, (p, q)
    print("# image %d: %d candidates agree; cpu %.1f ms, cuda %.1f ms" % (
        x["image"], x["candidates"], x["timings_ms"]["total"], y["timings_ms"]["total"]))
PYEOF
rc=$?
if [ $rc -eq 0 ]; then echo "ok 1 - CPU/CUDA parity"; else echo "not ok 1 - CPU/CUDA parity"; fi
exit $rc
