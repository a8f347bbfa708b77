//! What the executor refuses to run, and what it changes before running:
//! calls that would break the thread running them, per-thread state it
//! cannot apply to every thread, descriptors the gateway holds, buffers
//! shorter than what the call touches, and signal masks that would block
//! glibc's internal signals. Each refused call, had it run, would have
//! killed or corrupted this test process.

mod common;

use std::os::fd::{AsFd, AsRawFd};

use common::{BUF0, Harness, call, with_in_bytes, with_out_buf};
use sysgate_proto::{
    Arg, Buffer, CompletionFlags, Op, Reloc, Submission, SubmissionFlags, SyscallOp, codes,
};

fn nr(n: libc::c_long) -> u32 {
    n as u32
}

fn refused(h: &mut Harness, sub: Submission<'_>, code: i64, what: &str) {
    let c = h.run(sub);
    assert_eq!(
        (c.result, c.flags),
        (code, CompletionFlags::REFUSED),
        "{what}"
    );
}

#[test]
fn calls_that_break_their_runner_are_refused_with_a_reason() {
    let mut h = Harness::new();
    let cases: &[(libc::c_long, &[u64], &str)] = &[
        (
            libc::SYS_prctl,
            &[22, 1],
            "prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT)",
        ),
        (
            libc::SYS_prctl,
            &[26, 2],
            "prctl(PR_SET_TSC, PR_TSC_SIGSEGV)",
        ),
        (libc::SYS_set_tid_address, &[0], "set_tid_address(NULL)"),
        (
            libc::SYS_set_robust_list,
            &[0, 24],
            "set_robust_list(NULL, 24)",
        ),
        (
            libc::SYS_rseq,
            &[0, 32, 1, 0],
            "rseq(NULL, 32, RSEQ_FLAG_UNREGISTER, 0)",
        ),
        (libc::SYS_sigaltstack, &[0, 0], "sigaltstack(NULL, NULL)"),
        (
            libc::SYS_seccomp,
            &[0, 0, 0],
            "seccomp(SECCOMP_SET_MODE_STRICT, 0, NULL)",
        ),
        #[cfg(target_arch = "x86_64")]
        (
            libc::SYS_arch_prctl,
            &[0x1002, 0],
            "arch_prctl(ARCH_SET_FS, 0)",
        ),
        #[cfg(target_arch = "x86_64")]
        (
            libc::SYS_arch_prctl,
            &[0x1001, 0],
            "arch_prctl(ARCH_SET_GS, 0)",
        ),
    ];
    for &(n, words, what) in cases {
        refused(&mut h, call(1, nr(n), words), codes::FORBIDDEN, what);
        let args = {
            let mut a = [0; 6];
            a[..words.len()].copy_from_slice(words);
            a
        };
        let reason = sysgate_exec::refusal_reason(nr(n), &args).expect(what);
        assert!(!reason.is_empty(), "{what}");
    }
    // Still alive, and the options that only read run.
    let c = h.run(call(2, nr(libc::SYS_prctl), &[21])); // PR_GET_SECCOMP
    // SAFETY: PR_GET_SECCOMP only reads this thread's seccomp mode (a
    // filter where CI runs the suite without io_uring).
    let mode = unsafe { libc::prctl(21, 0, 0, 0, 0) };
    assert_eq!(
        (c.result, c.flags),
        (i64::from(mode), CompletionFlags::INLINE)
    );
    #[cfg(target_arch = "x86_64")]
    {
        // ARCH_GET_FS into an 8-byte output buffer: this thread's FS base.
        let c = h.run(with_out_buf(
            3,
            nr(libc::SYS_arch_prctl),
            8,
            &[0x1003, BUF0],
        ));
        assert_eq!(c.result, 0);
        assert_ne!(u64::from_ne_bytes(c.outputs[0][..8].try_into().unwrap()), 0);
        // …but not into a shorter one.
        refused(
            &mut h,
            with_out_buf(4, nr(libc::SYS_arch_prctl), 4, &[0x1003, BUF0]),
            codes::BAD_BUFFER,
            "ARCH_GET_FS into 4 bytes",
        );
    }
}

