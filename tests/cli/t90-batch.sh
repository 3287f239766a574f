#!/bin/sh
# m3-batch run as a user runs it: exit codes drive the work, results appear whole or not at
# all, a killed batch resumes, the status table tells what happened; plus the Make and cron
# examples.  Pipelines are shell commands (and the phantom pipeline where the tools exist).
. "$(dirname "$0")/lib.sh"
FAKE=$TOP/tests/batch/fake-tool

# err_is GLOB...: stderr has exactly these lines, each matching its GLOB
err_is() {
	i=0
	for g in "$@"; do
		i=$((i + 1))
		l=$(sed -n "${i}p" err)
		# shellcheck disable=SC2254
		case "$l" in $g) ;; *) echo "# stderr line $i \"$l\" does not match \"$g\"" >&2; return 1 ;; esac
	done
	[ "$(wc -l <err)" -eq $# ] || { echo "# stderr has $(wc -l <err) lines, wanted $#" >&2; sed 's/^/# /' err >&2; return 1; }
}

# counted STUDY: how many times a pipeline wrote a line to cnt/STUDY
counted() { if [ -f "cnt/$1" ]; then wc -l <"cnt/$1" | tr -d " "; else echo 0; fi; }

check '-h: usage and options on stdout, exit 0' '
	run m3-batch -h && expect_code 0 && grep -q "^usage: m3-batch" out && grep -q -- "--retry-failed" out &&
	expect_empty err
'

check 'bad option: usage on stderr, exit 2' '
	run m3-batch --frobnicate && expect_code 2 && grep -q "^usage: m3-batch" err && expect_empty out
'

check '--version' '
	run m3-batch --version && expect_code 0 && grep -q "^m3-batch (m3) " out
'

check 'missing manifest, results or pipeline: exit 2, one line each' '
	echo a >m.txt &&
	run m3-batch -o r -- true && expect_code 2 && expect_err "m3-batch: no manifest (-m FILE)" &&
	run m3-batch -m m.txt -- true && expect_code 2 && expect_err "m3-batch: no results folder (-o DIR)" &&
	run m3-batch -m m.txt -o r && expect_code 2 && expect_err "m3-batch: no pipeline (give it after --)" &&
	run m3-batch -m m.txt -o r -j x -- true && expect_code 2 && expect_err "m3-batch: -j: *" &&
	run m3-batch -m m.txt -o r --retries -1 -- true && expect_code 2 && expect_err "m3-batch: --retries: *" &&
	run m3-batch --status r --cancel r && expect_code 2 && expect_err "*exclude each other"
'

check 'bad manifests: exit 3 naming file and line; nothing is run' '
	printf "a\nftp://x/y\n" >s.txt && run m3-batch -m s.txt -o r -- "touch ran" &&
	expect_code 3 && expect_err "m3-batch: s.txt:2: unknown scheme \"ftp://\"" &&
	printf "# nothing\n\n" >e.txt && run m3-batch -m e.txt -o r -- "touch ran" &&
	expect_code 3 && expect_err "m3-batch: e.txt: no studies in the manifest" &&
	printf "a\nb\n  a  \n" >d.txt && run m3-batch -m d.txt -o r -- "touch ran" &&
	expect_code 3 && expect_err "m3-batch: d.txt:3: duplicate of line 1" &&
	printf "a\001b\n" >c.txt && run m3-batch -m c.txt -o r -- "touch ran" &&
	expect_code 3 && expect_err "m3-batch: c.txt:1: control character in input" &&
	run m3-batch -m none.txt -o r -- "touch ran" && expect_code 3 &&
	expect_err "m3-batch: none.txt: No such file or directory" &&
	test ! -e ran && test ! -e r
'

