//! 6. `tree_walk`: the apparent size of a generated tree — 100,000 entries
//!    (10,000 under `--quick`) of sparse files, symlinks and directories,
//!    made once in a temp dir and walked warm. ns/op is the wall time of
//!    one walk / entries. What is summed is what `du -sb --apparent-size`
//!    sums: `lstat` `st_size` of every entry, the root and the directories
//!    included (checked against `du` itself before timing).
//!
//! - sysgate: the client crate's `du` example, through
//!   [`crate::sysgate_side::sysgate_tree_walk`].
//! - std_fs: a sequential walk with `std::fs::read_dir` and
//!   `DirEntry::metadata` (an `fstatat(AT_SYMLINK_NOFOLLOW)` per entry).
//! - tokio_fs: `tokio::fs::read_dir` + `DirEntry::metadata` (each a
//!   `spawn_blocking` underneath), directories walked concurrently by a
//!   `JoinSet` (one task per directory) on a multi-thread runtime (a worker
//!   per core), entries of one directory in turn.
//! - du_process: `du -sb --apparent-size ROOT` as a child process (its CPU
//!   counts: `RUSAGE_CHILDREN`).

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::harness::{Variant, interleave, timed};
use crate::report::{Goal, Report, Row, SysgateOutcome, Target, Unit};
use crate::scenarios::{Config, RowSpec, names, progress, row};
use crate::sysgate_side::sysgate_tree_walk;

const FILES_PER_DIR: u64 = 40;
const SUBDIRS_PER_DIR: u64 = 6;

/// A generated tree, removed on drop.
struct Tree {
    root: PathBuf,
    entries: u64,
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// A breadth-first tree of `entries` entries (root included): each
/// directory gets 40 sparse files of assorted apparent sizes, a symlink
/// with a target of assorted length, and 6 subdirectories.
fn generate(entries: u64) -> io::Result<Tree> {
    let root = std::env::temp_dir().join(format!("sysgate-bench-tree-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    fs::create_dir(&root)?;
    let tree = Tree {
        root: root.clone(),
        entries,
    };
    let mut count = 1u64;
    let mut queue = std::collections::VecDeque::from([root]);
    'fill: while let Some(dir) = queue.pop_front() {
        for i in 0..FILES_PER_DIR {
            if count >= entries {
                break 'fill;
            }
            let f = File::create(dir.join(format!("f{i:02}.dat")))?;
            f.set_len(count.wrapping_mul(2_654_435_761) % 65_537)?;
            count += 1;
        }
        if count >= entries {
            break;
        }
        let target = format!("../{}", "t".repeat((count % 40) as usize));
        std::os::unix::fs::symlink(target, dir.join("link"))?;
        count += 1;
        for i in 0..SUBDIRS_PER_DIR {
            if count >= entries {
                break 'fill;
            }
            let d = dir.join(format!("d{i}"));
            fs::create_dir(&d)?;
            queue.push_back(d);
            count += 1;
        }
    }
    Ok(tree)
}

/// (apparent bytes, entries) by a sequential std::fs walk.
fn std_walk(root: &Path) -> io::Result<(u64, u64)> {
    let mut bytes = fs::symlink_metadata(root)?.len();
    let mut entries = 1;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir)? {
            let e = e?;
            let md = e.metadata()?;
            bytes += md.len();
            entries += 1;
            if md.is_dir() {
                stack.push(e.path());
            }
        }
    }
    Ok((bytes, entries))
}

/// One directory's (bytes, entries, subdirectories) through tokio::fs.
async fn tokio_dir(dir: PathBuf) -> io::Result<(u64, u64, Vec<PathBuf>)> {
    let mut rd = tokio::fs::read_dir(&dir).await?;
    let (mut bytes, mut entries, mut subdirs) = (0, 0, Vec::new());
    while let Some(e) = rd.next_entry().await? {
        let md = e.metadata().await?;
        bytes += md.len();
        entries += 1;
        if md.is_dir() {
            subdirs.push(e.path());
        }
    }
    Ok((bytes, entries, subdirs))
}

/// (apparent bytes, entries) by tokio::fs, one task per directory.
async fn tokio_walk(root: PathBuf) -> io::Result<(u64, u64)> {
    let mut bytes = tokio::fs::symlink_metadata(&root).await?.len();
    let mut entries = 1;
    let mut set = tokio::task::JoinSet::new();
    set.spawn(tokio_dir(root));
    while let Some(joined) = set.join_next().await {
        let (b, n, subdirs) = joined.map_err(io::Error::other)??;
        bytes += b;
        entries += n;
        for d in subdirs {
            set.spawn(tokio_dir(d));
        }
    }
    Ok((bytes, entries))
}

