#!/bin/sh
# m3-x3d as a user runs it: label volumes in, meshes out.  The test volumes come from
# tests/x3d/mkvol.py and the meshes are checked by tests/x3d/meshcheck.py against VTK.
. "$(dirname "$0")/lib.sh"

X="$TOP/tests/x3d"
# a python3 with numpy and VTK (Debian's python3-numpy, python3-vtk9), which need not be first
PY=
for p in python3 /usr/bin/python3; do
	if "$p" -c 'import numpy, vtk' >/dev/null 2>&1; then
		PY=$p
		break
	fi
done
mkvol() { "$PY" "$X/mkvol.py" "$@"; }
mesh() { "$PY" "$X/meshcheck.py" "$@" >>checks.txt || { cat checks.txt >&2; return 1; }; }
have_py() { [ -n "$PY" ]; }

check '-h: usage on stdout, every option, exit 0' '
	run m3-x3d -h && expect_code 0 && expect_empty err && grep -q "^usage: m3-x3d" out &&
	for o in --format --jobs --labels --max-triangles --output --smooth --quiet --verbose \
		--progress --help --version; do
		grep -q -- "$o" out || { echo "# no $o in -h" >&2; return 1; }
	done
'

check 'the man page and -h name the same long options' '
	m3-x3d -h | grep -o -- "--[a-z-]*" | sort -u >h.txt &&
	grep -o "^\.It Fl [a-z] Ar [a-z-]* , Fl -[a-z-]*\|^\.It Fl [a-z] , Fl -[a-z-]*\|^\.It Fl -[a-z-]*" \
		"$TOP/man/m3-x3d.1" | grep -o -- "-[a-z-]*\$" | sed "s/^/-/" | sort -u >m.txt &&
	diff h.txt m.txt >&2 && test -s h.txt
'

check '--version: one line on stdout' '
	run m3-x3d --version && expect_code 0 && grep -q "^m3-x3d (m3) " out && expect_empty err
'

check 'bad option: usage on stderr, exit 2' '
	run m3-x3d a.nrrd b.nrrd && expect_code 2 && expect_empty out &&
	grep -qx "m3-x3d: one input at most, 2 given" err && grep -q "^usage: m3-x3d" err &&
	run m3-x3d --frobnicate && expect_code 2 && grep -q "^usage: m3-x3d" err && expect_empty out
'

check 'bad option arguments: exit 2, one line naming the option' '
	run m3-x3d -f obj && expect_code 2 && expect_err "m3-x3d: -f: \"obj\" is not x3d, x3dz, stl or ply" &&
	run m3-x3d -s -1 && expect_code 2 && expect_err "m3-x3d: -s: *" &&
	run m3-x3d -m 2 && expect_code 2 && expect_err "m3-x3d: -m: *" &&
	run m3-x3d -l 0,1 && expect_code 2 && expect_err "m3-x3d: -l: *" &&
	run m3-x3d -j x && expect_code 2 && expect_err "m3-x3d: -j*" &&
	run m3-x3d -o jaw.obj && expect_code 2 && expect_err "m3-x3d: jaw.obj: unknown extension*" &&
	expect_files
'

if have_py; then skip_reason=; else skip_reason="no python3 with numpy and vtk (python3-vtk9)"; fi

check 'two labels, a border-touching box: each mesh closed, manifold, outward, no duplicates' '
	mkvol shapes -o s.nrrd && run m3-x3d -o s.ply s.nrrd && expect_code 0 && expect_empty err &&
	expect_empty out && mesh topo s.ply && test "$(grep -c closed checks.txt)" -eq 2
'

check 'volume and area within 1% of VTK, Hausdorff <= 0.5 voxel (before smoothing)' '
	mkvol shapes -o s.nrrd && m3-x3d -o s.x3d s.nrrd &&
	mesh vtk s.nrrd s.x3d --measures 0.01 --hausdorff 0.5
'

check 'coordinates: LPS mm from the space directions and origin (anisotropic, offset)' '
	mkvol shapes -o s.nrrd && m3-x3d -o s.ply s.nrrd && mesh bbox s.nrrd s.ply
'

check 'left-handed axes: still outward, and in the right place' '
	mkvol flip -o f.nrrd && m3-x3d -f ply -o f.ply f.nrrd && mesh topo f.ply &&
	mesh bbox f.nrrd f.ply && mesh vtk f.nrrd f.ply --measures 0.01
'

check 'smoothing keeps the mesh closed and its volume within 3%' '
	mkvol shapes -o s.nrrd && m3-x3d -o a.ply s.nrrd && run m3-x3d -s 20 -o b.ply s.nrrd &&
	expect_code 0 && mesh topo b.ply && mesh volume a.ply b.ply --tol 0.03 &&
	! cmp -s a.ply b.ply
'

