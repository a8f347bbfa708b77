//! Big buffers through the buffer arena: reads and writes larger than a
//! frame move exactly, through every layer; limits give typed errors; an
//! arena range in flight is never handed out again before its completion.

mod common;

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use common::{TempDir, pipe};
use sysgate::proto::{Arg, Buffer, Op, SyscallOp};
use sysgate::{Batch, Error, Flags, Gateway, InvalidRequest, RawArg, Request, ops, raw};

const MIB: usize = 1 << 20;

/// Bytes where every 4 KiB page differs from every other (it starts with
/// its number), so that a misplaced, stale or missing page shows; two
/// seeds differ in every word.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let page: Vec<u8> = (0..512u64)
        .flat_map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ seed).to_le_bytes())
        .collect();
    let mut v = Vec::with_capacity(len);
    for n in 0..len.div_ceil(4096) as u64 {
        let start = v.len();
        v.extend_from_slice(&page[..(len - start).min(4096)]);
        let stamp = (n ^ seed).to_le_bytes();
        let end = (start + 8).min(len);
        v[start..end].copy_from_slice(&stamp[..end - start]);
    }
    v
}

fn file(dir: &TempDir, name: &str, data: &[u8]) -> std::fs::File {
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    std::fs::File::open(path).unwrap()
}

/// Asserts equality without printing megabytes on failure.
fn same(got: &[u8], want: &[u8], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    if got != want {
        let at = got.iter().zip(want).position(|(a, b)| a != b);
        panic!("{what}: first difference at byte {at:?}");
    }
}

#[test]
fn a_64_mib_pread_and_pwrite_move_the_bytes_exactly() {
    let gw = Gateway::new().unwrap();
    let dir = TempDir::new("arena-64");
    let data = pattern(64 * MIB, 1);
    let path = dir.join("big");
    let out = std::fs::File::create(&path).unwrap();
    let (n, back) = gw.call(ops::Pwrite::new(&out, data.clone(), 0));
    assert_eq!(n.unwrap(), 64 * MIB);
    same(&back, &data, "the buffer handed back");
    same(&std::fs::read(&path).unwrap(), &data, "the file written");
    assert_eq!(gw.arena_in_use(), 0, "released after the completion");

    // Read it back into a buffer that held other bytes.
    let f = std::fs::File::open(&path).unwrap();
    let mut buf = pattern(64 * MIB, 2);
    buf.clear();
    let (n, buf) = gw.call(ops::Pread::new(&f, buf, 0));
    assert_eq!(n.unwrap(), 64 * MIB);
    same(&buf, &data, "the bytes read");
    assert_eq!(gw.arena_in_use(), 0);

    // At an offset, on the pool, as a future.
    let (n, buf) = sysgate::block_on(gw.submit_with(
        ops::Pread::new(&f, Vec::with_capacity(8 * MIB), 3 * MIB as i64),
        Flags::ASYNC,
    ));
    assert_eq!(n.unwrap(), 8 * MIB);
    same(&buf, &data[3 * MIB..11 * MIB], "an async read at an offset");
}

#[test]
fn a_short_read_through_the_arena_returns_what_was_read() {
    let gw = Gateway::new().unwrap();
    let dir = TempDir::new("arena-short");
    let data = pattern(3 * MIB + 5, 3);
    let f = file(&dir, "short", &data);
    let (n, buf) = gw.call(ops::Read::new(&f, Vec::with_capacity(8 * MIB)));
    assert_eq!(n.unwrap(), data.len());
    same(&buf, &data, "a short read");
    assert!(
        buf.capacity() >= 8 * MIB,
        "the caller's buffer is handed back"
    );

    // The raw layer trims a read's buffer to its result too, and returns
    // other outputs whole (zeros where the kernel wrote nothing).
    let fd = f.as_raw_fd() as u64;
    let out = gw
        .call(raw(
            libc::SYS_pread64 as u32,
            [
                RawArg::Imm(fd),
                RawArg::Out(4 * MIB),
                RawArg::Imm(4 * MIB as u64),
                RawArg::Imm(MIB as u64),
            ],
        ))
        .unwrap();
    assert_eq!(out.value as usize, 2 * MIB + 5);
    same(&out.outputs[0], &data[MIB..], "raw pread");
    // readv into two 2 MiB buffers: its result is spread over both, so
    // both come back whole, the second half zeros past the data.
    let mut iov = vec![0u8; 32];
    iov[8..16].copy_from_slice(&(2 * MIB as u64).to_ne_bytes());
    iov[24..32].copy_from_slice(&(2 * MIB as u64).to_ne_bytes());
    let readv = Request::new(Op::Syscall(SyscallOp {
        nr: libc::SYS_preadv as u32,
        args: [Arg::Imm(fd), Arg::Buf(0), Arg::Imm(2), Arg::Imm(0)]
            .into_iter()
            .collect(),
        bufs: vec![
            Buffer::In(iov.into()),
            Buffer::Out(2 * MIB as u32),
            Buffer::Out(2 * MIB as u32),
        ],
        relocs: vec![
            sysgate::proto::Reloc {
                buf: 0,
                at: 0,
                target: 1,
                offset: 0,
            },
            sysgate::proto::Reloc {
                buf: 0,
                at: 16,
                target: 2,
                offset: 0,
            },
        ],
    }));
    let c = gw.call(readv).unwrap();
    assert_eq!(c.result as usize, 3 * MIB + 5);
    assert_eq!(c.outputs.len(), 2);
    same(&c.outputs[0], &data[..2 * MIB], "first iovec");
    same(&c.outputs[1][..MIB + 5], &data[2 * MIB..], "second iovec");
    assert!(
        c.outputs[1][MIB + 5..].iter().all(|&b| b == 0),
        "an arena output starts zeroed, as an executor-owned one"
    );
    assert_eq!(gw.arena_in_use(), 0);
}

