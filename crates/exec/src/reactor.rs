//! Waiting for readiness without holding a thread per request.
//!
//! A call that would block on a pollable fd (a socket, pipe, FIFO,
//! eventfd, tty, …) is parked: a one-shot readiness registration is armed
//! for it, and whoever reaps the reactor — the submitting thread in
//! `enter`, the polling thread, or one reactor thread per executor,
//! however many requests are parked — retries each ready call inline. A
//! registration is removed when it fires or its request is cancelled, so no
//! fd stays registered after its request is done.
//!
//! Two backends do the same thing:
//! - io_uring (`IORING_OP_POLL_ADD`, one-shot, on the executor's own small
//!   ring; `IORING_OP_POLL_REMOVE` to cancel). It is preferred by
//!   measurement: a raw experiment (since retired) measured one parked
//!   ping-pong round trip at 13.2 µs against 15.2 µs for epoll and arming
//!   at 326 against 1,111 ns per fd at 1,000 fds; through sysgate the
//!   `sockets` row of `sysgate-bench` puts the epoll ping at 1.2× the
//!   io_uring one. It needs no deregistration syscall, and the polling
//!   thread can sleep on its ring's futex and its polls at once
//!   (`IORING_OP_FUTEX_WAIT`).
//! - epoll (`EPOLLONESHOT`, one epoll set per executor, an eventfd to wake a
//!   blocked reaper), for where io_uring is refused: Docker's default
//!   seccomp profile, `kernel.io_uring_disabled`, old kernels. epoll keys a
//!   registration on the descriptor and its file, so a second request
//!   parked on the same fd is registered through a private duplicate of it.
//!
//! [`ReadinessBackend`]: the backend is io_uring where the kernel allows
//! it, epoll otherwise; `ExecutorBuilder::readiness` or the environment
//! variable `SYSGATE_READINESS` (`io_uring` or `epoll`) forces one.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use io_uring::{IoUring, opcode, types};

use crate::held::{HeldFd, hold_fd};

/// `user_data` of the NOP that wakes the reactor thread to stop.
const STOP: u64 = u64::MAX;
/// `user_data` of POLL_REMOVE requests (their own completions are ignored).
const REMOVAL: u64 = u64::MAX - 1;
/// `user_data` of the NOP (or eventfd event) that wakes a thread waiting in
/// [`Reactor::reap`].
const WAKE: u64 = u64::MAX - 2;
/// `user_data` of the `FUTEX_WAIT` a polling thread sleeps on beside its
/// polls (see [`Reactor::arm_futex_wait`]).
const FUTEX: u64 = u64::MAX - 3;
/// `FUTEX2_SIZE_U32`: a 32-bit futex, shared (no `FUTEX2_PRIVATE`), like
/// the ring's own.
const FUTEX2_SIZE_U32: u32 = 2;
/// Events one `epoll_wait` takes at most; the rest wait for the next.
const EPOLL_BATCH: usize = 64;

/// How parked requests wait for readiness.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReadinessBackend {
    /// One-shot polls on the executor's own io_uring.
    IoUring,
    /// One-shot registrations in the executor's own epoll set.
    Epoll,
}

impl ReadinessBackend {
    /// Its name: `io_uring` or `epoll` (what `SYSGATE_READINESS` takes).
    pub fn name(self) -> &'static str {
        match self {
            ReadinessBackend::IoUring => "io_uring",
            ReadinessBackend::Epoll => "epoll",
        }
    }

    /// The backend `SYSGATE_READINESS` names, if it is set to one.
    pub fn from_env() -> Option<ReadinessBackend> {
        match std::env::var("SYSGATE_READINESS").ok()?.as_str() {
            "io_uring" => Some(ReadinessBackend::IoUring),
            "epoll" => Some(ReadinessBackend::Epoll),
            _ => None,
        }
    }

    /// The backend an executor gets when `forced` is `None`: io_uring if
    /// this process may create one (tried once per process), else epoll.
    pub fn resolve(forced: Option<ReadinessBackend>) -> ReadinessBackend {
        static URING_ALLOWED: OnceLock<bool> = OnceLock::new();
        forced.unwrap_or_else(|| {
            if *URING_ALLOWED.get_or_init(|| IoUring::new(2).is_ok()) {
                ReadinessBackend::IoUring
            } else {
                ReadinessBackend::Epoll
            }
        })
    }
}

