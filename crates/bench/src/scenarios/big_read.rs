//! 8. `big_read`: one 64 MiB `pread` of a page-cached 64 MiB file.
//!
//! - sysgate: `ops::Pread` with a 64 MiB buffer, reused round after round.
//!   The request does not fit a frame, so it goes through the gateway's
//!   buffer arena: the kernel writes into the arena (inline, as
//!   `preadv2(RWF_NOWAIT)`), the client copies the bytes out into the
//!   completion and from there into the buffer, and gives the arena's
//!   pages back.
//! - direct: `pread` through std (`FileExt::read_at`) into a reused 64 MiB
//!   buffer.
//!
//! The notes give the process's resident shared memory (`RssShmem`, where
//! the arena's pages count) before the sysgate rounds and after them.

use std::cell::RefCell;
use std::fs::File;
use std::hint::black_box;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use crate::harness::{Variant, interleave, timed};
use crate::report::{Report, Unit};
use crate::scenarios::{Config, RowSpec, names, progress, row};
use crate::sysgate_side::Gate;

const LEN: usize = 64 << 20;

/// The test file, removed on drop.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A field of `/proc/self/status` in kB, e.g. `RssShmem`.
fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub fn run(cfg: &Config, report: &mut Report) {
    progress("big_read");
    let path = TempFile(
        std::env::temp_dir().join(format!("sysgate-bench-big-read-{}", std::process::id())),
    );
    let data: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
    File::create(&path.0)
        .and_then(|mut f| f.write_all(&data))
        .expect("writing the test file");
    let file = File::open(&path.0).expect("opening the test file");
    let mut direct_buf = vec![0u8; LEN];
    file.read_at(&mut direct_buf, 0).expect("warming the cache");
    let nominal: u64 = cfg.pick(2, 4);
    let gate = RefCell::new(Gate::new());
    let sysgate_buf = RefCell::new(Some(Vec::with_capacity(LEN)));
    let shmem_before = status_kb("RssShmem");
    let fd = file.as_raw_fd();
    let f = &file;
    let mut variants = vec![
        Variant::new("sysgate", "sysgate pread (through the arena)", || {
            let mut g = gate.borrow_mut();
            let mut slot = sysgate_buf.borrow_mut();
            timed(nominal, || {
                for _ in 0..nominal {
                    let buf = slot.take().expect("the buffer is back");
                    let (n, buf) = g.pread_into(fd, buf, 0);
                    assert_eq!(n, LEN, "a 64 MiB pread of a cached file");
                    *slot = Some(black_box(buf));
                }
            })
            .0
        }),
        Variant::new("direct", "direct pread (std read_at)", || {
            timed(nominal, || {
                for _ in 0..nominal {
                    let n = f.read_at(&mut direct_buf, 0).expect("pread");
                    assert_eq!(n, LEN);
                    black_box(&direct_buf);
                }
            })
            .0
        }),
    ];
    let series = interleave(cfg.warmup, cfg.rounds, &mut variants);
    let names = names(&variants);
    drop(variants);
    let same = sysgate_buf.borrow().as_deref() == Some(&data[..]);
    let kb = |v: Option<u64>| v.map_or("?".into(), |v| format!("{v} kB"));
    let notes = vec![
        format!(
            "RssShmem before the sysgate rounds {}, after {}; arena held after: {} bytes; bytes read match the file: {same}",
            kb(shmem_before),
            kb(status_kb("RssShmem")),
            gate.borrow().arena_in_use()
        ),
        format!("sysgate executor so far: {}", gate.borrow().counters()),
    ];
    let spec = RowSpec {
        scenario: "big_read",
        variant: "64MiB".into(),
        what: "one 64 MiB pread of a cached file, ns per read".into(),
        unit: Unit::NsPerOp,
        nominal_ops: nominal,
        targets: Vec::new(),
    };
    report.rows.push(row(spec, &names, &series, notes));
}
