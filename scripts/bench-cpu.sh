#!/usr/bin/env bash
# JMH benchmark of the hart's inner loop (guest instructions per second, and allocation per run with -prof gc).
# Usage: scripts/bench-cpu.sh [JMH options], e.g. scripts/bench-cpu.sh -f 1 -wi 2 -i 3 -p engine=translator
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
cd "$root"
. scripts/java-home.sh
# Builds in the reactor (no install): sibling modules come from their target/classes, not ~/.m2.
mvn -B -q -pl airlock-sys,airlock-memory,airlock-cpu -am test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/test-classpath.txt -Dmdep.includeScope=test >/dev/null
cp="airlock-cpu/target/test-classes:airlock-cpu/target/classes:$(cat airlock-cpu/target/test-classpath.txt)"
exec java --enable-native-access=ALL-UNNAMED -cp "$cp" org.openjdk.jmh.Main HartLoopBench -prof gc "$@"
