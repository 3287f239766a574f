#!/bin/sh
# m3-decode as a user runs it: DICOM series it makes itself (tests/decode/mkdcm.py, and
# compressed copies made with GDCM's gdcmconv), checked against dcm2niix and dcmtk.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
MK="$PY $TOP/tests/decode/mkdcm.py"
CMP="$PY $TOP/tests/decode/compare.py"
D="$SCRATCH/data"
mkdir -p "$D"

skip_unless m3-decode "bin/m3-decode is not built"

# niix DIR OUT: dcm2niix's NIfTI of the series in DIR as OUT.nii
niix() {
	mkdir -p "$2.d" && dcm2niix -z n -b n -o "$2.d" -f x "$1" >/dev/null 2>&1 &&
		mv "$2.d/x.nii" "$2.nii" && rm -rf "$2.d"
}

# same MINE DIR: MINE holds the voxels and geometry dcm2niix finds in DIR
same() {
	niix "$2" ref && $CMP "$1" ref.nii
}

volumes() { grep -a -o 'NRRD0004' "$1" | wc -l; }

check '-h prints usage and every option on stdout, exit 0' '
	run m3-decode -h && expect_code 0 && expect_empty err && grep -q "^usage: m3-decode" out &&
	for o in --format --help --jobs --keep-going --keep-phi --list --output --progress \
		--quiet --series --verbose --version --gzip; do grep -q -e "$o" out || return 1; done
'

check 'a bad option: usage on stderr, exit 2' '
	run m3-decode --frobnicate && expect_code 2 && grep -q "^usage: m3-decode" err &&
	expect_empty out
'

check 'every option of --help is in the man page and the other way round' '
	m3-decode --help | grep -o -e "--[a-z-]*" -e "^  -[a-z]" | tr -d " " | sort -u >help.txt &&
	sed -n "/^\.Sh OPTIONS/,/^\.Sh/p" "$TOP/man/m3-decode.1" |
		sed -n "s/^\.It Fl \([a-z]\)\( , Fl Fl \([a-z-]*\)\)*.*/-\1 --\3/p; s/^\.It Fl Fl \([a-z-]*\).*/--\1/p" |
		tr " " "\n" | grep -v "^--$" | sort -u >man.txt &&
	diff help.txt man.txt >&2 && test -s man.txt
'

check 'the man page is mandoc -Tlint clean' '
	command -v mandoc >/dev/null || return 0
	mandoc -Tlint -Wwarning "$TOP/man/m3-decode.1" >&2
'

check '--version names m3-decode and GDCM' '
	run m3-decode --version && expect_code 0 && grep -q "^m3-decode .*GDCM" out
'

check 'bad -f and -j are usage errors' '
	run m3-decode -f png x && expect_code 2 && expect_err "m3-decode: -f: \"png\" is not nrrd or nifti" &&
	run m3-decode -j 0x x && expect_code 2
'

skip_unless dcm2niix "dcm2niix is not installed"
[ -n "$skip_reason" ] || $PY -c "import nibabel, numpy" 2>/dev/null ||
	skip_reason="python3-nibabel and python3-numpy are needed"
[ -n "$skip_reason" ] || {
	$MK --size 32x24x10 "$D/ax"
	$MK --size 20x16x7 --iop 0,1,0,0,0,-1 --shuffle --seed 3 --unsigned --bits-stored 12 \
		--intercept -1024 "$D/sag"
	$MK --size 20x16x7 --iop 0.8660254,0.5,0,-0.5,0.8660254,0 --seed 4 --slope 0.5 \
		--intercept 3 "$D/obl"
}

check 'explicit VR LE, axial CT: voxels and geometry equal dcm2niix'"'"'s' '
	run m3-decode "$D/ax" && expect_code 0 && expect_empty err && mv out a.nrrd &&
	same a.nrrd "$D/ax" && grep -a -q "^m3-units:=HU$" a.nrrd
