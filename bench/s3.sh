#!/bin/sh
# make bench: m3-fetch and m3-push against rclone and the AWS CLI on a Ceph radosgw on
# 127.0.0.1 (tests/integration/radosgw.sh), in one run: a 1 GiB object got to /dev/null and put
# from a file, a prefix of 1000 objects of 200 KB got to a folder, and the peak RSS of m3-fetch
# streaming 1 GiB to a pipe (goal: <= 64 MiB).  Prints seconds and ratios; first, the speed of
# the MD5s m3-fetch checks ETags with (vector lanes, each path this CPU has) beside libcrypto's.
# The machine may be shared and its two cores are shared with radosgw: each figure is the best of
# BENCH_N runs (default 3; the put is run once: the memstore OSD holds a few GiB, and an
# object overwritten is freed only later by radosgw's garbage collector), the clients taking
# turns to go first.
set -u
cd "$(dirname "$0")/.."
PATH="$PWD/bin:$PATH"
if [ -x build/tests/net/md5test ]; then
	printf "%-34s %s\n" "MD5 of 1000 x 200 KB" "$(build/tests/net/md5test speed)"
fi
for b in radosgw ceph-mon ceph-osd aws rclone; do
	command -v $b >/dev/null 2>&1 || { echo "s3.sh: skipped: $b is not installed"; exit 0; }
done
D=${BENCH_DIR:-build/bench}/s3
rm -rf "$D" && mkdir -p "$D"
D=$(cd "$D" && pwd)
eval "$(tests/integration/radosgw.sh start "$D/rgw" 6144)" || exit 1
trap 'tests/integration/radosgw.sh stop "$D/rgw"' EXIT
trap 'exit 1' INT TERM
unset AWS_CA_BUNDLE AWS_PROFILE AWS_SESSION_TOKEN
export AWS_ACCESS_KEY_ID=$RGW_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$RGW_SECRET_KEY
export AWS_ENDPOINT_URL=$RGW_ENDPOINT AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export RCLONE_CONFIG_RGW_TYPE=s3 RCLONE_CONFIG_RGW_PROVIDER=Ceph RCLONE_CONFIG_RGW_ENDPOINT=$RGW_ENDPOINT
export RCLONE_CONFIG_RGW_ACCESS_KEY_ID=$RGW_ACCESS_KEY RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY=$RGW_SECRET_KEY
aws() { command aws --endpoint-url "$RGW_ENDPOINT" "$@"; }
aws s3 mb s3://bench >/dev/null
head -c 1073741824 /dev/urandom >"$D/1g.bin"
mkdir -p "$D/many"
i=0
while [ $i -lt 1000 ]; do head -c 204800 /dev/urandom >"$D/many/f$i.bin"; i=$((i + 1)); done
echo warm | m3-push --sse none - s3://bench/warm >/dev/null

N=${BENCH_N:-3}
secs() { # secs CMD...: wall seconds
	s=$(date +%s.%N)
	"$@" >/dev/null 2>&1 || echo "s3.sh: failed: $*" >&2
	echo "$(date +%s.%N) - $s" | bc
}
min() { echo "if ($1 < $2) $1 else $2" | bc; }
ratio() { echo "scale=2; $1 / $2" | bc; }
row() { printf "%-34s m3 %6.2fs  %s %6.2fs  ratio %s\n" "$1" "$2" "$3" "$4" "$(ratio "$4" "$2")"; }
# rounds N M3 RCLONE AWS: the three commands (shell text, $k is the round) N times, taking turns
# to go first; sets m, r, a to the best seconds of each
rounds() {
	m=999 r=999 a=999 k=1
	export k
	while [ $k -le "$1" ]; do
		case $((k % 3)) in
		1) m=$(min $m "$(secs sh -c "$2")"); r=$(min $r "$(secs sh -c "$3")"); a=$(min $a "$(secs sh -c "$4")") ;;
		2) r=$(min $r "$(secs sh -c "$3")"); a=$(min $a "$(secs sh -c "$4")"); m=$(min $m "$(secs sh -c "$2")") ;;
		0) a=$(min $a "$(secs sh -c "$4")"); m=$(min $m "$(secs sh -c "$2")"); r=$(min $r "$(secs sh -c "$3")") ;;
		esac
		k=$((k + 1))
	done
}
export D RGW_ENDPOINT

# put 1 GiB from a file
rounds 1 'm3-push --sse none "$D/1g.bin" s3://bench/m3/1g.bin' \
	'rclone copyto --ignore-times "$D/1g.bin" rgw:bench/rclone/1g.bin' \
	'aws --endpoint-url "$RGW_ENDPOINT" s3 cp "$D/1g.bin" s3://bench/aws/1g.bin'
row "put 1 GiB from a file" "$m" rclone "$r"
row "put 1 GiB from a file" "$m" aws "$a"

# get 1 GiB to /dev/null, after one untimed read (the first read of fresh objects is slower,
# which would favour whoever goes second) (rclone must not write to /dev/null: it deletes failed
# downloads, so its standard output is)
m3-fetch -o /dev/null s3://bench/m3/1g.bin
rounds $N 'm3-fetch -o /dev/null s3://bench/m3/1g.bin' \
	'rclone cat rgw:bench/m3/1g.bin >/dev/null' \
	'aws --endpoint-url "$RGW_ENDPOINT" s3 cp s3://bench/m3/1g.bin - >/dev/null'
row "get 1 GiB to /dev/null" "$m" rclone "$r"
row "get 1 GiB to /dev/null" "$m" aws "$a"

# 1000 x 200 KB prefix to a folder: a new folder each round, none removed until the end (the
# inodes of files just removed make ext4 slower to create files, for whoever comes next)
m3-push --sse none "$D"/many/* s3://bench/many/ >/dev/null
m3-fetch -j 16 s3://bench/many/ >/dev/null
rounds $N 'm3-fetch -j 16 -o "$D/m3many$k" s3://bench/many/' \
	'rclone copy --transfers 16 rgw:bench/many "$D/rcmany$k"' \
	'aws --endpoint-url "$RGW_ENDPOINT" s3 cp --recursive s3://bench/many/ "$D/awsmany$k"'
row "get 1000 x 200 KB to a folder" "$m" rclone "$r"
row "get 1000 x 200 KB to a folder" "$m" aws "$a"
diff -r "$D/many" "$D/m3many1" >/dev/null || echo "s3.sh: m3-fetch folder differs"

# peak RSS streaming 1 GiB to a pipe
rss=$(command time -f %M sh -c "m3-fetch s3://bench/m3/1g.bin | cat >/dev/null" 2>&1 >/dev/null | tail -n1)
printf "%-34s %s KiB (goal <= 65536)\n" "m3-fetch 1 GiB to a pipe, peak RSS" "$rss"
rm -f "$D/1g.bin"
