//! Credentials through the gateway: glibc's wrappers change every thread.
//!
//! Linux keeps credentials per thread; `setuid()` in a program changes all
//! of them because glibc signals every thread to make the same syscall.
//! The executor runs the `setuid` family through those wrappers, so after
//! a `setuid` request no thread of the process — the submitter, the
//! gateway's driver, a pool worker busy in a blocking call, one started
//! later — keeps the old identity.
//!
//! Dropping root cannot be undone, so the test runs in a child process:
//! this test binary again, with an environment variable that makes the
//! test do the work instead of spawning.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use sysgate::{Flags, Gateway, RawArg, ops, raw};
use sysgate_testkit::{Need, skip};

const CHILD: &str = "SYSGATE_CREDENTIALS_CHILD";
const NOBODY: u32 = 65534;

/// The `Uid:` line of every thread of this process, with the thread's name.
fn thread_uids() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let dir = task.unwrap().path();
        // A thread that exits between readdir and read is gone: skip it.
        let Ok(status) = std::fs::read_to_string(dir.join("status")) else {
            continue;
        };
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
                .unwrap_or_default()
        };
        out.push((field("Name:"), field("Uid:")));
    }
    out
}

#[test]
fn setuid_through_the_gateway_changes_every_thread() {
    if std::env::var_os(CHILD).is_some() {
        return in_child();
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return skip(Need::Root, "only root has privileges to give up");
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "setuid_through_the_gateway_changes_every_thread",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed: {text}");
    assert!(text.contains("every thread changed"), "{text}");
}

fn in_child() {
    let dir = common::TempDir::new("credentials");
    let private = dir.join("root-only");
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(
        &private,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();

    let gw = Gateway::new().unwrap();
    // A pool worker, busy in a blocking call while the ids change: glibc's
    // signal reaches it there too (a sleep ends early with EINTR, as it
    // would on any thread of a program that calls setuid).
    let sleeping = gw.submit(ops::Nanosleep::new(Duration::from_millis(600)));
    let deadline = Instant::now() + Duration::from_secs(10);
    while gw.stats().pool.unbounded.busy == 0 {
        assert!(Instant::now() < deadline, "the worker never started");
        std::thread::sleep(Duration::from_millis(1));
    }
    let before = thread_uids();
    assert!(before.len() >= 2, "only {before:?}");
    assert!(before.iter().all(|(_, uid)| uid == "0 0 0 0"), "{before:?}");

    let r = gw.call(raw(
        libc::SYS_setuid as u32,
        [RawArg::Imm(u64::from(NOBODY))],
    ));
    assert_eq!(r.unwrap().value, 0);

    let want = format!("{NOBODY} {NOBODY} {NOBODY} {NOBODY}");
    let after = thread_uids();
    assert_eq!(after.len(), before.len(), "{before:?} → {after:?}");
    assert!(after.iter().all(|(_, uid)| *uid == want), "{after:?}");
    match sleeping.wait() {
        Ok(()) => {}
        Err(e) => assert_eq!(e.errno(), Some(sysgate::Errno::EINTR), "{e}"),
    }

    // Workers started from now on inherit the new ids, and pooled and
    // inline calls alike run as nobody: mkdirat in a root-only directory
    // fails, however it is sent.
    let busy: Vec<_> = (0..4)
        .map(|_| gw.submit(ops::Nanosleep::new(Duration::from_millis(200))))
        .collect();
    for (i, flags) in [Flags::NONE, Flags::ASYNC].into_iter().enumerate() {
        let path = private.join(format!("d{i}"));
        let r = gw
            .submit_with(ops::MkdirAt::new(sysgate::Fd::CWD, &path, 0o755), flags)
            .wait();
        assert_eq!(
            r.unwrap_err().errno(),
            Some(sysgate::Errno::EACCES),
            "{flags:?}"
        );
    }
    let started_later = thread_uids();
    assert!(started_later.len() > after.len(), "{started_later:?}");
    assert!(
        started_later.iter().all(|(_, uid)| *uid == want),
        "{started_later:?}"
    );
    for b in busy {
        b.wait().unwrap();
    }
    println!("every thread changed: {} threads", started_later.len());
}
