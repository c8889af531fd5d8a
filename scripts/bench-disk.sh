#!/usr/bin/env bash
# Side-by-side disk benchmark of Airlock against QEMU TCG (qemu-system-riscv64 -M virt, OpenSBI via -bios default):
# Debian's riscv64 fio runs in the guest on a raw test image, both VMMs boot the same kernel and the very same
# initramfs bytes and attach the same two image files as virtio-blk (virtio-mmio) disks:
#   tools image (ext4, read-only): fio and its shared libraries, built by scripts/fio-image.sh, run through chroot;
#   test image (raw, read-write):  pre-filled with random bytes; fio does direct I/O (O_DIRECT) on the whole device.
# Four fio jobs, one after the other in one boot: 4 KiB random read and write (IOPS), 1 MiB sequential read and
# write (MB/s), each time-based. Runs alternate Airlock, QEMU, Airlock, …; the table shows medians and the ratio
# Airlock/QEMU (above 1 means Airlock is faster). Both VMMs go through the host page cache (Airlock's raw backend
# uses plain positional I/O; QEMU gets cache=writeback), so the figures measure the VMMs, not the host's disk.
# Both guests are CPU-bound (fio reports ~98 % usr+sys in each): a figure says how fast a VMM runs the guest's
# whole I/O path (fio, the kernel's block and virtio code, the device), and host load lowers it, since the guest
# clock is the host's. Under Airlock a 4 KiB random read costs about 23,000 guest instructions.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/bench-disk.sh [--reps N] [--runtime S] [--ramp S] [--size MiB] [--iodepth N] [--seq-iodepth N]
                             [--memory MiB] [--verify] [--no-qemu] [--keep]
  --reps N          boots per VMM, alternating Airlock and QEMU (default 3)
  --runtime S       measured seconds per fio job (default 5)
  --ramp S          unmeasured seconds before each job (default 1)
  --size MiB        size of the raw test image (default 256)
  --iodepth N       libaio queue depth of the 4 KiB random jobs (default 16)
  --seq-iodepth N   libaio queue depth of the 1 MiB sequential jobs (default 4)
  --memory MiB      guest RAM for both VMMs (default 256)
  --verify          in each VMM's first boot, after the measured jobs, also write 2 x 16 MiB (4 KiB random, and
                    4 KiB-1 MiB random sizes) with crc32c checksums and read them back (fio verify; not timed)
  --no-qemu         measure Airlock alone
  --keep            keep the work directory (images, initramfs, every run's output) and print its path
EOF
}

reps=3 runtime=5 ramp=1 size_mib=256 iodepth=16 seq_iodepth=4 memory_mib=256 verify=0 use_qemu=1 keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps="${2:?--reps needs a value}"; shift 2 ;;
    --runtime) runtime="${2:?--runtime needs a value}"; shift 2 ;;
    --ramp) ramp="${2:?--ramp needs a value}"; shift 2 ;;
    --size) size_mib="${2:?--size needs a value}"; shift 2 ;;
    --iodepth) iodepth="${2:?--iodepth needs a value}"; shift 2 ;;
    --seq-iodepth) seq_iodepth="${2:?--seq-iodepth needs a value}"; shift 2 ;;
    --memory) memory_mib="${2:?--memory needs a value}"; shift 2 ;;
    --verify) verify=1; shift ;;
    --no-qemu) use_qemu=0; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench-disk: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
for v in "$reps" "$runtime" "$ramp" "$size_mib" "$iodepth" "$seq_iodepth" "$memory_mib"; do
  [[ "$v" =~ ^[0-9]+$ ]] || { echo "bench-disk: '$v' is not a whole number" >&2; exit 2; }
done
[ "$reps" -ge 1 ] && [ "$runtime" -ge 1 ] && [ "$size_mib" -ge 16 ] && [ "$iodepth" -ge 1 ] && [ "$seq_iodepth" -ge 1 ] \
  || { echo "bench-disk: --reps, --runtime, --iodepth, --seq-iodepth must be at least 1 and --size at least 16" >&2; exit 2; }

root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
cd "$root"
. "$root/scripts/java-home.sh"
started_at="$(date +%s)"

