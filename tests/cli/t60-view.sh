#!/bin/sh
# m3-view as a user runs it: the page it writes, what it refuses, what it never puts in a page.
# Inputs come from tests/web/mkdata.py (python3, standard library) and volgen.
. "$(dirname "$0")/lib.sh"
MKDATA="$TOP/tests/web/mkdata.py"
export SOURCE_DATE_EPOCH=1700000000

data() { python3 "$MKDATA" . "$@" && volgen -t int16 32 32 16 >ct.nrrd; }

# the page's JSON data block
pagedata() { sed -n '/<script type="application\/json" id="m3-data">/,/<\/script>/p' "$1"; }

check '-h: usage and every option on stdout, exit 0' '
	run m3-view -h && expect_code 0 && expect_empty err && grep -q "^usage: m3-view" out &&
	for o in --max-size --output --quiet --volume-size --threshold --title --verbose --help \
		--version; do grep -q -e "$o" out || { echo "# $o missing" >&2; return 1; }; done
'

check 'every --help option is in man/m3-view.1, and the other way round' '
	m3-view -h >h.txt && man="$TOP/man/m3-view.1" &&
	for o in $(grep -o -e "--[a-z-]*" h.txt | sort -u); do
		grep -q "^\.It Fl.* Fl -${o#--}" "$man" || grep -q "^\.It Fl -${o#--}" "$man" ||
			{ echo "# $o not in the man page" >&2; return 1; }
	done &&
	for o in $(sed -n "s/^\.It Fl \([a-zA-Z]\).*/\1/p" "$man"); do
		grep -q -e "-$o, --" h.txt || { echo "# -$o not in --help" >&2; return 1; }
	done
'

check '--version: "m3-view (m3) VERSION"' '
	run m3-view --version && expect_code 0 && grep -q "^m3-view (m3) [0-9]" out
'

check 'bad option: usage on stderr, exit 2, nothing on stdout' '
	run m3-view --frobnicate && expect_code 2 && grep -q "^usage: m3-view" err && expect_empty out
'

check 'bad numbers: exit 2, names the option' '
	run m3-view -m -3 x.png && expect_code 2 &&
	expect_err "m3-view: --max-size: \"-3\" is not an integer from 0 to 65535" &&
	run m3-view -T abc x.png && expect_code 2 && expect_err "m3-view: --threshold: *"
'

check 'a bad SOURCE_DATE_EPOCH is a usage error' '
	printf "{}\n" >f.jsonl && SOURCE_DATE_EPOCH=soon run m3-view f.jsonl && expect_code 2 &&
	expect_err "m3-view: SOURCE_DATE_EPOCH: *"
'

skip_unless python3 "python3 is needed to make the test images (tests/web/mkdata.py)"

check 'PNGs, findings, X3D and a volume: one page, exit 0, quiet' '
	data && run m3-view -o p.html marks-L-CC.png marks-L-MLO.png findings.jsonl scene.x3d \
		ct.nrrd && expect_code 0 && expect_empty out && expect_empty err &&
	grep -q "^<!DOCTYPE html>" p.html && grep -q "</html>" p.html &&
	pagedata p.html >d.json && test -s d.json &&
	grep -q "\"label\":\"L CC\"" d.json && grep -q "\"label\":\"L MLO\"" d.json &&
	grep -q "\"sizes\":\\[32,32,16\\]" d.json && grep -q "X3DOM" p.html
'

check 'the page is the same for the same inputs (SOURCE_DATE_EPOCH)' '
	data && m3-view -q -o a.html marks-L-CC.png findings.jsonl scene.x3dz &&
	m3-view -q marks-L-CC.png findings.jsonl scene.x3dz >b.html && cmp a.html b.html &&
	grep -q "\"date\":\"2023-11-14T22:13:20Z\"" a.html &&
	grep -q "\"version\":\"$(cat "$TOP/VERSION")\"" a.html &&
	grep -q "\"args\":\"m3-view --max-size 2048 --volume-size 128 --threshold 0 marks-L-CC.png findings.jsonl scene.x3dz\"" a.html
