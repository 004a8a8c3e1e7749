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

log() { echo "e2e install.sh: $*" >&2; }

command -v node >/dev/null || { log "node is not installed"; exit 1; }
command -v npm >/dev/null || { log "npm is not installed"; exit 1; }
if [[ -d "$node_dir/node_modules" ]] && cmp -s "$here/package-lock.json" "$node_dir/package-lock.json" \
    && cmp -s "$here/package.json" "$node_dir/package.json" \
    && [[ -e "$node_dir/node_modules/@tus/server/package.json" && -e "$node_dir/node_modules/@tus/file-store/package.json" ]]; then
  log "node packages up to date in $node_dir"
else
  log "npm ci into $node_dir"
  mkdir -p "$node_dir"
  cp "$here/package.json" "$here/package-lock.json" "$node_dir/"
  # --ignore-scripts: none of the pinned packages needs an install script.
  npm ci --prefix "$node_dir" --ignore-scripts --no-audit --no-fund --loglevel=error >&2
fi

echo "E2E_NODE_DIR=$node_dir"
