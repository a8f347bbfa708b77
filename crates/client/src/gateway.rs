//! The gateway: one pair of rings, the executor behind them, the table of
//! requests in flight, and the thread that delivers late completions.

use std::future::Future;
use std::os::fd::{FromRawFd, OwnedFd};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;
use std::time::Duration;

use sysgate_exec::{
    CompletionWaiter, ExecStats, Executor, PoolConfig, WaitInterrupter, Waited, WorkerPool,
};
use sysgate_proto::{
    Arg, Buffer, CancelTarget, CompletionFlags, EncodeError, Op, PlainCall, Submission,
    SubmissionFlags, encode_into,
};
use sysgate_ring::{Arena, Consumer, Producer, PushError, Region, RegionSizes};

use crate::arena::{ArenaSpace, Placement, place};
use crate::completed::Done;
use crate::error::{Error, InvalidRequest};
use crate::handoff::{self, CompletionSide, Handoff, Interest};
use crate::op::{Abandon, Flags, Operation};

/// `user_data` of requests whose completion nobody reads (the cancels sent
/// for dropped futures).
const IGNORED: u64 = u64::MAX - 1;

/// The buffer arena a gateway has unless told otherwise
/// ([`GatewayBuilder::arena_bytes`]): 256 MiB of address space, created
/// when a request first needs it, which costs memory only while big
/// requests use it. The most one request moves through it.
pub const DEFAULT_ARENA_BYTES: usize = 256 << 20;

/// Options for a [`Gateway`].
#[derive(Clone)]
pub struct GatewayBuilder {
    sq_bytes: u32,
    cq_bytes: u32,
    pool: Option<WorkerPool>,
    max_bounded: Option<usize>,
    max_unbounded: Option<usize>,
    idle_timeout: Option<Duration>,
    sq_poll: Option<Duration>,
    arena_bytes: usize,
}

impl GatewayBuilder {
    /// Bytes of the submission ring (a power of two, 4 KiB to 1 GiB).
    /// Default 4 MiB: the frame limit is half the smaller ring, and from 4
    /// MiB up a frame holds the protocol's full 1 MiB of buffers. With
    /// smaller rings, buffers that do not fit a frame go through the
    /// arena ([`GatewayBuilder::arena_bytes`]).
    pub fn sq_bytes(mut self, bytes: u32) -> Self {
        self.sq_bytes = bytes;
        self
    }

    /// Bytes of the completion ring (a power of two, 4 KiB to 1 GiB).
    /// Completions that do not fit wait in an ordered backlog, never
    /// dropped. Default 4 MiB (see [`GatewayBuilder::sq_bytes`]).
    pub fn cq_bytes(mut self, bytes: u32) -> Self {
        self.cq_bytes = bytes;
        self
    }

    /// Most workers for calls on regular files and block devices. Default
    /// `min(ring entries, 4 × CPUs)`.
    pub fn max_bounded(mut self, n: usize) -> Self {
        self.max_bounded = Some(n);
        self
    }

    /// Most workers for calls that may block indefinitely. Default
    /// `RLIMIT_NPROC`, at most 1,024.
    pub fn max_unbounded(mut self, n: usize) -> Self {
        self.max_unbounded = Some(n);
        self
    }

