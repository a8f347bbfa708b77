//! The executor's ends of the two rings: it consumes submissions and
//! produces completions.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sysgate_proto::{
    Completion, CompletionFlags, EncodeError, PLAIN_COMPLETION_LEN, PlainCompletion, codes,
    encode_completion, encode_into, encode_to_vec, peek_user_data,
};
use sysgate_ring::{CompletionPoster, Consumer, RingError, RingWaker, WaitStatus};

/// The consuming end of the submission ring.
pub(crate) struct SqReader {
    consumer: Consumer,
    /// Frames read since the space was last handed back to the producer.
    unreleased: u32,
}

impl SqReader {
    pub(crate) fn new(consumer: Consumer) -> Self {
        SqReader {
            consumer,
            unreleased: 0,
        }
    }

    /// A rough number of submissions the ring holds: its bytes over the size
    /// of a small frame. Sizes the bounded account by default.
    pub(crate) fn capacity_hint(&self) -> usize {
        (self.consumer.capacity() as usize / 128).max(1)
    }

    /// Copies the next frame into `frame`; `false` if the ring is empty.
    /// Space goes back to the producer in batches ([`SqReader::release`]),
    /// not per frame.
    pub(crate) fn pop(&mut self, frame: &mut Vec<u8>) -> Result<bool, RingError> {
        match self.consumer.read(frame)? {
            Some(_) => {
                self.unreleased += 1;
                if self.unreleased >= 64 {
                    self.release()?;
                }
                Ok(true)
            }
            None => {
                self.release()?;
                Ok(false)
            }
        }
    }

    /// Hands the space of every frame read so far back to the producer.
    pub(crate) fn release(&mut self) -> Result<(), RingError> {
        self.unreleased = 0;
        self.consumer.release()
    }

    /// Sleeps until a submission arrives, `timeout` passes, or a
    /// [`RingWaker`] wakes us. Sets NEED_WAKEUP while asleep, so producers
    /// know to wake us.
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> Result<(), RingError> {
        self.unreleased = 0;
        self.consumer.wait(timeout).map(drop)
    }

    /// [`SqReader::wait`] with a custom sleep (see
    /// `sysgate_ring::Consumer::wait_with`).
    pub(crate) fn wait_with(
        &mut self,
        sleep: impl FnOnce(&std::sync::atomic::AtomicU32, u32),
    ) -> Result<(), RingError> {
        self.unreleased = 0;
        self.consumer.wait_with(sleep).map(drop)
    }

    /// A handle another thread can use to wake [`SqReader::wait`].
    pub(crate) fn waker(&self) -> RingWaker {
        self.consumer.waker()
    }
}

/// The producing end of the completion ring, shared by the submitting
/// thread, the poller and the pool's workers.
pub(crate) struct CqWriter {
    poster: CompletionPoster,
    /// Encoding scratch, reused: a completion with outputs can be large.
    scratch: Vec<u8>,
    /// Threads asleep on the condition variable.
    waiters: usize,
    /// Threads asleep in the reactor's io_uring (see
    /// [`CompletionQueue::register_ring_waiter_unless`]).
    ring_waiters: usize,
    /// Completions that could not be posted because the ring itself is
    /// corrupt (or a completion outgrew the ring's frame limit).
    lost: u64,
    /// Completions handed to the ring (or its backlog), counted under the
    /// lock so that a waiter checking it never misses the post that raised
    /// it.
    posted: u64,
    /// A [`crate::WaitInterrupter`] asked the current or next
    /// `CompletionWaiter::wait` to return; cleared by the wait that does.
    interrupted: bool,
}

impl CqWriter {
    /// Completions posted so far, lost ones included.
    pub(crate) fn posted(&self) -> u64 {
        self.posted
    }
    /// Whether an interrupt is pending; clears it.
    pub(crate) fn take_interrupt(&mut self) -> bool {
        std::mem::take(&mut self.interrupted)
    }

    /// Completions waiting for the consumer, backlog included (moving what
    /// fits of the backlog into the ring first).
    pub(crate) fn pending(&mut self) -> usize {
        let _ = self.poster.flush();
        self.poster.producer().unconsumed_frames() as usize + self.poster.backlog_len()
    }
}

/// A [`CqWriter`] behind a lock, with a condition variable for `enter`'s
/// waits.
pub(crate) struct CompletionQueue {
    writer: Mutex<CqWriter>,
    posted: Condvar,
}

