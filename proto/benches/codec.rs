//! `cargo bench -p sysgate-proto`
//!
//! - `codec/submission_6_args`: encode + decode of an immediate-only
//!   six-argument submission (the inline path's message; direct codec).
//! - `codec/submission_with_buffers`: encode + decode of a `readv`-like
//!   call with an iovec array, two output buffers and two relocations
//!   (bincode path).
//! - `codec/completion_4k`: encode + decode of a completion carrying one
//!   4 KiB output (a cached `pread`).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sysgate_proto::{
    Bytes, Completion, CompletionFlags, Op, Submission, SyscallOp, decode, encode_into,
};

#[path = "../tests/examples/mod.rs"]
mod examples;

/// Benches encode + decode of `$msg` (a `$ty`), after checking the round
/// trip gives the message back.
macro_rules! round_trip {
    ($c:expr, $name:expr, $ty:ident, $msg:expr) => {{
        let msg = $msg;
        let mut buf = vec![0u8; 8192];
        let n = encode_into(&msg, &mut buf).unwrap();
        assert_eq!(decode::<$ty>(&buf[..n]).unwrap(), msg);
        $c.bench_function($name, |b| {
            b.iter(|| {
                let n = encode_into(black_box(&msg), &mut buf).unwrap();
                black_box(decode::<$ty>(black_box(&buf[..n])).unwrap());
            })
        });
    }};
}

fn codec(c: &mut Criterion) {
    let six = Submission::new(
        7,
        Op::Syscall(SyscallOp::immediate(17, &[3, 4, 5, 6, 7, 8])),
    );
    round_trip!(c, "codec/submission_6_args", Submission, six);

    // SPEC.md's third example: an iovec array, two outputs, two
    // relocations.
    let readv = examples::readv();
    round_trip!(c, "codec/submission_with_buffers", Submission, readv);

    let mut done = Completion::new(9, 4096, CompletionFlags::INLINE);
    done.outputs.push(Bytes::from(vec![0x5a; 4096]));
    round_trip!(c, "codec/completion_4k", Completion, done);
}

criterion_group!(benches, codec);
criterion_main!(benches);
