# tests/cli/lib.sh: helpers for CLI tests, sourced by each tests/cli/t*.sh.
# Each check runs the real binary in its own scratch directory and asserts its exit code,
# stdout, stderr and the files it leaves behind.  Output is TAP: "ok N - ..." or "not ok".
#
#   check 'what it shows' '
#       run volcat bad.nrrd &&
#       expect_code 3 &&
#       expect_err "*bad magic*" &&
#       expect_empty out
#   '
#   skip_unless PREREQ "why"   # named prerequisite; the checks after it are skipped with the reason

set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
PATH="$TOP/bin:$TOP/build/tests/tools:$PATH"
export PATH TOP
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/m3-cli.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
n=0
failed=0
skip_reason=

# run CMD...: stdout to ./out, stderr to ./err, exit status to $status; never fails itself.
run() {
	"$@" >out 2>err
	status=$?
	return 0
}

# expect_code N: exact exit status; a death by signal is reported as a crash.
expect_code() {
	if [ "$status" -eq "$1" ]; then return 0; fi
	if [ "$status" -gt 128 ]; then
		echo "# crashed: signal $((status - 128)), wanted exit $1" >&2
	else
		echo "# exit $status, wanted $1" >&2
	fi
	sed 's/^/# stderr: /' err >&2
	return 1
}

# expect_err GLOB: stderr is exactly one line and matches GLOB.
expect_err() {
	lines=$(wc -l <err)
	if [ "$lines" -ne 1 ]; then
		echo "# stderr has $lines lines, wanted 1:" >&2
		sed 's/^/# stderr: /' err >&2
		return 1
	fi
	# shellcheck disable=SC2254
	case "$(cat err)" in
	$1) return 0 ;;
	esac
	echo "# stderr \"$(cat err)\" does not match \"$1\"" >&2
	return 1
}

expect_empty() {
	if [ -s "$1" ]; then
		echo "# $1 is not empty:" >&2
		head -c 300 "$1" | sed 's/^/# /' >&2
		return 1
	fi
}

# expect_files GLOB...: exactly these names (sorted) are in the scratch dir, besides out and err.
expect_files() {
	got=$(ls -A | grep -v -x -e out -e err | sort | tr '\n' ' ')
	want=$(printf '%s\n' "$@" | grep -v '^$' | sort | tr '\n' ' ')
	if [ "$got" = "$want" ]; then return 0; fi
	echo "# files: \"$got\", wanted \"$want\"" >&2
	return 1
}

skip_unless() {
	if command -v "$1" >/dev/null 2>&1; then skip_reason=; else skip_reason="$2"; fi
}

check() {
	n=$((n + 1))
	if [ -n "$skip_reason" ]; then
		echo "ok $n - $1 # SKIP $skip_reason"
		return
	fi
	dir="$SCRATCH/$n"
	mkdir -p "$dir"
	if (cd "$dir" && eval "$2"); then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		failed=$((failed + 1))
	fi
}

done_testing() {
	echo "1..$n"
	[ "$failed" -eq 0 ]
}