/// `du -sb --apparent-size root`: the byte count, or why not.
fn du(root: &Path) -> Result<u64, String> {
    let out = Command::new("du")
        .arg("-sb")
        .arg("--apparent-size")
        .arg(root)
        .output()
        .map_err(|e| format!("cannot run du: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "du failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .ok_or_else(|| "du printed no byte count".to_string())
}

pub fn run(cfg: &Config, report: &mut Report) {
    let want: u64 = cfg.pick(10_000, 100_000);
    progress(&format!("tree_walk: generating {want} entries"));
    let t = Instant::now();
    let tree = match generate(want) {
        Ok(t) => t,
        Err(e) => {
            report
                .skipped
                .push(("tree_walk".into(), format!("cannot generate the tree: {e}")));
            return;
        }
    };
    let made_in = t.elapsed();
    let root = tree.root.clone();
    let n = tree.entries;
    // Warm the cache and learn the answer.
    let (bytes, entries) = std_walk(&root).expect("walking the tree");
    let mut notes = vec![format!(
        "tree: {entries} entries, {bytes} apparent bytes, generated in {:.1} s under {}",
        made_in.as_secs_f64(),
        root.display()
    )];
    if entries != n {
        notes.push(format!("generator made {entries} entries, not {n}"));
    }
    let du_ok = match du(&root) {
        Ok(b) if b == bytes => {
            notes.push(format!(
                "check: du -sb --apparent-size = {b} = the std::fs walk"
            ));
            true
        }
        Ok(b) => {
            notes.push(format!(
                "CHECK FAILED: du -sb --apparent-size = {b}, the std::fs walk = {bytes}"
            ));
            true
        }
        Err(why) => {
            report.skipped.push(("tree_walk du_process".into(), why));
            false
        }
    };
    let sysgate = match sysgate_tree_walk(&root) {
        Ok((b, e)) => {
            if (b, e) != (bytes, entries) {
                notes.push(format!(
                    "CHECK FAILED: sysgate walk = ({b} bytes, {e} entries), std::fs = ({bytes}, {entries})"
                ));
            }
            None
        }
        Err(p) => Some(p.to_string()),
    };

    progress(&format!("tree_walk entries={entries}"));
    // A multi-thread runtime (a worker per core), as `#[tokio::main]` makes:
    // the directory tasks run in parallel, the file calls on the blocking pool.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let check = |got: (u64, u64), who: &str| {
        assert_eq!(got, (bytes, entries), "{who} walk disagrees with std::fs");
    };
    let mut variants = Vec::new();
    if sysgate.is_none() {
        variants.push(Variant::new("sysgate", "sysgate du example", || {
            let (r, got) = timed(entries, || sysgate_tree_walk(&root).expect("sysgate walk"));
            check(got, "sysgate");
            r
        }));
    }
    variants.push(Variant::new("std_fs", "sequential std::fs", || {
        let (r, got) = timed(entries, || std_walk(&root).expect("std walk"));
        check(got, "std::fs");
        r
    }));
    variants.push(Variant::new(
        "tokio_fs",
        "tokio::fs (task per directory)",
        || {
            let (r, got) = timed(entries, || {
                rt.block_on(tokio_walk(root.clone())).expect("tokio walk")
            });
            check(got, "tokio::fs");
            r
        },
    ));
    if du_ok {
        variants.push(Variant::new(
            "du_process",
            "du -sb --apparent-size (process)",
            || {
                let (r, got) = timed(entries, || du(&root));
                assert_eq!(got, Ok(bytes), "du");
                r
            },
        ));
    }
    let series = interleave(cfg.warmup, cfg.pick(3, 5), &mut variants);
    let names = names(&variants);
    drop(variants);
    let spec = RowSpec {
        scenario: "tree_walk",
        variant: format!("entries={entries}"),
        what: "apparent size of a warm tree, ns per entry".into(),
        unit: Unit::NsPerOp,
        nominal_ops: entries,
        targets: vec![
            Target {
                baseline: "std_fs",
                goal: Goal::SpeedupAtLeast(1.0),
                label: "faster than sequential std::fs",
            },
            Target {
                baseline: "tokio_fs",
                goal: Goal::SpeedupAtLeast(1.0),
                label: "faster than tokio::fs",
            },
        ],
    };
    let mut row: Row = row(spec, &names, &series, notes);
    if let Some(why) = sysgate {
        row.sysgate = SysgateOutcome::Pending(why);
    }
    report.rows.push(row);
    drop(tree);
}
