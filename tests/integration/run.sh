#!/bin/sh
# Integration tests of m3-fetch and m3-push against real servers started on 127.0.0.1: Ceph
# radosgw (radosgw.sh), the fault-injecting proxy in front of it (faultproxy.py), the AWS CLI
# and curl as clients we did not write.  TAP; skips with the reason when a package is missing.
. "$(dirname "$0")/../cli/lib.sh"
IT=$TOP/tests/integration

unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ENDPOINT_URL_S3 \
	AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE AWS_CA_BUNDLE
export AWS_EC2_METADATA_DISABLED=true AWS_REGION=us-east-1 HOME="$SCRATCH"

# no server needed: the MD5s of many objects at once (vector lanes) against libcrypto's
check 'm3_md5_many: the same digests as libcrypto, every length around the block boundaries, each path this CPU has' '
	run "$TOP/build/tests/net/md5test" && expect_code 0 && n=$(sed -n "s/^1\.\.//p" out) &&
	test "$n" -ge 4 && test "$(grep -c "^ok" out)" -eq "$n" && ! grep -q "^not ok" out
'

missing=
for b in radosgw ceph-mon ceph-osd ceph radosgw-admin aws curl python3; do
	command -v $b >/dev/null 2>&1 || missing="$missing $b"
done
RGW=$SCRATCH/rgw
if [ -n "$missing" ]; then
	skip_reason="not installed:$missing (apt-get install radosgw ceph-mon ceph-osd ceph-common awscli curl)"
else
	eval "$("$IT/radosgw.sh" start "$RGW" 1024)" || skip_reason="radosgw did not start"
	trap '"$IT/radosgw.sh" stop "$RGW"; [ -n "${ppid:-}" ] && kill $ppid 2>/dev/null; [ -n "${flippid:-}" ] && kill $flippid 2>/dev/null; [ -n "${allpid:-}" ] && kill $allpid 2>/dev/null; [ -n "${losepid:-}" ] && kill $losepid $sumokpid $sumbadpid 2>/dev/null; rm -rf "$SCRATCH"' EXIT
fi
if [ -z "$skip_reason" ]; then
	export AWS_ACCESS_KEY_ID=$RGW_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$RGW_SECRET_KEY
	export AWS_ENDPOINT_URL=$RGW_ENDPOINT
	aws() { command aws --endpoint-url "$RGW_ENDPOINT" "$@"; }
	aws s3 mb s3://m3it >/dev/null && aws s3 mb s3://m3faults >/dev/null ||
		skip_reason="cannot create buckets"
	# the first write to a fresh cluster is slow (the data pool is created)
	echo warm | m3-push --sse none - s3://m3it/warmup >/dev/null 2>&1
fi
PUSH="m3-push --sse none"

check 'a small file: m3-push puts it, m3-fetch and the AWS CLI get the same bytes' '
	head -c 1000 /dev/urandom >a.bin && run $PUSH a.bin s3://m3it/small/a.bin && expect_code 0 &&
	expect_empty err && m3-fetch s3://m3it/small/a.bin | cmp - a.bin &&
	aws s3 cp s3://m3it/small/a.bin got.bin >/dev/null && cmp got.bin a.bin
'

check 'a 23 MB file: multipart in parallel (5 MiB parts), both ways byte-identical' '
	head -c 23000000 /dev/urandom >big.bin &&
	run $PUSH --part-size 5 -j 4 big.bin s3://m3it/big/big.bin && expect_code 0 &&
	aws s3 cp s3://m3it/big/big.bin got.bin >/dev/null && cmp got.bin big.bin &&
	m3-fetch --part-size 1 -j 6 s3://m3it/big/big.bin | cmp - big.bin &&
	test "$(m3-fetch -l s3://m3it/big/big.bin | grep -c "\"etag\":\"[0-9a-f]*-5\"")" -eq 1
'

