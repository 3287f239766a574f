#!/bin/sh
# m3-mammo: FROC on held-out m3-phantom seeds (goals: calcification sensitivity >= 0.90 at
# <= 1 FP/image, cluster sensitivity >= 0.95 at <= 0.25 false clusters/image; curve points
# printed, plot saved), and the speed of a 3328x4096 image through the whole tool with its PNG
# at 2 threads (goal <= 1.0 s) next to the same pipeline in scikit-image (ratio printed).
set -u
cd "$(dirname "$0")/.."
B="${BENCH_DIR:-$PWD/build/bench}/mammo"
mkdir -p "$B"
PY=python3
for p in /usr/bin/python3 python3; do
	if "$p" -c "import numpy" 2>/dev/null; then PY=$p; break; fi
done
if [ ! -x bin/m3-phantom ] || [ ! -x bin/m3-decode ]; then
	echo "mammo: skipped: m3-phantom and m3-decode are needed"
	exit 0
fi

echo "-- FROC, held-out seeds 101-110 (never used in training), 1200x1000 at 0.07 mm"
$PY tests/mammo/froc.py --seeds 101-110 --work "$B/froc" --plot "$B/mammo-froc.png"
echo "-- the same, counting only calcifications of contrast >= 3 x the quantum noise"
$PY tests/mammo/froc.py --seeds 101-110 --work "$B/froc" --min-snr 3 | tail -n 2
echo "-- the bound: a matched filter knowing each profile, in the quantum noise alone"
$PY tests/mammo/ideal.py --seeds 101-110 --work "$B/froc"

echo "-- speed: one 3328x4096 image (0.07 mm), whole tool including the PNG, 2 threads"
if [ ! -s "$B/big.nrrd" ]; then
	bin/m3-phantom mammo -q -s 900 -o "$B/big" && bin/m3-decode -q "$B/big" >"$B/big.nrrd" ||
		exit 1
	$PY - "$B/big.nrrd" "$B/one.nrrd" <<'PYEOF'
import sys
d = open(sys.argv[1], "rb").read()
e = d.index(b"\n\n") + 2
hdr = d[:e].decode()
w, h = [int(v) for v in [l for l in hdr.split("\n") if l.startswith("sizes")][0].split()[1:]]
size = 2 if "uint16" in hdr or "int16" in hdr else 4
open(sys.argv[2], "wb").write(d[:e + w * h * size])
PYEOF
fi
best=
for i in 1 2 3; do
	s=$( { /usr/bin/time -f "%e" bin/m3-mammo -d cpu -j 2 -o "$B/big.png" "$B/one.nrrd" \
		>"$B/big.json"; } 2>&1 | tail -n1)
	if [ -z "$best" ] || [ "$(echo "$s < $best" | bc)" -eq 1 ]; then best=$s; fi
done
echo "m3-mammo: ${best} s (best of 3; goal <= 1.0 s)"
$PY -c "
import json; o = json.load(open('$B/big.json'))
print('m3-mammo stages (ms):', o['timings_ms'], '; candidates', o['candidates'],
      '; calcifications', len(o['calcifications']))"
if $PY -c "import skimage" 2>/dev/null; then
	sk=$(OMP_NUM_THREADS=2 $PY tests/mammo/skpipe.py "$B/one.nrrd" "$B/sk.png")
	echo "scikit-image: ${sk} s"
	echo "ratio: $(echo "scale=1; $sk / $best" | bc)x faster (goal >= 10x)"
else
	echo "scikit-image: skipped (python3-skimage is not installed)"
fi
if bin/m3-mammo -v -d auto "$B/one.nrrd" 2>&1 >/dev/null | grep -q "device cuda"; then
	g=$( { /usr/bin/time -f "%e" bin/m3-mammo -d cuda -o "$B/big-gpu.png" "$B/one.nrrd" \
		>/dev/null; } 2>&1 | tail -n1)
	echo "m3-mammo -d cuda: ${g} s"
else
	echo "m3-mammo -d cuda: not measured (no GPU)"
fi
