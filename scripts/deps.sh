#!/bin/sh
# Installs the Debian packages m3 needs to build, test and run its demo; quick when they are
# all there.  Usage: scripts/deps.sh [build|check|all]  (default all)
set -eu

build="gcc g++ make pkg-config zlib1g-dev libpng-dev libgdcm-dev libcurl4-openssl-dev libssl-dev"
check="libcmocka-dev clang libclang-rt-14-dev teem-apps mandoc clang-format cppcheck
	libgdcm-tools dcmtk dcm2niix dicom3tools python3-nibabel python3-numpy bc time util-linux
	chromium libxml2-utils slurm-wlm munge python3-vtk9 python3-scipy python3-sklearn python3-skimage
	radosgw ceph-mon ceph-osd ceph-common awscli python3-botocore orthanc orthanc-dicomweb
	python3-pydicom rclone uuid-runtime curl"

case "${1:-all}" in
build) want=$build ;;
check | all) want="$build $check" ;;
*) echo "deps.sh: unknown set \"$1\" (build, check or all)" >&2; exit 2 ;;
esac

missing=
for p in $want; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$s" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
# node and npm may come from elsewhere than Debian (NodeSource); only add Debian's when absent
case "${1:-all}" in
check | all) command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm" ;;
esac
[ -z "$missing" ] && exit 0

echo "deps.sh: installing:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		echo "deps.sh: missing Debian packages:$missing (run as root to install them)" >&2
		exit 1
	fi
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
# update once: a stale or empty package list is the usual reason an install fails
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
