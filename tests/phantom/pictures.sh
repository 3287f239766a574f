#!/bin/sh
# Makes the README's pictures from m3-phantom's own output: one mammogram view, downscaled,
# and one axial slice of the dental CBCT.  Run from anywhere after `make`:
#   sh tests/phantom/pictures.sh            writes docs/img/phantom-{mammo,cbct}.png
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
py=python3
"$py" -c 'import numpy' 2>/dev/null || py=/usr/bin/python3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/m3-pictures.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$top/bin/m3-phantom" mammo --seed 7 -o "$tmp/mammo"
"$top/bin/m3-phantom" cbct --seed 7 -o "$tmp/cbct"
mkdir -p "$top/docs/img"
"$py" - "$tmp" "$top/docs/img" "$top/tests/phantom" <<'PY'
import sys
tmp, out, lib = sys.argv[1:4]
sys.path.insert(0, lib)
import numpy as np
import dcm

# the left MLO view at 1/6 scale, in its own window
f = tmp + "/mammo/L_MLO.dcm"
ds = dcm.read(f)
centre, width = float(dcm.text(ds, 0x00281050)), float(dcm.text(ds, 0x00281051))
img = dcm.downscale(dcm.pixels(f).astype(np.float64), 6)
dcm.write_png(out + "/phantom-mammo.png", dcm.window(img, centre, width))

# an axial slice through the mandible and the roots of the lower teeth, in HU, a bone window
f = tmp + "/cbct/CT0105.dcm"
ds = dcm.read(f)
hu = dcm.pixels(f) * float(dcm.text(ds, 0x00281053)) + float(dcm.text(ds, 0x00281052))
dcm.write_png(out + "/phantom-cbct.png", dcm.window(hu, 700, 3000))
PY
echo "wrote $top/docs/img/phantom-mammo.png $top/docs/img/phantom-cbct.png"
