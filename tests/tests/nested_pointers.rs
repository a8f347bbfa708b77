//! Nested pointers, end to end: a `readv` into two output buffers and a
//! `sendmsg` whose msghdr points at an iovec pointing at data, encoded with
//! relocations, carried over a ring, executed by the executor on a real
//! socketpair.

use std::time::Duration;

use sysgate_exec::Executor;
use sysgate_proto::{
    Arg, Buffer, Completion, Op, Reloc, Submission, SyscallOp, decode, encode_to_vec,
};
use sysgate_ring::{Region, RegionSizes};

fn nr(name: &str) -> u32 {
    sysgate_sys::number_of(name).expect("a known syscall")
}

fn run(sub: Submission<'_>) -> Completion<'static> {
    let region = Region::create(RegionSizes {
        sq_bytes: 1 << 16,
        cq_bytes: 1 << 16,
        max_frame: 8192,
    })
    .unwrap();
    let mut exec =
        Executor::builder().build(region.sq_consumer().unwrap(), region.cq_producer().unwrap());
    let mut sq = region.sq_producer().unwrap();
    let mut cq = region.cq_consumer().unwrap();
    sq.push(encode_to_vec(&sub).unwrap()).unwrap();
    exec.enter(1, 1, Some(Duration::from_secs(10))).unwrap();
    let mut frame = Vec::new();
    cq.pop(&mut frame).unwrap().expect("a completion");
    decode::<Completion>(&frame).unwrap().into_owned()
}

fn socketpair() -> [i32; 2] {
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
    assert_eq!(rc, 0);
    fds
}

fn close(fd: i32) {
    // SAFETY: the test owns `fd`.
    unsafe { libc::close(fd) };
}

#[test]
fn sendmsg_with_an_iovec_then_readv_into_two_buffers() {
    let [a, b] = socketpair();

    // struct msghdr: name@0 namelen@8 iov@16 iovlen@24 control@32
    // controllen@40 flags@48; iovec: base@0 len@8.
    let mut msghdr = [0u8; 56];
    msghdr[24..32].copy_from_slice(&1u64.to_ne_bytes());
    let mut iov = [0u8; 16];
    iov[8..16].copy_from_slice(&12u64.to_ne_bytes());
    let send = Submission::new(
        1,
        Op::Syscall(SyscallOp {
            nr: nr("sendmsg"),
            args: [Arg::Imm(a as u64), Arg::Buf(0), Arg::Imm(0)]
                .into_iter()
                .collect(),
            bufs: vec![
                Buffer::In(msghdr.to_vec().into()),
                Buffer::In(iov.to_vec().into()),
                Buffer::In(b"hello, world".to_vec().into()),
            ],
            relocs: vec![
                Reloc {
                    buf: 0,
                    at: 16,
                    target: 1,
                    offset: 0,
                },
                Reloc {
                    buf: 1,
                    at: 0,
                    target: 2,
                    offset: 0,
                },
            ],
        }),
    );
    let c = run(send);
    assert_eq!(c.result, 12, "{c:?}");

    let mut iovs = [0u8; 32];
    iovs[8..16].copy_from_slice(&4u64.to_ne_bytes());
    iovs[24..32].copy_from_slice(&8u64.to_ne_bytes());
    let readv = Submission::new(
        2,
        Op::Syscall(SyscallOp {
            nr: nr("readv"),
            args: [Arg::Imm(b as u64), Arg::Buf(0), Arg::Imm(2)]
                .into_iter()
                .collect(),
            bufs: vec![
                Buffer::In(iovs.to_vec().into()),
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
    );
    let c = run(readv);
    assert_eq!(c.result, 12, "{c:?}");
    assert_eq!(c.outputs.len(), 2);
    assert_eq!(&c.outputs[0][..], b"hell");
    assert_eq!(&c.outputs[1][..], b"o, world");
    close(a);
    close(b);
}
