//! The sync protocol's messages, version 1 (docs/protocol.md): pure encoding and decoding, no
//! I/O, shared by the phone's client and the server so that the two cannot drift apart.
//!
//! Every body is a zstd frame around one of these (integers little-endian):
//! ```text
//! request   "DSQ1" u64:cursor u32:page_bytes  bundle            (push + where the phone is)
//!           "DSQ2" u64:cursor u32:page_bytes u64:own_seq  bundle
//!           "DSQ3" u64:cursor u32:page_bytes u64:own_seq u32:unsynced  bundle
//!           "DSQ4" as DSQ3 (the phone reads the third answer form)
//!           "DSQ5" as DSQ4 (the phone reads visit books, document kind 4)
//!           "DSQ6" as DSQ5 (the phone reads visit plans, document kind 5)
//! response  "DSA1" u64:cursor u8:more u8:restart u32:n {id heads}*n  bundle
//!           "DSA2" u64:cursor u8:more u8:restart u64:own_seq i64:server_now u32:returned_own
//!                  u32:n {id heads}*n  bundle
//!           "DSA3" as DSA2, then u32:purge_days before u32:n
//!           (restart: 0 none, 1 reset: reconcile then pull from 0, 2 repull: pull from 0,
//!            3 handover: the phone is being handed over, push what is left then finish)
//! ```
//! The second forms (issue 17) let a phone whose store is an older copy of itself get back what
//! it had synced (`own_seq`: the last of its own change-log rows it knows it holds) and tell a
//! phone the server's time (`server_now`, ms since the epoch). A server answers in the form it
//! was asked in, so that phones of the first form keep working. The third request form (issue
//! 19) adds how many documents the phone holds with changes the server has not acknowledged
//! (`unsynced`, counted before the push): the dashboard shows, for a phone reported lost, what
//! the server never received. Only a phone that sent it is told `handover`. The fourth request
//! form is the third, saying that the phone reads the third answer form, which adds the
//! server's policy for the phone: how many days a finished record stays on it (`purge_days`,
//! `serve --purge-days`; `u32::MAX`: none is purged), so that phones and server agree on what a pull
//! from the start leaves out. The fifth is the fourth, saying that the phone reads yearly visit
//! documents (kind 4 in a bundle, `doc::visits`): an older phone is sent none (it could not
//! decode the page), and sees the visits of its households' documents only. The sixth is the
//! fifth, saying that the phone reads visit plans (kind 5, `doc::plan`, issue 22): it is sent
//! the plans of the communities and streets above its grids; an older phone none.
//! ```text
//! reconcile "DSC1" u32:n { u8:kind id u32:len automerge-sync-message }*n
//! handover  "DSH1" bundle   (the end of a hand-over: what the phone still holds undelivered)
//! ```
//! `id` is `u16:len utf-8`, `heads` is `u16:n hash*n` (32 bytes each), `bundle` is the exchange
//! bundle of `store::exchange` (DSX2) and runs to the end of the body.
//!
//! Decoding never trusts a length: every read is bounds-checked, decompression stops at
//! [`MAX_PLAIN_BYTES`], and every failure is a typed [`Error::Decode`].

use std::io::Read;

use automerge::ChangeHash;

use crate::{Error, Result, doc::DocKind, wire::WireReader};

/// The protocol version this build speaks (also in the URL path: `/v1/...`).
pub const VERSION: u32 = 1;
/// The media type of every body.
/// The media type of every body (short on purpose: it is sent with every sync, and the version
/// is in the path and in each body's magic).
pub const CONTENT_TYPE: &str = "application/x-doorstep";
/// No body may be larger than this on the wire.
pub const MAX_BODY_BYTES: usize = 8 << 20;
/// The most blobs one photo offer (`POST /v1/photos/offer`) may name; a phone offers its
/// backlog in groups of this size, so an offer and its answer stay small.
pub const MAX_PHOTO_OFFER: usize = 200;
/// Nor larger than this once decompressed.
pub const MAX_PLAIN_BYTES: usize = 48 << 20;
/// The page size a phone asks for unless told otherwise, and the most a server gives.
pub const DEFAULT_PAGE_BYTES: u32 = 1 << 20;
pub const MAX_PAGE_BYTES: u32 = 4 << 20;