check 'decimation: within the budget, closed and manifold, Hausdorff <= 1 voxel' '
	mkvol shapes -o s.nrrd && m3-x3d -o a.ply s.nrrd &&
	all=$("$PY" "$X/meshcheck.py" ntri a.ply) && want=$((all / 4)) &&
	run m3-x3d -m $want -o d.x3d s.nrrd && expect_code 0 &&
	got=$("$PY" "$X/meshcheck.py" ntri d.x3d) && test "$got" -le "$want" &&
	test "$got" -ge $((want * 9 / 10)) && mesh topo d.x3d && mesh vtk s.nrrd d.x3d --hausdorff 1
'

check 'smoothing then decimation of a sphere: closed, near VTK, volume kept' '
	mkvol sphere -o b.nrrd && m3-x3d -o a.ply b.nrrd &&
	run m3-x3d -s 10 -m 2000 -o d.ply b.nrrd && expect_code 0 && mesh topo d.ply &&
	mesh vtk b.nrrd d.ply --hausdorff 1 && mesh volume a.ply d.ply --tol 0.03
'

check 'a jaw of 34k vertices, decimated in parallel chunks: sound, near VTK, thread-independent' '
	mkvol jaw 128 -o j.nrrd && run m3-x3d -j 2 -s 10 -m 30000 -o a.ply j.nrrd && expect_code 0 &&
	m3-x3d -j 1 -s 10 -m 30000 -o b.ply j.nrrd && cmp a.ply b.ply &&
	test "$("$PY" "$X/meshcheck.py" ntri a.ply)" -le 30000 && mesh topo a.ply &&
	mesh vtk j.nrrd a.ply --hausdorff 1
'

check 'X3D: well-formed, a Shape per label with its name, IndexedTriangleSet solid ccw' '
	mkvol shapes -o s.nrrd && run m3-x3d s.nrrd && expect_code 0 && expect_empty err &&
	xmllint --noout out && grep -q "<Shape DEF=\"bone_and_torus\">" out &&
	grep -q "<Shape DEF=\"box\">" out && test "$(grep -c "<IndexedTriangleSet solid=\"true\" ccw=\"true\"" out)" = 2 &&
	grep -q "<Normal vector=" out && grep -q "<Coordinate point=" out &&
	grep -q "<X3D profile=\"Interchange\" version=\"3.3\"" out
'

check '.x3dz gunzips to the same X3D; -f and the extension agree' '
	mkvol shapes -o s.nrrd && m3-x3d -o a.x3d s.nrrd && m3-x3d -j 2 -o b.x3dz s.nrrd &&
	gzip -t b.x3dz && gunzip -c b.x3dz | cmp - a.x3d &&
	m3-x3d -f x3dz s.nrrd | gunzip | cmp - a.x3d &&
	m3-x3d -f x3d -o c.out s.nrrd && cmp a.x3d c.out
'

check 'STL: binary, triangle count matches the mesh and the file size' '
	mkvol shapes -o s.nrrd && m3-x3d -o a.ply s.nrrd && run m3-x3d -o a.stl s.nrrd &&
	expect_code 0 && n=$("$PY" "$X/meshcheck.py" stl a.stl) &&
	test "$n" = "$("$PY" "$X/meshcheck.py" ntri a.ply)"
'

check 'PLY: binary little endian header with vertex normals and a label per face' '
	mkvol shapes -o s.nrrd && m3-x3d -o a.ply s.nrrd && head -c 600 a.ply | grep -a -q "^comment m3-label 2 box" &&
	test "$("$PY" "$X/meshcheck.py" ply a.ply | cut -d" " -f3)" = 2
'

check '-l picks labels; an absent label is exit 3' '
	mkvol shapes -o s.nrrd && run m3-x3d -l 2 -o a.ply s.nrrd && expect_code 0 &&
	test "$("$PY" "$X/meshcheck.py" ply a.ply | cut -d" " -f3)" = 1 &&
	run m3-x3d -l 2,9 -o b.ply s.nrrd && expect_code 3 &&
	expect_err "m3-x3d: s.nrrd: label 9: not in the volume" && expect_files s.nrrd a.ply
'

check 'the same bytes with 1 and 2 threads, every format' '
	mkvol shapes -o s.nrrd &&
	for f in x3d x3dz stl ply; do
		m3-x3d -j 1 -s 3 -m 2000 -f $f s.nrrd >a && m3-x3d -j 2 -s 3 -m 2000 -f $f s.nrrd >b &&
		cmp a b || return 1
	done
'

check '-v: counts and timings of each stage on stderr; quiet without it' '
	mkvol shapes -o s.nrrd && run m3-x3d -v -s 2 -m 3000 -o a.x3d s.nrrd && expect_code 0 &&
	grep -q "label 1 bone and torus: surface: [0-9]* vertices, [0-9]* triangles in" err &&
	grep -q "label 2 box: smooth: " err && grep -q "decimate: " err &&
	grep -q "write x3d in" err && run m3-x3d -o b.x3d s.nrrd && expect_empty err
'

