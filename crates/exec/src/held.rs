//! Descriptors the gateway itself holds, which requests may not name.
//!
//! A request runs in the gateway's own process, with its descriptor
//! table: `ftruncate` of the memfd behind the rings would make the next
//! ring access fault (SIGBUS), `close` or `dup2` over it or over the
//! executor's io_uring would cut the gateway off, a `read` of it would
//! hand out the rings' bytes. The descriptors the gateway holds are
//! registered here (process-wide, since every gateway of the process
//! shares the table) and the executor refuses any call whose descriptor
//! arguments name one — or whose range covers one (`close_range`).
//!
//! This guards the numbers, not the files: `/proc/self/fd/N` still opens
//! them by path, as `/proc/self/mem` opens the process's memory.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Held descriptors below this are also kept in [`LOW`], one bit each, so
/// the check costs one load.
const LOW_LIMIT: i32 = 1024;

/// One bit per held descriptor below [`LOW_LIMIT`]. Written under
/// [`HELD`]'s lock; read without it (Relaxed: a bit is a cache of `HELD`,
/// and a call racing with the registration of its own descriptor number
/// cannot exist — the number is not open to it until the descriptor is).
static LOW: [AtomicU64; (LOW_LIMIT / 64) as usize] = [const { AtomicU64::new(0) }; 16];

/// Whether any held descriptor is at or above [`LOW_LIMIT`].
static ANY_HIGH: AtomicBool = AtomicBool::new(false);

/// Every registration, one entry per [`HeldFd`] alive.
static HELD: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// A registration of a descriptor the gateway holds; dropping it ends the
/// registration. Drop it before closing the descriptor.
#[derive(Debug)]
#[must_use = "the descriptor is protected only while the HeldFd lives"]
pub struct HeldFd(i32);

/// `hold_fd(fd)` — registers `fd` as one the gateway holds: until the
/// returned [`HeldFd`] is dropped, the executor refuses every request that
/// names it (see the module docs).
pub fn hold_fd(fd: BorrowedFd<'_>) -> HeldFd {
    let fd = fd.as_raw_fd();
    let mut held = lock();
    held.push(fd);
    set_bit(fd, true, &held);
    HeldFd(fd)
}

impl HeldFd {
    /// The registered descriptor number.
    pub fn fd(&self) -> i32 {
        self.0
    }
}

impl Drop for HeldFd {
    fn drop(&mut self) {
        let mut held = lock();
        if let Some(i) = held.iter().position(|&fd| fd == self.0) {
            held.swap_remove(i);
        }
        let still = held.contains(&self.0);
        set_bit(self.0, still, &held);
    }
}

fn lock() -> std::sync::MutexGuard<'static, Vec<i32>> {
    HELD.lock().unwrap_or_else(|e| e.into_inner())
}

fn set_bit(fd: i32, on: bool, held: &[i32]) {
    if (0..LOW_LIMIT).contains(&fd) {
        let bit = 1u64 << (fd % 64);
        let word = &LOW[(fd / 64) as usize];
        if on {
            word.fetch_or(bit, Ordering::Relaxed);
        } else {
            word.fetch_and(!bit, Ordering::Relaxed);
        }
    } else {
        let high = held.iter().any(|&fd| fd >= LOW_LIMIT);
        ANY_HIGH.store(high, Ordering::Relaxed);
    }
}

/// `is_held(fd)` — whether `fd` is a descriptor the gateway holds.
pub fn is_held(fd: i32) -> bool {
    if (0..LOW_LIMIT).contains(&fd) {
        return LOW[(fd / 64) as usize].load(Ordering::Relaxed) & (1 << (fd % 64)) != 0;
    }
    fd >= LOW_LIMIT && ANY_HIGH.load(Ordering::Relaxed) && lock().contains(&fd)
}

/// The lowest held descriptor in `first..=last`, if any.
pub(crate) fn held_in(first: u32, last: u32) -> Option<i32> {
    lock()
        .iter()
        .copied()
        .filter(|&fd| fd >= 0 && (first..=last).contains(&(fd as u32)))
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn registrations_come_and_go() {
        let file = std::fs::File::open("/dev/null").unwrap();
        let fd = file.as_raw_fd();
        assert!(!is_held(fd));
        let a = hold_fd(file.as_fd());
        let b = hold_fd(file.as_fd());
        assert!(is_held(fd));
        assert_eq!(held_in(fd as u32, fd as u32), Some(fd));
        drop(a);
        assert!(is_held(fd), "still held by the second registration");
        drop(b);
        assert!(!is_held(fd));
        assert!(!is_held(-1) && !is_held(-100));
    }

    #[test]
    fn high_descriptors_are_held_too() {
        let file = std::fs::File::open("/dev/null").unwrap();
        // SAFETY: F_DUPFD_CLOEXEC only creates a new descriptor.
        let high = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 2000) };
        if high < 0 {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIP high_descriptors_are_held_too: RLIMIT_NOFILE"
            );
            return;
        }
        // SAFETY: `high` was just created and is owned here.
        let high = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(high) };
        let held = hold_fd(high.as_fd());
        assert!(is_held(held.fd()));
        let n = held.fd() as u32;
        assert_eq!(held_in(n, n), Some(held.fd()));
        drop(held);
        assert!(!is_held(high.as_raw_fd()));
    }
}
