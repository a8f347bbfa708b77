//! Dropping an executor answers everything in flight: queued work is
//! cancelled, blocked calls are interrupted, nothing is lost or hangs.

mod common;

use sysgate_testkit::{Need, skip};

use common::Harness;
use sysgate_exec::{Executor, PoolConfig};
use sysgate_proto::SubmissionFlags;

#[test]
fn drop_interrupts_blocked_calls_and_cancels_queued_ones() {
    // One unbounded worker: the first read blocks on it, the rest queue.
    let config = PoolConfig {
        max_unbounded: 1,
        ..PoolConfig::for_entries(64)
    };
    let mut h = Harness::with(Executor::builder().pool_config(config));
    if h.exec.pool().interrupt_signal().is_none() {
        return skip(
            Need::InterruptSignal,
            "the interrupt signal is taken by the host, calls cannot be interrupted",
        );
    }
    let (r, w) = common::pipe();
    for ud in 0..3 {
        let read = common::with_out_buf(ud, libc::SYS_read as u32, 8, &[r as u64, common::BUF0, 8]);
        h.submit(read.with_flags(SubmissionFlags::ASYNC));
    }
    h.enter(3, 0);
    // The first read is running on the one worker, the others queued.
    common::wait_for_pool(&h, |p| p.unbounded.busy == 1 && p.unbounded.queued == 2);
    assert_eq!(h.exec.stats().in_pool, 3);
    let mut done = h.drop_executor();
    done.sort_by_key(|c| c.user_data);
    assert_eq!(done.len(), 3, "{done:?}");
    for (ud, c) in done.iter().enumerate() {
        assert_eq!(c.user_data, ud as u64);
        assert_eq!(c.result, -i64::from(libc::ECANCELED), "{c:?}");
    }
    common::close(r);
    common::close(w);
}

#[test]
fn a_backlog_beyond_the_ring_reaches_a_consumer_that_keeps_reaping_through_drop() {
    use sysgate_proto::{Completion, decode, encode_to_vec};
    use sysgate_ring::{Region, RegionSizes};

    const N: u64 = 1000;
    // 4 KiB of completion ring holds about a hundred completions.
    let region = Region::create(RegionSizes {
        sq_bytes: 1 << 20,
        cq_bytes: 4096,
        max_frame: 1024,
    })
    .unwrap();
    let mut exec =
        Executor::builder().build(region.sq_consumer().unwrap(), region.cq_producer().unwrap());
    let mut sq = region.sq_producer().unwrap();
    for ud in 0..N {
        let sub = common::call(ud, libc::SYS_getppid as u32, &[]);
        sq.push(encode_to_vec(&sub).unwrap().as_slice()).unwrap();
    }
    exec.enter(N as u32, 0, None).unwrap();
    let stats = exec.stats();
    assert_eq!(stats.completed, N, "{stats:?}");
    assert!(
        region.cq_overflow(),
        "the state under test: completions wait in the backlog"
    );
    let mut cq = region.cq_consumer().unwrap();
    // Another thread reaps while the executor is dropped.
    let reaper = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut frame = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while seen.len() < N as usize && std::time::Instant::now() < deadline {
            match cq.pop(&mut frame).unwrap() {
                Some(_) => {
                    let c: Completion = decode(&frame).unwrap();
                    seen.push(c.user_data);
                }
                None => {
                    cq.wait(Some(std::time::Duration::from_millis(10))).unwrap();
                }
            }
        }
        seen
    });
    drop(exec);
    let seen = reaper.join().unwrap();
    assert_eq!(
        seen,
        (0..N).collect::<Vec<_>>(),
        "every completion once, in order"
    );
}
