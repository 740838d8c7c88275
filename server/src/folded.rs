//! A document's older trimmed changes, folded into its newest trimmed row (issue 18: storage
//! per household).
//!
//! Once a change's bytes are trimmed (`trim.rs`), its own row in `change_log` only says who
//! brought which change when. The sync page needs one trimmed row per document at most (a
//! document with a trimmed row after a phone's cursor is sent whole, and the newest trimmed row
//! is after the cursor whenever any is), so the older rows are folded into the newest one's
//! `history`: per change, its `seq`, device number, time of receipt and the first 8 bytes of
//! its hash, about 15 bytes instead of a row of 110 and three index entries of 90. The audit
//! reads them back as it read the rows ([`crate::audit`]), and so does the clock floor of the
//! rules, which looks up when the server received a change a push builds on
//! ([`crate::sync::server_times`]).
//!
//! Encoding (little, versioned, read back only by this module): a version byte (1), then per
//! change in `seq` order: the `seq` delta from the previous (unsigned LEB128), the device
//! number + 1 (0: no device), the time of receipt's delta from the previous (zigzag LEB128,
//! milliseconds), the hash's first 8 bytes.

/// Bytes of a change's hash kept: enough to tell a document's changes apart (and to show in the
/// audit, as a short hash), not to look a change up across the server.
pub const HASH_PREFIX: usize = 8;

const VERSION: u8 = 1;

/// One folded change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Folded {
    pub seq: i64,
    /// Its number in `log_devices`, if a device pushed it.
    pub device: Option<i64>,
    pub received_at: i64,
    pub hash: [u8; HASH_PREFIX],
}

impl Folded {
    /// The entry for a change-log row (its hash given whole).
    pub fn of(seq: i64, device: Option<i64>, received_at: i64, hash: &[u8]) -> Folded {
        let mut prefix = [0u8; HASH_PREFIX];
        let n = hash.len().min(HASH_PREFIX);
        prefix[..n].copy_from_slice(&hash[..n]);
        Folded {
            seq,
            device,
            received_at,
            hash: prefix,
        }
    }

    /// Whether this is the change with hash `hash` (given whole).
    pub fn is(&self, hash: &[u8]) -> bool {
        hash.len() >= HASH_PREFIX && hash[..HASH_PREFIX] == self.hash
    }
}

/// Why a history could not be read: a file altered by hand, or written by a newer server.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("change log history: {0}")]
pub struct BadHistory(&'static str);

/// Encodes `entries` (sorted by `seq` here; one per `seq`).
pub fn encode(entries: &[Folded]) -> Vec<u8> {
    let mut sorted = entries.to_vec();
    sorted.sort_by_key(|e| e.seq);
    sorted.dedup_by_key(|e| e.seq);
    let mut out = Vec::with_capacity(1 + sorted.len() * 16);
    out.push(VERSION);
    let (mut seq, mut at) = (0i64, 0i64);
    for e in &sorted {
        put(&mut out, (e.seq - seq) as u64);
        put(&mut out, e.device.map_or(0, |d| d as u64 + 1));
        put(&mut out, zigzag(e.received_at.wrapping_sub(at)));
        out.extend_from_slice(&e.hash);
        seq = e.seq;
        at = e.received_at;
    }
    out
}

/// Decodes what [`encode`] wrote.
pub fn decode(mut bytes: &[u8]) -> Result<Vec<Folded>, BadHistory> {
    match bytes.split_first() {
        Some((&VERSION, rest)) => bytes = rest,
        Some(_) => return Err(BadHistory("unknown version")),
        None => return Err(BadHistory("empty")),
    }
    let mut out = Vec::new();
    let (mut seq, mut at) = (0i64, 0i64);
    while !bytes.is_empty() {
        let delta = take(&mut bytes)?;
        seq = seq
            .checked_add(i64::try_from(delta).map_err(|_| BadHistory("seq out of range"))?)
            .ok_or(BadHistory("seq out of range"))?;
        let device = match take(&mut bytes)? {
            0 => None,
            n => Some(i64::try_from(n - 1).map_err(|_| BadHistory("device out of range"))?),
        };
        at = at.wrapping_add(unzigzag(take(&mut bytes)?));
        let (hash, rest) = bytes
            .split_first_chunk::<HASH_PREFIX>()
            .ok_or(BadHistory("cut short"))?;
        bytes = rest;
        out.push(Folded {
            seq,
            device,
            received_at: at,
            hash: *hash,
        });
    }
    Ok(out)
}

fn put(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn take(bytes: &mut &[u8]) -> Result<u64, BadHistory> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = bytes.split_first().ok_or(BadHistory("cut short"))?;
        *bytes = rest;
        v |= u64::from(b & 0x7f)
            .checked_shl(shift)
            .ok_or(BadHistory("number too long"))?;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(BadHistory("number too long"))
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64, device: Option<i64>, at: i64, h: u8) -> Folded {
        Folded::of(seq, device, at, &[h; 32])
    }

    #[test]
    fn round_trips_in_seq_order_one_per_seq() {
        let entries = vec![
            entry(90_000, Some(3), 1_790_000_000_000, 7),
            entry(12, None, 1_780_000_000_000, 1),
            entry(12, None, 1_780_000_000_000, 1),
            entry(13, Some(0), 1_779_999_999_000, 2),
            entry(i64::MAX, Some(i64::MAX - 1), -5, 9),
        ];
        let bytes = encode(&entries);
        let back = decode(&bytes).unwrap();
        assert_eq!(
            back.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![12, 13, 90_000, i64::MAX]
        );
        assert_eq!(back[1], entries[3]);
        assert_eq!(back[3], entries[4]);
        assert!(back[2].is(&[7; 32]) && !back[2].is(&[8; 32]) && !back[2].is(&[7; 4]));
        // A typical entry is small: the point of folding.
        let typical = encode(&[
            entry(1_000, Some(4), 1_790_000_000_000, 1),
            entry(1_500, Some(4), 1_790_600_000_000, 2),
        ]);
        let one = encode(&[entry(1_000, Some(4), 1_790_000_000_000, 1)]);
        assert!(
            typical.len() - one.len() <= 16,
            "{}",
            typical.len() - one.len()
        );
    }

    #[test]
    fn bad_bytes_are_an_error_not_a_panic() {
        assert_eq!(decode(&[]), Err(BadHistory("empty")));
        assert_eq!(decode(&[2]), Err(BadHistory("unknown version")));
        let good = encode(&[entry(5, Some(1), 100, 3)]);
        for n in 2..good.len() {
            assert_eq!(decode(&good[..n]), Err(BadHistory("cut short")), "{n}");
        }
        assert!(
            decode(&[
                1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
            ])
            .is_err()
        );
        assert_eq!(decode(&[1]), Ok(vec![]));
    }
}
