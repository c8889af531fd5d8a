#!/usr/bin/env bash
# Side-by-side benchmark of Airlock against QEMU TCG (qemu-system-riscv64 -M virt, OpenSBI via -bios default):
# the same Debian riscv64 kernel and the same initramfs, 1 hart, 256 MiB.
#   1. boot: process start -> /init's READY marker on stdout, and peak RSS (VmHWM), N runs each, alternating;
#   2. compute: `dd if=/dev/zero bs=1M count=M | sha256sum` in the guest, READY -> EXIT marker, 3 runs each;
#   3. Airlock's own --timings breakdown; 4. a markdown table for the README's Performance section.
# The timing harness is scripts/bench/BootBench.java (single-file Java, run with the project's JDK).
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/bench-boot.sh [--runs N] [--compute-runs N] [--compute-mib MiB] [--no-compute]
                             [--ready-timeout S] [--exit-timeout S] [--no-warmup]
  --runs N           boot runs per VMM, alternating Airlock and QEMU (default 10)
  --compute-runs N   compute runs per VMM (default 3)
  --compute-mib MiB  size of the guest's dd | sha256sum workload (default 64; 16 is about 4x quicker)
  --no-compute       skip the compute benchmark
  --ready-timeout S  a run that shows no READY marker within S seconds is a timeout (default 120)
  --exit-timeout S   a run that shows no EXIT marker within S seconds of its start is a timeout (default 900)
  --no-warmup        skip the uncounted warm-up run of each VMM
EOF
}

runs=10 compute_runs=3 compute_mib=64 ready_timeout=120 exit_timeout=900 warmup=1
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="${2:?--runs needs a value}"; shift 2 ;;
    --compute-runs) compute_runs="${2:?--compute-runs needs a value}"; shift 2 ;;
    --compute-mib) compute_mib="${2:?--compute-mib needs a value}"; shift 2 ;;
    --no-compute) compute_runs=0; shift ;;
    --ready-timeout) ready_timeout="${2:?}"; shift 2 ;;
    --exit-timeout) exit_timeout="${2:?}"; shift 2 ;;
    --no-warmup) warmup=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench-boot: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
for v in "$runs" "$compute_runs" "$compute_mib" "$ready_timeout" "$exit_timeout"; do
  [[ "$v" =~ ^[0-9]+$ ]] || { echo "bench-boot: '$v' is not a whole number" >&2; exit 2; }
done
[ "$runs" -ge 1 ] || { echo "bench-boot: --runs must be at least 1" >&2; exit 2; }

root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
cd "$root"
. "$root/scripts/java-home.sh"

# --- QEMU -------------------------------------------------------------------------------------------------
qemu_args=()
if ! AIRLOCK_WITH_QEMU=1 "$root/scripts/setup-host.sh"; then
  echo "bench-boot: could not install QEMU (AIRLOCK_WITH_QEMU=1 scripts/setup-host.sh failed, see above)" >&2
fi
if qemu="$(command -v qemu-system-riscv64)"; then
  if ! qemu_version="$("$qemu" --version 2>&1 | head -1)"; then
    echo "bench-boot: $qemu does not run: $qemu_version" >&2; exit 1
  fi
  qemu_args=(--qemu "$qemu" --qemu-version "$qemu_version")
else
  echo "bench-boot: QEMU IS NOT INSTALLED and could not be installed (needs Debian's qemu-system-misc);" >&2
  echo "bench-boot: measuring Airlock alone, the QEMU columns will read n/a" >&2
  qemu_args=(--qemu-unavailable "qemu-system-riscv64 not found and 'AIRLOCK_WITH_QEMU=1 scripts/setup-host.sh' did not provide it")
fi

# --- Airlock: build if needed, fetch the kernel, write the initramfs images -------------------------------
kernel="$("$root/airlock" kernel)" || { echo "bench-boot: 'airlock kernel' failed (build or guest assets)" >&2; exit 1; }
work="$(mktemp -d /tmp/airlock-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
compute_cmd="dd if=/dev/zero bs=1M count=$compute_mib 2>/dev/null | sha256sum"
"$root/airlock" initrd "$work/true.cpio" -- true
"$root/airlock" initrd "$work/compute.cpio" -- sh -c "$compute_cmd"

