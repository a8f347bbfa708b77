//! One test per row of the design's execution-class table: where each kind
//! of call runs, observed from outside.

mod common;

use common::{Harness, call};
use sysgate_proto::{CompletionFlags, SubmissionFlags, codes};

fn nr(n: libc::c_long) -> u32 {
    n as u32
}

#[test]
fn non_blocking_runs_inline() {
    let mut h = Harness::new();
    let c = h.run(call(1, nr(libc::SYS_getppid), &[]));
    // SAFETY: getppid has no preconditions.
    assert_eq!(c.result, i64::from(unsafe { libc::getppid() }));
    assert_eq!(c.flags, CompletionFlags::INLINE);
    assert_eq!(
        h.exec.stats().pool.unbounded.started + h.exec.stats().pool.bounded.started,
        0
    );
}

#[test]
fn blocking_runs_on_a_worker() {
    let mut h = Harness::new();
    let ts = common::timespec(0, 1_000_000);
    let c = h.run(common::with_in_buf(
        2,
        nr(libc::SYS_nanosleep),
        &ts,
        &[common::BUF0, 0],
    ));
    assert_eq!(c.result, 0);
    assert_eq!(c.flags, CompletionFlags::POOL);
    assert_eq!(h.exec.stats().punted_unbounded, 1);
}

#[test]
fn thread_affine_runs_on_the_submitting_thread_only() {
    let mut h = Harness::new();
    let c = h.run(call(3, nr(libc::SYS_gettid), &[]));
    // SAFETY: gettid has no preconditions.
    assert_eq!(c.result, i64::from(unsafe { libc::gettid() }));
    assert_eq!(c.flags, CompletionFlags::INLINE);
    let c = h.run(call(4, nr(libc::SYS_gettid), &[]).with_flags(SubmissionFlags::ASYNC));
    assert_eq!(c.result, codes::WRONG_THREAD);
    assert_eq!(c.flags, CompletionFlags::REFUSED);
}

#[test]
fn thread_affine_is_refused_on_the_polling_thread() {
    let mut h = Harness::polling();
    let c = h.run(call(5, nr(libc::SYS_gettid), &[]));
    assert_eq!(c.result, codes::WRONG_THREAD);
    let c = h.run(call(6, nr(libc::SYS_getppid), &[]));
    assert_eq!(
        c.flags,
        CompletionFlags::INLINE,
        "the poller runs non-blocking calls itself"
    );
}

#[test]
fn forbidden_is_refused_and_the_process_lives() {
    let mut h = Harness::new();
    for n in [
        libc::SYS_exit_group,
        libc::SYS_exit,
        libc::SYS_execve,
        libc::SYS_clone,
    ] {
        let c = h.run(call(7, nr(n), &[0, 0, 0]));
        assert_eq!(c.result, codes::FORBIDDEN, "syscall {n}");
        assert_eq!(c.flags, CompletionFlags::REFUSED);
    }
    assert_eq!(h.exec.stats().refused, 4);
}

#[test]
fn unknown_numbers_are_punted_to_the_unbounded_account() {
    let mut h = Harness::new();
    let c = h.run(call(8, 4000, &[]));
    assert_eq!(c.result, -i64::from(libc::ENOSYS));
    assert_eq!(c.flags, CompletionFlags::POOL);
    assert_eq!(h.exec.stats().punted_unbounded, 1);
}

#[test]
fn cached_reads_run_inline_and_nowait_means_nowait() {
    let mut h = Harness::new();
    let dir = common::TempDir::new("classes");
    let path = dir.file("data", &[b'x'; 8192]);
    let fd = common::open(&path, libc::O_RDONLY);
    // Warm the page cache, then a pread is answered from it inline.
    std::fs::read(&path).unwrap();
    let c = h.run(common::with_out_buf(
        9,
        nr(libc::SYS_pread64),
        4096,
        &[fd as u64, common::BUF0, 4096, 0],
    ));
    assert_eq!(c.result, 4096);
    assert_eq!(c.flags, CompletionFlags::INLINE);
    assert_eq!(&c.outputs[0][..], &[b'x'; 4096][..]);
    // fsync always blocks: punted, or -EAGAIN under NOWAIT.
    let c = h.run(call(10, nr(libc::SYS_fsync), &[fd as u64]).with_flags(SubmissionFlags::NOWAIT));
    assert_eq!(c.result, -i64::from(libc::EAGAIN));
    let c = h.run(call(11, nr(libc::SYS_fsync), &[fd as u64]));
    assert_eq!((c.result, c.flags), (0, CompletionFlags::POOL));
    assert_eq!(
        h.exec.stats().punted_bounded,
        1,
        "a regular file's fsync is bounded work"
    );
    common::close(fd);
}

#[test]
fn opens_try_the_dentry_cache_first() {
    let mut h = Harness::new();
    let path = b"/etc/hostname\0";
    let open = |ud, flags: i32| {
        common::with_in_bytes(
            ud,
            nr(libc::SYS_openat),
            path,
            &[libc::AT_FDCWD as u64, common::BUF0, flags as u64, 0],
        )
    };
    std::fs::metadata("/etc/hostname").unwrap();
    let c = h.run(open(12, libc::O_RDONLY | libc::O_CLOEXEC));
    assert!(c.result >= 0, "openat: {}", c.result);
    assert_eq!(
        c.flags,
        CompletionFlags::INLINE,
        "a cached path opens inline"
    );
    common::close(c.result as i32);
    let dir = common::TempDir::new("opens");
    let newfile = dir.path("new\0");
    let c = h.run(common::with_in_bytes(
        13,
        nr(libc::SYS_openat),
        newfile.as_bytes(),
        &[
            libc::AT_FDCWD as u64,
            common::BUF0,
            (libc::O_CREAT | libc::O_WRONLY) as u64,
            0o600,
        ],
    ));
    assert!(c.result >= 0);
    assert_eq!(
        c.flags,
        CompletionFlags::POOL,
        "O_CREAT goes straight to the pool"
    );
    common::close(c.result as i32);
}

#[test]
fn reads_on_empty_pipes_leave_the_submitting_thread() {
    let mut h = Harness::new();
    let (r, w) = common::pipe();
    h.submit(common::with_out_buf(
        14,
        nr(libc::SYS_read),
        16,
        &[r as u64, common::BUF0, 16],
    ));
    h.enter(1, 0);
    assert_eq!(
        h.reap_now().len(),
        0,
        "the read must not complete (or block) inline"
    );
    common::write_all(w, b"ping");
    let c = h.wait_one();
    assert_eq!(c.result, 4);
    assert_eq!(&c.outputs[0][..], b"ping");
    common::close(r);
    common::close(w);
}

#[test]
fn the_polling_thread_sleeps_when_idle_and_wakes_for_work() {
    let mut h = Harness::polling();
    let need_wakeup = sysgate_ring::layout::flags::SQ_NEED_WAKEUP;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while h.region.flags() & need_wakeup == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the poller never went to sleep"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // Asleep: a submission wakes it (the push sees NEED_WAKEUP) and runs.
    let c = h.run(call(20, nr(libc::SYS_getppid), &[]));
    assert_eq!(c.flags, CompletionFlags::INLINE);
}
