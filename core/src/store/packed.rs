//! How a document's saved bytes are kept in `doc_data`: each chunk through zstd with a
//! dictionary trained on documents, when that is smaller.
//!
//! Automerge deflates each column of a saved document on its own, past 256 bytes; a household
//! is about 650 bytes that way, and nearly all of it is what every household shares: the
//! columns' layout, the keys' names, the actors of one grid. A dictionary holds exactly that
//! once, for every document: a street's documents come to 242 bytes each from 793
//! (docs/perf.md, "Storage per household"), a third of a street server's file.
//!
//! A stored chunk says what it is by its first bytes: Automerge's magic (`85 6f 4a 83`) or
//! zstd's (`28 b5 2f fd`), so stores written before this module read as they are and need no
//! migration; they are packed as their documents are written or compacted. The dictionary is
//! fixed for ever (its id is in every frame): a better one later comes beside it, with its own
//! id, and this one stays to read what it packed.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::OnceLock;

use zstd::bulk::{Compressor, Decompressor};
use zstd::dict::{DecoderDictionary, EncoderDictionary};

use crate::{Error, Result};

/// The dictionary: 32 KB trained by `scripts/train_doc_dict.sh` on 6,000 documents of the
/// 22-grid street fixture (households, visit books, appeals, tasks), each one snapshot with its
/// columns not deflated, as [`pack_snapshot`] keeps them. 64 KB packed documents 3% smaller and
/// would add 32 KB more to the phone's library.
const DICTIONARY: &[u8] = include_bytes!("docs.zdict");

/// The dictionary's id, as `zstd --train --dictID` wrote it into the dictionary and as every
/// frame packed with it says.
pub const DICTIONARY_ID: u32 = 0x4453_0001;

/// zstd's level for stored chunks: 3 is zstd's default. With the dictionary, on a street's
/// documents, level 6 packed them 2% smaller and level 19 8%; every write pays for the level,
/// and zstd's higher levels cost many times more.
const LEVEL: i32 = 3;

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// SQL true for a `doc_data` row whose chunk is not packed: zstd's magic ([`ZSTD_MAGIC`],
/// checked by a test) spelled for SQLite, so that a query finds them without reading each.
pub(crate) const NOT_PACKED_SQL: &str = "substr(bytes, 1, 4) <> x'28b52ffd'";

/// The stored chunk in a row's first column, as it is (packed or not): every reader of
/// `doc_data` takes its chunks this way.
pub(crate) fn row_chunk<'r>(row: &'r rusqlite::Row<'_>) -> Result<&'r [u8]> {
    row.get_ref(0)?
        .as_blob()
        .map_err(|e| Error::Storage(format!("a stored document chunk: {e}")))
}

/// A saved chunk never grows past this when unpacked: a document of a few thousand visits is
/// a few hundred kilobytes; anything claiming more is not ours.
const MAX_UNPACKED: u64 = 64 << 20;

fn encoder() -> &'static EncoderDictionary<'static> {
    static E: OnceLock<EncoderDictionary<'static>> = OnceLock::new();
    E.get_or_init(|| EncoderDictionary::copy(DICTIONARY, LEVEL))
}

fn decoder() -> &'static DecoderDictionary<'static> {
    static D: OnceLock<DecoderDictionary<'static>> = OnceLock::new();
    D.get_or_init(|| DecoderDictionary::copy(DICTIONARY))
}

thread_local! {
    // One context a thread, made once, not one a chunk: a phone's first sync packs thousands
    // of chunks (the street supervisor's on loopback: 6.8-7.2 s with a context a chunk,
    // 6.3-6.4 s with these). Packing itself is about 5 microseconds a document.
    static COMPRESSOR: RefCell<Option<Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<Decompressor<'static>>> = const { RefCell::new(None) };
}

fn new_compressor() -> std::io::Result<Compressor<'static>> {
    let mut c = Compressor::with_prepared_dictionary(encoder())?;
    c.include_checksum(false)?;
    c.include_contentsize(true)?;
    c.include_dictid(true)?;
    Ok(c)
}

/// The bytes to store for `plain` (a saved snapshot or chunk): packed with the dictionary, or
/// as they are when packing does not make them smaller.
pub(crate) fn pack(plain: &[u8]) -> Vec<u8> {
    let packed = COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(new_compressor().ok()?);
        }
        slot.as_mut()?.compress(plain).ok()
    });
    match packed {
        Some(p) if p.len() < plain.len() => p,
        _ => plain.to_vec(),
    }
}

/// A document's whole state to store as its one chunk: its columns not deflated (the
/// dictionary finds what they share only in plain columns), then packed.
pub(crate) fn pack_snapshot(doc: &mut automerge::AutoCommit) -> Vec<u8> {
    pack(&doc.save_nocompress())
}

