//! A submitter for the executor's tests: a region, the client's ends of its
//! rings, and helpers to build submissions and look at the system.
#![allow(dead_code)]

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sysgate_exec::{Executor, ExecutorBuilder};
use sysgate_proto::{
    Arg, Buffer, Completion, Op, Submission, SubmissionFlags, SyscallOp, decode, encode_to_vec,
};
use sysgate_ring::{Consumer, Producer, Region, RegionSizes};

/// `Arg::Buf(0)` spelled as an argument word marker for [`with_in_buf`] and
/// friends.
pub const BUF0: u64 = u64::MAX - 0x5157;

pub struct Harness {
    pub exec: Executor,
    sq: Producer,
    cq: Consumer,
    frame: Vec<u8>,
    pub region: Region,
}

impl Harness {
    pub fn new() -> Self {
        Self::with(Executor::builder())
    }

    pub fn polling() -> Self {
        Self::with(Executor::builder().sq_poll(Duration::from_millis(1)))
    }

    pub fn with(builder: ExecutorBuilder) -> Self {
        let region = Region::create(RegionSizes {
            sq_bytes: 1 << 20,
            cq_bytes: 1 << 20,
            max_frame: 64 * 1024,
        })
        .unwrap();
        let exec = builder.build(region.sq_consumer().unwrap(), region.cq_producer().unwrap());
        Harness {
            exec,
            sq: region.sq_producer().unwrap(),
            cq: region.cq_consumer().unwrap(),
            frame: Vec::new(),
            region,
        }
    }

    pub fn submit(&mut self, sub: Submission<'_>) {
        let bytes = encode_to_vec(&sub).unwrap();
        self.submit_raw(&bytes);
    }

    pub fn submit_raw(&mut self, bytes: &[u8]) {
        self.sq.push(bytes).expect("submission ring has room");
    }

    pub fn enter(&mut self, to_submit: u32, min_complete: u32) -> u32 {
        self.exec
            .enter(to_submit, min_complete, Some(Duration::from_secs(30)))
            .unwrap()
    }

    /// Everything on the completion ring now.
    pub fn reap_now(&mut self) -> Vec<Completion<'static>> {
        let mut out = Vec::new();
        while self.cq.pop(&mut self.frame).unwrap().is_some() {
            let c: Completion = decode(&self.frame).expect("completion decodes");
            out.push(c.into_owned());
        }
        out
    }

    /// Waits for at least one completion, then takes all there are.
    pub fn wait_at_least(&mut self, n: u32) -> Vec<Completion<'static>> {
        self.exec
            .enter(0, n, Some(Duration::from_secs(60)))
            .expect("completions arrive");
        self.reap_now()
    }

    pub fn wait_n(&mut self, n: usize) -> Vec<Completion<'static>> {
        let mut all = Vec::new();
        while all.len() < n {
            all.extend(self.wait_at_least(1));
        }
        all
    }

    pub fn wait_one(&mut self) -> Completion<'static> {
        let mut v = self.wait_n(1);
        assert_eq!(v.len(), 1);
        v.pop().unwrap()
    }

    /// Drops the executor, then returns every completion left on the ring.
    pub fn drop_executor(self) -> Vec<Completion<'static>> {
        let Harness {
            exec,
            mut cq,
            mut frame,
            region,
            ..
        } = self;
        drop(exec);
        let _keep_mapped = region;
        let mut out = Vec::new();
        while cq.pop(&mut frame).unwrap().is_some() {
            let c: Completion = decode(&frame).expect("completion decodes");
            out.push(c.into_owned());
        }
        out
    }

    /// Submits one request, runs it, and returns its completion.
    pub fn run(&mut self, sub: Submission<'_>) -> Completion<'static> {
        let ud = sub.user_data;
        self.submit(sub);
        // In polling mode the poller takes it, not `enter`.
        self.enter(1, 1);
        let c = self.wait_one();
        assert_eq!(c.user_data, ud);
        c
    }
}

fn args_with(words: &[u64]) -> sysgate_proto::Args {
    words
        .iter()
        .map(|&w| if w == BUF0 { Arg::Buf(0) } else { Arg::Imm(w) })
        .collect()
}

pub fn call(user_data: u64, nr: u32, words: &[u64]) -> Submission<'static> {
    Submission::new(user_data, Op::Syscall(SyscallOp::immediate(nr, words)))
}