#[test]
fn over_the_limit_and_a_full_arena_are_typed_errors() {
    let gw = Gateway::builder().arena_bytes(4 * MIB).build().unwrap();
    let dir = TempDir::new("arena-limit");
    let f = file(&dir, "f", &pattern(MIB, 4));
    let (r, e) = gw.call(ops::Pread::new(&f, Vec::with_capacity(8 * MIB), 0));
    assert_eq!(
        r.unwrap_err(),
        Error::BuffersTooLarge {
            bytes: 8 * MIB as u64,
            limit: 4 * MIB as u64
        }
    );
    assert!(e.capacity() >= 8 * MIB, "the buffer comes back");
    let msg = Error::BuffersTooLarge { bytes: 8, limit: 4 }.to_string();
    assert!(
        msg.contains("arena_bytes"),
        "the error names the limit: {msg}"
    );

    // A read that waits holds 3 MiB; 2 more do not fit next to it.
    let (pr, pw) = pipe();
    let waiting = gw.submit(ops::Read::new(&pr, Vec::with_capacity(3 * MIB)));
    assert_eq!(gw.arena_in_use(), 3 * MIB as u64);
    let (r, _) = gw.call(ops::Pread::new(&f, Vec::with_capacity(2 * MIB), 0));
    assert_eq!(
        r.unwrap_err(),
        Error::ArenaFull {
            bytes: 2 * MIB as u64,
            largest_free: MIB as u64
        }
    );
    // Once it completes and is taken, the space is back.
    write_fd(&pw, b"done");
    let (n, buf) = waiting.wait();
    assert_eq!((n.unwrap(), &buf[..]), (4, &b"done"[..]));
    let (n, _) = gw.call(ops::Pread::new(&f, Vec::with_capacity(2 * MIB), 0));
    assert_eq!(n.unwrap(), MIB);

    // Requests may not name arena bytes themselves.
    let named = Request::new(Op::Syscall(SyscallOp {
        nr: libc::SYS_read as u32,
        args: [Arg::Imm(0), Arg::Buf(0), Arg::Imm(16)]
            .into_iter()
            .collect(),
        bufs: vec![Buffer::ArenaOut(sysgate::proto::ArenaRange {
            offset: 0,
            len: 16,
        })],
        relocs: vec![],
    }));
    assert_eq!(
        gw.call(named).unwrap_err(),
        Error::Invalid(InvalidRequest::ArenaBuffer { buf: 0 })
    );

    // Without an arena the frame's limit stands.
    let small = Gateway::builder().arena_bytes(0).build().unwrap();
    let (r, _) = small.call(ops::Pread::new(&f, Vec::with_capacity(2 * MIB), 0));
    assert!(
        matches!(
            r,
            Err(Error::Invalid(InvalidRequest::Validation(
                sysgate::proto::ValidationError::DataTooLarge { .. }
            )))
        ),
        "{r:?}"
    );
}

/// `write(2)` without a crate: the test's own end of a pipe.
fn write_fd(fd: &impl AsRawFd, bytes: &[u8]) {
    // SAFETY: `bytes` is valid for reads of its length.
    let n = unsafe { libc::write(fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len()) };
    assert_eq!(n, bytes.len() as isize);
}

