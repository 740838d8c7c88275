//! Turning what a camera or a gallery hands over into the photo Doorstep keeps (issue 21).
//!
//! A phone's camera writes 3–5 MB JPEGs of 12 megapixels; over a 1 Mbit/s link that is half a
//! minute a photo, and a grid worker's afternoon could bring forty. What is kept and sent is a
//! JPEG of at most [`MAX_SIDE`] pixels on its long side and [`MAX_BYTES`], plus a thumbnail of
//! [`THUMB_SIDE`] pixels that phones fetch with their sync. Decoding and encoding are the
//! `image` crate's (zune-jpeg and its JPEG encoder: no code of ours reads image formats).
//!
//! The core takes JPEG only: what a camera writes. A gallery's other formats (PNG screenshots,
//! WebP saved from a chat, HEIC and AVIF from newer phones) are turned into JPEG by the shell
//! with the platform's own decoders (Android's `ImageDecoder`, iOS's `UIImage`), which read
//! every format the phone's gallery can show; carrying PNG and WebP decoders in the library
//! cost 0.3 MB of every phone's download and still missed HEIC (issue 23).
//!
//! Metadata: the pixels are re-encoded, so nothing of the original's metadata survives unless
//! asked. A photo's EXIF block may hold where it was taken (GPS): it is dropped, unless the
//! street keeps locations (`keep_location`), and then the block is copied with its orientation
//! reset (the pixels are already turned upright).

use std::io::Cursor;

use image::{ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage, imageops::FilterType};
use sha2::{Digest, Sha256};

use crate::domain::photo::PhotoRef;
use crate::{Error, Result};

/// The largest input taken: a 50-megapixel camera's JPEG is about 15 MB.
pub const MAX_INPUT_BYTES: usize = 25 * 1024 * 1024;
/// The largest picture taken, in pixels a side (decompression bombs are refused before
/// decoding: a 16,000 × 16,000 PNG of a few kilobytes would want a gigabyte).
pub const MAX_INPUT_SIDE: u32 = 12_000;
/// The long side of the kept photo.
pub const MAX_SIDE: u32 = 1600;
/// The kept photo's size bound.
pub const MAX_BYTES: usize = 300 * 1024;
/// The long side of the thumbnail.
pub const THUMB_SIDE: u32 = 320;
/// The largest blob a server or phone accepts under a hash: a kept photo, with room.
pub const MAX_BLOB_BYTES: usize = 512 * 1024;

