//! Readiness-engine benchmark: epoll (raw libc) vs io_uring `IORING_OP_POLL_ADD`.
//!
//! sysgate parks a call that got `EAGAIN` on a pollable fd until the fd is
//! ready, then retries it inline. This program measures the two candidate
//! readiness engines side by side, in one process, interleaved round by round:
//!
//! * A: epoll via raw libc. `EPOLL_CTL_ADD` with `EPOLLONESHOT` to arm,
//!   `EPOLL_CTL_MOD` to re-arm after a spurious wake-up, `EPOLL_CTL_DEL` once
//!   the request completed (the fd never stays registered afterwards).
//! * B: io_uring one-shot `IORING_OP_POLL_ADD` (the `io-uring` crate), reaped
//!   with `submit_and_wait`; cancelled with `POLL_REMOVE` or `ASYNC_CANCEL`.
//!
//! Scenarios: `ping_pong` (with a blocking-thread baseline), `many_idle`
//! (N = 1,000 and 10,000 socketpairs, or as many as `RLIMIT_NOFILE` allows,
//! with a no-engine send/recv baseline) and `arm_disarm`. Each round runs every variant once; the order of the
//! variants rotates from round to round so that no variant always runs first.
//! The first round is a warm-up and is not recorded.
//!
//! Self-contained on purpose: it uses only `libc` and `io-uring`, no sysgate API.
//!
//! Run: `cargo bench -p sysgate-exec --bench readiness` (full, about 1-2 min)
//! or `cargo bench -p sysgate-exec --bench readiness -- --quick` (under 20 s).

use std::fmt::Write as _;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use io_uring::{IoUring, opcode, squeue, types::Fd};

/// Submission-queue entries of the io_uring instance (arming N fds takes N/SQ_ENTRIES enters).
const SQ_ENTRIES: u32 = 4096;
/// Completion-queue entries: must hold every CQE of the largest batch (2 x 10,000 on cancel).
const CQ_ENTRIES: u32 = 32768;
/// `maxevents` for `epoll_wait`.
const EPOLL_BATCH: usize = 1024;
/// user_data tag of cancel/remove requests (poll requests use the plain index).
const CANCEL_TAG: u64 = 1 << 63;
/// Readiness token of the single fd in `ping_pong` and `arm_disarm`.
const TOKEN: u64 = 7;
/// File descriptors kept in reserve when sizing `many_idle`.
const FD_RESERVE: u64 = 32;

/// Wake-ups after which the retried `recv` still saw `EAGAIN` (and the fd was re-armed).
static SPURIOUS: AtomicU64 = AtomicU64::new(0);

// ---------------------------------------------------------------------------
// Small syscall helpers
// ---------------------------------------------------------------------------

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Panics with `what` and the OS error when a libc call returned a negative value.
fn check(ret: libc::c_int, what: &str) -> libc::c_int {
    if ret < 0 {
        panic!("{what} failed: {}", io::Error::last_os_error());
    }
    ret
}

fn errno_name(e: i32) -> String {
    let name = match e {
        libc::ENOSYS => "ENOSYS",
        libc::EPERM => "EPERM",
        libc::EACCES => "EACCES",
        libc::ENOMEM => "ENOMEM",
        libc::EINVAL => "EINVAL",
        libc::EMFILE => "EMFILE",
        _ => return format!("errno {e}: {}", io::Error::from_raw_os_error(e)),
    };
    format!("{name}: {}", io::Error::from_raw_os_error(e))
}

/// A connected AF_UNIX stream socketpair (close-on-exec; optionally both ends non-blocking).
fn try_socketpair(nonblock: bool) -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds: [RawFd; 2] = [-1; 2];
    let ty =
        libc::SOCK_STREAM | libc::SOCK_CLOEXEC | if nonblock { libc::SOCK_NONBLOCK } else { 0 };
    // SAFETY: `fds` is a writable array of two c_ints, as socketpair(2) requires.
    let ret = unsafe { libc::socketpair(libc::AF_UNIX, ty, 0, fds.as_mut_ptr()) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: socketpair succeeded, so both fds are open and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn socketpair(nonblock: bool) -> (OwnedFd, OwnedFd) {
    try_socketpair(nonblock)
        .unwrap_or_else(|e| panic!("socketpair(AF_UNIX, SOCK_STREAM) failed: {e}"))
}

fn set_nonblocking(fd: RawFd) {
    // SAFETY: F_GETFL on an fd we own has no memory-safety preconditions.
    let flags = check(unsafe { libc::fcntl(fd, libc::F_GETFL) }, "fcntl(F_GETFL)");
    // SAFETY: F_SETFL with an integer argument has no memory-safety preconditions.
    check(
        unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) },
        "fcntl(F_SETFL)",
    );
}

