#!/bin/sh
# m3-batch --slurm against a real single-node Slurm cluster (slurm-wlm, munge) that this
# script starts in a temp dir on 127.0.0.1 (ports 16817/16818) and stops by PID.  TAP.
# Skips, saying why, when Slurm is not installed or this is not root.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
PATH="$TOP/bin:$PATH"
export PATH

for p in slurmctld slurmd munged mungekey sbatch squeue scancel sinfo; do
	if ! command -v $p >/dev/null 2>&1; then
		echo "1..0 # SKIP $p is not installed (apt-get install slurm-wlm munge)"
		exit 0
	fi
done
if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP slurmd must run as root to start jobs"
	exit 0
fi
if ! command -v m3-batch >/dev/null 2>&1; then
	echo "1..0 # SKIP bin/m3-batch is not built (make)"
	exit 0
fi

. "$TOP/tests/batch/slurm-cluster.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/m3-slurm.XXXXXX")
chmod 755 "$W"
trap 'slurm_stop; rm -rf "$W"' EXIT
trap 'exit 1' INT TERM
if ! slurm_start "$W/cluster"; then
	echo "1..0 # SKIP the Slurm cluster did not start (see above)"
	exit 0
fi

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if (cd "$W" && eval "$2"); then ok "$1"; else notok "$1"; fi; }

cd "$W" || exit 1
# six studies: s3 is corrupt (exit 3), s4 fails with exit 4 once, then works
printf 's1\ns2\ns3\ns4\ns5\ns6\n' >m1.txt
mkdir cnt
P1='echo x >>cnt/{id}; case {id} in s3) echo "m3-decode: {id}/IM1.dcm: not a DICOM file" >&2; exit 3;; s4) [ $(wc -l <cnt/{id}) -ge 2 ] || { echo "m3-fetch: {in}: 503 slow down" >&2; exit 4; };; esac; echo {id} >{out}/result.txt'

check 'an array of 6 studies finishes: every result there, s3 quarantined, s4 retried' '
	job=$(m3-batch --slurm --max-running 4 --time 5 --partition debug -r 2 --backoff 0.1 \
		-m m1.txt -o res -- "$P1") && [ -n "$job" ] && slurm_wait "$job" 60 &&
	for s in s1 s2 s4 s5 s6; do
		[ "$(cat res/$s/result.txt)" = $s ] && [ -f res/$s/.m3-batch-done ] || return 1
	done &&
	[ ! -e res/s3 ] && [ "$(cat cnt/s4 | wc -l)" -eq 2 ] && [ "$(cat cnt/s1 | wc -l)" -eq 1 ] &&
	grep -q "^#SBATCH --array=0-5%4" res/.slurm/array.sh &&
	grep -q "^#SBATCH --time=5" res/.slurm/array.sh
'

check 'the status table shows each study with its Slurm task' '
	m3-batch --status res >table.txt &&
	grep -q "^s3  *quarantined  *3  *1 .*m3-decode: s3/IM1.dcm: not a DICOM file" table.txt &&
	grep -q "^s4  *done  *0  *2 " table.txt &&
	tail -n 1 table.txt | grep -qx "6 studies: 5 done, 1 quarantined" &&
	m3-batch --status res -J | grep "\"id\":\"s1\"" | grep -q "\"job\":\"[0-9]*_0\""
'

check 'Slurm saw the exit codes: the quarantined task exited 3' '
	job=$(cut -d" " -f1 res/.slurm/jobs | tail -n 1) &&
	scontrol show job "$job" -o | grep "ArrayTaskId=2 " | grep -q "ExitCode=3:0"
'

check 'a second submission runs nothing: all is done or quarantined' '
	m3-batch --slurm -m m1.txt -o res -- "$P1" >job2.txt 2>err.txt && [ ! -s job2.txt ] &&
	grep -q "nothing to submit" err.txt
'

printf 'c1\nc2\nc3\nc4\n' >m2.txt
P2='echo started >{out}/partial.txt; sleep 30; echo {id} >{out}/result.txt'
check 'a cancelled array leaves no partial results; cancelled studies show as cancelled' '
	job=$(m3-batch --slurm --max-running 2 -m m2.txt -o res2 -- "$P2") &&
	i=0 && while [ "$(ls res2/.m3-batch/tmp | wc -l)" -lt 2 ] && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1)); done &&
	m3-batch --status res2 | grep -c " running " | grep -qx 2 &&
	m3-batch --cancel res2 && slurm_wait "$job" 30 &&
	[ -z "$(ls res2 | grep -v status.jsonl)" ] && [ -z "$(ls res2/.m3-batch/tmp)" ] &&
	m3-batch --status res2 >t2.txt &&
	[ "$(grep -c " cancelled " t2.txt)" -eq 4 ] && grep -q "cancelled by signal 15" t2.txt
'

check 'the cancelled studies run again on the next submission, and finish' '
	job=$(m3-batch --slurm -m m2.txt -o res2 -- "echo {id} >{out}/result.txt") &&
	slurm_wait "$job" 60 && m3-batch --status res2 | tail -n 1 | grep -qx "4 studies: 4 done"
'

if command -v m3-phantom >/dev/null && command -v m3-decode >/dev/null &&
	command -v m3-mammo >/dev/null && command -v m3-fetch >/dev/null; then
	check 'phantom studies through m3-fetch, m3-decode, m3-mammo as array tasks' '
		m3-phantom mammo -q --size 256x320 -s 1 -o p1 && m3-phantom mammo -q --size 256x320 -s 2 -o p2 &&
		mkdir bad && head -c 3000 p1/L_CC.dcm >bad/IM1.dcm &&
		printf "%s\n" "file://$W/p1/" "file://$W/p2/" "file://$W/bad/" >m3.txt &&
		job=$(m3-batch --slurm -m m3.txt -o res3 -- \
			"m3-fetch {in} | m3-decode -q | m3-mammo -o {out}/marks-%n.png >{out}/findings.jsonl") &&
		slurm_wait "$job" 60 && [ "$(wc -l <res3/p1/findings.jsonl)" -eq 4 ] &&
		test -f res3/p2/marks-4.png && test ! -e res3/bad &&
		m3-batch --status res3 | grep -q "^bad  *quarantined  *3  *1 .*m3-decode: IM1.dcm: .*truncated"
	'
else
	ok "phantom studies as array tasks # SKIP m3-phantom, m3-fetch, m3-decode or m3-mammo not built"
fi

check '--cancel with no recorded job: exit 2, one line' '
	mkdir -p empty && m3-batch --cancel empty 2>e.txt; [ $? -eq 2 ] &&
	grep -q "^m3-batch: empty: no Slurm job recorded" e.txt && [ "$(wc -l <e.txt)" -eq 1 ]
'

echo "1..$n"
[ "$failed" -eq 0 ]