const REQUEST_MAGIC: &[u8; 4] = b"DSQ1";
const REQUEST_MAGIC_2: &[u8; 4] = b"DSQ2";
const REQUEST_MAGIC_3: &[u8; 4] = b"DSQ3";
const REQUEST_MAGIC_4: &[u8; 4] = b"DSQ4";
const REQUEST_MAGIC_5: &[u8; 4] = b"DSQ5";
const REQUEST_MAGIC_6: &[u8; 4] = b"DSQ6";
const RESPONSE_MAGIC: &[u8; 4] = b"DSA1";
const RESPONSE_MAGIC_2: &[u8; 4] = b"DSA2";
const RESPONSE_MAGIC_3: &[u8; 4] = b"DSA3";
const RECONCILE_MAGIC: &[u8; 4] = b"DSC1";
const HANDOVER_MAGIC: &[u8; 4] = b"DSH1";

/// What a phone sends: its unacknowledged changes and where it is in the server's change log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRequest {
    pub cursor: u64,
    pub page_bytes: u32,
    /// The last of this device's own change-log rows the phone knows it holds (from the
    /// `own_seq` of answers it applied). Rows of its own after it are sent back: a store that
    /// is an older copy of itself lacks them. `None`: a phone of the first form (nothing of
    /// its own is ever sent back).
    pub own_seq: Option<u64>,
    /// Documents the phone holds with changes not yet acknowledged, before this push (the third
    /// form; `None`: an older phone, which is never told `handover`).
    pub unsynced: Option<u32>,
    /// The phone reads the third answer form (the fourth request form; needs `unsynced`).
    pub policy: bool,
    /// The phone reads visit books (the fifth request form; needs `policy`).
    pub books: bool,
    /// The phone reads visit plans (the sixth request form; needs `books`).
    pub plans: bool,
    /// An exchange bundle (may hold no documents).
    pub push: Vec<u8>,
}

/// What the server answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncResponse {
    /// Where this page reaches in the change log.
    pub cursor: u64,
    /// More changes remain after this page: ask again with `cursor`.
    pub more: bool,
    /// The server cannot vouch for the phone's cursor (it is ahead of the log: a restored
    /// server). The phone must reconcile its documents with Automerge's sync protocol and pull
    /// again from 0.
    pub reset: bool,
    /// The device's scope changed (a grid was added): pull again from cursor 0. Nothing needs
    /// reconciling.
    pub repull: bool,
    /// The device is being handed over (an administrator said so): the push was taken, no page
    /// follows; the phone pushes whatever it still has, then says it is done
    /// (`POST /v1/handover`) and erases itself.
    pub handover: bool,
    /// The server's heads of every pushed document and of every document in the page.
    pub acked: Vec<(String, Vec<ChangeHash>)>,
    /// Changes after the cursor in the phone's scope, as an exchange bundle.
    pub page: Vec<u8>,
    /// The second form's fields; `None` answers in the first form.
    pub extra: Option<ResponseExtra>,
}

/// What an answer of the second form adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResponseExtra {
    /// The last change-log row this request's push added (0: it added none). The phone keeps
    /// the highest it has applied and sends it back as [`SyncRequest::own_seq`].
    pub own_seq: u64,
    /// The server's clock when it answered (ms since the epoch): the phone learns how far its
    /// own clock is off.
    pub server_now: i64,
    /// How many of the device's own changes this page sends back because the phone did not
    /// say it holds them (a store restored from an older copy of itself).
    pub returned_own: u32,
    /// The third form: days a finished record stays on the phone (`u32::MAX`: for ever).
    pub purge_days: Option<u32>,
}

/// One document's Automerge sync message, for the fallback path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileEntry {
    pub id: String,
    pub kind: DocKind,
    pub message: Vec<u8>,
}