check 'one object, no HEAD: its size from the first ranged GET, at and around the part size' '
	for n in 1 1048575 1048576 1048577 3145733; do
		head -c $n /dev/urandom >n$n && $PUSH n$n s3://m3it/sizes/n$n >/dev/null &&
		run m3-fetch -v --part-size 1 -j 3 s3://m3it/sizes/n$n && expect_code 0 &&
		cmp out n$n && ! grep -q "> HEAD " err &&
		test "$(grep -c "> GET " err)" -eq $(((n + 1048575) / 1048576)) || return 1
	done &&
	run m3-fetch --part-size 1 -o got --sha256 "$(sha256sum <n3145733 | cut -c1-64)" \
		s3://m3it/sizes/n3145733 && expect_code 0 && cmp got n3145733 &&
	: >n0 && aws s3 cp n0 s3://m3it/sizes/n0 >/dev/null && run m3-fetch s3://m3it/sizes/n0 &&
	expect_code 0 && expect_empty out && expect_empty err &&
	run m3-fetch -o none s3://m3it/sizes/nothere && expect_code 3 &&
	expect_err "m3-fetch: s3://m3it/sizes/nothere: HTTP 404 NoSuchKey" &&
	expect_files got n0 n1 n1048575 n1048576 n1048577 n3145733
'

check 'stdin of unknown size, streamed as multipart' '
	head -c 12000000 /dev/urandom >s.bin &&
	run sh -c "cat s.bin | $PUSH --part-size 5 - s3://m3it/stdin/s.bin" && expect_code 0 &&
	m3-fetch s3://m3it/stdin/s.bin | cmp - s.bin
'

check 'the AWS CLI uploads (multipart), m3-fetch gets the same bytes, --sha256 checked' '
	head -c 17000000 /dev/urandom >c.bin && aws s3 cp c.bin s3://m3it/cli/c.bin >/dev/null &&
	run m3-fetch --sha256 "$(sha256sum c.bin | cut -d" " -f1)" s3://m3it/cli/c.bin &&
	expect_code 0 && cmp out c.bin
'

