#!/bin/sh
# m3-phantom as a user runs it: DICOM that tools we did not write accept, truth that matches
# the pixels, the same bytes for the same seed, and no partial output on failure.
. "$(dirname "$0")/lib.sh"

PHTOOLS="$TOP/tests/phantom"
MSIZE="--size 512x640"
CSIZE="--size 96x96x64"
VIEWS="R_CC.dcm L_CC.dcm R_MLO.dcm L_MLO.dcm"

# A python3 with numpy (and nibabel for the NIfTI check), Debian's if the first on PATH lacks it.
PY=
for p in python3 /usr/bin/python3; do
	if "$p" -c 'import numpy' >/dev/null 2>&1; then PY=$p; break; fi
done
need_py() {
	if [ -z "$PY" ]; then skip_reason="no python3 with numpy"; else skip_reason=; fi
}

# Studies made once and compared by several checks.
DATA="$SCRATCH/data"
mkdir -p "$DATA"
m3-phantom mammo -s 7 $MSIZE -o "$DATA/m7" 2>"$DATA/m7.err"
m3-phantom mammo -s 7 $MSIZE --noise 0 -o "$DATA/m7q" 2>"$DATA/m7q.err"

check '--help: usage and every option on stdout, exit 0' '
	run m3-phantom --help && expect_code 0 && expect_empty err &&
	grep -q "^usage: m3-phantom mammo|cbct" out && grep -q -- "--syntax" out
'

check 'every option of --help is in man/m3-phantom.1 and the other way round' '
	m3-phantom --help | grep -o -- "--[a-z][a-z-]*" | sort -u >help.txt &&
	grep -o "Fl \\\\-[a-z][a-z-]*" "$TOP/man/m3-phantom.1" | sed "s/Fl \\\\-/--/" | sort -u >man.txt &&
	m3-phantom --help | grep -o "^  -[a-z]," | tr -d " ," | sort -u >hs.txt &&
	sed -n "s/^\.It Fl \([a-z]\)\( .*\)*$/-\1/p" "$TOP/man/m3-phantom.1" | sort -u >ms.txt &&
	[ -s help.txt ] && [ -s hs.txt ] && cmp help.txt man.txt && cmp hs.txt ms.txt
'

check '--version: one line on stdout' '
	run m3-phantom --version && expect_code 0 && expect_empty err &&
	grep -q "^m3-phantom (m3) [0-9]" out
'

check 'bad option: usage on stderr, exit 2' '
	run m3-phantom mammo --bogus && expect_code 2 && expect_empty out &&
	grep -q "^usage: m3-phantom" err
'

check 'bad mode, no mode, two modes: one line, exit 2' '
	run m3-phantom ct -o x && expect_code 2 && expect_err "m3-phantom: ct: unknown mode*" &&
	run m3-phantom -o x && expect_code 2 && expect_err "m3-phantom: missing mode*" &&
	run m3-phantom mammo cbct -o x && expect_code 2 && expect_err "*one mode only*" &&
	expect_files
'

check 'bad --size, --syntax, --seed, --spacing, mammo --artefacts/--multiframe: exit 2, nothing made' '
	run m3-phantom mammo --size 512 -o x && expect_code 2 && expect_err "*--size:*" &&
	run m3-phantom cbct --size 10x10 -o x && expect_code 2 && expect_err "*--size:*" &&
	run m3-phantom mammo --size 0x64 -o x && expect_code 2 &&
	run m3-phantom mammo --syntax jpeg -o x && expect_code 2 && expect_err "*--syntax:*" &&
	run m3-phantom mammo -s -1 -o x && expect_code 2 && expect_err "*--seed:*" &&
	run m3-phantom mammo --spacing 0 -o x && expect_code 2 && expect_err "*--spacing:*" &&
	run m3-phantom mammo --artefacts -o x && expect_code 2 && expect_err "*only for cbct" &&
	run m3-phantom mammo --multiframe -o x && expect_code 2 &&
	expect_err "m3-phantom: --multiframe: only for cbct" &&
	run m3-phantom cbct --multiframe --size 2048x2048x600 -o x && expect_code 2 &&
	expect_err "m3-phantom: --multiframe: 2048x2048x600 is over the 4 GiB of one Pixel Data" &&
	run m3-phantom cbct --multiframe --size 2048x2048x600 && expect_code 2 && expect_empty out &&
	expect_files
