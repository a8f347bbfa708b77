//! Arena buffers: the kernel reads and writes the submitter's arena in
//! place, relocations reach into it, linked requests read an arena output
//! where it is, and hostile references are refused with a protocol error
//! while the executor goes on.

mod common;

use common::*;
use sysgate_exec::Executor;
use sysgate_proto::{
    ArenaRange, Arg, Buffer, CompletionFlags, LinkedOutput, Op, Reloc, Submission, SubmissionFlags,
    SyscallOp, codes,
};
use sysgate_ring::Arena;

const ARENA: usize = 8 << 20;

fn harness() -> (Harness, Arena) {
    let arena = Arena::create(ARENA).unwrap();
    (
        Harness::with(Executor::builder().arena(arena.clone())),
        arena,
    )
}

fn syscall(
    user_data: u64,
    nr: libc::c_long,
    args: &[Arg],
    bufs: Vec<Buffer<'static>>,
    relocs: Vec<Reloc>,
) -> Submission<'static> {
    Submission::new(
        user_data,
        Op::Syscall(SyscallOp {
            nr: nr as u32,
            args: args.iter().copied().collect(),
            bufs,
            relocs,
        }),
    )
}

fn range(offset: u64, len: u32) -> ArenaRange {
    ArenaRange { offset, len }
}

/// Bytes that differ from page to page and within a page.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3] ^ seed)
        .collect()
}

