#!/bin/sh
# make bench: every bench/*.sh in turn; each runs m3 and a reference tool on the same input
# in one run and prints the ratio.  BENCH_DIR holds the data (default build/bench).
set -u
cd "$(dirname "$0")/.."
export BENCH_DIR="${BENCH_DIR:-$PWD/build/bench}"
export PATH="$PWD/bin:$PWD/build/tests/tools:$PATH"
mkdir -p "$BENCH_DIR"
rc=0
for b in bench/*.sh; do
	[ "$b" = bench/run.sh ] && continue
	echo "== $b"
	sh "$b" || { echo "$b: failed"; rc=1; }
done
exit $rc
