#!/bin/sh
# The m3 volume stream through libm3's reader and writer, run as a user runs a filter
# (volcat and volgen are test helpers built from tests/tools).
. "$(dirname "$0")/lib.sh"

check 'every type, raw and gzip, several volumes: volcat gives back the same bytes' '
	for t in uint8 int16 uint16 int32 uint32 float; do
		volgen -n 3 -t $t 5 7 3 >raw.nrrd &&
		volgen -n 3 -z 1 -t $t 5 7 3 >gz.nrrd &&
		run volcat gz.nrrd && expect_code 0 && expect_empty err &&
		cmp out raw.nrrd || return 1
	done
'

check '2D, 3D and RGB volumes round-trip through gzip' '
	for sz in "9 4" "3 4 5" "-r 4 5" "-r 2 3 4"; do
		volgen -t uint16 $sz >a.nrrd &&
		volcat -z 9 a.nrrd >b.nrrd && volcat b.nrrd >c.nrrd && cmp a.nrrd c.nrrd || return 1
	done
'

check 'stdin and - read the same' '
	volgen -t int16 4 4 >a.nrrd &&
	run volcat - <a.nrrd && expect_code 0 && cmp out a.nrrd &&
	run volcat <a.nrrd && expect_code 0 && cmp out a.nrrd
'

check 'two files in a row make one stream' '
	volgen -t int16 -s 1 4 4 >a.nrrd && volgen -t int16 -s 2 4 4 >b.nrrd &&
	run volcat a.nrrd b.nrrd && expect_code 0 && cat a.nrrd b.nrrd | cmp - out
'

bad() { # bad NAME GLOB: volcat on NAME exits 3 with one matching line, no stdout
	run volcat "$1" && expect_code 3 && expect_err "$2" && expect_empty out
}

check 'empty input: exit 3, "empty input"' '
	: >e.nrrd && bad e.nrrd "volcat: e.nrrd: empty input"
'

check 'wrong magic: exit 3, names the problem' '
	printf "P5\n2 2\n255\n" >p.pgm && bad p.pgm "volcat: p.pgm: not an m3 volume stream (bad magic)"
'

hdr() { # hdr FIELD-LINES...: a header with the usual fields, each overridable
	printf "NRRD0004\n"
	for l in "$@"; do printf "%s\n" "$l"; done
	printf "\n"
}

check 'missing field: exit 3, names it' '
	hdr "type: uint8" "dimension: 2" "encoding: raw" >m.nrrd && bad m.nrrd "*sizes: missing"
'

check 'unknown type: exit 3, names it' '
	hdr "type: double" "dimension: 2" "sizes: 2 2" "endian: little" "encoding: raw" >t.nrrd &&
	bad t.nrrd "*type: unsupported type \"double\""
'

check 'sizes 100000^3: over the limit before any allocation' '
	hdr "type: int16" "dimension: 3" "sizes: 100000 100000 100000" "endian: little" \
		"encoding: raw" >big.nrrd && bad big.nrrd "*sizes: * bytes is over the limit of *"
'

check 'sizes whose product overflows 64 bits' '
	hdr "type: int16" "dimension: 3" "sizes: 4294967296 4294967296 4294967296" \
		"endian: little" "encoding: raw" >o.nrrd && bad o.nrrd "*sizes: element count overflows"
'

check 'negative and zero sizes' '
	hdr "type: uint8" "dimension: 2" "sizes: 4 -3" "encoding: raw" >n.nrrd &&
	bad n.nrrd "*sizes: axis 1 is not a non-negative integer" &&
	hdr "type: uint8" "dimension: 2" "sizes: 0 3" "encoding: raw" >z.nrrd &&
	bad z.nrrd "*sizes: axis 0 is 0"
'

check 'truncated raw data' '
	volgen -t int16 8 8 >a.nrrd && head -c -5 a.nrrd >t.nrrd && bad t.nrrd "*: truncated data"
'

check 'truncated gzip data' '
	volgen -z 1 -t int16 64 64 >a.nrrd && head -c -40 a.nrrd >t.nrrd &&
	bad t.nrrd "*: truncated gzip data"
'

check 'garbage after a volume: exit 3; the whole first volume out, nothing of the second' '
	volgen -t uint8 4 4 >a.nrrd && { cat a.nrrd; echo junk; } >g.nrrd &&
	run volcat g.nrrd && expect_code 3 &&
	expect_err "volcat: g.nrrd: volume 2: garbage after the previous volume (bad magic)" &&
	cmp out a.nrrd
'

check 'a bad second volume with -o leaves no file' '
	volgen -t uint8 4 4 >a.nrrd && { cat a.nrrd; head -c 100 a.nrrd; } >g.nrrd &&
	run volcat -o res.nrrd g.nrrd && expect_code 3 && expect_err "*volume 2: truncated *" &&
	expect_files a.nrrd g.nrrd
'

check 'data file field is refused: a stream never names a path to open' '
	hdr "type: uint8" "dimension: 2" "sizes: 2 2" "data file: /etc/passwd" "encoding: raw" >d.nrrd &&
	bad d.nrrd "*data file: not in the m3 subset"
'

check 'four spatial axes are refused' '
	hdr "type: uint8" "dimension: 4" "sizes: 2 2 2 2" "encoding: raw" >d.nrrd &&
	bad d.nrrd "*dimension: not 2 or 3 spatial axes"