check 'a prefix of 30 objects: tar stream, -o DIR, -l; same as the AWS CLI sync' '
	mkdir src && for i in $(seq 1 30); do head -c $((i * 3001)) /dev/urandom >src/f$i.dcm; done &&
	run $PUSH src/* s3://m3it/study/ && expect_code 0 &&
	run m3-fetch s3://m3it/study/ && expect_code 0 && mkdir t && tar xf out -C t &&
	diff -r src t && run m3-fetch -o dir s3://m3it/study/ && expect_code 0 && diff -r src dir &&
	run m3-fetch -l s3://m3it/study/ && test "$(wc -l <out)" -eq 30 &&
	aws s3 sync s3://m3it/study/ awsdir >/dev/null && diff -r src awsdir
'

check 'a presigned URL from m3-push works with plain curl; a changed one is refused' '
	head -c 4321 /dev/urandom >p.bin && run $PUSH --presign 600 p.bin s3://m3it/pre/p.bin &&
	expect_code 0 && url=$(cat out) && curl -sf -o got.bin "$url" && cmp got.bin p.bin &&
	bad=$(echo "$url" | sed "s/X-Amz-Expires=600/X-Amz-Expires=601/") &&
	test "$(curl -s -o /dev/null -w "%{http_code}" "$bad")" = 403
'

check 'a wrong secret: exit 5, and the secret is not in stderr' '
	echo x >a && AWS_SECRET_ACCESS_KEY=WrongSecretWrongSecret0123 run $PUSH a s3://m3it/w/a &&
	expect_code 5 && expect_err "m3-push: s3://m3it/w/a: HTTP 403 SignatureDoesNotMatch" &&
	AWS_SECRET_ACCESS_KEY=WrongSecretWrongSecret0123 run m3-fetch -v s3://m3it/small/a.bin &&
	expect_code 5 && ! grep -q WrongSecret err && ! grep -q "$RGW_SECRET_KEY" err
'

check 'a bucket or key that does not exist: exit 3' '
	run m3-fetch s3://nosuchbucket42/k && expect_code 3 && expect_err "m3-fetch: s3://nosuchbucket42/k: HTTP 404*" &&
	run m3-fetch s3://m3it/nothere && expect_code 3 &&
	echo x >a && run $PUSH a s3://nosuchbucket42/k && expect_code 3
'

check 'SSE by default: radosgw without SSE set up refuses it, and says what to do' '
	echo x >a && run m3-push a s3://m3it/sse/a && expect_code 1 &&
	expect_err "*--sse none*" && run m3-fetch -l s3://m3it/sse/ && expect_empty out
'

check 'kill -9 in the middle of a multipart upload: no object is visible' '
	{ head -c 11000000 /dev/urandom; sleep 30; } | $PUSH --part-size 5 - s3://m3it/kill/k.bin 2>/dev/null &
	sleep 2 && kill -9 $! && sleep 0.5 &&
	run m3-fetch -l s3://m3it/kill/ && expect_code 0 && expect_empty out &&
	run aws s3api list-multipart-uploads --bucket m3it --prefix kill/ && grep -q UploadId out
'

# --verify-etag: a proxy that changes one byte of every ranged GET answer (and nothing else);
# another that changes one byte of every object's answer (the ETags of whole objects)
if [ -z "$skip_reason" ]; then
	FAULTPROXY_FLIP=1 python3 "$IT/faultproxy.py" "${RGW_ENDPOINT##*:}" "$SCRATCH/flip.port" 1 0 &
	flippid=$!
	FAULTPROXY_FLIP=all python3 "$IT/faultproxy.py" "${RGW_ENDPOINT##*:}" "$SCRATCH/all.port" 1 0 &
	allpid=$!
	FAULTPROXY_LOSE=complete python3 "$IT/faultproxy.py" "${RGW_ENDPOINT##*:}" "$SCRATCH/lose.port" 1 0 &
	losepid=$!
	FAULTPROXY_SUM=good python3 "$IT/faultproxy.py" "${RGW_ENDPOINT##*:}" "$SCRATCH/sumok.port" 1 0 &
	sumokpid=$!
	FAULTPROXY_SUM=bad python3 "$IT/faultproxy.py" "${RGW_ENDPOINT##*:}" "$SCRATCH/sumbad.port" 1 0 &
	sumbadpid=$!
	i=0
	for f in flip all lose sumok sumbad; do
		while [ ! -s "$SCRATCH/$f.port" ] && [ $i -lt 250 ]; do sleep 0.1; i=$((i + 1)); done
	done
	FLIP=http://127.0.0.1:$(cat "$SCRATCH/flip.port")
	FLIPALL=http://127.0.0.1:$(cat "$SCRATCH/all.port")
	LOSE=http://127.0.0.1:$(cat "$SCRATCH/lose.port")
	SUMOK=http://127.0.0.1:$(cat "$SCRATCH/sumok.port")
	SUMBAD=http://127.0.0.1:$(cat "$SCRATCH/sumbad.port")
fi

check 'a prefix of 40 objects to -o DIR: every ETag checked (in batches); a changed byte: exit 4, no file' '
	mkdir src && for i in $(seq 1 40); do head -c $((i * 997)) /dev/urandom >src/g$i.bin; done &&
	run $PUSH src/* s3://m3it/batch/ && expect_code 0 &&
	for j in 1 3 16; do
		run m3-fetch -j $j -o dir$j s3://m3it/batch/ && expect_code 0 && expect_empty err &&
		diff -r src dir$j || return 1
	done &&
	AWS_ENDPOINT_URL=$FLIPALL run m3-fetch -j 6 -o bad s3://m3it/batch/ && expect_code 4 &&
	grep -q "batch/g[0-9]*.bin: MD5 [0-9a-f]* does not match the ETag" err &&
	test -z "$(find bad -type f)" &&
	AWS_ENDPOINT_URL=$FLIPALL run m3-fetch -j 6 s3://m3it/batch/ && expect_code 4 &&
	grep -q "does not match the ETag" err
'

check '--verify-etag: a 20 MB multipart object checked (exit 0); a changed byte: exit 3, no -o file' '
	head -c 20000000 /dev/urandom >v.bin && run $PUSH v.bin s3://m3it/verify/v.bin &&
	expect_code 0 && m3-fetch -l s3://m3it/verify/v.bin | grep -q "\"etag\":\"[0-9a-f]*-3\"" &&
	run m3-fetch --verify-etag -o v.out s3://m3it/verify/v.bin && expect_code 0 &&
	expect_empty err && test "$(sha256sum <v.out)" = "$(sha256sum <v.bin)" &&
	run m3-fetch --verify-etag -j 2 s3://m3it/verify/v.bin && expect_code 0 && cmp out v.bin &&
	run m3-fetch --verify-etag --part-size 5 s3://m3it/verify/v.bin && expect_code 0 &&
	cmp out v.bin && grep -q "ETag [0-9a-f]*-3 not checked" err &&
	AWS_ENDPOINT_URL=$FLIP m3-fetch s3://m3it/verify/v.bin >plain && ! cmp -s plain v.bin &&
	AWS_ENDPOINT_URL=$FLIP run m3-fetch --verify-etag -o c.out s3://m3it/verify/v.bin &&
	expect_code 3 && grep -q "does not match the ETag" err && test ! -e c.out &&
	test -z "$(ls -A | grep c.out)" &&
	AWS_ENDPOINT_URL=$FLIP run m3-fetch --verify-etag s3://m3it/verify/v.bin && expect_code 3
'

check 'the answer to CompleteMultipartUpload lost after the server applied it: exit 0, one warning' '
	head -c 12000000 /dev/urandom >l.bin &&
	AWS_ENDPOINT_URL=$LOSE run $PUSH --part-size 5 l.bin s3://m3it/lose/l.bin && expect_code 0 &&
	expect_err "m3-push: s3://m3it/lose/l.bin: the answer to CompleteMultipartUpload was lost; *" &&
	m3-fetch s3://m3it/lose/l.bin | cmp - l.bin &&
	run aws s3api list-multipart-uploads --bucket m3it --prefix lose/ && ! grep -q UploadId out
'

check 'x-amz-checksum-sha256 with whole objects (asked for): checked, exit 0; a wrong one: exit 4, no file' '
	m3-fetch -o ref s3://m3it/batch/ &&
	AWS_ENDPOINT_URL=$SUMOK run m3-fetch -j 4 -o sumok s3://m3it/batch/ && expect_code 0 &&
	expect_empty err && diff -r ref sumok &&
	AWS_ENDPOINT_URL=$SUMBAD run m3-fetch -j 4 -o sumbad s3://m3it/batch/ && expect_code 4 &&
	grep -q "batch/g[0-9]*.bin: x-amz-checksum-sha256 [A-Za-z0-9+/=]* does not match the SHA-256" err &&
	test -z "$(find sumbad -type f 2>/dev/null)" &&
	AWS_ENDPOINT_URL=$SUMBAD run m3-fetch -j 2 s3://m3it/batch/ && expect_code 4
'

if [ -n "${flippid:-}" ]; then
	kill $flippid $allpid $losepid $sumokpid $sumbadpid &&
		wait $flippid $allpid $losepid $sumokpid $sumbadpid 2>/dev/null
	flippid= allpid= losepid= sumokpid= sumbadpid=
	for f in sumok sumbad; do sed "s/^/# $f proxy: /" "$SCRATCH/$f.port.stats" >&2; done
fi

# Faults: 100 transfers through the proxy, 25% of requests failing.
if [ -z "$skip_reason" ]; then
	python3 "$IT/faultproxy.py" "${RGW_ENDPOINT##*:}" "$SCRATCH/fp.port" 42 0.25 3 &
	ppid=$!
	i=0; while [ ! -s "$SCRATCH/fp.port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	FP=http://127.0.0.1:$(cat "$SCRATCH/fp.port")
fi

check 'under injected faults, 100 uploads and downloads end byte-identical or exit 4' '
	mkdir f && i=0 && ok=0 && four=0 &&
	while [ $i -lt 50 ]; do
		case $i in 7 | 23 | 41) sz=$((9000000 + i * 1000)) ;; *) sz=$((1000 + i * 4000)) ;; esac
		head -c $sz /dev/urandom >f/$i &&
		AWS_ENDPOINT_URL=$FP $PUSH --part-size 5 -j 3 --timeout 2 f/$i s3://m3faults/o/$i 2>>perr
		rc=$? && case $rc in
		0) m3-fetch s3://m3faults/o/$i | cmp -s - f/$i || { echo "# upload $i: wrong bytes" >&2; return 1; }
		   ok=$((ok + 1)) ;;
		4) four=$((four + 1)); m3-fetch -l s3://m3faults/o/$i | grep -q "\"o/$i\"" &&
		   { echo "# upload $i: exit 4 but the object is visible" >&2; return 1; } ;;
		*) echo "# upload $i: exit $rc" >&2; cat perr >&2; return 1 ;;
		esac
		AWS_ENDPOINT_URL=$FP m3-fetch --part-size 1 -j 3 --timeout 2 s3://m3it/study/f$((i % 30 + 1)).dcm >got 2>>ferr
		rc=$? && case $rc in
		0) cmp -s got src.$((i % 30 + 1)) 2>/dev/null || m3-fetch s3://m3it/study/f$((i % 30 + 1)).dcm | cmp -s - got ||
		   { echo "# download $i: wrong bytes" >&2; return 1; }; ok=$((ok + 1)) ;;
		4) four=$((four + 1)) ;;
		*) echo "# download $i: exit $rc" >&2; cat ferr >&2; return 1 ;;
		esac
		i=$((i + 1))
	done
	echo "# faults: $ok byte-identical, $four exit 4" >&2
	test $ok -ge 90
'

check 'a multipart upload that fails (exit 4) is aborted: no upload left behind' '
	head -c 11000000 /dev/urandom >m.bin && n=0 && fails=0 &&
	while [ $n -lt 6 ] && [ $fails -lt 2 ]; do
		AWS_ENDPOINT_URL=$FP run $PUSH --retries 0 --timeout 2 --part-size 5 m.bin s3://m3faults/abort/m$n.bin
		case $status in 0) ;; 4) fails=$((fails + 1)) ;; *) return 1 ;; esac
		n=$((n + 1))
	done
	test $fails -ge 1 && run aws s3api list-multipart-uploads --bucket m3faults --prefix abort/ &&
	! grep -q UploadId out
'

check 'the large downloads under faults: parallel ranged GETs, byte-identical' '
	AWS_ENDPOINT_URL=$FP run m3-fetch --part-size 1 -j 4 --timeout 2 s3://m3it/big/big.bin &&
	expect_code 0 && m3-fetch s3://m3it/big/big.bin | cmp - out
'

if [ -z "$skip_reason" ]; then
	kill $ppid && wait $ppid 2>/dev/null
	ppid=
	sed "s/^/# fault proxy: /" "$SCRATCH/fp.port.stats" >&2
fi

# DICOMweb: Orthanc with its plugin (orthanc.sh)
skip_reason=
CT=/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm
if ! command -v Orthanc >/dev/null 2>&1 || [ ! -e /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] ||
	[ ! -e "$CT" ]; then
	skip_reason="not installed: orthanc orthanc-dicomweb python3-pydicom"
else
	eval "$("$IT/orthanc.sh" start "$SCRATCH/orthanc")" || skip_reason="Orthanc did not start"
	trap '"$IT/orthanc.sh" stop "$SCRATCH/orthanc"; "$IT/radosgw.sh" stop "$RGW"; rm -rf "$SCRATCH"' EXIT
fi

check 'STOW-RS: m3-push --stow stores a DICOM file; QIDO-RS then lists its study' '
	M3_DICOMWEB_USER=tester M3_DICOMWEB_PASSWORD=s3cret run m3-push --stow "dicomweb+$ORTHANC_URL" "$CT" &&
	expect_code 0 && expect_empty err &&
	curl -sf -u tester:s3cret "$ORTHANC_URL/studies" | grep -q "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"
'

check 'STOW-RS: a wrong password is exit 5 and never printed; a non-DICOM file is exit 3' '
	M3_DICOMWEB_USER=tester M3_DICOMWEB_PASSWORD=WrongPassword99 run m3-push -v --stow "$ORTHANC_URL" "$CT" &&
	expect_code 5 && ! grep -q WrongPassword99 err && grep -q "Authorization: \[redacted\]" err &&
	echo nodicom >x.dcm && M3_DICOMWEB_USER=tester M3_DICOMWEB_PASSWORD=s3cret run m3-push --stow "$ORTHANC_URL" x.dcm &&
	expect_code 3 && expect_err "m3-push: x.dcm: not a DICOM file*"
'

# DICOMweb fetch (WADO-RS, QIDO-RS) against the same Orthanc: phantom studies stored with
# m3-push --stow, fetched back and compared byte for byte and voxel for voxel.
PY=/usr/bin/python3
uid() { $PY -c 'import pydicom,sys; print(getattr(pydicom.dcmread(sys.argv[2], stop_before_pixels=True), sys.argv[1]))' "$@"; }
if [ -z "$skip_reason" ]; then
	PH=$SCRATCH/ph && mkdir -p "$PH"
	m3-phantom cbct --size 32x32x16 -o "$PH/cb" 2>/dev/null &&
		m3-phantom mammo --size 256x320 -o "$PH/mm" 2>/dev/null &&
		M3_DICOMWEB_USER=tester M3_DICOMWEB_PASSWORD=s3cret \
			m3-push --stow "$ORTHANC_URL" "$PH"/cb/*.dcm "$PH"/mm/*.dcm ||
		skip_reason="phantom upload failed"
	CB_ST=$(uid StudyInstanceUID "$PH/cb/CT0001.dcm") && CB_SE=$(uid SeriesInstanceUID "$PH/cb/CT0001.dcm") &&
		CB_I=$(uid SOPInstanceUID "$PH/cb/CT0005.dcm") && MM_ST=$(uid StudyInstanceUID "$PH/mm/L_CC.dcm") ||
		skip_reason="python3-pydicom cannot read the phantom"
	DW=dicomweb+$ORTHANC_URL
	export M3_DICOMWEB_USER=tester M3_DICOMWEB_PASSWORD=s3cret
fi
sums() { (cd "$1" && find . -name "*.dcm" -type f -exec sha256sum {} + | cut -c1-64 | sort); }

check 'WADO-RS study to a pipe: m3-decode gives the same voxels as from the local files' '
	run m3-fetch "$DW/studies/$CB_ST" && expect_code 0 && expect_empty err &&
	test "$(tar tf out | grep -c "^$CB_SE/[0-9.]*\.dcm$")" -eq 16 &&
	m3-decode <out | volcat -D >a && m3-decode "$PH"/cb/*.dcm | volcat -D >b && test -s a && cmp a b &&
	mkdir t && tar xf out -C t && sums t >x && sums "$PH/cb" >y && cmp x y &&
	m3-fetch "$DW/studies/$MM_ST" | m3-decode | volcat -D >a &&
	m3-decode "$PH"/mm/*.dcm | volcat -D >b && test -s a && cmp a b
'

check 'WADO-RS series with -o DIR, and one instance to stdout: byte-identical' '
	run m3-fetch -o got/ "$DW/studies/$CB_ST/series/$CB_SE" && expect_code 0 && expect_empty out &&
	test "$(ls got/$CB_SE | wc -l)" -eq 16 && sums got >x && sums "$PH/cb" >y && cmp x y &&
	run m3-fetch "$DW/studies/$CB_ST/series/$CB_SE/instances/$CB_I" && expect_code 0 &&
	cmp out "$PH/cb/CT0005.dcm"
'

check 'QIDO-RS -l: the right number of series and instances' '
	run m3-fetch -l "$DW/studies/$CB_ST" && expect_code 0 &&
	test "$(grep -c "\"level\":\"series\"" out)" -eq 1 && test "$(grep -c "\"level\":\"instance\"" out)" -eq 16 &&
	grep -q "\"series\":\"$CB_SE\",\"modality\":\"CT\",\"number\":[0-9]*,\"instances\":16}" out &&
	run m3-fetch -l "$DW/studies/$MM_ST" && test "$(grep -c "\"level\":\"instance\"" out)" -eq 4 &&
	run m3-fetch -l "$DW" && grep -q "\"study\":\"$CB_ST\"" out && ! grep -q PHANTOM out
'

check 'DICOMweb: a wrong password is exit 5 and never printed; an unknown study is exit 3' '
	M3_DICOMWEB_PASSWORD=WrongPassword77 run m3-fetch -v "$DW/studies/$CB_ST" && expect_code 5 &&
	! grep -q WrongPassword77 err && grep -q "Authorization: \[redacted\]" err && expect_empty out &&
	M3_DICOMWEB_PASSWORD=WrongPassword77 run m3-fetch -l "$DW/studies/$CB_ST" && expect_code 5 &&
	run m3-fetch "$DW/studies/1.2.3.999" && expect_code 3 && expect_err "*: HTTP 404 Not Found" &&
	run m3-fetch -l "$DW/studies/1.2.3.999" && expect_code 3
'

check 'Orthanc stopped: exit 4 after the retries, in bounded time' '
	"$IT/orthanc.sh" stop "$SCRATCH/orthanc" && start=$(date +%s) &&
	run m3-fetch --retries 2 "$DW/studies/$CB_ST" && expect_code 4 &&
	expect_err "m3-fetch: $DW/studies/$CB_ST: gave up after 3 attempts: *" &&
	test $(($(date +%s) - start)) -lt 15
'
skip_reason=

done_testing