/// A photo ready to keep: its JPEG, its thumbnail's, and what a document holds of them.
#[derive(Clone)]
pub struct Prepared {
    pub photo: Vec<u8>,
    pub thumb: Vec<u8>,
    pub reference: PhotoRef,
    pub width: u32,
    pub height: u32,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("reference", &self.reference)
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

/// The content hash of `bytes` (SHA-256, lowercase hex): a photo's name.
pub fn hash_of(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest.iter() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn not_an_image(detail: impl std::fmt::Display) -> Error {
    Error::invalid(
        "photo",
        format!("not a usable JPEG photo / 不是可用的 JPEG 照片: {detail}"),
    )
}

/// Checks `bytes` are a photo the phone can keep, and makes the kept JPEG and its thumbnail.
/// Anything else (too large, another format, a broken or oversized picture) is an
/// [`Error::Invalid`] with field `photo`, and nothing is made.
pub fn prepare(bytes: &[u8], keep_location: bool) -> Result<Prepared> {
    if bytes.is_empty() {
        return Err(not_an_image("no bytes"));
    }
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(Error::invalid(
            "photo",
            format!(
                "{:.1} MB is over the {} MB a photo may have / 照片过大（最大 {} MB）",
                bytes.len() as f64 / 1_048_576.0,
                MAX_INPUT_BYTES / 1_048_576,
                MAX_INPUT_BYTES / 1_048_576
            ),
        ));
    }
    let format = image::guess_format(bytes).map_err(not_an_image)?;
    if format != ImageFormat::Jpeg {
        return Err(not_an_image(format!(
            "{format:?}: the app turns other formats into JPEG first / 其他格式须先由应用转为 JPEG"
        )));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_INPUT_SIDE);
    limits.max_image_height = Some(MAX_INPUT_SIDE);
    limits.max_alloc = Some(600 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(not_an_image)?;
    let orientation = decoder.orientation().map_err(not_an_image)?;
    let exif = if keep_location {
        decoder.exif_metadata().ok().flatten()
    } else {
        None
    };
    // Every step after decoding works on 8-bit RGB only: the image crate's operations on
    // `DynamicImage` are compiled for each of its ten pixel types, which the phone library
    // would carry (issue 23).
    let img = upright(rgb_of(decoder)?, orientation);
    let exif = exif.map(|mut e| {
        let _ = image::metadata::Orientation::remove_from_exif_chunk(&mut e);
        e
    });
    let (photo, width, height) = encode_bounded(&img, MAX_SIDE, MAX_BYTES, exif)?;
    let (thumb, _, _) = encode_bounded(&img, THUMB_SIDE, MAX_BYTES, None)?;
    let reference = PhotoRef {
        hash: hash_of(&photo),
        bytes: photo.len() as u32,
        thumb: hash_of(&thumb),
        thumb_bytes: thumb.len() as u32,
    };
    Ok(Prepared {
        photo,
        thumb,
        reference,
        width,
        height,
    })
}

/// The decoded picture as 8-bit RGB. Decoded into the decoder's own layout and converted
/// here, rather than through `DynamicImage`, whose conversions exist for every pixel type
/// (the phone library's size, issue 23). A JPEG decodes to RGB or, in black and white, to one
/// grey channel.
fn rgb_of(decoder: impl ImageDecoder) -> Result<RgbImage> {
    use image::ColorType as C;
    let (w, h) = decoder.dimensions();
    let color = decoder.color_type();
    let total = decoder.total_bytes();
    if total > 600 * 1024 * 1024 {
        return Err(not_an_image("too many pixels"));
    }
    let mut buf = vec![0u8; total as usize];
    decoder.read_image(&mut buf).map_err(not_an_image)?;
    let rgb: Vec<u8> = match color {
        C::Rgb8 => buf,
        C::L8 => buf.iter().flat_map(|&v| [v, v, v]).collect(),
        other => return Err(not_an_image(format!("{other:?} pixels"))),
    };
    RgbImage::from_raw(w, h, rgb)
        .ok_or_else(|| not_an_image("a picture of another size than it says"))
}

/// `img` turned as the camera's orientation tag says, so that what is kept stands upright
/// without a tag.
fn upright(img: RgbImage, o: image::metadata::Orientation) -> RgbImage {
    use image::imageops::{flip_horizontal, flip_vertical, rotate90, rotate180, rotate270};
    use image::metadata::Orientation as O;
    match o {
        O::NoTransforms => img,
        O::Rotate90 => rotate90(&img),
        O::Rotate180 => rotate180(&img),
        O::Rotate270 => rotate270(&img),
        O::FlipHorizontal => flip_horizontal(&img),
        O::FlipVertical => flip_vertical(&img),
        O::Rotate90FlipH => flip_horizontal(&rotate90(&img)),
        O::Rotate270FlipH => flip_horizontal(&rotate270(&img)),
    }
}

/// `img` scaled to at most `side` pixels on its long side (its proportions kept) and encoded
/// as a JPEG of at most `max` bytes: the quality steps down, then the size, until it fits.
fn encode_bounded(
    img: &RgbImage,
    side: u32,
    max: usize,
    exif: Option<Vec<u8>>,
) -> Result<(Vec<u8>, u32, u32)> {
    let mut side = side;
    loop {
        let (w, h) = img.dimensions();
        let scaled = if w.max(h) > side {
            let (nw, nh) = if w >= h {
                (
                    side,
                    ((u64::from(h) * u64::from(side)) / u64::from(w)).max(1) as u32,
                )
            } else {
                (
                    ((u64::from(w) * u64::from(side)) / u64::from(h)).max(1) as u32,
                    side,
                )
            };
            image::imageops::resize(img, nw, nh, FilterType::Triangle)
        } else {
            img.clone()
        };
        for quality in [82u8, 74, 66, 58] {
            let out = encode(&scaled, quality, exif.clone())?;
            if out.len() <= max {
                return Ok((out, scaled.width(), scaled.height()));
            }
        }
        if side <= 200 {
            return Err(Error::invalid(
                "photo",
                "the picture cannot be made small enough / 照片无法压缩到允许的大小",
            ));
        }
        side = side * 4 / 5;
    }
}

fn encode(img: &RgbImage, quality: u8, exif: Option<Vec<u8>>) -> Result<Vec<u8>> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    if let Some(e) = exif {
        // Unsupported only for encoders without EXIF; the JPEG encoder has it.
        let _ = enc.set_exif_metadata(e);
    }
    enc.write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::Rgb8,
    )
    .map_err(|e| Error::Storage(format!("encoding a photo: {e}")))?;
    Ok(out)
}

