//! The arena's memfd is held like the rings' (alone in its binary: it
//! lists this process's descriptors).

mod common;

use common::TempDir;
use sysgate::{Error, Gateway, RawArg, ops, raw};

const MIB: usize = 1 << 20;

/// The descriptors of this process whose link reads `target`.
fn fds_named(target: &str) -> Vec<i32> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let link = std::fs::read_link(e.path()).ok()?;
            let fd = e.file_name().to_str()?.parse().ok()?;
            link.to_str()?.starts_with(target).then_some(fd)
        })
        .collect()
}

/// The arena's memfd is the gateway's: a request cannot close, truncate
/// or write it (after a close, its number could name a user's file that
/// discarding arena pages would then punch holes into).
#[test]
fn requests_cannot_touch_the_arena_memfd() {
    let before = fds_named("/memfd:sysgate-arena");
    let gw = Gateway::new().unwrap();
    let dir = TempDir::new("arena-held");
    let out = std::fs::File::create(dir.join("f")).unwrap();
    // A write bigger than a frame creates the arena.
    let (n, _) = gw.call(ops::Pwrite::new(&out, vec![7; 2 * MIB], 0));
    assert_eq!(n.unwrap(), 2 * MIB);
    let arena: Vec<i32> = fds_named("/memfd:sysgate-arena")
        .into_iter()
        .filter(|fd| !before.contains(fd))
        .collect();
    assert_eq!(arena.len(), 1, "one new arena memfd: {arena:?}");
    let fd = arena[0];
    for (what, op) in [
        ("close", raw(libc::SYS_close as u32, [RawArg::from(fd)])),
        (
            "ftruncate",
            raw(
                libc::SYS_ftruncate as u32,
                [RawArg::from(fd), RawArg::from(0u64)],
            ),
        ),
    ] {
        match gw.call(op) {
            Err(Error::Refused { reason, .. }) => {
                assert!(reason.contains(&fd.to_string()), "{what}: {reason}")
            }
            other => panic!("{what} of the arena memfd: {other:?}"),
        }
    }
    assert_eq!(fds_named("/memfd:sysgate-arena").len(), before.len() + 1);
}
