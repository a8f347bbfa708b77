//! The `du` example's walk against `du -sb --apparent-size` on a generated
//! tree of more than 10,000 entries.

mod common;

#[path = "../examples/du/walk.rs"]
mod walk;

use std::process::Command;
use sysgate_testkit::{Need, skip};

use common::TempDir;

#[test]
fn du_example_matches_du_on_a_generated_tree() {
    let dir = TempDir::new("du");
    let root = dir.join("tree");
    let mut entries = 0;
    for d in 0..100 {
        let sub = root
            .join(format!("d{d:03}"))
            .join(format!("inner{}", d % 7));
        std::fs::create_dir_all(&sub).unwrap();
        entries += 2;
        for f in 0..100 {
            let path = sub.join(format!("f{f:03}"));
            std::fs::write(&path, vec![b'x'; (d * 131 + f * 17) % 5000]).unwrap();
            entries += 1;
        }
        std::os::unix::fs::symlink("f000", sub.join("link")).unwrap();
        // A hard link: du counts the inode once.
        std::fs::hard_link(sub.join("f001"), sub.join("hard")).unwrap();
        std::fs::create_dir(sub.join("empty")).unwrap();
        entries += 3;
    }
    assert!(entries >= 10_000);
    let du = match Command::new("du")
        .args(["-sb", "--apparent-size"])
        .arg(&root)
        .output()
    {
        Ok(out) if out.status.success() => out,
        other => {
            return skip(Need::Tool, &format!("no working `du` here ({other:?})"));
        }
    };
    let expected: u64 = String::from_utf8_lossy(&du.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();

    let gw = sysgate::Gateway::new().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let usage = rt.block_on(walk::du(&gw, &root)).unwrap();
    assert_eq!(usage.bytes, expected);
    assert_eq!(usage.errors, 0);
    // 100 × (100 files + a symlink; the hard link is the same inode as a
    // file) and 100 × 3 directories + the root.
    assert_eq!((usage.files, usage.dirs), (100 * 101, 301));
}
