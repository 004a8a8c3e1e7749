#!/usr/bin/env bash
# Builds ShoeboxCoreFFI.xcframework (static libshoebox_ffi.a for devices and simulators + the C
# header + module.modulemap) and generates Sources/ShoeboxCore/ShoeboxCore.swift.
# RUNS ON macOS ONLY (needs Xcode's xcodebuild and lipo); it was not run on the Linux build machine.
#   usage: ios/build-xcframework.sh [release|debug]      (default release)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
profile="${1:-release}"
[[ "$(uname)" == Darwin ]] || { echo "build-xcframework.sh needs macOS with Xcode" >&2; exit 1; }
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
export IPHONEOS_DEPLOYMENT_TARGET=15.0
flag=(); [[ "$profile" == release ]] && flag=(--release)

targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)
rustup target add "${targets[@]}"
for t in "${targets[@]}"; do
  cargo build -p shoebox-ffi --lib --target "$t" "${flag[@]}"
done
lib=libshoebox_ffi.a
out="$target/ios"
rm -rf "$out" && mkdir -p "$out/sim" "$out/Headers/ShoeboxCoreFFI"
# One fat simulator library (Apple silicon + Intel Macs).
lipo -create "$target/aarch64-apple-ios-sim/$profile/$lib" "$target/x86_64-apple-ios/$profile/$lib" \
  -output "$out/sim/$lib"

# Swift + header + modulemap from the device library (the API is the same for every target).
cargo build -p uniffi-bindgen
"$target/debug/uniffi-bindgen-swift" "$target/aarch64-apple-ios/$profile/$lib" "$out/gen" \
  --swift-sources --headers --modulemap --module-name ShoeboxCoreFFI \
  --modulemap-filename module.modulemap
cp "$out/gen/ShoeboxCoreFFI.h" "$out/gen/module.modulemap" "$out/Headers/ShoeboxCoreFFI/"
cp "$out/gen/ShoeboxCore.swift" "$here/Sources/ShoeboxCore/ShoeboxCore.swift"

rm -rf "$here/ShoeboxCoreFFI.xcframework"
# Headers under Headers/ShoeboxCoreFFI/ so this module map never collides with another XCFramework's.
xcodebuild -create-xcframework \
  -library "$target/aarch64-apple-ios/$profile/$lib" -headers "$out/Headers" \
  -library "$out/sim/$lib" -headers "$out/Headers" \
  -output "$here/ShoeboxCoreFFI.xcframework"
echo "built $here/ShoeboxCoreFFI.xcframework and Sources/ShoeboxCore/ShoeboxCore.swift"