impl SyncRequest {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = match (self.own_seq, self.unsynced, self.policy, self.books) {
            (None, None, _, _) => REQUEST_MAGIC.to_vec(),
            (Some(_), None, _, _) => REQUEST_MAGIC_2.to_vec(),
            (_, Some(_), false, _) => REQUEST_MAGIC_3.to_vec(),
            (_, Some(_), true, false) => REQUEST_MAGIC_4.to_vec(),
            (_, Some(_), true, true) if self.plans => REQUEST_MAGIC_6.to_vec(),
            (_, Some(_), true, true) => REQUEST_MAGIC_5.to_vec(),
        };
        out.extend(self.cursor.to_le_bytes());
        out.extend(self.page_bytes.to_le_bytes());
        if self.own_seq.is_some() || self.unsynced.is_some() {
            out.extend(self.own_seq.unwrap_or(0).to_le_bytes());
        }
        if let Some(n) = self.unsynced {
            out.extend(n.to_le_bytes());
        }
        out.extend(&self.push);
        compress(&out)
    }

    pub fn decode(body: &[u8]) -> Result<SyncRequest> {
        let plain = decompress(body)?;
        let mut r = WireReader::new(&plain);
        let form = if plain.starts_with(REQUEST_MAGIC_6) {
            6
        } else if plain.starts_with(REQUEST_MAGIC_5) {
            5
        } else if plain.starts_with(REQUEST_MAGIC_4) {
            4
        } else if plain.starts_with(REQUEST_MAGIC_3) {
            3
        } else if plain.starts_with(REQUEST_MAGIC_2) {
            2
        } else {
            1
        };
        r.magic(match form {
            6 => REQUEST_MAGIC_6,
            5 => REQUEST_MAGIC_5,
            4 => REQUEST_MAGIC_4,
            3 => REQUEST_MAGIC_3,
            2 => REQUEST_MAGIC_2,
            _ => REQUEST_MAGIC,
        })?;
        let cursor = r.u64()?;
        let page_bytes = r.u32()?;
        let own_seq = if form >= 2 { Some(r.u64()?) } else { None };
        let unsynced = if form >= 3 { Some(r.u32()?) } else { None };
        Ok(SyncRequest {
            cursor,
            page_bytes,
            own_seq,
            unsynced,
            policy: form >= 4,
            books: form >= 5,
            plans: form >= 6,
            push: r.rest().to_vec(),
        })
    }
}

impl SyncResponse {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = match self.extra {
            None => RESPONSE_MAGIC.to_vec(),
            Some(ResponseExtra {
                purge_days: None, ..
            }) => RESPONSE_MAGIC_2.to_vec(),
            Some(_) => RESPONSE_MAGIC_3.to_vec(),
        };
        out.extend(self.cursor.to_le_bytes());
        out.push(self.more as u8);
        out.push(if self.reset {
            1
        } else if self.repull {
            2
        } else if self.handover {
            3
        } else {
            0
        });
        if let Some(x) = &self.extra {
            out.extend(x.own_seq.to_le_bytes());
            out.extend(x.server_now.to_le_bytes());
            out.extend(x.returned_own.to_le_bytes());
            if let Some(days) = x.purge_days {
                out.extend(days.to_le_bytes());
            }
        }
        out.extend((self.acked.len() as u32).to_le_bytes());
        for (id, heads) in &self.acked {
            put_id(&mut out, id);
            out.extend((heads.len() as u16).to_le_bytes());
            for h in heads {
                out.extend(h.0);
            }
        }
        out.extend(&self.page);
        compress(&out)
    }

    pub fn decode(body: &[u8]) -> Result<SyncResponse> {
        let plain = decompress(body)?;
        let mut r = WireReader::new(&plain);
        let form = if plain.starts_with(RESPONSE_MAGIC_3) {
            3
        } else if plain.starts_with(RESPONSE_MAGIC_2) {
            2
        } else {
            1
        };
        r.magic(match form {
            3 => RESPONSE_MAGIC_3,
            2 => RESPONSE_MAGIC_2,
            _ => RESPONSE_MAGIC,
        })?;
        let cursor = r.u64()?;
        let more = r.flag()?;
        let (reset, repull, handover) = match r.take(1)?[0] {
            0 => (false, false, false),
            1 => (true, false, false),
            2 => (false, true, false),
            3 => (false, false, true),
            b => return Err(Error::Decode(format!("restart byte {b}"))),
        };
        let extra = if form >= 2 {
            Some(ResponseExtra {
                own_seq: r.u64()?,
                server_now: r.u64()? as i64,
                returned_own: r.u32()?,
                purge_days: if form == 3 { Some(r.u32()?) } else { None },
            })
        } else {
            None
        };
        let n = r.count(4)?;
        let mut acked = Vec::with_capacity(n);
        for _ in 0..n {
            let id = r.id()?;
            let k = r.u16()? as usize;
            let mut heads = Vec::with_capacity(k);
            for _ in 0..k {
                heads.push(
                    ChangeHash::try_from(r.take(32)?).map_err(|e| Error::Decode(e.to_string()))?,
                );
            }
            acked.push((id, heads));
        }
        Ok(SyncResponse {
            cursor,
            more,
            reset,
            repull,
            handover,
            acked,
            page: r.rest().to_vec(),
            extra,
        })
    }
}

