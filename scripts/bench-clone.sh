#!/usr/bin/env bash
# The clone benchmark (issue 4). Makes a 256 MiB template, then in one JVM (airlock bench-clone):
#   1. latency over N clones made and closed one after another, then N taken from a ClonePool of 1: clone -> first guest instruction (with
#      where MicroVm.clone spends its time) and clone -> the agent's answer to 'true';
#   2. density: idle clones until a memory budget by the frame accounting, or a count; per-clone memory;
# then 3. the same clone from a fresh JVM (the airlock CLI), and 4. QEMU TCG (Debian's qemu-system-riscv64)
# on the same kernel and a console-mode initramfs: saved through the HMP monitor, restored R times with
# -incoming, timed from process start to running and to the next console line.
#   scripts/bench-clone.sh [--clones N] [--budget-mib MiB] [--max-clones N] [--qemu-restores R] [--cli-runs N]
#                          [--share-content [--ksm-pages P --ksm-sleep-ms S]]
# --share-content makes the template with --share-content and turns the host's KSM on at P pages per S ms
# (default 1000 per 50 ms) for the run (needs root; the host's settings are put back at the end), so that
# pages the idle clones wrote alike are merged; ksmd's CPU then counts in the idle-CPU figures.
set -euo pipefail

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
clones=1000 budget_mib=2048 max_clones=1000 restores=20 cli_runs=5 share=0 ksm_pages=1000 ksm_sleep=50
while [ $# -gt 0 ]; do
  case "$1" in
    --clones) clones="${2:?}"; shift 2 ;;
    --budget-mib) budget_mib="${2:?}"; shift 2 ;;
    --max-clones) max_clones="${2:?}"; shift 2 ;;
    --qemu-restores) restores="${2:?}"; shift 2 ;;
    --cli-runs) cli_runs="${2:?}"; shift 2 ;;
    --share-content) share=1; shift ;;
    --ksm-pages) ksm_pages="${2:?}"; shift 2 ;;
    --ksm-sleep-ms) ksm_sleep="${2:?}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench-clone: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
for v in "$clones" "$budget_mib" "$max_clones" "$restores" "$cli_runs" "$ksm_pages" "$ksm_sleep"; do
  [[ "$v" =~ ^[0-9]+$ ]] || { echo "bench-clone: '$v' is not a whole number" >&2; exit 2; }
done

root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
cd "$root"
. "$root/scripts/java-home.sh"
work="$(mktemp -d /tmp/airlock-bench-clone.XXXXXX)"
ksm=/sys/kernel/mm/ksm
share_flag=()
if [ "$share" = 1 ]; then
  [ -w "$ksm/run" ] || { echo "bench-clone: --share-content needs root and a kernel with KSM ($ksm/run is not writable)" >&2; exit 1; }
  saved_ksm="$(cat $ksm/run) $(cat $ksm/pages_to_scan) $(cat $ksm/sleep_millisecs)"
  trap 'read -r r p s <<<"$saved_ksm"; echo "$r" >$ksm/run; echo "$p" >$ksm/pages_to_scan; echo "$s" >$ksm/sleep_millisecs; rm -rf "$work"' EXIT
  echo "$ksm_pages" >$ksm/pages_to_scan; echo "$ksm_sleep" >$ksm/sleep_millisecs; echo 1 >$ksm/run
  share_flag=(--share-content)
else
  trap 'rm -rf "$work"' EXIT
fi
# Private templates and runtime dir, so the benchmark neither sees nor disturbs anyone's VMs.
export AIRLOCK_TEMPLATES="$work/templates" AIRLOCK_RUNTIME_DIR="$work/runtime"
mkdir -p "$AIRLOCK_TEMPLATES" "$AIRLOCK_RUNTIME_DIR"
load() { cut -d' ' -f1-3 /proc/loadavg; }

"$root/airlock" version >/dev/null # build first, outside the timed parts
echo "bench-clone: $(nproc) cores, $(free -g | awk '/^Mem:/{print $2}') GiB, git $(git rev-parse --short HEAD 2>/dev/null || echo '?'), load $(load)"

template=bench256
"$root/airlock" template create "$template" --memory 256 "${share_flag[@]}" --prepare 'true' 2>&1 | tail -1
[ "$share" = 0 ] || echo "bench-clone: the template shares content; host KSM on at $ksm_pages pages per $ksm_sleep ms"

echo
echo "== airlock bench-clone $template $clones --budget-mib $budget_mib --max-clones $max_clones --pool 1"
"$root/airlock" bench-clone "$template" "$clones" --budget-mib "$budget_mib" --max-clones "$max_clones" --pool 1 | tee "$work/airlock.txt"

