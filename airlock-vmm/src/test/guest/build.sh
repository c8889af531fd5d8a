#!/bin/sh
# Builds every test program into OUT_DIR (default: ./out):
#   NAME.O2.elf, NAME.O0.elf  the bare-metal RV64GC guest (riscv64-unknown-elf-gcc, from scripts/setup-host.sh)
#   NAME.host                 the same source built natively, whose output is the guest's expected output
#                             (only for programs listed in HOST_PROGRAMS)
# Run one on Airlock with: airlock run --kernel OUT_DIR/NAME.O2.elf (or on QEMU: qemu-system-riscv64
# -machine virt -bios none -nographic -kernel OUT_DIR/NAME.O2.elf).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/out}
mkdir -p "$out"

CROSS=${CROSS:-riscv64-unknown-elf-gcc}
HOSTCC=${HOSTCC:-gcc}
PROGRAMS="integer algorithms atomics traps timer umode fp"
HOST_PROGRAMS="integer algorithms fp"

# -fno-tree-loop-distribute-patterns: keep GCC from turning runtime/guest.c's memset loop into a call to memset.
# -frounding-math: fsrm changes the rounding of later FP operations, so GCC must not fold or move them.
COMMON="-std=gnu11 -Wall -Wextra -Werror -Wno-unused-function -fno-tree-loop-distribute-patterns -frounding-math \
  -fno-math-errno -ffp-contract=off -I$here/runtime"
GUEST="-march=rv64gc -mabi=lp64d -mcmodel=medany -ffreestanding -nostdlib -nostartfiles \
  -static -Wl,--no-warn-rwx-segments -T $here/runtime/link.ld"
RUNTIME="$here/runtime/crt0.S $here/runtime/guest.c $here/runtime/console.c"
pids=

for p in $PROGRAMS; do
  for opt in O2 O0; do
    $CROSS $COMMON $GUEST -$opt -g -o "$out/$p.$opt.elf" $RUNTIME "$here/programs/$p.c" -lgcc &
    pids="$pids $!"
  done
done
for p in $HOST_PROGRAMS; do
  $HOSTCC $COMMON -O2 -DAIRLOCK_HOST -o "$out/$p.host" "$here/runtime/host.c" "$here/runtime/console.c" \
    "$here/programs/$p.c" -lm &
  pids="$pids $!"
done
# Wait for each compiler and fail if any failed (plain `wait` would forget their statuses).
status=0
for pid in $pids; do wait "$pid" || status=1; done
exit $status
