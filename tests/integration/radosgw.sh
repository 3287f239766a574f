#!/bin/sh
# A throwaway Ceph cluster (one monitor, one memstore OSD, no manager) and radosgw on 127.0.0.1,
# after docs SERVERS.md section 4.  Shared by tests/integration and bench/s3.sh.
#   radosgw.sh start DIR [MEMSTORE_MIB]   start it; prints shell assignments to eval:
#                                         RGW_ENDPOINT, RGW_ACCESS_KEY, RGW_SECRET_KEY
#   radosgw.sh stop DIR                   stop radosgw, the OSD and the monitor by PID
#   radosgw.sh env DIR                    the assignments again
set -eu

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

need() {
	for b in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool uuidgen; do
		command -v "$b" >/dev/null 2>&1 || { echo "radosgw.sh: $b is not installed" >&2; exit 3; }
	done
}

wait_for() { # wait_for SECONDS CMD...: polls every 0.2 s
	t=$(($1 * 5))
	shift
	while [ "$t" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
		t=$((t - 1))
	done
	return 1
}

start() {
	need
	D=$1
	mem=${2:-1536}
	mkdir -p "$D"
	D=$(cd "$D" && pwd)
	mkdir -p "$D/mon" "$D/osd" "$D/run" "$D/rgw"
	fsid=$(uuidgen)
	mport=$(free_port)
	rport=$(free_port)
	key=M3TESTACCESSKEY0001
	secret=$(head -c 30 /dev/urandom | base64 | tr -d '/+=' | head -c 40)
	cat >"$D/ceph.conf" <<CONF
[global]
fsid = $fsid
mon_host = [v1:127.0.0.1:$mport]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_msgr2 = false
ms_bind_ipv6 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
run_dir = $D/run
admin_socket = $D/run/\$name.asok
pid_file = $D/run/\$name.pid
log_file = $D/\$name.log
keyring = $D/keyring
mon_data = $D/mon/\$cluster-\$id
osd_data = $D/osd/\$cluster-\$id
osd_objectstore = memstore
memstore_device_bytes = $((mem * 1048576))
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
osd_crush_update_on_start = false
osd_class_update_on_start = false
mon_warn_on_pool_no_redundancy = false
rgw_gc_obj_min_wait = 10
rgw_gc_processor_period = 10

[client.rgw]
rgw_frontends = beast endpoint=127.0.0.1:$rport
rgw_data = $D/rgw
CONF
	C="-c $D/ceph.conf"
	ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
	monmaptool --create --fsid "$fsid" --addv a "[v1:127.0.0.1:$mport]" "$D/monmap" >/dev/null
	ceph-mon $C --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring" >/dev/null 2>&1
	ceph-mon $C -f -i a >"$D/mon.out" 2>&1 &
	echo $! >"$D/mon.pid"
	wait_for 30 ceph $C mon stat || { echo "radosgw.sh: monitor did not start" >&2; exit 4; }
	uuid=$(uuidgen)
	id=$(ceph $C osd new "$uuid")
	ceph $C osd crush add-bucket localhost host >/dev/null 2>&1
	ceph $C osd crush move localhost root=default >/dev/null 2>&1
	ceph $C osd crush add "osd.$id" 1.0 host=localhost >/dev/null 2>&1
	mkdir -p "$D/osd/ceph-$id"
	ceph-osd $C --mkfs -i "$id" --osd-uuid "$uuid" >/dev/null 2>&1
	ceph-osd $C -f -i "$id" >"$D/osd.out" 2>&1 &
	echo $! >"$D/osd.pid"
	up() { ceph $C osd dump 2>/dev/null | grep -q "^osd.$id up"; }
	wait_for 60 up || { echo "radosgw.sh: OSD did not start" >&2; exit 4; }
	radosgw $C -f -n client.rgw >"$D/rgw.out" 2>&1 &
	echo $! >"$D/rgw.pid"
	wait_for 60 curl -sf -o /dev/null "http://127.0.0.1:$rport/" ||
		{ echo "radosgw.sh: radosgw did not answer" >&2; exit 4; }
	radosgw-admin $C user create --uid m3test --display-name m3test --access-key "$key" \
		--secret "$secret" >/dev/null 2>&1
	{
		echo "RGW_ENDPOINT=http://127.0.0.1:$rport"
		echo "RGW_ACCESS_KEY=$key"
		echo "RGW_SECRET_KEY=$secret"
	} >"$D/env"
	cat "$D/env"
}

stop() {
	D=$1
	for p in rgw osd mon; do
		[ -f "$D/$p.pid" ] || continue
		pid=$(cat "$D/$p.pid")
		kill "$pid" 2>/dev/null || true
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		kill -9 "$pid" 2>/dev/null || true
		rm -f "$D/$p.pid"
	done
}

case "${1:-}" in
start) start "$2" "${3:-}" ;;
stop) stop "$2" ;;
env) cat "$2/env" ;;
*) echo "usage: radosgw.sh start|stop|env DIR [MEMSTORE_MIB]" >&2; exit 2 ;;
esac
