#!/bin/sh
# make bench, decode part: m3-decode -j 2 against dcm2niix on the same 300-slice 512x512 CT
# series, uncompressed and JPEG 2000, both writing an uncompressed NIfTI file.  Prints wall
# time and peak RSS (GNU time) of each, best of $RUNS, and the speed ratio.  Goal: >= 1.5x.
set -eu
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
DATA=${M3_BENCH_DATA:-tests/data/bench-decode}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
TIME=/usr/bin/time
for t in "$TIME" bin/m3-decode; do
	[ -x "$t" ] || { echo "bench/decode.sh: $t is missing (apt-get install time; make)" >&2; exit 1; }
done
command -v dcm2niix >/dev/null || { echo "bench/decode.sh: dcm2niix is missing" >&2; exit 1; }

if [ ! -f "$DATA/raw/IM0300.dcm" ]; then
	echo "bench/decode.sh: making a 300-slice 512x512 CT series in $DATA" >&2
	rm -rf "$DATA" && mkdir -p "$DATA"
	$PY tests/decode/mkdcm.py --size 512x512x300 --unsigned --bits-stored 12 \
		--spacing 0.5,0.5,0.625 "$DATA/raw"
fi
if [ ! -f "$DATA/j2k/IM0300.dcm" ]; then
	echo "bench/decode.sh: JPEG 2000 copy (gdcmconv --j2k, lossless)" >&2
	mkdir -p "$DATA/j2k"
	ls "$DATA/raw" | xargs -P "$(nproc)" -I{} gdcmconv --j2k "$DATA/raw/{}" "$DATA/j2k/{}"
fi

OUT=$(mktemp -d "${TMPDIR:-/tmp}/m3-bench.XXXXXX")
trap 'rm -rf "$OUT"' EXIT

# best CMD...: best wall seconds, and the peak RSS (MB) and CPU seconds of that run
best() {
	b=
	for i in $(seq "$RUNS"); do
		rm -rf "$OUT/o" && mkdir -p "$OUT/o"
		"$TIME" -v "$@" >/dev/null 2>"$OUT/t" || { cat "$OUT/t" >&2; exit 1; }
		w=$(sed -n 's/.*Elapsed (wall clock) time.*: //p' "$OUT/t" |
			awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
		r=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$OUT/t")
		c=$(sed -n 's/.*\(User\|System\) time (seconds): //p' "$OUT/t" | awk '{ s += $1 } END { print s }')
		if [ -z "$b" ] || awk "BEGIN { exit !($w < $bw) }"; then
			b="$w $((r / 1024)) $c"
			bw=$w
		fi
	done
	echo "$b"
}

printf '%-10s %-10s %8s %8s %8s\n' syntax tool wall_s cpu_s rss_MB
for s in raw j2k; do
	cat "$DATA/$s"/* >/dev/null # warm the page cache for both
	m=$(best bin/m3-decode -q -j 2 -o "$OUT/o/m3.nii" "$DATA/$s")
	d=$(best dcm2niix -z n -b n -o "$OUT/o" -f d "$DATA/$s")
	set -- $m
	mw=$1 mr=$2 mc=$3
	set -- $d
	dw=$1 dr=$2 dc=$3
	printf '%-10s %-10s %8s %8s %8s\n' "$s" m3-decode "$mw" "$mc" "$mr" "$s" dcm2niix "$dw" "$dc" "$dr"
	awk -v a="$dw" -v b="$mw" -v s="$s" 'BEGIN { printf "%-10s m3-decode is %.2fx as fast as dcm2niix (goal 1.5x)\n", s, a / b }'
done
echo "volume: 512 x 512 x 300 int16 = 150 MB decoded; $(nproc) cores, load $(cut -d" " -f1 /proc/loadavg)"
