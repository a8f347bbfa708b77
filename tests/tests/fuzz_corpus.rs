//! Replays every committed fuzz input — `fuzz/corpus/<target>/` and
//! `fuzz/regressions/<target>/` — through the same bodies the cargo-fuzz
//! targets call, so a regression fails `cargo test` on stable, without the
//! fuzzer. In a git checkout only the files git tracks count: what a local
//! fuzzing run left there is not part of the suite until it is committed.

use std::path::{Path, PathBuf};

use arbitrary::{Arbitrary, Unstructured};
use sysgate_proto::{Completion, Submission};

/// The files under `fuzz/` that git tracks, if this is a git checkout.
fn tracked(root: &Path) -> Option<std::collections::HashSet<PathBuf>> {
    let out = std::process::Command::new("git")
        .args(["ls-files", "-z", "."])
        .current_dir(root)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let names = out.stdout.split(|&b| b == 0).filter(|n| !n.is_empty());
    Some(
        names
            .map(|n| root.join(String::from_utf8_lossy(n).as_ref()))
            .collect(),
    )
}

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let tracked = tracked(&root);
    let mut found = Vec::new();
    for dir in [
        root.join("corpus").join(target),
        root.join("regressions").join(target),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let counted = tracked.as_ref().is_none_or(|t| t.contains(&path));
            if path.is_file() && counted {
                let bytes = std::fs::read(&path).unwrap();
                found.push((path, bytes));
            }
        }
    }
    found.sort();
    found
}

fn replay(target: &str, body: impl Fn(&[u8])) {
    let inputs = inputs(target);
    assert!(!inputs.is_empty(), "no corpus for {target}");
    for (path, bytes) in inputs {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&bytes)));
        assert!(result.is_ok(), "{target}: {} fails", path.display());
    }
}

#[test]
fn decode_submission_corpus() {
    replay(
        "decode_submission",
        sysgate_proto::fuzz::fuzz_decode_submission,
    );
}

#[test]
fn decode_completion_corpus() {
    replay(
        "decode_completion",
        sysgate_proto::fuzz::fuzz_decode_completion,
    );
}

#[test]
fn roundtrip_corpus() {
    replay("roundtrip", |bytes| {
        // As libfuzzer-sys builds the target's argument.
        if let Ok((sub, c)) =
            <(Submission, Completion)>::arbitrary_take_rest(Unstructured::new(bytes))
        {
            sysgate_proto::fuzz::fuzz_roundtrip_submission(&sub);
            sysgate_proto::fuzz::fuzz_roundtrip_completion(&c);
        }
    });
}

#[test]
fn ring_corpus() {
    replay("ring", sysgate_ring::fuzz_ring);
}

#[test]
fn executor_corpus() {
    replay("executor", sysgate_exec::fuzz::fuzz_executor);
}

#[test]
fn parse_line_corpus() {
    replay("parse_line", sysgate_cli::strace::fuzz_parse_line);
}
