//! Futures and gateways dropped mid-flight. Alone in its test binary:
//! it counts the process's descriptors, which other tests would disturb.

mod common;

use std::time::Duration;

use common::{TempDir, open_fds, pipe, socketpair};
use sysgate::{Batch, Fd, Gateway, ops};

/// Futures and gateways dropped with requests in flight (parked, on the
/// pool, opening files): no hang, every descriptor closed. Memory safety
/// needs no run-time check: requests never point into the futures'
/// buffers (see the crate docs), so dropping one frees nothing the
/// executor still uses.
#[test]
fn dropping_futures_and_gateways_mid_flight() {
    let dir = TempDir::new("drop");
    for i in 0..50 {
        std::fs::write(dir.join(&i.to_string()), b"x").unwrap();
    }
    let (a, _b) = socketpair();
    let (r, _w) = pipe();
    let before = open_fds();
    for round in 0..20 {
        let gw = Gateway::new().unwrap();
        let mut keep = Vec::new();
        let mut reads = Vec::new();
        let mut opens = Vec::new();
        for i in 0..50 {
            // Opens, some completed and never awaited, some not.
            opens.push(gw.submit(ops::OpenAt::new(
                Fd::CWD,
                dir.join(&i.to_string()),
                libc::O_RDONLY,
            )));
            keep.push(gw.submit(ops::Recv::new(&a, Vec::with_capacity(64), 0)));
            reads.push(gw.submit(ops::Read::new(&r, Vec::with_capacity(64))));
        }
        // An op set with opens (completed, never taken) and parked reads.
        let mut set = sysgate::OpSet::new(&gw);
        for i in 0..10 {
            set.push(ops::OpenAt::new(
                Fd::CWD,
                dir.join(&i.to_string()),
                libc::O_RDONLY,
            ))
            .unwrap();
        }
        let mut parked_reads = sysgate::OpSet::new(&gw);
        parked_reads
            .push(ops::Read::new(&r, Vec::with_capacity(8)))
            .unwrap();
        let sleeps: Vec<_> = (0..4)
            .map(|_| gw.submit(ops::Nanosleep::new(Duration::from_secs(30))))
            .collect();
        // Some futures go first, the gateway handle next, the rest last.
        keep.truncate(round * 2);
        reads.truncate(round);
        drop(opens);
        drop(set);
        drop(gw);
        drop(parked_reads);
        drop(sleeps);
        drop(keep);
        drop(reads);
    }
    // One more: a gateway whose futures outlive its handle complete them
    // (cancelled when the last one goes).
    let gw = Gateway::new().unwrap();
    let recv = gw.submit(ops::Recv::new(&a, Vec::with_capacity(8), 0));
    drop(gw);
    drop(recv);
    assert_eq!(open_fds(), before, "no descriptor leaked");

    // A descriptor a chain opens and closes is closed once; one a broken
    // chain leaves open is closed when its output is dropped untaken.
    let gw = Gateway::new().unwrap();
    gw.call(ops::Nop).unwrap();
    let before = open_fds();
    for len in [1, 64] {
        let mut b = Batch::new();
        let open = b.push(ops::OpenAt::new(Fd::CWD, dir.join("0"), libc::O_RDONLY));
        b.then(ops::Read::new(open.fd(), Vec::with_capacity(len)));
        let close = b.then(ops::Close::new(open.fd()));
        let mut done = gw.run(b);
        // len 64: a short read breaks the link, the close is cancelled.
        assert_eq!(done.take(close).unwrap().is_ok(), len == 1);
        drop(done);
        assert_eq!(open_fds(), before, "read of {len}");
    }
    drop(gw);

    // A gateway dropped while its completion ring overflows: the opens
    // whose completions wait in the executor's backlog are abandoned with
    // the gateway, and their descriptors are closed too.
    let before = open_fds();
    let gw = Gateway::builder().cq_bytes(4096).build().unwrap();
    let mut b = Batch::new();
    for i in 0..500 {
        let open = ops::OpenAt::new(Fd::CWD, dir.join(&(i % 50).to_string()), libc::O_RDONLY);
        b.push_with(open, sysgate::Flags::ASYNC);
    }
    let pending = gw.submit_batch(b);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while gw.stats().completed < 500 {
        assert!(std::time::Instant::now() < deadline, "{:?}", gw.stats());
        std::thread::sleep(Duration::from_millis(1));
    }
    // 500 completions do not fit 4 KiB: most wait in the backlog.
    drop(pending);
    drop(gw);
    assert_eq!(open_fds(), before, "descriptors of backlogged opens leaked");
}
