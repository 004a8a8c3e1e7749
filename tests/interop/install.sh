#!/usr/bin/env bash
# Installs the real clients the interop tests drive, into a cache OUTSIDE the clone:
#   ${SHOEBOX_CACHE:-$HOME/.cache/shoebox}/interop-node   npm ci of package.json + package-lock.json
#                                                         (@immich/cli 3.2.2, tus-js-client 4.3.1;
#                                                         the lock's integrity hashes are the checksum check)
#   ${SHOEBOX_CACHE:-$HOME/.cache/shoebox}/interop-venv   Python venv with tuspy 1.1.0 from requirements.txt,
#                                                         installed with --require-hashes
# Idempotent: each half is skipped when the cache already matches the committed pins.
# Prints the two paths as shell assignments on its last lines (run.sh reads them):
#   INTEROP_NODE_DIR=...   INTEROP_VENV=...
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${SHOEBOX_CACHE:-$HOME/.cache/shoebox}"
node_dir="$cache/interop-node"
venv="$cache/interop-venv"
mkdir -p "$cache"

log() { echo "install.sh: $*" >&2; }

# ---- Node: @immich/cli + tus-js-client -------------------------------------------------------
bash "$here/../../scripts/npm-pinned.sh" "$here" "$node_dir" .bin/immich tus-js-client/package.json

# ---- Python: tuspy ---------------------------------------------------------------------------
py=""
for cand in python3.11 python3; do
  if command -v "$cand" >/dev/null; then py="$cand"; break; fi
done
[[ -n "$py" ]] || { log "python3 is not installed"; exit 1; }
req_sum="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
stamp="$venv/.shoebox-requirements.sha256"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$req_sum" ]] \
    && "$venv/bin/python" -c 'import tusclient' 2>/dev/null; then
  log "python venv up to date in $venv"
else
  log "creating venv $venv ($("$py" --version 2>&1))"
  rm -rf "$venv"
  "$py" -m venv "$venv"
  # Hash-checked install from PyPI only (no local wheel dirs, so the hashes decide what is installed).
  env -u PIP_FIND_LINKS PIP_DISABLE_PIP_VERSION_CHECK=1 \
    "$venv/bin/python" -m pip install --quiet --no-cache-dir --require-hashes --only-binary :all: \
    -r "$here/requirements.txt" >&2
  "$venv/bin/python" -c 'import tusclient' 
  echo "$req_sum" >"$stamp"
fi

echo "INTEROP_NODE_DIR=$node_dir"
echo "INTEROP_VENV=$venv"
