//! Two threads, ten million frames of random sizes, each with a sequence
//! number and a checksum: no loss, duplication, reordering or corruption.
#![cfg(not(loom))]

mod common;

use std::thread;
use std::time::{Duration, Instant};

use sysgate_ring::{Region, RegionSizes};

const FRAMES: u64 = 10_000_000;
const SALT: u64 = 0x5eed;
/// Frames are 16..=16+SPREAD bytes (payload), records up to 128 bytes.
const SPREAD: u64 = 104;
const SPINS: u32 = 64;

#[test]
fn ten_million_frames_between_two_threads() {
    let start = Instant::now();
    let region = Region::create(RegionSizes {
        sq_bytes: 4096,
        cq_bytes: 4096,
        max_frame: 512,
    })
    .unwrap();
    let mut tx = region.sq_producer().unwrap();
    let mut rx = region.sq_consumer().unwrap();

    let consumer = thread::spawn(move || {
        let mut out = Vec::with_capacity(512);
        let mut expected = 0u64;
        let mut sleeps = 0u64;
        let mut spins = 0;
        while expected < FRAMES {
            // Mix whole pops with read-a-batch-then-release.
            let batch = 1 + (common::mix(expected) % 16);
            let mut got = 0;
            while got < batch {
                match rx.read(&mut out).expect("ring error") {
                    Some(_) => {
                        if let Err(e) = common::check_frame(SALT, expected, SPREAD, &out) {
                            panic!("{e}");
                        }
                        expected += 1;
                        got += 1;
                    }
                    None => break,
                }
            }
            rx.release().unwrap();
            if got == 0 {
                spins += 1;
                if spins < SPINS {
                    std::hint::spin_loop();
                } else {
                    spins = 0;
                    rx.wait(Some(Duration::from_millis(100))).unwrap();
                    sleeps += 1;
                }
            }
        }
        assert!(
            rx.is_empty().unwrap(),
            "a frame beyond the last one arrived"
        );
        (expected, sleeps)
    });

    let mut buf = Vec::with_capacity(512);
    let mut seq = 0u64;
    let mut spins = 0;
    while seq < FRAMES {
        // Batches of 1..=16 staged frames, published once.
        let batch = 1 + (common::mix(seq ^ 0xb) % 16);
        let staged = common::stage_frames(&mut tx, SALT, SPREAD, &mut seq, FRAMES, batch, &mut buf);
        tx.publish().unwrap();
        if staged == 0 {
            spins += 1;
            if spins < SPINS {
                std::hint::spin_loop();
            } else {
                spins = 0;
                tx.wait_for_space(buf.len(), Some(Duration::from_millis(100)))
                    .unwrap();
            }
        }
    }
    let (received, sleeps) = consumer.join().unwrap();
    assert_eq!(received, FRAMES);
    println!(
        "{FRAMES} frames in {:?}; consumer waited {sleeps} times, producer woke it {} times",
        start.elapsed(),
        tx.wakes()
    );
}