'

check 'sagittal, 12-bit unsigned, files out of order: equal to dcm2niix, int16 HU' '
	run m3-decode "$D/sag" && expect_code 0 && mv out a.nrrd && same a.nrrd "$D/sag" &&
	grep -a -q "^type: int16$" a.nrrd
'

check 'oblique with a fractional slope: float, equal to dcm2niix' '
	run m3-decode "$D/obl" && expect_code 0 && mv out a.nrrd && same a.nrrd "$D/obl" &&
	grep -a -q "^type: float$" a.nrrd
'

check 'the comparison can fail: a shifted origin is caught' '
	m3-decode "$D/ax" | sed "s/^space origin: (-10,/space origin: (-11,/" >a.nrrd &&
	! same a.nrrd "$D/ax" >/dev/null
'

# conv SYNTAX: a copy of the axial series in that transfer syntax (GDCM's gdcmconv)
conv() {
	[ -d "$D/ax-$1" ] && return 0
	mkdir -p "$D/ax-$1" && for f in "$D"/ax/*.dcm; do
		gdcmconv "--$1" "$f" "$D/ax-$1/${f##*/}" || return 1
	done
}

for ts in rle jpeg j2k implicit; do
	check "transfer syntax $ts: equal to dcm2niix on the same files" '
		conv '$ts' && run m3-decode "$D/ax-'$ts'" && expect_code 0 && mv out a.nrrd &&
		same a.nrrd "$D/ax-'$ts'"
	'
done

check 'JPEG-LS: equal to dcm2niix on dcmtk'"'"'s decompressed copy (dcmdjpls)' '
	conv jpegls && mkdir raw && for f in "$D"/ax-jpegls/*.dcm; do
		dcmdjpls "$f" "raw/${f##*/}" || return 1; done &&
	run m3-decode "$D/ax-jpegls" && expect_code 0 && mv out a.nrrd && same a.nrrd raw
'

check 'deflate: equal to dcm2niix on dcmtk'"'"'s inflated copy (dcmconv +te)' '
	conv deflated && mkdir raw && for f in "$D"/ax-deflated/*.dcm; do
		dcmconv +te "$f" "raw/${f##*/}" || return 1; done &&
	run m3-decode "$D/ax-deflated" && expect_code 0 && mv out a.nrrd && same a.nrrd raw
'

check 'big endian (dcmtk dcmconv +tb): same voxels as little endian' '
	mkdir be && for f in "$D"/ax/*.dcm; do dcmconv +tb "$f" "be/${f##*/}" || return 1; done &&
	run m3-decode be && expect_code 0 && mv out a.nrrd && same a.nrrd "$D/ax"
'

check '-f nifti and .nii.gz: nibabel reads dcm2niix'"'"'s geometry and voxels' '
	run m3-decode -f nifti -o a.nii "$D/sag" && expect_code 0 && expect_empty out &&
	same a.nii "$D/sag" &&
	run m3-decode -o b.nii.gz "$D/obl" && expect_code 0 && gzip -t b.nii.gz &&
	same b.nii.gz "$D/obl"
'

check 'a tar stream on stdin gives the same bytes as the folder' '
	m3-decode "$D/ax" >dir.nrrd && (cd "$D" && tar cf - ax) >s.tar &&
	run m3-decode <s.tar && expect_code 0 && expect_empty err && cmp out dir.nrrd
'

check 'a tar file operand gives the same bytes as the folder; a cut one is exit 3' '
	m3-decode "$D/ax" >dir.nrrd && (cd "$D" && tar cf - ax) >s.tar &&
	run m3-decode s.tar && expect_code 0 && expect_empty err && cmp out dir.nrrd &&
	head -c 2000 s.tar >cut.tar && run m3-decode cut.tar && expect_code 3 &&
	expect_err "m3-decode: cut.tar*" && expect_empty out
'

