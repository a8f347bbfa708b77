//! A real second process mapping the same memfd.
//!
//! The tests re-run this test binary as the peer: `peer_process` (ignored, so
//! it never runs on its own) reads its role from `SYSGATE_RING_PEER` and gets
//! the memfd either over a Unix socket with `SCM_RIGHTS` or inherited.
#![cfg(not(loom))]

mod common;

use std::fs::File;
use std::io::{IoSlice, IoSliceMut, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};
use sysgate_ring::{CompletionPoster, Consumer, Producer, Region, RegionSizes, WaitStatus, layout};

const ROLE: &str = "SYSGATE_RING_PEER";
const SOCKET: &str = "SYSGATE_RING_SOCKET";
const FD: &str = "SYSGATE_RING_FD";

const FRAMES: u64 = 1_000_000;
const SPREAD: u64 = 240;
/// Salts of the two streams.
const TO_PEER: u64 = 0xa11ce;
const FROM_PEER: u64 = 0xb0b;
/// No progress for this long means the other side is gone.
const STALL: Duration = Duration::from_secs(60);
/// Rounds of 64 hostile writes the scribbling peer makes.
const HOSTILE_ROUNDS: u32 = 20_000;

// ---------------------------------------------------------------- plumbing

struct Peer {
    child: Child,
    log: PathBuf,
}

fn spawn_peer(role: &str, env: &[(&str, String)]) -> Peer {
    let log = std::env::temp_dir().join(format!(
        "sysgate-ring-peer-{}-{role}.log",
        std::process::id()
    ));
    let out = File::create(&log).unwrap();
    let err = out.try_clone().unwrap();
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "peer_process",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(ROLE, role)
    .stdin(Stdio::null())
    .stdout(out)
    .stderr(err);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Peer {
        child: cmd.spawn().unwrap(),
        log,
    }
}

/// Counts a call of the hostile test: `Ok`, or a typed error.
fn tally(ok: &mut u64, errors: &mut u64, r: Result<(), String>) {
    match r {
        Ok(()) => *ok += 1,
        Err(_) => *errors += 1,
    }
}

impl Peer {
    /// Whether the peer has exited.
    fn is_finished(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some()
    }

    /// Waits for the peer to exit successfully (kills it after `limit`).
    fn finish(mut self, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("peer still running after {limit:?}:\n{}", self.log());
            }
            thread::sleep(Duration::from_millis(5));
        };
        let log = self.log();
        let _ = std::fs::remove_file(&self.log);
        assert!(status.success(), "peer failed ({status}):\n{log}");
        log
    }

    fn log(&self) -> String {
        let mut s = String::new();
        let _ = File::open(&self.log).and_then(|mut f| f.read_to_string(&mut s));
        s
    }
}

/// The peer's own report lines (libtest prefixes the first one).
fn peer_lines(log: &str) -> String {
    log.lines()
        .filter_map(|l| l.find("peer:").map(|i| &l[i..]))
        .collect::<Vec<_>>()
        .join("\n")
}

fn send_fd(sock: &UnixStream, fd: RawFd) {
    let fds = [fd];
    let iov = [IoSlice::new(b"F")];
    sendmsg::<()>(
        sock.as_raw_fd(),
        &iov,
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .unwrap();
}

fn recv_fd(sock: &UnixStream) -> OwnedFd {
    let mut byte = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .unwrap();
    for cmsg in msg.cmsgs().unwrap() {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            // SAFETY: the kernel just installed this fd for us; we own it.
            return unsafe { OwnedFd::from_raw_fd(fds[0]) };
        }
    }
    panic!("no fd received");
}

/// A copy of the region's fd without `O_CLOEXEC`, for a child to inherit.
fn inheritable(region: &Region) -> OwnedFd {
    // SAFETY: F_DUPFD on a live fd; the result is a new fd we own.
    let raw = unsafe { libc::fcntl(region.fd().as_raw_fd(), libc::F_DUPFD, 3) };
    assert!(raw >= 0);
    // SAFETY: just created, owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(raw) }
}

