//! `cat FILE...` through sysgate: each file is one linked chain,
//! `openat → read → write(stdout) → … → close`. The reads take the open's
//! result as their fd and each write sends what the read before it read
//! (`ops::Write::linked`): the executor resolves both, so the program
//! submits once per file and never sees the file's descriptor.
//!
//! The file's size comes from a `statx` first, so that no read is short —
//! a short read breaks a link, as in io_uring.
//!
//! ```text
//! cargo run -p sysgate --example cat -- /etc/hostname /etc/os-release
//! ```

use std::process::ExitCode;

use sysgate::{Batch, Fd, Gateway, ops};

fn main() -> ExitCode {
    let gw = match Gateway::new() {
        Ok(gw) => gw,
        Err(e) => {
            eprintln!("cat: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut status = ExitCode::SUCCESS;
    for path in std::env::args_os().skip(1) {
        if let Err(e) = cat(&gw, &path) {
            eprintln!("cat: {}: {e}", path.to_string_lossy());
            status = ExitCode::FAILURE;
        }
    }
    status
}

fn cat(gw: &Gateway, path: &std::ffi::OsStr) -> Result<(), sysgate::Error> {
    let size = gw.call(ops::StatxOp::new(Fd::CWD, path, 0))?.size;
    // One read per MiB (a completion carries at most 1 MiB); files whose
    // size stat does not know (/proc) get one read of up to 64 KiB.
    const CHUNK: u64 = 1 << 20;
    let lens: Vec<u64> = match size {
        0 => vec![64 << 10],
        _ => (0..size.div_ceil(CHUNK))
            .map(|i| CHUNK.min(size - i * CHUNK))
            .collect(),
    };
    let mut chain = Batch::new();
    let open = chain.push(ops::OpenAt::new(Fd::CWD, path, libc::O_RDONLY));
    let mut steps = Vec::new();
    for &len in &lens {
        let read = chain.then(ops::Read::new(open.fd(), Vec::with_capacity(len as usize)));
        let write = ops::Write::linked(1, read);
        // A file of unknown size is read once, and its read is short: the
        // write is hard-linked so that it still runs.
        let write = if size == 0 {
            chain.hardlink(write)
        } else {
            chain.then(write)
        };
        steps.push((read, write));
    }
    // Hard-linked: the file is closed whatever the reads returned.
    chain.hardlink(ops::Close::new(open.fd()));
    let mut done = gw.run(chain);
    if let Some(Err(e)) = done.take(open) {
        return Err(e);
    }
    for (read, write) in steps {
        match (
            done.take(read).expect("in the chain").0,
            done.take(write).expect("in the chain").0,
        ) {
            (Ok(_), Ok(_)) => {}
            // A read after a short one (the file shrank) is cancelled, and
            // the rest of the chain with it.
            (Err(e), _) if e.errno().is_some_and(|e| e.raw() == libc::ECANCELED) => break,
            (Err(e), _) | (Ok(_), Err(e)) => return Err(e),
        }
    }
    Ok(())
}