#[test]
fn per_thread_state_without_a_broadcast_is_refused() {
    let mut h = Harness::new();
    let cases: &[(libc::c_long, &[u64], &str)] = &[
        (libc::SYS_setfsuid, &[u32::MAX as u64], "setfsuid(-1)"),
        (libc::SYS_setfsgid, &[u32::MAX as u64], "setfsgid(-1)"),
        (
            libc::SYS_unshare,
            &[libc::CLONE_FS as u64],
            "unshare(CLONE_FS)",
        ),
        (
            libc::SYS_unshare,
            &[libc::CLONE_FILES as u64],
            "unshare(CLONE_FILES)",
        ),
        (libc::SYS_setns, &[0, 0], "setns(0, 0)"),
        (libc::SYS_capset, &[0, 0], "capset(NULL, NULL)"),
        (libc::SYS_prctl, &[38, 1], "prctl(PR_SET_NO_NEW_PRIVS, 1)"),
        (libc::SYS_prctl, &[24, 0], "prctl(PR_CAPBSET_DROP, 0)"),
        (
            libc::SYS_close_range,
            &[1000, 1001, 2],
            "close_range(…, CLOSE_RANGE_UNSHARE)",
        ),
    ];
    for &(n, words, what) in cases {
        refused(&mut h, call(1, nr(n), words), codes::FORBIDDEN, what);
    }
    // PR_SET_NO_NEW_PRIVS never reached this thread.
    let c = h.run(call(2, nr(libc::SYS_prctl), &[39])); // PR_GET_NO_NEW_PRIVS
    // SAFETY: PR_GET_NO_NEW_PRIVS only reads the flag.
    let direct = unsafe { libc::prctl(39, 0, 0, 0, 0) };
    assert_eq!(c.result, i64::from(direct));
}

/// The `setuid` family goes through glibc's wrappers, which apply it to
/// every thread: it runs wherever it is taken, also forced async and on the
/// polling thread, where a thread-affine call is refused. (As root, the
/// client's tests check that every thread's ids change.)
#[test]
fn the_setuid_family_runs_on_any_thread() {
    let keep = u32::MAX as u64; // -1: leave the id as it is
    for mut h in [Harness::new(), Harness::polling()] {
        let calls: &[(libc::c_long, &[u64])] = &[
            (libc::SYS_setresuid, &[keep, keep, keep]),
            (libc::SYS_setresgid, &[keep, keep, keep]),
            (libc::SYS_setreuid, &[keep, keep]),
            (libc::SYS_setregid, &[keep, keep]),
        ];
        for &(n, words) in calls {
            for flags in [SubmissionFlags::empty(), SubmissionFlags::ASYNC] {
                let c = h.run(call(1, nr(n), words).with_flags(flags));
                assert_eq!(c.result, 0, "syscall {n} {flags:?}");
                assert_eq!(c.flags, CompletionFlags::INLINE, "syscall {n} {flags:?}");
            }
        }
        // Errors come back as -errno, as from the raw call.
        let c = h.run(call(2, nr(libc::SYS_setuid), &[keep]));
        assert_eq!(c.result, -i64::from(libc::EINVAL));
    }
}

