#!/bin/sh
# The m3 volume stream against teem: the same 512x512x300 int16 volume read and written back,
# raw and gzip (level 1), by libm3 (volcat) and by teem-unu save.  Best of 3 wall times.
set -eu
d="$BENCH_DIR/stream"
mkdir -p "$d"
[ -s "$d/ct.nrrd" ] || volgen -t int16 512 512 300 >"$d/ct.nrrd"
[ -s "$d/ctz.nrrd" ] || volcat -z 1 "$d/ct.nrrd" >"$d/ctz.nrrd"

best() { # best CMD...: best wall time of 3 runs, in seconds
	b=
	for i in 1 2 3; do
		s=$(date +%s.%N)
		"$@" >/dev/null
		t=$(echo "$(date +%s.%N) - $s" | bc)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc)" -eq 1 ]; then b=$t; fi
	done
	echo "$b"
}

row() { # row LABEL M3-SECONDS REF-SECONDS
	printf '%-28s m3 %6.3f s   teem %6.3f s   ratio %5.2fx\n' "$1" "$2" "$3" \
		"$(echo "$3 / $2" | bc -l)"
}

mb=$(($(stat -c %s "$d/ct.nrrd") / 1048576))
echo "volume: 512x512x300 int16, $mb MiB"
row "read+write raw" "$(best volcat "$d/ct.nrrd")" \
	"$(best teem-unu save -f nrrd -e raw -i "$d/ct.nrrd" -o -)"
row "read gzip, write raw" "$(best volcat "$d/ctz.nrrd")" \
	"$(best teem-unu save -f nrrd -e raw -i "$d/ctz.nrrd" -o -)"
row "read raw, write gzip -1" "$(best volcat -z 1 "$d/ct.nrrd")" \
	"$(best teem-unu save -f nrrd -e gzip:1 -i "$d/ct.nrrd" -o -)"
