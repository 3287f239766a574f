#!/bin/sh
# What every m3 tool does alike: --help and --version on stdout with exit 0, and exit 1 with one
# line naming stdout when stdout cannot be written (a full disk, or closed: >&-), never a silent
# exit 0.
. "$(dirname "$0")/lib.sh"

TOOLS=$(cd "$TOP/bin" && ls m3-*)

check 'every tool: --help and --version on stdout, exit 0, nothing on stderr' '
	for t in $TOOLS; do
		run $t --help && expect_code 0 && expect_empty err && test -s out &&
		run $t --version && expect_code 0 && expect_empty err &&
		grep -q "^$t (m3) " out || { echo "# $t" >&2; return 1; }
	done
'

check 'every tool: --help and --version into a full disk: exit 1, one line naming stdout' '
	for t in $TOOLS; do
		for o in --help --version; do
			$t $o >/dev/full 2>err; status=$?
			expect_code 1 && expect_err "$t: stdout: No space left on device" ||
				{ echo "# $t $o" >&2; return 1; }
		done
	done
'

check 'every tool: --help into a closed stdout: exit 1, one line saying so' '
	for t in $TOOLS; do
		$t --help >&- 2>err; status=$?
		expect_code 1 && expect_err "$t: stdout: closed" || { echo "# $t" >&2; return 1; }
	done
'

check 'a closed stdout: output meant for it fails with one line; -o FILE is not affected' '
	run_closed() { "$@" >&- 2>err; status=$?; }
	run_closed m3-phantom mammo --size 300x260 && expect_code 1 &&
	expect_err "m3-phantom: stdout: closed" &&
	run_closed m3-phantom cbct --size 40x40x16 -o p.tar && expect_code 0 && expect_empty err &&
	test -s p.tar
'

done_testing
