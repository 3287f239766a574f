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

check 'a folder with -o into a full disk: exit 1, the line names the file, no temporary file' '
	mkdata && mkdir got && ln -s /dev/full got/big &&
	run m3-fetch -o got d && expect_code 1 && expect_err "m3-fetch: got/big: No space left on device" &&
	test -z "$(find got -name ".*" -type f)"
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

# a fake S3 GET that misbehaves with ranges (tests/integration/fakerange.py MODE [ETAG]); its
# requests are logged to port.log
range_start() {
	head -c "${RANGE_SIZE:-3145733}" /dev/urandom >obj
	/usr/bin/python3 "$TOP/tests/integration/fakerange.py" port obj "$@" 2>/dev/null &
	fpid=$!
	i=0
	while [ ! -s port ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	port=$(cat port)
}
range_fetch() { AWS_ENDPOINT_URL=http://127.0.0.1:$port run m3-fetch --no-sign-request "$@"; }

check 'a 200 (Range ignored) to the first GET: the whole object once, no part after it' '
	range_start first200 0123456789abcdef0123456789abcdef-4 &&
	range_fetch --part-size 1 -j 4 -o got.bin s3://b/k &&
	range_fetch --part-size 1 -j 4 --verify-etag s3://b/k; fake_stop;
	expect_code 0 && cmp out obj && cmp got.bin obj && test "$(wc -l <port.log)" -eq 2 &&
	expect_err "m3-fetch: k: ETag * not checked: the server ignored the Range of the first GET"
'

check 'a retry after a reset answered 200 from byte 0: refused before a byte, the next resumes' '
	range_start reset200 0123456789abcdef0123456789abcdef-1 &&
	range_fetch -o got.bin s3://b/k; fake_stop;
	expect_code 0 && cmp got.bin obj &&
	test "$(cut -d" " -f3,4 port.log | tr "\n" " ")" = "bytes=0- 206 bytes=1048577-3145732 200 bytes=1048577-3145732 206 "
'

check 'default parts, a fast first part: the object in one GET, bytes=0-' '
	RANGE_SIZE=37748736 range_start ok && range_fetch -o got.bin s3://b/k; fake_stop;
	expect_code 0 && cmp got.bin obj && test "$(cut -d" " -f3,4 port.log)" = "bytes=0- 206"
'

check 'default parts, a slow first part: cut at the next boundary, the parts after it in parallel' '
	RANGE_SIZE=37748736 range_start slow0 && range_fetch -v s3://b/k; fake_stop;
	expect_code 0 && cmp out obj &&
	grep -q "^m3-fetch: 16 MiB in .* s: parts from byte 33554432 in parallel$" err &&
	test "$(sort port.log | cut -d" " -f3,4 | tr "\n" " ")" = "bytes=0- 206 bytes=33554432-37748735 206 "
'
skip_reason=

# DICOMweb with no PACS: a canned multipart/related server on loopback (fakeweb.py) for the
# stream parser, names, retries, auth and exit codes.  The real server is in tests/integration.
skip_unless /usr/bin/python3 "/usr/bin/python3 is needed for the fake DICOMweb server"
if [ -z "$skip_reason" ]; then
	W=$SCRATCH/web
	mkdir -p "$W" && m3-phantom cbct --size 16x16x16 -o "$W/ph" 2>/dev/null &&
		cp "$W/ph/CT0001.dcm" "$W/ph/CT0002.dcm" "$W" && head -c 777 /dev/urandom >"$W/z.bin" ||
		skip_reason="m3-phantom failed"
	/usr/bin/python3 "$TOP/tests/integration/fakeweb.py" "$W/port" "$W" &
	wpid=$!
	trap 'kill $wpid 2>/dev/null; rm -rf "$SCRATCH"' EXIT
	i=0
	while [ ! -s "$W/port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	DW=dicomweb+http://127.0.0.1:$(cat "$W/port")
fi
sop() { /usr/bin/python3 -c 'import pydicom,sys; d=pydicom.dcmread(sys.argv[1]); print(d.SeriesInstanceUID+"/"+d.SOPInstanceUID)' "$1"; }

check 'WADO-RS study: quoted boundary, preamble, padding, split delimiters: a tar of every part' '
	run m3-fetch "$DW/ok/dicom-web/studies/1.2.3" && expect_code 0 && expect_empty err &&
	mkdir t && tar xf out -C t && a=$(sop "$W/CT0001.dcm") && b=$(sop "$W/CT0002.dcm") &&
	test "$(tar tf out | tr "\n" " ")" = "$a.dcm $b.dcm unknown/000003.dcm " &&
	cmp "t/$a.dcm" "$W/CT0001.dcm" && cmp "t/$b.dcm" "$W/CT0002.dcm" &&
	cmp t/unknown/000003.dcm "$W/z.bin"
'

check 'WADO-RS series with -o DIR: <series>/<sop>.dcm files, no temporary file left' '
	run m3-fetch -o got/ "$DW/ok/dicom-web/studies/1.2.3/series/1.2.3.4" && expect_code 0 &&
	expect_empty out && a=$(sop "$W/CT0001.dcm") && cmp "got/$a.dcm" "$W/CT0001.dcm" &&
	cmp got/1.2.3.4/000003.dcm "$W/z.bin" && test "$(find got -type f | wc -l)" -eq 3
'

check 'WADO-RS instance: its bytes on stdout, and with -o FILE' '
	u="$DW/ok/dicom-web/studies/1.2.3/series/1.2.3.4/instances/1.2.3.4.5" &&
	run m3-fetch "$u" && expect_code 0 && cmp out "$W/CT0001.dcm" &&
	run m3-fetch -o one.dcm "$u" && expect_code 0 && cmp one.dcm "$W/CT0001.dcm" &&
	expect_files one.dcm
'

check 'a body cut before its closing boundary: exit 4 after the retries, no partial file' '
	run m3-fetch --retries 1 -o got "$DW/trunc/dicom-web/studies/1.2.3" && expect_code 4 &&
	expect_err "m3-fetch: $DW/trunc/dicom-web/studies/1.2.3: gave up after 2 attempts: the multipart body ended before its closing boundary" &&
	test "$(find got -type f | wc -l)" -eq 1 && cmp got/*/*.dcm "$W/CT0001.dcm" &&
	run m3-fetch --retries 1 -o one.dcm "$DW/trunc/dicom-web/studies/1.2.3/series/1.2.3.4/instances/1.2.3.4.5" &&
	expect_code 0 && cmp one.dcm "$W/CT0001.dcm" &&
	run m3-fetch --retries 1 "$DW/trunclen/dicom-web/studies/1.2.3" && expect_code 4 &&
	expect_err "m3-fetch: $DW/trunclen/*: gave up after 2 attempts: transfer closed*" &&
	run m3-fetch --retries 1 -o two.dcm "$DW/trunclen/dicom-web/studies/1.2.3/series/1.2.3.4/instances/1.2.3.4.5" &&
	expect_code 4 && expect_files got one.dcm
'

check '-l: QIDO-RS as JSON Lines, one series then its instances' '
	run m3-fetch -l "$DW/ok/dicom-web/studies/1.2.3" && expect_code 0 && expect_empty err &&
	test "$(grep -c "^{\"level\":\"series\",\"study\":\"1.2.3\",\"series\":\"1.2.3.4\",\"modality\":\"CT\",\"number\":7,\"instances\":3}$" out)" -eq 1 &&
	test "$(grep -c "\"level\":\"instance\"" out)" -eq 3 &&
	grep -q "\"instance\":\"1.2.3.4.2\",\"number\":2,\"key\":\"1.2.3.4/1.2.3.4.2.dcm\"}$" out &&
	! grep -q DOE out
'

check 'basic and bearer auth from the environment; a wrong one is exit 5, never printed' '
	u="$DW/auth/dicom-web/studies/1.2.3/series/1.2.3.4/instances/1.2.3.4.5" &&
	M3_DICOMWEB_USER=tester M3_DICOMWEB_PASSWORD=pw-fake-1234 run m3-fetch -v "$u" &&
	expect_code 0 && cmp out "$W/CT0001.dcm" && grep -q "^m3-fetch: > Authorization: \[redacted\]$" err &&
	! grep -q pw-fake-1234 err && M3_DICOMWEB_TOKEN=tok-fake-5678 run m3-fetch "$u" && expect_code 0 &&
	M3_DICOMWEB_TOKEN=tok-wrong-0000 run m3-fetch -v "$u" && expect_code 5 && ! grep -q tok-wrong err &&
	M3_DICOMWEB_USER=tester M3_DICOMWEB_PASSWORD=badpass-77 run m3-fetch "$u" && expect_code 5 &&
	expect_err "m3-fetch: $u: HTTP 401 Unauthorized" &&
	run m3-fetch "$u" && expect_code 5
'

check 'a password in the URL is refused (exit 2) and not echoed' '
	run m3-fetch "dicomweb+http://tester:pw-in-url-9@127.0.0.1:9/dicom-web/studies/1.2" &&
	expect_code 2 && expect_err "m3-fetch: credentials in a URL are refused*" && ! grep -q pw-in-url err
'

check 'DICOMweb exit codes: 404 is 3, 503 is 4 after retries, down is 4, bad URLs 3 and 2' '
	run m3-fetch "$DW/ok/dicom-web/studies/9.9.9" && expect_code 3 &&
	expect_err "m3-fetch: $DW/ok/dicom-web/studies/9.9.9: HTTP 404 Not Found" &&
	run m3-fetch --retries 1 "$DW/busy/dicom-web/studies/1.2" && expect_code 4 &&
	expect_err "*HTTP 503 Service Unavailable" &&
	run m3-fetch --retries 1 dicomweb+http://127.0.0.1:9/dicom-web/studies/1.2 && expect_code 4 &&
	run m3-fetch "$DW/ok/dicom-web/studies/1.2/frames/3" && expect_code 3 &&
	expect_err "*not a DICOMweb root, study, series or instance*" &&
	run m3-fetch "$DW/ok/dicom-web" && expect_code 2 && run m3-fetch dicomweb+ftp://x/studies/1 &&
	expect_code 3
'
skip_reason=

done_testing
