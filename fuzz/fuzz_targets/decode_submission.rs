#![no_main]
//! Arbitrary bytes → decode + validate a submission; what decodes re-encodes
//! to the same value. The body is `sysgate_proto::fuzz`'s.
libfuzzer_sys::fuzz_target!(|data: &[u8]| sysgate_proto::fuzz::fuzz_decode_submission(data));
