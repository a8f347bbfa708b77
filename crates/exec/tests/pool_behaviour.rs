//! The pool seen through the executor: worker bounds and in-order writes
//! to one file.

mod common;

use std::time::{Duration, Instant};

use common::Harness;
use sysgate_exec::{Executor, PoolConfig};
use sysgate_proto::SubmissionFlags;

fn nr(n: libc::c_long) -> u32 {
    n as u32
}

#[test]
fn two_hundred_sleeps_never_use_more_than_sixteen_workers() {
    let config = PoolConfig {
        max_bounded: 4,
        max_unbounded: 16,
        idle_timeout: Duration::from_secs(5),
        ..PoolConfig::for_entries(64)
    };
    let mut h = Harness::with(Executor::builder().pool_config(config));
    let ts = common::timespec(0, 20_000_000);
    for i in 0..200 {
        h.submit(common::with_in_buf(
            i,
            nr(libc::SYS_nanosleep),
            &ts,
            &[common::BUF0, 0],
        ));
    }
    let started = Instant::now();
    h.enter(200, 0);
    let done = h.wait_n(200);
    assert_eq!(done.len(), 200);
    assert!(done.iter().all(|c| c.result == 0));
    let stats = h.exec.stats().pool.unbounded;
    assert!(stats.peak <= 16, "peak {} workers", stats.peak);
    assert!(stats.peak > 1, "the sleeps ran on one worker at a time");
    // 200 sleeps of 20 ms on 16 workers take at least 13 rounds.
    assert!(started.elapsed() >= Duration::from_millis(13 * 20));
}

#[test]
fn punted_appends_to_one_file_keep_submission_order() {
    let mut h = Harness::new();
    let dir = common::TempDir::new("hashed");
    let fds: Vec<i32> = ["a", "b"]
        .iter()
        .map(|n| {
            let p = dir.file(n, b"");
            common::open(&p, libc::O_WRONLY | libc::O_APPEND)
        })
        .collect();
    let mut expected = [String::new(), String::new()];
    for i in 0..1000u64 {
        let which = (i % 2) as usize;
        let line = format!("{i:06}\n");
        expected[which].push_str(&line);
        let sub = common::with_in_bytes(
            i,
            nr(libc::SYS_write),
            line.as_bytes(),
            &[fds[which] as u64, common::BUF0, line.len() as u64],
        )
        .with_flags(SubmissionFlags::ASYNC);
        h.submit(sub);
        if i % 64 == 63 {
            h.enter(64, 0);
        }
    }
    h.enter(u32::MAX, 0);
    let done = h.wait_n(1000);
    assert!(done.iter().all(|c| c.result == 7));
    for (which, name) in ["a", "b"].iter().enumerate() {
        let got = std::fs::read_to_string(dir.path(name)).unwrap();
        assert_eq!(got, expected[which], "file {name} out of submission order");
    }
    assert!(h.exec.stats().punted_bounded == 1000);
    for fd in fds {
        common::close(fd);
    }
}

#[test]
fn appends_to_one_inode_through_several_descriptors_keep_submission_order() {
    // Order is kept per (device, inode), not per descriptor: two opens of
    // one file and a dup of one of them are the same file.
    let mut h = Harness::new();
    let dir = common::TempDir::new("inode");
    let path = dir.file("shared", b"");
    let first = common::open(&path, libc::O_WRONLY | libc::O_APPEND);
    let second = common::open(&path, libc::O_WRONLY | libc::O_APPEND);
    // SAFETY: dup of a descriptor this test opened.
    let third = unsafe { libc::dup(first) };
    assert!(third >= 0);
    let fds = [first, second, third];
    let mut expected = String::new();
    for i in 0..1500u64 {
        let line = format!("{i:06}\n");
        expected.push_str(&line);
        let fd = fds[(i % 3) as usize];
        let sub = common::with_in_bytes(
            i,
            nr(libc::SYS_write),
            line.as_bytes(),
            &[fd as u64, common::BUF0, line.len() as u64],
        )
        .with_flags(SubmissionFlags::ASYNC);
        h.submit(sub);
        if i % 64 == 63 {
            h.enter(64, 0);
        }
    }
    h.enter(u32::MAX, 0);
    let done = h.wait_n(1500);
    assert!(done.iter().all(|c| c.result == 7));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
    for fd in fds {
        common::close(fd);
    }
}
