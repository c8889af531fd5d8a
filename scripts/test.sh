#!/usr/bin/env bash
# The test command: installs what the tests need (host packages, JDK check, guest assets), then runs
# every module's tests including the system tests that boot real Debian riscv64 guests.
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
cd "$root"
./scripts/setup-host.sh
. ./scripts/java-home.sh
echo "airlock: using $(java -version 2>&1 | head -1) from $JAVA_HOME" >&2
./scripts/fetch-guest-assets.sh
exec mvn -B -ntp install -Dairlock.systemTests=true "$@"
