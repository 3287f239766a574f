# tests/batch/slurm-cluster.sh: a throwaway single-node Slurm cluster (munged, slurmctld,
# slurmd on 127.0.0.1, ports 16817/16818) in a temp dir; sourced by tests/integration/slurm.sh
# and docs/scaling.md's measurement.  See /work/shared/SERVERS.md section 1 for the facts.
#
#   slurm_start DIR   starts it, exports SLURM_CONF; returns 1 with a line on stderr on failure
#   slurm_stop        stops it by PID (SIGTERM), waits, removes nothing
#   slurm_wait JOB S  waits up to S seconds until squeue no longer lists JOB

slurm_start() {
	SD=$1
	mkdir -p "$SD/munge" "$SD/state" "$SD/spool" "$SD/log" || return 1
	chmod 755 "$SD" "$SD/munge"
	mungekey -c -k "$SD/munge/munge.key" >/dev/null 2>&1 ||
		dd if=/dev/urandom of="$SD/munge/munge.key" bs=1024 count=1 2>/dev/null
	chmod 600 "$SD/munge/munge.key"
	munged -F --socket="$SD/munge/sock" --key-file="$SD/munge/munge.key" \
		--pid-file="$SD/munge/munged.pid" --seed-file="$SD/munge/seed" \
		--log-file="$SD/munge/munged.log" >"$SD/log/munged.out" 2>&1 &
	MUNGED_PID=$!
	i=0
	while [ ! -S "$SD/munge/sock" ]; do
		i=$((i + 1))
		[ $i -gt 50 ] && { echo "munged did not start: $(tail -n 3 "$SD/log/munged.out")" >&2; return 1; }
		sleep 0.1
	done
	node=$(slurmd -C 2>/dev/null | head -n 1 | sed 's/^NodeName=[^ ]* //; s/ UpTime=.*//')
	cat >"$SD/slurm.conf" <<CONF
ClusterName=m3test
SlurmctldHost=localhost
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SD/munge/sock
StateSaveLocation=$SD/state
SlurmdSpoolDir=$SD/spool
SlurmctldPidFile=$SD/slurmctld.pid
SlurmdPidFile=$SD/slurmd.pid
SlurmctldLogFile=$SD/log/slurmctld.log
SlurmdLogFile=$SD/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MailProg=/bin/true
ReturnToService=2
KillWait=5
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SlurmdParameters=config_overrides
NodeName=localhost $node State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
	# declare 4 CPUs whatever the machine has, so that %N limits can be seen working
	sed -i 's/ CPUs=[0-9]*/ CPUs=4/; s/ CoresPerSocket=[0-9]*/ CoresPerSocket=4/; s/ ThreadsPerCore=[0-9]*/ ThreadsPerCore=1/; s/ SocketsPerBoard=[0-9]*/ SocketsPerBoard=1/' "$SD/slurm.conf"
	export SLURM_CONF="$SD/slurm.conf"
	slurmctld -D -f "$SLURM_CONF" >"$SD/log/slurmctld.out" 2>&1 &
	SLURMCTLD_PID=$!
	slurmd -D -N localhost -f "$SLURM_CONF" >"$SD/log/slurmd.out" 2>&1 &
	SLURMD_PID=$!
	i=0
	while [ "$(sinfo -h -o %T 2>/dev/null)" != idle ]; do
		i=$((i + 1))
		if [ $i -gt 150 ]; then
			echo "slurm did not become idle: $(tail -n 2 "$SD/log/slurmctld.log" "$SD/log/slurmd.log" 2>&1)" >&2
			return 1
		fi
		sleep 0.2
	done
}

slurm_stop() {
	for p in ${SLURMD_PID:-} ${SLURMCTLD_PID:-}; do kill "$p" 2>/dev/null; done
	for p in ${SLURMD_PID:-} ${SLURMCTLD_PID:-}; do wait "$p" 2>/dev/null; done
	[ -n "${MUNGED_PID:-}" ] && kill "$MUNGED_PID" 2>/dev/null && wait "$MUNGED_PID" 2>/dev/null
	SLURMD_PID= SLURMCTLD_PID= MUNGED_PID=
}

slurm_wait() {
	i=0
	while [ -n "$(squeue -h -j "$1" 2>/dev/null)" ]; do
		i=$((i + 1))
		[ $i -gt $(($2 * 5)) ] && return 1
		sleep 0.2
	done
}
