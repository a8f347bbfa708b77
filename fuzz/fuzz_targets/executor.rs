#![no_main]
//! A structured sequence of submissions over a sandbox: no panic, every
//! accepted submission completes exactly once.
libfuzzer_sys::fuzz_target!(|data: &[u8]| sysgate_exec::fuzz::fuzz_executor(data));