echo
echo "== airlock clone $template -- true, each from a fresh JVM (the CLI), $cli_runs runs; load $(load)"
cli=()
for _ in $(seq "$cli_runs"); do
  t0=$(date +%s%N)
  "$root/airlock" clone "$template" -- true
  cli+=($(( ($(date +%s%N) - t0) / 1000000 )))
done
cli_p50=$(printf '%s\n' "${cli[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "airlock_cli_clone_true_ms p50 $cli_p50 (runs: ${cli[*]})"

echo
echo "== QEMU: save once, restore $restores times; load $(load)"
qemu_status=0
AIRLOCK_WITH_QEMU=1 "$root/scripts/setup-host.sh" || echo "bench-clone: could not install qemu-system-misc (see above)" >&2
if qemu="$(command -v qemu-system-riscv64)"; then
  echo "qemu: $("$qemu" --version | head -1)"
  kernel="$("$root/airlock" kernel)"
  # A line every few ms without timers: QEMU < 10.2 loses pending timers across a save and restore.
  "$root/airlock" initrd "$work/tick.cpio" -- sh -c 'while true; do echo tick; i=0; while [ $i -lt 300 ]; do i=$((i+1)); done; done'
  base_cmdline="$(sed -n '/BASE_CMDLINE = /,/;/p' "$root/airlock-vmm/src/main/java/dev/airlock/vmm/VmConfig.java" \
    | grep -o '"[^"]*"' | tr -d '"' | tr -d '\n')"
  [ -n "$base_cmdline" ] || { echo "bench-clone: cannot read BASE_CMDLINE from VmConfig.java" >&2; exit 1; }
  qemu_cmdline="${base_cmdline/earlycon=sbi/earlycon=uart8250,mmio,0x10000000} quiet"
  java "$root/scripts/bench/QemuRestoreBench.java" --qemu "$qemu" --kernel "$kernel" --initrd "$work/tick.cpio" \
    --append "$qemu_cmdline" --work "$work" --restores "$restores" | tee "$work/qemu.txt" || qemu_status=$?
else
  echo "bench-clone: QEMU IS NOT INSTALLED; no comparison" >&2
  qemu_status=1
fi

echo
echo "== summary (p50); load $(load)"
# The first table is clones made on the spot, the second ("POOLED LATENCY") clones taken from a ClonePool.
nth() { awk -v f="$1" -v n="$2" '$1 == f && ++seen == n {print $2}' "$work/airlock.txt"; }
a_insn=$(nth clone_to_first_insn 1) a_agent=$(nth clone_to_agent_true 1)
p_insn=$(nth clone_to_first_insn 2) p_agent=$(nth clone_to_agent_true 2)
printf '%-52s %12s\n' "airlock clone -> first instruction (in-process)" "$(awk -v v="$a_insn" 'BEGIN {printf "%.3f ms", v/1000}')"
printf '%-52s %12s\n' "airlock clone -> agent ran 'true' (in-process)" "$(awk -v v="$a_agent" 'BEGIN {printf "%.1f ms", v/1000}')"
printf '%-52s %12s\n' "airlock pooled clone -> first instruction" "$(awk -v v="$p_insn" 'BEGIN {printf "%.3f ms", v/1000}')"
printf '%-52s %12s\n' "airlock pooled clone -> agent ran 'true'" "$(awk -v v="$p_agent" 'BEGIN {printf "%.1f ms", v/1000}')"
printf '%-52s %12s\n' "airlock CLI clone -- true (fresh JVM, whole process)" "$cli_p50 ms"
grep -E '^(stopped by|per clone|idle CPU|clones_per_GiB|content of|alive)' "$work/airlock.txt" | sed 's/^/airlock density: /'
if [ "$qemu_status" = 0 ]; then
  q_run=$(awk '$1 == "qemu_start_to_running_ms" {print $2}' "$work/qemu.txt")
  q_line=$(awk '$1 == "qemu_start_to_next_line_ms" {print $2}' "$work/qemu.txt")
  printf '%-52s %12s\n' "qemu process start -> running (-incoming, cont)" "$q_run ms"
  printf '%-52s %12s\n' "qemu process start -> next console line" "$q_line ms"
  awk -v a="$a_insn" -v q="$q_run" 'BEGIN {printf "ratio airlock clone->first insn / qemu start->running: %.4f (%.0fx quicker)\n", a/1000/q, q/(a/1000)}'
  awk -v a="$cli_p50" -v q="$q_line" 'BEGIN {printf "ratio airlock CLI clone->true done / qemu start->next line: %.2f\n", a/q}'
fi
exit "$qemu_status"
