#!/bin/sh
# Here (Debian): download the .debs a GPU machine without Debian packages needs to build the
# analysis tools (zlib, libpng), into build/gpu-debs.  Carry that folder to the GPU machine,
# where tests/gpu/run.sh unpacks it into the tree.
set -eu
cd "$(dirname "$0")/../.."
mkdir -p build/gpu-debs
cd build/gpu-debs
apt-get download zlib1g zlib1g-dev libpng16-16 libpng-dev >/dev/null
ls -1