    /// How long an idle worker waits for work before it exits. Default 5 s.
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = Some(idle);
        self
    }

    /// Polling-thread mode: a thread takes submissions off the ring (spinning
    /// for `idle` after the last one, then sleeping) instead of the
    /// submitting thread. Off by default: inline calls then run on the
    /// submitting thread with no hand-off at all.
    pub fn sq_poll(mut self, idle: Option<Duration>) -> Self {
        self.sq_poll = idle;
        self
    }

    /// Bytes of the buffer arena (rounded up to whole 4 KiB pages; 0: none),
    /// through which requests whose buffers do not fit a frame — more than
    /// 1 MiB in all by default — move their big buffers: the most one
    /// request can read or write at once. Default [`DEFAULT_ARENA_BYTES`]
    /// (256 MiB). It is address space, mapped when a request first needs
    /// it: pages cost memory only while requests use them, and are given
    /// back after each. A request needing more fails with
    /// [`Error::BuffersTooLarge`]; one that finds the arena held by
    /// requests in flight with [`Error::ArenaFull`]; if the arena cannot
    /// be created (more than [`sysgate_ring::MAX_ARENA_BYTES`], or the
    /// system refuses), with [`Error::Region`].
    pub fn arena_bytes(mut self, bytes: usize) -> Self {
        self.arena_bytes = bytes.div_ceil(4096).saturating_mul(4096);
        self
    }

    /// Shares the worker pool of `other` (one gateway per submitting thread,
    /// one pool). The pool options of this builder are then ignored.
    pub fn share_pool(mut self, other: &Gateway) -> Self {
        self.pool = Some(other.inner.pool.clone());
        self
    }

    /// Creates the rings and starts the executor.
    pub fn build(self) -> Result<Gateway, Error> {
        let max_frame = sysgate_ring::layout::max_frame_for(self.sq_bytes.min(self.cq_bytes))
            .min(sysgate_proto::MAX_MESSAGE_LEN as u32);
        let region = Region::create(RegionSizes {
            sq_bytes: self.sq_bytes,
            cq_bytes: self.cq_bytes,
            max_frame,
        })
        .map_err(Error::Region)?;
        let pool = self.pool.unwrap_or_else(|| {
            let mut config = PoolConfig::for_entries(self.sq_bytes as usize / 128);
            if let Some(n) = self.max_bounded {
                config.max_bounded = n.max(1);
            }
            if let Some(n) = self.max_unbounded {
                config.max_unbounded = n.max(1);
            }
            if let Some(idle) = self.idle_timeout {
                config.idle_timeout = idle;
            }
            WorkerPool::new(config)
        });
        let mut exec = Executor::builder().pool(pool.clone());
        if let Some(idle) = self.sq_poll {
            exec = exec.sq_poll(idle);
        }
        let exec = exec.build(
            region.sq_consumer().map_err(Error::Region)?,
            region.cq_producer().map_err(Error::Region)?,
        );
        let waiter = exec.waiter();
        let core = Arc::new(Core {
            interrupter: waiter.interrupter(),
            state: Mutex::new(State {
                cq: region.cq_consumer().map_err(Error::Region)?,
                frame: Vec::new(),
                slots: Vec::new(),
                free: Vec::new(),
                handoff: Handoff::new(waiter),
                unmatched: 0,
            }),
            driver_wake: Condvar::new(),
        });
        Ok(Gateway {
            inner: Arc::new(Inner {
                core,
                submit: Mutex::new(SubmitSide {
                    exec: Some(exec),
                    sq: region.sq_producer().map_err(Error::Region)?,
                    frames: Vec::new(),
                    ends: Vec::new(),
                    _held: sysgate_exec::hold_fd(region.fd()),
                    _region: region,
                }),
                driver: Mutex::new(Driver::NotStarted),
                pool,
                arena: OnceLock::new(),
                arena_bytes: self.arena_bytes,
                max_frame: max_frame as usize,
            }),
        })
    }
}

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

enum Driver {
    NotStarted,
    Running(JoinHandle<()>),
    Gone,
}

/// The submitting end: the SQ producer and the executor, behind one lock,
/// so that whoever pushes a frame also enters it.
struct SubmitSide {
    /// `None` once the gateway is being dropped.
    exec: Option<Executor>,
    sq: Producer,
    /// Encoded frames of the current submission and where each ends.
    frames: Vec<u8>,
    ends: Vec<usize>,
    /// Keeps requests off the region's memfd (a `ftruncate` of it would
    /// fault the next ring access); dropped before the region closes it.
    _held: sysgate_exec::HeldFd,
    _region: Region,
}

/// What the submitters and the driver share.
struct Core {
    state: Mutex<State>,
    /// The driver sleeps here while no future waits for it.
    driver_wake: Condvar,
    /// Ends the wait of a thread blocked in the executor whose completion
    /// another thread reaped (see [`crate::handoff`]).
    interrupter: WaitInterrupter,
}

struct State {
    cq: Consumer,
    frame: Vec<u8>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Who waits in the executor (the token) and who sleeps announced (see
    /// [`crate::handoff`]).
    handoff: Handoff<CompletionWaiter>,
    /// Completions that matched no request (none, unless a bug).
    unmatched: u64,
}

struct Slot {
    generation: u32,
    state: SlotState,
    /// The arena pages its request holds, until its completion is taken
    /// (or, abandoned, reaped).
    placement: Option<Placement>,
}

enum SlotState {
    Free,
    /// In flight, with who to wake when it completes.
    InFlight(Interest),
    Done(Done),
    /// Its future was dropped; the completion is cleaned up and discarded.
    Abandoned(Abandon),
    /// In flight for an [`crate::OpSet`]: the completion goes to the set.
    Grouped(Arc<Group>),
}

/// Where the completions of an [`crate::OpSet`]'s requests go, in the
/// order they complete. Locked after the state lock, never before.
#[derive(Default)]
pub(crate) struct Group {
    inner: Mutex<GroupInner>,
}

#[derive(Default)]
pub(crate) struct GroupInner {
    /// Completions, each with the arena pages its request held (its
    /// outputs are copied out when it is taken).
    pub(crate) done: std::collections::VecDeque<(Done, Option<Placement>)>,
    /// Who to wake when the next completion arrives.
    interest: Interest,
}

impl Group {
    pub(crate) fn lock(&self) -> MutexGuard<'_, GroupInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A request in flight: its slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ticket(u64);

impl Ticket {
    pub(crate) fn user_data(self) -> u64 {
        self.0
    }

