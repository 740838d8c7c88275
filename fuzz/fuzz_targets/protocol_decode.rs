//! The sync protocol's decoders on arbitrary bytes (what any client or server may send): a typed
//! error or a value, never a panic, never an allocation the input does not justify.
#![no_main]

mod calls;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| calls::decode_all(data));
