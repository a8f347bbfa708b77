//! Many ops submitted at once, some of them linked.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use sysgate_proto::{Buffer, Op, Submission, SubmissionFlags};

use crate::arena::Placement;
use crate::completed::Done;
use crate::error::{Error, InvalidRequest};
use crate::gateway::{Gateway, Outgoing, SendError, Ticket, prepare};
use crate::op::{Abandon, Fd, Flags, Handle, Operation, Outcome};

/// A list of ops to submit at once (one lock, one pass of the executor),
/// some linked into chains.
///
/// [`Batch::then`] links an op after the previous one: it runs only if that
/// one succeeded (a failure, or a short read or write, cancels the rest of
/// the chain with `ECANCELED`), and it may use the results of the earlier
/// ops of its chain as arguments ([`Handle::fd`], [`Handle::result`]),
/// resolved by the executor. [`Batch::hardlink`] runs the next op whatever
/// the previous one returned.
///
/// ```
/// use sysgate::{Batch, Fd, Gateway, ops};
/// let gw = Gateway::new()?;
/// let mut batch = Batch::new();
/// let open = batch.push(ops::OpenAt::new(Fd::CWD, "/proc/self/comm", libc::O_RDONLY));
/// let read = batch.then(ops::Read::new(open.fd(), Vec::with_capacity(64)));
/// // Hard-linked: runs even though the read is short (which breaks a link).
/// batch.hardlink(ops::Close::new(open.fd()));
/// let mut done = gw.run(batch);
/// let (n, comm) = done.take(read).expect("in this batch");
/// assert_eq!(n?, comm.len());
/// # Ok::<(), sysgate::Error>(())
/// ```
#[derive(Default)]
pub struct Batch {
    entries: Vec<Entry>,
    invalid: Option<InvalidRequest>,
}

