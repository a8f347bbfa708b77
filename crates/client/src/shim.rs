//! Locks, condition variables, atomics and thread parking, swapped for
//! loom's under `cfg(loom)` (crossbeam's pattern, as in `sysgate-ring`).
//! The waiting protocol ([`crate::handoff`]) takes all of them from here,
//! so its loom model (`tests/loom.rs`) checks the code that runs in
//! production.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};

/// A thread's park token: [`Parker::park`] sleeps until
/// [`Parker::unpark`] has been called (since the last `park` returned).
#[cfg(not(loom))]
pub(crate) struct Parker(std::thread::Thread);

#[cfg(not(loom))]
impl Parker {
    /// The calling thread's token.
    pub(crate) fn current() -> Parker {
        Parker(std::thread::current())
    }

    /// `std::thread::park()`: only on the thread the token is of. May also
    /// return spuriously.
    pub(crate) fn park(&self) {
        debug_assert_eq!(self.0.id(), std::thread::current().id());
        std::thread::park();
    }

    /// `thread.unpark()`.
    pub(crate) fn unpark(&self) {
        self.0.unpark();
    }
}

/// A thread's park token, modelled with a lock and a condition variable:
/// loom's own `unpark` also wakes a thread blocked on a lock or a condition
/// variable (loom 0.7 then fails an internal assertion), which std's never
/// does. Each `Parker` has its own token, so loom explores no wake-up left
/// over from an earlier park (the protocol treats one as spurious anyway).
#[cfg(loom)]
pub(crate) struct Parker(loom::sync::Arc<(Mutex<bool>, Condvar)>);

#[cfg(loom)]
impl Parker {
    pub(crate) fn current() -> Parker {
        Parker(loom::sync::Arc::new((Mutex::new(false), Condvar::new())))
    }

    pub(crate) fn park(&self) {
        let (token, unparked) = &*self.0;
        let mut token = token.lock().unwrap();
        while !*token {
            token = unparked.wait(token).unwrap();
        }
        *token = false;
    }

    pub(crate) fn unpark(&self) {
        let (token, unparked) = &*self.0;
        *token.lock().unwrap() = true;
        unparked.notify_one();
    }
}
