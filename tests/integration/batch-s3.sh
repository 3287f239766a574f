#!/bin/sh
# m3-batch with its results in S3 (-o s3://bucket/prefix/) against a throwaway Ceph radosgw on
# 127.0.0.1 (radosgw.sh): objects and stamps appear, the stamp last; a quarantined study leaves
# nothing; a rerun uploads nothing; exit 4 is retried; m3-push's 3 and 5 quarantine and fail;
# the stamps stand in for a lost state folder; Slurm tasks push their studies themselves.
# TAP; skips with the reason when radosgw is not installed.
. "$(dirname "$0")/../cli/lib.sh"
IT=$TOP/tests/integration

unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ENDPOINT_URL_S3 \
	AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE AWS_CA_BUNDLE TMPDIR
export AWS_EC2_METADATA_DISABLED=true AWS_REGION=us-east-1 HOME="$SCRATCH"

missing=
for b in radosgw ceph-mon ceph-osd ceph radosgw-admin ceph-authtool monmaptool uuidgen curl python3; do
	command -v $b >/dev/null 2>&1 || missing="$missing $b"
done
RGW=$SCRATCH/rgw
if [ -n "$missing" ]; then
	skip_reason="not installed:$missing (apt-get install radosgw ceph-mon ceph-osd ceph-common uuid-runtime curl)"
else
	eval "$("$IT/radosgw.sh" start "$RGW" 512)" || skip_reason="radosgw did not start"
	trap '"$IT/radosgw.sh" stop "$RGW"; rm -rf "$SCRATCH"' EXIT
fi
if [ -z "$skip_reason" ]; then
	export AWS_ACCESS_KEY_ID=$RGW_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$RGW_SECRET_KEY
	export AWS_ENDPOINT_URL=$RGW_ENDPOINT
	# the bucket, made with curl's own SigV4 (the AWS CLI is not needed); the key pair goes in
	# a config file, not on a command line
	printf 'user = "%s:%s"\n' "$RGW_ACCESS_KEY" "$RGW_SECRET_KEY" >"$SCRATCH/curl.cfg"
	curl -sf -K "$SCRATCH/curl.cfg" --aws-sigv4 "aws:amz:us-east-1:s3" -X PUT \
		-H "x-amz-content-sha256: $(printf "" | sha256sum | cut -d" " -f1)" \
		"$RGW_ENDPOINT/m3b" >/dev/null || skip_reason="cannot create a bucket"
	rm -f "$SCRATCH/curl.cfg"
	# the first write to a fresh cluster is slow (the data pool is created)
	echo warm | m3-push --sse none - s3://m3b/warmup >/dev/null 2>&1
fi
FAKE=$TOP/tests/batch/fake-tool
PUSHOPT=--push-opt=--sse=none

# keys URL: the keys under an S3 prefix, sorted, one a line
keys() { m3-fetch -l "$1" | sed 's/^{"key":"\([^"]*\)".*/\1/' | sort; }
# counted STUDY: how many times a pipeline ran for STUDY
counted() { if [ -f "cnt/$1" ]; then wc -l <"cnt/$1" | tr -d " "; else echo 0; fi; }

# a: two files, one in a subfolder; b the same; q is corrupt (exit 3); r exits 4 twice
P="echo x >>cnt/{id}; case {id} in q) $FAKE 3 \"q/IM1.dcm: not a DICOM file\";; \
r) [ \$(wc -l <cnt/{id}) -ge 3 ] || { echo \"m3-fetch: {in}: 503 slow down\" >&2; exit 4; };; esac; \
echo {in} >{out}/result.txt; mkdir {out}/series; echo s >{out}/series/IM1.dcm"

