//! The rules (`doorstep_core::rules::check`) on arbitrary edits of each document kind by each
//! role: a verdict, never a panic.
#![no_main]

mod calls;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn docs() -> &'static calls::RuleDocs {
    static DOCS: OnceLock<calls::RuleDocs> = OnceLock::new();
    DOCS.get_or_init(calls::rule_docs)
}

fuzz_target!(|data: &[u8]| {
    calls::rules(docs(), data);
});
