//! The street fixture's version (`target/street-fixtures/<grids>x<households>-v<N>`), shared by
//! the street bench, which builds it, and the load bench, which runs on it: bumped whenever the
//! fixture's build changes what it holds, so that an old street is never measured as new.
// 5: documents packed with the dictionary (core/src/store/packed.rs).
// 6: the change log's devices numbered and its hashes indexed by 8 bytes (server migration 12),
//    visit rows naming their book by year and their visit by 16 bytes (core migration 11).
// 7: a document's older trimmed change-log rows folded into its newest (server migration 13),
//    a document's snapshot written over its first chunk's row.
pub const STREET_FIXTURE_VERSION: u32 = 7;