/// The end of a hand-over (`POST /v1/handover`): the exchange bundle of what the phone still
/// holds undelivered (the documents the rules refused), for the server to keep.
pub fn encode_handover(bundle: &[u8]) -> Vec<u8> {
    let mut out = HANDOVER_MAGIC.to_vec();
    out.extend(bundle);
    compress(&out)
}

pub fn decode_handover(body: &[u8]) -> Result<Vec<u8>> {
    let plain = decompress(body)?;
    let mut r = WireReader::new(&plain);
    r.magic(HANDOVER_MAGIC)?;
    Ok(r.rest().to_vec())
}

/// Encodes a batch of per-document Automerge sync messages.
pub fn encode_reconcile(entries: &[ReconcileEntry]) -> Vec<u8> {
    let mut out = RECONCILE_MAGIC.to_vec();
    out.extend((entries.len() as u32).to_le_bytes());
    for e in entries {
        out.push(crate::store::kind_byte(e.kind));
        put_id(&mut out, &e.id);
        out.extend((e.message.len() as u32).to_le_bytes());
        out.extend(&e.message);
    }
    compress(&out)
}

pub fn decode_reconcile(body: &[u8]) -> Result<Vec<ReconcileEntry>> {
    let plain = decompress(body)?;
    let mut r = WireReader::new(&plain);
    r.magic(RECONCILE_MAGIC)?;
    let n = r.count(7)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let kind = crate::store::byte_kind(r.take(1)?[0])?;
        let id = r.id()?;
        let len = r.u32()? as usize;
        out.push(ReconcileEntry {
            id,
            kind,
            message: r.take(len)?.to_vec(),
        });
    }
    if !r.rest().is_empty() {
        return Err(Error::Decode(
            "trailing bytes after reconcile entries".into(),
        ));
    }
    Ok(out)
}

fn put_id(out: &mut Vec<u8>, id: &str) {
    out.extend((id.len() as u16).to_le_bytes());
    out.extend(id.as_bytes());
}

/// zstd, at a level by size. Measured on change-log bytes (docs/perf.md, "Soak"): level 19
/// costs 1.6 ms on 4 KiB but 19 ms on 30 KiB and 82 ms on 120 KiB, for 1–4 % fewer bytes than
/// level 9 (0.04, 0.4 and 4.8 ms). A server answering 50 syncs a second spent 60 % of its CPU
/// in level 19; so only the smallest bodies (a phone's usual push) get it. A page of a first
/// pull (1.3 MB of whole documents) is 7.5 % smaller at level 6 than at 3, for about 15 ms
/// against 5: 100 KB less, 0.8 s on a 1 Mbit/s link.
pub fn compress(plain: &[u8]) -> Vec<u8> {
    let level = match plain.len() {
        n if n <= 8 << 10 => 19,
        n if n <= 256 << 10 => 9,
        _ => 6,
    };
    zstd::bulk::compress(plain, level).unwrap_or_else(|_| {
        // Compressing an in-memory buffer fails only on allocation: fall back to a raw block
        // frame, which every decoder reads.
        zstd::stream::encode_all(plain, 0).unwrap_or_default()
    })
}

