#!/bin/sh
# m3-segment as a user runs it: thresholds, presets, Otsu, morphology and components checked
# voxel for voxel against brute-force references (tests/segment/segref.py, numpy), the
# stream passed through, and bad input refused.
. "$(dirname "$0")/lib.sh"

PY=
for p in /usr/bin/python3 python3; do
	if "$p" -c "import numpy" 2>/dev/null; then PY=$p; break; fi
done
REF="$TOP/tests/segment/segref.py"
ref() { "$PY" "$REF" "$@"; }
have_numpy() { [ -n "$PY" ]; }

check '-h: usage on stdout, exit 0' '
	run m3-segment -h && expect_code 0 && grep -q "^usage: m3-segment" out && expect_empty err
'

check 'bad option: usage on stderr, exit 2' '
	run m3-segment --frobnicate && expect_code 2 && grep -q "^usage: m3-segment" err &&
	expect_empty out
'

check '--version: name and version on stdout' '
	run m3-segment --version && expect_code 0 && grep -q "^m3-segment (m3) [0-9]" out
'

check 'every option of --help is in the man page, and every option of the man page in --help' '
	m3-segment --help >h.txt && man="$TOP/man/m3-segment.1" &&
	for o in $(grep -o -- "--[a-z-]*" h.txt | sort -u); do
		grep -q "^\.It.* Fl -${o#--}\( \|$\)" "$man" || { echo "# $o not in the man page" >&2; return 1; }
	done &&
	for o in $(grep -o -- "^  -[a-z]," h.txt | tr -d " ,"); do
		grep -q "^\.It Fl ${o#-}\( \|$\)" "$man" || { echo "# $o not in the man page" >&2; return 1; }
	done &&
	for o in $(sed -n "s/^\.It Fl \([a-z-]*\).*/\1/p" "$man" | sed "s/^-/--/; s/^\([a-z]\)$/-\1/"); do
		grep -q -- "$o\\( \\|,\\|\\[\\)" h.txt || { echo "# $o not in --help" >&2; return 1; }
	done
'

check 'nothing to segment: exit 2, one line' '
	volgen -t int16 4 4 4 >a.nrrd && run m3-segment a.nrrd && expect_code 2 &&
	expect_err "m3-segment: nothing to segment: give -p, -t or --otsu" && expect_empty out
'

check 'bad -t values: exit 2, each names the option' '
	for t in 300 abc:5 5:abc 3000:300 1:2:3 nan:5 ""; do
		run m3-segment -t "$t" && expect_code 2 && expect_err "m3-segment: -t: *" &&
		expect_empty out || return 1
	done
'

check 'bad -p, -c, --close, --otsu, -d: exit 2' '
	for a in "-p marrow" "-p bone -c 8" "-p bone --close 0" "-p bone --close 2cm" \
		"--otsu 1" "-p bone --otsu 2" "-p bone -d gpu" "-p bone -k 0" "-p bone -j x"; do
		run m3-segment $a && expect_code 2 && expect_err "m3-segment: *" || return 1
	done
'

skip_unless "$PY" "python3 with numpy (Debian python3-numpy) is not installed"

check 'threshold: exact voxel counts for every input type' '
	for ty in int16 uint16 int32 float; do
		ref gen uniform 5 17 13 11 $ty >u.nrrd || return 1
		[ $ty = uint16 ] && lo=1000 || lo=-200
		want="0:$((2431 - $(ref count $lo 1700 u.nrrd))) 1:$(ref count $lo 1700 u.nrrd)"
		run m3-segment -t $lo:1700 u.nrrd && expect_code 0 && expect_empty err &&
		test "$(ref labels out)" = "$want" || { echo "# $ty: $(ref labels out), want $want" >&2; return 1; }
	done
'

