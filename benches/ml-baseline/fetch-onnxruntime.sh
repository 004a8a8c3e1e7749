#!/usr/bin/env bash
# Fetch the ONNX Runtime shared library the ml-baseline bench loads at run time (ort's
# `load-dynamic`): PyPI `onnxruntime` 1.31.1 (MIT), the manylinux_2_28 x86_64 wheel, via the
# ordinary pip client. The wheel is cached in ${SHOEBOX_CACHE:-~/.cache/shoebox}/downloads/onnxruntime,
# the library extracted to ${SHOEBOX_CACHE:-~/.cache/shoebox}/onnxruntime/libonnxruntime.so.1.31.1
# and checked by SHA-256. Idempotent: nothing is downloaded when the verified library is present.
# Never writes into the repository. Prints the library's path on stdout.
set -euo pipefail

VERSION=1.31.1
WHEEL="onnxruntime-${VERSION}-cp311-cp311-manylinux_2_28_x86_64.whl"
MEMBER="onnxruntime/capi/libonnxruntime.so.${VERSION}"
WHEEL_SHA256=5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f
LIB_SHA256=fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3

CACHE="${SHOEBOX_CACHE:-$HOME/.cache/shoebox}"
DL="$CACHE/downloads/onnxruntime"
LIB="$CACHE/onnxruntime/libonnxruntime.so.${VERSION}"
log() { printf 'fetch-onnxruntime: %s\n' "$*" >&2; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

if [ "$(uname -sm)" != "Linux x86_64" ]; then
    log "only Linux x86_64 is supported (this is $(uname -sm)); the bench will run rten only"
    exit 1
fi

if [ -f "$LIB" ] && [ "$(sha "$LIB")" = "$LIB_SHA256" ]; then
    echo "$LIB"
    exit 0
fi

mkdir -p "$DL" "$(dirname "$LIB")"
if ! [ -f "$DL/$WHEEL" ] || [ "$(sha "$DL/$WHEEL")" != "$WHEEL_SHA256" ]; then
    rm -f "$DL/$WHEEL"
    log "downloading $WHEEL from PyPI"
    python3 -m pip download --quiet --no-deps --disable-pip-version-check --only-binary=:all: \
        --python-version 3.11 --platform manylinux_2_28_x86_64 \
        "onnxruntime==${VERSION}" -d "$DL" >&2
    [ -f "$DL/$WHEEL" ] || { log "pip did not produce $DL/$WHEEL"; exit 1; }
    got="$(sha "$DL/$WHEEL")"
    if [ "$got" != "$WHEEL_SHA256" ]; then
        log "SHA-256 mismatch for $WHEEL: got $got, want $WHEEL_SHA256"
        rm -f "$DL/$WHEEL"
        exit 1
    fi
fi

python3 - "$DL/$WHEEL" "$MEMBER" "$LIB.part" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
got="$(sha "$LIB.part")"
if [ "$got" != "$LIB_SHA256" ]; then
    log "SHA-256 mismatch for $MEMBER: got $got, want $LIB_SHA256"
    rm -f "$LIB.part"
    exit 1
fi
mv "$LIB.part" "$LIB"
log "verified $LIB"
echo "$LIB"
