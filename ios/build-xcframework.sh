#!/usr/bin/env bash
# Builds Doorstep's Rust core for iOS devices and simulators into an XCFramework and generates the
# Swift bindings, for the DoorstepKit Swift package (Package.swift) that the app uses.
#
# Needs macOS with Xcode, Rust, and:
#   rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios
# OpenSSL's libcrypto (for SQLCipher, the store's encryption) is built from source by the
# `vendored-openssl` feature; the first build takes a few minutes longer.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/ios/build
# The phone profile (Cargo.toml): size-optimised, fat LTO, one codegen unit. The static library
# keeps its line tables; Xcode moves them into the app's dSYM (DEBUG_INFORMATION_FORMAT =
# dwarf-with-dsym) and strips the app, so crash reports are symbolicated.
PROFILE=${PROFILE:-phone}
FEATURES="--features vendored-openssl,phone-size"
export IPHONEOS_DEPLOYMENT_TARGET=16.0
# SQLCipher without what the store never uses (see scripts/phone_size.sh).
export LIBSQLITE3_FLAGS
LIBSQLITE3_FLAGS=$(cat bindings/sqlite-phone.flags)
# The C code without unwind tables (nothing unwinds through it; scripts/phone_size.sh).
export CFLAGS
CFLAGS=$(cat bindings/c-phone.flags)

for t in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios; do
    cargo build -p doorstep-ffi --profile "$PROFILE" --target "$t" $FEATURES
done
DIR=$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")
LIB=libdoorstep_ffi.a

# The Swift bindings, generated from the built library (uniffi library mode).
cargo build -p doorstep-bindgen
rm -rf "$OUT/bindings" && mkdir -p "$OUT/bindings"
target/debug/uniffi-bindgen generate --library "target/aarch64-apple-ios/$DIR/$LIB" \
    --language swift --out-dir "$OUT/bindings"
cp "$OUT/bindings/DoorstepCore.swift" "$ROOT/ios/Sources/DoorstepCore/DoorstepCore.swift"

# One header folder with a module map named as the XCFramework expects.
HEADERS=$OUT/headers
rm -rf "$HEADERS" && mkdir -p "$HEADERS"
cp "$OUT/bindings/DoorstepCoreFFI.h" "$HEADERS/"
cp "$OUT/bindings/DoorstepCoreFFI.modulemap" "$HEADERS/module.modulemap"

# The simulator slice holds both simulator architectures.
mkdir -p "$OUT/sim"
lipo -create "target/aarch64-apple-ios-sim/$DIR/$LIB" "target/x86_64-apple-ios/$DIR/$LIB" \
    -output "$OUT/sim/$LIB"

rm -rf "$OUT/DoorstepCoreFFI.xcframework"
xcodebuild -create-xcframework \
    -library "target/aarch64-apple-ios/$DIR/$LIB" -headers "$HEADERS" \
    -library "$OUT/sim/$LIB" -headers "$HEADERS" \
    -output "$OUT/DoorstepCoreFFI.xcframework"
echo "built $OUT/DoorstepCoreFFI.xcframework and ios/Sources/DoorstepCore/DoorstepCore.swift"
