#![no_main]
//! Arbitrary bytes → the REPL's strace-syntax parser and the trace reader;
//! every call that parses prints and parses back to the same call (and
//! lowers to the same request). The body is
//! `sysgate_cli::strace::fuzz_parse_line`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| sysgate_cli::strace::fuzz_parse_line(data));