fn inherited_fd() -> OwnedFd {
    let raw: RawFd = std::env::var(FD).unwrap().parse().unwrap();
    // SAFETY: the parent passed this fd to us by inheritance and nothing else
    // in this process uses it.
    unsafe { OwnedFd::from_raw_fd(raw) }
}

/// Sends `FRAMES` frames of stream `salt`, in batches, sleeping when full.
fn produce(tx: &mut Producer, salt: u64) {
    let mut buf = Vec::with_capacity(512);
    let mut seq = 0;
    let mut last_progress = Instant::now();
    while seq < FRAMES {
        let staged = common::stage_frames(tx, salt, SPREAD, &mut seq, FRAMES, 32, &mut buf);
        tx.publish().unwrap();
        if staged == 0 {
            assert!(last_progress.elapsed() < STALL, "consumer stalled at {seq}");
            tx.wait_for_space(buf.len(), Some(Duration::from_millis(100)))
                .unwrap();
        } else {
            last_progress = Instant::now();
        }
    }
}

/// Receives and checks `FRAMES` frames of stream `salt`; returns how many
/// times it found the ring empty and called `wait`.
fn consume(rx: &mut Consumer, salt: u64) -> u64 {
    let mut out = Vec::with_capacity(512);
    let mut expected = 0;
    let mut sleeps = 0;
    let mut last_progress = Instant::now();
    while expected < FRAMES {
        match rx.pop(&mut out).unwrap() {
            Some(_) => {
                if let Err(e) = common::check_frame(salt, expected, SPREAD, &out) {
                    panic!("{e}");
                }
                expected += 1;
                last_progress = Instant::now();
            }
            None => {
                assert!(
                    last_progress.elapsed() < STALL,
                    "producer stalled at {expected}"
                );
                rx.wait(Some(Duration::from_millis(100))).unwrap();
                sleeps += 1;
            }
        }
    }
    assert!(
        rx.is_empty().unwrap(),
        "a frame beyond the last one arrived"
    );
    sleeps
}

fn wait_for_flag(region: &Region, bit: u32) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while region.flags() & bit == 0 {
        assert!(
            Instant::now() < deadline,
            "the other side never went to sleep"
        );
        thread::sleep(Duration::from_millis(1));
    }
    // Give it time to get from announcing the sleep into the kernel.
    thread::sleep(Duration::from_millis(50));
}

/// Waits for a frame with a long timeout; returns it and how long we slept.
fn sleep_for_frame(rx: &mut Consumer) -> (Vec<u8>, Duration) {
    let start = Instant::now();
    loop {
        match rx.wait(Some(Duration::from_secs(30))).unwrap() {
            WaitStatus::Ready => break,
            WaitStatus::Spurious => continue,
            WaitStatus::TimedOut => panic!("no wake-up within 30 s"),
        }
    }
    let slept = start.elapsed();
    let mut out = Vec::new();
    assert!(rx.pop(&mut out).unwrap().is_some());
    (out, slept)
}

// ---------------------------------------------------------------- the peer

#[test]
#[ignore = "the peer half of the cross-process tests; they run it"]
fn peer_process() {
    let role = std::env::var(ROLE).expect("run by the cross-process tests only");
    match role.as_str() {
        "stream" => peer_stream(),
        "wake" => peer_wake(),
        "hostile" => peer_hostile(),
        other => panic!("unknown role {other}"),
    }
}

fn peer_stream() {
    let sock = UnixStream::connect(std::env::var(SOCKET).unwrap()).unwrap();
    let region = Region::map(recv_fd(&sock)).unwrap();
    let mut rx = region.sq_consumer().unwrap();
    let mut tx = region.cq_producer().unwrap();
    let reader = thread::spawn(move || consume(&mut rx, TO_PEER));
    produce(&mut tx, FROM_PEER);
    let sleeps = reader.join().unwrap();
    println!("peer: received and sent {FRAMES} frames; waited {sleeps} times");
}