    pub(crate) fn from_user_data(user_data: u64) -> Ticket {
        Ticket(user_data)
    }

    fn index(self) -> usize {
        (self.0 & 0xffff_ffff) as usize
    }
}

/// Identifies a request in flight, for [`crate::ops::Cancel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequestId(pub(crate) u64);

impl RequestId {
    /// The `user_data` the request carries on the ring.
    pub fn user_data(self) -> u64 {
        self.0
    }
}

impl State {
    fn alloc(&mut self) -> Ticket {
        let index = match self.free.pop() {
            Some(i) => i as usize,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    state: SlotState::Free,
                    placement: None,
                });
                self.slots.len() - 1
            }
        };
        let slot = &mut self.slots[index];
        // Generations skip u32::MAX, so no ticket equals `IGNORED`.
        slot.generation = (slot.generation + 1) % u32::MAX;
        slot.state = SlotState::InFlight(Interest::default());
        Ticket(u64::from(slot.generation) << 32 | index as u64)
    }

    fn slot(&mut self, t: Ticket) -> Option<&mut Slot> {
        self.slots
            .get_mut(t.index())
            .filter(|s| u64::from(s.generation) == t.0 >> 32)
    }

    fn release(&mut self, t: Ticket) {
        let Some(slot) = self.slot(t) else {
            return;
        };
        slot.placement = None;
        if let SlotState::InFlight(mut interest) =
            std::mem::replace(&mut slot.state, SlotState::Free)
        {
            interest.complete(&mut self.handoff);
        }
        self.free.push(t.index() as u32);
    }

    /// Gives `t`'s slot the arena pages its request holds: before the
    /// request is sent, so that whoever reaps its completion finds them.
    fn attach(&mut self, t: Ticket, placement: Placement) {
        if let Some(slot) = self.slot(t) {
            slot.placement = Some(placement);
        }
    }

    /// Takes every completion off the ring and hands each to its slot;
    /// collects the wakers to call once the lock is released.
    fn reap(&mut self, wake: &mut Vec<Waker>) -> Result<(), Error> {
        let mut frame = std::mem::take(&mut self.frame);
        let result = loop {
            match self.cq.read(&mut frame) {
                Ok(Some(_)) => match Done::from_frame(&frame) {
                    Some(done) => self.deliver(done, wake),
                    // Its request still completes, exactly once: with the
                    // error, if the frame says whose it is.
                    None => match sysgate_proto::peek_user_data(&frame) {
                        Some(user_data) => self.deliver(Done::undecodable(user_data), wake),
                        None => self.unmatched += 1,
                    },
                },
                Ok(None) => break self.cq.release().map_err(Error::Ring),
                Err(e) => break Err(Error::Ring(e)),
            }
        };
        self.frame = frame;
        result
    }

    fn deliver(&mut self, c: Done, wake: &mut Vec<Waker>) {
        let user_data = c.user_data();
        if user_data == IGNORED {
            return;
        }
        let t = Ticket(user_data);
        let Some(slot) = self.slot(t) else {
            self.unmatched += 1;
            return;
        };
        match std::mem::replace(&mut slot.state, SlotState::Free) {
            SlotState::InFlight(mut interest) => {
                slot.state = SlotState::Done(c);
                wake.extend(interest.complete(&mut self.handoff));
            }
            SlotState::Abandoned(abandon) => {
                // Its pages are free again: the kernel is done with them.
                slot.placement = None;
                clean_up(abandon, &c);
                self.free.push(t.index() as u32);
            }
            SlotState::Grouped(group) => {
                let placement = slot.placement.take();
                self.free.push(t.index() as u32);
                let mut g = group.lock();
                g.done.push_back((c, placement));
                wake.extend(g.interest.complete(&mut self.handoff));
            }
            other => {
                // A second completion for one request: the executor promises
                // this never happens. Keep the first.
                slot.state = other;
                self.unmatched += 1;
            }
        }
    }
}