# --- QEMU (as scripts/bench-boot.sh finds it) -----------------------------------------------------------------
qemu=""
if [ "$use_qemu" = 1 ]; then
  AIRLOCK_WITH_QEMU=1 "$root/scripts/setup-host.sh" \
    || echo "bench-disk: could not install QEMU (AIRLOCK_WITH_QEMU=1 scripts/setup-host.sh failed, see above)" >&2
  if qemu="$(command -v qemu-system-riscv64)"; then
    qemu_version="$("$qemu" --version 2>&1 | head -1)" || { echo "bench-disk: $qemu does not run: $qemu_version" >&2; exit 1; }
  else
    echo "bench-disk: QEMU IS NOT INSTALLED (needs Debian's qemu-system-misc); measuring Airlock alone" >&2
    qemu=""
  fi
else
  "$root/scripts/setup-host.sh"
fi

# --- guest assets: kernel, tools image, initramfs ------------------------------------------------------------
kernel="$("$root/airlock" kernel)" || { echo "bench-disk: 'airlock kernel' failed (build or guest assets)" >&2; exit 1; }
tools="$("$root/scripts/fio-image.sh")" || { echo "bench-disk: scripts/fio-image.sh failed" >&2; exit 1; }
work="$(mktemp -d /tmp/airlock-bench-disk.XXXXXX)"
if [ "$keep" = 1 ]; then trap 'echo "bench-disk: kept $work" >&2' EXIT; else trap 'rm -rf "$work"' EXIT; fi

test_sectors=$(( size_mib * 2048 ))
fio_args="--output-format=terse --terse-version=3 --direct=1 --ioengine=libaio --time_based --runtime=$runtime"
fio_args+=" --ramp_time=$ramp --filename=\$test"
fio_args+=" --name=randread --rw=randread --bs=4k --iodepth=$iodepth"
fio_args+=" --name=randwrite --stonewall --rw=randwrite --bs=4k --iodepth=$iodepth"
fio_args+=" --name=seqread --stonewall --rw=read --bs=1M --iodepth=$seq_iodepth"
fio_args+=" --name=seqwrite --stonewall --rw=write --bs=1M --iodepth=$seq_iodepth"
# Data check: fio stops at the first block whose checksum does not match (the state file would go to a
# read-only root, so none). Only a boot whose command line carries airlock.verify runs it.
verify_args="--output-format=terse --terse-version=3 --direct=1 --ioengine=libaio --iodepth=$iodepth --filename=\$test"
verify_args+=" --size=16M --verify=crc32c --verify_fatal=1 --verify_state_save=0"
verify_args+=" --name=verify4k --rw=randwrite --bs=4k --name=verifymix --stonewall --rw=randwrite --bsrange=4k-1M --offset=32M"
# The guest finds its disks by content, not by name: QEMU and Airlock need not number virtio-mmio slots alike.
guest_script="$(cat <<EOF
tools= test=
for b in /sys/block/vd*; do
  d=/dev/\${b##*/}
  if [ "\$(dd if="\$d" bs=1 skip=1144 count=13 2>/dev/null)" = airlock-tools ]; then tools=\$d
  elif [ "\$(cat "\$b/size")" = $test_sectors ]; then test=\$d; fi
done
[ -n "\$tools" ] && [ -n "\$test" ] || { echo "bench-disk: no tools or test disk among: \$(ls /sys/block)"; exit 3; }
mkdir -p /mnt/tools && mount -t ext4 -o ro "\$tools" /mnt/tools || exit 4
mount --bind /dev /mnt/tools/dev && mount -t proc proc /mnt/tools/proc && mount -t sysfs sysfs /mnt/tools/sys \\
  && mount -t tmpfs tmpfs /mnt/tools/tmp || exit 5
echo "bench-disk: tools=\$tools test=\$test \$(chroot /mnt/tools /usr/bin/fio --version)"
chroot /mnt/tools /usr/bin/fio $fio_args || exit 6
if grep -q airlock.verify /proc/cmdline; then
  chroot /mnt/tools /usr/bin/fio $verify_args; echo "bench-disk: verify exit status \$?"
fi
EOF
)"
# The initramfs `airlock run --disk` boots (virtio and ext4 modules), with the command on the console, so both
# VMMs boot exactly the same bytes.
"$root/airlock" initrd "$work/initrd.cpio" --disk-modules -- sh -c "$guest_script" \
  || { echo "bench-disk: 'airlock initrd' could not write the initramfs" >&2; exit 1; }

