//! The `executor` fuzz body: a structured sequence of submissions over a
//! sandbox, checked for exactly-once completion. It lives here so that
//! `cargo test` replays the committed corpus on stable.

use std::collections::HashMap;
use std::time::Duration;

use sysgate_proto::{
    ArenaRange, Arg, Buffer, CancelTarget, Completion, Op, Submission, SubmissionFlags, SyscallOp,
    decode, encode_to_vec,
};
use sysgate_ring::{Arena, Region, RegionSizes};

use crate::{Executor, PoolConfig};

/// Reads the fuzzer's bytes one decision at a time; zeros once used up.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }

    fn word(&mut self) -> u64 {
        u64::from_le_bytes(std::array::from_fn(|_| self.byte()))
    }

    /// An arena range: inside the arena, or one a hostile peer would write
    /// (past the end, overflowing, misaligned, huge, arbitrary).
    fn arena_range(&mut self) -> ArenaRange {
        let range = |offset, len| ArenaRange { offset, len };
        let end = FUZZ_ARENA as u64;
        match self.byte() % 6 {
            0 => range(u64::from(self.byte() % 16) * 4096, 4096),
            1 => range(end - 4096, 8192),
            2 => range(u64::MAX - 15, 32),
            3 => range(8, 16),
            4 => range(0, u32::MAX),
            _ => range(self.word(), self.word() as u32),
        }
    }
}

/// The fuzz executor's arena: 64 KiB.
const FUZZ_ARENA: usize = 64 << 10;

fn nr(n: libc::c_long) -> u32 {
    n as u32
}

fn call(
    ud: u64,
    n: libc::c_long,
    args: Vec<Arg>,
    bufs: Vec<Buffer<'static>>,
) -> Submission<'static> {
    Submission::new(
        ud,
        Op::Syscall(SyscallOp {
            nr: nr(n),
            args: args.into_iter().collect(),
            bufs,
            relocs: vec![],
        }),
    )
}

