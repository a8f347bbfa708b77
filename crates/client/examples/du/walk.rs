//! The walk behind the `du` example (the benchmark runs it too): a
//! parallel directory walk with `getdents64` and `statx` through one
//! gateway, every directory's entries stat'ed as one batch.

use std::collections::HashSet;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use sysgate::{Batch, DirEntries, Error, Fd, Gateway, ops};

/// What `du -sb --apparent-size` adds up, and how many entries it saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Apparent sizes of every entry (the root and directories included),
    /// each hard-linked inode counted once.
    pub bytes: u64,
    /// Entries that are not directories.
    pub files: u64,
    /// Directories, the root included.
    pub dirs: u64,
    /// Entries that could not be read (reported on stderr, like `du`).
    pub errors: u64,
}

/// Directories scanned at once; each has its whole listing stat'ed at
/// once, so hundreds of requests are in flight.
const DIRS_IN_FLIGHT: usize = 16;

const MASK: u32 = libc::STATX_TYPE | libc::STATX_SIZE | libc::STATX_NLINK | libc::STATX_INO;

/// `du -sb --apparent-size ROOT`.
pub async fn du(gw: &Gateway, root: &Path) -> Result<Usage, Error> {
    let st = gw
        .submit(ops::StatxOp::new(Fd::CWD, root, libc::AT_SYMLINK_NOFOLLOW).mask(MASK))
        .await?;
    let mut usage = Usage {
        bytes: st.size,
        ..Usage::default()
    };
    if !st.is_dir() {
        usage.files = 1;
        return Ok(usage);
    }
    usage.dirs = 1;
    let mut seen = HashSet::new();
    let mut todo = vec![root.to_path_buf()];
    let mut scans = tokio::task::JoinSet::new();
    loop {
        while scans.len() < DIRS_IN_FLIGHT {
            let Some(dir) = todo.pop() else { break };
            let gw = gw.clone();
            scans.spawn(async move {
                let scan = scan(&gw, &dir).await;
                (dir, scan)
            });
        }
        let Some(joined) = scans.join_next().await else {
            break;
        };
        let (dir, scan) = joined.expect("a scan task panicked");
        let scan = match scan {
            Ok(scan) => scan,
            Err(e) => {
                eprintln!("du: cannot read directory {}: {e}", dir.display());
                usage.errors += 1;
                continue;
            }
        };
        usage.errors += scan.errors;
        for e in scan.entries {
            if e.nlink > 1 && !e.is_dir && !seen.insert(e.ino) {
                continue;
            }
            usage.bytes += e.size;
            if e.is_dir {
                usage.dirs += 1;
                todo.push(dir.join(e.name));
            } else {
                usage.files += 1;
            }
        }
    }
    Ok(usage)
}

struct Entry {
    name: OsString,
    size: u64,
    ino: u64,
    nlink: u32,
    is_dir: bool,
}

struct Scan {
    entries: Vec<Entry>,
    errors: u64,
}

/// Lists `dir` and stats every entry relative to its descriptor.
async fn scan(gw: &Gateway, dir: &Path) -> Result<Scan, Error> {
    let fd = gw
        .submit(ops::OpenAt::new(
            Fd::CWD,
            dir,
            libc::O_RDONLY | libc::O_DIRECTORY,
        ))
        .await?;
    let mut names = Vec::new();
    let mut buf = Vec::with_capacity(64 * 1024);
    loop {
        let (n, back) = gw.submit(ops::Getdents64::new(&fd, buf)).await;
        buf = back;
        if n? == 0 {
            break;
        }
        names.extend(
            DirEntries::new(&buf)
                .filter(|e| !e.is_dot())
                .map(|e| e.name.to_owned()),
        );
    }
    let mut batch = Batch::new();
    let handles: Vec<_> = names
        .iter()
        .map(|name| batch.push(ops::StatxOp::new(&fd, name, libc::AT_SYMLINK_NOFOLLOW).mask(MASK)))
        .collect();
    let mut done = gw.submit_batch(batch).await;
    let mut scan = Scan {
        entries: Vec::with_capacity(names.len()),
        errors: 0,
    };
    for (name, h) in names.into_iter().zip(handles) {
        match done.take(h).expect("taken once") {
            Ok(st) => scan.entries.push(Entry {
                is_dir: st.is_dir(),
                size: st.size,
                ino: st.ino ^ (u64::from(st.dev.0) << 40) ^ u64::from(st.dev.1),
                nlink: st.nlink,
                name,
            }),
            // Removed meanwhile: du does not count it either.
            Err(e) if e.errno().is_some_and(|e| e.raw() == libc::ENOENT) => {}
            Err(e) => {
                let path = PathBuf::from(dir).join(std::ffi::OsStr::from_bytes(name.as_bytes()));
                eprintln!("du: cannot access {}: {e}", path.display());
                scan.errors += 1;
            }
        }
    }
    Ok(scan)
}
