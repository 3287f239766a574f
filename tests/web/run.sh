#!/bin/sh
# The m3-view page in headless Chromium (Playwright): makes the test inputs and the page, then
# runs tests/web/view.test.mjs.  Prints TAP; exits 1 on a failure.  Installs nothing: without
# chromium, node, python3 or web/node_modules/playwright-core it skips and says why.
# Screenshots go to build/web-test/; M3_UPDATE_DOCS=1 also copies one 2D and one 3D screenshot
# to docs/img/ (view-2d.png, view-3d.png).
set -u
cd "$(dirname "$0")/../.." || exit 1
TOP=$(pwd)
OUT=$TOP/build/web-test

skip() {
	echo "1..0 # SKIP $1"
	exit 0
}

chrome=${M3V_CHROMIUM:-}
if [ -z "$chrome" ]; then
	for c in /usr/lib/chromium/chromium "$(command -v chromium 2>/dev/null)"; do
		if [ -n "$c" ] && [ -x "$c" ]; then chrome=$c; break; fi
	done
fi
[ -n "$chrome" ] || skip "chromium is not installed (apt-get install chromium)"
command -v node >/dev/null 2>&1 || skip "node is not installed"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed (tests/web/mkdata.py)"
[ -f web/node_modules/playwright-core/package.json ] ||
	skip "web/node_modules/playwright-core is missing (npm ci --prefix web)"
if [ ! -x bin/m3-view ] || [ ! -x build/tests/tools/volgen ]; then
	echo "not ok 1 - bin/m3-view and build/tests/tools/volgen are built (run make)"
	echo "1..1"
	exit 1
fi

rm -rf "$OUT"
mkdir -p "$OUT/data"
python3 tests/web/mkdata.py "$OUT/data" || exit 1
build/tests/tools/volgen -t int16 32 32 16 >"$OUT/data/ct.nrrd" || exit 1
(
	cd "$OUT/data" &&
		SOURCE_DATE_EPOCH=1700000000 "$TOP/bin/m3-view" -q -m 300 -t "m3-view test study" \
			-o "$OUT/study.html" marks-L-CC.png marks-L-MLO.png findings.jsonl scene.x3d \
			ct.nrrd
) || {
	echo "not ok 1 - m3-view makes the test page"
	echo "1..1"
	exit 1
}

M3V_PAGE=$OUT/study.html M3V_EXPECT=$OUT/data/expect.json M3V_OUT=$OUT M3V_CHROMIUM=$chrome \
	M3V_PLAYWRIGHT=$TOP/web/node_modules/playwright-core \
	node tests/web/view.test.mjs
rc=$?
if [ $rc -eq 0 ] && [ "${M3_UPDATE_DOCS:-}" = 1 ]; then
	mkdir -p docs/img &&
		cp "$OUT/desktop-2d.png" docs/img/view-2d.png &&
		cp "$OUT/desktop-3d-page.png" docs/img/view-3d.png &&
		echo "# screenshots copied to docs/img/"
fi
exit $rc
