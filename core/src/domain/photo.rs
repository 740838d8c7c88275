//! Photos attached to records (issue 21): what a document holds of a photo.
//!
//! A document never holds image bytes: only each photo's content hash (SHA-256 of the stored
//! JPEG), its size, and its thumbnail's hash and size. The bytes live beside the documents,
//! content-addressed (`store::photos` on a phone, the server's blob store), and travel after
//! the documents, so a record syncs as fast with photos as without, and merges as today.

use crate::{Error, Result};

/// Photos one visit, task event or appeal event may carry.
pub const MAX_PER_ITEM: usize = 10;

/// A photo attached to a visit or an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhotoRef {
    /// SHA-256 of the photo's JPEG, 64 lowercase hex digits: its name everywhere.
    pub hash: String,
    /// The JPEG's size in bytes.
    pub bytes: u32,
    /// SHA-256 of its thumbnail's JPEG.
    pub thumb: String,
    pub thumb_bytes: u32,
}

/// Whether `s` is a content hash as documents hold them: 64 lowercase hex digits.
pub fn is_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Checks `s` is a content hash (see [`is_hash`]).
pub fn check_hash(field: &'static str, s: &str) -> Result<()> {
    if is_hash(s) {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("{s:?} is not a photo's hash (64 lowercase hex digits)"),
        ))
    }
}

/// Checks the photos of one item: known hashes, at most [`MAX_PER_ITEM`], none twice.
pub fn check_list(photos: &[PhotoRef]) -> Result<()> {
    if photos.len() > MAX_PER_ITEM {
        return Err(Error::invalid(
            "photos",
            format!(
                "more than {MAX_PER_ITEM} photos on one record / 一条记录最多 {MAX_PER_ITEM} 张照片"
            ),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for p in photos {
        check_hash("photo.hash", &p.hash)?;
        check_hash("photo.thumb", &p.thumb)?;
        if !seen.insert(&p.hash) {
            return Err(Error::invalid("photos", "the same photo twice"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_64_lowercase_hex_digits() {
        assert!(is_hash(&"ab".repeat(32)));
        assert!(!is_hash(&"AB".repeat(32)));
        assert!(!is_hash(&"ab".repeat(31)));
        assert!(!is_hash(&"zz".repeat(32)));
    }
}