'

check 'mammo -o dir: four views and truth.json, nothing else left' '
	run m3-phantom mammo -s 7 $MSIZE -o study && expect_code 0 && expect_empty err &&
	expect_empty out && expect_files study &&
	[ "$(ls -A study | sort | tr "\n" " ")" = "L_CC.dcm L_MLO.dcm R_CC.dcm R_MLO.dcm truth.json " ]
'

check 'mammo: the same seed gives the same bytes, at any -j' '
	m3-phantom mammo -s 7 $MSIZE -j 1 -o a && m3-phantom mammo -s 7 $MSIZE -j 3 -o b &&
	for f in $VIEWS truth.json; do
		cmp a/$f "$DATA/m7/$f" && cmp b/$f "$DATA/m7/$f" || return 1
	done
'

check 'mammo: another seed gives other images and other truth' '
	m3-phantom mammo -s 8 $MSIZE -o a &&
	for f in $VIEWS truth.json; do
		if cmp -s a/$f "$DATA/m7/$f"; then echo "# $f did not change" >&2; return 1; fi
	done
'

check 'mammo without -o: a tar stream of the same files' '
	run m3-phantom mammo -s 7 $MSIZE && expect_code 0 && expect_empty err &&
	tar tf out >list && [ "$(tr "\n" " " <list)" = "R_CC.dcm L_CC.dcm R_MLO.dcm L_MLO.dcm truth.json " ] &&
	mkdir x && tar xf out -C x && for f in $VIEWS truth.json; do cmp x/$f "$DATA/m7/$f" || return 1; done
'

check 'mammo -o study.tar: the same tar stream, written whole' '
	m3-phantom mammo -s 7 $MSIZE >want.tar && run m3-phantom mammo -s 7 $MSIZE -o s.tar &&
	expect_code 0 && expect_empty out && cmp s.tar want.tar && expect_files s.tar want.tar
'

check 'an existing empty directory is filled; a non-empty one is refused and left alone' '
	mkdir e && run m3-phantom mammo -s 7 $MSIZE -o e/ && expect_code 0 && cmp e/truth.json "$DATA/m7/truth.json" &&
	mkdir f && echo keep >f/mine && run m3-phantom mammo -s 7 $MSIZE -o f &&
	expect_code 2 && expect_err "m3-phantom: f: directory exists and is not empty" &&
	[ "$(ls -A f)" = mine ] && expect_files e f
'

check '-o in an unwritable place: one error line, exit 1 or 5, nothing left behind' '
	if [ "$(id -u)" -eq 0 ]; then where=/proc/self/m3-phantom-test; else
		mkdir ro && chmod 555 ro && where=ro/study; fi
	run m3-phantom mammo $MSIZE -o "$where" && { expect_code 1 || expect_code 5; } &&
	expect_err "m3-phantom: $where: *" && expect_empty out &&
	{ [ "$where" != ro/study ] || [ -z "$(ls -A ro)" ]; } &&
	run m3-phantom mammo $MSIZE -o "$where.tar" && { expect_code 1 || expect_code 5; } &&
	expect_err "m3-phantom: $where.tar: *" &&
	{ [ "$where" != ro/study ] || [ -z "$(ls -A ro)" ]; }
'

skip_unless script "util-linux script (for a terminal) is not installed"
check 'a tar stream to a terminal is refused, exit 2' '
	run script -qec "m3-phantom mammo --size 64x64" /dev/null && expect_code 2 &&
	grep -q "m3-phantom: refusing to write binary data to a terminal" out && expect_files
'

