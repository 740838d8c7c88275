//! Writes documents of a server's store as files, one a file, for `zstd --train`: the samples
//! the stored documents' dictionary is trained on (`scripts/train_doc_dict.sh`,
//! `core/src/store/packed.rs`). Each document as the store keeps a settled one: one snapshot,
//! its columns not deflated.
//!
//!     cargo run --release -p doorstep-server --example doc_samples -- STORE.db OUT_DIR N SKIP
//!
//! Takes every `SKIP`-th document in id order (ids are time-ordered UUIDs: a spread of kinds
//! and ages) until it has `N`, starting at the first.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, db, out, n, skip] = &args[..] else {
        eprintln!("usage: doc_samples STORE.db OUT_DIR N SKIP");
        std::process::exit(2);
    };
    let n: usize = n.parse().expect("N");
    let skip: usize = skip.parse().expect("SKIP");
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the store");
    std::fs::create_dir_all(out).expect("out dir");
    let mut ids = conn.prepare("SELECT id FROM docs ORDER BY id").unwrap();
    let ids: Vec<String> = ids
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut chunks = conn
        .prepare("SELECT bytes FROM doc_data WHERE doc_id = ?1 ORDER BY seq")
        .unwrap();
    let mut written = 0;
    for id in ids.iter().step_by(skip.max(1)).take(n) {
        let mut bytes = Vec::new();
        for c in chunks.query_map([id], |r| r.get::<_, Vec<u8>>(0)).unwrap() {
            bytes.extend_from_slice(
                &doorstep_core::store::unpack_chunk(&c.unwrap()).expect("unpack"),
            );
        }
        let doc = automerge::Automerge::load(&bytes).expect("load");
        std::fs::write(format!("{out}/{written:05}"), doc.save_nocompress()).unwrap();
        written += 1;
    }
    eprintln!("{written} documents written to {out}");
}