impl std::fmt::Display for ReadinessBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The readiness engine of one executor.
pub(crate) struct Reactor<P> {
    engine: Engine,
    /// Parked requests by id, with what their registration needs to be
    /// removed.
    parked: Mutex<HashMap<u64, Parked<P>>>,
    /// Only one thread at a time reaps.
    reaping: Mutex<()>,
    stopping: AtomicBool,
}

struct Parked<P> {
    request: P,
    /// epoll only: the descriptor registered for it, and the private
    /// duplicate if it is one.
    registered: Option<(RawFd, Option<OwnedFd>)>,
}

enum Engine {
    Uring {
        /// Keeps requests off the ring's descriptor; dropped before the
        /// ring closes it.
        _held: HeldFd,
        ring: Box<IoUring>,
        /// Only one thread at a time may hold the submission queue.
        sq: Mutex<()>,
        /// Entries were queued without being submitted.
        unsubmitted: AtomicBool,
    },
    Epoll {
        /// Keep requests off the epoll set and the eventfd; dropped first.
        _held: [HeldFd; 2],
        epoll: OwnedFd,
        /// Registered level-triggered: written to wake a blocked reaper.
        wake: OwnedFd,
    },
}

impl<P> Reactor<P> {
    /// A reactor of `backend`, or why it cannot be created.
    pub(crate) fn new(backend: ReadinessBackend) -> io::Result<Self> {
        let engine = match backend {
            ReadinessBackend::IoUring => {
                let ring = Box::new(IoUring::new(256)?);
                // SAFETY: the ring's descriptor stays open as long as
                // `ring`, which outlives the registration (dropped after
                // `_held`).
                let fd = unsafe { BorrowedFd::borrow_raw(ring.as_raw_fd()) };
                Engine::Uring {
                    _held: hold_fd(fd),
                    ring,
                    sq: Mutex::new(()),
                    unsubmitted: AtomicBool::new(false),
                }
            }
            ReadinessBackend::Epoll => {
                let epoll = owned(
                    // SAFETY: creates a new descriptor; no pointers.
                    unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) },
                )?;
                let wake = owned(
                    // SAFETY: creates a new descriptor; no pointers.
                    unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) },
                )?;
                epoll_ctl(
                    &epoll,
                    libc::EPOLL_CTL_ADD,
                    wake.as_raw_fd(),
                    libc::EPOLLIN,
                    WAKE,
                )?;
                Engine::Epoll {
                    _held: [hold_fd(epoll.as_fd()), hold_fd(wake.as_fd())],
                    epoll,
                    wake,
                }
            }
        };
        Ok(Reactor {
            engine,
            parked: Mutex::new(HashMap::new()),
            reaping: Mutex::new(()),
            stopping: AtomicBool::new(false),
        })
    }

    /// Which backend it is.
    pub(crate) fn backend(&self) -> ReadinessBackend {
        match self.engine {
            Engine::Uring { .. } => ReadinessBackend::IoUring,
            Engine::Epoll { .. } => ReadinessBackend::Epoll,
        }
    }

    /// Whether a blocking [`Reactor::reap`] can also wait for a futex
    /// ([`Reactor::arm_futex_wait`]): a polling thread then sleeps on its
    /// ring and its parked requests at once; otherwise a reactor thread of
    /// its own waits for the parked requests.
    pub(crate) fn waits_on_futexes(&self) -> bool {
        matches!(self.engine, Engine::Uring { .. })
    }

    fn lock_parked(&self) -> MutexGuard<'_, HashMap<u64, Parked<P>>> {
        self.parked.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Parks `request` under `id` until `fd` reports one of `events`
    /// (`POLLIN`, `POLLOUT`). Without `submit`, an io_uring poll waits in
    /// the submission queue for the next `io_uring_enter` (the caller's own
    /// [`Reactor::reap`]); an epoll registration is always immediate. Hands
    /// the request back if it could not be registered.
    pub(crate) fn park(
        &self,
        id: u64,
        fd: i32,
        events: i16,
        request: P,
        submit: bool,
    ) -> Result<(), P> {
        // Registered under the parked lock, which `stop` takes too: a
        // request is either parked before `stop` (and then seen by
        // `unpark_all`) or refused after it — never lost in between; and a
        // reaper that sees it fire finds it in the table.
        let mut parked = self.lock_parked();
        if self.stopping.load(Ordering::Acquire) {
            return Err(request);
        }
        let registered = match &self.engine {
            Engine::Uring { .. } => {
                let sqe = opcode::PollAdd::new(types::Fd(fd), events as u16 as u32)
                    .build()
                    .user_data(id);
                if !self.push(&sqe, submit) {
                    return Err(request);
                }
                None
            }
            Engine::Epoll { epoll, .. } => {
                // POLLIN and POLLOUT have EPOLLIN's and EPOLLOUT's values.
                let mask = (events as u16 as u32) | libc::EPOLLONESHOT as u32;
                match epoll_register(epoll, fd, mask as i32, id) {
                    Ok(r) => Some(r),
                    Err(_) => return Err(request),
                }
            }
        };
        parked.insert(
            id,
            Parked {
                request,
                registered,
            },
        );
        Ok(())
    }

    /// Takes parked request `id` back (to cancel it) and removes its
    /// registration.
    pub(crate) fn unpark(&self, id: u64) -> Option<P> {
        let entry = self.lock_parked().remove(&id)?;
        match &self.engine {
            Engine::Uring { .. } => {
                let sqe = opcode::PollRemove::new(id).build().user_data(REMOVAL);
                // If the removal cannot be queued the poll stays armed until
                // its fd is ready or closed; its completion then finds
                // nothing parked.
                self.push(&sqe, true);
            }
            Engine::Epoll { epoll, .. } => deregister(epoll, entry.registered),
        }
        Some(entry.request)
    }

    /// Every parked request, taken back (the executor is stopping).
    pub(crate) fn unpark_all(&self) -> Vec<P> {
        let ids: Vec<u64> = self.lock_parked().keys().copied().collect();
        ids.into_iter().filter_map(|id| self.unpark(id)).collect()
    }

    /// Number of requests parked now.
    pub(crate) fn len(&self) -> usize {
        self.lock_parked().len()
    }

    /// io_uring: pushes one entry, and submits it if `submit`.
    fn push(&self, sqe: &io_uring::squeue::Entry, submit: bool) -> bool {
        let Engine::Uring {
            ring,
            sq,
            unsubmitted,
            ..
        } = &self.engine
        else {
            return false;
        };
        let _only_us = sq.lock().unwrap_or_else(|e| e.into_inner());
        for _ in 0..2 {
            // SAFETY: `_only_us` makes this the only submission queue handle
            // alive; the entries we push own no memory (poll, poll-remove,
            // nop and futex-wait take an fd, integers, and for the futex the
            // address of a ring word that outlives the reactor).
            let pushed = unsafe { ring.submission_shared().push(sqe).is_ok() };
            if pushed {
                if !submit {
                    unsubmitted.store(true, Ordering::Release);
                    return true;
                }
                return ring.submit().is_ok();
            }
            // Full: hand what is queued to the kernel and try again.
            if ring.submit().is_err() {
                return false;
            }
        }
        false
    }

    /// Hands every request whose registration has fired to `ready`. With
    /// `block`, first waits until one fires, [`Reactor::wake`] is called,
    /// or `timeout` passes. Returns at once if another thread is reaping.
    /// Returns the result of the [`Reactor::arm_futex_wait`] wait if it
    /// completed.
    pub(crate) fn reap(
        &self,
        block: bool,
        timeout: Option<Duration>,
        mut ready: impl FnMut(P),
    ) -> Option<i32> {
        let Ok(_only_us) = self.reaping.try_lock() else {
            return None;
        };
        let (fired, futex) = match &self.engine {
            Engine::Uring {
                ring, unsubmitted, ..
            } => uring_wait(ring, unsubmitted, block, timeout),
            Engine::Epoll { epoll, wake, .. } => (epoll_wait(epoll, wake, block, timeout), None),
        };
        for id in fired {
            if id >= FUTEX {
                continue;
            }
            // Gone if it was cancelled meanwhile.
            let entry = self.lock_parked().remove(&id);
            if let Some(entry) = entry {
                if let Engine::Epoll { epoll, .. } = &self.engine {
                    // One-shot: disarmed, but still in the set until removed.
                    deregister(epoll, entry.registered);
                }
                ready(entry.request);
            }
        }
        futex
    }

    /// Queues an io_uring `FUTEX_WAIT` on `word` while it holds `value`, so
    /// that a blocking [`Reactor::reap`] also returns when `word` is woken
    /// (a producer publishing into a ring the caller consumes). Submitted by
    /// that `reap`. `false` if it could not be queued, or the backend has
    /// no such wait (see [`Reactor::waits_on_futexes`]).
    pub(crate) fn arm_futex_wait(&self, word: &std::sync::atomic::AtomicU32, value: u32) -> bool {
        let futex =
            opcode::FutexWait::new(word.as_ptr(), u64::from(value), u64::MAX, FUTEX2_SIZE_U32);
        self.push(&futex.build().user_data(FUTEX), false)
    }

    /// Ends a blocking [`Reactor::reap`] on another thread.
    pub(crate) fn wake(&self) {
        self.nudge(WAKE);
    }

    fn nudge(&self, user_data: u64) {
        match &self.engine {
            Engine::Uring { .. } => {
                self.push(&opcode::Nop::new().build().user_data(user_data), true);
            }
            Engine::Epoll { wake, .. } => {
                let one = 1u64.to_ne_bytes();
                // SAFETY: writes 8 bytes from a local array to our eventfd.
                // A full counter (EAGAIN) means a wake-up is pending anyway.
                let _ = unsafe { libc::write(wake.as_raw_fd(), one.as_ptr().cast(), 8) };
            }
        }
    }

    /// A dedicated reactor thread's loop (polling mode): reaps until
    /// [`Reactor::stop`] is called.
    pub(crate) fn run(&self, mut ready: impl FnMut(P)) {
        while !self.stopping.load(Ordering::Acquire) {
            let _ = self.reap(true, None, &mut ready);
        }
    }

    /// Makes [`Reactor::run`] return.
    pub(crate) fn stop(&self) {
        {
            let _parked = self.lock_parked();
            self.stopping.store(true, Ordering::Release);
        }
        self.nudge(STOP);
    }
}

