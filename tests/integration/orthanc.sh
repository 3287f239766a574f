#!/bin/sh
# Orthanc with its DICOMweb plugin on 127.0.0.1 (SERVERS.md section 2), user tester:s3cret.
#   orthanc.sh start DIR   start it; prints ORTHANC_URL (the DICOMweb root) and ORTHANC_HTTP
#   orthanc.sh stop DIR    stop it by PID
set -eu
PLUGIN=/usr/share/orthanc/plugins/libOrthancDicomWeb.so

start() {
	command -v Orthanc >/dev/null 2>&1 || { echo "orthanc.sh: Orthanc is not installed" >&2; exit 3; }
	[ -e "$PLUGIN" ] || { echo "orthanc.sh: orthanc-dicomweb is not installed" >&2; exit 3; }
	mkdir -p "$1"
	D=$(cd "$1" && pwd)
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	cat >"$D/config.json" <<CONF
{
  "Name": "m3test", "HttpPort": $port, "RemoteAccessAllowed": false,
  "AuthenticationEnabled": true, "RegisteredUsers": {"tester": "s3cret"},
  "DicomServerEnabled": false,
  "StorageDirectory": "$D/storage", "IndexDirectory": "$D/index",
  "Plugins": ["$PLUGIN"],
  "DicomWeb": {"Enable": true, "Root": "/dicom-web/", "Host": "127.0.0.1:$port", "Ssl": false}
}
CONF
	Orthanc "$D/config.json" >"$D/orthanc.log" 2>&1 &
	echo $! >"$D/orthanc.pid"
	i=0
	until curl -sf -u tester:s3cret -o /dev/null "http://127.0.0.1:$port/system"; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "orthanc.sh: Orthanc did not answer" >&2; exit 4; }
		sleep 0.1
	done
	echo "ORTHANC_HTTP=http://127.0.0.1:$port"
	echo "ORTHANC_URL=http://127.0.0.1:$port/dicom-web"
}

stop() {
	[ -f "$1/orthanc.pid" ] || return 0
	pid=$(cat "$1/orthanc.pid")
	kill "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$1/orthanc.pid"
}

case "${1:-}" in
start) start "$2" ;;
stop) stop "$2" ;;
*) echo "usage: orthanc.sh start|stop DIR" >&2; exit 2 ;;
esac