echo "bench-disk: writing a ${size_mib} MiB test image of random bytes…" >&2
head -c $(( size_mib << 20 )) /dev/urandom >"$work/test.img"

# --- the two command lines -----------------------------------------------------------------------------------
base_cmdline="$(sed -n '/BASE_CMDLINE = /,/;/p' "$root/airlock-vmm/src/main/java/dev/airlock/vmm/VmConfig.java" \
  | grep -o '"[^"]*"' | tr -d '"' | tr -d '\n')"
[ -n "$base_cmdline" ] || { echo "bench-disk: cannot read BASE_CMDLINE from VmConfig.java" >&2; exit 1; }
qemu_cmdline="${base_cmdline/earlycon=sbi/earlycon=uart8250,mmio,0x10000000} quiet" # OpenSBI 1.1: no DBCN
per_boot_s=$(( 4 * (runtime + ramp) ))
airlock_cmd=("$root/airlock" run --memory "$memory_mib" --cpus 1 --kernel "$kernel" --initrd "$work/initrd.cpio"
  --disk "$tools,ro" --disk "$work/test.img" --timeout $(( 300 + 4 * per_boot_s )))
qemu_cmd=("$qemu" -M virt -m "$memory_mib" -smp 1 -bios default -nographic -no-reboot
  -kernel "$kernel" -initrd "$work/initrd.cpio" -append "$qemu_cmdline"
  -drive "file=$tools,format=raw,if=none,id=tools,readonly=on" -device virtio-blk-device,drive=tools
  -drive "file=$work/test.img,format=raw,if=none,id=test,cache=writeback,aio=threads" -device virtio-blk-device,drive=test
  -device virtio-rng-device) # airlock run adds virtio-rng whenever disks are attached

# --- runs ---------------------------------------------------------------------------------------------------
# One boot: prints "randread randwrite seqread seqwrite" figures (IOPS, IOPS, KiB/s, KiB/s) from fio's terse v3
# lines (field 5 error, 7/8 read KiB/s and IOPS, 48/49 write KiB/s and IOPS), or fails with the output's tail.
run_one() { # vmm index
  local vmm="$1" i="$2" out="$work/$1-$2.out" t0 t1 status=0 check=0 cmd
  [ "$verify" = 1 ] && [ "$i" = 1 ] && check=1
  t0="$(date +%s.%N)"
  if [ "$vmm" = airlock ]; then
    cmd=("${airlock_cmd[@]}"); [ "$check" = 0 ] || cmd+=(--append airlock.verify)
    "${cmd[@]}" >"$out" 2>&1 || status=$?
  else
    cmd=()
    for a in "${qemu_cmd[@]}"; do [ "$check" = 1 ] && [ "$a" = "$qemu_cmdline" ] && a+=" airlock.verify"; cmd+=("$a"); done
    timeout $(( 300 + 4 * per_boot_s )) "${cmd[@]}" </dev/null >"$out" 2>&1 || status=$?
    grep -q '@@AIRLOCK:EXIT 0@@' "$out" || [ "$status" != 0 ] || status=1
  fi
  t1="$(date +%s.%N)"
  local figures
  figures="$(tr -d '\r' <"$out" | awk -F';' '
    /^3;fio-/ { if ($5 != 0) bad = bad " " $3 "(error " $5 ")"
                if ($3 == "randread") rr = $8; if ($3 == "randwrite") rw = $49
                if ($3 == "seqread") sr = $7;  if ($3 == "seqwrite") sw = $48 }
    END { if (bad != "" || rr == "" || rw == "" || sr == "" || sw == "") { print "FAILED" bad; exit }
          print rr, rw, sr, sw }')"
  if [ "$status" != 0 ] || [[ "$figures" == FAILED* ]]; then
    echo "bench-disk: $vmm run $i failed (exit status $status; ${figures#FAILED}); last output lines:" >&2
    tr -d '\r' <"$out" | tail -15 | sed 's/^/  | /' >&2
    return 1
  fi
  if [ "$check" = 1 ]; then
    local verdict
    verdict="$(tr -d '\r' <"$out" | awk -F';' '
      /^3;fio-[^;]*;verify/ { n++; if ($5 != 0) bad = bad " " $3 "(error " $5 ")" }
      /^bench-disk: verify exit status/ { st = $0; sub(/.*status /, "", st) }
      END { if (n == 2 && bad == "" && st == "0") print "ok"; else print "FAILED:" bad " exit status " st " (" n " jobs reported)" }')"
    echo "$vmm data check: $verdict" >>"$work/verify.results"
    [ "$verdict" = ok ] || echo "bench-disk: $vmm DATA CHECK $verdict; output in $out (use --keep)" >&2
  fi
  echo "$figures" >>"$work/$vmm.results"
  awk -v v="$vmm" -v i="$i" -v t0="$t0" -v t1="$t1" '{
    printf "%-8s #%d  %6.1f s wall  rand read %6d IOPS  rand write %6d IOPS  seq read %7.1f MB/s  seq write %7.1f MB/s\n",
      v, i, t1 - t0, $1, $2, $3 * 0.001024, $4 * 0.001024 }' <<<"$figures"
}