/// Arbitrary bytes → a run of up to 64 submissions drawn from a small
/// allowlist (getppid, reads and writes on a pipe and a socketpair, preads
/// of a temp file, short sleeps, `openat → close` chains in a temp dir,
/// preads into and writes from the arena with valid and hostile ranges),
/// with random flags, links, cancels, timeouts and `enter` calls, then the
/// executor is dropped. Every submission must complete exactly once, one
/// naming bytes outside the arena never runs, and nothing may panic or
/// hang.
pub fn fuzz_executor(data: &[u8]) {
    let mut input = Bytes(data);
    let dir = std::env::temp_dir().join(format!("sysgate-fuzz-exec-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join("data");
    let _ = std::fs::write(&file, [7u8; 256]);
    let file_fd = open(&file);
    let mut pipe = [0; 2];
    let mut pair = [0; 2];
    // SAFETY: pipe2/socketpair write two fds into the arrays we own.
    let ok = unsafe {
        libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) == 0
            && libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
                0,
                pair.as_mut_ptr(),
            ) == 0
    };
    assert!(ok, "sandbox fds");

    let Ok(region) = Region::create(RegionSizes {
        sq_bytes: 1 << 16,
        cq_bytes: 1 << 14,
        max_frame: 4096,
    }) else {
        return;
    };
    let config = PoolConfig {
        max_bounded: 2,
        max_unbounded: 4,
        idle_timeout: Duration::from_millis(50),
        ..PoolConfig::for_entries(64)
    };
    let Ok(arena) = Arena::create(FUZZ_ARENA) else {
        return;
    };
    let mut exec = Executor::builder().pool_config(config).arena(arena).build(
        region.sq_consumer().expect("fresh region"),
        region.cq_producer().expect("fresh region"),
    );
    let mut sq = region.sq_producer().expect("fresh region");
    let mut cq = region.cq_consumer().expect("fresh region");

    // user_data → (completions seen, result of the last one).
    let mut seen: HashMap<u64, (u32, i64)> = HashMap::new();
    // user_data of requests naming arena bytes outside the arena.
    let mut outside = Vec::new();
    let mut frame = Vec::new();
    let mut reap = |cq: &mut sysgate_ring::Consumer, seen: &mut HashMap<u64, (u32, i64)>| {
        while let Ok(Some(_)) = cq.pop(&mut frame) {
            let c: Completion = decode(&frame).expect("the executor writes valid completions");
            let entry = seen.entry(c.user_data).or_default();
            *entry = (entry.0 + 1, c.result);
        }
    };
    let push =
        |sq: &mut sysgate_ring::Producer, sub: &Submission, seen: &mut HashMap<u64, (u32, i64)>| {
            let ok = sq
                .push(encode_to_vec(sub).expect("encodes").as_slice())
                .is_ok();
            if ok {
                seen.entry(sub.user_data).or_default();
            }
            ok
        };

    let steps = input.byte() % 64;
    let mut submitted = 0u64;
    let mut prev_links = false;
    // user_data is 3 × step (+1 for an openat, +2 for a chain-breaking nop).
    for step in 0..steps {
        let ud = u64::from(step) * 3;
        let flags = SubmissionFlags::from_bits_retain(input.byte() & SubmissionFlags::ALL.bits());
        let sub = match input.byte() % 12 {
            0 => call(ud, libc::SYS_getppid, vec![], vec![]),
            1 => call(
                ud,
                libc::SYS_read,
                vec![Arg::Imm(pipe[0] as u64), Arg::Buf(0), Arg::Imm(8)],
                vec![Buffer::Out(8)],
            ),
            2 => call(
                ud,
                libc::SYS_write,
                vec![Arg::Imm(pipe[1] as u64), Arg::Buf(0), Arg::Imm(3)],
                vec![Buffer::In(b"abc".to_vec().into())],
            ),
            3 => call(
                ud,
                libc::SYS_recvfrom,
                vec![
                    Arg::Imm(pair[0] as u64),
                    Arg::Buf(0),
                    Arg::Imm(8),
                    Arg::Imm(0),
                    Arg::Imm(0),
                    Arg::Imm(0),
                ],
                vec![Buffer::Out(8)],
            ),
            4 => call(
                ud,
                libc::SYS_sendto,
                vec![
                    Arg::Imm(pair[1] as u64),
                    Arg::Buf(0),
                    Arg::Imm(2),
                    Arg::Imm(0),
                    Arg::Imm(0),
                    Arg::Imm(0),
                ],
                vec![Buffer::In(b"hi".to_vec().into())],
            ),
            5 => call(
                ud,
                libc::SYS_pread64,
                vec![
                    Arg::Imm(file_fd as u64),
                    Arg::Buf(0),
                    Arg::Imm(16),
                    Arg::Imm(u64::from(input.byte())),
                ],
                vec![Buffer::Out(16)],
            ),
            6 => {
                let ts = [0u64, u64::from(input.byte()) * 1000];
                let bytes: Vec<u8> = ts.iter().flat_map(|w| w.to_ne_bytes()).collect();
                call(
                    ud,
                    libc::SYS_nanosleep,
                    vec![Arg::Buf(0), Arg::Imm(0)],
                    vec![Buffer::In(bytes.into())],
                )
            }
            7 => Submission::new(
                ud,
                Op::Cancel {
                    target: CancelTarget::UserData(u64::from(input.byte() % 64) * 3),
                },
            ),
            8 => Submission::new(
                ud,
                Op::Timeout {
                    nanos: u64::from(input.byte()) * 10_000,
                    count: u32::from(input.byte() % 4),
                },
            ),
            n @ (10 | 11) => {
                let range = input.arena_range();
                let in_arena = range.offset.is_multiple_of(16)
                    && range
                        .offset
                        .checked_add(u64::from(range.len))
                        .is_some_and(|end| end <= FUZZ_ARENA as u64);
                if !in_arena {
                    outside.push(ud);
                }
                let count = u64::from(range.len.min(64));
                if n == 10 {
                    call(
                        ud,
                        libc::SYS_pread64,
                        vec![
                            Arg::Imm(file_fd as u64),
                            Arg::Buf(0),
                            Arg::Imm(count),
                            Arg::Imm(0),
                        ],
                        vec![Buffer::ArenaOut(range)],
                    )
                } else {
                    call(
                        ud,
                        libc::SYS_write,
                        vec![Arg::Imm(pipe[1] as u64), Arg::Buf(0), Arg::Imm(count)],
                        vec![Buffer::ArenaIn(range)],
                    )
                }
            }
            _ => {
                // openat (user_data +1) LINK → close(its fd): the close's
                // `LinkResult(0)` must name the openat, so the openat has to
                // start a chain — a plain nop ends any chain still open.
                if prev_links {
                    submitted +=
                        u64::from(push(&mut sq, &Submission::new(ud + 2, Op::Nop), &mut seen));
                }
                let mut path = file.as_os_str().as_encoded_bytes().to_vec();
                path.push(0);
                let args = vec![
                    Arg::Imm(libc::AT_FDCWD as u64),
                    Arg::Buf(0),
                    Arg::Imm(libc::O_RDONLY as u64),
                ];
                let open = call(
                    ud + 1,
                    libc::SYS_openat,
                    args,
                    vec![Buffer::In(path.into())],
                )
                .with_flags(SubmissionFlags::LINK);
                submitted += u64::from(push(&mut sq, &open, &mut seen));
                call(ud, libc::SYS_close, vec![Arg::LinkResult(0)], vec![])
            }
        };
        let sub = sub.with_flags(flags);
        prev_links = flags.links_next();
        submitted += u64::from(push(&mut sq, &sub, &mut seen));
        if input.byte() % 4 == 0 {
            let _ = exec.enter(
                u32::from(input.byte() % 8),
                0,
                Some(Duration::from_millis(5)),
            );
            reap(&mut cq, &mut seen);
        }
    }
    let _ = exec.enter(u32::MAX, 0, Some(Duration::from_millis(5)));
    drop(exec);
    reap(&mut cq, &mut seen);

    assert_eq!(
        seen.len() as u64,
        submitted,
        "every submission was accepted by the ring"
    );
    assert!(
        seen.values().all(|&(n, _)| n == 1),
        "a submission completed other than once: {seen:?}"
    );
    for ud in outside {
        // Refused (-EINVAL), or cancelled before it was looked at (a broken
        // chain, a DRAIN abandoned on drop, a cancel): never run.
        let result = seen.get(&ud).map(|&(_, r)| r);
        let never_ran = [sysgate_proto::codes::INVALID, -i64::from(libc::ECANCELED)];
        assert!(
            result.is_none_or(|r| never_ran.contains(&r)),
            "a request outside the arena ended with {result:?}"
        );
    }
    // An openat whose close did not run leaves its fd to us.
    let leaked = seen
        .iter()
        .filter(|&(&ud, &(_, r))| ud % 3 == 1 && r >= 0)
        .filter_map(|(&ud, &(_, fd))| {
            let closed = seen.get(&(ud - 1)).is_some_and(|&(_, r)| r == 0);
            (!closed).then_some(fd as i32)
        });
    let ours: Vec<i32> = leaked.chain([file_fd]).chain(pipe).chain(pair).collect();
    for fd in ours {
        // SAFETY: fds this body opened, or that the executor opened for it
        // and that no close of ours has run on.
        unsafe { libc::close(fd) };
    }
}

fn open(path: &std::path::Path) -> i32 {
    let c =
        std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("no NUL in a temp path");
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) }
}