fn with_buffer(
    user_data: u64,
    nr: u32,
    buf: Buffer<'static>,
    words: &[u64],
) -> Submission<'static> {
    Submission::new(
        user_data,
        Op::Syscall(SyscallOp {
            nr,
            args: args_with(words),
            bufs: vec![buf],
            relocs: vec![],
        }),
    )
}

/// A call whose `BUF0` argument points at a copy of `bytes`.
pub fn with_in_bytes(user_data: u64, nr: u32, bytes: &[u8], words: &[u64]) -> Submission<'static> {
    with_buffer(user_data, nr, Buffer::In(bytes.to_vec().into()), words)
}

/// A call whose `BUF0` argument points at a copy of a plain struct.
pub fn with_in_buf<T: Copy>(
    user_data: u64,
    nr: u32,
    value: &T,
    words: &[u64],
) -> Submission<'static> {
    // SAFETY: `T: Copy` plain data (timespec and the like), read as bytes.
    let bytes = unsafe {
        std::slice::from_raw_parts((value as *const T).cast::<u8>(), std::mem::size_of::<T>())
    };
    with_in_bytes(user_data, nr, bytes, words)
}

/// A call whose `BUF0` argument points at `len` bytes of output.
pub fn with_out_buf(user_data: u64, nr: u32, len: u32, words: &[u64]) -> Submission<'static> {
    with_buffer(user_data, nr, Buffer::Out(len), words)
}

/// A frame that carries `user_data` but fails to decode or validate.
pub fn invalid_frame(user_data: u64, seed: u64) -> Vec<u8> {
    let mut bytes = encode_to_vec(&call(user_data, 39, &[1, 2])).unwrap();
    match seed % 4 {
        0 => bytes[9] = 0x80, // unknown flag: fails validation
        1 => bytes[10..14].copy_from_slice(&77u32.to_le_bytes()), // unknown op tag
        2 => bytes.truncate(20), // truncated
        _ => bytes.push(0),   // trailing byte
    }
    bytes
}

pub fn timespec(sec: i64, nsec: i64) -> libc::timespec {
    libc::timespec {
        tv_sec: sec,
        tv_nsec: nsec,
    }
}

pub fn flags_async() -> SubmissionFlags {
    SubmissionFlags::ASYNC
}

pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "sysgate-exec-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_string()
    }

    pub fn file(&self, name: &str, contents: &[u8]) -> String {
        let p = self.path(name);
        std::fs::write(&p, contents).unwrap();
        p
    }

    pub fn dir(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn open(path: &str, flags: i32) -> i32 {
    let c = CString::new(path).unwrap();
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC) };
    assert!(fd >= 0, "open {path}: {}", std::io::Error::last_os_error());
    fd
}

pub fn close(fd: i32) {
    // SAFETY: the test owns `fd` and does not use it afterwards.
    unsafe { libc::close(fd) };
}

pub fn pipe() -> (i32, i32) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two fds into the array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    (fds[0], fds[1])
}

pub fn write_all(fd: i32, bytes: &[u8]) {
    // SAFETY: `bytes` is valid for reads of its length.
    let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
    assert_eq!(n, bytes.len() as isize);
}

/// Waits (up to a minute: a hang, not a slow machine) until the pool's
/// counters satisfy `reached`, so a test asserts on the state it means.
pub fn wait_for_pool(h: &Harness, reached: impl Fn(&sysgate_exec::PoolStats) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stats = h.exec.stats();
        if reached(&stats.pool) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the pool never got there: {stats:?}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// How many times each other thread of this process has been switched
/// out (voluntarily or not), by thread id: a thread whose count does not
/// move did not run.
pub fn other_threads_switches() -> std::collections::BTreeMap<u32, u64> {
    // SAFETY: gettid only returns the calling thread's id.
    let me = unsafe { libc::gettid() } as u32;
    let mut counts = std::collections::BTreeMap::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let task = task.unwrap();
        let tid: u32 = task.file_name().to_str().unwrap().parse().unwrap();
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
            continue; // it exited
        };
        if tid == me {
            continue;
        }
        let switches = status
            .lines()
            .filter(|l| l.contains("ctxt_switches:"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum();
        counts.insert(tid, switches);
    }
    counts
}

/// xorshift64: deterministic test randomness without a dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// A connected AF_UNIX stream pair.
pub fn socketpair() -> (i32, i32) {
    let mut fds = [0; 2];
    // SAFETY: socketpair writes two fds into the array.
    let rc = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    assert_eq!(rc, 0, "socketpair: {}", std::io::Error::last_os_error());
    (fds[0], fds[1])
}
