//! Heap allocations per op in steady state, counted by the global
//! allocator (alone in its binary: every allocation of the process counts,
//! on any thread).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use sysgate::{Gateway, raw};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to the system allocator with the caller's
// arguments; counting has no effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is System's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made while `f` runs `n` times, after `n` warm-up runs.
fn allocations_per_run(n: u64, mut f: impl FnMut()) -> u64 {
    (0..n).for_each(|_| f());
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    (0..n).for_each(|_| f());
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

#[test]
fn an_inline_call_allocates_nothing() {
    let gw = Gateway::new().unwrap();
    let nr = libc::SYS_getppid as u32;
    let ppid = i64::from(std::os::unix::process::parent_id());
    let allocations = allocations_per_run(10_000, || {
        let out = gw.call(raw(nr, [])).unwrap();
        assert_eq!(out.value, ppid);
    });
    // The state it claims to test: every call ran inline.
    let stats = gw.stats();
    assert_eq!(stats.inline, 20_000, "{stats:?}");
    assert_eq!(allocations, 0, "allocations in 10,000 inline calls");
}