check 'results in S3: bad prefixes, other schemes and S3-only options elsewhere are usage errors' '
	echo a >m.txt &&
	run m3-batch -m m.txt -o s3:///r/ -- true && expect_code 2 &&
	expect_err "m3-batch: s3:///r/: not an s3://bucket/prefix/ URL" &&
	run m3-batch -m m.txt -o http://h/r/ -- true && expect_code 2 &&
	expect_err "m3-batch: http://h/r/: results go to a folder or an s3://bucket/prefix/" &&
	run m3-batch --state st -m m.txt -o r -- true && expect_code 2 &&
	expect_err "m3-batch: --state, --work and --push-opt are for results in S3 (-o s3://...)" &&
	run m3-batch --push-opt sse -m m.txt -o s3://b/r/ -- true && expect_code 2 &&
	expect_err "m3-batch: --push-opt: \"sse\" is not one m3-push option" &&
	run m3-batch --status s3://b/r/ && expect_code 3 &&
	expect_err "m3-batch: m3-batch-state/*: no state of s3://b/r/ here (give its --state folder)" &&
	test ! -e r && test ! -e st
'

# An S3 endpoint on 127.0.0.1 where nothing listens, with made-up keys: nothing leaves this host.
s3_down() {
	unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ENDPOINT_URL_S3 \
		AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE
	port=$(python3 -c "import socket; s=socket.socket(); s.bind((\"127.0.0.1\",0)); print(s.getsockname()[1])") &&
	export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=AKIDM3TESTDOWN \
		AWS_SECRET_ACCESS_KEY=M3TestSecretNotReal0123 AWS_EC2_METADATA_DISABLED=true \
		AWS_REGION=us-east-1 HOME=$PWD
}

