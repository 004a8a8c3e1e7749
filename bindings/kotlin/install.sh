#!/usr/bin/env bash
# Installs kotlinc (JVM) for the Kotlin binding tests into a cache OUTSIDE the clone:
#   ${SHOEBOX_CACHE:-$HOME/.cache/shoebox}/kotlin-node   npm ci of package.json + package-lock.json
#                                                        (kotlin-compiler 2.4.20: the JetBrains
#                                                        distribution with bin/kotlinc, kotlin-stdlib
#                                                        and kotlinx-coroutines-core-jvm; the lock's
#                                                        integrity hash is the checksum check)
# Idempotent: skipped when the cache already matches the committed pins.
# Prints the path as a shell assignment on its last line (run.sh reads it): KOTLIN_HOME=...
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${SHOEBOX_CACHE:-$HOME/.cache/shoebox}"
node_dir="$cache/kotlin-node"
kt_home="$node_dir/node_modules/kotlin-compiler"
mkdir -p "$cache"

log() { echo "kotlin/install.sh: $*" >&2; }

command -v java >/dev/null || { log "java is not installed (need a JDK 17+)"; exit 1; }
bash "$here/../../scripts/npm-pinned.sh" "$here" "$node_dir" \
  kotlin-compiler/bin/kotlinc kotlin-compiler/lib/kotlin-stdlib.jar
chmod +x "$kt_home/bin/"* 2>/dev/null || true

echo "KOTLIN_HOME=$kt_home"