'

check 'the page loads no URL: no src/url()/@import/<link> to the network, a CSP of its own' '
	data && run m3-view -o p.html marks-L-CC.png findings.jsonl scene.x3d cube.stl ct.nrrd &&
	expect_code 0 &&
	! grep -Eiq "(src|srcset|action|formaction|poster|data)[[:space:]]*=[[:space:]]*[\"'\'']?[[:space:]]*(https?:)?//" p.html &&
	! grep -Eiq "url\\([[:space:]]*[\"'\'']?[[:space:]]*(https?:)?//" p.html &&
	! grep -Eiq "@import|<link[[:space:]]" p.html &&
	grep -q "Content-Security-Policy\" content=\"default-src '\''none'\''" p.html
'

check 'no patient identifiers: PNG text, unknown keys, X3D head and comments, directories stay out' '
	mkdir P-SECRET-DIR && (cd P-SECRET-DIR && data) &&
	sed -e "s|<head>|<head><meta name=\"PatientName\" content=\"DOE^JANE\"/>|" \
		-e "s|<Scene>|<Scene><!-- SECRET -->|" P-SECRET-DIR/scene.x3d >phi.x3d &&
	grep -q "DOE^JANE" phi.x3d && grep -q "<!-- SECRET" phi.x3d &&
	grep -q "DOE^JANE" P-SECRET-DIR/marks-L-CC.png && grep -q P-SECRET P-SECRET-DIR/findings.jsonl &&
	run m3-view -q -o p.html P-SECRET-DIR/marks-L-CC.png P-SECRET-DIR/findings.jsonl phi.x3d &&
	expect_code 0 && # (patterns that base64 cannot hold by chance)
	! grep -q -e "DOE^JANE" -e P-SECRET -e " SECRET " -e PatientName -e patient_id p.html &&
	grep -q "marks-L-CC.png" p.html
'

check 'findings go to their image by laterality and view, whatever the order' '
	data && run m3-view -v marks-L-CC.png marks-L-MLO.png findings.jsonl && expect_code 0 &&
	grep -q "findings line 1 (L MLO, 7 calcifications) -> marks-L-MLO.png" err &&
	grep -q "findings line 2 (L CC, 7 calcifications) -> marks-L-CC.png" err
'

check 'm3-mammo layout ("image": its number, keys at the top): matched to marks-%n.png' '
	data && cp marks-L-CC.png marks-1.png && cp marks-L-MLO.png marks-2.png &&
	for i in 2 1; do
		printf "{\"image\":%d,\"series\":\"2.25.999\",\"laterality\":null,\"view\":null,\"width\":320,\"height\":400,\"spacing_mm\":[0.07,0.07],\"device\":\"cpu\",\"threshold\":0.5,\"candidates\":80,\"calcifications\":[{\"id\":1,\"x\":10.5,\"y\":20,\"score\":0.9,\"cluster\":null}],\"clusters\":[{\"id\":1,\"members\":[1],\"x\":10,\"y\":20,\"extent_mm\":[1,2],\"score\":0.8}],\"timings_ms\":{\"total\":12.5}}\n" $i
	done >m.jsonl &&
	run m3-view -v marks-1.png marks-2.png m.jsonl && expect_code 0 &&
	grep -q "findings line 1 ( , 1 calcifications) -> marks-2.png" err &&
	grep -q "findings line 2 ( , 1 calcifications) -> marks-1.png" err &&
	grep -q "\"image\":{\"laterality\":null,\"view\":null,\"width\":320,\"height\":400,\"number\":2,\"pixel_spacing_mm\":\[0.07,0.07\]}" out &&
	grep -q "\"centre\":\[10,20\],\"extent_mm\":\[1,2\]" out &&
	grep -q "\"timings_ms\":{\"total\":12.5},\"threshold\":0.5,\"candidates\":80" out &&
	! grep -q "2.25.999" out
'

