//! Runs the `sysgate` binary and checks what it prints.

use std::collections::HashSet;
use std::process::{Command, Output};

use serde_json::Value;

fn sysgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sysgate"))
        .args(args)
        .output()
        .expect("run sysgate")
}

fn stdout(out: &Output) -> &str {
    std::str::from_utf8(&out.stdout).expect("utf-8 stdout")
}

fn stderr(out: &Output) -> &str {
    std::str::from_utf8(&out.stderr).expect("utf-8 stderr")
}

const CLASSES: [&str; 7] = [
    "non-blocking",
    "nowait-capable",
    "cached-first",
    "blocking",
    "thread-affine",
    "forbidden",
    "unknown",
];

#[test]
fn syscalls_json_lists_the_table() {
    let out = sysgate(&["syscalls", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let value: Value = serde_json::from_str(stdout(&out)).expect("valid JSON");
    let entries = value.as_array().expect("a JSON array");
    assert!(entries.len() > 300, "only {} entries", entries.len());

    let mut names = HashSet::new();
    let mut last_number = -1i64;
    let mut with_signature = 0;
    for e in entries {
        let name = e["name"].as_str().expect("name is a string");
        assert!(names.insert(name.to_owned()), "{name} twice");
        let number = e["number"].as_i64().expect("number is an integer");
        assert!(number > last_number, "{name}: not in number order");
        last_number = number;
        let class = e["class"].as_str().expect("class is a string");
        assert!(CLASSES.contains(&class), "{name}: class {class}");
        match &e["signature"] {
            Value::String(sig) => {
                assert!(sig.starts_with(&format!("{name}(")), "{name}: {sig}");
                with_signature += 1;
            }
            Value::Null => {}
            other => panic!("{name}: signature {other}"),
        }
    }
    assert_eq!(with_signature, sysgate_sys::signatures().len());

    let find = |name: &str| {
        entries
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    let openat = find("openat");
    assert_eq!(openat["class"], "cached-first");
    assert_eq!(
        openat["signature"],
        "openat(dirfd, path, flags:O_*, mode) -> fd"
    );
    #[cfg(target_arch = "x86_64")]
    assert_eq!(openat["number"], 257);
    assert_eq!(find("read")["class"], "nowait-capable");
    assert_eq!(find("read")["signature"], "read(fd, buf, count) -> size");
    assert_eq!(find("getpid")["class"], "non-blocking");
    assert_eq!(find("fsync")["class"], "blocking");
    assert_eq!(find("gettid")["class"], "thread-affine");
    let exit_group = find("exit_group");
    assert_eq!(exit_group["class"], "forbidden");
    assert_eq!(exit_group["signature"], "exit_group(status) -> ?");
    // Known by name only: default class, no signature.
    let mount = find("mount");
    assert_eq!(mount["class"], "blocking");
    assert!(mount["signature"].is_null());
    assert!(find("clone")["reason"].is_string());
}

#[test]
fn syscalls_text_is_one_line_per_syscall() {
    let out = sysgate(&["syscalls"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let json = sysgate(&["syscalls", "--json"]);
    let entries: Value = serde_json::from_str(stdout(&json)).unwrap();
    assert_eq!(text.lines().count(), entries.as_array().unwrap().len());

    let line = |name: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no line for {name}"))
    };
    let openat: Vec<_> = line("openat").split_whitespace().collect();
    assert_eq!(openat[2], "cached-first");
    assert_eq!(
        openat[3..].join(" "),
        "openat(dirfd, path, flags:O_*, mode) -> fd"
    );
    assert!(line("mount").ends_with(" -"));
    assert!(line("exit_group").contains(" forbidden "));
}

#[test]
fn no_arguments_prints_version_and_usage() {
    for args in [&[][..], &["--help"], &["-h"]] {
        let out = sysgate(args);
        assert!(out.status.success());
        let text = stdout(&out);
        assert!(text.starts_with(&format!("sysgate {}", env!("CARGO_PKG_VERSION"))));
        for command in ["syscalls [--json]", "repl", "run FILE", "replay TRACE"] {
            assert!(text.contains(command), "usage lacks {command}");
        }
        assert!(!text.contains("not yet available"), "{text}");
    }
    let out = sysgate(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        stdout(&out).trim(),
        format!("sysgate {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_command_lines_exit_2_with_a_message() {
    for args in [&["frobnicate"][..], &["syscalls", "--yaml"], &["--bogus"]] {
        let out = sysgate(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(
            stderr(&out).contains("sysgate: unknown"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn repl_run_and_replay_are_available() {
    // With stdin not a terminal (here: empty), `repl` runs it as a script.
    let out = sysgate(&["repl"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let out = sysgate(&["run", "/nonexistent/script.sg"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!stderr(&out).contains("not yet available"));
    let out = sysgate(&["replay", "/nonexistent/trace.txt"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot read /nonexistent/trace.txt"),
        "{}",
        stderr(&out)
    );
}
