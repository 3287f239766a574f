#!/bin/sh
# m3-push with no real server: folders, stdin, usage, bad files, unknown schemes, a server that
# is down, missing credentials, the signed webhook (fake receiver on 127.0.0.1), and the SigV4
# signer against AWS's documented example and botocore's presigned URLs.
. "$(dirname "$0")/lib.sh"

unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE \
	AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE \
	AWS_EC2_METADATA_SERVICE_ENDPOINT M3_NOTIFY_SECRET
export AWS_EC2_METADATA_DISABLED=true AWS_REGION=us-east-1 HOME="$SCRATCH"
SIGV4TEST=$TOP/build/tests/net/sigv4test

check 'a file into a folder (trailing slash): same bytes, no temporary left' '
	head -c 100000 /dev/urandom >a.bin && mkdir dst && run m3-push a.bin dst/ &&
	expect_code 0 && expect_empty out && expect_empty err && cmp a.bin dst/a.bin &&
	test "$(ls -A dst)" = a.bin
'

check 'several files and file:// into a folder' '
	echo one >1.txt && echo two >2.txt && mkdir dst && run m3-push 1.txt 2.txt "file://$PWD/dst" &&
	expect_code 0 && cmp 1.txt dst/1.txt && cmp 2.txt dst/2.txt
'

check 'stdin to a named file' '
	head -c 5000 /dev/urandom >a.bin && run sh -c "m3-push - res.bin <a.bin" && expect_code 0 &&
	cmp a.bin res.bin
'

check 'stdin to a folder: exit 2, it needs a name' '
	mkdir dst && run sh -c "echo x | m3-push - dst/" && expect_code 2 &&
	expect_err "m3-push: -: stdin needs a destination that names the object"
'

check 'a missing local file: exit 3, nothing written' '
	echo x >ok.txt && mkdir dst && run m3-push ok.txt nothere dst/ && expect_code 3 &&
	expect_err "m3-push: nothere: No such file or directory" && test -z "$(ls -A dst)"
'

check 'a folder as input: exit 3' '
	mkdir sub dst && run m3-push sub dst/ && expect_code 3 && expect_err "m3-push: sub: is a directory"
'

check 'unknown scheme: exit 3' '
	echo x >a && run m3-push a gs://b/k && expect_code 3 && expect_err "m3-push: gs://b/k: unknown scheme*"
'

check 'usage errors: exit 2' '
	run m3-push && expect_code 2 && grep -q "^usage: m3-push" err &&
	run m3-push onlyone && expect_code 2 &&
	run m3-push --sse aes a s3://b/k && expect_code 2 && expect_err "m3-push: --sse: *" &&
	run m3-push --kms-key k a s3://b/k && expect_code 2 && expect_err "m3-push: --kms-key: needs --sse aws:kms" &&
	run m3-push --checksum crc a s3://b/k && expect_code 2 &&
	run m3-push --part-size 1 a s3://b/k && expect_code 2 && expect_err "m3-push: --part-size: *" &&
	echo x >a && run m3-push --presign 60 a dst/ && expect_code 2
'

check '-h on stdout exit 0, --version' '
	run m3-push -h && expect_code 0 && grep -q "^usage: m3-push" out && expect_empty err &&
	run m3-push --version && expect_code 0 && grep -q "^m3-push (m3) " out
'

check 'no credentials: exit 5' '
	echo x >a && AWS_ENDPOINT_URL=http://127.0.0.1:9 run m3-push a s3://bkt/k && expect_code 5 &&
	expect_err "m3-push: s3://bkt/k: no credentials*"
'

check 'server down: exit 4 in bounded time, secret not printed' '
	echo x >a && start=$(date +%s) &&
	AWS_ACCESS_KEY_ID=AKIDDOWN AWS_SECRET_ACCESS_KEY=downsecret0123456789 \
		AWS_ENDPOINT_URL=http://127.0.0.1:9 run m3-push --retries 2 --sse none a s3://bkt/k &&
	expect_code 4 && expect_err "m3-push: s3://bkt/k: gave up after 3 attempts: *" &&
	! grep -q downsecret err && test $(($(date +%s) - start)) -lt 20
'

check 'signer: the AWS documented examples (GET Object header, presigned URL)' '
	run "$SIGV4TEST" example && expect_code 0 && test "$(grep -c "^ok" out)" -eq 2
'

skip_unless python3 "python3 is needed for the fake webhook receiver"
check '--notify: JSON POSTed, X-M3-Signature is the HMAC-SHA256 of the body' '
	python3 "$TOP/tests/integration/fakes3.py" port . & fpid=$!
	i=0; while [ ! -s port ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	echo hello >a.txt && mkdir dst &&
	M3_NOTIFY_SECRET=hooksecret123 run m3-push --notify "http://127.0.0.1:$(cat port)/hook" a.txt dst/;
	kill $fpid; wait $fpid 2>/dev/null
	expect_code 0 &&
	python3 -c "
import hashlib, hmac, json, sys
b = open(\"hook.body\", \"rb\").read(); s = open(\"hook.sig\").read()
m = json.loads(b)
assert s == \"sha256=\" + hmac.new(b\"hooksecret123\", b, hashlib.sha256).hexdigest(), s
assert m[\"size\"] == 6 and m[\"sha256\"] == hashlib.sha256(b\"hello\\n\").hexdigest(), m
"
'
skip_reason=

if /usr/bin/python3 -c "import botocore" 2>/dev/null; then skip_reason=; else
	skip_reason="python3-botocore is not installed"; fi
check 'signer: presigned URLs equal botocore'"'"'s for the same inputs and time' '
	export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY &&
	printf "%s\n" "us-east-1|http://127.0.0.1:9000|s3://bkt/plain.txt|1700000000|3600|path" \
		"eu-west-3|http://127.0.0.1:9000|s3://bkt/a/b c/ü~x+y=z&q.dcm|1369353600|86400|path" \
		"ap-south-1|https://s3.ap-south-1.amazonaws.com|s3://bkt/k/%2F/x|1000000000|60|virtual" \
		"us-west-2|http://localhost:7480|s3://my.bucket/ümlaut|1800000000|604800|path" >cases &&
	while IFS="|" read -r r ep u ts ex st; do
		for tok in "" "FwoGZXIvYXdzE+tok/en="; do
			a=$(AWS_SESSION_TOKEN=$tok AWS_REGION=$r AWS_ENDPOINT_URL=$ep AWS_S3_ADDRESSING_STYLE=$st \
				/usr/bin/python3 "$TOP/tests/integration/botocore_presign.py" "$u" $ts $ex |
				tr "?&" "\n\n" | sort) &&
			b=$(AWS_SESSION_TOKEN=$tok AWS_REGION=$r AWS_ENDPOINT_URL=$ep AWS_S3_ADDRESSING_STYLE=$st \
				"$SIGV4TEST" presign "$u" $ts $ex | tr "?&" "\n\n" | sort) &&
			if [ "$a" != "$b" ]; then echo "# botocore: $a" >&2; echo "# m3: $b" >&2; return 1; fi
		done
	done <cases
'
skip_reason=

check 'empty stdin: exit 3, "empty input", no object made' '
	mkdir dst && run m3-push - dst/x.bin </dev/null && expect_code 3 &&
	expect_err "m3-push: stdin: empty input" && test ! -e dst/x.bin
'

done_testing
