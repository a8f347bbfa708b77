//! Link chains: members run in order, later members use earlier results,
//! a failure cancels the rest, HARDLINK carries on.

mod common;

use common::{BUF0, Harness};
use sysgate_proto::{
    Arg, Buffer, Completion, CompletionFlags, Op, Submission, SubmissionFlags, SyscallOp, codes,
};

fn nr(n: libc::c_long) -> u32 {
    n as u32
}

const LINK: SubmissionFlags = SubmissionFlags::LINK;
const HARDLINK: SubmissionFlags = SubmissionFlags::HARDLINK;

fn openat(ud: u64, path: &str, flags: i32) -> Submission<'static> {
    let mut p = path.as_bytes().to_vec();
    p.push(0);
    common::with_in_bytes(
        ud,
        nr(libc::SYS_openat),
        &p,
        &[libc::AT_FDCWD as u64, BUF0, flags as u64, 0o600],
    )
}

/// `nr(args)` where `fd` is the result of chain member 0.
fn on_linked_fd(
    ud: u64,
    n: libc::c_long,
    rest: &[Arg],
    bufs: Vec<Buffer<'static>>,
) -> Submission<'static> {
    let args = std::iter::once(Arg::LinkResult(0))
        .chain(rest.iter().copied())
        .collect();
    Submission::new(
        ud,
        Op::Syscall(SyscallOp {
            nr: nr(n),
            args,
            bufs,
            relocs: vec![],
        }),
    )
}

