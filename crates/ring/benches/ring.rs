//! `cargo bench -p sysgate-ring`
//!
//! - `push_pop_64/one_by_one`: push (publish) + pop (release) of one 64-byte
//!   frame on one thread.
//! - `push_pop_64/batch_32`: stage 32, publish once, read 32, release once;
//!   reported per frame.
//! - `stream_64/two_threads_*`: a producer thread and a consumer thread
//!   streaming 64-byte frames through a 64 KiB ring; reported in frames/s.

use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sysgate_ring::{Consumer, Producer, Region, RegionSizes};

const FRAME: [u8; 64] = [0x5a; 64];

fn region(bytes: u32) -> Region {
    Region::create(RegionSizes {
        sq_bytes: bytes,
        cq_bytes: bytes,
        max_frame: 1024,
    })
    .unwrap()
}

fn push_pop(c: &mut Criterion) {
    let region = region(64 << 10);
    let mut tx = region.sq_producer().unwrap();
    let mut rx = region.sq_consumer().unwrap();
    let mut out = Vec::with_capacity(1024);
    let mut group = c.benchmark_group("push_pop_64");
    group.throughput(Throughput::Elements(1));
    group.bench_function("one_by_one", |b| {
        b.iter(|| {
            tx.push(black_box(FRAME.as_slice())).unwrap();
            black_box(rx.pop(&mut out).unwrap());
        })
    });
    group.throughput(Throughput::Elements(32));
    group.bench_function("batch_32", |b| {
        b.iter(|| {
            for _ in 0..32 {
                tx.stage(black_box(FRAME.as_slice())).unwrap();
            }
            tx.publish().unwrap();
            for _ in 0..32 {
                black_box(rx.read(&mut out).unwrap());
            }
            rx.release().unwrap();
        })
    });
    group.finish();
}

/// Streams `n` frames from `tx` to `rx` on two threads; returns the time.
fn stream(tx: &mut Producer, rx: &mut Consumer, n: u64, batch: u64) -> Duration {
    thread::scope(|s| {
        let start = Instant::now();
        s.spawn(|| {
            let mut out = Vec::with_capacity(1024);
            let mut got = 0;
            let mut idle = 0u32;
            while got < n {
                let mut read = 0;
                while read < batch {
                    match rx.read(&mut out).unwrap() {
                        Some(_) => read += 1,
                        None => break,
                    }
                }
                rx.release().unwrap();
                got += read;
                if read == 0 {
                    idle += 1;
                    if idle > 1000 {
                        rx.wait(Some(Duration::from_millis(10))).unwrap();
                        idle = 0;
                    } else {
                        std::hint::spin_loop();
                    }
                }
            }
        });
        let mut sent = 0;
        let mut idle = 0u32;
        while sent < n {
            let mut staged = 0;
            while staged < batch && sent < n {
                if tx.stage(FRAME.as_slice()).is_err() {
                    break;
                }
                staged += 1;
                sent += 1;
            }
            tx.publish().unwrap();
            if staged == 0 {
                idle += 1;
                if idle > 1000 {
                    tx.wait_for_space(64, Some(Duration::from_millis(10)))
                        .unwrap();
                    idle = 0;
                } else {
                    std::hint::spin_loop();
                }
            }
        }
        // The scope joins the consumer before returning.
        start
    })
    .elapsed()
}

fn two_threads(c: &mut Criterion) {
    let region = region(64 << 10);
    let mut tx = region.sq_producer().unwrap();
    let mut rx = region.sq_consumer().unwrap();
    let mut group = c.benchmark_group("stream_64");
    const PER_ITER: u64 = 100_000;
    group.throughput(Throughput::Elements(PER_ITER));
    group.sample_size(20);
    for batch in [1u64, 32] {
        group.bench_function(format!("two_threads_batch_{batch}"), |b| {
            b.iter_custom(|iters| stream(&mut tx, &mut rx, iters * PER_ITER, batch))
        });
    }
    group.finish();
}

criterion_group!(benches, push_pop, two_threads);
criterion_main!(benches);
