#!/usr/bin/env bash
# Installs the tus reference server the e2e interop test drives, into a cache OUTSIDE the clone:
#   ${SHOEBOX_CACHE:-$HOME/.cache/shoebox}/e2e-node   npm ci of package.json + package-lock.json
#                                                     (@tus/server 2.4.5, @tus/file-store 2.1.1;
#                                                     the lock's integrity hashes are the checksum check)
# Idempotent: skipped when the cache already matches the committed pins.
# Prints the path as a shell assignment on its last line (the Rust test reads it):
#   E2E_NODE_DIR=...
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${SHOEBOX_CACHE:-$HOME/.cache/shoebox}"
node_dir="$cache/e2e-node"
mkdir -p "$cache"

bash "$here/../../scripts/npm-pinned.sh" "$here" "$node_dir" @tus/server/package.json @tus/file-store/package.json

echo "E2E_NODE_DIR=$node_dir"