/// A completion with its arena outputs copied in (off every lock); its
/// pages are free again after.
pub(crate) fn restored((done, placement): (Done, Option<Placement>)) -> Done {
    let Some(p) = placement else {
        return done;
    };
    let Ok(c) = done.completed() else {
        return done;
    };
    let mut c = c.to_completion();
    p.restore(&mut c);
    Done::Built(c)
}

/// Disposes of what an abandoned request produced.
pub(crate) fn clean_up(abandon: Abandon, done: &Done) {
    let Ok(c) = done.completed() else {
        return;
    };
    let ran = !c.flags().contains(CompletionFlags::PROTOCOL_ERROR)
        && !c.flags().contains(CompletionFlags::REFUSED);
    if abandon == Abandon::CloseResultFd
        && ran
        && let Ok(fd) = i32::try_from(c.result())
        && fd >= 0
    {
        drop(adopt_fd(fd));
    }
}

/// The descriptor a successful fd-returning request of this gateway
/// produced, owned.
pub(crate) fn adopt_fd(fd: i32) -> OwnedFd {
    // SAFETY: only called with the result of a completed request of this
    // gateway whose syscall returns a new descriptor (`openat`, `accept4`):
    // the kernel created it for that request, the executor (same process)
    // posted its number only to us, and nothing else has seen it, so it is
    // open and owned by no one else.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

impl Core {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl handoff::ExecutorWaiter for CompletionWaiter {
    fn wait(&mut self) -> bool {
        CompletionWaiter::wait(self, 1, None) != Waited::Closed
    }
}

impl handoff::Interrupt for WaitInterrupter {
    fn interrupt(&self) {
        WaitInterrupter::interrupt(self);
    }
}

impl CompletionSide for Core {
    type Waiter = CompletionWaiter;
    type Interrupter = WaitInterrupter;
    type State = State;

    fn state(&self) -> &Mutex<State> {
        &self.state
    }

    fn handoff(state: &mut State) -> &mut Handoff<CompletionWaiter> {
        &mut state.handoff
    }

    fn driver_wake(&self) -> &Condvar {
        &self.driver_wake
    }

    fn interrupter(&self) -> &WaitInterrupter {
        &self.interrupter
    }

    /// Reaps the completion ring and wakes whoever it completes.
    fn reap_and_wake(&self) {
        let mut wake = Vec::new();
        // A ring error cannot be acted on here; the submitter sees it.
        let _ = self.lock().reap(&mut wake);
        wake.into_iter().for_each(Waker::wake);
    }
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

    /// Moves `sub`'s big buffers into the arena if they do not fit a
    /// frame (see [`crate::arena::place`]).
    pub(crate) fn place(&self, sub: &mut Submission<'_>) -> Result<Option<Placement>, Error> {
        place(&mut sub.op, self.inner.max_frame, || self.inner.arena())
    }

    /// Gives tickets the arena pages their requests hold (before they are
    /// sent).
    pub(crate) fn attach(&self, placements: Vec<(Ticket, Placement)>) {
        let mut state = self.inner.core.lock();
        for (t, p) in placements {
            state.attach(t, p);
        }
    }

    pub(crate) fn alloc_tickets(&self, n: usize) -> Vec<Ticket> {
        let mut state = self.inner.core.lock();
        (0..n).map(|_| state.alloc()).collect()
    }

    pub(crate) fn release_tickets(&self, tickets: &[Ticket]) {
        let mut state = self.inner.core.lock();
        tickets.iter().for_each(|&t| state.release(t));
    }

    pub(crate) fn send(&self, out: &[Outgoing<'_>]) -> Result<(), SendError> {
        self.inner.send(out)
    }

    /// Takes the completions of `tickets` that have arrived (into the
    /// matching `done` entries); if any is still missing, registers `waker`
    /// for it and makes sure the driver will deliver it. Ready when all are
    /// done.
    pub(crate) fn poll_tickets(
        &self,
        tickets: &[Ticket],
        done: &mut [Option<Done>],
        waker: &Waker,
    ) -> Poll<()> {
        self.poll_tickets_as(tickets, done, waker, true)
    }

    /// [`Gateway::poll_tickets`]; without `announce` the missing request
    /// is not handed to the driver (the caller will wait for it itself).
    fn poll_tickets_as(
        &self,
        tickets: &[Ticket],
        done: &mut [Option<Done>],
        waker: &Waker,
        announce_sleep: bool,
    ) -> Poll<()> {
        let mut wake = Vec::new();
        let mut placed = Vec::new();
        let mut state = self.inner.core.lock();
        // A ring error surfaces at the next submission.
        let _ = state.reap(&mut wake);
        let mut announce = 0;
        let mut missing = false;
        // Scanned from the end: the waker goes on the last request still in
        // flight only (the one likely to complete last), so a batch is woken
        // about once, not once per completion; if others are still missing
        // then, the next poll registers on one of them.
        for (k, &ticket) in tickets.iter().enumerate().rev() {
            if done[k].is_some() {
                continue;
            }
            let Some(slot) = state.slot(ticket) else {
                // Not ours any more: cannot happen while its future lives.
                missing = true;
                continue;
            };
            match &mut slot.state {
                SlotState::Done(_) => {
                    let SlotState::Done(c) = std::mem::replace(&mut slot.state, SlotState::Free)
                    else {
                        unreachable!("matched Done")
                    };
                    placed.extend(slot.placement.take().map(|p| (k, p)));
                    state.free.push(ticket.index() as u32);
                    done[k] = Some(c);
                }
                SlotState::InFlight(interest) if !missing => {
                    announce += interest.register(waker, announce_sleep);
                    missing = true;
                }
                SlotState::InFlight(_) => {}
                _ => missing = true,
            }
        }
        let start_driver = state
            .handoff
            .announce(announce, &self.inner.core.driver_wake);
        drop(state);
        wake.into_iter().for_each(Waker::wake);
        // Arena outputs are copied out here, off the lock; the pages are
        // free again after.
        for (k, p) in placed {
            if let Some(c) = done[k].take() {
                done[k] = Some(restored((c, Some(p))));
            }
        }
        if start_driver {
            self.inner.start_driver();
        }
        if missing {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }

    /// Blocks until every ticket is done (see [`Gateway::block_until`]).
    pub(crate) fn wait_tickets(&self, tickets: &[Ticket], done: &mut [Option<Done>]) {
        self.block_until(|waker, announce| self.poll_tickets_as(tickets, done, waker, announce));
    }

    /// Blocks until `poll(waker, announce)` is ready (see
    /// [`handoff::block_until`]).
    fn block_until<T>(&self, poll: impl FnMut(&Waker, bool) -> Poll<T>) -> T {
        handoff::block_until(&*self.inner.core, poll)
    }

    /// Gives up on `ticket`: its completion will be cleaned up by `abandon`
    /// and dropped, and the request is cancelled.
    pub(crate) fn abandon(&self, ticket: Ticket, abandon: Abandon) {
        let mut state = self.inner.core.lock();
        let Some(slot) = state.slot(ticket) else {
            return;
        };
        match std::mem::replace(&mut slot.state, SlotState::Abandoned(abandon)) {
            SlotState::Grouped(_) => {
                drop(state);
                self.cancel(ticket);
            }
            SlotState::InFlight(mut interest) => {
                // Nobody waits for it any more; the driver need not either
                // (whoever reaps next cleans it up).
                interest.complete(&mut state.handoff);
                drop(state);
                self.cancel(ticket);
            }
            SlotState::Done(c) => {
                clean_up(abandon, &c);
                let slot = &mut state.slots[ticket.index()];
                slot.state = SlotState::Free;
                slot.placement = None;
                state.free.push(ticket.index() as u32);
            }
            other => state.slots[ticket.index()].state = other,
        }
    }

    /// Sends a cancel for `ticket` whose completion nobody reads. If it
    /// cannot be sent the request still completes on its own (or when the
    /// gateway is dropped).
    fn cancel(&self, ticket: Ticket) {
        let cancel = Submission::new(
            IGNORED,
            Op::Cancel {
                target: CancelTarget::UserData(ticket.0),
            },
        );
        let _ = self.inner.send(&[Outgoing::Request(cancel)]);
    }

    /// Submits `op` for `group`: its completion will be pushed there.
    pub(crate) fn submit_grouped<O: Operation>(
        &self,
        op: &O,
        flags: Flags,
        group: &Arc<Group>,
    ) -> Result<Ticket, Error> {
        let ticket = {
            let mut state = self.inner.core.lock();
            let t = state.alloc();
            state.slots[t.index()].state = SlotState::Grouped(Arc::clone(group));
            t
        };
        self.send_one(ticket, op, flags).map(|()| ticket)
    }

    /// Submits `op` alone under `ticket`. On an error before the request
    /// reached the ring the ticket is released; after, it is abandoned (the
    /// request completes, and what it made is cleaned up).
    fn send_one<O: Operation>(&self, ticket: Ticket, op: &O, flags: Flags) -> Result<(), Error> {
        let outgoing = op.request().and_then(|req| {
            if let Some(plain) = Outgoing::plain(ticket.0, flags.wire(), &req) {
                return Ok(plain);
            }
            let mut sub = Submission::new(ticket.0, req).with_flags(flags.wire());
            let placement = self.place(&mut sub)?;
            prepare(&mut sub, 0, 0)?;
            if let Some(p) = placement {
                self.inner.core.lock().attach(ticket, p);
            }
            Ok(Outgoing::Request(sub))
        });
        let sent = outgoing
            .map_err(SendError::none)
            .and_then(|out| self.inner.send(std::slice::from_ref(&out)));
        match sent {
            Ok(()) => Ok(()),
            Err(SendError { error, staged: 0 }) => {
                self.inner.core.lock().release(ticket);
                Err(error)
            }
            Err(SendError { error, .. }) => {
                self.abandon(ticket, op.on_abandon());
                Err(error)
            }
        }
    }

    /// Takes the group's next completion; if there is none yet, registers
    /// `waker` and has the driver deliver (`announce`) or leaves the
    /// waiting to the caller.
    pub(crate) fn poll_group(&self, group: &Group, waker: &Waker, announce: bool) -> Poll<Done> {
        let next = group.lock().done.pop_front();
        if let Some(done) = next {
            return Poll::Ready(restored(done));
        }
        let mut wake = Vec::new();
        let mut state = self.inner.core.lock();
        let _ = state.reap(&mut wake);
        let mut g = group.lock();
        let mut start_driver = false;
        let result = match g.done.pop_front() {
            Some(done) => Poll::Ready(done),
            None => {
                let first = g.interest.register(waker, announce);
                start_driver = state.handoff.announce(first, &self.inner.core.driver_wake);
                Poll::Pending
            }
        };
        drop(g);
        drop(state);
        wake.into_iter().for_each(Waker::wake);
        if start_driver {
            self.inner.start_driver();
        }
        result.map(restored)
    }

    /// Blocks until the group has a completion (see [`Gateway::block_until`]).
    pub(crate) fn wait_group(&self, group: &Group) -> Done {
        self.block_until(|waker, announce| self.poll_group(group, waker, announce))
    }
}

impl Inner {
    fn lock_submit(&self) -> MutexGuard<'_, SubmitSide> {
        self.submit.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The buffer arena, created (and handed to the executor) when a
    /// request first needs it; `None` if the gateway has none.
    fn arena(&self) -> Result<Option<&Arc<ArenaSpace>>, Error> {
        if self.arena_bytes == 0 {
            return Ok(None);
        }
        if let Some(space) = self.arena.get() {
            return Ok(Some(space));
        }
        // Under the submission lock: one creator, and the executor has the
        // arena before any request naming it is pushed.
        let side = self.lock_submit();
        if self.arena.get().is_none() {
            let arena = Arena::create(self.arena_bytes).map_err(Error::Region)?;
            let Some(exec) = side.exec.as_ref() else {
                unreachable!("the executor lives as long as the gateway")
            };
            // Cannot fail: this gateway's executor gets an arena only here.
            let _ = exec.set_arena(arena.clone());
            let _ = self.arena.set(ArenaSpace::new(arena));
        }
        Ok(self.arena.get())
    }

    /// Encodes `subs` (validated by [`prepare`]), pushes them onto the
    /// submission ring and enters the
    /// executor (which runs what it can right here). All or nothing: an op
    /// that cannot be encoded fails the whole call before anything is
    /// pushed.
    fn send(&self, subs: &[Outgoing<'_>]) -> Result<(), SendError> {
        let mut guard = self.lock_submit();
        let side = &mut *guard;
        let max = side.sq.max_frame() as usize;
        side.frames.clear();
        side.ends.clear();
        for sub in subs {
            let start = side.frames.len();
            let len = sub
                .encode_at(&mut side.frames, start)
                .map_err(SendError::none)?;
            if len > max {
                return Err(SendError::none(Error::Encode(EncodeError::TooLarge {
                    len,
                })));
            }
            side.ends.push(start + len);
        }
        let Some(exec) = side.exec.as_mut() else {
            unreachable!("the executor lives as long as the gateway")
        };
        let mut staged = 0;
        let mut start = 0;
        let mut failed = None;
        'frames: for &end in &side.ends {
            let frame = &side.frames[start..end];
            loop {
                let error = match side.sq.stage(frame) {
                    Ok(()) => break,
                    Err(PushError::Full(_)) => match make_room(&mut side.sq, exec, frame.len()) {
                        Ok(()) => continue,
                        Err(e) => e,
                    },
                    Err(PushError::TooLarge { max, .. }) => Error::Encode(EncodeError::TooLarge {
                        len: max as usize + 1,
                    }),
                    Err(PushError::Corrupt { error, .. } | PushError::WakeFailed(error)) => {
                        Error::Ring(error)
                    }
                    Err(_) => Error::Protocol(sysgate_proto::codes::INVALID),
                };
                failed = Some(error);
                break 'frames;
            }
            staged += 1;
            start = end;
        }
        // What is staged is published even after a failure: a staged frame
        // cannot be taken back, and one left behind would go out with the
        // next submission.
        let published = side.sq.publish().map_err(Error::Ring);
        let entered = published.and_then(|()| exec.enter(u32::MAX, 0, None).map_err(enter_error));
        match failed.map_or(entered, Err) {
            Ok(_) => Ok(()),
            Err(error) => Err(SendError { error, staged }),
        }
    }

    fn start_driver(&self) {
        let mut driver = self.driver.lock().unwrap_or_else(|e| e.into_inner());
        if let Driver::NotStarted = &*driver {
            let core = Arc::clone(&self.core);
            *driver = match std::thread::Builder::new()
                .name("sysgate-driver".into())
                .spawn(move || handoff::drive(&*core))
            {
                Ok(thread) => Driver::Running(thread),
                // No thread: futures that sleep are woken only when another
                // submission reaps their completion, or a blocking wait
                // takes the executor's waiter. The start is not retried.
                Err(_) => Driver::Gone,
            };
        }
    }
}

/// A request ready to be written into the submission ring.
pub(crate) enum Outgoing<'a> {
    /// A syscall whose arguments are all words (valid as it is: its flags
    /// come from [`Flags`] and links): written in place, the way most
    /// requests go.
    Plain(PlainCall),
    /// Any other request, readied by [`prepare`].
    Request(Submission<'a>),
}

impl Outgoing<'_> {
    /// `op` as a [`Outgoing::Plain`] call, if it is one.
    pub(crate) fn plain(user_data: u64, flags: SubmissionFlags, op: &Op<'_>) -> Option<Self> {
        let Op::Syscall(call) = op else {
            return None;
        };
        if !call.bufs.is_empty() || !call.relocs.is_empty() {
            return None;
        }
        let mut args = [0; sysgate_proto::MAX_ARGS];
        let given = call.args.as_slice();
        if given.len() > args.len() {
            return None;
        }
        for (w, a) in args.iter_mut().zip(given) {
            let Arg::Imm(v) = a else { return None };
            *w = *v;
        }
        Some(Outgoing::Plain(PlainCall {
            user_data,
            flags,
            nr: call.nr,
            argc: given.len() as u8,
            args,
        }))
    }

    /// Writes the frame at `frames[start..]` (growing it); its length.
    fn encode_at(&self, frames: &mut Vec<u8>, start: usize) -> Result<usize, Error> {
        let sub = match self {
            Outgoing::Plain(call) => {
                frames.resize(
                    start + sysgate_proto::plain_call_len(usize::from(call.argc)),
                    0,
                );
                // Cannot fail: sized just above, and `argc` ≤ MAX_ARGS.
                return Ok(call.encode(&mut frames[start..]).unwrap_or(0));
            }
            Outgoing::Request(sub) => sub,
        };
        loop {
            match encode_into(sub, &mut frames[start..]) {
                Ok(len) => return Ok(len),
                Err(EncodeError::BufferTooSmall { needed }) => frames.resize(start + needed, 0),
                Err(e) => return Err(Error::Encode(e)),
            }
        }
    }
}

/// Frees room for a frame of `len` bytes: hands what is staged to the
/// executor, and if it is a polling thread that has not caught up yet,
/// waits a little for it.
fn make_room(sq: &mut Producer, exec: &mut Executor, len: usize) -> Result<(), Error> {
    sq.publish().map_err(Error::Ring)?;
    exec.enter(u32::MAX, 0, None).map_err(enter_error)?;
    if !sq.has_room(len).map_err(Error::Ring)? {
        sq.wait_for_space(len, Some(Duration::from_millis(10)))
            .map_err(Error::Ring)?;
    }
    Ok(())
}

/// Why a submission failed, and how many of its requests went onto the
/// ring before it did: those run (or are cancelled) and complete like any
/// other, so their tickets are abandoned, never released — their buffers
/// and arena pages stay reserved until their completions arrive.
#[derive(Debug)]
pub(crate) struct SendError {
    pub(crate) error: Error,
    pub(crate) staged: usize,
}

impl SendError {
    /// A failure before anything went onto the ring.
    pub(crate) fn none(error: Error) -> SendError {
        SendError { error, staged: 0 }
    }
}

fn enter_error(e: sysgate_exec::EnterError) -> Error {
    match e {
        sysgate_exec::EnterError::Ring(e) => Error::Ring(e),
        // `enter` with `min_complete = 0` does not wait.
        _ => Error::Protocol(sysgate_proto::codes::INVALID),
    }
}

/// Readies the op at batch position `index`, whose chain starts at
/// `chain_start`: rewrites its `Arg::LinkResult` and `Buffer::Linked`
/// batch positions into the chain positions the wire format wants
/// (refusing references outside the chain), then validates it at its
/// chain position.
pub(crate) fn prepare(
    sub: &mut Submission<'_>,
    index: usize,
    chain_start: usize,
) -> Result<(), Error> {
    if let Op::Syscall(s) = &mut sub.op {
        // Batch position `i` as a chain position, if earlier in the chain.
        let position = |i: u16| {
            let i = usize::from(i);
            if (chain_start..index).contains(&i) {
                // Fits: `i - chain_start < index - chain_start <= i`.
                Ok((i - chain_start) as u16)
            } else {
                Err(Error::from(InvalidRequest::ResultOutsideChain {
                    op: index,
                    names: i,
                }))
            }
        };
        if s.args
            .as_slice()
            .iter()
            .any(|a| matches!(a, Arg::LinkResult(_)))
        {
            let mut args = sysgate_proto::Args::new();
            for &a in s.args.as_slice() {
                args.push(match a {
                    Arg::LinkResult(i) => Arg::LinkResult(position(i)?),
                    other => other,
                });
            }
            s.args = args;
        }
        for b in &mut s.bufs {
            if let Buffer::Linked(l) = b {
                l.member = position(l.member)?;
            }
        }
    }
    let position = u16::try_from(index - chain_start).unwrap_or(u16::MAX);
    sub.validate(Some(position))
        .map_err(|e| Error::Invalid(InvalidRequest::Validation(e)))
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

/// Completes `op` from what its request ended with.
pub(crate) fn complete<O: Operation>(op: O, outcome: Result<Done, Error>) -> O::Output {
    match outcome {
        Ok(done) => op.complete(done.completed()),
        Err(e) => op.complete(Err(e)),
    }
}

/// The future of one submitted op; yields the op's output. Dropping it
/// before it completes cancels the request (its buffers are the
/// executor's, so nothing writes into freed memory; a descriptor it opens
/// anyway is closed).
#[must_use = "dropping the future cancels the request"]
pub struct Submitted<O: Operation> {
    gw: Gateway,
    ticket: Ticket,
    op: Option<O>,
    error: Option<Error>,
}

impl<O: Operation> Submitted<O> {
    /// Blocks until the op completes (the thread sleeps; see
    /// [`Gateway::call`]).
    pub fn wait(mut self) -> O::Output {
        let outcome = match self.error.take() {
            Some(e) => Err(e),
            None => {
                let mut done = [None];
                self.gw.wait_tickets(&[self.ticket], &mut done);
                Ok(done[0].take().expect("waited until done"))
            }
        };
        let op = self.op.take().expect("a future completes once");
        complete(op, outcome)
    }

    /// The request's id, to cancel it with [`crate::ops::Cancel`].
    pub fn id(&self) -> RequestId {
        RequestId(self.ticket.0)
    }
}

// The op is never pinned: it is moved out whole when the future completes.
impl<O: Operation> Unpin for Submitted<O> {}

impl<O: Operation> Future for Submitted<O> {
    type Output = O::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<O::Output> {
        let this = self.get_mut();
        assert!(this.op.is_some(), "`Submitted` polled after it completed");
        let outcome = match this.error.take() {
            Some(e) => Err(e),
            None => {
                let mut done = [None];
                if this
                    .gw
                    .poll_tickets(&[this.ticket], &mut done, cx.waker())
                    .is_pending()
                {
                    return Poll::Pending;
                }
                Ok(done[0].take().expect("ready means done"))
            }
        };
        let op = this.op.take().expect("checked above");
        Poll::Ready(complete(op, outcome))
    }
}

impl<O: Operation> Drop for Submitted<O> {
    fn drop(&mut self) {
        if let (Some(op), None) = (&self.op, &self.error) {
            self.gw.abandon(self.ticket, op.on_abandon());
        }
    }
}

impl<O: Operation> std::fmt::Debug for Submitted<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Submitted").field("id", &self.id()).finish()
    }
}
