//! A bounds-checked reader for Doorstep's binary formats (bundles, state vectors, sync
//! messages): foreign bytes give a typed [`Error::Decode`], never a panic or a huge allocation.

use crate::{Error, Result};

pub(crate) struct WireReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> WireReader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        WireReader { bytes, pos: 0 }
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or_else(|| Error::Decode(format!("truncated at byte {}", self.pos)))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub fn magic(&mut self, m: &[u8; 4]) -> Result<()> {
        let got = self.take(4)?;
        if got != m {
            // Same family, other version: say so, so that an old phone is told to update.
            if got[..3] == m[..3] {
                return Err(Error::Decode(format!(
                    "protocol version {}, this build speaks {}",
                    got[3] as char, m[3] as char
                )));
            }
            return Err(Error::Decode(format!(
                "not a Doorstep {} (wrong magic)",
                String::from_utf8_lossy(m)
            )));
        }
        Ok(())
    }

    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().expect("2")))
    }

    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4")))
    }

    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8")))
    }

    pub fn flag(&mut self) -> Result<bool> {
        match self.take(1)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(Error::Decode(format!("flag byte {b}"))),
        }
    }

    /// A count of items of at least `min` bytes each, refused if the rest cannot hold them.
    pub fn count(&mut self, min: usize) -> Result<usize> {
        let n = self.u32()? as usize;
        if n > (self.bytes.len() - self.pos) / min {
            return Err(Error::Decode(format!("{n} items cannot fit in the body")));
        }
        Ok(n)
    }

    pub fn id(&mut self) -> Result<String> {
        let n = self.u16()? as usize;
        let id = std::str::from_utf8(self.take(n)?)
            .map_err(|_| Error::Decode("id is not UTF-8".into()))?;
        crate::ids::check_doc_id("id", id).map_err(|e| Error::Decode(e.to_string()))?;
        Ok(id.to_string())
    }

    pub fn end(&self) -> Result<()> {
        if self.pos != self.bytes.len() {
            return Err(Error::Decode(format!(
                "{} trailing bytes",
                self.bytes.len() - self.pos
            )));
        }
        Ok(())
    }

    pub fn rest(&mut self) -> &'a [u8] {
        let s = &self.bytes[self.pos..];
        self.pos = self.bytes.len();
        s
    }
}
