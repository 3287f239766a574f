#!/bin/sh
# m3-mammo as a user runs it: findings on stdout, the overlay with -o, bad input refused with
# exit 3 and nothing written, options, and a small FROC check against m3-phantom's truth.
. "$(dirname "$0")/lib.sh"

# python3 with numpy for the synthetic images (Debian's, even when another python3 is first)
PY=python3
for p in /usr/bin/python3 python3; do
	if "$p" -c "import numpy" 2>/dev/null; then PY=$p; break; fi
done
SYNTH="$PY $TOP/tests/mammo/synth.py"
M="$TOP/tests/mammo"
have_numpy() { "$PY" -c "import numpy" 2>/dev/null; }
if have_numpy; then numpy_ok=true; else numpy_ok=false; fi

# hdr TYPE W H [KEY:=VALUE...]: a 2D stream header
hdr() {
	t=$1 w=$2 h=$3
	shift 3
	printf "NRRD0004\ntype: %s\ndimension: 2\nsizes: %s %s\n" "$t" "$w" "$h"
	printf "space: left-posterior-superior\nspace directions: (0.1,0,0) (0,0.1,0)\n"
	printf "endian: little\nencoding: raw\n"
	for kv in "$@"; do printf "%s\n" "$kv"; done
	printf "\n"
}

skip_unless "$numpy_ok" "python3-numpy is not installed"
check 'a synthetic study: one JSON line per image with the documented keys, exit 0' '
	$SYNTH --seed 5 --size 400x320 -n 2 -o s.nrrd --truth t.json &&
	run m3-mammo -j 2 s.nrrd && expect_code 0 && expect_empty err &&
	test "$(wc -l <out)" -eq 2 &&
	$PY -c "
