//! Steady-state push/pop allocate nothing: a counting global allocator
//! watches 100,000 push+pop round trips (single and batched) and the
//! completion poster's fast path. Only the test thread's allocations count:
//! libtest's own thread may allocate meanwhile.
#![cfg(not(loom))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use sysgate_ring::{CompletionPoster, Region, RegionSizes};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Whether this thread's allocations count (const-initialised: reading
    /// it never allocates).
    static COUNTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn count() {
    if COUNTED.with(std::cell::Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `alloc`'s contract, passed through.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `dealloc`'s contract, passed through.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `realloc`'s contract, passed through.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_push_pop_and_post_do_not_allocate() {
    let region = Region::create(RegionSizes {
        sq_bytes: 4096,
        cq_bytes: 4096,
        max_frame: 1024,
    })
    .unwrap();
    let mut tx = region.sq_producer().unwrap();
    let mut rx = region.sq_consumer().unwrap();
    let mut poster = CompletionPoster::new(region.cq_producer().unwrap());
    let mut crx = region.cq_consumer().unwrap();
    let frames: Vec<Vec<u8>> = (0..64).map(|i| vec![i as u8; 1 + i * 13]).collect();
    let mut out = Vec::with_capacity(1024);

    COUNTED.with(|c| c.set(true));
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let mut popped = 0u64;
    for round in 0..100_000usize {
        let f = &frames[round % frames.len()];
        tx.push(f.as_slice()).unwrap();
        assert_eq!(rx.pop(&mut out).unwrap(), Some(f.len()));
        // A batch: stage four, publish once, read four, release once.
        if round.is_multiple_of(16) {
            for f in &frames[..4] {
                tx.stage(f.as_slice()).unwrap();
            }
            tx.publish().unwrap();
            while rx.read(&mut out).unwrap().is_some() {
                popped += 1;
            }
            rx.release().unwrap();
        }
        poster.post(f.as_slice()).unwrap();
        assert_eq!(crx.pop(&mut out).unwrap(), Some(f.len()));
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    COUNTED.with(|c| c.set(false));
    assert_eq!(popped, 4 * 6250);
    assert_eq!(allocations, 0, "steady-state ring operations allocated");
    assert_eq!((tx.wakes(), rx.wakes()), (0, 0));
}
