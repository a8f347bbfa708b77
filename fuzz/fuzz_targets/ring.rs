#![no_main]
//! Arbitrary bytes as a shared region plus producer/consumer operations with
//! a hostile peer rewriting the header: typed errors, no UB, no hang.
libfuzzer_sys::fuzz_target!(|data: &[u8]| sysgate_ring::fuzz_ring(data));