skip_unless python3 "python3 is not installed (for a free port)"
check 'results in S3 with the server down: the upload is retried, the study fails with exit 4, in bounded time' '
	s3_down && printf "a\nq\n" >m.txt && mkdir w && t0=$(date +%s) &&
	run m3-batch -r 2 --backoff 0.01 --work w --push-opt=--retries=0 --push-opt=--timeout=2 \
		-m m.txt -o s3://b/r/ -- "[ {id} = q ] && exit 3; echo x >{out}/f" &&
	expect_code 4 && [ $(($(date +%s) - t0)) -lt 30 ] &&
	err_is "m3-batch: cannot look for stamps in s3://b/r/ (m3-fetch: *); studies with no local state run again" \
		"m3-batch: a: failed after 2 retries: m3-push: s3://b/r/a/f: *Couldn*t connect to server" \
		"m3-batch: q: quarantined: exit 3 with no message" \
		"m3-batch: 0 of 2 studies done, 1 quarantined, 1 out of retries (m3-batch --status s3://b/r/)" &&
	! grep -q M3TestSecret err && test -z "$(ls -A w)" &&
	S=$(ls -d m3-batch-state/*) && test ! -e $S/a && grep -c "upload to s3://b/r/a/" $S/.m3-batch/log/a.log | grep -qx 3 &&
	grep -c "\"state\":\"retrying\",\"attempt\":[12],\"exit\":4,.*m3-push" $S/status.jsonl | grep -qx 2 &&
	run m3-batch --status s3://b/r/ && expect_code 0 &&
	grep -q "^a  *failed  *4  *3 .* m3-push: s3://b/r/a/f: " out &&
	run m3-batch -q --state $S -r 0 --push-opt=--retries=0 -m m.txt -o s3://b/r/ -- "echo x >{out}/f" &&
	expect_code 4 && expect_empty err
'
skip_reason=

check 'results in S3 under --slurm: the array script gives each task the prefix, the state and the push options' '
	s3_down && mkdir bin && printf "#!/bin/sh\necho 77\n" >bin/sbatch && chmod +x bin/sbatch && echo a >m.txt &&
	PATH=$PWD/bin:$PATH run m3-batch --slurm -r 0 --push-opt=--retries=0 --state st --work "w x" \
		-m m.txt -o s3://b/r -- "echo x >{out}/f" && expect_code 0 && [ "$(cat out)" = 77 ] &&
	tail -n 1 st/.slurm/array.sh | grep -q " -o '"'"'s3://b/r/'"'"' --state $PWD/st --work '"'"'w x'"'"' --push-opt '"'"'--retries=0'"'"' " &&
	SLURM_ARRAY_TASK_ID=0 run sh st/.slurm/array.sh && expect_code 4 &&
	grep -q "^m3-batch: a: m3-push: s3://b/r/a/f: " err && test -d "w x" && test -z "$(ls -A "w x")"
'

check '--list: ids are the last path part, made safe; clashes get a hash of the input' '
	printf "%s\n" "# studies" "s3://clinic/mammo/P042/" "dicomweb+https://h/studies/1.2.3" \
		"file:///data/a/P7" "/data/b/P7" "./x y/.hidden" "/" >m.txt &&
	run m3-batch --list -m m.txt && expect_code 0 && expect_empty err &&
	cut -f1 out >ids &&
	sed -n 1p ids | grep -qx P042 && sed -n 2p ids | grep -qx 1.2.3 &&
	sed -n 3p ids | grep -qx "P7-[0-9a-f]\{8\}" && sed -n 4p ids | grep -qx "P7-[0-9a-f]\{8\}" &&
	sed -n 5p ids | grep -qx _hidden && sed -n 6p ids | grep -qx study &&
	[ "$(sort -u ids | wc -l)" -eq 6 ] &&
	m3-batch --list -m m.txt | cmp - out
'

# a batch of five: c is corrupt (exit 3), r fails with exit 4 twice and then works
P5="echo x >>cnt/{id}; case {id} in c) $FAKE 3 \"c/IM1.dcm: not a DICOM file\";; \
r) [ \$(wc -l <cnt/{id}) -ge 3 ] || { echo \"m3-fetch: {in}: 503 slow down\" >&2; exit 4; };; esac; \
echo {in} >{out}/result.txt"
check 'a batch: corrupt study quarantined (never retried), exit-4 study retried until done' '
	printf "a\nb\nc\nr\ne\n" >m.txt && mkdir cnt &&
	run m3-batch -j 2 -r 3 --backoff 0.01 -m m.txt -o res -- "$P5" &&
	expect_code 3 && err_is "m3-batch: c: quarantined: fake-tool: c/IM1.dcm: not a DICOM file" \
		"m3-batch: 4 of 5 studies done, 1 quarantined (m3-batch --status res)" &&
	expect_empty out &&
	for s in a b e r; do [ "$(cat res/$s/result.txt)" = $s ] && test -f res/$s/.m3-batch-done &&
		test -f res/$s/m3-batch.log || return 1; done &&
	test ! -e res/c && [ $(counted c) -eq 1 ] && [ $(counted r) -eq 3 ] && [ $(counted a) -eq 1 ] &&
	grep -q "\"id\":\"r\",\"state\":\"retrying\",\"attempt\":2,\"exit\":4" res/status.jsonl &&
	grep -q "^m3-fetch: r: 503 slow down" res/r/m3-batch.log &&
	grep -q "c/IM1.dcm: not a DICOM file" res/.m3-batch/log/c.log &&
	test -z "$(ls res/.m3-batch/tmp)" &&
	run m3-batch --status res && expect_code 0 &&
	grep -q "^STUDY  STATE        EXIT  ATTEMPTS      TIME  ERROR$" out &&
	grep -q "^c      quarantined     3         1 .* fake-tool: c/IM1.dcm: not a DICOM file$" out &&
	grep -q "^r      done            0         3 " out &&
	tail -n 1 out | grep -qx "5 studies: 4 done, 1 quarantined" &&
	run m3-batch -m m.txt -o res -- "$P5" && expect_code 3 && [ $(counted c) -eq 1 ] &&
	[ $(counted a) -eq 1 ] &&
	run m3-batch --retry-quarantined -m m.txt -o res -- "$P5" && expect_code 3 &&
	[ $(counted c) -eq 2 ] && [ $(counted a) -eq 1 ]
'

check '--status -J: one JSON object per study, documented keys' '
	printf "a\nb\n" >m.txt &&
	m3-batch -q -m m.txt -o res -- "case {id} in b) exit 5;; esac; true" ; [ $? -eq 1 ] &&
	run m3-batch --status res -J && expect_code 0 && [ "$(wc -l <out)" -eq 2 ] &&
	sed -n 1p out | grep -q "^{\"id\":\"a\",\"input\":\"a\",\"state\":\"done\",\"attempts\":1,\"exit\":0,\"seconds\":[0-9.]*,\"error\":null,\"job\":null}$" &&
	sed -n 2p out | grep -q "\"state\":\"failed\",\"attempts\":1,\"exit\":5,.*\"error\":\"exit 5 with no message\""
'

check 'retries run out: exit 4 (a remote failure), the study failed with exit 4' '
	echo a >m.txt &&
	run m3-batch -r 1 --backoff 0 -m m.txt -o res -- "echo net down >&2; exit 4" && expect_code 4 &&
	err_is "m3-batch: a: failed after 1 retries: net down" \
		"m3-batch: 0 of 1 studies done, 1 out of retries (m3-batch --status res)" &&
	m3-batch --status res | grep -q "^a      failed          4         2 .* net down$"
'

check 'a failed study leaves no results; --retry-failed runs it again, a plain run does not' '
	printf "a\nb\n" >m.txt && mkdir cnt &&
	P="echo x >>cnt/{id}; echo part >{out}/part.txt; [ {id} = a ] || [ -e fixed ] || exit 1; echo ok >{out}/r" &&
	run m3-batch -m m.txt -o res -- "$P" && expect_code 1 && test ! -e res/b &&
	test -z "$(ls res/.m3-batch/tmp)" && touch fixed &&
	run m3-batch -m m.txt -o res -- "$P" && expect_code 1 && [ $(counted b) -eq 1 ] &&
	run m3-batch --retry-failed -m m.txt -o res -- "$P" && expect_code 0 && expect_empty err &&
	[ $(counted b) -eq 2 ] && [ $(counted a) -eq 1 ] && test -f res/b/r
'

# The pipelines of the next checks use little tools named up and down (tests/batch/fake-tool).
check 'first failing tool: the status and error line are the first failure, not the last' '
	ln -s "$FAKE" up && ln -s "$FAKE" down && echo s >m.txt &&
	run m3-batch -m m.txt -o res -- "./up 3 \"s/IM1.dcm: corrupt\" | ./down 1 \"stdin: empty input\" >{out}/x" &&
	expect_code 3 && err_is "m3-batch: s: quarantined: up: s/IM1.dcm: corrupt" "*" &&
	grep -q "^down: stdin: empty input" res/.m3-batch/log/s.log
'

check 'first failing tool: exit 4 upstream of a failing tool is retried' '
	ln -s "$FAKE" up && ln -s "$FAKE" down && echo s >m.txt &&
	run m3-batch -r 1 --backoff 0 -m m.txt -o res -- "./up 4 \"503\" | ./down 3 \"empty input\"" &&
	expect_code 4 && grep -c "\"state\":\"running\"" res/status.jsonl | grep -qx 2
'

check 'a death by SIGPIPE is not a failure; a failing middle tool is; so is a later command' '
	printf "a\nb\nc\n" >m.txt &&
	run m3-batch -m m.txt -o res -- "case {id} in a) yes | head -n 1 >{out}/y;; \
b) true | false | true;; c) false; echo never >{out}/n;; esac" && expect_code 1 &&
	test -f res/a/y && test ! -e res/b && test ! -e res/c &&
	m3-batch --status res | grep -q "^b  *failed  *1 " &&
	m3-batch --status res | grep -q "^c  *failed  *1 "
'

check 'kill -9 midway, then resume: every study done once, no partial results' '
	seq -f "s%02g" 1 12 >m.txt && mkdir cnt &&
	P="echo x >>cnt/{id}; echo part >{out}/part; sleep 0.3; echo {id} >{out}/r" &&
	{ m3-batch -j 3 -m m.txt -o res -- "$P" 2>/dev/null & } && pid=$! &&
	i=0 && while [ "$(cat res/status.jsonl 2>/dev/null | grep -c "\"state\":\"done\"")" -lt 3 ] &&
		[ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done &&
	kill -9 $pid && sleep 0.3 &&
	for d in res/s[0-9]*; do [ -f $d/.m3-batch-done ] && [ "$(cat $d/r)" = ${d#res/} ] || return 1; done &&
	ndone=$(ls -d res/s[0-9]* | wc -l) && [ $ndone -ge 3 ] && [ $ndone -lt 12 ] &&
	test -z "$(ls res/.m3-batch/tmp)" &&
	m3-batch --status res | grep -q "  cancelled  " &&
	run m3-batch -j 3 -m m.txt -o res -- "$P" && expect_code 0 && expect_empty err &&
	[ "$(ls -d res/s[0-9]* | wc -l)" -eq 12 ] &&
	for s in $(cat m.txt); do
		c=$(counted $s)
		if grep -q "\"id\":\"$s\",\"state\":\"cancelled\"" res/status.jsonl; then
			[ $c -ge 1 ] && [ $c -le 2 ] || return 1
		else
			[ $c -eq 1 ] || { echo "# $s ran $c times" >&2; return 1; }
		fi
		[ "$(cat res/$s/r)" = $s ] && test ! -e res/$s/part.tmp || return 1
	done &&
	m3-batch --status res | tail -n 1 | grep -qx "12 studies: 12 done"
'

check 'SIGTERM to the batch: running studies are cancelled and cleaned up, exit 143' '
	printf "a\nb\n" >m.txt &&
	{ m3-batch -j 2 -m m.txt -o res -- "echo part >{out}/p; sleep 5" 2>err2 & } && pid=$! &&
	i=0 && while [ "$(ls res/.m3-batch/tmp 2>/dev/null | wc -l)" -lt 2 ] && [ $i -lt 100 ]; do
		sleep 0.05; i=$((i + 1)); done &&
	kill -TERM $pid; wait $pid; [ $? -eq 143 ] && test ! -e res/a && test ! -e res/b &&
	test -z "$(ls res/.m3-batch/tmp)" && ! pgrep -f "sleep 5$" >/dev/null &&
	m3-batch --status res | grep -c "cancelled by signal 15" | grep -qx 2
'

check '{in}, {out}, {id} are shell-quoted: inputs with blanks and quotes work' '
	mkdir "dir with blank" && echo hi >"dir with blank/f" && printf "%s\n" "dir with blank" "it'"'"'s" >m.txt &&
	run m3-batch -m m.txt -o "res x" -- "printf %s {in} >{out}/in; echo \$M3_BATCH_ID >{out}/id" &&
	expect_code 0 && [ "$(cat "res x/dir_with_blank/in")" = "dir with blank" ] &&
	[ "$(cat "res x/it_s/in")" = "it'"'"'s" ] && [ "$(cat "res x/it_s/id")" = it_s ]
'

check '--force runs a finished study again; the new results replace the old whole' '
	echo a >m.txt && run m3-batch -m m.txt -o res -- "echo 1 >{out}/v; echo old >{out}/o" &&
	expect_code 0 && run m3-batch -f -m m.txt -o res -- "echo 2 >{out}/v" && expect_code 0 &&
	[ "$(cat res/a/v)" = 2 ] && test ! -e res/a/o &&
	run m3-batch -f -m m.txt -o res -- "echo 3 >{out}/v; exit 1" && expect_code 1 &&
	[ "$(cat res/a/v)" = 2 ]
'

check '--only runs one study; an unknown id is a usage error' '
	printf "a\nb\n" >m.txt && run m3-batch --only b -m m.txt -o res -- "true" && expect_code 0 &&
	test -d res/b && test ! -e res/a &&
	run m3-batch --only zz -m m.txt -o res -- true && expect_code 2 &&
	expect_err "m3-batch: --only: no study \"zz\" in m.txt"
'

check '--progress: progress lines on stderr; -v a line per study' '
	printf "a\nb\n" >m.txt && run m3-batch --progress -v -m m.txt -o res -- true &&
	expect_code 0 && grep -q "^m3-batch: 2/2 done, 0 quarantined, 0 failed$" err &&
	grep -q "^m3-batch: a: done in " err
'

check '--status of a folder that is not a batch: exit 3' '
	mkdir x && run m3-batch --status x && expect_code 3 &&
	expect_err "m3-batch: x: not an m3-batch results folder"
'

skip_unless m3-phantom "m3-phantom is not built yet"
check 'phantom studies through m3-fetch, m3-decode, m3-mammo; a truncated study is quarantined' '
	for t in m3-fetch m3-decode m3-mammo; do command -v $t >/dev/null || return 0; done
	m3-phantom mammo --size 256x320 -s 1 -o p1 && m3-phantom mammo --size 256x320 -s 2 -o p2 &&
	mkdir bad && head -c 3000 p1/L_CC.dcm >bad/IM1.dcm &&
	printf "%s\n" "file://$PWD/p1/" "file://$PWD/p2/" "file://$PWD/bad/" >m.txt &&
	run m3-batch -j 2 -m m.txt -o res -- \
		"m3-fetch {in} | m3-decode -q | m3-mammo -o {out}/marks-%n.png >{out}/findings.jsonl" &&
	expect_code 3 && err_is "m3-batch: bad: quarantined: m3-decode: IM1.dcm: *truncated*" "*" &&
	[ "$(wc -l <res/p1/findings.jsonl)" -eq 4 ] && test -f res/p2/marks-4.png && test ! -e res/bad
'
skip_reason=

skip_unless make "make is not installed"
check 'examples/study.mk: a target per study, make -j; only new or changed studies run again' '
	mkdir -p in/A in/B cnt && echo 1 >in/A/f && echo 2 >in/B/f && printf "in/A\nin/B\n" >st.txt &&
	mk() { make -s -j4 -f "$TOP/examples/study.mk" STUDIES=st.txt OUT=res \
		PIPELINE="cat {in}/f >{out}/copy; echo x >>cnt/{id}${1:-}"; } &&
	mk && [ $(counted A) -eq 1 ] && [ $(counted B) -eq 1 ] && [ "$(cat res/B/copy)" = 2 ] &&
	mk && [ $(counted A) -eq 1 ] && [ $(counted B) -eq 1 ] &&
	find res/.make in -exec touch -d "-10 seconds" {} + && echo 3 >in/B/f &&
	mk && [ $(counted A) -eq 1 ] && [ $(counted B) -eq 2 ] && [ "$(cat res/B/copy)" = 3 ] &&
	mkdir in/C && echo c >in/C/f && echo in/C >>st.txt &&
	mk && [ $(counted A) -eq 1 ] && [ $(counted B) -eq 2 ] && [ $(counted C) -eq 1 ] &&
	mk "; true" && [ $(counted A) -eq 2 ] && [ $(counted C) -eq 2 ] &&
	m3-batch --status res | tail -n 1 | grep -qx "3 studies: 3 done"
'
skip_reason=

skip_unless flock "util-linux flock(1) is not installed"
check 'examples/cron.sh: two runs never overlap; logs rotated, newest kept' '
	printf "a\nb\n" >m.txt &&
	export M3_KEEP_LOGS=2 M3_PIPELINE="sleep 1; echo {id} >{out}/r" &&
	{ "$TOP/examples/cron.sh" m.txt res & } && pid=$! && sleep 0.3 &&
	run "$TOP/examples/cron.sh" m.txt res && expect_code 0 &&
	expect_err "cron.sh: another run holds res/.cron/lock; not starting a second one" &&
	wait $pid && test -f res/a/r && test -f res/b/r &&
	"$TOP/examples/cron.sh" m.txt res && "$TOP/examples/cron.sh" m.txt res &&
	[ "$(ls res/.cron | grep -c "^run-.*\.log$")" -eq 2 ] &&
	grep -qx "cron.sh: exit 0" "res/.cron/$(ls res/.cron | grep "^run-" | sort | tail -n 1)"
'
skip_reason=

done_testing
