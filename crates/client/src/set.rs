//! Many ops in flight, taken as they complete.

use std::collections::HashMap;
use std::future::poll_fn;
use std::sync::Arc;

use crate::completed::Done;
use crate::error::Error;
use crate::gateway::{Gateway, Group, Ticket};
use crate::op::{Flags, Operation};

/// A set of ops in flight on one gateway, yielding each op's output as it
/// completes — for streams of requests with a number kept in flight
/// (what `FuturesUnordered` or a `JoinSet` would do, without a poll of every
/// member on each wake-up: completions are routed to the set as they are
/// reaped). Dropping the set cancels what is still in flight.
///
/// ```
/// use std::time::Duration;
/// use sysgate::{Gateway, OpSet, ops};
/// let gw = Gateway::new()?;
/// let mut set = OpSet::new(&gw);
/// for ms in [30, 10, 20] {
///     set.push(ops::Timeout::new(Duration::from_millis(ms)))?;
/// }
/// let order: Vec<usize> = std::iter::from_fn(|| set.wait_next()).map(|(key, _)| key).collect();
/// assert_eq!(order, [1, 2, 0]);
/// # Ok::<(), sysgate::Error>(())
/// ```
pub struct OpSet<O: Operation> {
    gw: Gateway,
    group: Arc<Group>,
    /// The ops in flight, by `user_data`, with the key `push` returned.
    ops: HashMap<u64, (usize, O)>,
    next_key: usize,
}

impl<O: Operation> OpSet<O> {
    /// An empty set on `gw`.
    pub fn new(gw: &Gateway) -> Self {
        OpSet {
            gw: gw.clone(),
            group: Arc::default(),
            ops: HashMap::new(),
            next_key: 0,
        }
    }

    /// Submits `op` now (a call that cannot block has run when this
    /// returns) and returns its key: 0, 1, 2, … in push order. On an error
    /// nothing was submitted.
    pub fn push(&mut self, op: O) -> Result<usize, Error> {
        self.push_with(op, Flags::NONE)
    }

    /// [`OpSet::push`] with options.
    pub fn push_with(&mut self, op: O, flags: Flags) -> Result<usize, Error> {
        let ticket = self.gw.submit_grouped(&op, flags, &self.group)?;
        let key = self.next_key;
        self.next_key += 1;
        self.ops.insert(ticket.user_data(), (key, op));
        Ok(key)
    }

    /// Ops in flight or completed and not yet taken.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the set holds no op.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The next op to complete, with its key; `None` once the set is empty.
    pub async fn next(&mut self) -> Option<(usize, O::Output)> {
        if self.ops.is_empty() {
            return None;
        }
        let c = poll_fn(|cx| self.gw.poll_group(&self.group, cx.waker(), true)).await;
        self.finish(c)
    }

    /// [`OpSet::next`], blocking this thread (which waits in the executor
    /// itself when nobody else does).
    pub fn wait_next(&mut self) -> Option<(usize, O::Output)> {
        if self.ops.is_empty() {
            return None;
        }
        let c = self.gw.wait_group(&self.group);
        self.finish(c)
    }

    fn finish(&mut self, c: Done) -> Option<(usize, O::Output)> {
        // Every completion routed here belongs to one of our ops.
        let (key, op) = self.ops.remove(&c.user_data())?;
        Some((key, crate::gateway::complete(op, Ok(c))))
    }
}

impl<O: Operation> Drop for OpSet<O> {
    fn drop(&mut self) {
        let done: Vec<_> = self.group.lock().done.drain(..).collect();
        // Their arena pages, if any, are released as they drop.
        for (c, _) in done {
            if let Some((_, op)) = self.ops.remove(&c.user_data()) {
                crate::gateway::clean_up(op.on_abandon(), &c);
            }
        }
        for (user_data, (_, op)) in self.ops.drain() {
            self.gw
                .abandon(Ticket::from_user_data(user_data), op.on_abandon());
        }
    }
}

impl<O: Operation> std::fmt::Debug for OpSet<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpSet")
            .field("len", &self.ops.len())
            .finish()
    }
}