#[test]
fn descriptors_the_gateway_holds_are_not_touched() {
    let mut h = Harness::new();
    let file = std::fs::File::open("/dev/null").unwrap();
    let fd = file.as_raw_fd() as u64;
    let held = sysgate_exec::hold_fd(file.as_fd());
    let cases: &[(libc::c_long, &[u64], &str)] = &[
        (libc::SYS_close, &[fd], "close"),
        (libc::SYS_dup3, &[0, fd, 0], "dup3 over it"),
        (libc::SYS_ftruncate, &[fd, 0], "ftruncate"),
        (
            libc::SYS_fcntl,
            &[fd, libc::F_SETFL as u64, libc::O_NONBLOCK as u64],
            "fcntl",
        ),
    ];
    for &(n, words, what) in cases {
        refused(&mut h, call(1, nr(n), words), codes::FORBIDDEN, what);
        let mut args = [0; 6];
        args[..words.len()].copy_from_slice(words);
        let reason = sysgate_exec::refusal_reason(nr(n), &args).expect(what);
        assert!(reason.contains(&fd.to_string()), "{what}: {reason}");
    }
    let open = |fd: i32| {
        // SAFETY: F_GETFD only reads the descriptor's flags.
        unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
    };
    assert!(open(fd as i32), "still open, still ours");
    drop(held);

    // A range runs around held descriptors, inline and on a worker. Three
    // consecutive copies far above what the other tests of this process
    // open, the middle one held: a close_range over all three closes the
    // outer two only.
    for (base, flags) in [
        (900, SubmissionFlags::empty()),
        (950, SubmissionFlags::ASYNC),
    ] {
        let copies: Vec<_> = (0..3)
            .map(|_| {
                // SAFETY: F_DUPFD_CLOEXEC only creates a new descriptor.
                unsafe { libc::fcntl(fd as i32, libc::F_DUPFD_CLOEXEC, base) }
            })
            .collect();
        assert_eq!(copies, [base, base + 1, base + 2], "descriptors in use");
        // SAFETY: the middle copy is ours; it stays open until closed below.
        let middle = unsafe { std::os::fd::BorrowedFd::borrow_raw(copies[1]) };
        let held = sysgate_exec::hold_fd(middle);
        let (lo, hi) = (copies[0] as u64, copies[2] as u64);
        let c = h.run(call(3, nr(libc::SYS_close_range), &[lo, hi, 0]).with_flags(flags));
        assert_eq!(c.result, 0, "{flags:?}");
        let still: Vec<bool> = copies.iter().map(|&c| open(c)).collect();
        drop(held);
        common::close(copies[1]);
        assert_eq!(still, [false, true, false], "{flags:?}");
    }
    let c = h.run(call(2, nr(libc::SYS_fcntl), &[fd, libc::F_GETFD as u64]));
    assert!(c.result >= 0, "released: runs again");
}

/// A path or string buffer without its NUL would let the kernel read on
/// past the buffer: refused, and run once terminated.
#[test]
fn strings_must_end_inside_their_buffer() {
    let mut h = Harness::new();
    let cwd = libc::AT_FDCWD as u64;
    let open = |id, path: &[u8]| {
        with_in_bytes(
            id,
            nr(libc::SYS_openat),
            path,
            &[cwd, BUF0, libc::O_RDONLY as u64],
        )
    };
    refused(
        &mut h,
        open(1, b"/dev/null"),
        codes::BAD_BUFFER,
        "path without NUL",
    );
    let c = h.run(open(2, b"/dev/null\0"));
    assert!(c.result >= 0, "terminated path: {}", c.result);
    common::close(c.result as i32);
    // prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, len, name): a string.
    let vma = |id, name: &[u8]| {
        with_in_bytes(id, nr(libc::SYS_prctl), name, &[0x5356_4d41, 0, 0, 0, BUF0])
    };
    refused(
        &mut h,
        vma(3, b"name"),
        codes::BAD_BUFFER,
        "vma name without NUL",
    );
    let c = h.run(vma(4, b"name\0"));
    assert!(
        !c.flags.contains(CompletionFlags::REFUSED),
        "ran: {}",
        c.result
    );
}