check 'open-ended -t ranges: "LOW:" and ":HIGH"' '
	ref gen uniform 6 10 10 10 >u.nrrd &&
	run m3-segment -t 2000: u.nrrd && expect_code 0 &&
	test "$(ref labels out)" = "0:$((1000 - $(ref count 2000 9999 u.nrrd))) 1:$(ref count 2000 9999 u.nrrd)" &&
	run m3-segment -t :-500 u.nrrd && expect_code 0 &&
	test "$(ref labels out)" = "0:$((1000 - $(ref count -9999 -500 u.nrrd))) 1:$(ref count -9999 -500 u.nrrd)"
'

check 'presets teeth,bone: labels in the order given, teeth win where ranges overlap' '
	ref gen uniform 7 16 16 16 >u.nrrd && run m3-segment -p teeth,bone u.nrrd &&
	expect_code 0 && grep -a -q "^m3-labels:=1 teeth;2 bone$" out &&
	teeth=$(ref count 1550 4000 u.nrrd) && bone=$(($(ref count 300 3000 u.nrrd) - $(ref count 1550 3000 u.nrrd))) &&
	test "$(ref labels out)" = "0:$((4096 - teeth - bone)) 1:$teeth 2:$bone"
'

check 'preset order does not change precedence: -p bone,teeth' '
	ref gen uniform 7 16 16 16 >u.nrrd && run m3-segment -p bone,teeth u.nrrd &&
	expect_code 0 && grep -a -q "^m3-labels:=1 bone;2 teeth$" out &&
	test "$(ref labels out | cut -d" " -f3)" = "2:$(ref count 1550 4000 u.nrrd)"
'

check '--hu-offset moves the preset ranges: -p bone --hu-offset 200 = -t 500:3200' '
	ref gen uniform 8 12 12 12 >u.nrrd && m3-segment -p bone --hu-offset 200 u.nrrd >a.nrrd &&
	m3-segment -t 500:3200 u.nrrd >b.nrrd && volcat -D a.nrrd >a.raw && volcat -D b.nrrd >b.raw &&
	cmp a.raw b.raw && test "$(ref labels a.nrrd)" != "$(ref labels u.nrrd)"
'

check 'soft-tissue preset and -t together: three labels' '
	ref gen uniform 9 12 12 12 >u.nrrd && run m3-segment -p soft-tissue -t 2500:2600 u.nrrd &&
	expect_code 0 && grep -a -q "^m3-labels:=1 soft-tissue;2 range1$" out &&
	test "$(ref labels out | cut -d" " -f2-)" = "1:$(ref count -100 300 u.nrrd) 2:$(ref count 2500 2600 u.nrrd)"
'

# morph NAME M3-OPTIONS REF-STEPS: m3-segment -t 500: on blobs against the brute-force reference
morph() {
	ref gen blobs "$1" 23 19 17 int16 0.5 0.25 1.0 >b.nrrd &&
	run m3-segment -t 500: $2 b.nrrd && expect_code 0 && expect_empty err &&
	ref ref $3 <b.nrrd >r.nrrd && ref same out r.nrrd &&
	ref labels out | grep -q " 1:" # something is left to compare
}

check 'closing by radius 1, 2, 3 and 8 voxels = brute force (8: the two-sweep distance)' '
	morph 1 "--close 1" close:1 && morph 2 "--close 2" close:2 && morph 3 "--close 3" close:3 &&
	ref gen boxes 0 40 36 32 >x.nrrd && run m3-segment -t 500: --close 8 x.nrrd && expect_code 0 &&
	ref ref close:8 <x.nrrd >r.nrrd && ref same out r.nrrd && test "$(ref labels out)" != "$(ref labels x.nrrd)"
'

check 'opening by radius 1 voxel, 0.6 mm (anisotropic spacing) and 7 voxels = brute force' '
	morph 4 "--open 1" open:1 && morph 5 "--open 0.6mm" open:0.6mm &&
	ref gen boxes 0 40 36 32 >x.nrrd && run m3-segment -t 500: --open 7 x.nrrd && expect_code 0 &&
	ref ref open:7 <x.nrrd >r.nrrd && ref same out r.nrrd && ref labels out | grep -q " 1:" &&
	test "$(ref labels out)" != "$(ref labels x.nrrd)"
'

