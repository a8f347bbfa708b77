//! Unit tests of replay: the command line and the comparison rules. The
//! replays themselves are in `tests/replay.rs`.

use super::*;

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

#[test]
fn command_lines_parse() {
    let c = parse_args(&args(&["t.log"])).unwrap().unwrap();
    assert_eq!(c.trace, "t.log");
    assert_eq!(c.options, ReplayOptions::default());
    assert!(!c.strict && !c.quiet && !c.verbose);

    let c = parse_args(&args(&[
        "--strict",
        "-n",
        "-v",
        "--timeout",
        "0.5",
        "-j",
        "8",
        "-",
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(c.trace, "-");
    assert!(c.strict && c.verbose && c.options.dry_run);
    assert_eq!(c.options.timeout, Duration::from_millis(500));
    assert_eq!(c.options.max_in_flight, 8);

    let c = parse_args(&args(&["--", "-odd-name"])).unwrap().unwrap();
    assert_eq!(c.trace, "-odd-name");
    assert_eq!(parse_args(&args(&["-h"])), Ok(None));
    assert_eq!(parse_args(&args(&["x", "--help"])), Ok(None));
}

#[test]
fn bad_command_lines_say_why() {
    for (words, needle) in [
        (&[][..], "missing TRACE"),
        (&["a", "b"][..], "more than one TRACE"),
        (&["--nope", "a"][..], "unknown option `--nope`"),
        (&["--timeout"][..], "needs a value"),
        (&["--timeout", "-1", "a"][..], "expected seconds"),
        (&["--timeout", "NaN", "a"][..], "expected seconds"),
        (&["-j", "0", "a"][..], "expected 1 to 4096"),
        (&["-q", "-v", "a"][..], "exclude each other"),
    ] {
        let err = parse_args(&args(words)).unwrap_err();
        assert!(err.contains(needle), "{words:?}: {err}");
    }
}

#[test]
fn differences_are_kind_errno_and_meaningful_values() {
    let sig = |name| sysgate_sys::signature_by_name(name).unwrap();
    let enoent = -2;
    let eacces = -13;
    // Kind and errno always count.
    assert!(results_differ(sig("openat"), 3, enoent));
    assert!(results_differ(sig("openat"), enoent, 3));
    assert!(results_differ(sig("openat"), enoent, eacces));
    assert!(!results_differ(sig("openat"), enoent, enoent));
    // Fd numbers, pids, ids, flags do not.
    assert!(!results_differ(sig("openat"), 3, 7));
    assert!(!results_differ(sig("getpid"), 100, 4242));
    assert!(!results_differ(sig("getuid"), 0, 1000));
    assert!(!results_differ(sig("fcntl"), 0x8002, 0x8000));
    // Counts, sizes and offsets do.
    assert!(results_differ(sig("read"), 10, 0));
    assert!(results_differ(sig("getdents64"), 80, 112));
    assert!(results_differ(sig("lseek"), 5, 0));
    assert!(!results_differ(sig("write"), 5, 5));
}

#[test]
fn skip_causes_have_labels() {
    use sysgate::{Error, InvalidRequest};
    let cases = [
        (SkipCause::SystemWide, "system-wide"),
        (SkipCause::Interrupted, "interrupted"),
        (SkipCause::NotOpenLive { fd: 3 }, "fd not open live"),
        (
            SkipCause::Gateway(Error::Invalid(InvalidRequest::NoSignature(1))),
            "unsupported",
        ),
        (SkipCause::Gateway(Error::Protocol(-1)), "rejected"),
        (
            SkipCause::Trace(SkipReason::MemoryMapping),
            "memory mapping",
        ),
    ];
    for (cause, label) in cases {
        assert_eq!(cause.label(), label);
        assert!(!cause.to_string().is_empty());
    }
}

#[test]
fn interrupted_calls_are_skipped() {
    let log = "\
read(0, 0x7ffc0000, 10) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)
nanosleep({tv_sec=1, tv_nsec=0}, NULL) = -1 EINTR (Interrupted system call)
getpid() = 1
";
    let s = replay(
        log,
        &ReplayOptions {
            dry_run: true,
            ..ReplayOptions::default()
        },
    )
    .unwrap();
    assert_eq!(s.skipped.get("interrupted"), Some(&2), "{:?}", s.skipped);
    assert_eq!(s.planned, 1);
}

#[test]
fn shorten_cuts_long_calls() {
    let call =
        crate::strace::parse_call(&format!("write(1, \"{}\", 200)", "x".repeat(200))).unwrap();
    let short = shorten(&call, 40);
    assert_eq!(short.chars().count(), 40);
    assert!(short.ends_with(" ..."));
}
