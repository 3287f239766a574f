#!/bin/sh
# m3-fetch with no real server: files, folders, usage, unknown schemes, a server that is down,
# missing credentials, and a fake IMDS + S3 on 127.0.0.1 (tests/integration/fakes3.py) for the
# credential chain and the redaction of -v.
. "$(dirname "$0")/lib.sh"

# nothing may reach a real cloud: no instance metadata, no default endpoint, no user profile
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE \
	AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE \
	AWS_EC2_METADATA_SERVICE_ENDPOINT
export AWS_EC2_METADATA_DISABLED=true AWS_REGION=us-east-1 HOME="$SCRATCH"

mkdata() {
	mkdir -p d/sub && head -c 300000 /dev/urandom >d/big && echo hi >d/sub/a.txt && : >d/empty
}

check 'a plain path: the bytes on stdout' '
	mkdata && run m3-fetch d/big && expect_code 0 && expect_empty err && cmp out d/big
'

check 'file:// of a file, small parts in parallel: the same bytes' '
	mkdata && run m3-fetch --part-size 1 -j 4 "file://$PWD/d/big" && expect_code 0 && cmp out d/big
'

check 'a folder: a tar stream of every file, names relative, sorted' '
	mkdata && run m3-fetch d && expect_code 0 && expect_empty err &&
	test "$(tar tf out | tr "\n" " ")" = "big empty sub/a.txt " &&
	mkdir x && tar xf out -C x && cmp x/big d/big && cmp x/sub/a.txt d/sub/a.txt
'

check 'a folder with -o: the files, and no temporary file left' '
	mkdata && run m3-fetch -o got d && expect_code 0 && expect_empty out && expect_empty err &&
	cmp got/big d/big && cmp got/sub/a.txt d/sub/a.txt && test -f got/empty &&
	test "$(find got -type f | wc -l)" -eq 3
'

check 'one file with -o FILE' '
	mkdata && run m3-fetch -o one.bin d/big && expect_code 0 && cmp one.bin d/big
'

check '-l: JSON Lines with key, size, etag, mtime' '
	mkdata && run m3-fetch -l d && expect_code 0 && test "$(wc -l <out)" -eq 3 &&
	grep -q "^{\"key\":\"d/big\",\"size\":300000,\"etag\":null,\"mtime\":\"20[0-9-]*T[0-9:]*Z\"}$" out
'

check '--sha256: a match passes, a mismatch is exit 3' '
	mkdata && h=$(sha256sum d/big | cut -d" " -f1) &&
	run m3-fetch --sha256 "$h" d/big && expect_code 0 && cmp out d/big &&
	run m3-fetch --sha256 0000000000000000000000000000000000000000000000000000000000000000 d/big &&
	expect_code 3 && expect_err "m3-fetch: d/big: SHA-256 * is not the one expected"
'

check 'missing file: exit 3, names it' '
	run m3-fetch nothere && expect_code 3 && expect_err "m3-fetch: nothere: No such file or directory"
'

check 'unknown scheme: exit 3' '
	run m3-fetch ftp://host/x && expect_code 3 && expect_err "m3-fetch: ftp://host/x: unknown scheme*"
'

check 'an empty folder: exit 3' '
	mkdir e && run m3-fetch e && expect_code 3 && expect_err "m3-fetch: e: no objects"
'

check 'usage: no operand, two operands, a bad option: exit 2, usage on stderr' '
	run m3-fetch && expect_code 2 && grep -q "^usage: m3-fetch" err && expect_empty out &&
	run m3-fetch a b && expect_code 2 &&
	run m3-fetch --frobnicate x && expect_code 2 && grep -q "^usage: m3-fetch" err
'

check 'bad numbers: exit 2 naming the option' '
	run m3-fetch -j 0 x && expect_code 2 && expect_err "m3-fetch: -j: *" &&
	run m3-fetch --sha256 xyz x && expect_code 2 && expect_err "m3-fetch: --sha256: *"
'

check '-h on stdout exit 0, --version' '
	run m3-fetch -h && expect_code 0 && grep -q "^usage: m3-fetch" out && expect_empty err &&
	run m3-fetch --version && expect_code 0 && grep -q "^m3-fetch (m3) " out
'

