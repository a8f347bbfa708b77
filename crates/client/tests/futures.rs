//! Futures under several executors, many in flight, and dropped midway.

mod common;

use std::os::fd::AsRawFd;
use std::time::Duration;
use sysgate_testkit::{Need, skip};

use common::{TempDir, pipe, socketpair};
use sysgate::{Fd, Flags, Gateway, block_on, ops};

/// 10,000 futures in flight on tokio's multi-thread runtime, each
/// completing exactly once with its own data: 5,000 reads parked on their
/// own pipes, fed in a scrambled order by another thread, and 5,000 preads
/// of their own offset of a file, forced through the pool (ASYNC) so that
/// they queue behind its few workers.
#[test]
fn ten_thousand_futures_on_tokio_multi_thread() {
    const PIPES: usize = 5_000;
    const FILE_READS: usize = 5_000;
    // 10,000 pipe ends: make sure the soft limit allows it.
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read or write one rlimit.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    if lim.rlim_max < 2 * PIPES as u64 + 200 {
        let why = format!("RLIMIT_NOFILE hard limit {} is too low", lim.rlim_max);
        return skip(Need::FdLimit, &why);
    }
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: as above.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };

    let dir = TempDir::new("10k");
    let record = |i: usize| format!("{i:>15}\n");
    let contents: String = (0..FILE_READS).map(record).collect();
    std::fs::write(dir.join("records"), contents).unwrap();
    let file = std::fs::File::open(dir.join("records")).unwrap();

    let gw = Gateway::builder().max_bounded(2).build().unwrap();
    let pipes: Vec<_> = (0..PIPES).map(|_| pipe()).collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (parked, pread) = rt.block_on(async {
        let mut reads = Vec::with_capacity(PIPES);
        for (i, (r, _)) in pipes.iter().enumerate() {
            let fut = gw.submit(ops::Read::new(r, Vec::with_capacity(16)));
            reads.push(tokio::spawn(async move { (i, fut.await) }));
        }
        let mut preads = Vec::with_capacity(FILE_READS);
        for i in 0..FILE_READS {
            let op = ops::Pread::new(&file, Vec::with_capacity(16), 16 * i as i64);
            let fut = gw.submit_with(op, Flags::ASYNC);
            preads.push(tokio::spawn(async move { (i, fut.await) }));
        }
        // Everything is in flight now; feed the pipes in a scrambled order
        // from a plain thread.
        let writers: Vec<_> = pipes.iter().map(|(_, w)| w.as_raw_fd()).collect();
        let feeder = std::thread::spawn(move || {
            let mut order: Vec<usize> = (0..PIPES).collect();
            let mut x = 0x2545_f491_4f6c_dd1du64;
            for i in (1..PIPES).rev() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                order.swap(i, (x % (i as u64 + 1)) as usize);
            }
            for i in order {
                let msg = format!("msg {i}");
                // SAFETY: a write of `msg`'s bytes to a pipe this test owns.
                let n = unsafe { libc::write(writers[i], msg.as_ptr().cast(), msg.len()) };
                assert_eq!(n, msg.len() as isize);
            }
        });
        let mut parked = Vec::with_capacity(PIPES);
        for t in reads {
            parked.push(t.await.unwrap());
        }
        let mut pread = Vec::with_capacity(FILE_READS);
        for t in preads {
            pread.push(t.await.unwrap());
        }
        feeder.join().unwrap();
        (parked, pread)
    });
    for (i, (n, buf)) in parked {
        let expected = format!("msg {i}");
        assert_eq!(n.unwrap(), expected.len());
        assert_eq!(buf, expected.as_bytes());
    }
    for (i, (n, buf)) in pread {
        assert_eq!(n.unwrap(), 16);
        assert_eq!(buf, record(i).as_bytes());
    }
    let stats = gw.stats();
    // Parked on io_uring or, where it is refused, on epoll.
    assert!(
        stats.parked_total >= PIPES as u64 / 2,
        "most reads parked: {stats:?}"
    );
    assert!(stats.punted_bounded >= FILE_READS as u64, "{stats:?}");
    assert_eq!((stats.parked, stats.in_pool), (0, 0));
}

