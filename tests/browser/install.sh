#!/usr/bin/env bash
# Installs playwright-core (pinned by package-lock.json) for the share-page browser test into
# ${SHOEBOX_CACHE:-$HOME/.cache/shoebox}/browser-node. Idempotent: does nothing when the lock
# file is unchanged since the last install. The browser is Debian's chromium (scripts/deps.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="${SHOEBOX_CACHE:-$HOME/.cache/shoebox}/browser-node"
mkdir -p "$dest"
if cmp -s "$here/package-lock.json" "$dest/package-lock.json" && [ -d "$dest/node_modules/playwright-core" ]; then
    echo "browser test: playwright-core present in $dest"
    exit 0
fi
cp "$here/package.json" "$here/package-lock.json" "$dest/"
(cd "$dest" && npm ci --ignore-scripts --no-audit --no-fund)
echo "browser test: playwright-core installed in $dest"