check 'binary to a terminal is refused; X3D text is not' '
	command -v script >/dev/null || return 0
	mkvol shapes -o s.nrrd &&
	script -qec "m3-x3d -f stl s.nrrd" /dev/null >tty.txt 2>&1; rc=$?;
	test $rc -eq 2 && grep -q "refusing to write binary data to a terminal" tty.txt &&
	script -qec "m3-x3d -l 2 s.nrrd" /dev/null >tty2.txt 2>&1 && grep -q "<X3D" tty2.txt
'

check 'render.py draws a mesh into a PNG that is not just background' '
	mkvol sphere -o b.nrrd && m3-x3d -s 5 -m 3000 -o b.x3dz b.nrrd &&
	"$PY" "$X/render.py" b.x3dz b.png --size 160x120 &&
	"$PY" -c "import zlib,struct,sys
d=open(\"b.png\",\"rb\").read(); assert d[:8]==b\"\\x89PNG\\r\\n\\x1a\\n\"
w,h=struct.unpack(\">II\",d[16:24]); assert (w,h)==(160,120)
raw=zlib.decompress(d[41:-16]); assert max(raw)>200, max(raw)"
'

check 'bad input: 2D image, int16, all-zero, empty, second volume: exit 3, no file left' '
	mkvol 2d -o i.nrrd && mkvol int16 -o w.nrrd && mkvol zero -o z.nrrd && : >e.nrrd &&
	mkvol sphere -o b.nrrd && cat b.nrrd b.nrrd >two.nrrd &&
	run m3-x3d -o o.x3d i.nrrd && expect_code 3 && expect_err "m3-x3d: i.nrrd: a 2D image*" &&
	run m3-x3d -o o.x3d w.nrrd && expect_code 3 &&
	expect_err "m3-x3d: w.nrrd: type int16 is not a label volume (uint8)" &&
	run m3-x3d -o o.x3d z.nrrd && expect_code 3 && expect_err "m3-x3d: z.nrrd: no labels*" &&
	run m3-x3d -o o.x3dz e.nrrd && expect_code 3 && expect_err "m3-x3d: e.nrrd: empty input" &&
	run m3-x3d -o o.stl <two.nrrd && expect_code 3 &&
	expect_err "m3-x3d: stdin: volume 2: m3-x3d takes one volume a run" &&
	run m3-x3d -o o.ply <e.nrrd && expect_code 3 && expect_err "m3-x3d: stdin: empty input" &&
	expect_files i.nrrd w.nrrd z.nrrd e.nrrd b.nrrd two.nrrd
'

check 'bad input to stdout: nothing written' '
	mkvol int16 -o w.nrrd && run m3-x3d w.nrrd && expect_code 3 && expect_empty out
'

check 'a uint8 image that is no label volume (255 values, no m3-labels): exit 3; -l takes it' '
	volgen -t uint8 24 24 12 >n.nrrd && run m3-x3d -o o.x3d n.nrrd && expect_code 3 &&
	expect_err "m3-x3d: n.nrrd: not a label volume: 255 different values and no m3-labels*" &&
	expect_files n.nrrd && run m3-x3d -l 7 -f stl n.nrrd && expect_code 0 && test -s out
'
skip_reason=

hdr() { # hdr FIELD-LINES...: an m3 header
	printf "NRRD0004\n"
	for l in "$@"; do printf "%s\n" "$l"; done
	printf "\n"
}

check 'absurd sizes: exit 3 before any allocation, no file left' '
	hdr "type: uint8" "dimension: 3" "sizes: 100000 100000 100000" "encoding: raw" >big.nrrd &&
	run m3-x3d -o o.x3d big.nrrd && expect_code 3 && expect_err "m3-x3d: big.nrrd: sizes: *" &&
	run env M3_MAX_BYTES=1000 m3-x3d -o o.x3d big.nrrd && expect_code 3 &&
	expect_files big.nrrd
'

check 'truncated data and garbage after the volume: exit 3' '
	volgen -t uint8 8 8 8 >a.nrrd && head -c -5 a.nrrd >t.nrrd &&
	run m3-x3d -o o.x3d t.nrrd && expect_code 3 && expect_err "m3-x3d: t.nrrd: truncated data" &&
	{ cat a.nrrd; echo junk; } >g.nrrd && run m3-x3d -o o.x3d g.nrrd && expect_code 3 &&
	expect_err "m3-x3d: g.nrrd: volume 2: garbage*" && expect_files a.nrrd t.nrrd g.nrrd
'

check 'a missing input file: exit 3, names it' '
	run m3-x3d nothere.nrrd && expect_code 3 && expect_err "m3-x3d: nothere.nrrd: No such file or directory"
'

check 'a full disk is exit 1, not success' '
	test -w /dev/full || return 0
	volgen -t uint8 16 16 16 >a.nrrd && run sh -c "m3-x3d -l 1,2,3 a.nrrd >/dev/full" && expect_code 1 &&
	expect_err "m3-x3d: *No space left on device"
'

done_testing