check 'closing by 1 mm and 1.3 mm on 0.5 x 0.25 x 1 mm voxels = brute force' '
	morph 6 "--close 1mm" close:1mm && morph 7 "--close 1.3mm" close:1.3mm
'

check 'fill holes, alone and after a closing = brute force' '
	morph 8 --fill-holes fill && morph 9 "--close 1 --fill-holes" "close:1 fill"
'

check 'steps run in the order given: --open 1 --close 1 differs from --close 1 --open 1' '
	morph 10 "--open 1 --close 1" "open:1 close:1" && cp out a.nrrd &&
	morph 10 "--close 1 --open 1" "close:1 open:1" && ! ref same a.nrrd out 2>/dev/null
'

check 'a step for one label (--close R@name, --fill-holes=name) leaves the others alone' '
	ref gen blobs 28 23 19 17 >b.nrrd &&
	m3-segment -t 500: -t 500:2000 --close 2 b.nrrd >all.nrrd &&
	run m3-segment -t 500: -t 500:2000 --close 2@range1 b.nrrd && expect_code 0 && cmp all.nrrd out &&
	run m3-segment -t 500: -t 500:2000 --close 2@range2 b.nrrd && expect_code 0 &&
	test "$(ref labels out)" = "$(ref labels b.nrrd | sed "s/1000:/1:/")" &&
	m3-segment -t 500: -t 500:2000 --fill-holes b.nrrd >f.nrrd &&
	run m3-segment -t 500: -t 500:2000 --fill-holes=range1 b.nrrd && expect_code 0 && cmp f.nrrd out &&
	run m3-segment -t 500: --close 2@bone b.nrrd && expect_code 2 &&
	expect_err "m3-segment: --close: \"bone\": no such label" &&
	run m3-segment -t 500: --fill-holes=x b.nrrd && expect_code 2 &&
	expect_err "m3-segment: --fill-holes: \"x\": no such label"
'

check '6 vs 26 connectivity: two cubes touching at a corner' '
	ref gen corner 0 8 8 8 >k.nrrd &&
	run m3-segment -t 500: -c 6 --keep-largest k.nrrd && expect_code 0 &&
	test "$(ref labels out)" = "0:485 1:27" &&
	run m3-segment -t 500: -c 26 --keep-largest k.nrrd && expect_code 0 &&
	test "$(ref labels out)" = "0:477 1:35" &&
	run m3-segment -t 500: -c 6 --min-size 9 k.nrrd && test "$(ref labels out)" = "0:485 1:27"
'

check 'keep largest, keep N, min size, 6 and 26 = brute force' '
	morph 11 "-c 6 -l" cc:6:1:1 && morph 12 "-c 26 -l" cc:26:1:1 &&
	morph 13 "-c 6 -k 3" cc:6:3:1 && morph 14 "-c 26 -s 5" cc:26:0:5 &&
	morph 15 "-c 6 -s 3 -k 2" cc:6:2:3
'

check 'threads: -j 1, 3 and 4 give the same labels (slab seams in components)' '
	ref gen blobs 16 31 29 27 >b.nrrd &&
	for j in 1 3 4; do
		m3-segment -j $j -t 500: --close 2 --fill-holes -c 6 -k 5 b.nrrd >o$j.nrrd || return 1
	done && cmp o1.nrrd o3.nrrd && cmp o1.nrrd o4.nrrd &&
	ref ref close:2 fill cc:6:5:1 <b.nrrd >r.nrrd && ref same o1.nrrd r.nrrd
'

check 'Otsu on a bimodal volume: exactly the ball' '
	ref gen bimodal 17 20 20 20 float >m.nrrd && run m3-segment --otsu 2 m.nrrd &&
	expect_code 0 && grep -a -q "^m3-labels:=1 class1$" out &&
	test "$(ref labels out)" = "0:$(ref count -1e9 500 m.nrrd) 1:$(ref count 500 1e9 m.nrrd)"
'

