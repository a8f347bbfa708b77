//! 2. `cached_read`: 4 KiB `pread` of a page-cached 1 MiB file, at batch 1
//!    and 32; op k reads page k mod 256.
//!
//! - sysgate: `batch` `pread64` submissions with a 4 KiB output buffer; the
//!   executor runs each inline as `preadv2(RWF_NOWAIT)`, and the data comes
//!   back in the completion (copied out, as a client hands it over).
//! - direct: `pread` through std (`FileExt::read_at`).
//! - io_uring_read: `batch` READ SQEs into `batch` fixed 4 KiB buffers, one
//!   `io_uring_enter` that submits and waits for all.
//! - tokio_spawn_blocking_pread: `spawn_blocking(pread)` per read (tokio::fs
//!   has no positional read; its `File::read` is itself a `spawn_blocking`
//!   per call, plus a seek), `batch` spawned then all awaited.

use std::cell::RefCell;
use std::fs::File;
use std::hint::black_box;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::harness::{Variant, interleave, timed};
use crate::report::{Report, Unit};
use crate::scenarios::{Config, RowSpec, names, progress, row, tokio_runtime};
use crate::sysgate_side::Gate;
use crate::uring::Uring;

const PAGES: u64 = 256;
/// The cheap variants (sysgate, direct, io_uring) run this many times the
/// nominal ops per round, so that a round lasts long enough to time.
const FAST: u64 = 5;

/// The test file, removed on drop.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn page(k: u64) -> u64 {
    (k % PAGES) * 4096
}

pub fn run(cfg: &Config, report: &mut Report) {
    let path = TempFile(
        std::env::temp_dir().join(format!("sysgate-bench-cached-read-{}", std::process::id())),
    );
    let data: Vec<u8> = (0..PAGES * 4096).map(|i| (i % 251) as u8).collect();
    File::create(&path.0)
        .and_then(|mut f| f.write_all(&data))
        .expect("writing the test file");
    let file = Arc::new(File::open(&path.0).expect("opening the test file"));
    // Warm the page cache.
    let mut buf = vec![0u8; 4096];
    for k in 0..PAGES {
        file.read_at(&mut buf, page(k)).expect("warming the cache");
    }
    let nominal: u64 = cfg.pick(2_048, 10_240);
    let gate = RefCell::new(Gate::new());
    let rt = tokio_runtime();
    let mut uring = match Uring::new() {
        Ok(u) => Some(u),
        Err(e) => {
            report.skipped.push((
                "cached_read io_uring READ".into(),
                format!("io_uring unavailable: {e}"),
            ));
            None
        }
    };
    let mut ubufs = vec![[0u8; 4096]; 32];
    let fd = file.as_raw_fd();
    for batch in [1u32, 32] {
        progress(&format!("cached_read batch={batch}"));
        let reps = nominal / u64::from(batch);
        let f = &file;
        let mut variants = vec![
            Variant::new("sysgate", "sysgate pread (inline RWF_NOWAIT)", || {
                let mut g = gate.borrow_mut();
                timed(nominal * FAST, || {
                    let mut bytes = 0;
                    for r in 0..reps * FAST {
                        let base = r * u64::from(batch);
                        bytes += g.pread_batch(fd, batch, |i| page(base + u64::from(i)));
                    }
                    assert_eq!(bytes as u64, nominal * FAST * 4096);
                })
                .0
            }),
            Variant::new("direct", "direct pread (std read_at)", || {
                let mut b = [0u8; 4096];
                timed(nominal * FAST, || {
                    for k in 0..nominal * FAST {
                        let n = f.read_at(&mut b, page(k)).expect("pread");
                        black_box((n, &b));
                    }
                })
                .0
            }),
            Variant::new(
                "tokio_spawn_blocking_pread",
                "tokio spawn_blocking(pread)",
                || {
                    timed(nominal, || {
                        rt.block_on(async {
                            let mut handles = Vec::with_capacity(batch as usize);
                            let mut bytes = 0;
                            for r in 0..reps {
                                for i in 0..u64::from(batch) {
                                    let f = Arc::clone(f);
                                    let off = page(r * u64::from(batch) + i);
                                    handles.push(tokio::task::spawn_blocking(move || {
                                        let mut b = vec![0u8; 4096];
                                        let n = f.read_at(&mut b, off).expect("pread");
                                        (n, b)
                                    }));
                                }
                                for h in handles.drain(..) {
                                    let (n, b) = h.await.expect("spawn_blocking");
                                    bytes += n;
                                    black_box(b);
                                }
                            }
                            assert_eq!(bytes as u64, nominal * 4096);
                        })
                    })
                    .0
                },
            ),
        ];
        if let Some(u) = uring.as_mut() {
            let bufs = &mut ubufs;
            variants.push(Variant::new("io_uring_read", "io_uring READ", move || {
                let bufs = &mut bufs[..batch as usize];
                timed(nominal * FAST, || {
                    for r in 0..reps * FAST {
                        let base = r * u64::from(batch);
                        let n = u.read_batch(f, bufs, |i| page(base + u64::from(i)));
                        assert_eq!(n, 4096 * i64::from(batch));
                        black_box(&bufs);
                    }
                })
                .0
            }));
        }
        let series = interleave(cfg.warmup, cfg.rounds, &mut variants);
        let spec = RowSpec {
            scenario: "cached_read",
            variant: format!("batch={batch}"),
            what: "4 KiB pread of a cached page, ns per read".into(),
            unit: Unit::NsPerOp,
            nominal_ops: nominal,
            targets: Vec::new(),
        };
        let notes = vec![format!(
            "cheap variants (sysgate, direct, io_uring) run {FAST}× the nominal ops per round; sysgate executor so far: {}",
            gate.borrow().counters()
        )];
        let names = names(&variants);
        drop(variants);
        report.rows.push(row(spec, &names, &series, notes));
    }
}
