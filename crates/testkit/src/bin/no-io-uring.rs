//! `no-io-uring COMMAND [ARGS…]` — runs a command where io_uring is refused.
//!
//! Installs a seccomp filter that answers `io_uring_setup`,
//! `io_uring_enter` and `io_uring_register` with `EPERM`, as Docker's
//! default profile does, then executes the command; the filter passes to
//! every process the command starts. CI runs the test suite under it to
//! prove that sysgate keeps its model where io_uring is banned.

use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};

/// `struct sock_filter` instructions.
const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const BPF_JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
/// Offsets in `struct seccomp_data`.
const NR_OFFSET: u32 = 0;
const ARCH_OFFSET: u32 = 4;
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xc000_003e;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xc000_00b7;

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump_if(k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: BPF_JEQ_K,
        jt,
        jf,
        k,
    }
}

fn refuse_io_uring() -> std::io::Result<()> {
    let refuse = SECCOMP_RET_ERRNO | libc::EPERM as u32;
    let program = [
        // Another architecture's calls (a 32-bit compat entry): allowed.
        stmt(BPF_LD_W_ABS, ARCH_OFFSET),
        jump_if(AUDIT_ARCH, 1, 0),
        stmt(BPF_RET_K, SECCOMP_RET_ALLOW),
        stmt(BPF_LD_W_ABS, NR_OFFSET),
        jump_if(libc::SYS_io_uring_setup as u32, 3, 0),
        jump_if(libc::SYS_io_uring_enter as u32, 2, 0),
        jump_if(libc::SYS_io_uring_register as u32, 1, 0),
        stmt(BPF_RET_K, SECCOMP_RET_ALLOW),
        stmt(BPF_RET_K, refuse),
    ];
    let prog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only; it lets an
    // unprivileged process install a filter.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `prog` points at `program`, alive across the call; the kernel
    // copies the filter.
    let rc = unsafe { libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &prog) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(program) = args.next() else {
        eprintln!("usage: no-io-uring COMMAND [ARGS…]");
        return ExitCode::from(2);
    };
    if let Err(e) = refuse_io_uring() {
        eprintln!("no-io-uring: cannot install the seccomp filter: {e}");
        return ExitCode::from(1);
    }
    let e = Command::new(&program).args(args).exec();
    eprintln!("no-io-uring: {}: {e}", program.to_string_lossy());
    ExitCode::from(127)
}