check 'no credentials anywhere: exit 5, says how to give them' '
	AWS_ENDPOINT_URL=http://127.0.0.1:9 run m3-fetch s3://bkt/k && expect_code 5 &&
	expect_err "m3-fetch: s3://bkt/k: no credentials*"
'

check 'AWS_PROFILE that is not in the files: exit 5' '
	AWS_PROFILE=nope AWS_ENDPOINT_URL=http://127.0.0.1:9 run m3-fetch s3://bkt/k &&
	expect_code 5 && expect_err "*profile \"nope\" not found*"
'

check 'server down: exit 4 after the retries, in bounded time' '
	start=$(date +%s) &&
	AWS_ACCESS_KEY_ID=AKIDDOWN AWS_SECRET_ACCESS_KEY=downsecret0123456789 \
		AWS_ENDPOINT_URL=http://127.0.0.1:9 run m3-fetch --retries 3 s3://bkt/k &&
	expect_code 4 && expect_err "m3-fetch: s3://bkt/k: gave up after 4 attempts: *" &&
	test $(($(date +%s) - start)) -lt 20
'

check 'http:// server down: exit 4' '
	run m3-fetch --retries 1 http://127.0.0.1:9/x && expect_code 4
'

# a fake IMDS and S3 on loopback
FAKE=$TOP/tests/integration/fakes3.py
fake_start() {
	FAKE_TOKEN=tok-$$-secret FAKE_WANT_TOKEN=${FAKE_WANT_TOKEN:-} python3 "$FAKE" port . &
	fpid=$!
	i=0
	while [ ! -s port ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	port=$(cat port)
}
fake_stop() { kill "$fpid"; wait "$fpid" 2>/dev/null; }

skip_unless python3 "python3 is needed for the fake IMDS and S3 server"
check 'IMDSv2 credentials are used when nothing else is set (token sent too)' '
	FAKE_WANT_TOKEN=tok-$$-secret fake_start &&
	AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:$port \
		AWS_ENDPOINT_URL=http://127.0.0.1:$port run m3-fetch s3://bkt/k; fake_stop;
	expect_code 0 && test "$(cat out)" = "hello from fakes3"
'

check 'AWS_PROFILE from ~/.aws/credentials (and region from ~/.aws/config)' '
	fake_start && mkdir -p .aws &&
	printf "[m3p]\naws_access_key_id = AKIDFAKEIMDS\naws_secret_access_key = profsecret123456\n" \
		>.aws/credentials && printf "[profile m3p]\nregion = eu-west-3\n" >.aws/config &&
	HOME=$PWD AWS_PROFILE=m3p AWS_REGION= AWS_ENDPOINT_URL=http://127.0.0.1:$port \
		run m3-fetch -v s3://bkt/k; fake_stop;
	expect_code 0 && test "$(cat out)" = "hello from fakes3" &&
	! grep -q profsecret123456 err
'

check '-v shows the wire but never the secret, the token, or the signature' '
	fake_start &&
	AWS_ACCESS_KEY_ID=AKIDFAKEIMDS AWS_SECRET_ACCESS_KEY=verysecretvalue0123456789 \
		AWS_SESSION_TOKEN=sessiontokenvalue987654321 AWS_ENDPOINT_URL=http://127.0.0.1:$port \
		run m3-fetch -v s3://bkt/k; fake_stop;
	expect_code 0 && grep -q "^m3-fetch: > GET /bkt/k HTTP/1.1" err &&
	grep -q "^m3-fetch: > Authorization: \[redacted\]$" err &&
	grep -qi "^m3-fetch: > x-amz-security-token: \[redacted\]$" err &&
	! grep -q verysecretvalue err && ! grep -q sessiontokenvalue err &&
	! grep -q "Signature=" err
'

check 'a key the server refuses (403): exit 5' '
	fake_start &&
	AWS_ACCESS_KEY_ID=AKIDWRONG AWS_SECRET_ACCESS_KEY=wrongsecret0123456789 \
		AWS_ENDPOINT_URL=http://127.0.0.1:$port run m3-fetch s3://bkt/k; fake_stop;
	expect_code 5 && expect_err "m3-fetch: s3://bkt/k: HTTP 403*" && ! grep -q wrongsecret err
'
skip_reason=

done_testing
