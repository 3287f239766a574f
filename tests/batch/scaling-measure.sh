#!/bin/sh
# tests/batch/scaling-measure.sh: the one-node figures of docs/scaling.md, measured here.
#   tests/batch/scaling-measure.sh [--slurm]     (about a minute; --slurm needs root and slurm-wlm)
# Prints one "name value unit" line per figure.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
PATH="$TOP/bin:$PATH"
W=$(mktemp -d "${TMPDIR:-/tmp}/m3-scale.XXXXXX")
chmod 755 "$W"
trap 'rm -rf "$W"' EXIT
cd "$W"

t() { # t NAME CMD...: wall seconds of CMD
	n=$1
	shift
	s=$(date +%s.%N)
	"$@"
	e=$(date +%s.%N)
	echo "$n" "$(echo "$e - $s" | bc)" >>times
}
sec() { grep "^$1 " times | tail -n 1 | cut -d" " -f2; }

# m3-batch's own cost per study: a pipeline that does nothing
seq -f "s%04g" 1 200 >m200.txt
t m3-batch m3-batch -q -j 1 -m m200.txt -o r1 -- true
echo "batch_overhead_j1 $(echo "scale=2; $(sec m3-batch) * 1000 / 200" | bc) ms/study"
t m3-batch m3-batch -q -j 2 -m m200.txt -o r2 -- true
echo "batch_overhead_j2 $(echo "scale=2; $(sec m3-batch) * 1000 / 200" | bc) ms/study"

# a mammography study at full size: 4 views of 3328x4096
t m3-phantom m3-phantom mammo -q -s 7 -o mammo
echo "mammo_phantom $(sec m3-phantom) s"
echo "mammo_study_bytes $(du -sb mammo | cut -f1) B"
t m3-fetch sh -c "m3-fetch file://$W/mammo/ >mammo.tar"
echo "mammo_fetch_file $(sec m3-fetch) s"
t m3-decode sh -c "m3-decode -q <mammo.tar >mammo.nrrd"
echo "mammo_decode $(sec m3-decode) s"
t m3-mammo sh -c "m3-mammo -o mm-%n.png <mammo.nrrd >f.jsonl"
echo "mammo_analyse $(sec m3-mammo) s"
printf '%s\n' "file://$W/mammo/" >one.txt
t pipeline m3-batch -q -m one.txt -o r3 -- \
	"m3-fetch {in} | m3-decode -q | m3-mammo -o {out}/marks-%n.png >{out}/findings.jsonl"
echo "mammo_pipeline_batch $(sec pipeline) s"

# a dental CBCT: 400x400x300 int16.  Until m3-phantom makes one, a synthetic volume (a
# bone shell in soft tissue in air, with noise) stands in for the decoded series.
if m3-phantom cbct -q -s 7 -o cbct 2>/dev/null; then
	echo "cbct_study_bytes $(du -sb cbct | cut -f1) B"
	t cdecode sh -c "m3-decode -q cbct >cbct.nrrd"
	echo "cbct_decode $(sec cdecode) s"
else
	cat >gen.c <<'C'
#include <math.h>
#include <stdint.h>
#include <stdio.h>
int main(void)
{
	uint64_t s = 7;
	printf("NRRD0004\ntype: int16\ndimension: 3\nspace: left-posterior-superior\n"
	       "sizes: 400 400 300\nspace directions: (0.25,0,0) (0,0.25,0) (0,0,0.25)\n"
	       "space origin: (0,0,0)\nkinds: domain domain domain\nendian: little\n"
	       "encoding: raw\nm3-modality:=CT\nm3-units:=HU\n\n");
	for (int z = 0; z < 300; z++)
		for (int y = 0; y < 400; y++)
			for (int x = 0; x < 400; x++) {
				double r = sqrt(pow((x - 200) / 150.0, 2) + pow((y - 200) / 120.0, 2) +
						pow((z - 150) / 110.0, 2));
				s ^= s << 13, s ^= s >> 7, s ^= s << 17;
				int16_t v = (int16_t)((r < 1 ? (r > 0.8 && r < 0.9 ? 1200 : 40) : -1000) +
						      (int)(s % 61) - 30);
				fwrite(&v, 2, 1, stdout);
			}
	return 0;
}
C
	cc -O2 -o gen gen.c -lm && ./gen >cbct.nrrd
	echo "cbct_volume_bytes $(stat -c %s cbct.nrrd) B (synthetic: m3-phantom cbct not available)"
fi
t csegment sh -c "m3-segment -p bone <cbct.nrrd >labels.nrrd"
echo "cbct_segment $(sec csegment) s"
t cx3d sh -c "m3-x3d -o jaw.x3dz <labels.nrrd"
echo "cbct_mesh $(sec cx3d) s ($(stat -c %s jaw.x3dz) B x3dz)"

if [ "${1:-}" = --slurm ]; then
	. "$TOP/tests/batch/slurm-cluster.sh"
	slurm_start "$W/cluster" >/dev/null
	seq -f "t%03g" 1 64 >m64.txt
	s=$(date +%s.%N)
	job=$(m3-batch --slurm -m m64.txt -o rs -- true)
	slurm_wait "$job" 300
	e=$(date +%s.%N)
	echo "slurm_64_trivial_tasks_4_slots $(echo "$e - $s" | bc) s"
	slurm_stop
fi
