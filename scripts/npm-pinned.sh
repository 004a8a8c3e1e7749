#!/usr/bin/env bash
# Shared by the install scripts: `npm ci` a folder's committed package.json + package-lock.json
# into a cache dir OUTSIDE the clone (the lock's integrity hashes are the checksum check).
# Idempotent: skipped when the cached copy of both files matches and every listed path exists.
#   usage: npm-pinned.sh SRC_DIR DEST_DIR [PATH_THAT_MUST_EXIST_UNDER_node_modules...]
set -euo pipefail
src="$1" dest="$2"
shift 2
log() { echo "npm-pinned: $*" >&2; }
command -v node >/dev/null || { log "node is not installed"; exit 1; }
command -v npm >/dev/null || { log "npm is not installed"; exit 1; }
fresh=1
if [[ -d "$dest/node_modules" ]] && cmp -s "$src/package-lock.json" "$dest/package-lock.json" \
    && cmp -s "$src/package.json" "$dest/package.json"; then
  fresh=0
  for p in "$@"; do
    [[ -e "$dest/node_modules/$p" ]] || fresh=1
  done
fi
if [[ $fresh == 0 ]]; then
  log "up to date in $dest"
else
  log "npm ci into $dest"
  mkdir -p "$dest"
  cp "$src/package.json" "$src/package-lock.json" "$dest/"
  # --ignore-scripts: none of the pinned packages needs an install script.
  npm ci --prefix "$dest" --ignore-scripts --no-audit --no-fund --loglevel=error >&2
fi