/// Waits until `what` holds, driving reaps with cheap calls.
fn until(gw: &Gateway, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        gw.call(ops::Nop).unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_dropped_future_keeps_its_arena_range_until_its_completion() {
    let gw = Gateway::new().unwrap();
    let dir = TempDir::new("arena-drop");
    let p2 = pattern(2 * MIB, 5);
    let f2 = file(&dir, "p2", &p2);

    // A 2 MiB read blocks on an empty pipe, on a pool worker.
    let (pr, pw) = pipe();
    let a = gw.submit_with(
        ops::Read::new(&pr, Vec::with_capacity(2 * MIB)),
        Flags::ASYNC,
    );
    until(&gw, "the read is on a worker", || {
        gw.stats().pool.unbounded.busy == 1
    });
    assert_eq!(gw.arena_in_use(), 2 * MIB as u64);
    drop(a);
    // Cancelled, but its completion has not been reaped: its range is
    // still held, and the next big request gets other pages.
    assert_eq!(gw.arena_in_use(), 2 * MIB as u64, "held after the drop");
    // Data for the read, racing its cancellation: the worker may read it
    // into the dropped request's range right now.
    write_fd(&pw, &pattern(64 << 10, 6));
    let (n, got) = gw.call(ops::Pread::new(&f2, Vec::with_capacity(2 * MIB), 0));
    assert_eq!(n.unwrap(), 2 * MIB);
    same(&got, &p2, "the read after the drop");
    until(&gw, "the dropped read's completion is reaped", || {
        gw.arena_in_use() == 0
    });

    // Drops under load: reads of one file dropped at once (running on
    // workers, writing into their ranges, or cancelled), each followed by
    // a read of another file into the arena, whose bytes must be its own.
    let p1 = pattern(2 * MIB, 7);
    let f1 = file(&dir, "p1", &p1);
    for round in 0..40 {
        let dropped: Vec<_> = (0..3)
            .map(|_| {
                gw.submit_with(
                    ops::Pread::new(&f1, Vec::with_capacity(2 * MIB), 0),
                    Flags::ASYNC,
                )
            })
            .collect();
        if round % 2 == 0 {
            drop(dropped);
            let (n, got) = gw.call(ops::Pread::new(&f2, Vec::with_capacity(2 * MIB), 0));
            assert_eq!(n.unwrap(), 2 * MIB);
            same(&got, &p2, "a read after drops");
        } else {
            let (n, got) = gw.call(ops::Pread::new(&f2, Vec::with_capacity(2 * MIB), 0));
            drop(dropped);
            assert_eq!(n.unwrap(), 2 * MIB);
            same(&got, &p2, "a read beside drops");
        }
    }
    until(&gw, "every dropped read is reaped", || {
        gw.arena_in_use() == 0
    });
}

#[test]
fn batches_chains_and_sets_move_big_buffers_too() {
    let gw = Gateway::new().unwrap();
    let dir = TempDir::new("arena-batch");
    let data = pattern(3 * MIB + 100, 8);
    let src = file(&dir, "src", &data);
    let dst_path = dir.join("dst");
    let dst = std::fs::File::create(&dst_path).unwrap();

    // read → write of what it read, in place in the arena (hard-linked:
    // the read is short).
    let mut batch = Batch::new();
    let read = batch.push(ops::Read::new(&src, Vec::with_capacity(4 * MIB)));
    batch.hardlink(ops::Write::linked(&dst, read));
    let small = batch.push(ops::Pread::new(&src, Vec::with_capacity(64), 0));
    let mut done = gw.run(batch);
    let (n, buf) = done.take(read).unwrap();
    assert_eq!(n.unwrap(), data.len());
    same(&buf, &data, "the batch's read");
    same(
        &std::fs::read(&dst_path).unwrap(),
        &data,
        "the linked write",
    );
    let (n, buf) = done.take(small).unwrap();
    assert_eq!((n.unwrap(), &buf[..]), (64, &data[..64]));
    drop(done);
    assert_eq!(gw.arena_in_use(), 0);

    let mut set = sysgate::OpSet::new(&gw);
    for i in 0..4 {
        set.push(ops::Pread::new(
            &src,
            Vec::with_capacity(2 * MIB),
            (i * MIB) as i64,
        ))
        .unwrap();
    }
    while let Some((key, (n, buf))) = set.wait_next() {
        let n = n.unwrap();
        let start = key * MIB;
        assert_eq!(n, (data.len() - start).min(2 * MIB));
        same(&buf, &data[start..start + n], "a set's read");
    }
    assert_eq!(gw.arena_in_use(), 0);
}

#[test]
fn small_rings_send_what_does_not_fit_a_frame_through_the_arena() {
    let gw = Gateway::builder()
        .sq_bytes(64 << 10)
        .cq_bytes(64 << 10)
        .build()
        .unwrap();
    let dir = TempDir::new("arena-small-ring");
    let data = pattern(100 << 10, 9);
    let path = dir.join("f");
    let f = std::fs::File::create(&path).unwrap();
    let (n, _) = gw.call(ops::Write::new(&f, data.clone()));
    assert_eq!(n.unwrap(), data.len());
    let f = std::fs::File::open(&path).unwrap();
    let (n, buf) = gw.call(ops::Read::new(&f, Vec::with_capacity(200 << 10)));
    assert_eq!(n.unwrap(), data.len());
    same(&buf, &data, "through a small ring");
}
