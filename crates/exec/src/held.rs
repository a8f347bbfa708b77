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

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
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

/// Descriptor numbers [`hold_copy`] tries first: above those a program's
/// opens usually get, below the usual `RLIMIT_NOFILE` of 1024.
const COPY_FLOOR: [i32; 3] = [512, 64, 3];

/// `hold_copy(fd)` — a close-on-exec copy of `fd` for the gateway's own
/// use (a shell's input and output), at a number out of the way of the
/// program's own descriptors (512 or more where `RLIMIT_NOFILE` allows),
/// and held like [`hold_fd`]'s: requests can neither use, close nor
/// replace it, so a request that closes or redirects fd 1 leaves the
/// copy working. Drop the [`HeldFd`] before the descriptor.
///
/// # Errors
/// `fcntl(F_DUPFD_CLOEXEC)`'s.
pub fn hold_copy(fd: BorrowedFd<'_>) -> std::io::Result<(OwnedFd, HeldFd)> {
    let mut last = std::io::Error::from_raw_os_error(libc::EINVAL);
    for floor in COPY_FLOOR {
        // SAFETY: F_DUPFD_CLOEXEC creates a new descriptor and touches
        // nothing else.
        let copy = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, floor) };
        if copy >= 0 {
            // SAFETY: `copy` was just created and nothing else owns it.
            let copy = unsafe { OwnedFd::from_raw_fd(copy) };
            let held = hold_fd(copy.as_fd());
            return Ok((copy, held));
        }
        last = std::io::Error::last_os_error();
    }
    Err(last)
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

/// The held descriptors in `first..=last`, in order.
fn held_in(first: u32, last: u32) -> Vec<u32> {
    let mut fds: Vec<u32> = lock()
        .iter()
        .filter_map(|&fd| u32::try_from(fd).ok())
        .filter(|fd| (first..=last).contains(fd))
        .collect();
    fds.sort_unstable();
    fds.dedup();
    fds
}

/// `close_range(first, last, flags)` around the held descriptors: the
/// pieces of the range between them, so that "close everything from 3
/// up" closes the program's descriptors and leaves the gateway's. `None`
/// if no held descriptor is in the range (run the call as it is).
pub(crate) fn close_range_sparing_held(first: u64, last: u64, flags: u64) -> Option<i64> {
    // The kernel's parameters are `unsigned int`: the low 32 bits count.
    let (first, last) = (first as u32, last as u32);
    let held = held_in(first, last);
    if held.is_empty() {
        return None;
    }
    // The pieces between held descriptors; `next` is the first descriptor
    // not covered yet (`None` past u32::MAX).
    let mut pieces = Vec::with_capacity(held.len() + 1);
    let mut next = Some(first);
    for fd in held {
        if let Some(n) = next
            && fd > n
        {
            pieces.push((n, fd - 1));
        }
        next = fd.checked_add(1);
    }
    if let Some(n) = next
        && n <= last
    {
        pieces.push((n, last));
    }
    for (a, b) in pieces {
        let args = [u64::from(a), u64::from(b), flags, 0, 0, 0];
        // SAFETY: close_range on a piece of the range the submitter asked
        // for, none of it held; no pointers.
        let r = unsafe { sysgate_sys::raw_syscall(libc::SYS_close_range as u32, args) };
        if r < 0 {
            return Some(r);
        }
    }
    Some(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_come_and_go() {
        let file = std::fs::File::open("/dev/null").unwrap();
        let fd = file.as_raw_fd();
        assert!(!is_held(fd));
        let a = hold_fd(file.as_fd());
        let b = hold_fd(file.as_fd());
        assert!(is_held(fd));
        assert_eq!(held_in(fd as u32, fd as u32), [fd as u32]);
        drop(a);
        assert!(is_held(fd), "still held by the second registration");
        drop(b);
        assert!(!is_held(fd));
        assert!(!is_held(-1) && !is_held(-100));
    }

    #[test]
    fn close_range_splits_around_held_descriptors() {
        // Descriptors far above what the other tests of this process open.
        let file = std::fs::File::open("/dev/null").unwrap();
        let copies: Vec<i32> = (0..4)
            .map(|_| {
                // SAFETY: F_DUPFD_CLOEXEC only creates a new descriptor.
                unsafe { libc::fcntl(file.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 800) }
            })
            .collect();
        assert!(copies.iter().all(|&c| c >= 800), "{copies:?}");
        let open = |fd: i32| {
            // SAFETY: F_GETFD only reads the descriptor's flags.
            unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
        };
        // SAFETY: the copies stay open until closed below.
        let borrow = |fd| unsafe { BorrowedFd::borrow_raw(fd) };
        let held = [hold_fd(borrow(copies[1])), hold_fd(borrow(copies[3]))];
        let (lo, hi) = (copies[0] as u64, copies[3] as u64);
        assert_eq!(
            close_range_sparing_held(lo, lo, 0),
            None,
            "nothing held there"
        );
        // The kernel reads `unsigned int`s: bits above 32 change nothing.
        let (lo_wide, hi_wide) = (lo | 1 << 32, hi | 1 << 40);
        assert_eq!(close_range_sparing_held(lo_wide, hi_wide, 0), Some(0));
        let still: Vec<bool> = copies.iter().map(|&c| open(c)).collect();
        drop(held);
        for c in [copies[1], copies[3]] {
            // SAFETY: closes the copies this test made and still holds.
            unsafe { libc::close(c) };
        }
        assert_eq!(still, [false, true, false, true], "{copies:?}");
    }

    #[test]
    fn copies_are_held_and_out_of_the_way() {
        let file = std::fs::File::open("/dev/null").unwrap();
        let (copy, held) = hold_copy(file.as_fd()).unwrap();
        assert_eq!(copy.as_raw_fd(), held.fd());
        assert!(copy.as_raw_fd() > file.as_raw_fd());
        assert!(is_held(copy.as_raw_fd()) && !is_held(file.as_raw_fd()));
        drop(held);
        assert!(!is_held(copy.as_raw_fd()));
    }

    #[test]
    fn high_descriptors_are_held_too() {
        let file = std::fs::File::open("/dev/null").unwrap();
        // SAFETY: F_DUPFD_CLOEXEC only creates a new descriptor.
        let high = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 2000) };
        if high < 0 {
            let reason = "no descriptor above 2000 (RLIMIT_NOFILE)";
            return sysgate_testkit::skip(sysgate_testkit::Need::FdLimit, reason);
        }
        // SAFETY: `high` was just created and is owned here.
        let high = unsafe { OwnedFd::from_raw_fd(high) };
        let held = hold_fd(high.as_fd());
        assert!(is_held(held.fd()));
        let n = held.fd() as u32;
        assert_eq!(held_in(n - 1, n + 1), [n]);
        drop(held);
        assert!(!is_held(high.as_raw_fd()));
    }
}