check 'findings with no image: a warning, a tab of their own; -q silences it' '
	data && run m3-view findings.jsonl && expect_code 0 &&
	test "$(grep -c "no image for it" err)" = 2 && grep -q "\"label\":\"L CC\"" out &&
	run m3-view -q findings.jsonl && expect_code 0 && expect_empty err
'

check 'binary STL becomes an IndexedTriangleSet (12 triangles, 8 welded points)' '
	data && run m3-view cube.stl && expect_code 0 && grep -q "\"triangles\":12" out &&
	grep -q "IndexedTriangleSet" out
'

check '--max-size downscales, keeps the aspect, and says the original size' '
	python3 -c "
import struct, zlib
w, h = 3000, 2000
raw = b\"\".join(b\"\\0\" + bytes((x * 7 + y) & 255 for x in range(w)) for y in range(0, h, 1))
c = lambda t, d: struct.pack(\">I\", len(d)) + t + d + struct.pack(\">I\", zlib.crc32(t + d))
open(\"big.png\", \"wb\").write(b\"\\x89PNG\\r\\n\\x1a\\n\" + c(b\"IHDR\", struct.pack(\">IIBBBBB\", w, h, 8, 0, 0, 0, 0)) + c(b\"IDAT\", zlib.compress(raw, 1)) + c(b\"IEND\", b\"\"))
" && run m3-view -m 600 big.png && expect_code 0 &&
	grep -q "\"width\":600,\"height\":400,\"orig_width\":3000,\"orig_height\":2000" out &&
	run m3-view -m 0 big.png && expect_code 0 && grep -q "\"width\":3000,\"height\":2000" out
'

check 'a 4-view study (3328x4096 RGB overlays) makes a page under 10 MB' '
	python3 "$MKDATA" . --full && run m3-view -v -o p.html marks-*.png findings.jsonl &&
	expect_code 0 && size=$(wc -c <p.html) && echo "# 4-view page: $size bytes" &&
	test "$size" -lt 10000000 &&
	test "$(grep -c "embedded as 1664x2048 (.*, gray image and a layer of coloured marks)" err)" = 4 &&
	test "$(grep -o "\"marks\":\"data:image/png;base64," p.html | wc -l)" = 4
'

bad() { # bad GLOB FILE...: exit 3, one line matching GLOB, no page, no file left behind
	run m3-view -o page.html "$@" && expect_code 3 && expect_err "$BADGLOB" && expect_empty out &&
	test ! -e page.html && ! ls -A | grep -q "^\.page\.html"
}

check 'not an input m3-view knows: exit 3, one line, no -o file left' '
	printf "hello\n" >n.txt && BADGLOB="m3-view: n.txt: not a PNG, findings JSON Lines, X3D, binary STL or m3 volume" bad n.txt
'

check '--progress: one line per input on stderr when it is not a terminal; none without it' '
	data && run m3-view --progress -o p.html marks-L-CC.png && expect_code 0 &&
	grep -qx "m3-view: input 1 of 1: marks-L-CC.png" err &&
	run m3-view -o q.html marks-L-CC.png && expect_code 0 && expect_empty err
'

check 'a full disk (/dev/full): exit 1, one line naming stdout or the -o file' '
	data && m3-view marks-L-CC.png >/dev/full 2>err; status=$? &&
	expect_code 1 && expect_err "m3-view: stdout: No space left on device" &&
	run m3-view -o /dev/full marks-L-CC.png && expect_code 1 &&
	expect_err "m3-view: /dev/full: No space left on device"
'

check 'a bad input after good ones still leaves no page' '
	data && printf "junk" >j.bin &&
	BADGLOB="m3-view: j.bin: not a PNG*" bad marks-L-CC.png findings.jsonl j.bin
'

check 'empty input and missing files: exit 3' '
	: >e.png && BADGLOB="m3-view: e.png: empty input" bad e.png &&
	BADGLOB="m3-view: nothere.png: No such file or directory" bad nothere.png &&
	run m3-view </dev/null && expect_code 3 && expect_err "m3-view: stdin: empty input"
'

check 'truncated PNG and corrupt PNG: exit 3, "bad PNG"' '
	data && head -c 2000 marks-L-CC.png >t.png && BADGLOB="m3-view: t.png: bad PNG: *" bad t.png &&
	{ head -c 100 marks-L-CC.png; printf "xxxxxxxxxx"; tail -c +111 marks-L-CC.png; } >c.png &&
	BADGLOB="m3-view: c.png: bad PNG: *" bad c.png
'

check 'findings: a bad line is named; a line that is not an object too' '
	printf "{\"image\":{}}\n{\"image\": }\n" >f.jsonl &&
	BADGLOB="m3-view: f.jsonl: line 2: byte 11: unexpected character" bad f.jsonl &&
	printf "{}\n\n{\"a\":1}[1]\n" >g.jsonl &&
	BADGLOB="m3-view: g.jsonl: line 3: byte 8: text after the value" bad g.jsonl &&
	printf "{\"a\":\"\\\\ud800\" , \"b\": [1,2,{\"c\":null}]}\n" >ok.jsonl &&
	run m3-view -q ok.jsonl && expect_code 0
'

check 'findings nested too deep: exit 3, no crash' '
	python3 -c "print(\"{\\\"a\\\":\" + \"[\" * 100000 + \"]\" * 100000 + \"}\")" >deep.jsonl &&
	BADGLOB="m3-view: deep.jsonl: line 1: byte *: nested too deep" bad deep.jsonl
'

check 'X3D: mismatched, truncated, no Scene; x3dz truncated' '
	data && printf "<X3D><Scene><Shape></Scene></X3D>\n" >m.x3d &&
	BADGLOB="m3-view: m.x3d: X3D end tag at byte 20 does not match its start tag" bad m.x3d &&
	head -c 300 scene.x3d >t.x3d &&
	BADGLOB="m3-view: t.x3d: truncated X3D*" bad t.x3d &&
	printf "<X3D><head></head></X3D>" >s.x3d && BADGLOB="m3-view: s.x3d: X3D has no <Scene>" bad s.x3d &&
	printf "<X3D><Scene/></X3D><X3D/>" >r.x3d &&
	BADGLOB="m3-view: r.x3d: the root element is not one <X3D>" bad r.x3d &&
	head -c 200 scene.x3dz >t.x3dz && BADGLOB="m3-view: t.x3dz: truncated gzip data" bad t.x3dz
'

check 'volume: a 2D image, a second volume, a bad header: exit 3' '
	volgen -t uint8 8 8 >flat.nrrd &&
	BADGLOB="m3-view: flat.nrrd: a 2D image: *" bad flat.nrrd &&
	volgen -n 2 -t int16 8 8 4 >two.nrrd &&
	BADGLOB="m3-view: two.nrrd: volume 2: m3-view shows one volume" bad two.nrrd &&
	volgen -t int16 8 8 4 >a.nrrd && volgen -t int16 8 8 4 >b.nrrd &&
	BADGLOB="m3-view: b.nrrd: a second volume: m3-view shows one" bad a.nrrd b.nrrd &&
	printf "NRRD0004\ntype: double\n\n" >d.nrrd && BADGLOB="m3-view: d.nrrd: *type*" bad d.nrrd
'

check 'STL: a non-finite point is refused' '
	python3 -c "
import struct
open(\"n.stl\", \"wb\").write(b\" \" * 80 + struct.pack(\"<I\", 1) + struct.pack(\"<12f\", 0, 0, 0, 0, 0, 0, float(\"nan\"), 0, 0, 1, 1, 1) + b\"\\0\\0\")
" && BADGLOB="m3-view: n.stl: triangle 1: not a finite point" bad n.stl
'

check 'the title is escaped in HTML and in the data' '
	printf "{}\n" >f.jsonl && run m3-view -t "<b>&\"x</b>" f.jsonl && expect_code 0 &&
	grep -q "<title>&lt;b&gt;&amp;&quot;x&lt;/b&gt;</title>" out &&
	grep -q "\"title\":\"\\\\u003cb\\\\u003e\\\\u0026\\\\\"x\\\\u003c/b\\\\u003e\"" out
'
skip_reason=

done_testing
