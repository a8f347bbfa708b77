//! Decoding an immediate-only submission must not touch the heap: the
//! executor's inline path depends on it. A counting global allocator checks.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use sysgate_proto::*;

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; it only
// counts allocations on the side.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout, via `alloc` above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn immediate_only_submission_decodes_without_allocating() {
    let sub = Submission::new(
        42,
        Op::Syscall(SyscallOp::immediate(17, &[3, 0, 4096, 0, 0, 0])),
    )
    .with_flags(SubmissionFlags::NOWAIT);
    let bytes = encode_to_vec(&sub).unwrap();
    let mut frame = [0u8; 256];
    let before = ALLOCS.load(Ordering::Relaxed);
    for _ in 0..1000 {
        let n = encode_into(&sub, &mut frame).unwrap();
        let back: Submission = decode(&frame[..n]).unwrap();
        back.validate(None).unwrap();
        std::hint::black_box(&back);
    }
    let after = ALLOCS.load(Ordering::Relaxed);
    assert_eq!(after - before, 0, "decode/encode/validate allocated");
    // And the check itself works: a decode with a buffer does allocate.
    let with_buf = Submission::new(
        1,
        Op::Syscall(SyscallOp {
            nr: 1,
            args: [Arg::Buf(0)].into_iter().collect(),
            bufs: vec![Buffer::Out(8)],
            relocs: vec![],
        }),
    );
    let bytes2 = encode_to_vec(&with_buf).unwrap();
    let before = ALLOCS.load(Ordering::Relaxed);
    let back: Submission = decode(&bytes2).unwrap();
    assert!(ALLOCS.load(Ordering::Relaxed) > before);
    drop(back);
    drop(bytes);
}
