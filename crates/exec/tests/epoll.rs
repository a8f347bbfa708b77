//! The epoll readiness backend: many requests parked and cancelled, with
//! nothing left registered and no thread started. Alone in its binary: it
//! counts the process's threads and descriptors and finds its epoll set in
//! `/proc/self/fd`.

mod common;

use common::{BUF0, Harness};
use sysgate_exec::{Executor, ReadinessBackend};
use sysgate_proto::{CancelTarget, Op, Submission};
use sysgate_testkit::{Need, skip};

/// The tests of this binary count the process's threads and descriptors:
/// they run one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

const PIPES: usize = 5_000;
/// Two reads on every pipe: the second is registered through a duplicate
/// of the descriptor (epoll keys a registration on the descriptor).
const REQUESTS: usize = 2 * PIPES;

fn raise_fd_limit(want: u64) -> bool {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the rlimit we own.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        if lim.rlim_cur < want {
            lim.rlim_cur = want.min(lim.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
    }
    lim.rlim_cur >= want
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Descriptors registered in every epoll set of this process (the lines
/// `tfd:` of their fdinfo), and how many sets there are.
fn epoll_registrations() -> (usize, usize) {
    let mut sets = 0;
    let mut registered = 0;
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let Ok(link) = std::fs::read_link(entry.path()) else {
            continue;
        };
        if link.to_str() != Some("anon_inode:[eventpoll]") {
            continue;
        }
        let fd = entry.file_name();
        let Ok(info) =
            std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.to_str().unwrap()))
        else {
            continue;
        };
        sets += 1;
        registered += info.lines().filter(|l| l.starts_with("tfd:")).count();
    }
    (sets, registered)
}

#[test]
fn ten_thousand_requests_park_and_cancel_on_epoll_leaving_nothing_registered() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // The pipes, a duplicate per second read, and room for the rest.
    if !raise_fd_limit(3 * PIPES as u64 + 256) {
        let why = format!("RLIMIT_NOFILE cannot reach {} fds", 3 * PIPES + 256);
        return skip(Need::FdLimit, &why);
    }
    let mut h = Harness::with(Executor::builder().readiness(ReadinessBackend::Epoll));
    assert_eq!(h.exec.readiness(), ReadinessBackend::Epoll);
    let pipes: Vec<(i32, i32)> = (0..PIPES).map(|_| common::pipe()).collect();
    let (fds_before, threads_before) = (open_fds(), threads());
    for i in 0..REQUESTS {
        let (r, _) = pipes[i % PIPES];
        h.submit(common::with_out_buf(
            i as u64,
            libc::SYS_read as u32,
            8,
            &[r as u64, BUF0, 8],
        ));
        if i % 100 == 99 {
            h.enter(100, 0);
        }
    }
    let stats = h.exec.stats();
    assert_eq!(stats.parked, REQUESTS as u64, "{stats:?}");
    assert_eq!(stats.readiness, Some(ReadinessBackend::Epoll));
    assert_eq!(h.reap_now().len(), 0, "nothing is ready yet");
    // The state the test is about: every read registered (plus the
    // reactor's own eventfd) in one epoll set, through a duplicate for the
    // second read of each pipe, and no thread started.
    assert_eq!(epoll_registrations(), (1, REQUESTS + 1));
    assert_eq!(
        open_fds(),
        fds_before + PIPES + 2,
        "duplicates, epoll, eventfd"
    );
    assert_eq!(threads(), threads_before, "no thread for {REQUESTS} waits");
    let pool = stats.pool;
    assert_eq!(pool.bounded.started + pool.unbounded.started, 0, "{pool:?}");

    for i in 0..REQUESTS {
        let cancel = Op::Cancel {
            target: CancelTarget::UserData(i as u64),
        };
        h.submit(Submission::new((REQUESTS + i) as u64, cancel));
        if i % 100 == 99 {
            h.enter(100, 0);
        }
    }
    let done = h.wait_n(2 * REQUESTS);
    let canceled = -i64::from(libc::ECANCELED);
    for c in &done {
        let expected = if c.user_data < REQUESTS as u64 {
            canceled
        } else {
            0
        };
        assert_eq!(c.result, expected, "{c:?}");
    }
    assert_eq!(h.exec.stats().parked, 0);
    assert_eq!(epoll_registrations(), (1, 1), "only the eventfd is left");
    assert_eq!(open_fds(), fds_before + 2, "every duplicate closed");
    assert_eq!(threads(), threads_before);
    for (r, w) in pipes {
        common::close(r);
        common::close(w);
    }
}

/// A parked read on epoll completes when data arrives, inline after the
/// wait, and the polling thread (which cannot sleep on its ring and an
/// epoll set at once) gets a reactor thread to do it.
#[test]
fn parked_reads_complete_on_epoll_with_and_without_a_polling_thread() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let builders = [
        Executor::builder(),
        Executor::builder().sq_poll(std::time::Duration::from_millis(1)),
    ];
    for builder in builders {
        let mut h = Harness::with(builder.readiness(ReadinessBackend::Epoll));
        let (r, w) = common::pipe();
        h.submit(common::with_out_buf(
            1,
            libc::SYS_read as u32,
            8,
            &[r as u64, BUF0, 8],
        ));
        h.enter(1, 0);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while h.exec.stats().parked == 0 {
            assert!(std::time::Instant::now() < deadline, "never parked");
            std::thread::yield_now();
        }
        common::write_all(w, b"ready");
        let done = h.wait_n(1);
        assert_eq!(done[0].result, 5, "{:?}", done[0]);
        assert_eq!(&done[0].outputs[0][..], b"ready");
        common::close(r);
        common::close(w);
    }
}