fn pread(user_data: u64, fd: i32, buf: Buffer<'static>, len: u64, at: u64) -> Submission<'static> {
    syscall(
        user_data,
        libc::SYS_pread64,
        &[
            Arg::Imm(fd as u64),
            Arg::Buf(0),
            Arg::Imm(len),
            Arg::Imm(at),
        ],
        vec![buf],
        vec![],
    )
}

#[test]
fn reads_and_writes_go_through_the_arena_in_place() {
    let (mut h, arena) = harness();
    let dir = TempDir::new("arena-rw");
    let data = pattern(3 << 20, 1);
    let src = open(&dir.file("src", &data), libc::O_RDONLY);

    let out = Buffer::ArenaOut(range(4096, 3 << 20));
    let c = h.run(pread(1, src, out, 3 << 20, 0));
    assert_eq!(c.result, 3 << 20);
    assert_eq!(c.outputs.len(), 1, "one output, a placeholder");
    assert!(
        c.outputs[0].is_empty(),
        "no bytes cross the completion ring"
    );
    assert_eq!(arena.read_to_vec(4096, 3 << 20).unwrap(), data);

    // A short read: the result says how much of the arena buffer holds data.
    let c = h.run(pread(
        2,
        src,
        Buffer::ArenaOut(range(0, 4 << 20)),
        4 << 20,
        1 << 20,
    ));
    assert_eq!(c.result, 2 << 20);
    assert_eq!(arena.read_to_vec(0, 2 << 20).unwrap(), data[1 << 20..]);

    // On the pool too.
    let sub = pread(3, src, Buffer::ArenaOut(range(0, 3 << 20)), 3 << 20, 0)
        .with_flags(SubmissionFlags::ASYNC);
    arena.discard(0, 4 << 20).unwrap();
    let c = h.run(sub);
    assert_eq!((c.result, c.flags), (3 << 20, CompletionFlags::POOL));
    assert_eq!(arena.read_to_vec(0, 3 << 20).unwrap(), data);

    // A write from the arena.
    let dst_path = dir.path("dst");
    let dst = open(&dst_path, libc::O_WRONLY | libc::O_CREAT);
    let c = h.run(syscall(
        4,
        libc::SYS_pwrite64,
        &[
            Arg::Imm(dst as u64),
            Arg::Buf(0),
            Arg::Imm(3 << 20),
            Arg::Imm(0),
        ],
        vec![Buffer::ArenaIn(range(0, 3 << 20))],
        vec![],
    ));
    assert_eq!(c.result, 3 << 20);
    assert!(c.outputs.is_empty(), "an arena input is no output");
    assert_eq!(std::fs::read(&dst_path).unwrap(), data);
    close(src);
    close(dst);
}

#[test]
fn relocations_target_arena_buffers_and_write_into_them() {
    let (mut h, arena) = harness();
    let dir = TempDir::new("arena-reloc");
    let data = pattern(12288, 2);
    let fd = open(&dir.file("src", &data), libc::O_RDONLY);

    // readv: the iovec array in the frame, its bases relocated to two arena
    // outputs (and one in-frame output between them).
    let mut iov = [0u8; 48];
    for (i, len) in [4096u64, 100, 8092].into_iter().enumerate() {
        iov[16 * i + 8..16 * i + 16].copy_from_slice(&len.to_ne_bytes());
    }
    let at = |buf: u16, i: u32, target: u16| Reloc {
        buf,
        at: 16 * i,
        target,
        offset: 0,
    };
    let c = h.run(syscall(
        1,
        libc::SYS_readv,
        &[Arg::Imm(fd as u64), Arg::Buf(0), Arg::Imm(3)],
        vec![
            Buffer::In(iov.to_vec().into()),
            Buffer::ArenaOut(range(65536, 4096)),
            Buffer::Out(100),
            Buffer::ArenaOut(range(16, 8092)),
        ],
        vec![at(0, 0, 1), at(0, 1, 2), at(0, 2, 3)],
    ));
    assert_eq!(c.result, 12288);
    assert_eq!(c.outputs.len(), 3);
    assert!(c.outputs[0].is_empty() && c.outputs[2].is_empty());
    assert_eq!(&c.outputs[1][..], &data[4096..4196]);
    assert_eq!(arena.read_to_vec(65536, 4096).unwrap(), data[..4096]);
    assert_eq!(arena.read_to_vec(16, 8092).unwrap(), data[4196..]);

    // writev: now the iovec array itself is in the arena, and the executor
    // writes the relocated bases into it there.
    let mut iov = [0u8; 32];
    iov[8..16].copy_from_slice(&4096u64.to_ne_bytes());
    iov[24..32].copy_from_slice(&100u64.to_ne_bytes());
    arena.write(1 << 20, &iov).unwrap();
    arena.write(2 << 20, b"tail of the data").unwrap();
    let (r, w) = pipe();
    let c = h.run(syscall(
        2,
        libc::SYS_writev,
        &[Arg::Imm(w as u64), Arg::Buf(0), Arg::Imm(2)],
        vec![
            Buffer::ArenaIn(range(1 << 20, 32)),
            Buffer::ArenaIn(range(65536, 4096)),
            Buffer::In(vec![b'x'; 100].into()),
        ],
        vec![at(0, 0, 1), at(0, 1, 2)],
    ));
    assert_eq!(c.result, 4196);
    let mut got = vec![0u8; 4196];
    // SAFETY: reads into the vector we own, at most its length.
    let n = unsafe { libc::read(r, got.as_mut_ptr().cast(), got.len()) };
    assert_eq!(n, 4196);
    assert_eq!(got[..4096], data[..4096]);
    assert_eq!(got[4096..], [b'x'; 100]);
    let base = arena.read_to_vec(1 << 20, 8).unwrap();
    assert_ne!(
        base, [0; 8],
        "the relocated base was written into the arena"
    );
    for fd in [fd, r, w] {
        close(fd);
    }
}

#[test]
fn a_linked_write_reads_an_arena_output_where_it_is() {
    let (mut h, arena) = harness();
    let dir = TempDir::new("arena-linked");
    let data = pattern(5000, 3);
    let src = open(&dir.file("src", &data), libc::O_RDONLY);
    let dst_path = dir.path("dst");
    let dst = open(&dst_path, libc::O_WRONLY | libc::O_CREAT);
    // A short read into 16 KiB of arena, then a write of what it read
    // (hard-linked: a short read breaks a soft link).
    let read = pread(1, src, Buffer::ArenaOut(range(32768, 16384)), 16384, 0)
        .with_flags(SubmissionFlags::HARDLINK);
    let write = syscall(
        2,
        libc::SYS_write,
        &[Arg::Imm(dst as u64), Arg::Buf(0), Arg::LinkResult(0)],
        vec![Buffer::Linked(LinkedOutput {
            member: 0,
            output: 0,
        })],
        vec![],
    );
    h.submit(read);
    h.submit(write);
    h.enter(2, 0);
    let mut done = h.wait_n(2);
    done.sort_by_key(|c| c.user_data);
    assert_eq!((done[0].result, done[1].result), (5000, 5000));
    assert_eq!(std::fs::read(&dst_path).unwrap(), data);
    assert_eq!(arena.read_to_vec(32768, 5000).unwrap(), data);
    close(src);
    close(dst);
}

#[test]
fn hostile_arena_references_are_refused_and_the_executor_goes_on() {
    let (mut h, arena) = harness();
    let dir = TempDir::new("arena-hostile");
    let data = pattern(8192, 4);
    let fd = open(&dir.file("src", &data), libc::O_RDONLY);
    let end = ARENA as u64;
    let hostile = [
        // Past the end.
        Buffer::ArenaOut(range(end - 4096, 8192)),
        Buffer::ArenaIn(range(end, 16)),
        Buffer::ArenaInOut(range(1 << 40, 1)),
        Buffer::ArenaOut(range(0, u32::MAX)),
        // offset + len overflows.
        Buffer::ArenaOut(range(u64::MAX - 15, 32)),
        Buffer::ArenaIn(range(!15, u32::MAX)),
        // Not on a 16-byte boundary.
        Buffer::ArenaOut(range(8, 16)),
    ];
    let ok = |h: &mut Harness, ud: u64| {
        let c = h.run(pread(ud, fd, Buffer::ArenaOut(range(0, 8192)), 8192, 0));
        assert_eq!(c.result, 8192, "the executor goes on");
        assert_eq!(arena.read_to_vec(0, 8192).unwrap(), data);
        arena.discard(0, 8192).unwrap();
    };
    for (i, buf) in hostile.into_iter().enumerate() {
        let ud = 10 + i as u64;
        let c = h.run(pread(ud, fd, buf.clone(), 16, 0));
        assert_eq!(
            (c.result, c.flags),
            (codes::INVALID, CompletionFlags::PROTOCOL_ERROR),
            "{buf:?}"
        );
        ok(&mut h, 100 + ud);
    }
    // A relocation into an arena output is refused too; one into an arena
    // input must stay inside it.
    for (buf, at) in [
        (Buffer::ArenaOut(range(0, 64)), 0),
        (Buffer::ArenaIn(range(0, 64)), 64),
    ] {
        let c = h.run(syscall(
            30,
            libc::SYS_readv,
            &[Arg::Imm(fd as u64), Arg::Buf(0), Arg::Imm(1)],
            vec![buf, Buffer::Out(16)],
            vec![Reloc {
                buf: 0,
                at,
                target: 1,
                offset: 0,
            }],
        ));
        assert_eq!(c.result, codes::INVALID);
        ok(&mut h, 31);
    }
    // A hostile member breaks its chain: the rest are cancelled, not run.
    let first =
        pread(40, fd, Buffer::ArenaOut(range(end, 16)), 16, 0).with_flags(SubmissionFlags::LINK);
    let second = pread(41, fd, Buffer::ArenaOut(range(0, 16)), 16, 0);
    h.submit(first);
    h.submit(second);
    h.enter(2, 0);
    let mut done = h.wait_n(2);
    done.sort_by_key(|c| c.user_data);
    assert_eq!(done[0].result, codes::INVALID);
    assert_eq!(done[1].result, -i64::from(libc::ECANCELED));
    ok(&mut h, 42);
    // Overlapping buffers are the submitter's business: the iovec array
    // and both outputs are the same 32 arena bytes; the kernel reads the
    // array, then writes over it.
    let mut iov = [0u8; 32];
    iov[8..16].copy_from_slice(&16u64.to_ne_bytes());
    iov[24..32].copy_from_slice(&16u64.to_ne_bytes());
    arena.write(4096, &iov).unwrap();
    let same = range(4096, 32);
    let c = h.run(syscall(
        50,
        libc::SYS_readv,
        &[Arg::Imm(fd as u64), Arg::Buf(0), Arg::Imm(2)],
        vec![
            Buffer::ArenaInOut(same),
            Buffer::ArenaOut(same),
            Buffer::ArenaOut(same),
        ],
        vec![
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
                offset: 16,
            },
        ],
    ));
    assert_eq!(c.result, 32);
    assert_eq!(arena.read_to_vec(4096, 32).unwrap(), data[..32]);
    ok(&mut h, 51);
    assert_eq!(h.exec.stats().protocol_errors, 10);
    close(fd);
}

#[test]
fn without_an_arena_every_arena_buffer_is_refused() {
    let mut h = Harness::new();
    let c = h.run(pread(1, 0, Buffer::ArenaOut(range(0, 16)), 16, 0));
    assert_eq!(
        (c.result, c.flags),
        (codes::INVALID, CompletionFlags::PROTOCOL_ERROR)
    );
    let c = h.run(call(2, libc::SYS_getppid as u32, &[]));
    // SAFETY: getppid has no preconditions.
    assert_eq!(c.result, i64::from(unsafe { libc::getppid() }));
}