import json, sys
for n, l in enumerate(open(\"out\"), 1):
    o = json.loads(l)
    for k in (\"image\", \"series\", \"laterality\", \"view\", \"width\", \"height\", \"spacing_mm\",
              \"device\", \"threads\", \"threshold\", \"candidates\", \"calcifications\",
              \"clusters\", \"timings_ms\"):
        assert k in o, k
    assert o[\"image\"] == n and o[\"width\"] == 400 and o[\"device\"] == \"cpu\"
    assert o[\"spacing_mm\"] == [0.1, 0.1]
    for c in o[\"calcifications\"]:
        assert set(c) == {\"id\", \"x\", \"y\", \"x_mm\", \"y_mm\", \"diameter_mm\", \"area_mm2\",
                          \"contrast\", \"score\", \"cluster\"}, c
        # below -t only as support that completes a cluster (-c, 0.01)
        assert c[\"score\"] >= 0.3 or (c[\"cluster\"] and c[\"score\"] >= 0.01), c
"
'

check 'stdin and a file give the same findings (timings aside)' '
	$SYNTH --seed 6 --size 300x260 -n 1 -o s.nrrd &&
	m3-mammo -t 0.2 s.nrrd | sed "s/\"timings_ms\".*//" >a &&
	m3-mammo -t 0.2 <s.nrrd | sed "s/\"timings_ms\".*//" >b && cmp a b
'

check '-o with %n: one PNG per image, 1-based; --overlay-scale shrinks it' '
	$SYNTH --seed 7 --size 400x300 -n 2 -o s.nrrd &&
	run m3-mammo -s 0.5 -o "m-%n.png" s.nrrd && expect_code 0 && expect_empty err &&
	expect_files s.nrrd m-1.png m-2.png &&
	test "$(head -c 8 m-1.png | od -An -tx1 | tr -d " ")" = 89504e470d0a1a0a &&
	test "$(od -An -tu1 -j16 -N8 m-1.png | tr -s " ")" = " 0 0 0 200 0 0 0 150"
'

check '-o without %n on a two-image stream: exit 2, no file left, no findings line' '
	$SYNTH --seed 7 --size 300x260 -n 2 -o s.nrrd &&
	run m3-mammo -o m.png s.nrrd && expect_code 2 &&
	expect_err "m3-mammo: -o: several images need %n in the name" && expect_files s.nrrd &&
	expect_empty out &&
	$SYNTH --seed 7 --size 300x260 -n 1 -o one.nrrd &&
	run m3-mammo -o m.png one.nrrd && expect_code 0 && test "$(wc -l <out)" -eq 1 &&
	test -s m.png
'

check '-o on a full disk (/dev/full): exit 1, one line naming it, no findings line' '
	$SYNTH --seed 7 --size 300x260 -n 1 -o s.nrrd &&
	run m3-mammo -o /dev/full s.nrrd && expect_code 1 &&
	expect_err "m3-mammo: /dev/full: No space left on device" && expect_empty out
'

check '-o naming the standard output: exit 2, nothing written; -o /dev/null is fine' '
	$SYNTH --seed 7 --size 300x260 -n 1 -o s.nrrd &&
	m3-mammo -o f.json s.nrrd >f.json 2>err; status=$? &&
	expect_code 2 && expect_err "m3-mammo: -o f.json: that is the standard output" &&
	test ! -s f.json &&
	m3-mammo -o /dev/stdout s.nrrd >g.json 2>err; status=$? &&
	expect_code 2 && test ! -s g.json &&
	run m3-mammo -o /dev/null s.nrrd && expect_code 0 && test "$(wc -l <out)" -eq 1 &&
	m3-mammo -o "h%n.png" s.nrrd >h1.png 2>err; status=$? &&
	expect_code 2 && expect_err "m3-mammo: -o h1.png: that is the standard output"
'

check '--explain: per-stage counts and timings on stderr' '
	$SYNTH --seed 8 --size 300x260 -n 1 -o s.nrrd &&
	run m3-mammo --explain s.nrrd && expect_code 0 &&
	grep -q "mask: [0-9]* breast px" err && grep -q "detect: [0-9]* candidates" err &&
	grep -q "classify: [0-9]* calcifications" err && grep -q "total [0-9.]* ms" err
'

check 'the text model format: the committed default.model scores like the built-in one' '
	$SYNTH --seed 9 --size 300x260 -n 1 -o s.nrrd &&
	m3-mammo -t 0 s.nrrd | sed "s/\"timings_ms\".*//" >a &&
	m3-mammo -t 0 -M "$M/default.model" s.nrrd | sed "s/\"timings_ms\".*//" >b && cmp a b
'

check '-t 1 reports nothing; -n and -a change the cluster rule; -c 1 takes no support' '
	$SYNTH --seed 10 --size 400x320 -n 1 --clusters 3 -o s.nrrd &&
	run m3-mammo -t 1 s.nrrd && expect_code 0 && grep -q "\"calcifications\":\[\]" out &&
	run m3-mammo -t 0.05 -n 1000 s.nrrd && expect_code 0 && grep -q "\"clusters\":\[\]" out &&
	run m3-mammo -t 0.9 -c 1 s.nrrd && expect_code 0 &&
	$PY -c "
import json
for c in json.loads(open(\"out\").read())[\"calcifications\"]:
    assert c[\"score\"] >= 0.9, c
" && run m3-mammo -c 2 s.nrrd && expect_code 2 && expect_err "m3-mammo: -c: *"
'

check 'a CPU/auto run without a GPU says cpu; -d cuda without a GPU: exit 1, one line' '
	$SYNTH --seed 11 --size 300x260 -n 1 -o s.nrrd &&
	run m3-mammo -d auto s.nrrd && expect_code 0 && grep -q "\"device\":\"cpu\"" out &&
	if m3-mammo -v -d auto s.nrrd 2>&1 >/dev/null | grep -q "device cuda"; then
		return 0 # a GPU is here: tests/gpu/mammo-parity.sh covers it
	fi
	run m3-mammo -d cuda s.nrrd && expect_code 1 && expect_err "m3-mammo: cuda: *" &&
	expect_empty out
'
skip_reason=

bad() { # bad FILE GLOB: exit 3, one matching line, no stdout, no -o file
	run m3-mammo -o o.png "$1" && expect_code 3 && expect_err "$2" && expect_empty out &&
	test ! -e o.png
}

check 'a 3D volume: exit 3, nothing written' '
	volgen -t uint16 40 40 3 >v.nrrd && bad v.nrrd "m3-mammo: v.nrrd: image 1: a 3D volume (40x40x3), not a 2D mammogram"
'

check 'a label volume (m3-labels, or uint8 with few values): exit 3' '
	{ hdr uint8 200 200 "m3-labels:=1 bone"; head -c 40000 /dev/zero; } >l.nrrd &&
	bad l.nrrd "*: a label volume (m3-labels), not a mammogram" &&
	{ hdr uint8 200 200; head -c 40000 /dev/zero | tr "\0" "\1"; } >u.nrrd &&
	bad u.nrrd "*: uint8 image with 1 distinct values looks like a label volume"
'

check 'an image a few mm across: exit 3' '
	{ hdr uint16 50 50; head -c 5000 /dev/urandom; } >s.nrrd &&
	bad s.nrrd "*: image is 5.0 x 5.0 mm, smaller than 10 mm"
'

check 'a constant image: exit 3' '
	{ hdr uint16 200 200; head -c 80000 /dev/zero; } >c.nrrd &&
	bad c.nrrd "*: constant image (every pixel is 0)"
'

check 'NaN and Inf in float data: exit 3, names the pixel' '
	{ hdr float 200 200; head -c 400 /dev/zero; printf "\000\000\300\177";
	  head -c 159596 /dev/zero; } >n.nrrd &&
	bad n.nrrd "*: pixel (100,0) is NaN" &&
	{ hdr float 200 200; head -c 800 /dev/zero; printf "\000\000\200\177";
	  head -c 159196 /dev/zero; } >i.nrrd &&
	bad i.nrrd "*: pixel (0,1) is infinite"
'

check 'not a stream and an empty input: exit 3' '
	echo hello >h.txt && bad h.txt "*not an m3 volume stream*" &&
	: >e.nrrd && bad e.nrrd "m3-mammo: e.nrrd: empty input"
'

check 'an MLP model file: each score is its formula; one without w2, or a number beyond float, is refused' '
	$SYNTH --seed 9 --size 300x260 -n 1 -o s.nrrd &&
	$PY -c "
import sys
names = open(sys.argv[1]).read().split(\"features\")[1].split(\"\\n\")[0].split()[1:]
n = len(names)
one = [1.0 if x == \"peak_snr\" else 0.0 for x in names]
w = lambda k, v: print(k, \" \".join(str(x) for x in v))
print(\"m3-mammo-model 1\\nkind mlp\\nfeatures\", n, \" \".join(names))
w(\"mean\", [0.0] * n); w(\"scale\", [2.0] * n)
print(\"hidden 2\"); w(\"w1\", one + [-x for x in one]); w(\"b1\", [-1.0, 3.0])
w(\"w2\", [1.5, 3.0]); print(\"bias -2\")
" "$M/default.model" >mlp.model &&
	m3-mammo -t 0 --features -M mlp.model s.nrrd >f.json &&
	$PY -c "
import json, math, sys
img = json.load(open(sys.argv[1]))
k = img[\"feature_names\"].index(\"peak_snr\")
n = 0
for c in img[\"all_candidates\"]:
    p = c[\"features\"][k] / 2
    z = -2 + 1.5 * max(0.0, p - 1) + 3.0 * max(0.0, 3.0 - p)
    assert abs(c[\"score\"] - 1 / (1 + math.exp(-z))) < 2e-3, (c, z)
    n += 1
assert n > 5, n
" f.json &&
	grep -v "^w2" mlp.model >bad.model &&
	run m3-mammo -M bad.model s.nrrd && expect_code 3 &&
	expect_err "m3-mammo: bad.model: mlp: hidden, w1, b1 or w2 missing" &&
	sed "s/^bias -2/bias -1e39/" mlp.model >big.model &&
	run m3-mammo -M big.model s.nrrd && expect_code 3 && expect_empty out &&
	expect_err "m3-mammo: big.model: line *: bias: -1e+39 is out of range"
'

check 'a bad model file: exit 3, names the line' '
	printf "m3-mammo-model 1\nkind trees\nfeatures 2 a b\n" >bad.model &&
	volgen -t uint16 200 200 >v.nrrd &&
	run m3-mammo -M bad.model v.nrrd && expect_code 3 &&
	nf=$(awk '\''$1 == "features" { print $2 }'\'' "$M/default.model") &&
	expect_err "m3-mammo: bad.model: line 3: features: 2, this m3-mammo has $nf"
'

check 'bad options: usage on stderr, exit 2' '
	run m3-mammo --frobnicate && expect_code 2 && grep -q "^usage: m3-mammo" err &&
	expect_empty out &&
	run m3-mammo -t 2 && expect_code 2 && expect_err "m3-mammo: -t: *" &&
	run m3-mammo -d tpu && expect_code 2 && expect_err "m3-mammo: -d: *" &&
	run m3-mammo -s 0 && expect_code 2 && expect_err "m3-mammo: -s: *"
'

check '-h on stdout, exit 0; --version' '
	run m3-mammo -h && expect_code 0 && grep -q "^usage: m3-mammo" out && expect_empty err &&
	run m3-mammo --version && expect_code 0 && grep -q "^m3-mammo (m3) " out
'

check 'every --help option is in the man page, and every man page option in --help' '
	m3-mammo -h | grep -o -e "--[a-z][a-z-]*" | sort -u >h &&
	grep "^\.It Fl" "$TOP/man/m3-mammo.1" | tr -d "\\\\" | grep -o "Fl -[a-z][a-z-]*" |
		sed "s/Fl -/--/" | sort -u >m && cmp h m
'

skip_unless m3-phantom "m3-phantom is not built"
[ -x "$TOP/bin/m3-decode" ] || skip_reason="m3-decode is not built"
have_numpy || skip_reason="python3-numpy is not installed"
check 'FROC on held-out phantom seeds (small images): bars at 1 FP/image and 0.25 false clusters' '
	$PY "$M/froc.py" --seeds 201-202 --size 800x640 --work "$PWD" --min-sens 0.70 \
		--min-cluster-sens 0.8 >froc.txt ||
		{ sed "s/^/# /" froc.txt >&2; return 1; }
'
skip_reason=

done_testing
