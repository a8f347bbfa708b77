//! The table of requests in flight: tickets, slots, what a completion
//! does when it arrives, and taking completions out.

use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Poll, Waker};

use sysgate_exec::{CompletionWaiter, WaitInterrupter};
use sysgate_proto::CompletionFlags;
use sysgate_ring::Consumer;

use crate::arena::Placement;
use crate::completed::Done;
use crate::error::Error;
use crate::handoff::{self, Handoff, Interest};
use crate::op::Abandon;

use super::{Gateway, IGNORED};

/// What the submitters and the driver share.
pub(super) struct Core {
    pub(super) state: Mutex<State>,
    /// The driver sleeps here while no future waits for it.
    pub(super) driver_wake: Condvar,
    /// Ends the wait of a thread blocked in the executor whose completion
    /// another thread reaped (see [`crate::handoff`]).
    pub(super) interrupter: WaitInterrupter,
}

pub(super) struct State {
    pub(super) cq: Consumer,
    pub(super) frame: Vec<u8>,
    pub(super) slots: Vec<Slot>,
    pub(super) free: Vec<u32>,
    /// Who waits in the executor (the token) and who sleeps announced (see
    /// [`crate::handoff`]).
    pub(super) handoff: Handoff<CompletionWaiter>,
    /// Completions that matched no request (none, unless a bug).
    pub(super) unmatched: u64,
}

pub(super) struct Slot {
    pub(super) generation: u32,
    pub(super) state: SlotState,
    /// The arena pages its request holds, until its completion is taken
    /// (or, abandoned, reaped).
    pub(super) placement: Option<Placement>,
}

pub(super) enum SlotState {
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
    pub(super) inner: Mutex<GroupInner>,
}

#[derive(Default)]
pub(crate) struct GroupInner {
    /// Completions, each with the arena pages its request held (its
    /// outputs are copied out when it is taken).
    pub(crate) done: std::collections::VecDeque<(Done, Option<Placement>)>,
    /// Who to wake when the next completion arrives.
    pub(super) interest: Interest,
}

impl Group {
    pub(crate) fn lock(&self) -> MutexGuard<'_, GroupInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A request in flight: its slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ticket(pub(super) u64);

impl Ticket {
    pub(crate) fn user_data(self) -> u64 {
        self.0
    }

    pub(crate) fn from_user_data(user_data: u64) -> Ticket {
        Ticket(user_data)
    }

    pub(super) fn index(self) -> usize {
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
    pub(super) fn alloc(&mut self) -> Ticket {
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

    /// A ticket whose completion goes to `group`.
    pub(super) fn alloc_grouped(&mut self, group: &Arc<Group>) -> Ticket {
        let t = self.alloc();
        self.slots[t.index()].state = SlotState::Grouped(Arc::clone(group));
        t
    }

    pub(super) fn slot(&mut self, t: Ticket) -> Option<&mut Slot> {
        self.slots
            .get_mut(t.index())
            .filter(|s| u64::from(s.generation) == t.0 >> 32)
    }

    pub(super) fn release(&mut self, t: Ticket) {
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
    pub(super) fn attach(&mut self, t: Ticket, placement: Placement) {
        if let Some(slot) = self.slot(t) {
            slot.placement = Some(placement);
        }
    }

    /// Takes every completion off the ring and hands each to its slot;
    /// collects the wakers to call once the lock is released.
    pub(super) fn reap(&mut self, wake: &mut Vec<Waker>) -> Result<(), Error> {
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

    pub(super) fn deliver(&mut self, c: Done, wake: &mut Vec<Waker>) {
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
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Gateway {
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
    pub(super) fn poll_tickets_as(
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
    pub(super) fn block_until<T>(&self, poll: impl FnMut(&Waker, bool) -> Poll<T>) -> T {
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
