# Sourced by the launcher and scripts: finds a JDK >= 25 and exports JAVA_HOME and PATH, or fails with one line.
airlock_java_ok() { [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] && \
  [ "$("$1/bin/java" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/{print int($2)}')" -ge 25 ] 2>/dev/null; }
airlock_find_java() {
  local c
  for c in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 \
           "$(dirname "$(dirname "$(readlink -f "$(command -v javac 2>/dev/null || echo /nonexistent)")")")" \
           /usr/lib/jvm/*; do
    [ -n "$c" ] && airlock_java_ok "$c" && { echo "$c"; return 0; }
  done
  return 1
}
if ! AIRLOCK_JAVA_HOME=$(airlock_find_java); then
  echo "airlock: no JDK 25 or newer found; install one (e.g. Temurin 25 at /usr/lib/jvm/temurin-25-jdk-amd64) or set JAVA_HOME" >&2
  exit 1
fi
export JAVA_HOME="$AIRLOCK_JAVA_HOME" PATH="$AIRLOCK_JAVA_HOME/bin:$PATH"
