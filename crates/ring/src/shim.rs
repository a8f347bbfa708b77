//! Atomics, data cells and futexes, swapped for loom's under `cfg(loom)`
//! (crossbeam's pattern). Everything the ring protocol touches goes through
//! here, so the loom model checks the same code that runs in production.
//!
//! - [`AtomicU32`], [`fence`], [`Ordering`]: std's, or loom's.
//! - [`DataWord`]: one 8-byte word of ring data. In production it is an
//!   `AtomicU64` accessed with `Relaxed` loads and stores, so that even a peer
//!   scribbling on the ring concurrently cannot cause a data race in this
//!   process (the bytes are just wrong, and the parser rejects them). Under
//!   loom it is a `loom::cell::UnsafeCell<u64>`, so that loom checks that the
//!   head/tail Acquire/Release protocol really orders every data access.
//! - [`WaitQueue`]: futex wait/wake on an [`AtomicU32`]. In production it is
//!   a zero-sized handle for `FUTEX_WAIT`/`FUTEX_WAKE` on shared (not
//!   private) futexes; under loom it is a mutex and condvar that model the
//!   kernel's "compare and sleep atomically" rule.

use std::time::Duration;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, Ordering, fence};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU32, Ordering, fence};

/// How a futex wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FutexWait {
    /// Woken by a `FUTEX_WAKE` (or, for the kernel, spuriously).
    Woken,
    /// The word no longer held the expected value (`EAGAIN`).
    ValueChanged,
    /// The timeout passed (`ETIMEDOUT`).
    TimedOut,
    /// A signal interrupted the wait (`EINTR`).
    #[cfg_attr(loom, allow(dead_code))]
    Interrupted,
}

/// One 8-byte word of ring data.
#[cfg(not(loom))]
#[repr(transparent)]
pub(crate) struct DataWord(std::sync::atomic::AtomicU64);

#[cfg(not(loom))]
impl DataWord {
    #[inline(always)]
    pub(crate) fn load(&self) -> u64 {
        // Relaxed: data words are ordered by the Acquire load of the tail
        // (consumer) or head (producer) that made this word ours.
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    #[inline(always)]
    pub(crate) fn store(&self, value: u64) {
        // Relaxed: published by the Release store of the tail in
        // `Producer::publish`.
        self.0.store(value, std::sync::atomic::Ordering::Relaxed)
    }
}

/// One 8-byte word of ring data.
#[cfg(loom)]
pub(crate) struct DataWord(loom::cell::UnsafeCell<u64>);

#[cfg(loom)]
impl DataWord {
    pub(crate) fn new() -> Self {
        DataWord(loom::cell::UnsafeCell::new(0))
    }

    pub(crate) fn load(&self) -> u64 {
        // SAFETY: loom checks that no write races with this read; that check
        // is what the model is for.
        self.0.with(|p| unsafe { *p })
    }

    pub(crate) fn store(&self, value: u64) {
        // SAFETY: loom checks that no other access races with this write.
        self.0.with_mut(|p| unsafe { *p = value })
    }
}

/// Futex wait/wake on words of the shared region.
#[cfg(not(loom))]
#[derive(Debug, Default)]
pub(crate) struct WaitQueue;

#[cfg(not(loom))]
impl WaitQueue {
    /// `futex(word, FUTEX_WAIT, expected, timeout)` — sleeps while `*word ==
    /// expected`. Shared futex (no `FUTEX_PRIVATE_FLAG`): the kernel keys it on
    /// the page of the memfd, so a peer process mapping the same memfd wakes us.
    pub(crate) fn wait(
        &self,
        word: &AtomicU32,
        expected: u32,
        timeout: Option<Duration>,
    ) -> Result<FutexWait, nix::errno::Errno> {
        let ts = timeout.map(|d| libc::timespec {
            tv_sec: libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_nsec: d.subsec_nanos().into(),
        });
        let ts_ptr = ts
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: `word` is a live, aligned u32 (in our mapping or our memory);
        // `ts_ptr` is null or points to a timespec that outlives the call; the
        // remaining arguments are ignored by FUTEX_WAIT.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAIT,
                expected,
                ts_ptr,
                std::ptr::null::<u32>(),
                0u32,
            )
        };
        if rc == 0 {
            return Ok(FutexWait::Woken);
        }
        match nix::errno::Errno::last() {
            nix::errno::Errno::EAGAIN => Ok(FutexWait::ValueChanged),
            nix::errno::Errno::ETIMEDOUT => Ok(FutexWait::TimedOut),
            nix::errno::Errno::EINTR => Ok(FutexWait::Interrupted),
            e => Err(e),
        }
    }

    /// `futex(word, FUTEX_WAKE, INT_MAX)` — wakes every waiter on `word`. All,
    /// not one: a misbehaving peer sleeping on the same word must not be able
    /// to swallow our consumer's wake-up.
    pub(crate) fn wake(&self, word: &AtomicU32) -> Result<(), nix::errno::Errno> {
        // SAFETY: `word` is a live, aligned u32; FUTEX_WAKE only uses it as a key.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAKE,
                i32::MAX,
                std::ptr::null::<libc::timespec>(),
                std::ptr::null::<u32>(),
                0u32,
            )
        };
        if rc < 0 {
            Err(nix::errno::Errno::last())
        } else {
            Ok(())
        }
    }
}

/// Futex wait/wake modelled for loom: the kernel compares the word and queues
/// the waiter under one lock, and a waker takes the same lock; a mutex and a
/// condvar give loom exactly that. Timeouts are not modelled (a lost wake-up
/// therefore shows up as a loom deadlock).
#[cfg(loom)]
#[derive(Debug)]
pub(crate) struct WaitQueue {
    lock: loom::sync::Mutex<()>,
    cond: loom::sync::Condvar,
}

#[cfg(loom)]
impl Default for WaitQueue {
    fn default() -> Self {
        WaitQueue {
            lock: loom::sync::Mutex::new(()),
            cond: loom::sync::Condvar::new(),
        }
    }
}

#[cfg(loom)]
impl WaitQueue {
    pub(crate) fn wait(
        &self,
        word: &AtomicU32,
        expected: u32,
        _timeout: Option<Duration>,
    ) -> Result<FutexWait, nix::errno::Errno> {
        let guard = self.lock.lock().unwrap();
        // Relaxed: the mutex orders this load after any waker that already
        // ran (its store to `word` happens-before its unlock).
        if word.load(Ordering::Relaxed) != expected {
            return Ok(FutexWait::ValueChanged);
        }
        let _guard = self.cond.wait(guard).unwrap();
        Ok(FutexWait::Woken)
    }

    pub(crate) fn wake(&self, _word: &AtomicU32) -> Result<(), nix::errno::Errno> {
        let _guard = self.lock.lock().unwrap();
        self.cond.notify_all();
        Ok(())
    }
}
