#!/usr/bin/env bash
# make test-cluster (not in CI; as root on Debian 12): a real single-node
# Slurm (Debian's slurm-wlm and munge) started here with a private
# configuration, a 3-task job array running `facemirror process --shard`
# over the development videos, then checks that the shards' CSVs are the
# bytes of one local command over the same list and that `facemirror
# report` finds every input done. Slurm is stopped again at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
shared=$(cd "${SHARED:-../shared}" && pwd)

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
	echo "test-cluster: installing slurm-wlm and munge"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >/dev/null
fi

work=$(mktemp -d /tmp/facemirror-cluster.XXXXXX)
conf=$work/slurm.conf
host=$(hostname -s)
mkdir -p "$work/state" "$work/spool" "$work/out" "$work/local"
cat >"$conf" <<EOF
ClusterName=facemirror-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
NodeName=$host CPUs=$(nproc) RealMemory=4000 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$conf

started_munge=
if ! pgrep -x munged >/dev/null; then
	mkdir -p /run/munge
	munged --force
	started_munge=1
fi
stop() {
	# Before the configuration goes: scontrol reads it.
	scontrol shutdown >/dev/null 2>&1 || true
	for _ in $(seq 50); do
		pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null || break
		sleep 0.2
	done
	[ -n "$started_munge" ] && pkill -x munged || true
}
trap stop EXIT
slurmctld
slurmd
for _ in $(seq 50); do
	sinfo -h -o %t 2>/dev/null | grep -q idle && break
	sleep 0.2
done
sinfo

ls "$shared"/media/videos/* >"$work/videos.txt"
cat >"$work/array.sh" <<EOF
#!/bin/bash
#SBATCH --array=0-2
#SBATCH --cpus-per-task=1
#SBATCH --output=$work/task-%a.log
export FACEMIRROR_ORT_LIB=$root/.ort/libonnxruntime.so.1
"$root/facemirror" process --skip-existing --quiet --out "$work/out" \\
	--files-from "$work/videos.txt" --shard "\$SLURM_ARRAY_TASK_ID/3"
EOF
echo "test-cluster: sbatch --array=0-2 over $(wc -l <"$work/videos.txt") videos"
sbatch --wait "$work/array.sh" || { cat "$work"/task-*.log; exit 1; }
cat "$work"/task-*.log

"$root/facemirror" process --quiet --out "$work/local" --files-from "$work/videos.txt"
fail=0
for f in "$work"/local/*.csv; do
	if cmp -s "$f" "$work/out/$(basename "$f")"; then
		echo "same bytes: $(basename "$f")"
	else
		echo "DIFFERENT: $(basename "$f")"
		fail=1
	fi
done
"$root/facemirror" report --out "$work/out" --files-from "$work/videos.txt" || fail=1
stop
trap - EXIT
if [ "$fail" = 0 ]; then
	echo "test-cluster: passed"
	rm -rf "$work"
else
	echo "test-cluster: FAILED (kept $work)"
	exit 1
fi
