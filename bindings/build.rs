//! Link settings for the phone library's size (issue 23). With lld (Android's NDK, Rust's
//! default on Linux hosts) identical functions are folded into one: many of Rust's generic
//! instantiations compile to the same machine code. Relative relocations (every pointer in a
//! vtable or a string table, 0.5 MB of `.rela.dyn`) are packed: RELR on Linux (glibc 2.36+),
//! Android's packed format on Android (loaded from API 23; RELR would need API 28 and the app
//! starts at 26). Only in optimised builds, where it pays; Apple's linker has its own (chained
//! fixups are already compact).
//!
//! The shipped build (`phone-size`, which lib.rs allows only with `panic = "abort"`) also leaves
//! out the unwind tables (`no-unwind-tables.ld`): nothing unwinds in it. The line tables stay in
//! the symbols split off for crash symbolication.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let optimised = std::env::var("OPT_LEVEL").is_ok_and(|l| l != "0");
    if optimised && (os == "linux" || os == "android") {
        println!("cargo:rustc-link-arg-cdylib=-Wl,--icf=all");
    }
    if optimised && os == "linux" {
        println!("cargo:rustc-link-arg-cdylib=-Wl,-z,pack-relative-relocs");
    }
    let phone = std::env::var("CARGO_FEATURE_PHONE_SIZE").is_ok();
    if phone && (os == "linux" || os == "android") {
        let script = std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap())
            .join("no-unwind-tables.ld");
        println!("cargo:rustc-link-arg-cdylib=-Wl,-T,{}", script.display());
        println!("cargo:rerun-if-changed=no-unwind-tables.ld");
    }
    if optimised && os == "android" {
        println!("cargo:rustc-link-arg-cdylib=-Wl,--pack-dyn-relocs=android");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
