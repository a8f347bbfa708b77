//! The loom model: `RUSTFLAGS="--cfg loom" cargo test -p sysgate-ring --release`.
//!
//! Under loom the region lives in heap memory, ring data words are loom
//! cells (so loom checks that the head/tail Acquire/Release protocol orders
//! every data access) and the futex is a mutex + condvar with the kernel's
//! compare-and-sleep rule, without timeouts: a lost wake-up shows up as a
//! deadlock, which loom reports.
#![cfg(loom)]

use loom::thread;
use sysgate_ring::{CompletionPoster, Region, RegionSizes, WaitStatus};

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(f);
}

/// A 64-byte SQ: records of 16 and 32 bytes force skip markers.
fn small() -> Region {
    Region::create(RegionSizes {
        sq_bytes: 64,
        cq_bytes: 64,
        max_frame: 24,
    })
    .unwrap()
}

fn frame(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| seed ^ i as u8).collect()
}

/// Push/pop with wraparound and a skip marker, spinning on full/empty.
#[test]
fn push_pop_wraps_with_skip_markers() {
    model(|| {
        let region = small();
        let mut tx = region.sq_producer().unwrap();
        let mut rx = region.sq_consumer().unwrap();
        // Records: 16, 32, 32 (needs a skip at 48 → frame at 0), 16.
        let lens = [8usize, 24, 24, 1];
        let producer = thread::spawn(move || {
            for (i, &len) in lens.iter().enumerate() {
                let f = frame(len, i as u8);
                while tx.push(f.as_slice()).is_err() {
                    thread::yield_now();
                }
            }
        });
        let mut out = Vec::new();
        for (i, &len) in lens.iter().enumerate() {
            loop {
                if let Some(n) = rx.pop(&mut out).unwrap() {
                    assert_eq!(n, len);
                    assert_eq!(out, frame(len, i as u8));
                    break;
                }
                thread::yield_now();
            }
        }
        producer.join().unwrap();
        assert!(rx.is_empty().unwrap());
    });
}

/// Full and empty: the producer never overwrites unread data, and a frame
/// refused as Full is accepted once space is released.
#[test]
fn full_and_empty_hold() {
    model(|| {
        let region = small();
        let mut tx = region.sq_producer().unwrap();
        let mut rx = region.sq_consumer().unwrap();
        tx.push(frame(24, 0)).unwrap();
        tx.push(frame(24, 1)).unwrap();
        let consumer = thread::spawn(move || {
            let mut out = Vec::new();
            for i in 0..3u8 {
                loop {
                    if let Some(n) = rx.pop(&mut out).unwrap() {
                        assert_eq!(n, 24);
                        assert_eq!(out, frame(24, i));
                        break;
                    }
                    thread::yield_now();
                }
            }
        });
        let f = frame(24, 2);
        loop {
            match tx.push(f.as_slice()) {
                Ok(()) => break,
                Err(e) => {
                    assert!(e.is_full());
                    thread::yield_now();
                }
            }
        }
        consumer.join().unwrap();
    });
}

/// NEED_WAKEUP: a consumer that sleeps without a timeout is always woken by
/// the producer's publish (a lost wake-up would be a loom deadlock), and
/// FUTEX_WAKE is only called when the consumer announced a sleep. (One sleep
/// can draw two wakes: the bit stays set until the woken consumer clears it.)
#[test]
fn need_wakeup_loses_no_wakeup() {
    model(|| {
        let region = small();
        let mut tx = region.sq_producer().unwrap();
        let mut rx = region.sq_consumer().unwrap();
        let producer = thread::spawn(move || {
            tx.push(frame(3, 7)).unwrap();
            tx.push(frame(5, 8)).unwrap();
            tx.wakes()
        });
        let mut out = Vec::new();
        let mut waits = 0;
        for (i, len) in [(7u8, 3usize), (8, 5)] {
            loop {
                if let Some(n) = rx.pop(&mut out).unwrap() {
                    assert_eq!((n, &out), (len, &frame(len, i)));
                    break;
                }
                waits += 1;
                rx.wait(None).unwrap();
            }
        }
        let wakes = producer.join().unwrap();
        if waits == 0 {
            assert_eq!(wakes, 0, "woke a consumer that never waited");
        }
    });
}

/// The space handshake: a producer asleep waiting for room is woken by the
/// consumer's release.
#[test]
fn space_wait_loses_no_wakeup() {
    model(|| {
        let region = small();
        let mut tx = region.sq_producer().unwrap();
        let mut rx = region.sq_consumer().unwrap();
        tx.push(frame(24, 0)).unwrap();
        tx.push(frame(24, 1)).unwrap();
        let consumer = thread::spawn(move || {
            let mut out = Vec::new();
            for i in 0..3u8 {
                loop {
                    if let Some(n) = rx.pop(&mut out).unwrap() {
                        assert_eq!((n, &out), (24, &frame(24, i)));
                        break;
                    }
                    rx.wait(None).unwrap();
                }
            }
        });
        let f = frame(24, 2);
        loop {
            match tx.push(f.as_slice()) {
                Ok(()) => break,
                Err(e) => assert!(e.is_full()),
            }
            assert_ne!(tx.wait_for_space(24, None).unwrap(), WaitStatus::TimedOut);
        }
        consumer.join().unwrap();
    });
}

/// The completion backlog: with room for two records, four completions
/// arrive in order; CQ_OVERFLOW is clear once the backlog drained.
#[test]
fn overflow_backlog_keeps_order() {
    model(|| {
        let region = small();
        let mut poster = CompletionPoster::new(region.cq_producer().unwrap());
        let mut rx = region.cq_consumer().unwrap();
        let reader = thread::spawn(move || {
            let mut out = Vec::new();
            for i in 0..4u8 {
                loop {
                    if let Some(n) = rx.pop(&mut out).unwrap() {
                        assert_eq!((n, &out), (24, &frame(24, i)));
                        break;
                    }
                    rx.wait(None).unwrap();
                }
            }
        });
        for i in 0..4u8 {
            poster.post(frame(24, i)).unwrap();
        }
        while poster.flush().unwrap() > 0 {
            poster.wait_for_space(None).unwrap();
        }
        reader.join().unwrap();
        assert!(!region.cq_overflow());
    });
}