check 'multi-Otsu, 3 classes: air, bone ball and bright core apart' '
	ref gen spheres 18 24 24 24 >s.nrrd && run m3-segment --otsu 3 -v s.nrrd &&
	expect_code 0 && grep -a -q "^m3-labels:=1 class1;2 class2$" out &&
	test "$(ref labels out)" = "0:$(ref count -9999 -100 s.nrrd) 1:$(ref count -100 1650 s.nrrd) 2:$(ref count 1650 9999 s.nrrd)"
'

check 'median 3x3x3 = the numpy median (border continued), then the threshold' '
	ref gen noisy 19 24 24 24 float >s.nrrd && ref median <s.nrrd >md.nrrd &&
	m3-segment -t 500: md.nrrd >a.nrrd && run m3-segment -m -t 500: s.nrrd && expect_code 0 &&
	cmp a.nrrd out
'

check 'Gaussian and median smoothing: Dice to the true ball from 0.85 to over 0.97' '
	ref gen noisy 19 24 24 24 float >s.nrrd && ref gen ball 19 24 24 24 uint8 >t.nrrd &&
	m3-segment -t 500: s.nrrd >raw.nrrd && m3-segment -g 1 -t 500: s.nrrd >g.nrrd &&
	m3-segment -m -t 500: s.nrrd >m.nrrd && m3-segment -g 0.5mm -t 500: s.nrrd >gmm.nrrd &&
	cmp g.nrrd gmm.nrrd && d0=$(ref dice raw.nrrd 1 t.nrrd 1) && dg=$(ref dice g.nrrd 1 t.nrrd 1) &&
	dm=$(ref dice m.nrrd 1 t.nrrd 1) && echo "# Dice raw $d0, Gaussian $dg, median $dm" >&2 &&
	"$PY" -c "import sys; sys.exit(not ($d0 < 0.9 and $dg > 0.97 and $dm > 0.97))"
'

check 'geometry and keys pass through; uint8 out, m3-units dropped, m3-labels added' '
	ref gen uniform 20 6 5 4 >u.nrrd && run m3-segment -p bone u.nrrd && expect_code 0 &&
	sed -n "/^$/q;p" u.nrrd | grep -v -e "^type:" -e "^m3-units:=" -e "^endian:" >want &&
	sed -n "/^$/q;p" out | grep -a -v -e "^type:" -e "^m3-labels:=" >got && diff want got &&
	grep -a -q "^type: uint8$" out && ! grep -a -q "^m3-units" out
'

check 'several volumes in, as many out, each as if alone' '
	ref gen blobs 21 9 8 7 >a.nrrd && ref gen blobs 22 12 5 6 >b.nrrd && ref gen uniform 23 4 4 4 >c.nrrd &&
	cat a.nrrd b.nrrd c.nrrd >abc.nrrd && run m3-segment -t 500: --close 1 <abc.nrrd && expect_code 0 &&
	for f in a b c; do m3-segment -t 500: --close 1 $f.nrrd || return 1; done >want &&
	cmp out want && test "$(ref labels out | wc -l)" = 3
'

check 'files as operands and - for stdin make one stream' '
	ref gen blobs 24 9 8 7 >a.nrrd && m3-segment -t 500: a.nrrd >one.nrrd &&
	run m3-segment -t 500: a.nrrd - a.nrrd <a.nrrd && expect_code 0 &&
	cat one.nrrd one.nrrd one.nrrd | cmp - out
'

check '-o writes the file, nothing on stdout; gzip with -z reads back the same' '
	ref gen blobs 25 9 8 7 >a.nrrd && run m3-segment -t 500: -o l.nrrd a.nrrd && expect_code 0 &&
	expect_empty out && expect_files a.nrrd l.nrrd && m3-segment -z 6 -t 500: a.nrrd | volcat >z.nrrd &&
	cmp l.nrrd z.nrrd
'

