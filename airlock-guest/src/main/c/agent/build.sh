#!/bin/sh
# Builds airlock-agent into OUTDIR: airlock-agent-host (host gcc, for tests) and
# airlock-agent-riscv64 (static, -Os, stripped, for the guest initramfs).
#   build.sh OUTDIR [host|riscv64|asan|all]     (default: all = host + riscv64)
# A target is rebuilt only when agent.c or this script is newer than it.
set -eu
out=${1:?usage: build.sh OUTDIR [host|riscv64|asan|all]}
what=${2:-all}
src_dir=$(cd "$(dirname "$0")" && pwd)
src="$src_dir/agent.c"
mkdir -p "$out"
warn="-std=c11 -Wall -Wextra -Werror -Wno-unused-parameter"

stale() { [ ! -e "$1" ] || [ "$src" -nt "$1" ] || [ "$src_dir/build.sh" -nt "$1" ]; }

build() { # TARGET_FILE COMPILER FLAGS...
  target=$1; cc=$2; shift 2
  stale "$out/$target" || return 0
  if ! command -v "$cc" >/dev/null 2>&1; then
    echo "build.sh: $cc is not installed; run scripts/setup-host.sh" >&2
    exit 1
  fi
  if ! echo '#include <sys/socket.h>' | "$cc" -E -x c - >/dev/null 2>&1; then
    echo "build.sh: $cc has no C library headers; install its libc (for riscv64-linux-gnu-gcc:" \
         "libc6-dev-riscv64-cross), e.g. with scripts/setup-host.sh" >&2
    exit 1
  fi
  "$cc" $warn "$@" -o "$out/$target.tmp" "$src"
  mv -f "$out/$target.tmp" "$out/$target"
}

case $what in
  host|all) build airlock-agent-host "${CC:-gcc}" -O2 -g ;;
esac
case $what in
  asan) build airlock-agent-asan "${CC:-gcc}" -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer ;;
esac
case $what in
  riscv64|all) build airlock-agent-riscv64 riscv64-linux-gnu-gcc -static -Os -s -ffunction-sections -fdata-sections -Wl,--gc-sections ;;
esac
case $what in
  host|riscv64|asan|all) ;;
  *) echo "build.sh: unknown target '$what' (host, riscv64, asan or all)" >&2; exit 2 ;;
esac
