//! A million mixed submissions with up to 1,000 in flight, random cancels
//! among them: every user_data completes exactly once.

mod common;

use common::Harness;
use sysgate_proto::{CancelTarget, CompletionFlags, Op, Submission, SubmissionFlags, codes};

fn nr(n: libc::c_long) -> u32 {
    n as u32
}

#[test]
fn a_million_mixed_submissions_with_cancels_complete_exactly_once() {
    const TOTAL: u64 = 1_000_000;
    const IN_FLIGHT: u64 = 1_000;
    let mut h = Harness::new();
    let dir = common::TempDir::new("mixed");
    let path = dir.file("data", &[7u8; 4096]);
    let fd = common::open(&path, libc::O_RDONLY);
    std::fs::read(&path).unwrap();
    let ts = common::timespec(0, 10_000);

    let mut seen = vec![0u8; TOTAL as usize];
    let mut next = 0u64;
    let mut outstanding = 0u64;
    let mut rng = common::Rng(0x5eed);
    let (mut invalid, mut punted, mut cancels) = (0u64, 0u64, 0u64);
    while next < TOTAL || outstanding > 0 {
        let mut batch = 0;
        while next < TOTAL && outstanding < IN_FLIGHT && batch < 64 {
            let ud = next;
            match rng.next() % 100 {
                0..=69 => h.submit(common::call(ud, nr(libc::SYS_getppid), &[])),
                70..=89 => h.submit(common::with_out_buf(
                    ud,
                    nr(libc::SYS_pread64),
                    64,
                    &[fd as u64, common::BUF0, 64, rng.next() % 4000],
                )),
                90..=91 if ud > 0 => {
                    // Cancel a random earlier request, in flight or not.
                    cancels += 1;
                    let target = CancelTarget::UserData(rng.next() % ud);
                    h.submit(Submission::new(ud, Op::Cancel { target }));
                }
                90..=94 => {
                    punted += 1;
                    let sub =
                        common::with_in_buf(ud, nr(libc::SYS_nanosleep), &ts, &[common::BUF0, 0]);
                    h.submit(sub.with_flags(SubmissionFlags::ASYNC));
                }
                _ => {
                    invalid += 1;
                    h.submit_raw(&common::invalid_frame(ud, rng.next()));
                }
            }
            next += 1;
            outstanding += 1;
            batch += 1;
        }
        h.enter(batch, 0);
        let done = if outstanding >= IN_FLIGHT || next == TOTAL {
            h.wait_at_least(1)
        } else {
            h.reap_now()
        };
        for c in done {
            let slot = &mut seen[c.user_data as usize];
            *slot += 1;
            assert_eq!(*slot, 1, "user_data {} completed twice", c.user_data);
            if c.flags.contains(CompletionFlags::PROTOCOL_ERROR) {
                assert!(c.result < 0);
            }
            outstanding -= 1;
        }
    }
    assert!(seen.iter().all(|&n| n == 1));
    let stats = h.exec.stats();
    assert_eq!(stats.submitted, TOTAL);
    assert_eq!(stats.completed, TOTAL);
    assert_eq!(stats.protocol_errors, invalid);
    assert_eq!(stats.punted_unbounded, punted);
    assert!(cancels > 10_000, "the mix cancels");
    common::close(fd);
}

/// A completion whose outputs exceed the completion ring's frame limit
/// (here 64 KiB) still completes, once: a stand-in without outputs, on the
/// inline path and on the pool.
#[test]
fn a_completion_too_large_for_a_frame_is_replaced_not_lost() {
    let mut h = Harness::new();
    let zero = std::fs::File::open("/dev/zero").unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&zero) as u64;
    let read = |ud, len: u32| {
        common::with_out_buf(
            ud,
            nr(libc::SYS_read),
            len,
            &[fd, common::BUF0, u64::from(len)],
        )
    };
    h.submit(read(1, 100_000));
    h.submit(read(2, 100_000).with_flags(common::flags_async()));
    h.submit(read(3, 1000));
    h.enter(3, 0);
    let mut done = h.wait_n(3);
    done.sort_by_key(|c| c.user_data);
    for c in &done[..2] {
        assert_eq!(c.result, codes::OUTPUT_TOO_LARGE, "{c:?}");
        assert!(c.flags.contains(CompletionFlags::PROTOCOL_ERROR));
        assert!(c.outputs.is_empty());
    }
    assert_eq!((done[2].result, done[2].outputs[0].len()), (1000, 1000));
    assert_eq!(h.exec.stats().lost, 0);
}
