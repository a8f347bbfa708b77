//! The completion side: a CQ producer with an ordered overflow backlog.

use std::collections::VecDeque;
use std::time::Duration;

use crate::error::{PushError, RingError, WaitStatus};
use crate::layout::flags;
use crate::ring::Producer;
use crate::shim::Ordering;

/// Why [`CompletionPoster::post`] refused a completion. The completion is
/// handed back; nothing was queued.
#[non_exhaustive]
pub enum PostError<F> {
    /// The completion exceeds the region's maximum frame.
    TooLarge {
        /// The completion.
        frame: F,
        /// The maximum frame size.
        max: u32,
    },
    /// The CQ consumer's head is corrupt.
    Corrupt {
        /// The completion.
        frame: F,
        /// What is wrong.
        error: RingError,
    },
}

impl<F> PostError<F> {
    /// The completion that was not posted.
    pub fn into_frame(self) -> F {
        match self {
            PostError::TooLarge { frame, .. } | PostError::Corrupt { frame, .. } => frame,
        }
    }
}

impl<F: AsRef<[u8]>> std::fmt::Debug for PostError<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PostError::TooLarge { frame, max } => write!(
                f,
                "TooLarge {{ frame: {} bytes, max: {max} }}",
                frame.as_ref().len()
            ),
            PostError::Corrupt { frame, error } => write!(
                f,
                "Corrupt {{ frame: {} bytes, error: {error:?} }}",
                frame.as_ref().len()
            ),
        }
    }
}

impl<F: AsRef<[u8]>> std::fmt::Display for PostError<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PostError::TooLarge { frame, max } => write!(
                f,
                "completion of {} bytes exceeds the maximum frame of {max} bytes",
                frame.as_ref().len()
            ),
            PostError::Corrupt { error, .. } => write!(f, "completion not posted: {error}"),
        }
    }
}

impl<F: AsRef<[u8]>> std::error::Error for PostError<F> {}

/// Where [`CompletionPoster::post`] put a completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Posted {
    /// Into the CQ, published.
    Ring,
    /// Into the backlog (the CQ was full, or older completions were still
    /// waiting); it reaches the CQ, in order, through
    /// [`flush`](CompletionPoster::flush).
    Backlog,
}

/// The completion side of a region: the CQ [`Producer`] plus an ordered
/// backlog, so that posting a completion never fails for lack of space.
///
/// When the CQ is full, completions queue in the backlog and the shared
/// `CQ_OVERFLOW` flag is set (the submit side sees it through
/// [`Region::cq_overflow`](crate::Region::cq_overflow)); [`flush`]
/// moves them into the CQ in order as space frees, and clears the flag when
/// the backlog is empty. A completion is never dropped and never overtakes an
/// older one. The backlog is unbounded: the submit side is expected to stop
/// submitting while `CQ_OVERFLOW` is set.
///
/// `Send`; wrap it in a `Mutex` to post from several threads.
///
/// [`flush`]: CompletionPoster::flush
pub struct CompletionPoster {
    producer: Producer,
    backlog: VecDeque<Vec<u8>>,
    overflowed: u64,
}

impl std::fmt::Debug for CompletionPoster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompletionPoster")
            .field("producer", &self.producer)
            .field("backlog", &self.backlog.len())
            .field("overflowed", &self.overflowed)
            .finish()
    }
}

impl CompletionPoster {
    /// `CompletionPoster::new(cq_producer)` — wraps the CQ producer (from
    /// [`Region::cq_producer`](crate::Region::cq_producer)).
    pub fn new(producer: Producer) -> CompletionPoster {
        CompletionPoster {
            producer,
            backlog: VecDeque::new(),
            overflowed: 0,
        }
    }

    /// `poster.post(frame)` — appends a completion: into the CQ (published at
    /// once, waking a sleeping consumer) if the backlog is empty after a
    /// [`flush`](CompletionPoster::flush) and it fits, else to the end of the
    /// backlog (copied into a `Vec` only then), setting `CQ_OVERFLOW`.
    ///
    /// Errors (the completion is handed back, nothing is queued):
    /// [`PostError::TooLarge`], [`PostError::Corrupt`].
    pub fn post<F: AsRef<[u8]> + Into<Vec<u8>>>(
        &mut self,
        frame: F,
    ) -> Result<Posted, PostError<F>> {
        let posted = self.append(frame, true)?;
        Ok(posted)
    }