/// What a server checks of a blob it is given under `hash` before it keeps it: the hash is
/// the bytes', they are within [`MAX_BLOB_BYTES`], a JPEG whose header reads, and, unless the
/// street keeps locations, with no EXIF block (which could hold where it was taken).
pub fn check_blob(hash: &str, bytes: &[u8], keep_location: bool) -> Result<()> {
    if bytes.len() > MAX_BLOB_BYTES {
        return Err(Error::invalid(
            "photo",
            "over the size a kept photo may have",
        ));
    }
    if hash_of(bytes) != hash {
        return Err(Error::invalid(
            "photo",
            "the bytes do not have the hash they were sent under",
        ));
    }
    if image::guess_format(bytes).ok() != Some(ImageFormat::Jpeg) {
        return Err(not_an_image("a kept photo is a JPEG"));
    }
    let mut dec =
        image::codecs::jpeg::JpegDecoder::new(Cursor::new(bytes)).map_err(not_an_image)?;
    if !keep_location && dec.exif_metadata().ok().flatten().is_some() {
        return Err(Error::invalid(
            "photo",
            "the photo carries EXIF metadata (perhaps where it was taken), which this street does not keep",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A camera-like picture: noise-free gradients with detail, `w` × `h`.
    pub(crate) fn picture(w: u32, h: u32, format: ImageFormat) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([
                (x * 255 / w) as u8,
                (y * 255 / h) as u8,
                ((x ^ y) & 0xff) as u8,
            ])
        });
        let mut out = Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut out, format)
            .unwrap();
        out.into_inner()
    }

    #[test]
    fn a_large_photo_is_kept_small_with_a_thumbnail() {
        let big = picture(4000, 3000, ImageFormat::Jpeg);
        let p = prepare(&big, false).unwrap();
        assert_eq!((p.width, p.height), (1600, 1200));
        assert!(p.photo.len() <= MAX_BYTES, "{}", p.photo.len());
        assert!(p.thumb.len() < 40_000, "{}", p.thumb.len());
        assert_eq!(p.reference.hash, hash_of(&p.photo));
        assert_eq!(p.reference.bytes as usize, p.photo.len());
        check_blob(&p.reference.hash, &p.photo, false).unwrap();
        check_blob(&p.reference.thumb, &p.thumb, false).unwrap();
        // The same picture gives the same photo: the same hash, kept once.
        assert_eq!(prepare(&big, false).unwrap().reference, p.reference);
    }

    #[test]
    fn jpeg_is_taken_other_formats_refused_with_a_typed_error() {
        // Black and white JPEG (one grey channel) is taken like colour.
        let grey = image::GrayImage::from_fn(800, 600, |x, _| image::Luma([(x % 256) as u8]));
        let mut out = Cursor::new(Vec::new());
        image::DynamicImage::ImageLuma8(grey)
            .write_to(&mut out, ImageFormat::Jpeg)
            .unwrap();
        let p = prepare(out.get_ref(), false).unwrap();
        assert_eq!((p.width, p.height), (800, 600));
        // PNG and WebP are the shell's to turn into JPEG: refused, saying so.
        for f in [ImageFormat::Png, ImageFormat::WebP] {
            let e = prepare(&picture(800, 600, f), false).unwrap_err();
            assert!(matches!(e, Error::Invalid { field: "photo", .. }), "{e}");
            assert!(e.to_string().contains("JPEG"), "{e}");
        }
        for junk in [
            b"hello".to_vec(),
            b"GIF89a\x01\x00\x01\x00".to_vec(),
            [b"BM".as_slice(), &[0u8; 60]].concat(),
            // A JPEG's first bytes, cut before its picture.
            picture(800, 600, ImageFormat::Jpeg)[..200].to_vec(),
            Vec::new(),
        ] {
            let Err(e) = prepare(&junk, false) else {
                panic!("{} junk bytes taken as a photo", junk.len());
            };
            assert!(matches!(e, Error::Invalid { field: "photo", .. }), "{e}");
        }
    }

    #[test]
    fn oversized_input_is_refused_before_decoding() {
        let e = prepare(&vec![0xff; MAX_INPUT_BYTES + 1], false).unwrap_err();
        assert!(e.to_string().contains("MB"), "{e}");
        // A JPEG that says it is 20,000 pixels wide: refused by its frame header (SOF0:
        // FF C0, length, precision, then height and width), before anything is decoded.
        let mut bomb = picture(16, 16, ImageFormat::Jpeg);
        let sof = bomb.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
        bomb[sof + 7..sof + 9].copy_from_slice(&20_000u16.to_be_bytes());
        let e = prepare(&bomb, false).unwrap_err();
        assert!(matches!(e, Error::Invalid { field: "photo", .. }), "{e}");
    }

    #[test]
    fn a_turned_camera_photo_stands_upright_and_keeps_its_exif_only_when_asked() {
        // EXIF with one tag: orientation 6 (turned 90 degrees), as a phone held upright writes.
        let exif = b"MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00".to_vec();
        let turned = encode(&image::RgbImage::new(400, 300), 90, Some(exif)).unwrap();
        for keep in [false, true] {
            let p = prepare(&turned, keep).unwrap();
            assert_eq!((p.width, p.height), (300, 400), "upright (keep {keep})");
            // Without the street keeping locations no EXIF is left; with it, it is there, its
            // orientation reset (the pixels are upright already).
            assert_eq!(
                check_blob(&p.reference.hash, &p.photo, false).is_ok(),
                !keep
            );
            check_blob(&p.reference.hash, &p.photo, true).unwrap();
            if keep {
                let mut d = image::codecs::jpeg::JpegDecoder::new(Cursor::new(&p.photo)).unwrap();
                assert_eq!(
                    d.orientation().unwrap(),
                    image::metadata::Orientation::NoTransforms
                );
            }
        }
    }

    #[test]
    fn a_blob_under_another_hash_or_with_exif_is_refused() {
        let p = prepare(&picture(400, 300, ImageFormat::Jpeg), false).unwrap();
        assert!(check_blob(&"0".repeat(64), &p.photo, false).is_err());
        let png = picture(40, 30, ImageFormat::Png);
        assert!(check_blob(&hash_of(&png), &png, false).is_err());
        // A JPEG with an EXIF block (APP1 "Exif") is refused unless locations are kept.
        let with_exif = encode(
            &image::RgbImage::new(8, 8),
            80,
            Some(b"MM\x00\x2a\x00\x00\x00\x08\x00\x00".to_vec()),
        )
        .unwrap();
        let h = hash_of(&with_exif);
        assert!(check_blob(&h, &with_exif, false).is_err());
        check_blob(&h, &with_exif, true).unwrap();
    }
}
