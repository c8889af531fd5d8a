#!/usr/bin/env bash
# The agent and vsock benchmark (issue 3): starts a VM, then on that running VM measures the agent's
# 'exec true' round trip and ping (p50/p99), and stream throughput host->guest and guest->host, both
# through the agent protocol and over a raw vsock stream. There is no QEMU figure: QEMU's vsock needs
# the host's vhost-vsock module, which these machines lack.
#   scripts/bench-agent.sh [ROUNDS] [MiB]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds=${1:-200}
mib=${2:-64}
export AIRLOCK_RUNTIME_DIR="${AIRLOCK_RUNTIME_DIR:-$(mktemp -d /tmp/airlock-bench.XXXXXX)}"
name=bench-agent
"$root/airlock" version >/dev/null # build first, outside the timed part
"$root/airlock" start "$name" --memory 512 2>"$AIRLOCK_RUNTIME_DIR/start.log" &
start_pid=$!
trap '"$root/airlock" stop "$name" >/dev/null 2>&1 || kill $start_pid 2>/dev/null; wait $start_pid 2>/dev/null || true' EXIT
for _ in $(seq 600); do
  [ -S "$AIRLOCK_RUNTIME_DIR/vms/$name/vsock.sock" ] && break
  kill -0 $start_pid 2>/dev/null || { cat "$AIRLOCK_RUNTIME_DIR/start.log" >&2; exit 1; }
  sleep 0.1
done
echo "airlock bench-agent: $rounds rounds, $mib MiB streams, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$root/airlock" bench-agent "$name" "$rounds" "$mib"
