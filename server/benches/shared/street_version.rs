//! The street fixture's version (`target/street-fixtures/<grids>x<households>-v<N>`), shared by
//! the street bench, which builds it, and the load bench, which runs on it: bumped whenever the
//! fixture's build changes what it holds, so that an old street is never measured as new.
// 5: documents packed with the dictionary (core/src/store/packed.rs).
pub const STREET_FIXTURE_VERSION: u32 = 5;