check 'a batch into s3://: each done study is its objects and a stamp, the stamp last; the quarantined one has none' '
	printf "a\nb\nq\n" >m.txt && mkdir cnt w &&
	run m3-batch -j 2 --work w $PUSHOPT -m m.txt -o s3://m3b/c1/ -- "$P" && expect_code 3 &&
	expect_empty out && grep -q "^m3-batch: q: quarantined: fake-tool: q/IM1.dcm: not a DICOM file$" err &&
	tail -n 1 err | grep -qx "m3-batch: 2 of 3 studies done, 1 quarantined (m3-batch --status s3://m3b/c1/)" &&
	keys s3://m3b/c1/ >k && printf "%s\n" c1/a/.m3-batch-done c1/a/result.txt c1/a/series/IM1.dcm \
		c1/b/.m3-batch-done c1/b/result.txt c1/b/series/IM1.dcm | cmp - k &&
	[ "$(m3-fetch s3://m3b/c1/a/result.txt)" = a ] &&
	m3-fetch s3://m3b/c1/b/.m3-batch-done | grep -q "\"id\":\"b\",.*\"results\":\"s3://m3b/c1/b/\"" &&
	last=$(m3-fetch -l s3://m3b/c1/a/ | sed "s/.*\"mtime\":\"\([^\"]*\)\".*/\1 &/" | sort | tail -n 1) &&
	case "$last" in *c1/a/.m3-batch-done*) ;; *) echo "# newest is not the stamp: $last" >&2; false ;; esac &&
	test -z "$(ls -A w)" && S=$(ls -d m3-batch-state/*) && test -f $S/a/.m3-batch-done &&
	test -f $S/a/m3-batch.log && test ! -e $S/a/result.txt && test ! -e $S/q &&
	grep -q "q/IM1.dcm: not a DICOM file" $S/.m3-batch/log/q.log &&
	run m3-batch --status s3://m3b/c1/ && expect_code 0 &&
	grep -q "^a  *done  *0  *1 " out && grep -q "^q  *quarantined  *3  *1 .* not a DICOM file$" out &&
	tail -n 1 out | grep -qx "3 studies: 2 done, 1 quarantined"
'

check 'a rerun uploads nothing new and runs nothing done or quarantined' '
	printf "a\nb\nq\n" >m.txt && mkdir cnt &&
	m3-batch -q $PUSHOPT -m m.txt -o s3://m3b/c2/ -- "$P"; [ $? -eq 3 ] &&
	m3-fetch -l s3://m3b/c2/ >before && [ "$(wc -l <before)" -eq 6 ] && sleep 1.1 &&
	run m3-batch $PUSHOPT -m m.txt -o s3://m3b/c2/ -- "$P" && expect_code 3 &&
	m3-fetch -l s3://m3b/c2/ | cmp - before &&
	[ $(counted a) -eq 1 ] && [ $(counted b) -eq 1 ] && [ $(counted q) -eq 1 ]
'

check 'the state folder lost: the stamps in S3 say what is done; only the rest runs again' '
	printf "a\nb\nq\n" >m.txt && mkdir cnt &&
	m3-batch -q $PUSHOPT --state st -m m.txt -o s3://m3b/c3 -- "$P"; [ $? -eq 3 ] &&
	m3-fetch -l s3://m3b/c3/ >before && rm -rf st && sleep 1.1 &&
	run m3-batch -v $PUSHOPT --state st -m m.txt -o s3://m3b/c3 -- "$P" && expect_code 3 &&
	grep -q "^m3-batch: a: done by an earlier run (its stamp is in s3://m3b/c3/a/)$" err &&
	[ $(counted a) -eq 1 ] && [ $(counted b) -eq 1 ] && [ $(counted q) -eq 2 ] &&
	m3-fetch -l s3://m3b/c3/ | cmp - before &&
	m3-batch --status st | tail -n 1 | grep -qx "3 studies: 2 done, 1 quarantined"
'

check 'a study that exits 4 twice and then works is retried, then uploaded' '
	echo r >m.txt && mkdir cnt &&
	run m3-batch -r 3 --backoff 0.01 $PUSHOPT -m m.txt -o s3://m3b/c4/ -- "$P" && expect_code 0 &&
	expect_empty err && [ $(counted r) -eq 3 ] &&
	keys s3://m3b/c4/ | grep -qx c4/r/.m3-batch-done &&
	grep -c "\"state\":\"retrying\",\"attempt\":[12],\"exit\":4" m3-batch-state/*/status.jsonl | grep -qx 2 &&
	m3-batch --status s3://m3b/c4/ | grep -q "^r  *done  *0  *3 "
'

check '--force uploads a done study again; the stamp is pushed anew' '
	echo a >m.txt && mkdir cnt &&
	m3-batch $PUSHOPT -m m.txt -o s3://m3b/c5/ -- "$P" && m3-fetch -l s3://m3b/c5/a/.m3-batch-done >s1 &&
	sleep 1.1 && run m3-batch -f $PUSHOPT -m m.txt -o s3://m3b/c5/ -- "$P" && expect_code 0 &&
	[ $(counted a) -eq 2 ] && m3-fetch -l s3://m3b/c5/a/.m3-batch-done >s2 && ! cmp -s s1 s2
'

check 'm3-push exit 3 (no such bucket) quarantines; exit 5 (a wrong secret) fails, with its line' '
	echo a >m.txt && mkdir cnt &&
	run m3-batch $PUSHOPT --state s1 -m m.txt -o s3://m3-no-such-bucket/x/ -- "$P" && expect_code 3 &&
	grep -q "^m3-batch: a: quarantined: m3-push: .*NoSuchBucket" err &&
	m3-batch --status s1 | grep -q "^a  *quarantined  *3 " &&
	AWS_SECRET_ACCESS_KEY=WrongSecretWrongSecret0123 run m3-batch -r 3 --backoff 0 $PUSHOPT --state s2 \
		-m m.txt -o s3://m3b/c6/ -- "$P" && expect_code 1 &&
	grep -q "^m3-batch: a: failed: m3-push: .*403" err && ! grep -q WrongSecret err &&
	! grep -rq WrongSecret s2 && ! grep -rq "$RGW_SECRET_KEY" s1 s2 &&
	m3-batch --status s2 | grep -q "^a  *failed  *5  *1 .*403" && [ -z "$(keys s3://m3b/c6/)" ]
'

check '--slurm: each array task pushes its own study (the tasks run here, by hand)' '
	printf "a\nb\nq\n" >m.txt && mkdir cnt bin &&
	printf "#!/bin/sh\necho 4242\n" >bin/sbatch && chmod +x bin/sbatch &&
	PATH=$PWD/bin:$PATH run m3-batch --slurm $PUSHOPT --state st -m m.txt -o s3://m3b/c7/ -- "$P" &&
	expect_code 0 && [ "$(cat out)" = 4242 ] &&
	grep -q " -o '"'"'s3://m3b/c7/'"'"' --state $PWD/st --push-opt '"'"'--sse=none'"'"' " st/.slurm/array.sh &&
	for i in 0 1 2; do SLURM_ARRAY_JOB_ID=4242 SLURM_ARRAY_TASK_ID=$i sh st/.slurm/array.sh 2>>task.err; done;
	keys s3://m3b/c7/ >k && [ "$(grep -c "/.m3-batch-done$" k)" -eq 2 ] && ! grep -q "^c7/q/" k &&
	m3-batch --status st | tail -n 1 | grep -qx "3 studies: 2 done, 1 quarantined" &&
	grep -q "\"job\":\"4242_0\"" st/status.jsonl
'

done_testing
