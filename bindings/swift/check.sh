#!/usr/bin/env bash
# `make test-swift`: what can be checked of the Swift bindings without a Swift compiler
# (none is available on this machine; the Swift sources are compiled by Xcode, see ios/README.md):
#   1. generate ShoeboxCore.swift + ShoeboxCoreFFI.h + ShoeboxCoreFFI.modulemap from the built library;
#   2. clang -fsyntax-only -Wall -Werror on the C header;
#   3. clang -fmodules -Werror: an Objective-C file does `@import ShoeboxCoreFFI;` through the
#      generated modulemap (what Swift's ClangImporter does with it);
#   4. every uniffi function the header declares is exported by the built library (nm -D);
#   5. an ABI smoke test: a C program links the .so and checks the uniffi contract version.
# Prints `N passed, N failed` last; exits non-zero on failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
out="$target/bindings/swift-check"
cc="$(command -v clang || command -v clang-14 || true)"
[[ -n "$cc" ]] || { echo "test-swift: clang not found: run 'make deps'" >&2; exit 1; }

# `make test-swift` builds the workspace first (BUILD_ALL in the Makefile).
lib="$target/debug/libshoebox_ffi.so"
for f in "$lib" "$target/debug/uniffi-bindgen"; do
  [[ -f "$f" ]] || { echo "test-swift: $f not built: run 'make test-swift' (or 'make build' first)" >&2; exit 1; }
done
rm -rf "$out" && mkdir -p "$out/gen" "$out/mod"
"$target/debug/uniffi-bindgen" generate "$lib" --language swift --out-dir "$out/gen" --no-format

passed=0 failed=0
check() { # check NAME CMD...: runs CMD, counts and reports
  local name="$1"; shift
  if "$@" >"$out/$name.log" 2>&1; then
    passed=$((passed + 1)); echo "ok   $name"
  else
    failed=$((failed + 1)); echo "FAIL $name"; sed 's/^/     /' "$out/$name.log" | head -40
  fi
}

files_present() {
  for f in ShoeboxCore.swift ShoeboxCoreFFI.h ShoeboxCoreFFI.modulemap; do
    [[ -s "$out/gen/$f" ]] || { echo "missing $f"; return 1; }
  done
  grep -q 'public class Shoebox' "$out/gen/ShoeboxCore.swift"
  grep -q 'public protocol PhotoLibrary' "$out/gen/ShoeboxCore.swift"
  grep -q 'public protocol ProgressObserver' "$out/gen/ShoeboxCore.swift"
  grep -q 'public enum ShoeboxError' "$out/gen/ShoeboxCore.swift"
  grep -q 'func runFor(seconds: UInt64) async throws' "$out/gen/ShoeboxCore.swift"
}
check swift-sources-generated files_present

check header-c-werror "$cc" -fsyntax-only -Wall -Wextra -Werror -Wno-pragma-once-outside-header \
  -x c "$out/gen/ShoeboxCoreFFI.h"

modules_import() {
  cp "$out/gen/ShoeboxCoreFFI.h" "$out/mod/"
  cp "$out/gen/ShoeboxCoreFFI.modulemap" "$out/mod/module.modulemap"
  cat >"$out/mod/t.m" <<'M'
@import ShoeboxCoreFFI;
int main(void) { return ffi_shoebox_ffi_uniffi_contract_version() == 0; }
M
  "$cc" -fsyntax-only -fmodules -fmodules-cache-path="$out/mod/cache" -Werror -Wall \
    -fmodule-map-file="$out/mod/module.modulemap" -I "$out/mod" -x objective-c "$out/mod/t.m"
}
check modulemap-fmodules-werror modules_import

symbols_match() {
  grep -oE '\b(uniffi|ffi)_shoebox_ffi_[A-Za-z0-9_]+\(' "$out/gen/ShoeboxCoreFFI.h" | tr -d '(' | sort -u >"$out/header.syms"
  nm -D --defined-only "$lib" | awk '{print $3}' | grep -E '^(uniffi|ffi)_shoebox_ffi_' | sort -u >"$out/lib.syms"
  local missing
  missing="$(comm -23 "$out/header.syms" "$out/lib.syms")"
  echo "header declares $(wc -l <"$out/header.syms") functions; library exports $(wc -l <"$out/lib.syms")"
  [[ -z "$missing" ]] || { echo "declared but not exported:"; echo "$missing"; return 1; }
  [[ -s "$out/header.syms" ]]
}
check header-symbols-exported symbols_match

abi_smoke() {
  cat >"$out/mod/abi.c" <<'C'
#include <stdio.h>
#include "ShoeboxCoreFFI.h"
int main(void) {
    uint32_t v = ffi_shoebox_ffi_uniffi_contract_version();
    printf("uniffi contract version %u\n", v);
    return v == 0;
}
C
  "$cc" -Wall -Werror -I "$out/mod" "$out/mod/abi.c" -L "$(dirname "$lib")" -lshoebox_ffi \
    -Wl,-rpath,"$(dirname "$lib")" -o "$out/mod/abi"
  "$out/mod/abi"
}
check c-abi-smoke abi_smoke

echo "swift: generated sources in $out/gen (no Swift compiler here: the .swift file is not compiled)"
echo "$passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