#[test]
fn futures_on_tokio_current_thread_and_block_on() {
    let gw = Gateway::new().unwrap();
    let dir = TempDir::new("fut");
    std::fs::write(dir.join("f"), b"data").unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let fd = gw
            .submit(ops::OpenAt::new(Fd::CWD, dir.join("f"), libc::O_RDONLY))
            .await
            .unwrap();
        let (n, buf) = gw.submit(ops::Read::new(&fd, Vec::with_capacity(8))).await;
        assert_eq!((n.unwrap(), buf.as_slice()), (4, &b"data"[..]));
        // A parked receive and a pool sleep complete while the runtime's
        // only thread sleeps: woken by the driver, not polled.
        let (a, b) = socketpair();
        let recv = gw.submit(ops::Recv::new(&a, Vec::with_capacity(8), 0));
        let sleep = gw.submit(ops::Nanosleep::new(Duration::from_millis(5)));
        let send = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            gw.submit(ops::Send::new(&b, b"late".to_vec(), 0))
                .await
                .0
                .unwrap()
        };
        let ((n, buf), slept, sent) = tokio::join!(recv, sleep, send);
        assert_eq!((n.unwrap(), buf.as_slice(), sent), (4, &b"late"[..], 4));
        slept.unwrap();
    });
    // The minimal block_on.
    let (r, w) = pipe();
    let read = gw.submit(ops::Read::new(&r, Vec::with_capacity(8)));
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        let gw = Gateway::new().unwrap();
        gw.call(ops::Write::new(&w, b"ok".to_vec())).0.unwrap();
    });
    let (n, buf) = block_on(read);
    assert_eq!((n.unwrap(), buf.as_slice()), (2, &b"ok"[..]));
    writer.join().unwrap();
}

/// An `OpSet` yields outputs in completion order, async and blocking, and
/// keeps a stream going with a fixed number in flight.
#[test]
fn op_sets_yield_in_completion_order() {
    let gw = Gateway::new().unwrap();
    let pipes: Vec<_> = (0..8).map(|_| pipe()).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let order = rt.block_on(async {
        let mut set = sysgate::OpSet::new(&gw);
        for (r, _) in &pipes {
            set.push(ops::Read::new(r, Vec::with_capacity(8))).unwrap();
        }
        // Fed backwards from another thread.
        let writers: Vec<_> = pipes.iter().map(|(_, w)| w.as_raw_fd()).collect();
        let feeder = std::thread::spawn(move || {
            for &w in writers.iter().rev() {
                std::thread::sleep(Duration::from_millis(2));
                // SAFETY: a one-byte write to a pipe this test owns.
                assert_eq!(unsafe { libc::write(w, b"x".as_ptr().cast(), 1) }, 1);
            }
        });
        let mut order = Vec::new();
        while let Some((key, (n, _))) = set.next().await {
            assert_eq!(n.unwrap(), 1);
            order.push(key);
        }
        feeder.join().unwrap();
        order
    });
    assert_eq!(order, (0..8).rev().collect::<Vec<_>>());

    // A stream: 200 short sleeps and getppids, 16 in flight, blocking.
    let mut set = sysgate::OpSet::new(&gw);
    let (mut pushed, mut done) = (0, 0);
    while done < 200 {
        while set.len() < 16 && pushed < 200 {
            let op = if pushed % 10 == 9 {
                sysgate::raw(
                    libc::SYS_nanosleep as u32,
                    [
                        sysgate::RawArg::In(
                            sysgate::Timespec::from(Duration::from_micros(100))
                                .to_bytes()
                                .to_vec(),
                        ),
                        sysgate::RawArg::Imm(0),
                    ],
                )
            } else {
                sysgate::raw(libc::SYS_getppid as u32, [])
            };
            set.push(op).unwrap();
            pushed += 1;
        }
        let (_, out) = set.wait_next().unwrap();
        out.unwrap();
        done += 1;
    }
    assert!(set.is_empty() && set.wait_next().is_none());
}
