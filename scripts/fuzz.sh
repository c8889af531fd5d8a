#!/usr/bin/env bash
# Long fuzz campaigns: the fuzz tests CI runs with a bounded number of cases (the virtqueue, block
# request, balloon and MMIO-register fuzzers, the vsock packet fuzzer, the agent frame decoder),
# here with many more and a fresh seed. A failure prints the seed; AIRLOCK_FUZZ_SEED=S repeats it.
#   scripts/fuzz.sh [CASES]     (default 100000 per fuzzer)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/scripts/java-home.sh"
cases=${1:-100000}
seed=${AIRLOCK_FUZZ_SEED:-$(od -An -N6 -tu8 /dev/urandom | tr -d ' ')}
echo "airlock fuzz: $cases cases per fuzzer, seed $seed"
cd "$root"
mvn -B -q -pl airlock-vmm,airlock-guest -am test -Dtest='*Fuzz*Test' -Dsurefire.failIfNoSpecifiedTests=false \
  -Djqwik.tries.default="$cases" -Djqwik.seeds.whenfixed=ALLOW -Dairlock.fuzz.cases="$cases" -Dairlock.fuzz.seed="$seed"
