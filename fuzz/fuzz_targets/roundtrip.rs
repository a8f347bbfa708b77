#![no_main]
//! Structured messages → encode → decode gives them back, within the bound.
use sysgate_proto::{Completion, Submission};

libfuzzer_sys::fuzz_target!(|msgs: (Submission<'_>, Completion<'_>)| {
    sysgate_proto::fuzz::fuzz_roundtrip_submission(&msgs.0);
    sysgate_proto::fuzz::fuzz_roundtrip_completion(&msgs.1);
});