fn peer_wake() {
    let region = Region::map(inherited_fd()).unwrap();
    let mut tx = region.sq_producer().unwrap();
    let mut rx = region.cq_consumer().unwrap();
    // The parent sleeps on the SQ: wake it.
    wait_for_flag(&region, layout::flags::SQ_NEED_WAKEUP);
    tx.push(b"ping".as_slice()).unwrap();
    assert_eq!(tx.wakes(), 1, "the sleeping parent was not woken");
    // Now sleep on the CQ until the parent wakes us.
    let (frame, slept) = sleep_for_frame(&mut rx);
    assert_eq!(frame, b"pong");
    assert!(
        slept >= Duration::from_millis(40),
        "did not sleep: {slept:?}"
    );
    println!("peer: woke the parent, was woken after {slept:?}");
}

fn peer_hostile() {
    let fd = inherited_fd();
    let total: usize = std::env::var("SYSGATE_RING_LEN").unwrap().parse().unwrap();
    // A hostile peer does not use the library: raw mmap, raw writes.
    // SAFETY: a fresh shared mapping of the inherited memfd.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            total,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd.as_raw_fd(),
            0,
        )
    };
    assert_ne!(base, libc::MAP_FAILED);
    let base = base.cast::<u8>();
    // The seals keep it from pulling the memory out from under the parent.
    // SAFETY: plain syscall on our fd.
    assert_eq!(unsafe { libc::ftruncate(fd.as_raw_fd(), 0) }, -1);
    assert_eq!(nix::errno::Errno::last(), nix::errno::Errno::EPERM);
    let mut rng = 0x1234_5678_9abc_def0u64;
    let mut writes = 0u64;
    // A fixed number of writes, not a time: the parent keeps using the
    // region for as long as this process runs, however slow either is.
    for _ in 0..HOSTILE_ROUNDS {
        for _ in 0..64 {
            rng = common::mix(rng);
            // Mostly the live header words and ring starts, sometimes anywhere.
            let offset = match rng % 4 {
                0 => [
                    layout::OFF_FLAGS,
                    layout::OFF_SQ_HEAD,
                    layout::OFF_SQ_TAIL,
                    layout::OFF_CQ_HEAD,
                    layout::OFF_CQ_TAIL,
                ][(rng >> 8) as usize % 5],
                1 => (rng >> 8) as usize % layout::HEADER_BYTES,
                _ => (rng >> 8) as usize % total,
            } & !3;
            let value = common::mix(rng) as u32;
            // SAFETY: `offset + 4 <= total` (4-aligned, below a multiple of
            // 4096); volatile so the writes really happen.
            unsafe { base.add(offset).cast::<u32>().write_volatile(value) };
            writes += 1;
        }
        thread::yield_now();
    }
    println!("peer: {writes} hostile writes");
}

// ---------------------------------------------------------------- the tests

#[test]
fn a_million_frames_each_way_between_two_processes() {
    let start = Instant::now();
    let region = Region::create(RegionSizes {
        sq_bytes: 64 << 10,
        cq_bytes: 64 << 10,
        max_frame: 1024,
    })
    .unwrap();
    let path = std::env::temp_dir().join(format!("sysgate-ring-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).unwrap();
    let peer = spawn_peer("stream", &[(SOCKET, path.display().to_string())]);
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let sock = loop {
        match listener.accept() {
            Ok((sock, _)) => break sock,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "peer never connected");
                thread::sleep(Duration::from_millis(2));
            }
            Err(e) => panic!("accept: {e}"),
        }
    };
    let _ = std::fs::remove_file(&path);
    send_fd(&sock, region.fd().as_raw_fd());

    let mut tx = region.sq_producer().unwrap();
    let mut rx = region.cq_consumer().unwrap();
    let reader = thread::spawn(move || consume(&mut rx, FROM_PEER));
    produce(&mut tx, TO_PEER);
    let sleeps = reader.join().unwrap();
    let log = peer.finish(Duration::from_secs(120));
    println!(
        "{FRAMES} frames each way in {:?}; we waited {sleeps} times, woke the peer {} times\n{}",
        start.elapsed(),
        tx.wakes(),
        peer_lines(&log)
    );
}

