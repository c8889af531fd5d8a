#!/usr/bin/env bash
# Fetches Airlock's guest kernel, modules and busybox (Debian trixie riscv64) into the cache
# ($AIRLOCK_CACHE, else ~/.cache/airlock), so CI pays for the download before the tests run.
# Runs the same Java code Airlock uses, straight from source: needs only a JDK (22+), apt-get,
# dpkg-deb and, for --modules, xz. Options: [--cache DIR] [--modules]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
java=${JAVA_HOME:+$JAVA_HOME/bin/}java
for tool in "$java" apt-get dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "airlock: $tool not found; install it (see scripts/setup-host.sh)" >&2; exit 1; }
done
# Multi-file source launching (JEP 458) needs Java 22 or later.
major=$("$java" -version 2>&1 | awk -F'"' '/version/ {split($2, v, "."); print v[1]; exit}')
if [ "${major:-0}" -lt 22 ] 2>/dev/null; then
  echo "airlock: $java is Java ${major:-?}; fetching guest assets needs Java 22+ (set JAVA_HOME)" >&2; exit 1
fi
# The source launcher compiles the other classes it needs from the same source tree.
# The resources (the pinned index hashes) sit beside the sources, not in a jar.
exec "$java" -cp "$root/airlock-guest/src/main/resources" \
  "$root/airlock-guest/src/main/java/dev/airlock/guest/assets/FetchGuestAssets.java" "$@"