/// Waits on the io_uring (submitting what is queued) and collects what
/// fired, and the futex wait's result if it completed.
fn uring_wait(
    ring: &IoUring,
    unsubmitted: &AtomicBool,
    block: bool,
    timeout: Option<Duration>,
) -> (Vec<u64>, Option<i32>) {
    if !block && unsubmitted.swap(false, Ordering::AcqRel) {
        // Polls queued for "the next io_uring_enter": this is it.
        let _ = ring.submit();
    }
    if block {
        unsubmitted.store(false, Ordering::Release);
        let waited = match timeout {
            None => ring.submit_and_wait(1),
            Some(t) => {
                let ts = types::Timespec::new()
                    .sec(t.as_secs())
                    .nsec(t.subsec_nanos());
                let args = types::SubmitArgs::new().timespec(&ts);
                ring.submitter().submit_with_args(1, &args)
            }
        };
        // ETIME (timeout) and EINTR (a signal) both just mean "look".
        let _ = waited;
    }
    let mut fired = Vec::new();
    let mut futex = None;
    // SAFETY: the caller holds the reaping lock: the only reader of the
    // completion queue.
    for cqe in unsafe { ring.completion_shared() } {
        if cqe.user_data() == FUTEX {
            futex = Some(cqe.result());
        }
        fired.push(cqe.user_data());
    }
    (fired, futex)
}

