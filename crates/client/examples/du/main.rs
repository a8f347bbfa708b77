//! `du -sb --apparent-size` through sysgate: a parallel walk with
//! `getdents64` and `statx`, hundreds of requests in flight.
//!
//! ```text
//! cargo run --release -p sysgate --example du -- /usr/share
//! 123456789 /usr/share (45678 files, 6789 directories)
//! ```

mod walk;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let roots: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let roots = if roots.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        roots
    };
    let gw = match sysgate::Gateway::new() {
        Ok(gw) => gw,
        Err(e) => {
            eprintln!("du: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("a tokio runtime");
    let mut status = ExitCode::SUCCESS;
    for root in roots {
        match rt.block_on(walk::du(&gw, &root)) {
            Ok(u) => {
                println!(
                    "{}\t{}\t({} files, {} directories)",
                    u.bytes,
                    root.display(),
                    u.files,
                    u.dirs
                );
                if u.errors > 0 {
                    status = ExitCode::FAILURE;
                }
            }
            Err(e) => {
                eprintln!("du: cannot access {}: {e}", root.display());
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}
