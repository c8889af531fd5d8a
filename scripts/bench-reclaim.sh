#!/usr/bin/env bash
# Reclaim in a clone (issue 4): a clone of a 512 MiB template fills a tmpfs file of MiB mebibytes,
# deletes it, and the script polls 'airlock ps --json' (each poll starts a JVM, about 0.3 s) until the
# clone's private memory is back under 60 MiB; it prints private/template MiB before, filled and after,
# and the seconds from the 'rm' until then.
#   scripts/bench-reclaim.sh [MiB]
set -euo pipefail
mib=${1:-200}
[[ "$mib" =~ ^[0-9]+$ ]] || { echo "bench-reclaim: '$mib' is not a whole number of MiB" >&2; exit 2; }
root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
work=$(mktemp -d /tmp/airlock-bench-reclaim.XXXXXX)
export AIRLOCK_TEMPLATES="$work/templates" AIRLOCK_RUNTIME_DIR="$work/run"
mkdir -p "$AIRLOCK_RUNTIME_DIR"
airlock="$root/airlock"
clone_pid=
cleanup() {
  "$airlock" stop --force rc >/dev/null 2>&1 || true
  if [ -n "$clone_pid" ]; then wait "$clone_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
"$airlock" version >/dev/null
echo "bench-reclaim: $mib MiB in a clone of a 512 MiB template; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$airlock" template create r --memory 512 2>&1 | tail -1
"$airlock" clone r --name rc >"$work/clone.log" 2>&1 &
clone_pid=$!
for _ in $(seq 300); do
  "$airlock" exec rc -- true >/dev/null 2>&1 && break
  kill -0 "$clone_pid" 2>/dev/null || { cat "$work/clone.log" >&2; exit 1; }
  sleep 0.2
done
usage() { "$airlock" ps --json | python3 -c 'import json,sys; d=json.load(sys.stdin)[0]; print(d["private_bytes"]>>20, d["template_bytes"]>>20)'; }
echo "private/template MiB before: $(usage)"
"$airlock" exec rc -- sh -c "head -c $((mib << 20)) /dev/zero > /tmp/fill"
echo "private/template MiB filled: $(usage)"
t0=$(date +%s.%N)
"$airlock" exec rc -- rm /tmp/fill
for _ in $(seq 240); do
  read -r private template < <(usage)
  if [ "$private" -lt 60 ]; then
    echo "private/template MiB after:  $private $template, $(echo "$(date +%s.%N) - $t0" | bc) s after the rm; load $(cut -d' ' -f1-3 /proc/loadavg)"
    exit 0
  fi
  sleep 0.25
done
echo "bench-reclaim: private memory still $(usage) MiB 60 s after the rm" >&2
exit 1
