//! CQ overflow: a CQ of 8 slots, 10,000 completions posted by two worker
//! threads through one `Mutex<CompletionPoster>`, a slow reader: every
//! completion arrives, in the order it was posted; the submit side sees
//! `CQ_OVERFLOW` while the backlog is non-empty and clear at the end.
#![cfg(not(loom))]

use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use sysgate_ring::{CompletionPoster, Posted, Region, RegionSizes, WaitStatus, layout};

const COMPLETIONS: u64 = 10_000;
/// 24-byte completions take 32-byte records: a 256-byte CQ holds 8.
const COMPLETION_BYTES: usize = 24;

fn completion(seq: u64) -> [u8; COMPLETION_BYTES] {
    let mut c = [0u8; COMPLETION_BYTES];
    c[..8].copy_from_slice(&seq.to_le_bytes());
    c[8..16].copy_from_slice(&(!seq).to_le_bytes());
    c[16..].copy_from_slice(&seq.wrapping_mul(0x9e37_79b9).to_le_bytes());
    c
}

#[test]
fn ten_thousand_completions_through_eight_slots_arrive_in_order() {
    let region = Region::create(RegionSizes {
        sq_bytes: 256,
        cq_bytes: 256,
        max_frame: 64,
    })
    .unwrap();
    assert_eq!(
        region.sizes().cq_bytes as usize / layout::record_bytes(COMPLETION_BYTES),
        8
    );
    let poster = Mutex::new(CompletionPoster::new(region.cq_producer().unwrap()));
    let mut rx = region.cq_consumer().unwrap();
    let next_seq = Mutex::new(0u64);

    let (seen_overflow, max_backlog) = thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut out = Vec::new();
            let mut expected = 0u64;
            let mut seen_overflow = 0u64;
            while expected < COMPLETIONS {
                if region.cq_overflow() {
                    seen_overflow += 1;
                }
                match rx.pop(&mut out).unwrap() {
                    Some(n) => {
                        assert_eq!(n, COMPLETION_BYTES);
                        assert_eq!(out, completion(expected), "completion {expected}");
                        expected += 1;
                        // The slow reader: a pause every 50 completions.
                        if expected.is_multiple_of(50) {
                            thread::sleep(Duration::from_millis(1));
                        }
                    }
                    None => {
                        let _ = rx.wait(Some(Duration::from_millis(50))).unwrap();
                    }
                }
            }
            assert!(rx.is_empty().unwrap());
            seen_overflow
        });
        let workers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let mut max_backlog = 0;
                    loop {
                        // The sequence number is taken and posted under the
                        // poster's lock, so post order is sequence order.
                        let mut p = poster.lock().unwrap();
                        let mut n = next_seq.lock().unwrap();
                        if *n == COMPLETIONS {
                            break;
                        }
                        let posted = p.post(completion(*n)).unwrap();
                        if posted == Posted::Backlog {
                            assert!(region.cq_overflow());
                        }
                        *n += 1;
                        max_backlog = max_backlog.max(p.backlog_len());
                        drop(n);
                        drop(p);
                        if max_backlog > 0 && max_backlog.is_multiple_of(7) {
                            thread::yield_now();
                        }
                    }
                    max_backlog
                })
            })
            .collect();
        let max_backlog = workers
            .into_iter()
            .map(|w| w.join().unwrap())
            .max()
            .unwrap();
        // Drain the backlog as the reader frees space.
        loop {
            let mut p = poster.lock().unwrap();
            if p.flush().unwrap() == 0 {
                break;
            }
            let status = p.wait_for_space(Some(Duration::from_secs(10))).unwrap();
            assert_ne!(status, WaitStatus::TimedOut, "reader stopped freeing space");
        }
        (reader.join().unwrap(), max_backlog)
    });
    let poster = poster.into_inner().unwrap();
    assert_eq!(poster.backlog_len(), 0);
    assert!(!region.cq_overflow());
    assert!(
        poster.overflowed() > 0 && max_backlog > 0,
        "the CQ never overflowed: the test did not test anything"
    );
    assert!(seen_overflow > 0, "the submit side never saw CQ_OVERFLOW");
    println!(
        "{} of {COMPLETIONS} completions went through the backlog (max {max_backlog} at once); \
         the reader saw CQ_OVERFLOW {seen_overflow} times",
        poster.overflowed()
    );
}
