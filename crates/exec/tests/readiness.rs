//! Poll-armed retry: calls that would block on sockets wait for readiness
//! without holding a thread, then run inline. Alone in its binary: it
//! counts the process's threads.

mod common;

use common::{BUF0, Harness};
use sysgate_proto::CompletionFlags;
use sysgate_testkit::{Need, skip};

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

#[test]
fn a_thousand_pending_recvs_park_without_workers_and_complete_when_pinged() {
    const PAIRS: usize = 1000;
    if !raise_fd_limit(2 * PAIRS as u64 + 256) {
        let why = format!("RLIMIT_NOFILE cannot reach {} fds", 2 * PAIRS + 256);
        return skip(Need::FdLimit, &why);
    }
    let mut h = Harness::new();
    let pairs: Vec<(i32, i32)> = (0..PAIRS).map(|_| common::socketpair()).collect();
    for (i, &(a, _)) in pairs.iter().enumerate() {
        let recv = common::with_out_buf(
            i as u64,
            libc::SYS_recvfrom as u32,
            32,
            &[a as u64, BUF0, 32, 0, 0, 0],
        );
        h.submit(recv);
        if i % 100 == 99 {
            h.enter(100, 0);
        }
    }
    let stats = h.exec.stats();
    assert_eq!(stats.parked, PAIRS as u64, "{stats:?}");
    assert_eq!(h.reap_now().len(), 0, "nothing is ready yet");
    assert_eq!(
        stats.pool.unbounded.started + stats.pool.bounded.started,
        0,
        "no worker for waits"
    );
    let running = threads();
    assert!(running <= 4, "{running} threads for {PAIRS} pending recvs");

    for (i, &(_, b)) in pairs.iter().enumerate() {
        common::write_all(b, format!("ping {i}").as_bytes());
    }
    let mut done = h.wait_n(PAIRS);
    done.sort_by_key(|c| c.user_data);
    for (i, c) in done.iter().enumerate() {
        let expected = format!("ping {i}");
        assert_eq!(c.result, expected.len() as i64, "{c:?}");
        assert_eq!(&c.outputs[0][..], expected.as_bytes());
        assert_eq!(c.flags, CompletionFlags::POLLED);
    }
    let stats = h.exec.stats();
    assert_eq!((stats.parked, stats.polled), (0, PAIRS as u64));
    assert_eq!(stats.pool.unbounded.started, 0);
    for (a, b) in pairs {
        common::close(a);
        common::close(b);
    }
}

/// A blocking `write` (and `sendto`) larger than the pipe's (socket's)
/// buffer writes everything, like the blocking call: the part that fits
/// goes at once, the rest each time the reader makes room — never a short
/// result, which would also break a link.
#[test]
fn a_write_larger_than_the_pipe_completes_whole() {
    let mut h = Harness::new();
    // 60,000 bytes fit the harness's 64 KiB frames; shrink the buffers
    // below that so the writes cannot go in one piece.
    let data: Vec<u8> = (0..60_000u32).map(|i| (i % 251) as u8).collect();
    let (r, w) = common::pipe();
    let (sa, sb) = common::socketpair();
    let reader = |fd: i32, n: usize| {
        std::thread::spawn(move || {
            let mut got = Vec::with_capacity(n);
            let mut buf = vec![0u8; 65536];
            while got.len() < n {
                // SAFETY: reads into `buf`, which we own.
                let k = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
                assert!(k > 0, "reader: {k}");
                got.extend_from_slice(&buf[..k as usize]);
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
            got
        })
    };
    // SAFETY: F_SETPIPE_SZ and SO_SNDBUF take an int; the fds are ours.
    unsafe {
        libc::fcntl(w, libc::F_SETPIPE_SZ, 4096);
        let small: libc::c_int = 4096;
        libc::setsockopt(
            sa,
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            (&raw const small).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
    let pipe_reader = reader(r, data.len());
    let sock_reader = reader(sb, data.len());
    let n = data.len() as u64;
    h.submit(common::with_in_bytes(
        1,
        libc::SYS_write as u32,
        &data,
        &[w as u64, BUF0, n],
    ));
    h.submit(common::with_in_bytes(
        2,
        libc::SYS_sendto as u32,
        &data,
        &[sa as u64, BUF0, n, 0, 0, 0],
    ));
    h.enter(2, 0);
    let mut done = h.wait_n(2);
    done.sort_by_key(|c| c.user_data);
    assert_eq!(
        done.iter().map(|c| c.result).collect::<Vec<_>>(),
        [n as i64, n as i64]
    );
    assert_eq!(pipe_reader.join().unwrap(), data);
    assert_eq!(sock_reader.join().unwrap(), data);
    assert!(h.exec.stats().parked_total >= 2, "both waited for room");
}