#[test]
fn buffers_shorter_than_the_call_reaches_are_refused() {
    let mut h = Harness::new();
    let (r, w) = common::pipe();
    common::write_all(w, &[7; 64]);
    // read(r, <1 byte>, 64): would write 63 bytes past the buffer.
    refused(
        &mut h,
        with_out_buf(1, nr(libc::SYS_read), 1, &[r as u64, BUF0, 64]),
        codes::BAD_BUFFER,
        "read past its buffer",
    );
    // fcntl(r, F_GETLK | 1 << 32, <1 byte>): the kernel reads the command as
    // an `unsigned int`, sees F_GETLK and writes a 32-byte `struct flock`.
    let getlk = libc::F_GETLK as u64 | 1 << 32;
    refused(
        &mut h,
        with_out_buf(3, nr(libc::SYS_fcntl), 1, &[r as u64, getlk, BUF0]),
        codes::BAD_BUFFER,
        "F_GETLK with high bits, 1-byte lock",
    );
    // write(w, <2 bytes>, 4096): would read past it.
    refused(
        &mut h,
        with_in_bytes(2, nr(libc::SYS_write), b"ab", &[w as u64, BUF0, 4096]),
        codes::BAD_BUFFER,
        "write past its buffer",
    );
    // poll with one pollfd and nfds 64: would rewrite 63 entries past it.
    let pollfd = [0u8; 8];
    refused(
        &mut h,
        with_in_bytes(3, nr(libc::SYS_ppoll), &pollfd, &[BUF0, 64, 0, 0, 8]),
        codes::BAD_BUFFER,
        "ppoll past its array",
    );
    // A struct shorter than its type.
    refused(
        &mut h,
        with_out_buf(4, nr(libc::SYS_fstat), 8, &[r as u64, BUF0]),
        codes::BAD_BUFFER,
        "fstat into 8 bytes",
    );
    // fcntl(F_GETLK) writes a 32-byte struct flock through its integer arg.
    refused(
        &mut h,
        with_out_buf(
            5,
            nr(libc::SYS_fcntl),
            4,
            &[r as u64, libc::F_GETLK as u64, BUF0],
        ),
        codes::BAD_BUFFER,
        "F_GETLK into 4 bytes",
    );
    // A buffer where the call takes an address to map or move.
    refused(
        &mut h,
        with_in_bytes(6, nr(libc::SYS_brk), &[0; 64], &[BUF0]),
        codes::BAD_BUFFER,
        "brk(buffer)",
    );
    // A signal handler address from a buffer.
    let mut act = [0u8; 32];
    act[..8].copy_from_slice(&0x1234u64.to_ne_bytes());
    refused(
        &mut h,
        with_in_bytes(
            7,
            nr(libc::SYS_rt_sigaction),
            &act,
            &[libc::SIGUSR2 as u64, BUF0, 0, 8],
        ),
        codes::BAD_BUFFER,
        "a handler address",
    );
    // An iovec whose base is a raw address (no relocation).
    let mut iov = [0u8; 16];
    iov[..8].copy_from_slice(&0x10000u64.to_ne_bytes());
    iov[8..].copy_from_slice(&16u64.to_ne_bytes());
    refused(
        &mut h,
        with_in_bytes(8, nr(libc::SYS_readv), &iov, &[r as u64, BUF0, 1]),
        codes::BAD_BUFFER,
        "an iovec outside the buffers",
    );
    // The same iovec relocated onto a 16-byte output buffer is fine…
    let relocated = |len: u64, user_data| {
        let mut iov = [0u8; 16];
        iov[8..].copy_from_slice(&len.to_ne_bytes());
        Submission::new(
            user_data,
            Op::Syscall(SyscallOp {
                nr: nr(libc::SYS_readv),
                args: [Arg::Imm(r as u64), Arg::Buf(0), Arg::Imm(1)]
                    .into_iter()
                    .collect(),
                bufs: vec![Buffer::In(iov.to_vec().into()), Buffer::Out(16)],
                relocs: vec![Reloc {
                    buf: 0,
                    at: 0,
                    target: 1,
                    offset: 0,
                }],
            }),
        )
    };
    let c = h.run(relocated(16, 9));
    assert_eq!((c.result, &c.outputs[0][..]), (16, &[7u8; 16][..]));
    // …but not with a length past it.
    refused(
        &mut h,
        relocated(4096, 10),
        codes::BAD_BUFFER,
        "iov_len past its buffer",
    );
    // Exactly long enough runs.
    let c = h.run(with_out_buf(
        11,
        nr(libc::SYS_read),
        8,
        &[r as u64, BUF0, 8],
    ));
    assert_eq!(c.result, 8);
    common::close(r);
    common::close(w);
}