'

check 'a field given twice' '
	hdr "type: uint8" "type: uint8" "dimension: 2" "sizes: 2 2" "encoding: raw" >d.nrrd &&
	bad d.nrrd "*type: given twice"
'

check 'sizes before dimension' '
	hdr "type: uint8" "sizes: 2 2" "dimension: 2" "encoding: raw" >d.nrrd &&
	bad d.nrrd "*sizes: comes before dimension"
'

check 'bad input with -o leaves no file behind' '
	printf "junk" >j.nrrd && run volcat -o res.nrrd j.nrrd && expect_code 3 &&
	expect_files j.nrrd
'

check 'good input with -o writes the file, mode from umask, nothing else' '
	volgen -t uint8 4 4 >a.nrrd && umask 022 && run volcat -o res.nrrd a.nrrd &&
	expect_code 0 && expect_empty out && cmp a.nrrd res.nrrd && expect_files a.nrrd res.nrrd &&
	test "$(stat -c %a res.nrrd)" = 644
'

# (-o /dev/null takes the same path; it is not run here, since a regression would replace
# the machine's /dev/null with a file, as it once did)
check '-o into a FIFO writes through it and leaves it a FIFO' '
	volgen -t uint8 4 4 >a.nrrd && mkfifo f && { cat f >got & } &&
	run volcat -o f a.nrrd && wait && expect_code 0 && test -p f && cmp a.nrrd got
'

check '-o through a symbolic link writes where it leads and keeps the link' '
	volgen -t uint8 4 4 >a.nrrd && : >target && ln -s target so &&
	run volcat -o so a.nrrd && expect_code 0 && test -L so && cmp a.nrrd target &&
	ln -s /proc/self/fd/1 fd1 && volcat -o fd1 a.nrrd >viafd && test -L fd1 && cmp a.nrrd viafd
'

check 'missing input file: exit 3, names the file' '
	run volcat nothere.nrrd && expect_code 3 &&
	expect_err "volcat: nothere.nrrd: No such file or directory"
'

check 'bad option: usage on stderr, exit 2' '
	run volcat --frobnicate && expect_code 2 && grep -q "^usage: volcat" err && expect_empty out
'

check '-h: usage on stdout, exit 0' '
	run volcat -h && expect_code 0 && grep -q "^usage: volcat" out && expect_empty err
'

check 'bad numeric option: exit 2, names the option' '
	run volcat -z 12 && expect_code 2 && expect_err "volcat: -z: \"12\" is not an integer from 0 to 9"
'

check 'a closed pipe ends the writer by SIGPIPE, quietly, even if the parent ignored it' '
	volgen -t uint8 2000 2000 >big.nrrd &&
	sh -c "trap \"\" PIPE; volcat big.nrrd 2>err; echo \$? >st" | head -c 10 >/dev/null;
	test "$(cat st)" = 141 && expect_empty err
'

check 'full disk: a write error on stdout is exit 1, not silent success' '
	test -w /dev/full || return 0
	volgen -t uint8 300 300 >a.nrrd && run sh -c "volcat a.nrrd >/dev/full" &&
	expect_code 1 && expect_err "volcat: *No space left on device"
'

skip_unless script "util-linux script(1) is needed to give volcat a terminal"
check 'binary output to a terminal is refused (exit 2)' '
	volgen -t uint8 4 4 >a.nrrd &&
	script -qec "volcat a.nrrd" /dev/null >tty.txt 2>&1; rc=$?;
	test $rc -eq 2 && grep -q "refusing to write binary data to a terminal" tty.txt
'
skip_reason=

skip_unless teem-unu "teem-apps (teem-unu) is not installed"
check 'teem-unu reads what we write, and the data matches' '
	for t in uint8 int16 uint16 int32 uint32 float; do
		volgen -t $t 5 7 3 >a.nrrd && volgen -z 6 -t $t 5 7 3 >az.nrrd &&
		teem-unu save -f nrrd -e raw -i az.nrrd -o t.nrrd &&
		teem-unu data t.nrrd >td.bin && volcat -D a.nrrd >ad.bin && cmp td.bin ad.bin || return 1
	done
'

check 'we read what teem-unu writes (raw and gzip, its type aliases and fields)' '
	for t in uint8 int16 uint16 int32 uint32 float; do
		volgen -t $t 6 5 4 >a.nrrd &&
		teem-unu save -f nrrd -e gzip -i a.nrrd -o tz.nrrd &&
		run volcat -D tz.nrrd && expect_code 0 && volcat -D a.nrrd | cmp - out || return 1
	done
'

check 'teem geometry survives: space directions and origin read back equal' '
	volgen -t int16 -r 4 5 6 >a.nrrd && teem-unu save -f nrrd -e raw -i a.nrrd -o t.nrrd &&
	volcat t.nrrd >b.nrrd && cmp a.nrrd b.nrrd
'

check 'teem-made volume without space fields is read' '
	printf "1 2 3 4 5 6" >v.txt && teem-unu make -i v.txt -t short -s 3 2 -e ascii -o m.nrrd 2>/dev/null &&
	teem-unu save -f nrrd -e raw -i m.nrrd -o r.nrrd && run volcat -D r.nrrd && expect_code 0 &&
	test "$(od -An -td2 out | tr -s " " | sed "s/^ //")" = "1 2 3 4 5 6"
'
skip_reason=

done_testing
