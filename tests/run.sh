#!/bin/sh
# Runs every test program given (cmocka unit tests), every tests/cli/t*.sh script and
# tests/web/run.sh (TAP), and
# ends with one line: "check: N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0 skip=0 failed_names=
log=$(mktemp)
trap 'rm -f "$log"' EXIT

for t in "$@"; do
	echo "== $t"
	"$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
	pass=$((pass + ${p:-0})) fail=$((fail + ${f:-0})) skip=$((skip + ${s:-0}))
	if [ "$rc" -ne 0 ] && [ -z "$f" ]; then
		fail=$((fail + 1)) # died before cmocka could count
		echo "$t: exit $rc"
	fi
	[ "$rc" -ne 0 ] && failed_names="$failed_names $t"
done

# TAP scripts: the CLI tests, the tests against real servers, the browser test, and the
# CUDA parity tests (they skip with the reason where no GPU is)
for t in tests/cli/t*.sh tests/integration/run.sh tests/integration/batch-s3.sh \
	tests/integration/slurm.sh tests/web/run.sh \
	tests/gpu/*-parity.sh; do
	[ -e "$t" ] || continue
	echo "== $t"
	sh "$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(grep -c '^ok [0-9]* - ' "$log" | tr -d ' ')
	s=$(grep -c '^ok [0-9]* - .*# SKIP' "$log" | tr -d ' ')
	f=$(grep -c '^not ok ' "$log" | tr -d ' ')
	pass=$((pass + p - s)) skip=$((skip + s)) fail=$((fail + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		fail=$((fail + 1))
		echo "$t: exit $rc"
	fi
	[ "$rc" -ne 0 ] && failed_names="$failed_names $t"
done

[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "check: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
