#!/usr/bin/env bash
# JMH benchmarks of the disk-image store: Bloom matrix vs a Guava filter per segment (64, 1024, 4096
# segments), durable append throughput (one writer, eight writers with group commit, 256 KiB batches),
# random 4 KiB read latency, and open/recovery time of a large log.
# Usage: scripts/bench-store.sh [JMH options] [benchmark regex]
#   scripts/bench-store.sh                          everything at modest sizes (1 GiB recovery log)
#   scripts/bench-store.sh RecoveryBench -p logMiB=10240   the documented 10 GiB target (needs ~11 GiB free)
#   scripts/bench-store.sh BloomLookupBench -p idsPerSegment=16000
# Data files go under -Dairlock.bench.dir (set AIRLOCK_BENCH_DIR), default the system temp directory.
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
cd "$root"
. scripts/java-home.sh
mvn -B -q -pl airlock-store test-compile dependency:build-classpath -Dmdep.outputFile=target/test-classpath.txt \
    -Dmdep.includeScope=test >/dev/null
cp="airlock-store/target/test-classes:airlock-store/target/classes:$(cat airlock-store/target/test-classpath.txt)"
exec java -Dairlock.bench.dir="${AIRLOCK_BENCH_DIR:-${TMPDIR:-/tmp}}" -cp "$cp" \
    dev.airlock.store.bench.StoreBenchMain "$@"