# The java command line the ./airlock launcher execs, so that the harness times and measures the JVM itself.
launcher="$(cat "$root/airlock")"
[[ "$launcher" == *$'\nexec java '* ]] || { echo "bench-boot: cannot find the 'exec java' line in $root/airlock" >&2; exit 1; }
# Run the launcher itself ($0 = its path, so it finds the project) with its final exec java replaced by printf.
repl="printf '%s\\n' \"\$JAVA_HOME/bin/java\" "
bash -c "${launcher/$'\nexec java '/$'\n'$repl}" "$root/airlock" >"$work/airlock-args"
grep -q 'dev.airlock.cli.Main' "$work/airlock-args" || { echo "bench-boot: could not derive the java command from $root/airlock" >&2; exit 1; }
# Others may rebuild the project while this runs: benchmark a private copy of the jars the launcher just
# built (its AppCDS archive moves along; the uncounted warm-up run records it).
target="$root/airlock-cli/target"
mkdir -p "$work/target/lib"
cp "$target"/airlock-cli-*.jar "$work/target/" && cp "$target"/lib/*.jar "$work/target/lib/" \
  || { echo "bench-boot: cannot copy the built jars from $target" >&2; exit 1; }
sed -i "s#$target/#$work/target/#g" "$work/airlock-args"
build="git $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
[ -z "$(GIT_OPTIONAL_LOCKS=0 git -C "$root" status --porcelain -- . ":!scripts" 2>/dev/null)" ] || build+=" + uncommitted changes"
build+=", jars built $(date -r "$(ls "$target"/airlock-cli-*.jar | head -1)" '+%F %T' 2>/dev/null || echo '?')"

# Kernel command line: Airlock's BASE_CMDLINE plus " quiet" (what `airlock run` uses without --console; the
# harness passes --console --append quiet to get the same line with the console on stdout). QEMU gets the same
# line with its console on the 16550 from the start (OpenSBI 1.1 has no DBCN, so no earlycon=sbi).
base_cmdline="$(sed -n '/BASE_CMDLINE = /,/;/p' "$root/airlock-vmm/src/main/java/dev/airlock/vmm/VmConfig.java" \
  | grep -o '"[^"]*"' | tr -d '"' | tr -d '\n')"
[ -n "$base_cmdline" ] || { echo "bench-boot: cannot read BASE_CMDLINE from VmConfig.java" >&2; exit 1; }
airlock_cmdline="$base_cmdline quiet"
qemu_cmdline="${base_cmdline/earlycon=sbi/earlycon=uart8250,mmio,0x10000000} quiet"
expected="console=ttyS0 earlycon=uart8250,mmio,0x10000000 no4lvl panic=-1 rdinit=/init cryptomgr.notests initcall_blacklist=jent_mod_init nowatchdog sysctl.vm.compaction_proactiveness=0 quiet"
[ "$qemu_cmdline" = "$expected" ] || echo "bench-boot: NOTE: Airlock's BASE_CMDLINE changed; QEMU gets: $qemu_cmdline" >&2

reproduce="scripts/bench-boot.sh --runs $runs --compute-runs $compute_runs --compute-mib $compute_mib"
extra=()
[ "$warmup" = 1 ] || { extra+=(--no-warmup); reproduce+=" --no-warmup"; }
status=0
java "$root/scripts/bench/BootBench.java" \
  --runs "$runs" --compute-runs "$compute_runs" --compute-mib "$compute_mib" \
  --ready-timeout "$ready_timeout" --exit-timeout "$exit_timeout" "${extra[@]}" \
  --kernel "$kernel" --initrd-true "$work/true.cpio" --initrd-compute "$work/compute.cpio" \
  --compute-cmd "$compute_cmd" --airlock-args-file "$work/airlock-args" \
  --airlock-append "$airlock_cmdline" --qemu-append "$qemu_cmdline" "${qemu_args[@]}" \
  --airlock-build "$build" --reproduce "$reproduce" || status=$?
exit "$status"