/// `recv` of one byte. `Some(n)` on success (0 = EOF), `None` on `EAGAIN`; panics otherwise.
fn recv1(fd: RawFd, flags: libc::c_int) -> Option<usize> {
    let mut byte = 0u8;
    loop {
        // SAFETY: `byte` is a valid, writable 1-byte buffer for the duration of the call.
        let n = unsafe { libc::recv(fd, (&raw mut byte).cast(), 1, flags) };
        if n >= 0 {
            return Some(n as usize);
        }
        match errno() {
            libc::EINTR => continue,
            libc::EAGAIN => return None,
            e => panic!("recv(fd {fd}) failed: {}", io::Error::from_raw_os_error(e)),
        }
    }
}

/// `send` of one byte; panics on failure (the socket buffer never fills in this program).
fn send1(fd: RawFd) {
    let byte = 1u8;
    loop {
        // SAFETY: `byte` is a valid, readable 1-byte buffer for the duration of the call.
        let n = unsafe { libc::send(fd, (&raw const byte).cast(), 1, libc::MSG_NOSIGNAL) };
        if n == 1 {
            return;
        }
        match errno() {
            libc::EINTR => continue,
            e => panic!(
                "send(fd {fd}) returned {n}: {}",
                io::Error::from_raw_os_error(e)
            ),
        }
    }
}

/// user + system CPU time of the whole process (all threads), in ns.
fn cpu_ns() -> u64 {
    // SAFETY: rusage is plain old data; all-zero is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage for the duration of the call.
    check(
        unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) },
        "getrusage",
    );
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Raises the RLIMIT_NOFILE soft limit to the hard limit; returns (soft, hard) in force.
fn raise_nofile() -> (u64, u64) {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `rl` is a valid, writable rlimit for the duration of the call.
    check(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) },
        "getrlimit(RLIMIT_NOFILE)",
    );
    if rl.rlim_cur < rl.rlim_max {
        let want = libc::rlimit {
            rlim_cur: rl.rlim_max,
            rlim_max: rl.rlim_max,
        };
        // SAFETY: `want` is a valid rlimit for the duration of the call.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &want) } == 0 {
            rl = want;
        } else {
            println!(
                "note: could not raise RLIMIT_NOFILE soft limit: {}",
                io::Error::last_os_error()
            );
        }
    }
    (rl.rlim_cur, rl.rlim_max)
}

fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as u64)
        .unwrap_or(16)
}

// ---------------------------------------------------------------------------
// Engine A: epoll
// ---------------------------------------------------------------------------

struct Epoll {
    fd: OwnedFd,
    events: Vec<libc::epoll_event>,
}

