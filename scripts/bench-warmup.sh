#!/usr/bin/env bash
# Warm-up against steady state, Airlock against QEMU TCG: one boot each of the same kernel and
# initramfs, whose /init runs a workload ITERATIONS times and prints each iteration's guest time
# (from /proc/uptime, 10 ms resolution). The first iterations show what translating and compiling
# guest code costs; the last ones the steady state. Workloads:
#   sha256  `dd if=/dev/zero bs=1M count=M | sha256sum` (default)
#   true    20 runs of /bin/true from the shell (fork, exec and exit of busybox)
#   scripts/bench-warmup.sh [--workload sha256|true] [--iterations N] [--mib M] [--runs R]
set -euo pipefail

iterations=10 mib=4 runs=1 workload=sha256
while [ $# -gt 0 ]; do
  case "$1" in
    --iterations) iterations="${2:?--iterations needs a value}"; shift 2 ;;
    --mib) mib="${2:?--mib needs a value}"; shift 2 ;;
    --runs) runs="${2:?--runs needs a value}"; shift 2 ;;
    --workload) workload="${2:?--workload needs a value}"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "bench-warmup: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for v in "$iterations" "$mib" "$runs"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "bench-warmup: '$v' is not a positive whole number" >&2; exit 2; }
done

root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
cd "$root"
AIRLOCK_WITH_QEMU=1 "$root/scripts/setup-host.sh" >/dev/null || echo "bench-warmup: could not install QEMU; measuring Airlock alone" >&2
kernel="$("$root/airlock" kernel)"
work="$(mktemp -d /tmp/airlock-warmup.XXXXXX)"
trap 'rm -rf "$work"' EXIT

case "$workload" in
  sha256) body="dd if=/dev/zero bs=1M count=$mib 2>/dev/null | sha256sum >/dev/null"; unit="${mib} MiB hashed" ;;
  true) body="j=0; while [ \$j -lt 20 ]; do /bin/true; j=\$((j+1)); done"; unit="20 /bin/true" ;;
  *) echo "bench-warmup: --workload is sha256 or true, not '$workload'" >&2; exit 2 ;;
esac
loop="i=1; while [ \$i -le $iterations ]; do read s x < /proc/uptime; $body; read e x < /proc/uptime; echo \"iter \$i \$s \$e\"; i=\$((i+1)); done"
"$root/airlock" initrd "$work/loop.cpio" -- sh -c "$loop"

# The same kernel command line for both, as scripts/bench-boot.sh builds it.
base_cmdline="$(sed -n '/BASE_CMDLINE = /,/;/p' "$root/airlock-vmm/src/main/java/dev/airlock/vmm/VmConfig.java" \
  | grep -o '"[^"]*"' | tr -d '"' | tr -d '\n')"
qemu_cmdline="${base_cmdline/earlycon=sbi/earlycon=uart8250,mmio,0x10000000} quiet"

# Milliseconds per iteration, one line: "ms1 ms2 ..."
times() { awk '/^iter / { printf "%d ", ($4 - $3) * 1000 } END { print "" }'; }

for r in $(seq "$runs"); do
  a="$("$root/airlock" run --initrd "$work/loop.cpio" -- sh -c "$loop" 2>&1 | times)"
  echo "airlock ms per iteration ($unit): $a"
  if command -v qemu-system-riscv64 >/dev/null; then
    q="$(qemu-system-riscv64 -M virt -m 256 -smp 1 -bios default -nographic -no-reboot -kernel "$kernel" \
        -initrd "$work/loop.cpio" -append "$qemu_cmdline" 2>&1 | times)"
    echo "qemu    ms per iteration ($unit): $q"
  fi
done
echo "Reproduce: scripts/bench-warmup.sh --workload $workload --iterations $iterations --mib $mib --runs $runs (load $(cut -d' ' -f1-3 /proc/loadavg))"
