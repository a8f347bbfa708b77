//! Parked requests under random cancels: each completes exactly once.

mod common;

use common::{BUF0, Harness};

#[test]
fn parked_requests_cancelled_at_random_complete_exactly_once() {
    const PAIRS: usize = 100;
    const ROUNDS: u64 = 50;
    let mut h = Harness::new();
    let pairs: Vec<(i32, i32)> = (0..PAIRS).map(|_| common::socketpair()).collect();
    let mut rng = common::Rng(0xcafe);
    let mut seen = std::collections::HashMap::new();
    let mut next = 0u64;
    for _ in 0..ROUNDS {
        let first = next;
        for &(a, _) in &pairs {
            let recv = common::with_out_buf(
                next,
                libc::SYS_recvfrom as u32,
                64,
                &[a as u64, BUF0, 64, 0, 0, 0],
            );
            h.submit(recv);
            next += 1;
        }
        // Cancel about half of them, some twice, some already finished.
        let mut cancels = 0;
        for _ in 0..PAIRS {
            let target = first + rng.next() % PAIRS as u64;
            let cancel = sysgate_proto::Op::Cancel {
                target: sysgate_proto::CancelTarget::UserData(target),
            };
            h.submit(sysgate_proto::Submission::new(next, cancel));
            next += 1;
            cancels += 1;
            if rng.next().is_multiple_of(4) {
                let (_, b) = pairs[rng.next() as usize % PAIRS];
                common::write_all(b, b"x");
            }
        }
        h.enter((PAIRS + cancels) as u32, 0);
        for &(_, b) in &pairs {
            common::write_all(b, b"y");
        }
        for c in h.wait_n(PAIRS + cancels) {
            *seen.entry(c.user_data).or_insert(0) += 1;
            let r = c.result;
            assert!(
                r >= 0
                    || r == -i64::from(libc::ECANCELED)
                    || r == -i64::from(libc::ENOENT)
                    || r == -i64::from(libc::EALREADY),
                "{c:?}"
            );
        }
    }
    assert_eq!(seen.len() as u64, next, "some request never completed");
    assert!(seen.values().all(|&n| n == 1), "a request completed twice");
    for (a, b) in pairs {
        common::close(a);
        common::close(b);
    }
}