check '-v: per-stage timings on stderr; -q and no -v: nothing' '
	ref gen blobs 26 9 8 7 >a.nrrd && run m3-segment -v -d cpu -t 500: --close 1 -l a.nrrd &&
	expect_code 0 && grep -q "m3-segment: a.nrrd: volume 1: 9x8x7 int16: threshold [0-9.]* s, morphology [0-9.]* s, components [0-9.]* s, total" err &&
	grep -q "range1: [0-9]* components, 1 kept" err &&
	run m3-segment -q -t 500: a.nrrd && expect_code 0 && expect_empty err
'

check '--progress: a progress line on stderr even when it is not a terminal; none without' '
	ref gen blobs 26 9 8 7 >a.nrrd && run m3-segment --progress -t 500: a.nrrd && expect_code 0 &&
	grep -q "a.nrrd: volume 1: segmenting" err && run m3-segment -t 500: a.nrrd && expect_empty err
'

check '-v warns when m3-units is not HU and presets are used' '
	volgen -t int16 4 4 4 >a.nrrd && run m3-segment -v -p bone a.nrrd && expect_code 0 &&
	grep -q "m3-units is missing, not HU" err
'

check 'units other than HU draw one warning without -v; -q silences it' '
	volgen -t int16 4 4 4 | sed "s/^m3-modality:=CT$/m3-units:=mu/" >u.nrrd &&
	run m3-segment -p bone u.nrrd && expect_code 0 &&
	expect_err "m3-segment: u.nrrd: volume 1: m3-units is mu, not HU: the presets may not fit" &&
	run m3-segment -q -p bone u.nrrd && expect_code 0 && expect_empty err
'
skip_reason=

bad() { # bad GLOB ARGS...: exit 3, one line matching GLOB, no stdout
	run m3-segment "$@" && expect_code 3 && expect_err "$1" && expect_empty out
}

check 'a 2D image (dimension 2, or 3 with one slice) is refused: exit 3, one line' '
	volgen -t int16 5 4 >i.nrrd && run m3-segment -p bone i.nrrd && expect_code 3 &&
	expect_err "m3-segment: i.nrrd: a 2D image, not a volume" && expect_empty out &&
	volgen -t int16 5 4 1 >j.nrrd && run m3-segment -p bone j.nrrd && expect_code 3 &&
	expect_err "m3-segment: j.nrrd: a 2D image, not a volume"
'

check 'an RGB image or volume is refused: exit 3, one line' '
	volgen -r -t uint8 5 4 3 >c.nrrd && run m3-segment -p bone c.nrrd && expect_code 3 &&
	expect_err "m3-segment: c.nrrd: an RGB volume, not a grey volume" &&
	volgen -r -t uint8 5 4 >d.nrrd && run m3-segment -p bone d.nrrd && expect_code 3 &&
	expect_err "m3-segment: d.nrrd: an RGB image, not a grey volume"
'

check 'empty input: exit 3, "empty input"' '
	: >e.nrrd && run m3-segment -p bone <e.nrrd && expect_code 3 &&
	expect_err "m3-segment: stdin: empty input" && expect_empty out
'

check 'truncated stream: exit 3, no output' '
	volgen -t int16 8 8 8 >a.nrrd && head -c -7 a.nrrd >t.nrrd &&
	run m3-segment -p bone t.nrrd && expect_code 3 && expect_err "*t.nrrd: truncated data" &&
	expect_empty out
'

check 'a bad second volume: the first volume out, exit 3 naming volume 2' '
	volgen -t int16 4 4 4 >a.nrrd && volgen -t int16 5 4 >i.nrrd && cat a.nrrd i.nrrd >s.nrrd &&
	run m3-segment -p bone s.nrrd && expect_code 3 &&
	expect_err "m3-segment: s.nrrd: volume 2: a 2D image, not a volume" &&
	m3-segment -p bone a.nrrd | cmp - out
'

check '-o with bad input leaves no file (bad first or second volume)' '
	volgen -t int16 5 4 >i.nrrd && run m3-segment -p bone -o l.nrrd i.nrrd && expect_code 3 &&
	expect_files i.nrrd &&
	volgen -t int16 4 4 4 >a.nrrd && { cat a.nrrd; head -c 100 a.nrrd; } >s.nrrd && rm i.nrrd &&
	run m3-segment -p bone -o l.nrrd s.nrrd && expect_code 3 && expect_files a.nrrd s.nrrd