check 'one DICOM file on stdin: a 2D volume' '
	run m3-decode - <"$D/ax/IM0003.dcm" && expect_code 0 &&
	grep -a -q "^dimension: 2$" out && grep -a -q "^sizes: 32 24$" out
'

check '-z: gzip data that volcat reads back to the same stream' '
	m3-decode "$D/ax" >a.nrrd && run m3-decode -z "$D/ax" && expect_code 0 &&
	grep -a -q "^encoding: gzip$" out && volcat out | cmp - a.nrrd
'

check '-j 1 and -j 4 write the same bytes' '
	m3-decode -j 1 "$D/sag" >a.nrrd && m3-decode -j 4 "$D/sag" >b.nrrd && cmp a.nrrd b.nrrd
'

check 'MONOCHROME1 is inverted: mono1 + mono2 is the constant smin+smax+2b' '
	$MK --size 8x6x3 --unsigned --bits-stored 12 --intercept 0 m1 --monochrome1 &&
	$MK --size 8x6x3 --unsigned --bits-stored 12 --intercept 0 m2 &&
	m3-decode m1 >a.nrrd && m3-decode m2 >b.nrrd &&
	grep -a -q "^m3-photometric:=MONOCHROME2$" a.nrrd &&
	$PY -c "
import sys; sys.path.insert(0, \"$TOP/tests/decode\"); import compare as c
a, _ = c.read_nrrd(\"a.nrrd\"); b, _ = c.read_nrrd(\"b.nrrd\")
s = a + b; sys.exit(0 if (s == 4095).all() else 1)"
'

check 'enhanced multi-frame, frames shuffled: equal to dcm2niix and to the same slices as files' '
	$MK --multiframe --size 20x16x9 --seed 5 --iop 0,1,0,0,0,-1 mf &&
	$MK --size 20x16x9 --seed 5 --iop 0,1,0,0,0,-1 sf &&
	run m3-decode mf && expect_code 0 && mv out a.nrrd && same a.nrrd mf &&
	m3-decode sf | cmp - a.nrrd
'

check 'two series mixed in one folder: -l lists two, the stream has two volumes' '
	mkdir mix && cp "$D"/ax/*.dcm mix/ && $MK --size 8x8x4 --seed 9 --prefix Z mix &&
	run m3-decode -l mix && expect_code 0 && test "$(wc -l <out)" = 2 &&
	grep -q "\"index\":2,.*\"sizes\":\[8,8,4\]" out &&
	run m3-decode mix && expect_code 0 && test "$(volumes out)" = 2
'

check '-s picks one series by index or by UID, real or pseudonymised' '
	mkdir mix && cp "$D"/ax/*.dcm mix/ && $MK --size 8x8x4 --seed 9 --prefix Z --series 1.2.3.4 mix &&
	run m3-decode -s 2 mix && expect_code 0 && test "$(volumes out)" = 1 &&
	grep -a -q "^sizes: 8 8 4$" out && mv out a.nrrd &&
	uid=$(grep -a "^m3-series:=" a.nrrd | cut -d= -f2) &&
	m3-decode -s "$uid" mix | cmp - a.nrrd && m3-decode -s 1.2.3.4 mix | cmp - a.nrrd &&
	run m3-decode -s 3 mix && expect_code 2 && expect_err "m3-decode: -s 3: no such series*"
'

check 'one series UID with two geometries is split in two volumes' '
	$MK --size 8x8x3 --series 1.2.9 g && $MK --size 8x8x3 --series 1.2.9 --iop 0,1,0,0,0,-1 \
		--prefix S g && run m3-decode -l g && expect_code 0 && test "$(wc -l <out)" = 2
'

check 'a missing slice: a warning, the volume still out' '
	$MK --size 8x8x6 --skip 3 miss && run m3-decode miss && expect_code 0 &&
	expect_err "m3-decode: series 1: missing slices: a gap of 2.5 mm after slice 3 *" &&
	grep -a -q "^sizes: 8 8 5$" out
'

check 'gantry tilt: a warning and a sheared slice axis along the positions' '
	$MK --size 8x8x5 --tilt 20 tilt && run m3-decode tilt && expect_code 0 &&
	expect_err "m3-decode: series 1: gantry tilt of 20.00 degrees*" &&
	grep -a -q "^space directions: (0.6,0,0) (0,0.7,0) (0,0.45496[0-9]*,1.25)$" out
'

check 'truncated at several offsets: exit 3, one line naming the file, no output' '
	for off in 64 131 200 600 1000 2000; do
		head -c $off "$D/ax/IM0002.dcm" >t.dcm && run m3-decode t.dcm && expect_code 3 &&
		expect_err "m3-decode: t.dcm: *" && expect_empty out || return 1
	done
'

check 'pixel data shorter than rows x columns: exit 3' '
	cp "$D/ax/IM0001.dcm" s.dcm && dcmodify -nb -m "(0028,0010)=30" s.dcm &&
	run m3-decode s.dcm && expect_code 3 &&
	expect_err "m3-decode: s.dcm: pixel data is 1536 bytes, 1920 expected"
'

check 'zero rows: exit 3' '
	cp "$D/ax/IM0001.dcm" z.dcm && dcmodify -nb -m "(0028,0010)=0" z.dcm &&
	run m3-decode z.dcm && expect_code 3 && expect_err "m3-decode: z.dcm: rows is 0"
'

check 'a non-DICOM file: exit 3 alone, skipped with a warning in a folder' '
	echo hello >n.txt && run m3-decode n.txt && expect_code 3 &&
	expect_err "m3-decode: n.txt: not a DICOM file" &&
	mkdir f && cp "$D"/ax/*.dcm f/ && cp n.txt f/ && run m3-decode f && expect_code 0 &&
	expect_err "m3-decode: f/n.txt: not a DICOM file; skipped" && grep -a -q "^sizes: 32 24 10$" out
'

check 'an empty tar and empty stdin: exit 3' '
	tar cf e.tar --files-from /dev/null && run m3-decode <e.tar && expect_code 3 &&
	expect_err "m3-decode: stdin: empty tar stream*" &&
	run m3-decode </dev/null && expect_code 3 && expect_err "m3-decode: stdin: empty input"
'

check 'a corrupt file in a folder: exit 3; -k skips it with a warning' '
	mkdir f && cp "$D"/ax/*.dcm f/ && head -c 1000 "$D/ax/IM0004.dcm" >f/IM0004.dcm &&
	run m3-decode f && expect_code 3 && expect_err "m3-decode: f/IM0004.dcm: pixel data is *" &&
	expect_empty out &&
	run m3-decode -q -k f && expect_code 0 && expect_empty err && grep -a -q "^sizes: 32 24 9$" out
'

check 'a file that makes GDCM assert: one line naming it, exit 3; -k goes on' '
	mkdir f && cp "$D"/ax/*.dcm f/ && head -c 600 "$D/ax/IM0005.dcm" >f/IM0005.dcm &&
	run m3-decode f/IM0005.dcm && expect_code 3 && expect_err "m3-decode: f/IM0005.dcm: *" &&
	run m3-decode -k f && expect_code 0 && grep -q "IM0005.dcm: .*; skipped" err &&
	grep -a -q "^sizes: 32 24 9$" out
'

check '-o with bad input leaves no file behind' '
	mkdir f && cp "$D"/ax/*.dcm f/ && head -c 1000 "$D/ax/IM0004.dcm" >f/IM0004.dcm &&
	run m3-decode -o res.nrrd f && expect_code 3 && expect_files f &&
	run m3-decode -o res.nii f && expect_code 3 && expect_files f
'

check 'no patient name, ID or real UID by default; all of them with --keep-phi' '
	run m3-decode "$D/ax" && expect_code 0 && ! grep -a -q "DOE" out && ! grep -a -q PID4242 out &&
	uid=$(dcmdump +P SeriesInstanceUID "$D/ax/IM0001.dcm" | sed "s/.*\[\(.*\)\].*/\1/") &&
	! grep -a -q "$uid" out && grep -a -q "^m3-series:=2\.25\.[0-9]*$" out &&
	run m3-decode -l "$D/ax" && ! grep -q "$uid" out &&
	run m3-decode --keep-phi "$D/ax" && grep -a -q "^m3-patient-name:=DOE^JANE$" out &&
	grep -a -q "^m3-patient-id:=PID4242$" out && grep -a -q "^m3-series:=$uid$" out
'

check 'pseudonyms are stable, and M3_PSEUDO_KEY changes them' '
	a=$(m3-decode -l "$D/ax") && b=$(m3-decode -l "$D/ax") && test "$a" = "$b" &&
	c=$(M3_PSEUDO_KEY=secret m3-decode -l "$D/ax") && test "$a" != "$c"
'

# Colour: RGB and YBR_FULL written by tests/decode/mkcolor.py (with the RGB a decoder must
# give), compressed copies made with gdcmconv and dcmtk's dcmcjpeg; the RGB-color axis 0 of
# the stream dumped with volcat -D and compared with that RGB, with dcmtk's dcmj2pnm and with
# dcm2niix's RGB24 NIfTI.
MKC="$PY $TOP/tests/decode/mkcolor.py"
RGBCMP="$PY $TOP/tests/decode/rgbcmp.py"
[ -n "$skip_reason" ] || {
	$MKC --expect "$D/rgb.exp" "$D/rgb"
	$MKC --planar --expect "$D/rgbp.exp" "$D/rgbp"
	$MKC --ybr --expect "$D/ybr.exp" "$D/ybr"
	$MKC --ybr --planar --expect "$D/ybrp.exp" "$D/ybrp"
	$MKC --multiframe --planar --size 20x16x4 --seed c2 --expect "$D/mf.exp" "$D/mf"
}

# rgb MINE: the header of an RGB volume (axis 0 colour, no space direction) and its bytes
rgb() {
	grep -a -q "^type: uint8$" "$1" && grep -a -q "^m3-photometric:=RGB$" "$1" &&
		grep -a -q "^kinds: RGB-color domain domain\( domain\)*$" "$1" &&
		grep -a -q "^space directions: none (" "$1" && volcat -D "$1" >"$1.rgb"
}

# pnm DIR OUT: dcmtk's RGB (dcmj2pnm) of each file of DIR, every frame, as OUT/*.ppm
pnm() {
	mkdir -p "$2" && for f in "$1"/*.dcm; do
		g=${f##*/} && dcmj2pnm -q +op +Fa "$f" "$2/${g%.dcm}" || return 1
	done
}

# cconv SRC DST CMD...: DST/X.dcm from SRC/X.dcm by CMD... IN OUT
cconv() {
	src=$1 dst=$2 && shift 2 && mkdir -p "$dst" && for f in "$src"/*.dcm; do
		"$@" "$f" "$dst/${f##*/}" || return 1
	done
}