echo
echo "airlock:   $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$([ -z "$(GIT_OPTIONAL_LOCKS=0 git -C "$root" status --porcelain -- . ':!scripts' 2>/dev/null)" ] || echo ' + uncommitted changes')"
echo "qemu:      $([ -n "$qemu" ] && echo "$qemu ($qemu_version)" || echo 'not measured')"
echo "kernel:    $kernel"
echo "tools:     $tools ($(sed -n 's/^package fio=/fio /p' "${tools%.img}.manifest"))"
echo "host:      $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "guest fio: fio $fio_args"
echo "airlock:   ${airlock_cmd[*]}"
[ -z "$qemu" ] || echo "qemu:      ${qemu_cmd[*]}"
echo
failed=0
for i in $(seq 1 "$reps"); do
  run_one airlock "$i" || failed=$((failed + 1))
  [ -z "$qemu" ] || run_one qemu "$i" || failed=$((failed + 1))
done

# --- medians ------------------------------------------------------------------------------------------------
median() { # column file -> median of that column, or empty
  [ -s "$2" ] || return 0
  awk -v c="$1" '{print $c}' "$2" | sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
echo
echo "Medians of $(wc -l <"$work/airlock.results" 2>/dev/null || echo 0) Airlock and $( [ -n "$qemu" ] && (wc -l <"$work/qemu.results" 2>/dev/null || echo 0) || echo 0) QEMU boots" \
     "(${runtime} s per job after ${ramp} s ramp, direct I/O, libaio, ${size_mib} MiB raw test image, 1 hart, ${memory_mib} MiB):"
printf '%-34s %12s %12s %10s\n' "metric" "Airlock" "QEMU${qemu_version:+ $(grep -o 'version [0-9]*\.[0-9]*' <<<"$qemu_version" | cut -d' ' -f2)}" "Airlock/QEMU"
row() { # label column scale unit format
  local a q
  a="$(median "$2" "$work/airlock.results")"; q="$( [ -n "$qemu" ] && median "$2" "$work/qemu.results" || true)"
  awk -v l="$1" -v a="$a" -v q="$q" -v s="$3" -v u="$4" -v f="$5" 'BEGIN {
    fa = a == "" ? "n/a" : sprintf(f " %s", a * s, u); fq = q == "" ? "n/a" : sprintf(f " %s", q * s, u)
    r = (a == "" || q == "" || q == 0) ? "n/a" : sprintf("%.2fx", a / q)
    printf "%-34s %12s %12s %10s\n", l, fa, fq, r }'
}
row "4 KiB random read (QD $iodepth)" 1 1 IOPS "%.0f"
row "4 KiB random write (QD $iodepth)" 2 1 IOPS "%.0f"
row "1 MiB sequential read (QD $seq_iodepth)" 3 0.001024 MB/s "%.1f"
row "1 MiB sequential write (QD $seq_iodepth)" 4 0.001024 MB/s "%.1f"
[ ! -s "$work/verify.results" ] || { echo; cat "$work/verify.results"; }
echo
echo "reproduce: scripts/bench-disk.sh --reps $reps --runtime $runtime --ramp $ramp --size $size_mib --iodepth $iodepth" \
     "--seq-iodepth $seq_iodepth --memory $memory_mib$([ "$verify" = 0 ] || echo ' --verify')$([ -n "$qemu" ] || echo ' --no-qemu')   (took $(( $(date +%s) - started_at )) s)"
[ "$failed" = 0 ] || { echo "bench-disk: $failed run(s) failed, see above" >&2; exit 1; }
