//! Link settings for the phone library's size (issue 23). With lld (Android's NDK, Rust's
//! default on Linux hosts) identical functions are folded into one: many of Rust's generic
//! instantiations compile to the same machine code. Only in optimised builds, where it pays;
//! Apple's linker has its own.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let optimised = std::env::var("OPT_LEVEL").is_ok_and(|l| l != "0");
    if optimised && (os == "linux" || os == "android") {
        println!("cargo:rustc-link-arg-cdylib=-Wl,--icf=all");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
