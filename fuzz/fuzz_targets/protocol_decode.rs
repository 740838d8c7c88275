//! The sync protocol's decoders on arbitrary bytes (what any client or server may send): a typed
//! error or a value, never a panic, never an allocation the input does not justify.
#![no_main]

use doorstep_core::protocol::{SyncRequest, SyncResponse, decode_reconcile};
use doorstep_core::store::StateVector;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = SyncRequest::decode(data);
    let _ = SyncResponse::decode(data);
    let _ = decode_reconcile(data);
    let _ = StateVector::decode(data);
});
