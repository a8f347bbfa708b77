//! `cat FILE...` through sysgate: for each file, `openat → read → close`
//! as one linked chain (the read takes the open's result as its fd, the
//! executor resolves it), then `write` to stdout.
//!
//! The write cannot join the chain: buffers cross the ring by copy, so a
//! later link cannot name bytes an earlier one read (see the crate docs).
//! The file's size comes from a `statx` first, so the read is not short —
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
    let reads: Vec<_> = lens
        .iter()
        .map(|&len| chain.then(ops::Read::new(open.fd(), Vec::with_capacity(len as usize))))
        .collect();
    // Hard-linked: the file is closed whatever the reads returned.
    chain.hardlink(ops::Close::new(open.fd()));
    let mut done = gw.run(chain);
    if let Some(Err(e)) = done.take(open) {
        return Err(e);
    }
    for read in reads {
        let (n, data) = done.take(read).expect("in the chain");
        match n {
            Ok(_) => gw.call(ops::Write::new(1, data)).0.map(drop)?,
            // A read after a short one (the file shrank) is cancelled.
            Err(e) if e.errno().is_some_and(|e| e.raw() == libc::ECANCELED) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
