#!/usr/bin/env bash
# `make test-kotlin`: the generated Kotlin bindings (JVM flavour) compiled with kotlinc from the
# npm `kotlin-compiler` package and run on the JVM with Debian's JNA and JUnit4, against the
# REAL shoebox-server binary (each test starts its own on 127.0.0.1:0 with a fresh data dir).
# No Gradle, no Maven. Prints `N passed, N failed` last; exits non-zero on failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
out="$target/bindings/kotlin-jvm"

log() { echo "test-kotlin: $*" >&2; }

eval "$(bash "$here/install.sh" | grep '^KOTLIN_HOME=')"
jar_of() { # jar_of PACKAGE NAME.jar: the jar's path from dpkg, so nothing is hard-coded
  dpkg -L "$1" 2>/dev/null | grep "/$2\$" | head -n1 || true
}
jna="$(jar_of libjna-java jna.jar)"
junit="$(jar_of junit4 junit4.jar)"
hamcrest="$(jar_of libhamcrest-java hamcrest.jar)"
for j in jna junit hamcrest; do
  [[ -n "${!j}" && -f "${!j}" ]] || { log "$j jar not found: run 'make deps' (libjna-java junit4 libhamcrest-java)"; exit 1; }
done
coroutines="$(ls "$KOTLIN_HOME"/lib/kotlinx-coroutines-core-jvm*.jar | head -n1)"
cp="$jna:$junit:$hamcrest:$coroutines"

# `make test-kotlin` builds the workspace first (BUILD_ALL in the Makefile).
lib="$target/debug/libshoebox_ffi.so"
for f in "$lib" "$target/debug/uniffi-bindgen" "$target/debug/shoebox-server"; do
  [[ -x "$f" || -f "$f" ]] || { log "$f not built: run 'make test-kotlin' (or 'make build' first)"; exit 1; }
done

log "generating Kotlin (JVM flavour: bindings/kotlin/jvm.toml) into $out"
rm -rf "$out" && mkdir -p "$out"
"$target/debug/uniffi-bindgen" generate "$lib" --language kotlin --out-dir "$out/src" \
  --no-format --config "$here/jvm.toml"
if grep -rq 'import android\.' "$out/src"; then log "JVM flavour still imports android.*"; exit 1; fi

log "kotlinc (-Werror) generated bindings + tests"
"$KOTLIN_HOME/bin/kotlinc" -Werror -jvm-target 17 -d "$out/tests.jar" -cp "$cp" \
  $(find "$out/src" "$here/src" -name '*.kt' | sort) 2> >(grep -v '^OpenJDK 64-Bit Server VM warning' >&2)

log "running JUnit on the JVM (JNA loads $lib)"
exec java -Djna.library.path="$target/debug" -Dshoebox.server="$target/debug/shoebox-server" \
  -cp "$out/tests.jar:$cp:$KOTLIN_HOME/lib/kotlin-stdlib.jar" app.shoebox.test.MainKt
