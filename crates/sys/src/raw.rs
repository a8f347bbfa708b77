//! The one raw entry point, and helpers for its result.

use crate::errno::Errno;

/// `raw_syscall(nr, args)` — issues syscall `nr` with six argument words
/// and returns the kernel's raw result: the value on success, `-errno` on
/// failure (see [`check`]).
///
/// This is the only way sysgate enters the kernel for a request. It is a
/// single `syscall`/`svc` instruction (via `syscalls::raw`): no libc
/// wrapper, no `errno` thread-local, no allocation. Unused argument words
/// are passed as they are; pass 0.
///
/// # Safety
///
/// The caller takes on the kernel's contract for `nr` on the host
/// architecture:
///
/// - every argument the kernel dereferences for this call (buffers,
///   structs, paths, iovec and msghdr trees, futex words) points to memory
///   that is valid for the reads and writes the kernel makes, with the
///   sizes the other arguments give, for the whole call, and is not
///   accessed through a Rust reference in a way the kernel's writes would
///   violate (no `&T` over bytes the kernel writes);
/// - the call does not break invariants the rest of the program relies
///   on: it does not unmap, remap or protect memory still in use
///   (`munmap`, `mremap`, `mmap(MAP_FIXED)`, `brk`), close or replace fds
///   other code owns (`close`, `dup2`), change signal state the runtime
///   relies on, or end or copy the thread or process (`exit`, `clone`,
///   `execve`, `rt_sigreturn`: sysgate's table marks these
///   [`Forbidden`](crate::ExecClass::Forbidden));
/// - `nr` means, on this architecture, the call the caller intends.
pub unsafe fn raw_syscall(nr: u32, args: [u64; 6]) -> i64 {
    let [a0, a1, a2, a3, a4, a5] = args;
    // SAFETY: the caller upholds the kernel's contract for `nr` (this
    // function's `# Safety`); `syscall6` only places the words in registers
    // and executes the syscall instruction. `u64` and `usize` are the same
    // width on every architecture this crate builds for (checked in lib.rs).
    let ret = unsafe {
        syscalls::raw::syscall6(
            nr as usize,
            a0 as usize,
            a1 as usize,
            a2 as usize,
            a3 as usize,
            a4 as usize,
            a5 as usize,
        )
    };
    ret as isize as i64
}

/// `check(ret)` — a raw result as `Ok(value)` or `Err(errno)`.
///
/// The kernel reports failure as a value in `-4095..=-1`; everything else
/// is a success (including large unsigned values such as addresses).
///
/// # Errors
/// The [`Errno`] when `ret` is in `-4095..=-1`.
pub const fn check(ret: i64) -> Result<u64, Errno> {
    match Errno::from_ret(ret) {
        Some(errno) => Err(errno),
        None => Ok(ret as u64),
    }
}

/// `check_unit(ret)` — for zero-on-success calls: `Ok(())` or the errno.
///
/// # Errors
/// The [`Errno`] when `ret` is in `-4095..=-1`.
pub const fn check_unit(ret: i64) -> Result<(), Errno> {
    match Errno::from_ret(ret) {
        Some(errno) => Err(errno),
        None => Ok(()),
    }
}

/// `check_fd(ret)` — for fd-returning calls: the fd or the errno.
///
/// # Errors
/// The [`Errno`] when `ret` is in `-4095..=-1`, and [`Errno::EOVERFLOW`]
/// for a success value that is not a valid fd (outside `0..=i32::MAX`),
/// which the kernel never returns for an fd-returning call.
pub const fn check_fd(ret: i64) -> Result<i32, Errno> {
    match Errno::from_ret(ret) {
        Some(errno) => Err(errno),
        None if ret >= 0 && ret <= i32::MAX as i64 => Ok(ret as i32),
        None => Err(Errno::EOVERFLOW),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::number_of;

    fn nr(name: &str) -> u32 {
        number_of(name).unwrap()
    }

    #[test]
    fn getpid_matches_std() {
        // SAFETY: getpid takes no arguments and touches no memory.
        let ret = unsafe { raw_syscall(nr("getpid"), [0; 6]) };
        assert_eq!(check(ret), Ok(u64::from(std::process::id())));
    }

    #[test]
    fn failure_is_negative_errno() {
        // SAFETY: close(-1) refers to no fd; it only fails.
        let ret = unsafe { raw_syscall(nr("close"), [u64::MAX, 0, 0, 0, 0, 0]) };
        assert_eq!(ret, -9);
        assert_eq!(check(ret), Err(Errno::EBADF));
        assert_eq!(check_unit(ret), Err(Errno::EBADF));
    }

    #[test]
    fn buffers_through_a_pipe() {
        let mut fds = [0i32; 2];
        // SAFETY: `fds` is a live, writable int[2] for the whole call.
        let ret = unsafe {
            raw_syscall(
                nr("pipe2"),
                [fds.as_mut_ptr() as u64, libc::O_CLOEXEC as u64, 0, 0, 0, 0],
            )
        };
        assert_eq!(check_unit(ret), Ok(()));
        let msg = b"sysgate";
        // SAFETY: `msg` is readable for its length; fds[1] is our pipe.
        let ret = unsafe {
            raw_syscall(
                nr("write"),
                [
                    fds[1] as u64,
                    msg.as_ptr() as u64,
                    msg.len() as u64,
                    0,
                    0,
                    0,
                ],
            )
        };
        assert_eq!(check(ret), Ok(msg.len() as u64));
        let mut buf = [0u8; 16];
        // SAFETY: `buf` is writable for its length; fds[0] is our pipe.
        let ret = unsafe {
            raw_syscall(
                nr("read"),
                [
                    fds[0] as u64,
                    buf.as_mut_ptr() as u64,
                    buf.len() as u64,
                    0,
                    0,
                    0,
                ],
            )
        };
        assert_eq!(check(ret), Ok(msg.len() as u64));
        assert_eq!(&buf[..msg.len()], msg);
        for fd in fds {
            // SAFETY: both fds were opened above and are closed once.
            let ret = unsafe { raw_syscall(nr("close"), [fd as u64, 0, 0, 0, 0, 0]) };
            assert_eq!(check_unit(ret), Ok(()));
        }
    }

    #[test]
    fn check_fd_ranges() {
        assert_eq!(check_fd(3), Ok(3));
        assert_eq!(check_fd(-24), Err(Errno::EMFILE));
        assert_eq!(check_fd(1 << 40), Err(Errno::EOVERFLOW));
        // A high address is a success, not an error.
        assert_eq!(check(-4096), Ok((-4096i64) as u64));
    }
}