struct Entry {
    op: Box<dyn ErasedOp>,
    flags: Flags,
    /// How the *next* entry hangs on this one.
    link: Link,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Link {
    None,
    Soft,
    Hard,
}

/// An [`Operation`] with its type erased, so one batch holds many kinds.
trait ErasedOp: Send {
    fn request(&self) -> Result<Op<'_>, Error>;
    fn on_abandon(&self) -> Abandon;
    fn closes(&self) -> Option<Fd>;
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send>;
}

impl<O: Operation> ErasedOp for O {
    fn request(&self) -> Result<Op<'_>, Error> {
        Operation::request(self)
    }
    fn on_abandon(&self) -> Abandon {
        Operation::on_abandon(self)
    }
    fn closes(&self) -> Option<Fd> {
        Operation::closes(self)
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Adds `op`, starting a new chain.
    pub fn push<O: Operation>(&mut self, op: O) -> Handle<O> {
        self.push_with(op, Flags::NONE)
    }

    /// [`Batch::push`] with options.
    pub fn push_with<O: Operation>(&mut self, op: O, flags: Flags) -> Handle<O> {
        self.entries.push(Entry {
            op: Box::new(op),
            flags,
            link: Link::None,
        });
        Handle::new(self.entries.len() - 1)
    }

    /// Adds `op` linked after the previous op: it runs once that one has
    /// succeeded, and is cancelled if it failed.
    pub fn then<O: Operation>(&mut self, op: O) -> Handle<O> {
        self.link(Link::Soft);
        self.push(op)
    }

    /// Adds `op` hard-linked after the previous op: it runs once that one
    /// has completed, whatever its result.
    pub fn hardlink<O: Operation>(&mut self, op: O) -> Handle<O> {
        self.link(Link::Hard);
        self.push(op)
    }

    fn link(&mut self, link: Link) {
        match self.entries.last_mut() {
            Some(prev) => prev.link = link,
            None => self.invalid = Some(InvalidRequest::LinkWithoutPrevious),
        }
    }

    /// Number of ops.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no ops.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The future of a submitted [`Batch`]: ready when every op has completed.
/// Dropping it cancels what is still in flight.
#[must_use = "dropping the future cancels the batch"]
pub struct BatchFuture {
    gw: Gateway,
    tickets: Vec<Ticket>,
    done: Vec<Option<Done>>,
    ops: Vec<Option<Box<dyn ErasedOp>>>,
    /// Why the batch was not submitted.
    error: Option<Error>,
}

pub(crate) fn submit(gw: &Gateway, batch: Batch) -> BatchFuture {
    let tickets = gw.alloc_tickets(batch.entries.len());
    let error = match send(gw, &batch, &tickets) {
        Ok(()) => None,
        Err(SendError { error, staged }) => {
            // The first `staged` requests are on the ring: they complete.
            for (&t, e) in tickets.iter().zip(&batch.entries).take(staged) {
                gw.abandon(t, e.op.on_abandon());
            }
            gw.release_tickets(&tickets[staged..]);
            Some(error)
        }
    };
    let n = batch.entries.len();
    BatchFuture {
        gw: gw.clone(),
        tickets,
        done: (0..n).map(|_| None).collect(),
        ops: batch.entries.into_iter().map(|e| Some(e.op)).collect(),
        error,
    }
}

fn send(gw: &Gateway, batch: &Batch, tickets: &[Ticket]) -> Result<(), SendError> {
    let subs = ready(gw, batch, tickets).map_err(SendError::none)?;
    gw.send(&subs)
}

/// Readies every op of the batch for the ring, and gives its ticket the
/// arena pages it holds.
fn ready<'b>(
    gw: &Gateway,
    batch: &'b Batch,
    tickets: &[Ticket],
) -> Result<Vec<Outgoing<'b>>, Error> {
    if let Some(e) = &batch.invalid {
        return Err(e.clone().into());
    }
    let mut subs = Vec::with_capacity(batch.entries.len());
    // The arena pages each request holds, by batch position.
    let mut placements: Vec<Option<Placement>> = Vec::new();
    let mut chain_start = 0;
    for (i, (e, t)) in batch.entries.iter().zip(tickets).enumerate() {
        let mut flags = e.flags.wire();
        match e.link {
            Link::None => {}
            Link::Soft => flags = flags | SubmissionFlags::LINK,
            Link::Hard => flags = flags | SubmissionFlags::HARDLINK,
        }
        let op = e.op.request()?;
        if let Some(plain) = Outgoing::plain(t.user_data(), flags, &op) {
            subs.push(plain);
            placements.push(None);
            if e.link == Link::None {
                chain_start = i + 1;
            }
            continue;
        }
        let mut sub = Submission::new(t.user_data(), op).with_flags(flags);
        let mut placement = gw.place(&mut sub)?;
        // An output read in place by a later member (`Buffer::Linked`, by
        // batch position until `prepare`) stays reserved until that member
        // completes too.
        if let Op::Syscall(call) = &sub.op {
            for b in &call.bufs {
                if let Buffer::Linked(l) = b
                    && let Some(Some(source)) = placements.get(usize::from(l.member))
                {
                    match &mut placement {
                        Some(p) => p.hold(source),
                        None => placement = Some(Placement::holding(source)),
                    }
                }
            }
        }
        prepare(&mut sub, i, chain_start)?;
        subs.push(Outgoing::Request(sub));
        placements.push(placement);
        if e.link == Link::None {
            chain_start = i + 1;
        }
    }
    let held: Vec<_> = tickets
        .iter()
        .zip(placements)
        .filter_map(|(&t, p)| Some((t, p.filter(Placement::holds_pages)?)))
        .collect();
    if !held.is_empty() {
        gw.attach(held);
    }
    Ok(subs)
}

impl BatchFuture {
    /// Blocks until every op has completed.
    pub fn wait(mut self) -> BatchResults {
        if self.error.is_none() {
            self.gw.wait_tickets(&self.tickets, &mut self.done);
        }
        self.finish()
    }

