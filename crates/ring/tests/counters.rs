//! Frame counters ("how many completions are waiting") and the waker that
//! interrupts a sleeping consumer.
#![cfg(not(loom))]

use std::time::Duration;

use sysgate_ring::{Region, RegionSizes, WaitStatus};

fn region() -> Region {
    Region::create(RegionSizes {
        sq_bytes: 4096,
        cq_bytes: 4096,
        max_frame: 256,
    })
    .unwrap()
}

#[test]
fn unconsumed_frames_counts_published_minus_released() {
    let r = region();
    let (mut p, mut c) = (r.cq_producer().unwrap(), r.cq_consumer().unwrap());
    assert_eq!(p.unconsumed_frames(), 0);
    p.stage(b"one".as_slice()).unwrap();
    p.stage(b"two".as_slice()).unwrap();
    assert_eq!(
        p.unconsumed_frames(),
        0,
        "staged frames are not published yet"
    );
    p.publish().unwrap();
    assert_eq!(p.unconsumed_frames(), 2);
    let mut buf = Vec::new();
    c.read(&mut buf).unwrap().unwrap();
    assert_eq!(p.unconsumed_frames(), 2, "read but not released");
    c.release().unwrap();
    assert_eq!(p.unconsumed_frames(), 1);
    // Many laps around the ring, with skip records: the count stays exact.
    for i in 0..1000u32 {
        let frame = vec![i as u8; (i % 200) as usize];
        p.push(frame.as_slice()).unwrap();
        assert_eq!(p.unconsumed_frames(), 2);
        c.pop(&mut buf).unwrap().unwrap();
        assert_eq!(p.unconsumed_frames(), 1);
    }
}

#[test]
fn a_waker_interrupts_a_sleeping_consumer() {
    let r = region();
    let mut c = r.sq_consumer().unwrap();
    let waker = c.waker();
    // Woken, it says Spurious; had the wake-up been lost it would sleep
    // out its 20 s and say TimedOut.
    let sleeper = std::thread::spawn(move || c.wait(Some(Duration::from_secs(20))).unwrap());
    std::thread::sleep(Duration::from_millis(100));
    // Wake until the sleeper has gone (it may not have slept yet).
    while !sleeper.is_finished() {
        waker.wake().unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(sleeper.join().unwrap(), WaitStatus::Spurious);
}
