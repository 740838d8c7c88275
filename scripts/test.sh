#!/usr/bin/env bash
# Runs every test of Doorstep. Installs what it lacks (JNA from Debian, a Kotlin compiler from
# npm) on a fresh Debian machine with Rust, Java 17 and Node. One target directory, one debug
# build, so that CI stays well inside its time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=$ROOT/build
mkdir -p "$BUILD"

step() { printf '\n==> %s\n' "$*"; }

step "installing what is missing"
if [ ! -f /usr/share/java/jna.jar ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq libjna-java
fi
KC=$BUILD/kotlinc/node_modules/kotlin-compiler
if [ ! -x "$KC/bin/kotlinc" ]; then
    npm install --silent --no-audit --no-fund --prefix "$BUILD/kotlinc" kotlin-compiler@2
fi
echo "jna: /usr/share/java/jna.jar; kotlinc: $("$KC/bin/kotlinc" -version 2>&1 | tail -1)"

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "Rust tests"
cargo test --workspace

step "bindings: build the library and generate Kotlin and Swift"
cargo build -p doorstep-ffi --quiet
LIB=$ROOT/target/debug/libdoorstep_ffi.so
rm -rf "$BUILD/kotlin" "$BUILD/swift"
target/debug/uniffi-bindgen generate --library "$LIB" --language kotlin --no-format --out-dir "$BUILD/kotlin"
target/debug/uniffi-bindgen generate --library "$LIB" --language swift --no-format --out-dir "$BUILD/swift"
for f in DoorstepCore.swift DoorstepCoreFFI.h DoorstepCoreFFI.modulemap; do
    [ -s "$BUILD/swift/$f" ] || { echo "Swift binding $f was not generated"; exit 1; }
done
grep -q "public func openTask\|func openTask" "$BUILD/swift/DoorstepCore.swift" || { echo "Swift bindings lack the store API"; exit 1; }
echo "Swift bindings generated: $(ls "$BUILD/swift" | tr '\n' ' ')"

step "Kotlin bindings on the JVM"
CP=/usr/share/java/jna.jar:$KC/lib/kotlinx-coroutines-core-jvm.jar
"$KC/bin/kotlinc" -nowarn "$BUILD"/kotlin/app/doorstep/core/*.kt bindings/tests/kotlin/CoreTest.kt \
    -cp "$CP" -d "$BUILD/core-test.jar"
java -Djna.library.path="$ROOT/target/debug" -cp "$BUILD/core-test.jar:$CP:$KC/lib/kotlin-stdlib.jar" CoreTestKt

step "all tests passed"
