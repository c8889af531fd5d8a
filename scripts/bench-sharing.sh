#!/usr/bin/env bash
# Content sharing (issue 4): what KSM saves across clones of a --share-content template, and what its
# scanning costs. Makes a 256 MiB template, starts N clones in one process that each copy the guest's
# busybox binary into tmpfs COPIES times (identical pages within and across clones, written after the
# clone, so they are the clones' private frames), with the host's KSM on at a given scan rate, and
# samples what KSM saved for the clones' process (its ksm_stat profit: merged pages minus KSM's own
# bookkeeping) against ksmd's CPU time from the clones' start. The host's KSM settings are put back at the end.
# Needs root (it writes /sys/kernel/mm/ksm).
#   scripts/bench-sharing.sh [--clones N] [--copies K] [--pages-to-scan P] [--sleep-ms S] [--seconds T]
set -euo pipefail
clones=8 copies=10 pages_to_scan=1000 sleep_ms=20 seconds=40
while [ $# -gt 0 ]; do
  case "$1" in
    --clones) clones="${2:?}"; shift 2 ;;
    --copies) copies="${2:?}"; shift 2 ;;
    --pages-to-scan) pages_to_scan="${2:?}"; shift 2 ;;
    --sleep-ms) sleep_ms="${2:?}"; shift 2 ;;
    --seconds) seconds="${2:?}"; shift 2 ;;
    *) echo "bench-sharing: unknown option $1" >&2; sed -n '2,8p' "$0" >&2; exit 2 ;;
  esac
done
ksm=/sys/kernel/mm/ksm
[ -w "$ksm/run" ] || { echo "bench-sharing: needs root and a kernel with KSM ($ksm/run is not writable)" >&2; exit 1; }
root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
work=$(mktemp -d /tmp/airlock-bench-sharing.XXXXXX)
export AIRLOCK_TEMPLATES="$work/templates" AIRLOCK_RUNTIME_DIR="$work/run"
saved_run=$(cat $ksm/run) saved_scan=$(cat $ksm/pages_to_scan) saved_sleep=$(cat $ksm/sleep_millisecs)
clone_pid=
cleanup() {
  echo "$saved_run" > $ksm/run; echo "$saved_scan" > $ksm/pages_to_scan; echo "$saved_sleep" > $ksm/sleep_millisecs
  if [ -n "$clone_pid" ]; then kill "$clone_pid" 2>/dev/null || true; wait "$clone_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
"$root/airlock" version >/dev/null
echo "bench-sharing: $clones clones x $copies copies of busybox, KSM pages_to_scan=$pages_to_scan sleep_millisecs=$sleep_ms;" \
     "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$root/airlock" template create share --memory 256 --share-content 2>&1 | tail -1
ksmd=$(pgrep -x ksmd)
hz=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$ksmd/stat"; }
# KSM runs from before the clones start: their pages are counted as they are written and merged.
echo "$pages_to_scan" > $ksm/pages_to_scan; echo "$sleep_ms" > $ksm/sleep_millisecs; echo 1 > $ksm/run
sleep 2
base_cpu=$(cpu)
# Each clone fills tmpfs with identical copies, then idles while KSM works.
"$root/airlock" clone share -n "$clones" --timeout $((seconds + 300)) -- sh -c \
  "for i in \$(seq $copies); do cat /bin/busybox > /tmp/copy\$i; done; sleep $((seconds + 60))" \
  > "$work/clones.out" 2>&1 &
clone_pid=$! # the launcher execs the JVM, so this is the process holding the clones
# What KSM saved for this process (/proc/PID/ksm_stat): the host-wide counters also move with other processes.
profit() { awk '/ksm_process_profit/ {print $2}' "/proc/$clone_pid/ksm_stat" 2>/dev/null || echo 0; }
merging() { awk '/ksm_merging_pages/ {print $2}' "/proc/$clone_pid/ksm_stat" 2>/dev/null || echo 0; }
printf "%6s %12s %14s %14s %16s\n" "sec" "saved_MiB" "merged_pages" "ksmd_cpu_s" "MiB_per_cpu_s"
start=$(date +%s)
for t in $(seq 5 5 "$seconds"); do
  sleep $(( start + t - $(date +%s) ))
  used=$(( $(cpu) - base_cpu ))
  awk -v t="$t" -v p="$(profit)" -v m="$(merging)" -v c="$used" -v hz="$hz" 'BEGIN {
    mib = p / 1048576; cs = c / hz
    printf "%6d %12.1f %14d %14.2f %16s\n", t, mib, m, cs, (cs > 0 ? sprintf("%.1f", mib / cs) : "-") }'
done
echo "each clone wrote $copies copies of the guest's /bin/busybox (1.6 MB each): $(( clones * copies * 1577 / 1024 )) MiB in all, of which one copy is enough; full scans: $(cat $ksm/full_scans); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo 0 > $ksm/run