    /// The results, once every op is done (or the batch failed).
    fn finish(&mut self) -> BatchResults {
        let outcomes: Vec<_> = match &self.error {
            Some(e) => (0..self.ops.len()).map(|_| Some(Err(e.clone()))).collect(),
            None => self.done.iter_mut().map(|c| c.take().map(Ok)).collect(),
        };
        self.tickets.clear();
        let mut results = BatchResults {
            ops: std::mem::take(&mut self.ops),
            outcomes,
        };
        results.forget_closed();
        results
    }
}

impl Future for BatchFuture {
    type Output = BatchResults;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BatchResults> {
        let this = self.get_mut();
        if this.error.is_none()
            && this
                .gw
                .poll_tickets(&this.tickets, &mut this.done, cx.waker())
                .is_pending()
        {
            return Poll::Pending;
        }
        Poll::Ready(this.finish())
    }
}

impl Drop for BatchFuture {
    fn drop(&mut self) {
        if self.error.is_some() {
            return;
        }
        for ((&t, done), op) in self.tickets.iter().zip(&self.done).zip(&self.ops) {
            if let (None, Some(op)) = (done, op) {
                self.gw.abandon(t, op.on_abandon());
            } else if let (Some(c), Some(op)) = (done, op) {
                // Completed but never handed out: clean up what it made.
                crate::gateway::clean_up(op.on_abandon(), c);
            }
        }
    }
}

/// The outputs of a completed batch, taken by handle.
pub struct BatchResults {
    ops: Vec<Option<Box<dyn ErasedOp>>>,
    outcomes: Vec<Option<Result<Done, Error>>>,
}

impl BatchResults {
    /// Drops the ops whose descriptor a later op of the batch closed: their
    /// output is not handed out (it would own a closed descriptor) and not
    /// cleaned up (that would close it twice).
    fn forget_closed(&mut self) {
        for j in 0..self.ops.len() {
            let closed = match (&self.ops[j], &self.outcomes[j]) {
                (Some(op), Some(Ok(c))) if c.completed().is_ok_and(|c| c.result() == 0) => {
                    op.closes()
                }
                _ => None,
            };
            if let Some(Fd::Result(i)) = closed
                && let Some(op) = self.ops.get_mut(i)
            {
                *op = None;
            }
        }
    }

    /// The output of the op behind `handle`; `None` if it was taken
    /// already, if a later op of the batch closed the descriptor it opened,
    /// or if the handle belongs to another batch (of another op type).
    pub fn take<O: Operation>(&mut self, handle: Handle<O>) -> Option<O::Output> {
        let i = handle.index();
        let op = self.ops.get_mut(i)?.take()?;
        let op = match op.into_any().downcast::<O>() {
            Ok(op) => op,
            Err(_) => return None,
        };
        let outcome = self.outcomes.get_mut(i)?.take()?;
        Some(crate::gateway::complete(*op, outcome))
    }

    /// The raw completion of op `index` (result word, flags, outputs),
    /// without handing its buffers back; `None` if taken already.
    pub fn completion(&self, index: usize) -> Option<Outcome<'_>> {
        Some(match self.outcomes.get(index)?.as_ref()? {
            Ok(done) => done.completed(),
            Err(e) => Err(e.clone()),
        })
    }

    /// Number of ops in the batch.
    pub fn len(&self) -> usize {
        self.outcomes.len()
    }

    /// Whether the batch was empty.
    pub fn is_empty(&self) -> bool {
        self.outcomes.is_empty()
    }
}

impl Drop for BatchResults {
    fn drop(&mut self) {
        // Descriptors opened by ops whose output was never taken.
        for (op, outcome) in self.ops.iter().zip(&self.outcomes) {
            if let (Some(op), Some(Ok(c))) = (op, outcome) {
                crate::gateway::clean_up(op.on_abandon(), c);
            }
        }
    }
}
