//! The gateway: one pair of rings, the executor behind them, the table of
//! requests in flight, and the thread that delivers late completions.
//!
//! Its rooms: `builder` (the options; creating the rings, the executor and
//! the state), `submit` (readying requests and writing them into the
//! submission ring), `slots` (the table of requests in flight: what a
//! completion does when it arrives, taking completions out, abandoning),
//! `driver` (the thread that waits in the executor while futures sleep)
//! and `future` (the future of one op).
//!
//! Locks, in the one order they nest:
//! 1. `Inner::submit` (the submission ring's producer and the executor):
//!    held across `Executor::enter`, whose own locks nest inside it; the
//!    state lock is never taken while it is held.
//! 2. `Core::state` (the slots, the completion ring's consumer, the
//!    handoff), then an `OpSet`'s `Group` lock inside it (or alone).
//! 3. `Inner::driver` and the arena's page list are leaves: nothing else is
//!    locked while either is held.
//!
//! Wakers are called, and arena outputs copied, after the state lock is
//! released.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use sysgate_exec::{ExecStats, Executor, WorkerPool};

use crate::arena::ArenaSpace;
use crate::error::Error;
use crate::handoff::CompletionSide;
use crate::op::{Flags, Operation};

mod builder;
mod driver;
mod future;
mod slots;
mod submit;

pub use builder::{DEFAULT_ARENA_BYTES, GatewayBuilder};
use driver::Driver;
pub use future::Submitted;
pub(crate) use future::complete;
use slots::Core;
pub use slots::RequestId;
pub(crate) use slots::{Group, Ticket, adopt_fd, clean_up};
use submit::SubmitSide;
pub(crate) use submit::{Outgoing, SendError, prepare};

/// `user_data` of requests whose completion nobody reads (the cancels sent
/// for dropped futures).
const IGNORED: u64 = u64::MAX - 1;

/// A submission ring, its executor and its completion ring: submit any
/// syscall, get each completion exactly once.
///
/// Cheap to clone (clones share the rings). Calls that cannot block run
/// inline on the thread that submits them; one gateway per submitting
/// thread (sharing a pool with [`GatewayBuilder::share_pool`]) avoids
/// contention on the submission lock, but any number of threads may share
/// one.
///
/// ```
/// use sysgate::{Gateway, ops};
/// let gw = Gateway::new()?;
/// let fd = gw.call(ops::OpenAt::new(sysgate::Fd::CWD, "/proc/self/stat", libc::O_RDONLY))?;
/// let (n, buf) = gw.call(ops::Read::new(&fd, Vec::with_capacity(64)));
/// assert!(n? > 0 && buf.starts_with(std::process::id().to_string().as_bytes()));
/// # Ok::<(), sysgate::Error>(())
/// ```
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    core: Arc<Core>,
    submit: Mutex<SubmitSide>,
    driver: Mutex<Driver>,
    pool: WorkerPool,
    /// The buffer arena and who holds its pages, once a request needed it.
    arena: OnceLock<Arc<ArenaSpace>>,
    /// Its size (0: none).
    arena_bytes: usize,
    /// The longest frame either ring carries.
    max_frame: usize,
}

impl Gateway {
    /// A gateway with the default options ([`Gateway::builder`]).
    pub fn new() -> Result<Gateway, Error> {
        Gateway::builder().build()
    }

    /// Options: ring sizes, pool maximums, idle timeout, polling mode, a
    /// shared pool.
    pub fn builder() -> GatewayBuilder {
        GatewayBuilder {
            // The smallest rings whose frames hold any valid request and
            // any completion (`MAX_MESSAGE_LEN`).
            sq_bytes: 4 << 20,
            cq_bytes: 4 << 20,
            pool: None,
            max_bounded: None,
            max_unbounded: None,
            idle_timeout: None,
            sq_poll: None,
            arena_bytes: DEFAULT_ARENA_BYTES,
            readiness: None,
        }
    }

    /// Submits `op` and blocks until it completes.
    pub fn call<O: Operation>(&self, op: O) -> O::Output {
        self.submit(op).wait()
    }

    /// Submits `op` now (a call that cannot block has already run when
    /// this returns) and returns a future of its output.
    pub fn submit<O: Operation>(&self, op: O) -> Submitted<O> {
        self.submit_with(op, Flags::NONE)
    }

    /// [`Gateway::submit`] with options ([`Flags::ASYNC`],
    /// [`Flags::NOWAIT`]).
    pub fn submit_with<O: Operation>(&self, op: O, flags: Flags) -> Submitted<O> {
        let ticket = self.inner.core.lock().alloc();
        let error = self.send_one(ticket, &op, flags).err();
        Submitted {
            gw: self.clone(),
            ticket,
            op: Some(op),
            error,
        }
    }

    /// Submits a batch at once: one lock, one pass of the executor.
    pub fn submit_batch(&self, batch: crate::Batch) -> crate::batch::BatchFuture {
        crate::batch::submit(self, batch)
    }

    /// Submits a batch and blocks until every op in it has completed.
    pub fn run(&self, batch: crate::Batch) -> crate::BatchResults {
        self.submit_batch(batch).wait()
    }

    /// The executor's counters (inline, punted, parked, …).
    pub fn stats(&self) -> ExecStats {
        let side = self.inner.lock_submit();
        side.exec.as_ref().map(Executor::stats).unwrap_or_default()
    }

    /// The worker pool (its maximums can be changed at run time).
    pub fn pool(&self) -> &WorkerPool {
        &self.inner.pool
    }

    /// Bytes of the buffer arena held now by big requests in flight (and
    /// by completed ones whose outputs have not been taken yet); 0 without
    /// an arena. See [`GatewayBuilder::arena_bytes`].
    pub fn arena_in_use(&self) -> u64 {
        self.inner.arena.get().map_or(0, |a| a.in_use())
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Dropping the executor completes everything still in flight
        // (queued and parked requests -ECANCELED, running ones interrupted)
        // before it returns; then the driver sees the executor closed. It
        // also hands over the completions that overflowed its ring, as
        // they are taken: so another thread drops it while this one takes
        // them, and every abandoned request is cleaned up (its descriptor
        // closed) instead of lost.
        let exec = self.lock_submit().exec.take();
        std::thread::scope(|s| {
            let spawned = std::thread::Builder::new()
                .name("sysgate-close".into())
                .spawn_scoped(s, move || drop(exec));
            // Without a thread to spare the closure, and the executor in it,
            // is dropped by the failed spawn, here: completions beyond the
            // ring's room are then counted lost rather than delivered, but
            // nothing hangs or panics.
            if let Ok(dropping) = spawned {
                while !dropping.is_finished() {
                    self.core.reap_and_wake();
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        });
        self.core.reap_and_wake();
        self.core.lock().handoff.stop(&self.core.driver_wake);
        let driver = std::mem::replace(
            &mut *self.driver.lock().unwrap_or_else(|e| e.into_inner()),
            Driver::Gone,
        );
        if let Driver::Running(thread) = driver {
            let _ = thread.join();
        }
    }
}
