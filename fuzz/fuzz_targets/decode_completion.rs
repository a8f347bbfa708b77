#![no_main]
//! Arbitrary bytes → decode + validate a completion; what decodes re-encodes
//! to the same value.
libfuzzer_sys::fuzz_target!(|data: &[u8]| sysgate_proto::fuzz::fuzz_decode_completion(data));