check 'RGB interleaved and planar: exact bytes, RGB-color axis 0, equal to dcm2niix and dcmtk' '
	for s in rgb rgbp; do
		run m3-decode "$D/$s" && expect_code 0 && expect_empty err && mv out $s.nrrd &&
		grep -a -q "^sizes: 3 32 24 3$" $s.nrrd &&
		grep -a -q "^space directions: none (0.4,0,0) (0,0.5,0) (0,0,2)$" $s.nrrd &&
		rgb $s.nrrd && $RGBCMP $s.nrrd.rgb "$D/$s.exp" && pnm "$D/$s" $s.pnm &&
		$RGBCMP $s.nrrd.rgb $s.pnm/*.ppm && same $s.nrrd "$D/$s" || return 1
	done
'

check 'the colour comparisons can fail: one changed byte is caught' '
	m3-decode "$D/rgb" >a.nrrd && rgb a.nrrd && $PY -c "
import sys; b = bytearray(open(\"a.nrrd.rgb\", \"rb\").read()); b[1000] ^= 1
open(\"b.rgb\", \"wb\").write(b)" && ! $RGBCMP b.rgb "$D/rgb.exp" >/dev/null &&
	head -c 300 a.nrrd.rgb >c.rgb && ! $RGBCMP c.rgb "$D/rgb.exp" >/dev/null
'

check 'YBR_FULL interleaved and planar: RGB by the PS3.3 equations, dcmtk within 3' '
	for s in ybr ybrp; do
		run m3-decode "$D/$s" && expect_code 0 && expect_empty err && mv out $s.nrrd &&
		rgb $s.nrrd && $RGBCMP $s.nrrd.rgb "$D/$s.exp" && pnm "$D/$s" $s.pnm &&
		$RGBCMP --tol 3 $s.nrrd.rgb $s.pnm/*.ppm || return 1
	done
'

check 'lossless colour syntaxes (RLE, JPEG lossless, JPEG-LS, JPEG 2000): exact bytes' '
	cconv "$D/rgb" rle gdcmconv --rle && cconv "$D/rgb" jpeg gdcmconv --jpeg &&
	cconv "$D/rgb" jpegls gdcmconv --jpegls && cconv "$D/rgb" j2k gdcmconv --j2k &&
	cconv "$D/rgbp" rlep gdcmconv --rle && cconv "$D/ybrp" ybrrle gdcmconv --rle &&
	cconv "$D/rgb" dcmtk dcmcjpeg && for s in rle jpeg jpegls j2k rlep dcmtk; do
		run m3-decode $s && expect_code 0 && mv out $s.nrrd && rgb $s.nrrd &&
		$RGBCMP $s.nrrd.rgb "$D/rgb.exp" || return 1
	done &&
	run m3-decode ybrrle && expect_code 0 && mv out y.nrrd && rgb y.nrrd &&
	$RGBCMP y.nrrd.rgb "$D/ybrp.exp"
'

check 'JPEG baseline YBR_FULL_422, YBR_FULL and RGB (dcmcjpeg): within 2 of dcmj2pnm' '
	for o in +s2 +s4 +cr +np; do
		cconv "$D/rgb" j$o dcmcjpeg +eb $o && dcmdump j$o/C0001.dcm >dump.txt &&
		grep -q "JPEGBaseline" dump.txt && run m3-decode j$o && expect_code 0 &&
		mv out j$o.nrrd && rgb j$o.nrrd && pnm j$o j$o.pnm &&
		$RGBCMP --tol 2 j$o.nrrd.rgb j$o.pnm/*.ppm || return 1
	done &&
	grep -q "\[YBR_FULL_422\]" dump.txt && grep -a -q "^m3-photometric:=RGB$" j+np.nrrd
'

check 'classic multi-frame RGB, planar and RLE: one slice a frame, exact, equal to dcm2niix' '
	run m3-decode "$D/mf" && expect_code 0 && mv out mf.nrrd && rgb mf.nrrd &&
	grep -a -q "^sizes: 3 20 16 4$" mf.nrrd && $RGBCMP mf.nrrd.rgb "$D/mf.exp" &&
	pnm "$D/mf" mf.pnm && $RGBCMP mf.nrrd.rgb mf.pnm/C0001.[0-3].ppm &&
	same mf.nrrd "$D/mf" && cconv "$D/mf" rle gdcmconv --rle && m3-decode rle | cmp - mf.nrrd
'

check 'RGB to NIfTI: RGB24 with the voxels and geometry of dcm2niix; 2D as the stream' '
	run m3-decode -o a.nii.gz "$D/rgbp" && expect_code 0 && same a.nii.gz "$D/rgbp" &&
	run m3-decode -o b.nii "$D/ybr/C0002.dcm" && expect_code 0 &&
	m3-decode "$D/ybr/C0002.dcm" >b.nrrd && grep -a -q "^dimension: 3$" b.nrrd &&
	grep -a -q "^sizes: 3 32 24$" b.nrrd && $CMP b.nrrd b.nii &&
	grep -a -q "^space directions: none (0.4,0,0) (0,0.5,0)$" b.nrrd && rgb b.nrrd &&
	dd if="$D/ybr.exp" bs=2304 skip=1 count=1 2>/dev/null >s2.rgb && $RGBCMP b.nrrd.rgb s2.rgb
'

check 'colour a tar stream and -j 1 or 4: the same bytes' '
	m3-decode -j 1 "$D/ybrp" >a.nrrd && m3-decode -j 4 "$D/ybrp" | cmp - a.nrrd &&
	(cd "$D" && tar cf - ybrp) | m3-decode | cmp - a.nrrd
'

check 'native YBR_FULL_422, YBR_PARTIAL_422, PALETTE COLOR: one line, exit 3; -k skips' '
	for pi in YBR_FULL_422 YBR_PARTIAL_422; do
		cp "$D/rgb/C0001.dcm" c.dcm && dcmodify -nb -m "(0028,0004)=$pi" c.dcm &&
		run m3-decode c.dcm && expect_code 3 && expect_empty out || return 1
	done &&
	expect_err "m3-decode: c.dcm: photometric interpretation YBR_PARTIAL_422: unsupported" &&
	cp "$D/rgb/C0001.dcm" c.dcm && dcmodify -nb -m "(0028,0004)=YBR_FULL_422" c.dcm &&
	run m3-decode c.dcm && expect_err "m3-decode: c.dcm: photometric interpretation YBR_FULL_422 in a native transfer syntax: unsupported" &&
	cp "$D/ax/IM0001.dcm" p.dcm && dcmodify -nb -m "(0028,0004)=PALETTE COLOR" p.dcm &&
	run m3-decode p.dcm && expect_code 3 &&
	expect_err "m3-decode: p.dcm: photometric interpretation PALETTE COLOR: unsupported" &&
	mkdir f && cp "$D"/rgb/*.dcm f/ && mv c.dcm f/C0009.dcm && run m3-decode -k f &&
	expect_code 0 && grep -q "C0009.dcm: .*unsupported; skipped" err &&
	grep -a -q "^sizes: 3 32 24 3$" out
'

skip_unless m3-phantom "bin/m3-phantom is not built"
[ -n "$skip_reason" ] || command -v dcm2niix >/dev/null || skip_reason="dcm2niix is not installed"
check 'm3-phantom mammo: one 2D volume per image, laterality and view, values of dcm2niix' '
	m3-phantom mammo --size 128x160 -o mg 2>/dev/null && run m3-decode -q mg && expect_code 0 &&
	test "$(volumes out)" = 4 && grep -a -q "^dimension: 2$" out &&
	grep -a -q "^m3-laterality:=L$" out && grep -a -q "^m3-view:=MLO$" out &&
	grep -a -q "^m3-presentation:=FOR PRESENTATION$" out &&
	grep -a -q "^space directions: (0.07,0,0) (0,0.07,0)$" out &&
	run m3-decode mg/L_CC.dcm && expect_code 0 && mv out a.nrrd &&
	mkdir n && dcm2niix -z n -b n -s y -o n -f x mg/L_CC.dcm >/dev/null 2>&1 &&
	$CMP a.nrrd n/x.nii --ignore-origin
'
skip_reason=

check 'binary to a terminal is refused' '
	command -v script >/dev/null || return 0
	script -qec "m3-decode $D/ax" /dev/null >tty.txt 2>&1; rc=$?
	test $rc -eq 2 && grep -q "refusing to write binary data to a terminal" tty.txt
'
skip_reason=

done_testing
