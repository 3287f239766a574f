#!/bin/sh
# make demo: the main pipelines on built-in sample data, no server needed.  Runs every step
# whose tool is built, says which are not built yet, and where the results are.
set -eu
cd "$(dirname "$0")/.."
PATH="$PWD/bin:$PATH"
out="${DEMO_OUT:-$PWD/demo-out}"
rm -rf "$out"
mkdir -p "$out"

have() { [ -x "bin/$1" ]; }
say() { printf 'demo: %s\n' "$*" >&2; }
missing=

if ! have m3-phantom; then
	say "m3-phantom is not built yet (issue 5): no sample data to run on"
	say "what exists: the m3 volume stream library; see make check"
	exit 0
fi

say "1. m3-phantom: a 4-view mammography study and a dental CBCT, as DICOM, with their truth"
m3-phantom mammo --seed 7 -o "$out/mammo"
m3-phantom cbct --seed 7 -o "$out/cbct"

if have m3-decode; then
	say "2. m3-decode: DICOM to the m3 volume stream"
	m3-decode -q "$out/mammo" >"$out/mammo.nrrd"
	m3-decode -q "$out/cbct" >"$out/cbct.nrrd"
	head -n 16 "$out/cbct.nrrd" | sed -n '/^$/q;p' | sed 's/^/    /' >&2
else
	missing="$missing m3-decode(issue 4)"
fi

if have m3-decode && have m3-mammo; then
	say "3. m3-mammo: micro-calcifications, findings and a marked PNG"
	m3-decode -q "$out/mammo" | m3-mammo -o "$out/marks-%n.png" >"$out/findings.jsonl"
else
	missing="$missing m3-mammo(issue 6)"
fi

if have m3-decode && have m3-segment && have m3-x3d; then
	say "4. m3-segment | m3-x3d: teeth and bone to a 3D mesh"
	m3-decode -q "$out/cbct" | m3-segment -p teeth,bone --close 1.5mm@bone --fill-holes -s 20 |
		m3-x3d -s 20 -m 100000 -o "$out/jaw.x3dz"
else
	missing="$missing m3-segment+m3-x3d(issue 7)"
fi

if have m3-view; then
	say "5. m3-view: one page to look at it all"
	set --
	for f in "$out"/marks-*.png "$out/findings.jsonl" "$out/jaw.x3dz"; do
		[ -e "$f" ] && set -- "$@" "$f"
	done
	m3-view -o "$out/index.html" "$@"
	say "open $out/index.html in a browser (desktop or phone)"
else
	missing="$missing m3-view(issue 9)"
fi

[ -n "$missing" ] && say "not built yet, so skipped:$missing"
say "results are in $out:"
ls -l "$out" | sed 's/^/    /' >&2
