//! The store benchmark (`benches/store.rs`) as an example binary, for the phone's figures:
//! Cargo builds bench targets to unwind whatever the profile says, so only an example built with
//! `--profile phone` runs as the shipped library does (`panic = "abort"`). docs/perf.md, "The
//! phone library's profile", has the command:
//!
//!     LIBSQLITE3_FLAGS="$(cat bindings/sqlite-phone.flags)" cargo run --release -p doorstep-core \
//!         --example store_bench --profile phone --features small-zstd -- --bench 'import_40'

include!("../benches/store.rs");
