#!/usr/bin/env bash
# The Android glue's decisions (android/src/main/kotlin/app/shoebox/android/decisions: plain
# Kotlin, no android.*/androidx.* imports, no generated bindings) compiled with kotlinc from the
# npm `kotlin-compiler` package (bindings/kotlin/install.sh) together with the JUnit4 tests in
# android/jvm-test/src, and run on the JVM with Debian's junit4 + libhamcrest-java.
# Needs no Rust build, Gradle or Android SDK. Prints `N passed, N failed` last; exits non-zero on failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
out="$target/android-jvm-test"
decisions="$root/android/src/main/kotlin/app/shoebox/android/decisions"

log() { echo "android/jvm-test: $*" >&2; }

eval "$(bash "$root/bindings/kotlin/install.sh" | grep '^KOTLIN_HOME=')"
jar_of() { # jar_of PACKAGE NAME.jar: the jar's path from dpkg, so nothing is hard-coded
  dpkg -L "$1" 2>/dev/null | grep "/$2\$" | head -n1 || true
}
junit="$(jar_of junit4 junit4.jar)"
hamcrest="$(jar_of libhamcrest-java hamcrest.jar)"
for j in junit hamcrest; do
  [[ -n "${!j}" && -f "${!j}" ]] || { log "$j jar not found: run 'make deps' (junit4 libhamcrest-java)"; exit 1; }
done
cp="$junit:$hamcrest"

# The decisions must stay plain Kotlin: the point is that they compile and run without Android.
if grep -rnE '^import (android|androidx|app\.shoebox\.core)\.' "$decisions"; then
  log "the decision classes must not import android.*, androidx.* or the generated bindings"; exit 1
fi

log "kotlinc (-Werror) decisions + tests"
rm -rf "$out" && mkdir -p "$out"
"$KOTLIN_HOME/bin/kotlinc" -Werror -jvm-target 17 -d "$out/tests.jar" -cp "$cp" \
  $(find "$decisions" "$here/src" -name '*.kt' | sort) 2> >(grep -v '^OpenJDK 64-Bit Server VM warning' >&2)

log "running JUnit on the JVM"
exec java -cp "$out/tests.jar:$cp:$KOTLIN_HOME/lib/kotlin-stdlib.jar" app.shoebox.android.decisions.MainKt