/// Waits on the epoll set and collects the ids that fired (draining the
/// eventfd if it did).
fn epoll_wait(epoll: &OwnedFd, wake: &OwnedFd, block: bool, timeout: Option<Duration>) -> Vec<u64> {
    let ms = match (block, timeout) {
        (false, _) => 0,
        (true, None) => -1,
        (true, Some(t)) => i32::try_from(t.as_millis().max(1)).unwrap_or(i32::MAX),
    };
    let mut events = [libc::epoll_event { events: 0, u64: 0 }; EPOLL_BATCH];
    // SAFETY: `events` is a live array of EPOLL_BATCH entries the kernel
    // fills; EINTR and errors leave n < 0, read as "nothing".
    let n = unsafe {
        libc::epoll_wait(
            epoll.as_raw_fd(),
            events.as_mut_ptr(),
            EPOLL_BATCH as i32,
            ms,
        )
    };
    let events = &events[..usize::try_from(n).unwrap_or(0)];
    if events.iter().any(|e| e.u64 == WAKE) {
        let mut count = [0u8; 8];
        // SAFETY: reads 8 bytes into a local array from our nonblocking
        // eventfd (resetting it); EAGAIN leaves it as it was.
        let _ = unsafe { libc::read(wake.as_raw_fd(), count.as_mut_ptr().cast(), 8) };
    }
    events.iter().map(|e| e.u64).collect()
}

