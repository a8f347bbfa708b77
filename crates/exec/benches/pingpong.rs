//! Ping-pong latency over a socketpair: a `recv` through sysgate (parked on
//! readiness, retried inline) against a plain blocking `recv`, with the same
//! echo thread on the other end, interleaved in one run.
//!
//! `cargo bench -p sysgate-exec --bench pingpong [-- --quick]`. The full
//! `sockets` scenario (1,000 pairs, threads, punt-per-recv) is in
//! `sysgate-bench`.

use std::time::{Duration, Instant};

use sysgate_exec::Executor;
use sysgate_proto::{Arg, Buffer, Completion, Op, Submission, SyscallOp, decode, encode_to_vec};
use sysgate_ring::{Region, RegionSizes};

fn socketpair() -> (i32, i32) {
    let mut fds = [0; 2];
    // SAFETY: socketpair writes two fds into the array.
    let rc = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, fds.as_mut_ptr()) };
    assert_eq!(rc, 0);
    (fds[0], fds[1])
}

fn send1(fd: i32) {
    // SAFETY: a one-byte buffer on the stack.
    assert_eq!(unsafe { libc::send(fd, b"p".as_ptr().cast(), 1, 0) }, 1);
}

fn recv1(fd: i32) -> isize {
    let mut b = [0u8; 1];
    // SAFETY: a one-byte buffer on the stack.
    unsafe { libc::recv(fd, b.as_mut_ptr().cast(), 1, 0) }
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (rounds, trips) = if quick { (5, 2_000) } else { (15, 10_000) };
    let (a, b) = socketpair();
    // The echo thread: blocking recv then send, forever (until the pair closes).
    let echo = std::thread::spawn(move || {
        while recv1(b) == 1 {
            send1(b);
        }
    });
    let region = Region::create(RegionSizes {
        sq_bytes: 1 << 16,
        cq_bytes: 1 << 16,
        max_frame: 4096,
    })
    .unwrap();
    let mut exec =
        Executor::builder().build(region.sq_consumer().unwrap(), region.cq_producer().unwrap());
    let (mut sq, mut cq) = (region.sq_producer().unwrap(), region.cq_consumer().unwrap());
    let recv = Submission::new(
        1,
        Op::Syscall(SyscallOp {
            nr: libc::SYS_recvfrom as u32,
            args: [
                Arg::Imm(a as u64),
                Arg::Buf(0),
                Arg::Imm(1),
                Arg::Imm(0),
                Arg::Imm(0),
                Arg::Imm(0),
            ]
            .into_iter()
            .collect(),
            bufs: vec![Buffer::Out(1)],
            relocs: vec![],
        }),
    );
    let frame = encode_to_vec(&recv).unwrap();
    let mut out = Vec::new();
    let mut sysgate_trip = || {
        send1(a);
        sq.push(frame.as_slice()).unwrap();
        exec.enter(1, 1, Some(Duration::from_secs(5))).unwrap();
        cq.pop(&mut out).unwrap().unwrap();
        let c: Completion = decode(&out).unwrap();
        assert_eq!(c.result, 1);
    };
    let mut blocking_trip = || {
        send1(a);
        assert_eq!(recv1(a), 1);
    };
    let (mut s, mut base) = (Vec::new(), Vec::new());
    for round in 0..=rounds {
        let time = |f: &mut dyn FnMut()| {
            let t = Instant::now();
            for _ in 0..trips {
                f();
            }
            t.elapsed().as_nanos() as f64 / trips as f64
        };
        let (x, y) = if round % 2 == 0 {
            let x = time(&mut sysgate_trip);
            (x, time(&mut blocking_trip))
        } else {
            let y = time(&mut blocking_trip);
            (time(&mut sysgate_trip), y)
        };
        if round > 0 {
            s.push(x);
            base.push(y);
        }
    }
    let (sm, smin, smax) = median(s);
    let (bm, bmin, bmax) = median(base);
    println!(
        "ping-pong over a socketpair, ns per round trip, {rounds} interleaved rounds of {trips}"
    );
    println!(
        "{:<34} {:>9} {:>9} {:>9} {:>7}",
        "variant", "median", "min", "max", "ratio"
    );
    println!(
        "{:<34} {:>9.0} {:>9.0} {:>9.0} {:>7.2}",
        "blocking recv/send, two threads", bm, bmin, bmax, 1.0
    );
    println!(
        "{:<34} {:>9.0} {:>9.0} {:>9.0} {:>7.2}",
        "sysgate recv (poll-armed)",
        sm,
        smin,
        smax,
        sm / bm
    );
    let st = exec.stats();
    println!(
        "sysgate: {} inline, {} parked then polled, {} pool",
        st.inline, st.polled, st.punted_unbounded
    );
    // SAFETY: closing our end ends the echo thread's recv loop.
    unsafe { libc::shutdown(a, libc::SHUT_RDWR) };
    let _ = echo.join();
}