impl CompletionQueue {
    pub(crate) fn new(poster: CompletionPoster) -> Self {
        CompletionQueue {
            writer: Mutex::new(CqWriter {
                poster,
                scratch: Vec::new(),
                waiters: 0,
                ring_waiters: 0,
                lost: 0,
                posted: 0,
                interrupted: false,
            }),
            posted: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, CqWriter> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Encodes `c` and appends it to the ring (or, when the ring is full, to
    /// the ordered backlog); wakes a sleeping consumer and any `enter`
    /// waiting for completions.
    /// Returns whether a thread waits in the reactor's ring and needs a
    /// wake-up there.
    pub(crate) fn post(&self, c: &Completion<'_>) -> bool {
        let mut w = self.lock();
        let w = &mut *w;
        let encoded = encode_at(c, &mut w.scratch, 0);
        let posted = encoded.ok().map(|len| w.poster.post(&w.scratch[..len]));
        if !matches!(posted, Some(Ok(_))) {
            // Too large for a frame: the stand-in has no outputs.
            let small = too_large(c.user_data);
            if w.poster.post(small.as_slice()).is_err() {
                w.lost += 1;
            }
        }
        w.posted += 1;
        if w.waiters > 0 {
            self.posted.notify_all();
        }
        w.ring_waiters > 0
    }

    /// Hands a batch of locally encoded completions to the ring: one lock,
    /// one publish, at most one wake-up.
    /// Returns whether a thread waits in the reactor's ring.
    pub(crate) fn post_batch(&self, batch: &mut CompletionBatch) -> bool {
        if batch.ends.is_empty() {
            return false;
        }
        let mut w = self.lock();
        w.posted += batch.ends.len() as u64;
        let mut start = 0;
        for &end in &batch.ends {
            let frame = &batch.frames[start..end];
            if w.poster.stage(frame).is_err() {
                let user_data = peek_user_data(frame).unwrap_or(codes::UNKNOWN_USER_DATA);
                if w.poster.stage(too_large(user_data).as_slice()).is_err() {
                    w.lost += 1;
                }
            }
            start = end;
        }
        // An error here means the frames are in the ring but the wake-up
        // failed; the consumer still finds them on its next look.
        let _ = w.poster.publish();
        if w.waiters > 0 {
            self.posted.notify_all();
        }
        let ring_waiter = w.ring_waiters > 0;
        drop(w);
        batch.frames.clear();
        batch.ends.clear();
        ring_waiter
    }

    /// Registers the caller as about to sleep in the reactor's ring, unless
    /// `done` already holds — checked under the lock, so a completion posted
    /// after the check sees the registration and wakes the ring. Returns
    /// whether it registered.
    pub(crate) fn register_ring_waiter_unless(
        &self,
        done: impl FnOnce(&mut CqWriter) -> bool,
    ) -> bool {
        let mut w = self.lock();
        if done(&mut w) {
            return false;
        }
        w.ring_waiters += 1;
        true
    }

    /// Undoes [`CompletionQueue::register_ring_waiter_unless`].
    pub(crate) fn unregister_ring_waiter(&self) {
        self.lock().ring_waiters -= 1;
    }

    /// Sets the interrupt flag (see [`CqWriter::take_interrupt`]) and wakes
    /// the condition-variable sleepers to see it — under the lock, so a
    /// waiter that checked the flag before is already asleep and gets the
    /// notification. Returns whether a thread waits in the reactor's ring
    /// and needs a wake-up there.
    pub(crate) fn interrupt(&self) -> bool {
        let mut w = self.lock();
        w.interrupted = true;
        if w.waiters > 0 {
            self.posted.notify_all();
        }
        w.ring_waiters > 0
    }

    /// Wakes the condition-variable sleepers to look again (something they
    /// wait on changed: a request was parked).
    pub(crate) fn notify_waiters(&self) {
        let _w = self.lock();
        self.posted.notify_all();
    }

    /// Moves backlog entries into the ring as space allows.
    pub(crate) fn flush(&self) {
        let _ = self.lock().poster.flush();
    }

    /// At shutdown, nothing else posts: moves the whole backlog into the
    /// ring as the consumer makes room. Waits as long as the consumer keeps
    /// taking completions; one that takes none for `patience` (gone, or it
    /// is the thread dropping the executor) gets the rest counted as lost.
    pub(crate) fn drain_backlog(&self, patience: Duration) {
        let mut w = self.lock();
        loop {
            let left = match w.poster.flush() {
                Ok(0) => return,
                Ok(left) => left,
                // A corrupt ring: nothing more can reach the consumer.
                Err(_) => w.poster.backlog_len(),
            };
            match w.poster.wait_for_space(Some(patience)) {
                Ok(WaitStatus::Ready | WaitStatus::Spurious) => {}
                Ok(WaitStatus::TimedOut) | Err(_) => {
                    w.lost += left as u64;
                    return;
                }
            }
        }
    }

    /// Completions posted so far (see [`CqWriter::posted`]).
    pub(crate) fn posted(&self) -> u64 {
        self.lock().posted
    }

    /// Completions that could not be posted at all.
    pub(crate) fn lost(&self) -> u64 {
        self.lock().lost
    }

    /// Sleeps on the posting condition variable until `done` holds (checked
    /// under the lock, so no post is missed) or `timeout` passes.
    pub(crate) fn wait_until(
        &self,
        timeout: Option<Duration>,
        mut done: impl FnMut(&mut CqWriter) -> bool,
    ) -> bool {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut w = self.lock();
        while !done(&mut w) {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                return false;
            }
            w.waiters += 1;
            w = match left {
                None => self.posted.wait(w).unwrap_or_else(|e| e.into_inner()),
                Some(left) => {
                    self.posted
                        .wait_timeout(w, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
            w.waiters -= 1;
        }
        true
    }
}

/// Encodes `c` into `buf` from byte `start` on, growing `buf` as needed
/// (64 bytes fit a completion without outputs); returns its length. Bytes
/// past the completion may be left in `buf`.
/// The completion posted instead of one too large for a frame.
fn too_large(user_data: u64) -> Vec<u8> {
    let c = Completion::new(
        user_data,
        codes::OUTPUT_TOO_LARGE,
        CompletionFlags::PROTOCOL_ERROR,
    );
    encode_to_vec(&c).unwrap_or_default()
}

fn encode_at(c: &Completion<'_>, buf: &mut Vec<u8>, start: usize) -> Result<usize, EncodeError> {
    if buf.len() < start + 64 {
        buf.resize(start + 64, 0);
    }
    match encode_into(c, &mut buf[start..]) {
        Err(EncodeError::BufferTooSmall { needed }) => {
            buf.resize(start + needed, 0);
            encode_into(c, &mut buf[start..])
        }
        other => other,
    }
}

/// Completions produced on one thread during one pass over the submission
/// ring, encoded locally and handed over with
/// [`CompletionQueue::post_batch`].
#[derive(Default)]
pub(crate) struct CompletionBatch {
    frames: Vec<u8>,
    ends: Vec<usize>,
}

impl CompletionBatch {
    /// Encodes `c` onto the batch.
    pub(crate) fn push(&mut self, c: &Completion<'_>) {
        let start = self.frames.len();
        let encoded = encode_at(c, &mut self.frames, start);
        match encoded {
            Ok(len) => {
                self.frames.truncate(start + len);
                self.ends.push(start + len);
            }
            Err(_) => {
                // Beyond the protocol's size limit: a stand-in without
                // outputs (which always fits).
                self.frames.truncate(start);
                self.frames.extend_from_slice(&too_large(c.user_data));
                self.ends.push(self.frames.len());
            }
        }
    }

    /// Encodes a completion without outputs onto the batch.
    pub(crate) fn push_plain(&mut self, user_data: u64, result: i64, flags: CompletionFlags) {
        let start = self.frames.len();
        self.frames.resize(start + PLAIN_COMPLETION_LEN, 0);
        let c = PlainCompletion {
            user_data,
            result,
            flags,
        };
        // Cannot fail: the room was just made.
        let _ = c.encode(&mut self.frames[start..]);
        self.ends.push(self.frames.len());
    }

    /// Encodes a completion with these outputs onto the batch.
    pub(crate) fn push_outputs<'o>(
        &mut self,
        user_data: u64,
        result: i64,
        flags: CompletionFlags,
        outputs: impl Iterator<Item = &'o [u8]> + Clone,
    ) {
        let head = PlainCompletion {
            user_data,
            result,
            flags,
        };
        if encode_completion(head, outputs, &mut self.frames).is_err() {
            // Beyond the protocol's size limit: a stand-in without outputs.
            self.frames.extend_from_slice(&too_large(user_data));
        }
        self.ends.push(self.frames.len());
    }

    /// How many completions wait in the batch.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }
}
