//! The submitting side: readying requests, writing them into the
//! submission ring, and entering the executor.

use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use sysgate_exec::Executor;
use sysgate_proto::{
    Arg, Buffer, CancelTarget, EncodeError, Op, PlainCall, Submission, SubmissionFlags, encode_into,
};
use sysgate_ring::{Arena, Producer, PushError, Region};

use crate::arena::{ArenaSpace, Placement, place};
use crate::error::{Error, InvalidRequest};
use crate::op::{Flags, Operation};

use super::slots::{Group, Ticket};
use super::{Gateway, IGNORED, Inner};

/// The submitting end: the SQ producer and the executor, behind one lock,
/// so that whoever pushes a frame also enters it.
pub(super) struct SubmitSide {
    /// `None` once the gateway is being dropped.
    pub(super) exec: Option<Executor>,
    pub(super) sq: Producer,
    /// Encoded frames of the current submission and where each ends.
    pub(super) frames: Vec<u8>,
    pub(super) ends: Vec<usize>,
    /// Keeps requests off the region's memfd (a `ftruncate` of it would
    /// fault the next ring access); dropped before the region closes it.
    pub(super) _held: sysgate_exec::HeldFd,
    pub(super) _region: Region,
}

impl Gateway {
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

    /// Sends a cancel for `ticket` whose completion nobody reads. If it
    /// cannot be sent the request still completes on its own (or when the
    /// gateway is dropped).
    pub(super) fn cancel(&self, ticket: Ticket) {
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
        let ticket = self.inner.core.lock().alloc_grouped(group);
        self.send_one(ticket, op, flags).map(|()| ticket)
    }

    /// Submits `op` alone under `ticket`. On an error before the request
    /// reached the ring the ticket is released; after, it is abandoned (the
    /// request completes, and what it made is cleaned up).
    pub(super) fn send_one<O: Operation>(
        &self,
        ticket: Ticket,
        op: &O,
        flags: Flags,
    ) -> Result<(), Error> {
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
}

impl Inner {
    pub(super) fn lock_submit(&self) -> MutexGuard<'_, SubmitSide> {
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