fn run_chain(h: &mut Harness, subs: Vec<Submission<'static>>) -> Vec<Completion<'static>> {
    let n = subs.len();
    for s in subs {
        h.submit(s);
    }
    h.enter(n as u32, 0);
    let mut done = h.wait_n(n);
    done.sort_by_key(|c| c.user_data);
    done
}

#[test]
fn open_read_close_of_a_file_the_caller_never_saw_the_fd_of() {
    let mut h = Harness::new();
    let expected = std::fs::read("/etc/hostname").unwrap();
    let done = run_chain(
        &mut h,
        vec![
            openat(1, "/etc/hostname", libc::O_RDONLY | libc::O_CLOEXEC).with_flags(LINK),
            // A read shorter than its buffer is "short": HARDLINK so the
            // close runs anyway.
            on_linked_fd(
                2,
                libc::SYS_read,
                &[Arg::Buf(0), Arg::Imm(4096)],
                vec![Buffer::Out(4096)],
            )
            .with_flags(HARDLINK),
            on_linked_fd(3, libc::SYS_close, &[], vec![]),
        ],
    );
    assert!(done[0].result >= 0, "{:?}", done[0]);
    assert_eq!(done[1].result, expected.len() as i64);
    assert_eq!(&done[1].outputs[0][..], &expected[..]);
    assert_eq!(done[2].result, 0, "close of the linked fd");
    // The fd really is closed. Its number may already be another test's, so
    // look at what it names instead of touching it.
    let named = std::fs::read_link(format!("/proc/self/fd/{}", done[0].result));
    assert!(
        named.is_err() || named.as_deref().ok() != Some(std::path::Path::new("/etc/hostname")),
        "the chain's fd still names /etc/hostname"
    );
}

/// `openat → openat → read → write → close → close` in one chain: the
/// write's buffer is the read's output (`Buffer::Linked`) and its length
/// the read's result. The read runs inline, the write (to a regular file)
/// on the pool, so the output crosses to the worker with the chain.
#[test]
fn a_linked_write_sends_what_the_linked_read_read() {
    let mut h = Harness::new();
    let dir = common::TempDir::new("linked-write");
    let src = dir.file("src", b"copied through a chain");
    let dst = dir.path("dst");
    let mut dst_path = dst.as_bytes().to_vec();
    dst_path.push(0);
    // The destination is opened first (member 0), then the source (1).
    let open_dst = common::with_in_bytes(
        1,
        nr(libc::SYS_openat),
        &dst_path,
        &[
            libc::AT_FDCWD as u64,
            BUF0,
            (libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC) as u64,
            0o600,
        ],
    )
    .with_flags(LINK);
    let open_src = openat(2, &src, libc::O_RDONLY | libc::O_CLOEXEC).with_flags(LINK);
    let call = |ud, n, args: Vec<Arg>, bufs| {
        Submission::new(
            ud,
            Op::Syscall(SyscallOp {
                nr: nr(n),
                args: args.into_iter().collect(),
                bufs,
                relocs: vec![],
            }),
        )
    };
    // Exactly the file's size: not a short read, so the link holds.
    let read = call(
        3,
        libc::SYS_read,
        vec![Arg::LinkResult(1), Arg::Buf(0), Arg::Imm(22)],
        vec![Buffer::Out(22)],
    )
    .with_flags(LINK);
    let write = call(
        4,
        libc::SYS_write,
        vec![Arg::LinkResult(0), Arg::Buf(0), Arg::LinkResult(2)],
        vec![Buffer::Linked(sysgate_proto::LinkedOutput {
            member: 2,
            output: 0,
        })],
    )
    .with_flags(HARDLINK);
    let close_src = call(5, libc::SYS_close, vec![Arg::LinkResult(1)], vec![]).with_flags(HARDLINK);
    let close_dst = call(6, libc::SYS_close, vec![Arg::LinkResult(0)], vec![]);
    let done = run_chain(
        &mut h,
        vec![open_dst, open_src, read, write, close_src, close_dst],
    );
    assert_eq!(
        done.iter().map(|c| c.result).collect::<Vec<_>>()[2..],
        [22, 22, 0, 0]
    );
    assert!(done[3].outputs.is_empty(), "a linked buffer is an input");
    assert_eq!(std::fs::read(&dst).unwrap(), b"copied through a chain");

    // Outside a chain, or naming a later member, it is a protocol error.
    let lone = call(
        7,
        libc::SYS_write,
        vec![Arg::Imm(1), Arg::Buf(0), Arg::Imm(0)],
        vec![Buffer::Linked(sysgate_proto::LinkedOutput {
            member: 0,
            output: 0,
        })],
    );
    let done = run_chain(&mut h, vec![lone]);
    assert_eq!(done[0].result, codes::INVALID);
    assert!(done[0].flags.contains(CompletionFlags::PROTOCOL_ERROR));
}

#[test]
fn a_failing_link_cancels_the_rest_and_a_hardlink_carries_on() {
    let mut h = Harness::new();
    let done = run_chain(
        &mut h,
        vec![
            openat(1, "/nonexistent/sysgate", libc::O_RDONLY).with_flags(LINK),
            common::call(2, nr(libc::SYS_getppid), &[]).with_flags(LINK),
            common::call(3, nr(libc::SYS_getppid), &[]),
        ],
    );
    assert_eq!(done[0].result, -i64::from(libc::ENOENT));
    assert_eq!(done[1].result, -i64::from(libc::ECANCELED));
    assert_eq!(done[2].result, -i64::from(libc::ECANCELED));

    let done = run_chain(
        &mut h,
        vec![
            openat(4, "/nonexistent/sysgate", libc::O_RDONLY).with_flags(HARDLINK),
            common::call(5, nr(libc::SYS_getppid), &[]),
        ],
    );
    assert_eq!(done[0].result, -i64::from(libc::ENOENT));
    assert!(
        done[1].result > 0,
        "hardlink runs the next one: {:?}",
        done[1]
    );
}

#[test]
fn a_chain_continues_on_the_pool_after_a_punted_member() {
    let mut h = Harness::new();
    let dir = common::TempDir::new("links");
    let path = dir.path("created");
    let done = run_chain(
        &mut h,
        vec![
            // O_CREAT goes to the pool; the rest of the chain follows it there.
            openat(1, &path, libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC).with_flags(LINK),
            on_linked_fd(
                2,
                libc::SYS_write,
                &[Arg::Buf(0), Arg::Imm(5)],
                vec![Buffer::In(b"hello".to_vec().into())],
            )
            .with_flags(LINK),
            on_linked_fd(3, libc::SYS_close, &[], vec![]).with_flags(LINK),
            // Off the submitting thread now: a thread-affine call is refused.
            common::call(4, nr(libc::SYS_gettid), &[]),
        ],
    );
    assert!(done[0].result >= 0);
    assert_eq!(done[0].flags, CompletionFlags::POOL);
    assert_eq!(done[1].result, 5);
    assert_eq!(done[2].result, 0);
    assert_eq!(
        (done[3].result, done[3].flags),
        (codes::WRONG_THREAD, CompletionFlags::REFUSED)
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"hello");
}

#[test]
fn a_short_write_breaks_a_link() {
    let mut h = Harness::new();
    let (r, w) = common::pipe();
    // A read of 16 bytes from a pipe holding 3 is short.
    common::write_all(w, b"abc");
    let read =
        common::with_out_buf(1, nr(libc::SYS_read), 16, &[r as u64, BUF0, 16]).with_flags(LINK);
    let done = run_chain(
        &mut h,
        vec![read, common::call(2, nr(libc::SYS_getppid), &[])],
    );
    assert_eq!(done[0].result, 3);
    assert_eq!(&done[0].outputs[0][..], b"abc");
    assert_eq!(done[1].result, -i64::from(libc::ECANCELED));
    common::close(r);
    common::close(w);
}

#[test]
fn link_results_outside_a_chain_are_invalid_and_a_broken_chain_is_cancelled() {
    let mut h = Harness::new();
    let lone = on_linked_fd(1, libc::SYS_close, &[], vec![]);
    let c = h.run(lone);
    assert_eq!(
        (c.result, c.flags),
        (codes::INVALID, CompletionFlags::PROTOCOL_ERROR)
    );

    // An undecodable frame with LINK set in the middle of a chain.
    h.submit(common::call(2, nr(libc::SYS_getppid), &[]).with_flags(LINK));
    let mut bad = sysgate_proto::encode_to_vec(&common::call(3, 39, &[]).with_flags(LINK)).unwrap();
    bad[10..14].copy_from_slice(&99u32.to_le_bytes());
    h.submit_raw(&bad);
    h.submit(common::call(4, nr(libc::SYS_getppid), &[]));
    h.enter(3, 0);
    let mut done = h.wait_n(3);
    done.sort_by_key(|c| c.user_data);
    assert_eq!(done[0].result, -i64::from(libc::ECANCELED));
    assert_eq!(done[1].flags, CompletionFlags::PROTOCOL_ERROR);
    assert_eq!(done[2].result, -i64::from(libc::ECANCELED));
}

#[test]
fn dropping_the_executor_cancels_a_chain_still_missing_its_end() {
    let mut h = Harness::new();
    h.submit(common::call(1, nr(libc::SYS_getppid), &[]).with_flags(LINK));
    h.enter(1, 0);
    let done = h.drop_executor();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].result, -i64::from(libc::ECANCELED));
}
