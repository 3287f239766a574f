#!/bin/sh
# examples/cron.sh: the nightly m3-batch run.  flock(1) makes sure two runs never overlap
# (a run that finds the lock taken says so and exits 0); each run's output goes to its own
# log, and only the newest KEEP logs are kept.
#
#   crontab:  15 2 * * *  /opt/m3/examples/cron.sh /data/studies.txt /data/results
#
# Environment: M3_PIPELINE (the pipeline), M3_KEEP_LOGS (default 14), M3_LOG_DIR (default
# RESULTS/.cron), M3_BATCH_OPTS (more m3-batch options, e.g. "-j 4" or "--slurm").
# Exit: m3-batch's (0 all done, 3 some quarantined, 4 some out of retries, 1 otherwise).
set -u
if [ $# -ne 2 ]; then
	echo "usage: cron.sh studies.txt results/" >&2
	exit 2
fi
studies=$1 out=$2
keep=${M3_KEEP_LOGS:-14}
logdir=${M3_LOG_DIR:-$out/.cron}
pipeline=${M3_PIPELINE:-'m3-fetch {in} | m3-decode -q | m3-mammo -o {out}/marks-%n.png > {out}/findings.jsonl'}

mkdir -p "$logdir" || exit 1
exec 9>>"$logdir/lock"
if ! flock -n 9; then
	echo "cron.sh: another run holds $logdir/lock; not starting a second one" >&2
	exit 0
fi

log=$logdir/run-$(date -u +%Y%m%dT%H%M%S.%NZ).log
# failed studies (a network outage, exit 4 after all retries) get another go every night;
# quarantined ones (bad data) do not
# shellcheck disable=SC2086
m3-batch ${M3_BATCH_OPTS:-} --retry-failed -m "$studies" -o "$out" -- "$pipeline" >"$log" 2>&1
rc=$?
echo "cron.sh: exit $rc" >>"$log"

# keep the newest $keep logs (the names sort by time)
ls "$logdir" | grep '^run-.*\.log$' | sort -r | tail -n +$((keep + 1)) |
	while read -r old; do rm -f "$logdir/$old"; done
exit $rc