    /// `poster.stage(frame)` — like [`post`](CompletionPoster::post), but a
    /// completion that goes into the ring stays invisible until
    /// [`publish`](CompletionPoster::publish): a batch of completions costs
    /// one `Release` store (and at most one wake-up).
    pub fn stage<F: AsRef<[u8]> + Into<Vec<u8>>>(
        &mut self,
        frame: F,
    ) -> Result<Posted, PostError<F>> {
        self.append(frame, false)
    }

    /// `poster.publish()` — makes every staged completion visible, waking a
    /// sleeping consumer.
    pub fn publish(&mut self) -> Result<(), RingError> {
        self.producer.publish()
    }

    fn append<F: AsRef<[u8]> + Into<Vec<u8>>>(
        &mut self,
        frame: F,
        publish: bool,
    ) -> Result<Posted, PostError<F>> {
        let max = self.producer.max_frame();
        if frame.as_ref().len() > max as usize {
            return Err(PostError::TooLarge { frame, max });
        }
        if !self.backlog.is_empty()
            && let Err(error) = self.flush()
        {
            return Err(PostError::Corrupt { frame, error });
        }
        if self.backlog.is_empty() {
            let pushed = if publish {
                self.producer.push(frame)
            } else {
                self.producer.stage(frame)
            };
            match pushed {
                Ok(()) => return Ok(Posted::Ring),
                Err(PushError::Full(frame)) => self.enqueue(frame.into()),
                Err(PushError::TooLarge { frame, max }) => {
                    return Err(PostError::TooLarge { frame, max });
                }
                Err(PushError::Corrupt { frame, error }) => {
                    return Err(PostError::Corrupt { frame, error });
                }
                // The frame is in the ring; only the wake-up failed. The
                // consumer still finds it on its next look.
                Err(PushError::WakeFailed(_)) => return Ok(Posted::Ring),
            }
        } else {
            self.enqueue(frame.into());
        }
        Ok(Posted::Backlog)
    }

    fn enqueue(&mut self, frame: Vec<u8>) {
        if self.backlog.is_empty() {
            // Release: pairs with the Acquire load in `Region::cq_overflow`.
            self.producer
                .view_flags()
                .fetch_or(flags::CQ_OVERFLOW, Ordering::Release);
        }
        self.backlog.push_back(frame);
        self.overflowed += 1;
    }

    /// `poster.flush()` — moves backlog entries into the CQ, oldest first, as
    /// far as they fit, publishes them (waking a sleeping consumer), and
    /// clears `CQ_OVERFLOW` once the backlog is empty. Returns how many
    /// completions are still in the backlog.
    ///
    /// Errors: a corrupt CQ head, or a futex error while waking.
    pub fn flush(&mut self) -> Result<usize, RingError> {
        if self.backlog.is_empty() {
            return Ok(0);
        }
        while let Some(front) = self.backlog.front() {
            match self.producer.stage(front.as_slice()) {
                Ok(()) => {
                    self.backlog.pop_front();
                }
                Err(PushError::Full(_)) => break,
                Err(PushError::Corrupt { error, .. }) => {
                    self.producer.publish()?;
                    return Err(error);
                }
                // Checked when it entered the backlog; the maximum does not
                // change.
                Err(PushError::TooLarge { .. } | PushError::WakeFailed(_)) => break,
            }
        }
        self.producer.publish()?;
        if self.backlog.is_empty() {
            // Release: pairs with the Acquire load in `Region::cq_overflow`;
            // the completions published above happen before the clear.
            self.producer
                .view_flags()
                .fetch_and(!flags::CQ_OVERFLOW, Ordering::Release);
        }
        Ok(self.backlog.len())
    }

    /// `poster.wait_for_space(timeout)` — sleeps until the oldest backlog
    /// entry fits in the CQ (returns [`WaitStatus::Ready`] at once if the
    /// backlog is empty), the timeout passes, or the sleep ends for another
    /// reason; then call [`flush`](CompletionPoster::flush).
    ///
    /// Errors: a corrupt CQ head, or a futex error.
    pub fn wait_for_space(&mut self, timeout: Option<Duration>) -> Result<WaitStatus, RingError> {
        match self.backlog.front() {
            None => Ok(WaitStatus::Ready),
            Some(front) => {
                let len = front.len();
                self.producer.wait_for_space(len, timeout)
            }
        }
    }

    /// How many completions wait in the backlog.
    pub fn backlog_len(&self) -> usize {
        self.backlog.len()
    }

    /// How many completions have gone through the backlog since creation.
    pub fn overflowed(&self) -> u64 {
        self.overflowed
    }

    /// The wrapped CQ producer.
    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// Unwraps the CQ producer, handing back whatever is still in the backlog.
    pub fn into_parts(self) -> (Producer, VecDeque<Vec<u8>>) {
        (self.producer, self.backlog)
    }
}
