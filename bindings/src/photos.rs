//! Photos for the shells (issue 21): a picture from the camera or the gallery in, checked and
//! made small by the core; a record's photos out by hash, their bytes from the store, a photo
//! not on the phone fetched when opened.

use doorstep_core::domain::photo as ph;

use crate::{DoorstepStore, Res, guarded};

/// A photo a record names: its hash (its name) and its thumbnail's.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Photo {
    pub hash: String,
    pub bytes: u32,
    pub thumb: String,
    pub thumb_bytes: u32,
}

impl From<ph::PhotoRef> for Photo {
    fn from(p: ph::PhotoRef) -> Self {
        Photo {
            hash: p.hash,
            bytes: p.bytes,
            thumb: p.thumb,
            thumb_bytes: p.thumb_bytes,
        }
    }
}

impl From<Photo> for ph::PhotoRef {
    fn from(p: Photo) -> Self {
        ph::PhotoRef {
            hash: p.hash,
            bytes: p.bytes,
            thumb: p.thumb,
            thumb_bytes: p.thumb_bytes,
        }
    }
}

/// The photos of a list, for a record.
pub(crate) fn photos(list: Vec<ph::PhotoRef>) -> Vec<Photo> {
    list.into_iter().map(Into::into).collect()
}

/// Photos waiting to go up or come down (the sync bar says so).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PhotoBacklog {
    pub unsent: u32,
    pub unsent_bytes: u64,
    pub wanted: u32,
}

/// What a sync did with photos.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PhotoSync {
    pub sent: u32,
    pub sent_bytes: u64,
    pub already_there: u32,
    pub left: u32,
    pub refused: u32,
    pub fetched: u32,
    /// Why photos stopped early (the records synced regardless).
    pub problem: Option<String>,
}

impl From<doorstep_core::client::PhotoReport> for PhotoSync {
    fn from(r: doorstep_core::client::PhotoReport) -> Self {
        PhotoSync {
            sent: r.sent,
            sent_bytes: r.sent_bytes,
            already_there: r.already_there,
            left: r.left,
            refused: r.refused,
            fetched: r.fetched,
            problem: r.problem,
        }
    }
}

#[uniffi::export]
impl DoorstepStore {
    /// Takes a picture from the camera or the gallery as a JPEG (the shells turn a gallery's
    /// PNG, WebP, HEIC or AVIF into JPEG with the platform's decoders first): checked, made
    /// small (about 1600 px, at most 300 KB) with a thumbnail, where it was taken dropped
    /// unless the street keeps it. Kept on the phone, encrypted, until a record names it.
    /// `Invalid` (field `photo`) for anything else.
    pub fn add_photo(&self, bytes: Vec<u8>) -> Res<Photo> {
        self.with(|s| Ok(s.add_photo(&bytes)?.into()))
    }

    /// Takes an appeal with photos of what the resident showed (`open_appeal` otherwise).
    pub fn open_appeal_with_photos(
        &self,
        new: crate::NewAppeal,
        photos: Vec<Photo>,
    ) -> Res<String> {
        self.with(|s| {
            Ok(s.open_appeal_with(new.into(), photos.into_iter().map(Into::into).collect())?)
        })
    }

    /// The bytes of a photo or thumbnail on the phone (`None`: not fetched yet).
    pub fn photo_bytes(&self, hash: String) -> Res<Option<Vec<u8>>> {
        self.with(|s| Ok(s.photo_bytes(&hash)?))
    }

    /// A photo a record names, fetched from the server when the phone lacks it (opened by
    /// someone), then kept. Online only.
    pub fn fetch_photo(&self, hash: String) -> Res<Vec<u8>> {
        guarded(|| Ok(doorstep_core::client::fetch_photo(&self.inner, &hash)?))
    }

    /// Photos waiting to go up or come down.
    pub fn photo_backlog(&self) -> Res<PhotoBacklog> {
        self.with(|s| {
            let b = s.photo_backlog()?;
            Ok(PhotoBacklog {
                unsent: b.unsent,
                unsent_bytes: b.unsent_bytes,
                wanted: b.wanted,
            })
        })
    }
}
