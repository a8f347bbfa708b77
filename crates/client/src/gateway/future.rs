//! The future of one submitted op.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::completed::Done;
use crate::error::Error;
use crate::op::Operation;

use super::Gateway;
use super::slots::{RequestId, Ticket};

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
    pub(super) gw: Gateway,
    pub(super) ticket: Ticket,
    pub(super) op: Option<O>,
    pub(super) error: Option<Error>,
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