#[test]
fn a_sleeping_consumer_is_woken_by_the_other_process() {
    let region = Region::create(RegionSizes {
        sq_bytes: 4096,
        cq_bytes: 4096,
        max_frame: 256,
    })
    .unwrap();
    let fd = inheritable(&region);
    let peer = spawn_peer("wake", &[(FD, fd.as_raw_fd().to_string())]);
    drop(fd);
    let mut rx = region.sq_consumer().unwrap();
    let mut poster = CompletionPoster::new(region.cq_producer().unwrap());
    // Sleep on the SQ until the peer wakes us.
    let (frame, slept) = sleep_for_frame(&mut rx);
    assert_eq!(frame, b"ping");
    assert!(
        slept >= Duration::from_millis(40),
        "did not sleep: {slept:?}"
    );
    // Wake the peer, asleep on the CQ.
    wait_for_flag(&region, layout::flags::CQ_NEED_WAKEUP);
    poster.post(b"pong".as_slice()).unwrap();
    assert_eq!(poster.producer().wakes(), 1);
    let log = peer.finish(Duration::from_secs(60));
    assert!(log.contains("peer: woke the parent"), "{log}");
}

#[test]
fn a_hostile_process_scribbling_on_the_region_gets_errors_not_crashes() {
    let region = Region::create(RegionSizes {
        sq_bytes: 4096,
        cq_bytes: 4096,
        max_frame: 1024,
    })
    .unwrap();
    // Take every handle before the peer starts scribbling: taking one checks
    // the header, and that check is not what this test is about.
    let mut tx = region.sq_producer().unwrap();
    let mut rx = region.sq_consumer().unwrap();
    let mut poster = CompletionPoster::new(region.cq_producer().unwrap());
    let mut crx = region.cq_consumer().unwrap();
    let fd = inheritable(&region);
    let mut peer = spawn_peer(
        "hostile",
        &[
            (FD, fd.as_raw_fd().to_string()),
            ("SYSGATE_RING_LEN", region.total_bytes().to_string()),
        ],
    );
    drop(fd);
    let (mut ok, mut errors, mut frames) = (0u64, 0u64, 0u64);
    let mut out = Vec::new();
    let mut i = 0u64;
    // Until the peer has finished scribbling, and has been seen doing it.
    while !peer.is_finished() || errors == 0 {
        assert!(i < 100_000_000, "the hostile writes never showed");
        i += 1;
        let len = (common::mix(i) % 1100) as usize;
        let f = vec![i as u8; len];
        tally(
            &mut ok,
            &mut errors,
            tx.push(f.as_slice()).map_err(|e| e.to_string()),
        );
        match rx.pop(&mut out) {
            Ok(Some(n)) => {
                assert_eq!(n, out.len());
                assert!(n <= 1024);
                frames += 1;
                tally(&mut ok, &mut errors, Ok(()));
            }
            Ok(None) => tally(&mut ok, &mut errors, Ok(())),
            Err(e) => tally(&mut ok, &mut errors, Err(e.to_string())),
        }
        if poster.backlog_len() < 1000 {
            tally(
                &mut ok,
                &mut errors,
                poster.post(f).map(drop).map_err(|e| e.to_string()),
            );
        }
        tally(
            &mut ok,
            &mut errors,
            poster.flush().map(drop).map_err(|e| e.to_string()),
        );
        tally(
            &mut ok,
            &mut errors,
            crx.pop(&mut out).map(drop).map_err(|e| e.to_string()),
        );
        if i.is_multiple_of(64) {
            tally(
                &mut ok,
                &mut errors,
                rx.wait(Some(Duration::from_micros(100)))
                    .map(drop)
                    .map_err(|e| e.to_string()),
            );
            tally(
                &mut ok,
                &mut errors,
                tx.wait_for_space(8, Some(Duration::from_micros(100)))
                    .map(drop)
                    .map_err(|e| e.to_string()),
            );
            let fd = region.fd().try_clone_to_owned().unwrap();
            tally(
                &mut ok,
                &mut errors,
                Region::map(fd).map(drop).map_err(|e| e.to_string()),
            );
        }
    }
    let log = peer.finish(Duration::from_secs(60));
    println!(
        "{i} rounds: {ok} calls ok, {errors} typed errors, {frames} frames popped; {}",
        peer_lines(&log)
    );
    assert!(
        errors > 0,
        "the hostile writes never showed: the test tested nothing"
    );
}
