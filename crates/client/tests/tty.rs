//! Terminals refuse `RWF_NOWAIT` (EOPNOTSUPP) yet poll ready: a request on
//! one must still finish, once, with its bytes — not park and retry forever.

mod common;

use std::io::Read;
use std::os::fd::AsRawFd;
use std::time::Duration;

use common::pty;
use sysgate::{Gateway, ops};

/// Runs `f` on a thread and fails the test if it has not finished within
/// `limit` (a hang, not a slow machine: the limit is generous).
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(f()).unwrap());
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("did not finish within {limit:?}: hung"))
}

#[test]
fn a_mebibyte_written_to_a_terminal_arrives_intact() {
    let (controller, terminal) = pty();
    let data: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    let expected = data.clone();
    // Another thread reads the controller side while the write is in flight:
    // the terminal's buffer holds a few KiB, so the write must wait for room.
    let reader = std::thread::spawn(move || {
        let mut file = std::fs::File::from(controller);
        let mut got = vec![0; expected.len()];
        file.read_exact(&mut got).unwrap();
        got == expected
    });
    let stats = within(Duration::from_secs(30), move || {
        let gw = Gateway::new().unwrap();
        let (n, _) = gw.call(ops::Write::new(terminal.as_raw_fd(), data));
        assert_eq!(n.unwrap(), 1 << 20);
        drop(terminal);
        gw.stats()
    });
    assert!(
        reader.join().unwrap(),
        "the bytes read differ from those written"
    );
    // It could not finish inline (the terminal refuses RWF_NOWAIT): it went
    // to a worker, directly or after one wait for readiness.
    assert_eq!(stats.inline, 0, "{stats:?}");
    assert_eq!(stats.punted_unbounded, 1, "{stats:?}");
    assert_eq!(stats.completed, 1, "{stats:?}");
}

#[test]
fn a_read_from_a_terminal_returns_what_was_typed() {
    let (controller, terminal) = pty();
    let gw = Gateway::new().unwrap();
    // Submitted before anything is typed: it waits.
    let pending = gw.submit(ops::Read::new(terminal.as_raw_fd(), Vec::with_capacity(64)));
    std::thread::sleep(Duration::from_millis(50));
    let stats = gw.stats();
    assert_eq!(
        (stats.in_pool, stats.completed),
        (1, 0),
        "not waiting: {stats:?}"
    );
    let mut file = std::fs::File::from(controller);
    std::io::Write::write_all(&mut file, b"typed\n").unwrap();
    let (n, buf) = within(Duration::from_secs(30), move || pending.wait());
    assert_eq!((n.unwrap(), buf.as_slice()), (6, &b"typed\n"[..]));
}