/// Whether a stored chunk was packed here. A packed first chunk is always a whole snapshot
/// with plain columns ([`pack_snapshot`]): a store's first write of a document and every
/// compaction write one.
pub(crate) fn is_packed(stored: &[u8]) -> bool {
    stored.starts_with(&ZSTD_MAGIC)
}

/// The Automerge bytes of a stored chunk, whichever way it was stored.
pub fn unpack_chunk(stored: &[u8]) -> Result<Cow<'_, [u8]>> {
    if !is_packed(stored) {
        return Ok(Cow::Borrowed(stored));
    }
    let bad = |why: String| Error::Storage(format!("a stored document chunk: {why}"));
    let id = zstd::zstd_safe::get_dict_id_from_frame(stored).map(u32::from);
    if id != Some(DICTIONARY_ID) {
        return Err(bad(format!("packed with an unknown dictionary {id:?}")));
    }
    let len = unpacked_len(stored).ok_or_else(|| bad("no size in its frame".into()))?;
    if len > MAX_UNPACKED {
        return Err(bad("larger than any document".into()));
    }
    let out = DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(Decompressor::with_prepared_dictionary(decoder())?);
        }
        slot.as_mut()
            .map(|d| d.decompress(stored, len as usize))
            .unwrap_or_else(|| Err(std::io::Error::other("no decompression context")))
    });
    let out = out.map_err(|e| bad(e.to_string()))?;
    if out.len() as u64 != len {
        return Err(bad("shorter than its frame says".into()));
    }
    Ok(Cow::Owned(out))
}

/// The size of a stored chunk once unpacked, from its frame's header (no decompression), or
/// its own size when it is not packed. `None` for a frame that does not say.
pub(crate) fn unpacked_len(stored: &[u8]) -> Option<u64> {
    if !is_packed(stored) {
        return Some(stored.len() as u64);
    }
    zstd::zstd_safe::get_frame_content_size(stored)
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::{ROOT, transaction::Transactable};

    fn household() -> automerge::AutoCommit {
        let mut doc = automerge::AutoCommit::new();
        doc.put(ROOT, "kind", "household").unwrap();
        doc.put(ROOT, "address", "3栋2单元501").unwrap();
        doc.put(ROOT, "name", "王秀英").unwrap();
        doc.put(ROOT, "grid", "xb-c01-g01").unwrap();
        doc
    }

    #[test]
    fn the_dictionary_is_the_one_its_frames_name() {
        assert_eq!(
            zstd::zstd_safe::get_dict_id_from_dict(DICTIONARY).map(u32::from),
            Some(DICTIONARY_ID)
        );
    }

    #[test]
    fn a_packed_snapshot_loads_as_the_document() {
        let mut doc = household();
        let stored = pack_snapshot(&mut doc);
        assert!(stored.starts_with(&ZSTD_MAGIC), "a document packs smaller");
        assert!(
            stored.len() < doc.save().len(),
            "smaller than Automerge's own save"
        );
        let plain = unpack_chunk(&stored).unwrap();
        assert_eq!(unpacked_len(&stored), Some(plain.len() as u64));
        let mut back = automerge::AutoCommit::load(&plain).unwrap();
        assert_eq!(back.get_heads(), doc.get_heads());
    }

    #[test]
    fn the_sql_spelling_of_the_magic_is_the_magic() {
        let hex: String = ZSTD_MAGIC.iter().map(|b| format!("{b:02x}")).collect();
        assert!(NOT_PACKED_SQL.contains(&format!("x'{hex}'")));
    }

    #[test]
    fn chunks_stored_before_packing_read_as_they_are() {
        let saved = household().save();
        assert!(matches!(unpack_chunk(&saved).unwrap(), Cow::Borrowed(b) if b == &saved[..]));
        assert_eq!(unpacked_len(&saved), Some(saved.len() as u64));
    }

    #[test]
    fn what_packing_would_grow_is_kept_as_it_is() {
        let tiny = [0x85u8, 0x6f, 0x4a, 0x83, 1];
        assert_eq!(pack(&tiny), tiny.to_vec());
    }

    #[test]
    fn a_foreign_or_broken_frame_is_a_storage_error() {
        let foreign = zstd::bulk::compress(&household().save_nocompress(), 3).unwrap();
        assert!(matches!(unpack_chunk(&foreign), Err(Error::Storage(_))));
        let mut broken = pack_snapshot(&mut household());
        let n = broken.len();
        broken.truncate(n - 3);
        assert!(matches!(unpack_chunk(&broken), Err(Error::Storage(_))));
    }
}