'

check 'missing input file: exit 3, names it' '
	run m3-segment -p bone nothere.nrrd && expect_code 3 &&
	expect_err "m3-segment: nothere.nrrd: No such file or directory"
'

check '-d auto and M3_DEVICE=cpu run quietly; -d cpu is the CPU' '
	volgen -t int16 6 6 6 >a.nrrd && run m3-segment -d auto -p bone a.nrrd && expect_code 0 &&
	expect_empty err && cp out a1 && run env M3_DEVICE=cpu m3-segment -p bone a.nrrd &&
	expect_code 0 && cmp a1 out && run m3-segment -d cpu -p bone a.nrrd && cmp a1 out
'

if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q GPU; then
	gpu=yes
else
	gpu=
fi

if [ -z "$gpu" ]; then
	check '-d cuda without a GPU: exit 1, one line' '
		volgen -t int16 6 6 6 >a.nrrd && run m3-segment -d cuda -p bone a.nrrd &&
		expect_code 1 && expect_err "m3-segment: -d cuda: *" && expect_empty out
	'
fi

skip_unless "$PY" "python3 with numpy is not installed"
[ -z "$gpu" ] && skip_reason="no CUDA GPU here (nvidia-smi finds none): the CUDA path is not run"
check 'CUDA path: the same labels as the CPU, every step' '
	ref gen spheres 30 40 36 32 >s.nrrd && ref gen blobs 31 33 29 27 >b.nrrd &&
	for a in "-p teeth,bone" "-p bone --close 2 -l" "-g 1.2 -t 500: --open 0.7mm -c 6 -k 3" \
		"-m -t 300: --fill-holes -s 20" "--otsu 3 --close 1"; do
		for f in s b; do
			m3-segment -d cpu $a $f.nrrd >c.nrrd && m3-segment -d cuda $a $f.nrrd >g.nrrd &&
			cmp c.nrrd g.nrrd || { echo "# differs: $a on $f" >&2; return 1; }
		done
	done
'
skip_reason=

# The phantom is made once, outside the check, so that a phantom that does not work yet
# skips the check with its reason instead of failing it.
PH="$SCRATCH/phantom"
if [ ! -x "$TOP/bin/m3-phantom" ] || [ ! -x "$TOP/bin/m3-decode" ]; then
	skip_reason="bin/m3-phantom or bin/m3-decode is not built: no phantom Dice check"
elif [ -z "$PY" ]; then
	skip_reason="python3 with numpy is not installed"
elif ! m3-phantom cbct --seed 7 --artefacts --size 96x96x64 -o "$PH/" >/dev/null 2>"$SCRATCH/ph.err" ||
	! m3-decode "$PH/" >"$SCRATCH/ct.nrrd" 2>>"$SCRATCH/ph.err"; then
	skip_reason="the phantom did not come out: $(head -n1 "$SCRATCH/ph.err")"
fi
check 'phantom CBCT, noise and artefacts on: Dice >= 0.95 for bone and teeth' '
	m3-segment -p teeth,bone --close 1.5mm@bone --fill-holes -s 20 "$SCRATCH/ct.nrrd" >seg.nrrd &&
	truth=$PH/truth.nrrd &&
	tb=$(sed -n "s/^m3-labels:=//p" "$truth" | tr ";" "\n" | sed -n "s/^\([0-9]*\) bone$/\1/p") &&
	tt=$(sed -n "s/^m3-labels:=//p" "$truth" | tr ";" "\n" | sed -n "s/^\([0-9]*\) teeth$/\1/p") &&
	db=$(ref dice seg.nrrd 2 "$truth" "$tb") && dt=$(ref dice seg.nrrd 1 "$truth" "$tt") &&
	echo "# Dice bone $db, teeth $dt" >&2 &&
	"$PY" -c "import sys; sys.exit(not ($db >= 0.95 and $dt >= 0.95))"
'
skip_reason=

done_testing