/// Registers `fd` for `events` under `id`; through a private duplicate if
/// `fd` (with its file) is in the set already. Returns what was registered.
fn epoll_register(
    epoll: &OwnedFd,
    fd: RawFd,
    events: i32,
    id: u64,
) -> io::Result<(RawFd, Option<OwnedFd>)> {
    match epoll_ctl(epoll, libc::EPOLL_CTL_ADD, fd, events, id) {
        Ok(()) => Ok((fd, None)),
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
            // SAFETY: F_DUPFD_CLOEXEC only creates a new descriptor.
            let copy = owned(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) })?;
            epoll_ctl(epoll, libc::EPOLL_CTL_ADD, copy.as_raw_fd(), events, id)?;
            Ok((copy.as_raw_fd(), Some(copy)))
        }
        Err(e) => Err(e),
    }
}

/// Removes a registration (and closes the duplicate it used, if any).
/// A descriptor closed meanwhile is gone from the set already.
fn deregister(epoll: &OwnedFd, registered: Option<(RawFd, Option<OwnedFd>)>) {
    if let Some((fd, copy)) = registered {
        let _ = epoll_ctl(epoll, libc::EPOLL_CTL_DEL, fd, 0, 0);
        drop(copy);
    }
}

fn epoll_ctl(epoll: &OwnedFd, op: i32, fd: RawFd, events: i32, data: u64) -> io::Result<()> {
    let mut event = libc::epoll_event {
        events: events as u32,
        u64: data,
    };
    // SAFETY: `event` is a live local the kernel reads (ignored for DEL).
    if unsafe { libc::epoll_ctl(epoll.as_raw_fd(), op, fd, &mut event) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A descriptor a syscall just created, owned; or its error.
fn owned(fd: RawFd) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