skip_unless dcmdump "dcmtk's dcmdump is not installed"
check 'dcmtk dcmdump parses every view; the attributes are right' '
	for f in $VIEWS; do
		dcmdump -q "$DATA/m7/$f" >d.txt 2>e.txt && [ ! -s e.txt ] || { cat e.txt >&2; return 1; }
		lat=${f%%_*}; pos=${f#*_}; pos=${pos%.dcm}
		grep -q "(0020,0062) CS \[$lat\]" d.txt && grep -q "(0018,5101) CS \[$pos\]" d.txt &&
		grep -q "(0008,0016) UI =DigitalMammographyXRayImageStorageForPresentation" d.txt &&
		grep -q "(0008,0068) CS \[FOR PRESENTATION\]" d.txt &&
		grep -q "(0018,0015) CS \[BREAST\]" d.txt && grep -q "(0008,0060) CS \[MG\]" d.txt &&
		grep -q "(0010,0010) PN \[PHANTOM^MAMMO\]" d.txt &&
		grep -q "(0010,0020) LO \[M3-PHANTOM-7\]" d.txt &&
		grep -q "(0028,0004) CS \[MONOCHROME2\]" d.txt && grep -q "(0028,0101) US 14" d.txt &&
		grep -q "(0028,0030) DS \[0.07\\\\0.07\]" d.txt &&
		grep -q "(0018,1164) DS \[0.07\\\\0.07\]" d.txt &&
		grep -q "(0028,0010) US 640" d.txt && grep -q "(0028,0011) US 512" d.txt || {
			echo "# $f: an attribute is wrong" >&2; return 1; }
	done
'

skip_unless dciodvfy "dicom3tools dciodvfy is not installed"
check 'dciodvfy: no errors in the mammography IOD' '
	for f in $VIEWS; do
		dciodvfy "$DATA/m7/$f" >v.txt 2>&1
		grep -q "MammographyImageForPresentation" v.txt || { echo "# $f: IOD not recognised" >&2; return 1; }
		if grep -i "error" v.txt >&2; then return 1; fi
	done
'

need_py
check 'truth.json: views match the files (UIDs, sizes), clusters hold 3-20 within 1 cm^2' '
	"$PY" - "$DATA/m7" <<-EOF
	import json, sys
	sys.path.insert(0, "$PHTOOLS")
	import dcm
	d = sys.argv[1]
	t = json.load(open(d + "/truth.json"))
	assert t["seed"] == 7 and len(t["views"]) == 4
	for v in t["views"]:
	    ds = dcm.read(d + "/" + v["file"])
	    assert dcm.text(ds, 0x00080018) == v["sop_uid"], v["file"]
	    assert dcm.text(ds, 0x0020000D) == t["study_uid"]
	    assert (dcm.us(ds, 0x00280011), dcm.us(ds, 0x00280010)) == (v["columns"], v["rows"])
	    assert dcm.text(ds, 0x00200062) == v["laterality"]
	assert len(t["calcifications"]) >= 4 and len(t["clusters"]) >= 1
	kinds = set(x["kind"] for x in t["distractors"])
	assert {"noise-peak", "benign-calcification"} <= kinds, kinds
	for c in t["calcifications"]:
	    assert 0.1 <= c["diameter_mm"] <= 1.0, c
	EOF
'

check 'each calcification rises by its contrast at its x/y (noise-free), not beside it' '
	"$PY" "$PHTOOLS/check_mammo.py" "$DATA/m7q" exact &&
	"$PY" "$PHTOOLS/check_mammo.py" "$DATA/m7q" shifted
'

check 'with quantum noise the calcifications still rise by their contrast on average' '
	"$PY" "$PHTOOLS/check_mammo.py" "$DATA/m7" noisy
'

check '--noise 0 changes the pixels, not the truth' '
	cmp "$DATA/m7/truth.json" "$DATA/m7q/truth.json" &&
	! cmp -s "$DATA/m7/L_CC.dcm" "$DATA/m7q/L_CC.dcm"
'

check 'the check fails on a wrong truth (every contrast off by 2000)' '
	cp -r "$DATA/m7q" w &&
	sed "s/\"contrast\": \([0-9][0-9.]*\)/\"contrast\": 2\1/" "$DATA/m7q/truth.json" >w/truth.json &&
	! cmp -s w/truth.json "$DATA/m7q/truth.json" &&
	! "$PY" "$PHTOOLS/check_mammo.py" w exact >/dev/null 2>&1
'

skip_unless gdcmconv "GDCM tools (gdcmconv, gdcminfo) are not installed"
[ -n "$PY" ] || skip_reason="no python3 with numpy"
for syn in rle:1.2.840.10008.1.2.5 jpegls:1.2.840.10008.1.2.4.80 j2k:1.2.840.10008.1.2.4.90; do
	name=${syn%%:*} uid=${syn#*:}
	check "--syntax $name: transfer syntax $uid, decodes to the explicit pixels" '
		m3-phantom mammo -s 7 $MSIZE --syntax '"$name"' -o s &&
		cmp s/truth.json "$DATA/m7/truth.json" &&
		for f in $VIEWS; do
			gdcminfo s/$f | grep -q "^TransferSyntax is '"$uid"' " || return 1
			gdcmconv --raw s/$f raw.dcm && "$PY" - raw.dcm "$DATA/m7/$f" <<-EOF || return 1
			import sys
			sys.path.insert(0, "$PHTOOLS")
			import dcm
			assert (dcm.pixels(sys.argv[1]) == dcm.pixels(sys.argv[2])).all()
			EOF
		done
	'
done

# The CBCT series, made once: 96x96x64 at 100/96 mm.
m3-phantom cbct -s 7 $CSIZE -o "$DATA/c7" 2>"$DATA/c7.err"
cslices() { # the file names a cbct of $1 slices has, in order
	i=1; while [ $i -le "$1" ]; do printf "CT%04d.dcm\n" $i; i=$((i + 1)); done
}

check 'cbct -o dir: one file per slice and truth.nrrd, nothing else left' '
	run m3-phantom cbct -s 7 $CSIZE -o ct && expect_code 0 && expect_empty err &&
	expect_files ct && { cslices 64; echo truth.nrrd; } >want && ls ct | sort >got &&
	cmp want got
'

check 'cbct: the same seed gives the same bytes at any -j; another seed does not' '
	m3-phantom cbct -s 7 $CSIZE -j 1 -o a && m3-phantom cbct -s 8 $CSIZE -j 3 -o b &&
	for f in $(cslices 64) truth.nrrd; do cmp a/$f "$DATA/c7/$f" || return 1; done &&
	! cmp -s b/truth.nrrd "$DATA/c7/truth.nrrd" && ! cmp -s b/CT0032.dcm "$DATA/c7/CT0032.dcm"
'

check 'cbct without -o: a tar stream, slices in order, then the truth' '
	m3-phantom cbct -s 7 $CSIZE >s.tar && tar tf s.tar >got &&
	{ cslices 64; echo truth.nrrd; } >want && cmp want got &&
	mkdir x && tar xf s.tar -C x && cmp x/truth.nrrd "$DATA/c7/truth.nrrd"
'

check 'cbct: truth.nrrd is an m3 volume stream of uint8 labels with the series geometry' '
	head -c 400 "$DATA/c7/truth.nrrd" >h && grep -q "^type: uint8$" h &&
	grep -q "^sizes: 96 96 64$" h && grep -q "^space: left-posterior-superior$" h &&
	grep -q "^m3-labels:=1 bone;2 teeth;3 soft-tissue$" h && grep -q "^space origin: (" h &&
	grep -q "^space directions: (1.041666667,0,0) (0,1.041666667,0) (0,0,1.041666667)$" h
'

skip_unless teem-unu "teem-unu is not installed"
check 'cbct: teem unu reads truth.nrrd; the labels run 0-3' '
	teem-unu minmax "$DATA/c7/truth.nrrd" >mm && grep -q "^min: 0" mm && grep -q "^max: 3" mm
'

skip_unless dcmdump "dcmtk's dcmdump is not installed"
check 'cbct: dcmtk dcmdump parses every slice; CT attributes are right' '
	for f in $(cslices 64); do
		dcmdump -q "$DATA/c7/$f" >d.txt 2>e.txt && [ ! -s e.txt ] || { cat e.txt >&2; return 1; }
	done &&
	grep -q "(0008,0016) UI =CTImageStorage" d.txt && grep -q "(0008,0060) CS \[CT\]" d.txt &&
	grep -q "(0020,0037) DS \[1\\\\0\\\\0\\\\0\\\\1\\\\0\]" d.txt &&
	grep -q "(0028,1052) DS \[-1024\]" d.txt && grep -q "(0028,1053) DS \[1\]" d.txt &&
	grep -q "(0010,0010) PN \[PHANTOM^CBCT\]" d.txt && grep -q "(0020,0013) IS \[64\]" d.txt
'

skip_unless dciodvfy "dicom3tools dciodvfy is not installed"
check 'dciodvfy: no errors in the CT IOD' '
	for f in CT0001.dcm CT0020.dcm CT0040.dcm CT0064.dcm; do
		dciodvfy "$DATA/c7/$f" >v.txt 2>&1
		grep -q "^CTImage" v.txt || { echo "# $f: IOD not recognised" >&2; return 1; }
		if grep -i "error" v.txt >&2; then return 1; fi
	done
'

need_py
check 'cbct: slices sit where the truth says; each label has its tissue HU' '
	"$PY" "$PHTOOLS/check_cbct.py" "$DATA/c7"
'

check 'cbct: the check fails when the truth is one slice off' '
	cp -r "$DATA/c7" w && "$PY" - w/truth.nrrd <<-EOF &&
	import re, sys
	p = sys.argv[1]
	b = open(p, "rb").read()
	h, _, d = b.partition(b"\n\n")
	h = re.sub(rb"space origin: \((.*),(.*),(.*)\)", lambda m: b"space origin: (%s,%s,%r)" % (m.group(1), m.group(2), float(m.group(3)) + 1.041666667), h)
	open(p, "wb").write(h + b"\n\n" + d)
	EOF
	! "$PY" "$PHTOOLS/check_cbct.py" w >/dev/null 2>&1
'

skip_unless dcm2niix "dcm2niix is not installed"
"$PY" -c "import nibabel" 2>/dev/null || skip_reason="python3 nibabel is not installed"
check 'dcm2niix converts the series; its NIfTI (RAS) lands on the truth (LPS) voxel for voxel' '
	mkdir n && dcm2niix -z n -f vol -o n "$DATA/c7" >log 2>&1 && [ -f n/vol.nii ] &&
	"$PY" "$PHTOOLS/check_cbct.py" "$DATA/c7" n/vol.nii
'

need_py
check 'cbct --artefacts: streaks and metal in the pixels, the same labels' '
	m3-phantom cbct -s 7 $CSIZE --artefacts -o a && cmp a/truth.nrrd "$DATA/c7/truth.nrrd" &&
	! cmp -s a/CT0030.dcm "$DATA/c7/CT0030.dcm" &&
	"$PY" - a <<-EOF
	import glob, sys
	sys.path.insert(0, "$PHTOOLS")
	import dcm
	assert max(dcm.pixels(f).max() for f in glob.glob(sys.argv[1] + "/CT*.dcm")) == 4095
	EOF
'

skip_unless gdcmconv "GDCM tools (gdcmconv, gdcminfo) are not installed"
[ -n "$PY" ] || skip_reason="no python3 with numpy"
check 'cbct --syntax jpegls: JPEG-LS slices that decode to the explicit pixels' '
	m3-phantom cbct -s 7 $CSIZE --syntax jpegls -o s && cmp s/truth.nrrd "$DATA/c7/truth.nrrd" &&
	for f in CT0001.dcm CT0033.dcm; do
		gdcminfo s/$f | grep -q "^TransferSyntax is 1.2.840.10008.1.2.4.80 " &&
		gdcmconv --raw s/$f raw.dcm && "$PY" - raw.dcm "$DATA/c7/$f" <<-EOF || return 1
		import sys
		sys.path.insert(0, "$PHTOOLS")
		import dcm
		assert (dcm.pixels(sys.argv[1]) == dcm.pixels(sys.argv[2])).all()
		EOF
	done
'

# The same CBCT as one Enhanced CT Image object (--multiframe), made once.
m3-phantom cbct -s 7 $CSIZE --multiframe -o "$DATA/e7" 2>"$DATA/e7.err"
# m3-decode's volume of a folder: the header without the series UID (the enhanced object is
# a series of its own), then the data bytes through volcat -D.
decoded() {
	m3-decode -q "$1" >"$2.nrrd" && sed -n "/^\$/q;/^m3-series:=/d;p" "$2.nrrd" >"$2.head" &&
	volcat -D "$2.nrrd" >"$2.data"
}

check 'cbct --multiframe -o dir: CT.dcm and truth.nrrd; the truth is the series truth' '
	run m3-phantom cbct -s 7 $CSIZE --multiframe -o e && expect_code 0 && expect_empty err &&
	expect_empty out && expect_files e && [ "$(ls e | tr "\n" " ")" = "CT.dcm truth.nrrd " ] &&
	volcat -D e/truth.nrrd >a && volcat -D "$DATA/c7/truth.nrrd" >b && cmp a b &&
	grep -a -v "^m3-series:=" e/truth.nrrd | head -c 400 >ha &&
	grep -a -v "^m3-series:=" "$DATA/c7/truth.nrrd" | head -c 400 >hb && cmp ha hb
'

check 'cbct --multiframe: the same seed gives the same bytes at any -j, and without -o' '
	m3-phantom cbct -s 7 $CSIZE --multiframe -j 1 -o a &&
	m3-phantom cbct -s 7 $CSIZE --multiframe -j 3 >s.tar &&
	cmp a/CT.dcm "$DATA/e7/CT.dcm" && cmp a/truth.nrrd "$DATA/e7/truth.nrrd" &&
	[ "$(tar tf s.tar | tr "\n" " ")" = "CT.dcm truth.nrrd " ] &&
	mkdir x && tar xf s.tar -C x && cmp x/CT.dcm "$DATA/e7/CT.dcm" &&
	m3-phantom cbct -s 8 $CSIZE --multiframe -o b && ! cmp -s b/CT.dcm "$DATA/e7/CT.dcm"
'

skip_unless dciodvfy "dicom3tools dciodvfy is not installed"
check 'cbct --multiframe: dciodvfy finds the Enhanced CT IOD and no errors (explicit, rle)' '
	dciodvfy "$DATA/e7/CT.dcm" >v.txt 2>&1
	grep -q "^EnhancedCTImage" v.txt || { cat v.txt >&2; echo "# IOD not recognised" >&2; return 1; }
	if grep -i "error" v.txt >&2; then return 1; fi
	m3-phantom cbct -s 7 $CSIZE --multiframe --syntax rle -o r && dciodvfy r/CT.dcm >v.txt 2>&1
	grep -q "^EnhancedCTImage" v.txt && ! grep -i "error" v.txt >&2
'

skip_unless dcmdump "dcmtk's dcmdump is not installed"
check 'cbct --multiframe: dcmdump parses it; 64 frames, each with its own plane position' '
	dcmdump -q "$DATA/e7/CT.dcm" >d.txt 2>e.txt && [ ! -s e.txt ] || { cat e.txt >&2; return 1; }
	grep -q "(0008,0016) UI =EnhancedCTImageStorage" d.txt && grep -q "(0028,0008) IS \[64\]" d.txt &&
	[ "$(grep -c "(0020,0032) DS" d.txt)" -eq 64 ] && [ "$(grep -c "(0020,9113) SQ" d.txt)" -eq 64 ] &&
	[ "$(grep -c "(0020,9116) SQ" d.txt)" -eq 1 ] && [ "$(grep -c "(0028,9110) SQ" d.txt)" -eq 1 ] &&
	grep -q "(0028,1054) LO \[HU\]" d.txt && grep -q "(0028,1052) DS \[-1024\]" d.txt &&
	grep -q "(0018,0088) DS \[1.041666667\]" d.txt && grep -q "(0008,9007) CS \[ORIGINAL" d.txt
'

need_py
check 'cbct --multiframe: frames sit where the truth says; each label has its tissue HU' '
	"$PY" "$PHTOOLS/check_cbct.py" "$DATA/e7"
'

check 'cbct --multiframe: the check fails when the truth is one slice off' '
	cp -r "$DATA/e7" w && "$PY" - w/truth.nrrd <<-EOF &&
	import re, sys
	p = sys.argv[1]
	b = open(p, "rb").read()
	h, _, d = b.partition(b"\n\n")
	h = re.sub(rb"space origin: \((.*),(.*),(.*)\)", lambda m: b"space origin: (%s,%s,%r)" % (m.group(1), m.group(2), float(m.group(3)) + 1.041666667), h)
	open(p, "wb").write(h + b"\n\n" + d)
	EOF
	! "$PY" "$PHTOOLS/check_cbct.py" w >/dev/null 2>&1
'

skip_unless dcm2niix "dcm2niix is not installed"
"$PY" -c "import nibabel" 2>/dev/null || skip_reason="python3 nibabel is not installed"
check 'dcm2niix converts CT.dcm to the NIfTI of the series: same affine, same values' '
	mkdir n s && dcm2niix -z n -f vol -o n "$DATA/e7" >log 2>&1 && [ -f n/vol.nii ] &&
	dcm2niix -z n -f vol -o s "$DATA/c7" >log 2>&1 && [ -f s/vol.nii ] &&
	"$PY" "$PHTOOLS/check_cbct.py" "$DATA/e7" n/vol.nii && "$PY" - n/vol.nii s/vol.nii <<-EOF
	import sys
	import nibabel as nib
	import numpy as np
	a, b = nib.load(sys.argv[1]), nib.load(sys.argv[2])
	assert a.shape == b.shape, (a.shape, b.shape)
	assert np.abs(a.affine - b.affine).max() < 1e-4, (a.affine, b.affine)
	assert np.array_equal(a.get_fdata(), b.get_fdata())
	EOF
'

skip_unless m3-decode "bin/m3-decode is not built"
check 'm3-decode: CT.dcm decodes to the volume of the series (data bytes and geometry)' '
	decoded "$DATA/c7" c && decoded "$DATA/e7" e && cmp c.head e.head && cmp c.data e.data &&
	grep -q "^sizes: 96 96 64$" e.head && grep -q "^m3-units:=HU$" e.head &&
	m3-phantom cbct -s 7 $CSIZE --multiframe | m3-decode -q >t.nrrd && cmp t.nrrd e.nrrd
'

skip_unless gdcmconv "GDCM tools (gdcmconv, gdcminfo) are not installed"
[ -n "$PY" ] || skip_reason="no python3 with numpy"
# same_frames COMPRESSED RAW EXPLICIT: COMPRESSED has one fragment a frame, and RAW (it made
# plain by gdcmconv) has the frames of EXPLICIT.
same_frames() {
	"$PY" - "$@" <<-EOF
	import sys
	sys.path.insert(0, "$PHTOOLS")
	import dcm
	a, b = dcm.pixels(sys.argv[2]), dcm.pixels(sys.argv[3])
	assert len(dcm.fragments(sys.argv[1])) == b.shape[0] == 64, len(dcm.fragments(sys.argv[1]))
	assert a.shape == b.shape and (a == b).all()
	EOF
}
for syn in rle:1.2.840.10008.1.2.5 jpegls:1.2.840.10008.1.2.4.80 j2k:1.2.840.10008.1.2.4.90; do
	name=${syn%%:*} uid=${syn#*:}
	check "cbct --multiframe --syntax $name: one fragment a frame; the pixels and m3-decode's volume of explicit" '
		m3-phantom cbct -s 7 $CSIZE --multiframe --syntax '"$name"' -o s &&
		cmp s/truth.nrrd "$DATA/e7/truth.nrrd" &&
		gdcminfo s/CT.dcm | grep -q "^TransferSyntax is '"$uid"' " &&
		gdcmconv --raw s/CT.dcm raw.dcm && same_frames s/CT.dcm raw.dcm "$DATA/e7/CT.dcm" &&
		decoded "$DATA/e7" e && decoded s x && cmp e.head x.head && cmp e.data x.data
	'
done

done_testing