/// Decompresses one body, refusing anything that grows past [`MAX_PLAIN_BYTES`].
pub fn decompress(body: &[u8]) -> Result<Vec<u8>> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Error::Decode(format!(
            "body of {} bytes, at most {MAX_BODY_BYTES}",
            body.len()
        )));
    }
    let decoder = zstd::stream::read::Decoder::new(body)
        .map_err(|e| Error::Decode(format!("not a zstd body: {e}")))?;
    let mut out = Vec::new();
    decoder
        .take(MAX_PLAIN_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::Decode(format!("not a zstd body: {e}")))?;
    if out.len() > MAX_PLAIN_BYTES {
        return Err(Error::Decode(format!(
            "body decompresses past {MAX_PLAIN_BYTES} bytes"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> String {
        crate::ids::new_id()
    }

    #[test]
    fn request_and_response_round_trip() {
        let req = SyncRequest {
            cursor: 42,
            page_bytes: 1000,
            own_seq: None,
            unsynced: None,
            policy: false,
            books: false,
            plans: false,
            push: b"DSX2\0\0\0\0".to_vec(),
        };
        assert_eq!(SyncRequest::decode(&req.encode()).unwrap(), req);
        let req2 = SyncRequest {
            own_seq: Some(99),
            ..req
        };
        assert_eq!(SyncRequest::decode(&req2.encode()).unwrap(), req2);
        let req3 = SyncRequest {
            unsynced: Some(3),
            ..req2.clone()
        };
        assert!(decompress(&req3.encode()).unwrap().starts_with(b"DSQ3"));
        assert_eq!(SyncRequest::decode(&req3.encode()).unwrap(), req3);
        let req4 = SyncRequest {
            policy: true,
            ..req3.clone()
        };
        assert!(decompress(&req4.encode()).unwrap().starts_with(b"DSQ4"));
        assert_eq!(SyncRequest::decode(&req4.encode()).unwrap(), req4);
        let req5 = SyncRequest {
            books: true,
            ..req4.clone()
        };
        assert!(decompress(&req5.encode()).unwrap().starts_with(b"DSQ5"));
        assert_eq!(SyncRequest::decode(&req5.encode()).unwrap(), req5);
        let req6 = SyncRequest {
            plans: true,
            ..req5.clone()
        };
        assert!(decompress(&req6.encode()).unwrap().starts_with(b"DSQ6"));
        assert_eq!(SyncRequest::decode(&req6.encode()).unwrap(), req6);
        let resp = SyncResponse {
            cursor: 7,
            more: true,
            reset: false,
            repull: true,
            handover: false,
            acked: vec![(id(), vec![ChangeHash([3; 32])]), (id(), vec![])],
            page: vec![1, 2, 3],
            extra: None,
        };
        assert_eq!(SyncResponse::decode(&resp.encode()).unwrap(), resp);
        let resp2 = SyncResponse {
            extra: Some(ResponseExtra {
                own_seq: 12,
                server_now: 1_800_000_000_000,
                returned_own: 3,
                purge_days: None,
            }),
            ..resp
        };
        assert_eq!(SyncResponse::decode(&resp2.encode()).unwrap(), resp2);
        for days in [0, 60] {
            let mut with_policy = resp2.clone();
            with_policy.extra.as_mut().unwrap().purge_days = Some(days);
            assert!(
                decompress(&with_policy.encode())
                    .unwrap()
                    .starts_with(b"DSA3")
            );
            assert_eq!(
                SyncResponse::decode(&with_policy.encode()).unwrap(),
                with_policy
            );
        }
        let resp3 = SyncResponse {
            repull: false,
            handover: true,
            ..resp2
        };
        assert_eq!(SyncResponse::decode(&resp3.encode()).unwrap(), resp3);
        let rec = vec![ReconcileEntry {
            id: id(),
            kind: DocKind::Task,
            message: vec![0x42, 1],
        }];
        assert_eq!(decode_reconcile(&encode_reconcile(&rec)).unwrap(), rec);
    }

    #[test]
    fn bad_bodies_are_typed_errors() {
        let good = SyncResponse {
            cursor: 1,
            more: false,
            reset: false,
            repull: false,
            handover: false,
            acked: vec![(id(), vec![ChangeHash([1; 32])])],
            page: vec![],
            extra: Some(ResponseExtra {
                purge_days: Some(30),
                ..Default::default()
            }),
        };
        let plain = decompress(&good.encode()).unwrap();
        for cut in 0..plain.len() - 1 {
            let r = SyncResponse::decode(&compress(&plain[..cut]));
            assert!(matches!(r, Err(Error::Decode(_))), "cut at {cut}: {r:?}");
        }
        assert!(matches!(
            SyncRequest::decode(b"not zstd at all"),
            Err(Error::Decode(_))
        ));
        let mut v7 = b"DSQ7".to_vec();
        v7.extend([0; 24]);
        let err = SyncRequest::decode(&compress(&v7)).unwrap_err().to_string();
        assert!(err.contains("protocol version 7"), "{err}");
        // The third to sixth forms cut anywhere before their bundle.
        for magic in [b"DSQ3", b"DSQ4", b"DSQ5", b"DSQ6"] {
            let mut v = magic.to_vec();
            v.extend([0; 24]);
            for cut in 4..v.len() {
                let r = SyncRequest::decode(&compress(&v[..cut]));
                assert!(matches!(r, Err(Error::Decode(_))), "cut at {cut}: {r:?}");
            }
        }
        // A small body that inflates past the bound.
        let bomb = compress(&vec![0u8; MAX_PLAIN_BYTES + 10]);
        assert!(bomb.len() < 1 << 20);
        assert!(matches!(SyncRequest::decode(&bomb), Err(Error::Decode(_))));
        let mut huge_count = b"DSC1".to_vec();
        huge_count.extend(u32::MAX.to_le_bytes());
        assert!(matches!(
            decode_reconcile(&compress(&huge_count)),
            Err(Error::Decode(_))
        ));
    }
}
