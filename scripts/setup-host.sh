#!/usr/bin/env bash
# Installs the Debian host packages Airlock's build, tests and benchmarks need.
# Idempotent: packages already present are skipped, so CI pays only once per machine.
set -euo pipefail
want=(gcc gcc-riscv64-linux-gnu libc6-dev-riscv64-cross gcc-riscv64-unknown-elf device-tree-compiler cpio xz-utils e2fsprogs file)
[ "${AIRLOCK_WITH_QEMU:-0}" = 1 ] && want+=(qemu-system-misc)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "airlock: installing host packages: ${missing[*]}" >&2
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