/// A mask installed through the gateway leaves glibc's signals 32 and 33
/// deliverable, as glibc's `sigprocmask` does: otherwise the next `setuid`
/// through the gateway would wait forever for this thread.
#[test]
fn signal_masks_keep_glibcs_signals_deliverable() {
    let mut h = Harness::new();
    let current = || {
        // SAFETY: reads this thread's mask into a zeroed sigset_t.
        unsafe {
            let mut set = std::mem::zeroed::<libc::sigset_t>();
            libc::pthread_sigmask(libc::SIG_SETMASK, std::ptr::null(), &mut set);
            set
        }
    };
    let before = current();
    let all = [0xffu8; 8];
    let c = h.run(with_in_bytes(
        1,
        nr(libc::SYS_rt_sigprocmask),
        &all,
        &[libc::SIG_BLOCK as u64, BUF0, 0, 8],
    ));
    assert_eq!(c.result, 0);
    let mut raw = [0u64; 1];
    // SAFETY: a raw rt_sigprocmask reads the whole kernel mask (8 bytes).
    let r = unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_BLOCK,
            std::ptr::null::<u64>(),
            raw.as_mut_ptr(),
            8,
        )
    };
    // SAFETY: restores this thread's mask as it was.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &before, std::ptr::null_mut()) };
    assert_eq!(r, 0);
    assert_eq!(
        raw[0] & (1 << 31 | 1 << 32),
        0,
        "signals 32 and 33 stay unblocked"
    );
    assert_eq!(
        raw[0] & (1 << (libc::SIGUSR1 - 1)),
        1 << (libc::SIGUSR1 - 1)
    );
}

/// Arena buffers are held to the same bounds: a read of more than its
/// range would write into the rest of the arena (or past its end), and an
/// iovec may point anywhere in the call's memory, the arena included, but
/// nowhere else.
#[test]
fn arena_buffers_are_checked_like_the_calls_own() {
    let arena = sysgate_ring::Arena::create(1 << 20).unwrap();
    let mut h = Harness::with(sysgate_exec::Executor::builder().arena(arena.clone()));
    let (r, w) = common::pipe();
    common::write_all(w, &[9; 64]);
    let read = |user_data, len: u32, count: u64| {
        Submission::new(
            user_data,
            Op::Syscall(SyscallOp {
                nr: nr(libc::SYS_read),
                args: [Arg::Imm(r as u64), Arg::Buf(0), Arg::Imm(count)]
                    .into_iter()
                    .collect(),
                bufs: vec![Buffer::ArenaOut(sysgate_proto::ArenaRange {
                    offset: (1 << 20) - 4096,
                    len,
                })],
                relocs: vec![],
            }),
        )
    };
    // 16 bytes at the arena's last page, and a read of 8192: past the end.
    refused(
        &mut h,
        read(1, 16, 8192),
        codes::BAD_BUFFER,
        "read past an arena range",
    );
    let c = h.run(read(2, 16, 16));
    assert_eq!(c.result, 16);
    assert_eq!(arena.read_to_vec((1 << 20) - 4096, 16).unwrap(), [9; 16]);
    // readv with an iovec relocated onto an arena range: fine; with a raw
    // base outside the call's memory: refused.
    let readv = |user_data, raw_base: Option<u64>| {
        let mut iov = [0u8; 16];
        iov[..8].copy_from_slice(&raw_base.unwrap_or(0).to_ne_bytes());
        iov[8..].copy_from_slice(&16u64.to_ne_bytes());
        Submission::new(
            user_data,
            Op::Syscall(SyscallOp {
                nr: nr(libc::SYS_readv),
                args: [Arg::Imm(r as u64), Arg::Buf(0), Arg::Imm(1)]
                    .into_iter()
                    .collect(),
                bufs: vec![
                    Buffer::In(iov.to_vec().into()),
                    Buffer::ArenaOut(sysgate_proto::ArenaRange { offset: 0, len: 16 }),
                ],
                relocs: if raw_base.is_some() {
                    vec![]
                } else {
                    vec![Reloc {
                        buf: 0,
                        at: 0,
                        target: 1,
                        offset: 0,
                    }]
                },
            }),
        )
    };
    let c = h.run(readv(3, None));
    assert_eq!(c.result, 16);
    assert_eq!(arena.read_to_vec(0, 16).unwrap(), [9; 16]);
    refused(
        &mut h,
        readv(4, Some(0x10000)),
        codes::BAD_BUFFER,
        "an iovec outside",
    );
    common::close(r);
    common::close(w);
}