impl Epoll {
    fn new() -> Self {
        // SAFETY: epoll_create1 has no memory-safety preconditions.
        let fd = check(
            unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) },
            "epoll_create1",
        );
        // SAFETY: epoll_create1 succeeded, so `fd` is open and owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Self {
            fd,
            events: vec![libc::epoll_event { events: 0, u64: 0 }; EPOLL_BATCH],
        }
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, token: u64, what: &str) {
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLONESHOT) as u32,
            u64: token,
        };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call (ignored for DEL).
        check(
            unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd, &mut ev) },
            what,
        );
    }

    /// Arms `fd` for one POLLIN notification carrying `token`.
    fn arm(&self, fd: RawFd, token: u64) {
        self.ctl(libc::EPOLL_CTL_ADD, fd, token, "epoll_ctl(ADD)");
    }

    /// Re-arms a registered one-shot fd whose notification has been consumed.
    fn rearm(&self, fd: RawFd, token: u64) {
        self.ctl(libc::EPOLL_CTL_MOD, fd, token, "epoll_ctl(MOD)");
    }

    /// Removes the registration of `fd`.
    fn disarm(&self, fd: RawFd) {
        self.ctl(libc::EPOLL_CTL_DEL, fd, 0, "epoll_ctl(DEL)");
    }

    /// Blocks until at least one event; returns how many were stored in `self.events`.
    fn wait(&mut self) -> usize {
        loop {
            // SAFETY: `events` is a writable buffer of `events.len()` epoll_events.
            let n = unsafe {
                libc::epoll_wait(
                    self.fd.as_raw_fd(),
                    self.events.as_mut_ptr(),
                    self.events.len() as libc::c_int,
                    -1,
                )
            };
            if n > 0 {
                return n as usize;
            }
            if n < 0 && errno() != libc::EINTR {
                panic!("epoll_wait failed: {}", io::Error::last_os_error());
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Engine B: io_uring POLL_ADD
// ---------------------------------------------------------------------------

struct Uring {
    ring: IoUring,
}

impl Uring {
    fn new() -> io::Result<Self> {
        let ring = IoUring::builder()
            .setup_cqsize(CQ_ENTRIES)
            .build(SQ_ENTRIES)?;
        Ok(Self { ring })
    }

    fn poll_add(fd: RawFd, token: u64) -> squeue::Entry {
        opcode::PollAdd::new(Fd(fd), libc::POLLIN as u32)
            .build()
            .user_data(token)
    }

    /// Queues `entry` (not yet submitted), submitting first if the SQ is full.
    fn push(&mut self, entry: &squeue::Entry) {
        loop {
            // SAFETY: poll/cancel entries reference no user memory, so nothing must outlive them.
            if unsafe { self.ring.submission().push(entry) }.is_ok() {
                return;
            }
            self.enter(0);
        }
    }

    /// `io_uring_enter`: submits everything queued and waits for `want` completions.
    fn enter(&self, want: usize) {
        loop {
            match self.ring.submit_and_wait(want) {
                Ok(_) => return,
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                Err(e) => panic!("io_uring_enter(want={want}) failed: {e}"),
            }
        }
    }

    /// Hands every available CQE to `f`; returns how many there were (no syscall).
    fn reap(&mut self, mut f: impl FnMut(u64, i32)) -> usize {
        let mut n = 0;
        for cqe in self.ring.completion() {
            f(cqe.user_data(), cqe.result());
            n += 1;
        }
        n
    }

    /// Returns the next CQE, submitting queued SQEs and sleeping if there is none.
    fn next(&mut self) -> (u64, i32) {
        loop {
            if let Some(cqe) = self.ring.completion().next() {
                return (cqe.user_data(), cqe.result());
            }
            self.enter(1);
        }
    }
}

// ---------------------------------------------------------------------------
// Measurement plumbing
// ---------------------------------------------------------------------------

#[derive(Clone, Copy)]
struct Sample {
    /// Primary value of the sample (ns per op, or µs total for `many_idle` phases).
    value: f64,
    /// Process CPU ns consumed while taking the sample.
    cpu_ns: u64,
    /// Operations covered by `cpu_ns`.
    ops: u64,
}

#[derive(Default)]
struct Series {
    values: Vec<f64>,
    cpu_ns: u64,
    ops: u64,
}

impl Series {
    fn add(&mut self, s: Sample) {
        self.values.push(s.value);
        self.cpu_ns += s.cpu_ns;
        self.ops += s.ops;
    }

    fn median(&self) -> f64 {
        let mut v = self.values.clone();
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    }

    fn min(&self) -> f64 {
        self.values.iter().copied().fold(f64::INFINITY, f64::min)
    }

    fn max(&self) -> f64 {
        self.values
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max)
    }

    fn cpu_per_op(&self) -> f64 {
        self.cpu_ns as f64 / self.ops.max(1) as f64
    }
}

/// Runs `f` once, returning (wall ns, process CPU ns).
fn timed(f: impl FnOnce()) -> (f64, u64) {
    let c0 = cpu_ns();
    let t0 = Instant::now();
    f();
    let wall = t0.elapsed().as_nanos() as f64;
    (wall, cpu_ns() - c0)
}

/// Runs `rounds + warmup` rounds of `run(variant_index)` over `n` variants, rotating the
/// starting variant every round; drops the warm-up rounds.
fn interleave(n: usize, warmup: usize, rounds: usize, mut run: impl FnMut(usize, bool)) {
    for round in 0..warmup + rounds {
        for k in 0..n {
            run((round + k) % n, round >= warmup);
        }
    }
}

fn fmt_ratio(v: f64, a: f64) -> String {
    if a > 0.0 && v.is_finite() {
        format!("{:.2}", v / a)
    } else {
        "-".into()
    }
}

struct Config {
    quick: bool,
    warmup: usize,
    rounds: usize,
    pp_trips: usize,
    idle_rounds: usize,
    ad_ops: usize,
}

// ---------------------------------------------------------------------------
// Scenario 1: ping_pong
// ---------------------------------------------------------------------------

/// Echo peer on a blocking socket: recv one byte, send one byte back, until EOF.
fn spawn_echo(fd: OwnedFd) -> JoinHandle<()> {
    thread::Builder::new()
        .name("echo-peer".into())
        .spawn(move || {
            let raw = fd.as_raw_fd();
            while recv1(raw, 0) == Some(1) {
                send1(raw);
            }
        })
        .unwrap_or_else(|e| panic!("spawning the echo peer thread failed: {e}"))
}

fn expect_eagain(fd: RawFd) {
    if let Some(n) = recv1(fd, libc::MSG_DONTWAIT) {
        panic!("recv before the ping returned {n}, expected EAGAIN");
    }
}

/// Round trip with engine A: recv→EAGAIN, ADD(ONESHOT), ping, epoll_wait, recv, DEL.
fn pp_epoll(fd: RawFd, ep: &mut Epoll) {
    expect_eagain(fd);
    ep.arm(fd, TOKEN);
    send1(fd);
    loop {
        let n = ep.wait();
        assert!(
            n == 1 && ep.events[0].u64 == TOKEN,
            "unexpected epoll event"
        );
        match recv1(fd, libc::MSG_DONTWAIT) {
            Some(1) => break,
            Some(n) => panic!("peer closed (recv returned {n})"),
            None => {
                SPURIOUS.fetch_add(1, Ordering::Relaxed);
                ep.rearm(fd, TOKEN);
            }
        }
    }
    ep.disarm(fd);
}

/// Round trip with engine B: recv→EAGAIN, POLL_ADD (submitted at once unless `batched`),
/// ping, submit_and_wait(1), recv. One-shot: nothing to remove afterwards.
fn pp_uring(fd: RawFd, ur: &mut Uring, batched: bool) {
    expect_eagain(fd);
    let sqe = Uring::poll_add(fd, TOKEN);
    ur.push(&sqe);
    if !batched {
        ur.enter(0);
    }
    send1(fd);
    loop {
        let (ud, res) = ur.next();
        assert!(
            ud == TOKEN && res > 0,
            "unexpected CQE user_data={ud} res={res}"
        );
        match recv1(fd, libc::MSG_DONTWAIT) {
            Some(1) => break,
            Some(n) => panic!("peer closed (recv returned {n})"),
            None => {
                SPURIOUS.fetch_add(1, Ordering::Relaxed);
                ur.push(&sqe);
                if !batched {
                    ur.enter(0);
                }
            }
        }
    }
}

/// Round trip without a readiness engine: blocking send, blocking recv.
fn pp_blocking(fd: RawFd) {
    send1(fd);
    assert_eq!(
        recv1(fd, 0),
        Some(1),
        "blocking recv did not return the echo"
    );
}

struct Variant {
    name: &'static str,
    syscalls: &'static str,
}

/// One row per variant (name column `width` wide, costs per `unit`),
/// ratios against `series[base]`.
fn write_table(
    out: &mut String,
    width: usize,
    unit: &str,
    variants: &[Variant],
    series: &[Series],
    base: usize,
) {
    let (cpu, sys) = (format!("cpu ns/{unit}"), format!("syscalls/{unit}"));
    let (cw, sw) = (cpu.len().max(9), sys.len().max(11));
    let _ = writeln!(
        out,
        "{:<width$} {:>10} {:>10} {:>10} {:>7} {:>8} {cpu:>cw$} {sys:>sw$}",
        "variant", "median ns", "min ns", "max ns", "x/A", "cpu s"
    );
    let a = series[base].median();
    for (v, s) in variants.iter().zip(series) {
        let _ = writeln!(
            out,
            "{:<width$} {:>10.0} {:>10.0} {:>10.0} {:>7} {:>8.3} {:>cw$.0} {:>sw$}",
            v.name,
            s.median(),
            s.min(),
            s.max(),
            fmt_ratio(s.median(), a),
            s.cpu_ns as f64 / 1e9,
            s.cpu_per_op(),
            v.syscalls
        );
    }
}

fn scenario_ping_pong(
    cfg: &Config,
    ep: &mut Epoll,
    ur: Option<&mut Uring>,
    uring_err: &str,
    out: &mut String,
) {
    let mut variants = vec![
        Variant {
            name: "baseline: blocking recv/send",
            syscalls: "2 (+2 peer)",
        },
        Variant {
            name: "A epoll ONESHOT+DEL",
            syscalls: "6 (+2 peer)",
        },
    ];
    if ur.is_some() {
        variants.push(Variant {
            name: "B io_uring POLL_ADD",
            syscalls: "5 (+2 peer)",
        });
        variants.push(Variant {
            name: "B' io_uring, arm batched",
            syscalls: "4 (+2 peer)",
        });
    }
    let mut ur = ur;
    // One socketpair + echo thread per variant; the main side of the readiness variants is
    // non-blocking, the peers' sides are blocking.
    let mut mains = Vec::new();
    let mut peers = Vec::new();
    for i in 0..variants.len() {
        let (main, peer) = socketpair(false);
        if i > 0 {
            set_nonblocking(main.as_raw_fd());
        }
        peers.push(spawn_echo(peer));
        mains.push(main);
    }
    let mut series: Vec<Series> = variants.iter().map(|_| Series::default()).collect();
    let trips = cfg.pp_trips;
    interleave(variants.len(), cfg.warmup, cfg.rounds, |v, record| {
        let fd = mains[v].as_raw_fd();
        let (wall, cpu) = timed(|| {
            for _ in 0..trips {
                match v {
                    0 => pp_blocking(fd),
                    1 => pp_epoll(fd, ep),
                    2 => pp_uring(fd, ur.as_deref_mut().expect("io_uring present"), false),
                    _ => pp_uring(fd, ur.as_deref_mut().expect("io_uring present"), true),
                }
            }
        });
        if record {
            series[v].add(Sample {
                value: wall / trips as f64,
                cpu_ns: cpu,
                ops: trips as u64,
            });
        }
    });
    drop(mains); // EOF ends the echo threads
    for p in peers {
        p.join()
            .unwrap_or_else(|_| panic!("echo peer thread panicked"));
    }

    let _ = writeln!(
        out,
        "\n== ping_pong: one socketpair, peer thread echoes 1 byte ({trips} round trips per sample) =="
    );
    write_table(out, 30, "trip", &variants, &series, 1);
    if variants.len() == 2 {
        let _ = writeln!(
            out,
            "{:<30} skipped: io_uring unavailable ({uring_err})",
            "B io_uring POLL_ADD"
        );
    }
}

// ---------------------------------------------------------------------------
// Scenario 2: many_idle
// ---------------------------------------------------------------------------

/// Phase timings of one arm → fire → consume → deregister → (re-arm) → cancel cycle, in ns.
#[derive(Clone, Copy, Default)]
struct IdlePhases {
    arm: f64,
    ready: f64,
    dereg: f64,
    cancel: f64,
}

/// Engine A over every pair: ADD all, send to all peers + epoll_wait + recv all,
/// DEL all fired registrations, then ADD all again (untimed) and DEL them while idle.
fn idle_epoll(pairs: &[(OwnedFd, OwnedFd)], ep: &mut Epoll) -> IdlePhases {
    let n = pairs.len();
    let (arm, _) = timed(|| {
        for (i, (main, _)) in pairs.iter().enumerate() {
            ep.arm(main.as_raw_fd(), i as u64);
        }
    });
    let (ready, _) = timed(|| {
        for (_, peer) in pairs {
            send1(peer.as_raw_fd());
        }
        let mut done = 0;
        while done < n {
            let got = ep.wait();
            for k in 0..got {
                let idx = ep.events[k].u64 as usize;
                let fd = pairs[idx].0.as_raw_fd();
                match recv1(fd, libc::MSG_DONTWAIT) {
                    Some(1) => done += 1,
                    Some(r) => panic!("many_idle: recv returned {r}"),
                    None => {
                        SPURIOUS.fetch_add(1, Ordering::Relaxed);
                        ep.rearm(fd, idx as u64);
                    }
                }
            }
        }
    });
    let (dereg, _) = timed(|| {
        for (main, _) in pairs {
            ep.disarm(main.as_raw_fd());
        }
    });
    for (i, (main, _)) in pairs.iter().enumerate() {
        ep.arm(main.as_raw_fd(), i as u64);
    }
    let (cancel, _) = timed(|| {
        for (main, _) in pairs {
            ep.disarm(main.as_raw_fd());
        }
    });
    IdlePhases {
        arm,
        ready,
        dereg,
        cancel,
    }
}

/// Engine B over every pair: POLL_ADD all, send to all peers + reap + recv all (the
/// one-shot polls are gone once their CQE is posted), then POLL_ADD all again (untimed)
/// and POLL_REMOVE them while idle.
fn idle_uring(pairs: &[(OwnedFd, OwnedFd)], ur: &mut Uring) -> IdlePhases {
    let n = pairs.len();
    let (arm, _) = timed(|| {
        for (i, (main, _)) in pairs.iter().enumerate() {
            ur.push(&Uring::poll_add(main.as_raw_fd(), i as u64));
        }
        ur.enter(0);
    });
    let mut rearm = Vec::new();
    let (ready, _) = timed(|| {
        for (_, peer) in pairs {
            send1(peer.as_raw_fd());
        }
        let mut done = 0;
        while done < n {
            ur.reap(|ud, res| {
                assert!(
                    res > 0 && (ud as usize) < n,
                    "many_idle: unexpected CQE user_data={ud} res={res}"
                );
                match recv1(pairs[ud as usize].0.as_raw_fd(), libc::MSG_DONTWAIT) {
                    Some(1) => done += 1,
                    Some(r) => panic!("many_idle: recv returned {r}"),
                    None => rearm.push(ud),
                }
            });
            for ud in rearm.drain(..) {
                SPURIOUS.fetch_add(1, Ordering::Relaxed);
                ur.push(&Uring::poll_add(pairs[ud as usize].0.as_raw_fd(), ud));
            }
            if done < n {
                ur.enter(1);
            }
        }
    });
    for (i, (main, _)) in pairs.iter().enumerate() {
        ur.push(&Uring::poll_add(main.as_raw_fd(), i as u64));
    }
    ur.enter(0);
    let (cancel, _) = timed(|| {
        for i in 0..n as u64 {
            ur.push(&opcode::PollRemove::new(i).build().user_data(CANCEL_TAG | i));
        }
        let mut done = 0;
        while done < 2 * n {
            done += ur.reap(|ud, res| {
                let want = if ud & CANCEL_TAG != 0 {
                    0
                } else {
                    -libc::ECANCELED
                };
                assert_eq!(res, want, "many_idle cancel: CQE user_data={ud:#x}");
            });
            if done < 2 * n {
                ur.enter(1);
            }
        }
    });
    IdlePhases {
        arm,
        ready,
        dereg: 0.0,
        cancel,
    }
}

/// No readiness engine: send to every peer, then recv every main side (the floor of "ready").
fn idle_baseline(pairs: &[(OwnedFd, OwnedFd)]) -> IdlePhases {
    let (ready, _) = timed(|| {
        for (_, peer) in pairs {
            send1(peer.as_raw_fd());
        }
        for (main, _) in pairs {
            let got = recv1(main.as_raw_fd(), libc::MSG_DONTWAIT);
            assert_eq!(got, Some(1), "many_idle baseline: recv");
        }
    });
    IdlePhases {
        ready,
        ..IdlePhases::default()
    }
}

fn scenario_many_idle(
    cfg: &Config,
    ep: &mut Epoll,
    mut ur: Option<&mut Uring>,
    uring_err: &str,
    out: &mut String,
) {
    let (soft, hard) = raise_nofile();
    for requested in [1_000u64, 10_000] {
        let avail = soft.saturating_sub(open_fds() + FD_RESERVE) / 2;
        let (n, note) = if avail >= requested {
            (requested, String::new())
        } else {
            let n = avail / 100 * 100;
            (
                n,
                format!(
                    " ({requested} requested; RLIMIT_NOFILE {soft}/{hard} leaves room for {avail} pairs)"
                ),
            )
        };
        if n < requested / 2 {
            let _ = writeln!(out, "\n== many_idle N={requested}: skipped{note} ==");
            continue;
        }
        let n = n as usize;
        let mut pairs = Vec::with_capacity(n);
        for _ in 0..n {
            match try_socketpair(true) {
                Ok(p) => pairs.push(p),
                Err(e) => {
                    let _ = writeln!(
                        out,
                        "\n== many_idle N={n}: skipped, socketpair failed after {} pairs: {e} ==",
                        pairs.len()
                    );
                    break;
                }
            }
        }
        if pairs.len() < n {
            continue;
        }
        // Repeat the cycle inside one sample for small N so a sample lasts long enough.
        let reps = (5_000 / n).max(1);
        // Variants: 0 = epoll, 1 = io_uring (if available), last = no engine (baseline).
        let engines = if ur.is_some() { 2 } else { 1 };
        let nv = engines + 1;
        let mut phases: Vec<[Series; 4]> = (0..nv).map(|_| Default::default()).collect();
        let mut cpu: Vec<Series> = (0..nv).map(|_| Series::default()).collect();
        interleave(nv, cfg.warmup, cfg.idle_rounds, |v, record| {
            let mut acc = IdlePhases::default();
            let (_, c) = timed(|| {
                for _ in 0..reps {
                    let p = if v == engines {
                        idle_baseline(&pairs)
                    } else if v == 0 {
                        idle_epoll(&pairs, ep)
                    } else {
                        idle_uring(&pairs, ur.as_deref_mut().expect("io_uring present"))
                    };
                    acc.arm += p.arm;
                    acc.ready += p.ready;
                    acc.dereg += p.dereg;
                    acc.cancel += p.cancel;
                }
            });
            if record {
                let r = reps as f64 * 1e3; // ns summed over reps -> µs per cycle
                for (s, val) in phases[v]
                    .iter_mut()
                    .zip([acc.arm, acc.ready, acc.dereg, acc.cancel])
                {
                    s.add(Sample {
                        value: val / r,
                        cpu_ns: 0,
                        ops: 0,
                    });
                }
                cpu[v].add(Sample {
                    value: 0.0,
                    cpu_ns: c,
                    ops: (reps * n) as u64,
                });
            }
        });
        drop(pairs);

        let _ = writeln!(
            out,
            "\n== many_idle N={n}{note}: {reps} cycle(s) per sample =="
        );
        let _ = writeln!(
            out,
            "{:<44} {:<10} {:>10} {:>10} {:>10} {:>8} {:>6} {:>13}",
            "phase", "engine", "median µs", "min µs", "max µs", "ns/fd", "x/A", "syscalls/fd"
        );
        let phase_info: [(&str, [&str; 2]); 4] = [
            ("arm N (ADD / POLL_ADD)", ["1", "1/4096"]),
            ("ready: send N + wait + recv N", ["2+1/1024", "2+~0"]),
            ("deregister fired (DEL / none: one-shot)", ["1", "0"]),
            ("cancel N idle (DEL / POLL_REMOVE)", ["1", "1/4096+~0"]),
        ];
        for (p, (label, sys)) in phase_info.iter().enumerate() {
            let a = phases[0][p].median();
            for (v, engine) in ["A epoll", "B io_uring"].iter().enumerate().take(engines) {
                let s = &phases[v][p];
                let m = s.median();
                let _ = writeln!(
                    out,
                    "{:<44} {:<10} {:>10.1} {:>10.1} {:>10.1} {:>8.0} {:>6} {:>13}",
                    if v == 0 { *label } else { "" },
                    engine,
                    m,
                    s.min(),
                    s.max(),
                    m * 1e3 / n as f64,
                    if v == 0 || m == 0.0 {
                        "-".to_string()
                    } else {
                        fmt_ratio(m, a)
                    },
                    sys[v]
                );
            }
            if engines == 1 {
                let _ = writeln!(
                    out,
                    "{:<44} {:<10} skipped: io_uring unavailable ({uring_err})",
                    "", "B io_uring"
                );
            }
            if p == 1 {
                let m = phases[engines][1].median();
                let _ = writeln!(
                    out,
                    "{:<44} {:<10} {:>10.1} {:>10.1} {:>10.1} {:>8.0} {:>6} {:>13}",
                    "",
                    "no engine",
                    m,
                    phases[engines][1].min(),
                    phases[engines][1].max(),
                    m * 1e3 / n as f64,
                    fmt_ratio(m, a),
                    "2"
                );
            }
        }
        let total = |v: usize| -> f64 { (0..4).map(|p| phases[v][p].median()).sum() };
        for (v, engine) in ["A epoll", "B io_uring"].iter().enumerate().take(engines) {
            let _ = writeln!(
                out,
                "{:<44} {:<10} {:>10.1} {:>32} {:>6}   cpu {:.3} s, {:.0} ns/fd-cycle",
                if v == 0 {
                    "whole cycle (sum of medians)"
                } else {
                    ""
                },
                engine,
                total(v),
                "",
                if v == 0 {
                    "-".to_string()
                } else {
                    fmt_ratio(total(v), total(0))
                },
                cpu[v].cpu_ns as f64 / 1e9,
                cpu[v].cpu_per_op()
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Scenario 3: arm_disarm
// ---------------------------------------------------------------------------

fn ad_epoll(fd: RawFd, ep: &Epoll) {
    ep.arm(fd, TOKEN);
    ep.disarm(fd);
}

/// POLL_ADD submitted, then the cancel SQE submitted + both CQEs awaited in one enter.
fn ad_uring(fd: RawFd, ur: &mut Uring, async_cancel: bool) {
    ur.push(&Uring::poll_add(fd, TOKEN));
    ur.enter(0);
    let cancel = if async_cancel {
        opcode::AsyncCancel::new(TOKEN).build()
    } else {
        opcode::PollRemove::new(TOKEN).build()
    };
    ur.push(&cancel.user_data(CANCEL_TAG | TOKEN));
    let mut done = 0;
    while done < 2 {
        done += ur.reap(|ud, res| {
            let want = if ud == CANCEL_TAG | TOKEN {
                0
            } else {
                -libc::ECANCELED
            };
            assert_eq!(res, want, "arm_disarm: CQE user_data={ud:#x}");
        });
        if done < 2 {
            ur.enter(2 - done);
        }
    }
}

fn scenario_arm_disarm(
    cfg: &Config,
    ep: &mut Epoll,
    ur: Option<&mut Uring>,
    uring_err: &str,
    out: &mut String,
) {
    let mut variants = vec![Variant {
        name: "A epoll ADD + DEL",
        syscalls: "2",
    }];
    if ur.is_some() {
        variants.push(Variant {
            name: "B io_uring POLL_ADD + POLL_REMOVE",
            syscalls: "2",
        });
        variants.push(Variant {
            name: "B io_uring POLL_ADD + ASYNC_CANCEL",
            syscalls: "2",
        });
    }
    let mut ur = ur;
    let (main, _peer) = socketpair(true);
    let fd = main.as_raw_fd();
    let ops = cfg.ad_ops;
    let mut series: Vec<Series> = variants.iter().map(|_| Series::default()).collect();
    interleave(variants.len(), cfg.warmup, cfg.rounds, |v, record| {
        let (wall, cpu) = timed(|| {
            for _ in 0..ops {
                match v {
                    0 => ad_epoll(fd, ep),
                    1 => ad_uring(fd, ur.as_deref_mut().expect("io_uring present"), false),
                    _ => ad_uring(fd, ur.as_deref_mut().expect("io_uring present"), true),
                }
            }
        });
        if record {
            series[v].add(Sample {
                value: wall / ops as f64,
                cpu_ns: cpu,
                ops: ops as u64,
            });
        }
    });

    let _ = writeln!(
        out,
        "\n== arm_disarm: arm then cancel, never ready ({ops} ops per sample) =="
    );
    write_table(out, 36, "op", &variants, &series, 0);
    if variants.len() == 1 {
        let _ = writeln!(
            out,
            "{:<36} skipped: io_uring unavailable ({uring_err})",
            "B io_uring POLL_ADD + cancel"
        );
    }
}

// ---------------------------------------------------------------------------

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}

/// Median ns of one `getppid` syscall: the syscall entry/exit floor on this machine.
fn null_syscall_ns() -> f64 {
    let mut s = Series::default();
    for _ in 0..7 {
        let (wall, _) = timed(|| {
            for _ in 0..20_000 {
                // SAFETY: getppid has no preconditions and cannot fail.
                std::hint::black_box(unsafe { libc::getppid() });
            }
        });
        s.values.push(wall / 20_000.0);
    }
    s.median()
}

fn main() {
    // cargo passes `--bench`; `--quick` selects the short run, other flags are ignored, and
    // plain words select scenarios by substring (`ping_pong`, `many_idle`, `arm_disarm`).
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let selected =
        |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
    let cfg = if quick {
        Config {
            quick,
            warmup: 1,
            rounds: 7,
            pp_trips: 3_000,
            idle_rounds: 7,
            ad_ops: 10_000,
        }
    } else {
        Config {
            quick,
            warmup: 1,
            rounds: 21,
            pp_trips: 20_000,
            idle_rounds: 21,
            ad_ops: 50_000,
        }
    };
    let started = Instant::now();
    let mut ep = Epoll::new();
    let (mut ur, uring_err) = match Uring::new() {
        Ok(u) => (Some(u), String::new()),
        Err(e) => (None, errno_name(e.raw_os_error().unwrap_or(0))),
    };

    println!(
        "sysgate readiness benchmark: {} mode, {} warm-up + {} measured rounds, variants interleaved (rotating order)",
        if cfg.quick { "quick" } else { "full" },
        cfg.warmup,
        cfg.rounds
    );
    println!(
        "kernel {}, {} cpus, pid {}, null syscall (getppid) {:.0} ns",
        kernel_release(),
        thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        std::process::id(),
        null_syscall_ns()
    );
    match &ur {
        Some(u) => println!(
            "io_uring: available (sq {}, cq {}, fast_poll {}, nodrop {})",
            SQ_ENTRIES,
            u.ring.params().cq_entries(),
            u.ring.params().is_feature_fast_poll(),
            u.ring.params().is_feature_nodrop()
        ),
        None => println!("io_uring: skipped: io_uring unavailable ({uring_err})"),
    }
    println!(
        "x/A = median of the row / median of engine A; cpu = getrusage(RUSAGE_SELF) user+sys over the measured rounds"
    );

    let mut out = String::new();
    if selected("ping_pong") {
        scenario_ping_pong(&cfg, &mut ep, ur.as_mut(), &uring_err, &mut out);
        print!("{out}");
        out.clear();
    }
    if selected("many_idle") {
        scenario_many_idle(&cfg, &mut ep, ur.as_mut(), &uring_err, &mut out);
        print!("{out}");
        out.clear();
    }
    if selected("arm_disarm") {
        scenario_arm_disarm(&cfg, &mut ep, ur.as_mut(), &uring_err, &mut out);
        print!("{out}");
        out.clear();
    }

    println!(
        "\nspurious wake-ups (re-armed): {}; wall time {:.1} s",
        SPURIOUS.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
    println!(
        "syscalls per op, main thread, read off the code (the echo peer adds recv + send per trip):"
    );
    for line in [
        "  ping_pong  A   6: recv(EAGAIN), epoll_ctl(ADD), send, epoll_wait, recv, epoll_ctl(DEL)",
        "             B   5: recv(EAGAIN), io_uring_enter(submit POLL_ADD), send, io_uring_enter(wait), recv",
        "             B'  4: as B, but the POLL_ADD rides in the waiting io_uring_enter",
        "  many_idle  A   per fd: epoll_ctl(ADD), send, recv, epoll_ctl(DEL); + epoll_wait per <=1024 events",
        "             B   per fd: send, recv; + io_uring_enter per 4096 SQEs (+ a wait only if no CQE is ready);",
        "                 a fired one-shot POLL_ADD needs no removal; cancelling idle ones batches like arming",
        "             no engine: send + recv per fd, nothing armed (the floor under the ready phase)",
        "  arm_disarm A   2: epoll_ctl(ADD), epoll_ctl(DEL)",
        "             B   2: io_uring_enter(submit POLL_ADD), io_uring_enter(submit cancel + wait for 2 CQEs)",
    ] {
        println!("{line}");
    }
}
