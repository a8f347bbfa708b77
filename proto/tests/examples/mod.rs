//! The messages `proto/SPEC.md` works through byte by byte, shared by the
//! golden-vector test and the unit tests.
#![allow(dead_code)]

use sysgate_proto::*;

/// `lseek(3, 0, SEEK_END)` on x86_64 (nr 8): arguments only.
pub fn lseek() -> Submission<'static> {
    Submission::new(
        0x1122_3344_5566_7788,
        Op::Syscall(SyscallOp::immediate(8, &[3, 0, 2])),
    )
}

/// `openat(AT_FDCWD, "/etc/hostname", O_RDONLY|O_CLOEXEC)` on x86_64 (nr 257).
pub fn openat() -> Submission<'static> {
    Submission::new(
        2,
        Op::Syscall(SyscallOp {
            nr: 257,
            args: [Arg::Imm(-100i64 as u64), Arg::Buf(0), Arg::Imm(0o2000000)]
                .into_iter()
                .collect(),
            bufs: vec![Buffer::In(b"/etc/hostname\0".to_vec().into())],
            relocs: vec![],
        }),
    )
    .with_flags(SubmissionFlags::LINK)
}

/// `readv(3, [{iov_base=<4 bytes>, iov_len=4}, {iov_base=<8 bytes>, iov_len=8}], 2)`
/// on x86_64 (nr 19): an iovec array whose two base pointers are relocated
/// to two output buffers.
pub fn readv() -> Submission<'static> {
    let mut iov = [0u8; 32];
    iov[8..16].copy_from_slice(&4u64.to_le_bytes());
    iov[24..32].copy_from_slice(&8u64.to_le_bytes());
    Submission::new(
        3,
        Op::Syscall(SyscallOp {
            nr: 19,
            args: [Arg::Imm(3), Arg::Buf(0), Arg::Imm(2)]
                .into_iter()
                .collect(),
            bufs: vec![
                Buffer::In(iov.to_vec().into()),
                Buffer::Out(4),
                Buffer::Out(8),
            ],
            relocs: vec![
                Reloc {
                    buf: 0,
                    at: 0,
                    target: 1,
                    offset: 0,
                },
                Reloc {
                    buf: 0,
                    at: 16,
                    target: 2,
                    offset: 0,
                },
            ],
        }),
    )
}

/// The completion of [`readv`] after reading `"hello, world"`.
pub fn readv_completion() -> Completion<'static> {
    Completion {
        user_data: 3,
        result: 12,
        flags: CompletionFlags::INLINE,
        outputs: vec![b"hell".to_vec().into(), b"o, world".to_vec().into()],
    }
}

/// `pread64(3, <64 MiB in the arena at 0>, 67108864, 0)` on x86_64 (nr 17):
/// the kernel reads into the submitter's arena; the frame carries none of
/// the bytes.
pub fn pread_arena() -> Submission<'static> {
    Submission::new(
        5,
        Op::Syscall(SyscallOp {
            nr: 17,
            args: [Arg::Imm(3), Arg::Buf(0), Arg::Imm(64 << 20), Arg::Imm(0)]
                .into_iter()
                .collect(),
            bufs: vec![Buffer::ArenaOut(ArenaRange {
                offset: 0,
                len: 64 << 20,
            })],
            relocs: vec![],
        }),
    )
}

/// The completion of [`pread_arena`] after reading all 64 MiB on a worker:
/// the output is an empty placeholder, the bytes are in the arena.
pub fn pread_arena_completion() -> Completion<'static> {
    Completion {
        user_data: 5,
        result: 64 << 20,
        flags: CompletionFlags::POOL,
        outputs: vec![Vec::new().into()],
    }
}

/// `writev(4, [{iov_base=<2 MiB at arena 0>, iov_len=2097152},
/// {iov_base=<1 MiB at arena 0x200000>, iov_len=1048576}], 2)` on x86_64
/// (nr 20): relocations write arena addresses into an iovec array carried
/// in the frame.
pub fn writev_arena() -> Submission<'static> {
    let mut iov = [0u8; 32];
    iov[8..16].copy_from_slice(&(2u64 << 20).to_le_bytes());
    iov[24..32].copy_from_slice(&(1u64 << 20).to_le_bytes());
    Submission::new(
        6,
        Op::Syscall(SyscallOp {
            nr: 20,
            args: [Arg::Imm(4), Arg::Buf(0), Arg::Imm(2)]
                .into_iter()
                .collect(),
            bufs: vec![
                Buffer::In(iov.to_vec().into()),
                Buffer::ArenaIn(ArenaRange {
                    offset: 0,
                    len: 2 << 20,
                }),
                Buffer::ArenaIn(ArenaRange {
                    offset: 0x20_0000,
                    len: 1 << 20,
                }),
            ],
            relocs: vec![
                Reloc {
                    buf: 0,
                    at: 0,
                    target: 1,
                    offset: 0,
                },
                Reloc {
                    buf: 0,
                    at: 16,
                    target: 2,
                    offset: 0,
                },
            ],
        }),
    )
}

/// `ioctl(3, FS_IOC_FIEMAP, <1 MiB in/out at arena 0x400000>)` on x86_64
/// (nr 16): a `struct fiemap` the kernel reads (the range asked for) and
/// fills (its extents), in the arena.
pub fn fiemap_arena() -> Submission<'static> {
    Submission::new(
        7,
        Op::Syscall(SyscallOp {
            nr: 16,
            args: [Arg::Imm(3), Arg::Imm(0xc020_660b), Arg::Buf(0)]
                .into_iter()
                .collect(),
            bufs: vec![Buffer::ArenaInOut(ArenaRange {
                offset: 0x40_0000,
                len: 1 << 20,
            })],
            relocs: vec![],
        }),
    )
}
