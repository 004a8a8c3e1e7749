#!/usr/bin/env bash
# `make deps`: install what `make test` / `make demo` need on a fresh Debian/Ubuntu machine.
# Idempotent: every package is checked first, `apt-get update` runs only when something is missing,
# and nothing is installed twice. Run as root, or as a user with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'deps: %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else SUDO="__none__"; fi
fi

missing=()
need_pkg() { # need_pkg PACKAGE: queue PACKAGE unless dpkg already has it
    if ! dpkg -s "$1" >/dev/null 2>&1; then missing+=("$1"); fi
}

if command -v dpkg >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    need_pkg curl
    need_pkg ca-certificates
    command -v python3 >/dev/null 2>&1 || need_pkg python3
    # a C compiler for rusqlite's bundled SQLite
    command -v cc >/dev/null 2>&1 || need_pkg build-essential
    # node + npm for the interop clients (install.sh fetches Node 22 for @immich/cli itself)
    command -v node >/dev/null 2>&1 || need_pkg nodejs
    command -v npm >/dev/null 2>&1 || need_pkg npm
    # the media pipeline: ffmpeg/ffprobe (video metadata, poster frames), heif-convert (HEIC);
    # the tests make files with exiftool, ffmpeg and heif-enc; `make bench` compares with vipsthumbnail
    need_pkg ffmpeg
    need_pkg libheif-examples
    need_pkg libimage-exiftool-perl
    need_pkg libvips-tools
    # the share-page browser test drives Debian's chromium with playwright-core
    need_pkg chromium
    # the Kotlin binding tests run on the JVM: a JDK (kotlinc + java), JNA (+ its JNI stub),
    # JUnit4 with hamcrest; the Swift binding check compiles the generated C header with clang
    command -v javac >/dev/null 2>&1 || need_pkg default-jdk-headless
    need_pkg libjna-java
    need_pkg libjna-jni
    need_pkg junit4
    need_pkg libhamcrest-java
    command -v clang >/dev/null 2>&1 || need_pkg clang
    # the interop tests build a Python venv; Debian splits ensurepip into python3-venv
    if command -v python3 >/dev/null 2>&1; then
        probe="$(mktemp -d)"
        if ! python3 -m venv "$probe/venv" >/dev/null 2>&1; then need_pkg python3-venv; fi
        rm -rf "$probe"
    else
        need_pkg python3-venv
    fi

    if [ "${#missing[@]}" -gt 0 ]; then
        if [ "$SUDO" = "__none__" ]; then
            log "missing packages: ${missing[*]}; run 'make deps' as root or install sudo" >&2
            exit 1
        fi
        log "installing: ${missing[*]}"
        $SUDO apt-get update
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
    else
        log "system packages present"
    fi
else
    log "no apt-get/dpkg here; skipping system packages (need: curl, ca-certificates, python3 with venv, node + npm, a C compiler, ffmpeg, heif-convert/heif-enc, exiftool, vipsthumbnail)"
fi

# Rust toolchain: not installed by this script (use https://rustup.rs), but make the lint
# components present when rustup manages it.
if ! command -v cargo >/dev/null 2>&1; then
    log "cargo not found: install Rust (https://rustup.rs), then re-run" >&2
    exit 1
fi
if command -v rustup >/dev/null 2>&1; then
    cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
    cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
fi
if ! cargo nextest --version >/dev/null 2>&1; then
    log "cargo-nextest not found; 'make test' falls back to 'cargo test'"
fi

# Real clients for the interop tests (@immich/cli, tus clients), cached outside the clone.
if [ -f tests/interop/install.sh ]; then
    log "interop clients: bash tests/interop/install.sh"
    bash tests/interop/install.sh
else
    log "tests/interop/install.sh not present; skipping interop clients"
fi
# playwright-core for the share-page browser test (server-stub/tests/browser.rs), cached too.
if [ -f tests/browser/install.sh ]; then
    bash tests/browser/install.sh
fi
bash tests/e2e/install.sh  # @tus/server reference for the e2e interop test
# kotlinc for the Kotlin binding tests (npm kotlin-compiler, pinned by bindings/kotlin/package-lock.json), cached too.
bash bindings/kotlin/install.sh >/dev/null
log "done"
