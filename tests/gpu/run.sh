#!/bin/sh
# On a lent GPU machine: build the analysis tools with nvcc against the carried .debs
# (tests/gpu/debs.sh made them; nothing is installed into /), then run the CUDA-vs-CPU parity
# tests and time -d cuda against -d cpu.  Prints TAP lines and timings.  Untested until a session
# with a GPU runs it (see the notes of stop 11).
set -u
cd "$(dirname "$0")/../.."
R=$PWD/build/gpu-root
mkdir -p "$R"
for d in build/gpu-debs/*.deb; do
	[ -e "$d" ] || { echo "tests/gpu/run.sh: no build/gpu-debs/*.deb (run tests/gpu/debs.sh here first)" >&2; exit 1; }
	if command -v dpkg-deb >/dev/null 2>&1; then
		dpkg-deb -x "$d" "$R"
	else # ar + tar, where dpkg is missing
		t=$(mktemp -d) && (cd "$t" && ar x "$OLDPWD/$d" && tar xf data.tar.* -C "$R") && rm -rf "$t"
	fi
done
M=$(uname -m)-linux-gnu
export LD_LIBRARY_PATH="$R/usr/lib/$M:$R/lib/$M${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi -L || true
make -j"$(nproc)" CFLAGS="-O2 -g -I$R/usr/include -I$R/usr/include/$M" \
	LDFLAGS="-L$R/usr/lib/$M -L$R/lib/$M" GDCM_CPPFLAGS= \
	bin/m3-segment bin/m3-mammo build/tests/tools/volgen build/tests/tools/volcat || exit 1

sh tests/gpu/mammo-parity.sh
sh tests/cli/t40-segment.sh 2>&1 | grep -E '^(not )?ok .*(CUDA|cuda)'

# timings: the same input on -d cpu and -d cuda, best of 3
PATH=$PWD/bin:$PWD/build/tests/tools:$PATH
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
volgen -t int16 512 512 512 >"$d/ct.nrrd"
best() {
	b=
	for i in 1 2 3; do
		s=$(date +%s.%N)
		"$@" >/dev/null 2>&1 || { echo "failed (exit $?)"; return; }
		t=$(echo "$(date +%s.%N) - $s" | bc 2>/dev/null || echo 0)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc)" -eq 1 ]; then b=$t; fi
	done
	echo "$b"
}
for dev in cpu cuda; do
	echo "m3-segment -d $dev 512^3 bone close 2 keep largest: $(best m3-segment -d $dev -j 2 -p bone --close 2 -l "$d/ct.nrrd") s"
done
