//! The SPSC byte-frame ring: [`Producer`] and [`Consumer`] handles.
//!
//! # Protocol
//!
//! The producer owns the tail, the consumer owns the head; each keeps its own
//! index locally (the shared copy is only ever written by its owner, and
//! never read back by it) and a cached copy of the other side's index, which
//! it refreshes only when the cached value says "full" or "empty".
//!
//! - Publishing data: the producer writes records, then stores the tail with
//!   `Release`; the consumer loads the tail with `Acquire` before reading
//!   those records.
//! - Returning space: the consumer copies records out, then stores the head
//!   with `Release`; the producer loads the head with `Acquire` before
//!   overwriting that space.
//! - Sleeping (NEED_WAKEUP): a sleeper sets its bit in the flags word, issues
//!   a `SeqCst` fence, re-reads the index it waits on, and only then sleeps on
//!   the futex with the value it read. The waker stores its index, issues a
//!   `SeqCst` fence, then reads the flags and calls `FUTEX_WAKE` only if the
//!   bit is set. The two fences forbid the outcome in which the sleeper
//!   misses the new index *and* the waker misses the bit (store-buffering
//!   litmus test), and the kernel's compare-and-sleep closes the remaining
//!   window, so no wake-up is lost.

use std::ptr::NonNull;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{FutexOp, IndexKind, PushError, RingError, RingId, WaitStatus};
use crate::layout::{self, FRAME_TAG, RECORD_HEADER_BYTES, SKIP_TAG, flags};
use crate::region::Mapping;
use crate::shim::{AtomicU32, DataWord, FutexWait, Ordering, WaitQueue, fence};

/// One ring as seen from one handle: pointers into the mapping plus the
/// mapping itself, which keeps them valid.
pub(crate) struct RingView {
    ring: RingId,
    head: NonNull<AtomicU32>,
    tail: NonNull<AtomicU32>,
    /// Frames consumed, beside the head.
    consumed: NonNull<AtomicU32>,
    /// Frames published, beside the tail.
    published: NonNull<AtomicU32>,
    flags: NonNull<AtomicU32>,
    data: NonNull<DataWord>,
    capacity: u32,
    max_frame: u32,
    map: Arc<Mapping>,
}

// SAFETY: the pointers address the mapping owned by `map`, which is
// `Send + Sync`; every word they reach is an atomic (or a loom-checked cell).
unsafe impl Send for RingView {}

impl RingView {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        ring: RingId,
        head: NonNull<AtomicU32>,
        tail: NonNull<AtomicU32>,
        consumed: NonNull<AtomicU32>,
        published: NonNull<AtomicU32>,
        flags: NonNull<AtomicU32>,
        data: NonNull<DataWord>,
        capacity: u32,
        max_frame: u32,
        map: Arc<Mapping>,
    ) -> RingView {
        debug_assert!(capacity.is_power_of_two() && capacity >= layout::MIN_RING_BYTES);
        RingView {
            ring,
            head,
            tail,
            consumed,
            published,
            flags,
            data,
            capacity,
            max_frame,
            map,
        }
    }

    #[inline(always)]
    fn consumed_frames(&self) -> &AtomicU32 {
        // SAFETY: points into the mapping that `self.map` keeps alive.
        unsafe { self.consumed.as_ref() }
    }

    #[inline(always)]
    fn published_frames(&self) -> &AtomicU32 {
        // SAFETY: points into the mapping that `self.map` keeps alive.
        unsafe { self.published.as_ref() }
    }

    #[inline(always)]
    fn head(&self) -> &AtomicU32 {
        // SAFETY: points into the mapping that `self.map` keeps alive.
        unsafe { self.head.as_ref() }
    }

    #[inline(always)]
    fn tail(&self) -> &AtomicU32 {
        // SAFETY: points into the mapping that `self.map` keeps alive.
        unsafe { self.tail.as_ref() }
    }

    #[inline(always)]
    fn flags(&self) -> &AtomicU32 {
        // SAFETY: points into the mapping that `self.map` keeps alive.
        unsafe { self.flags.as_ref() }
    }

    #[inline(always)]
    fn data(&self) -> &[DataWord] {
        // SAFETY: the ring's `capacity` bytes (capacity / 8 words, 8-aligned)
        // lie inside the mapping that `self.map` keeps alive.
        unsafe { std::slice::from_raw_parts(self.data.as_ptr(), (self.capacity / 8) as usize) }
    }

    fn waits(&self) -> &WaitQueue {
        &self.map.waits
    }

    fn mask(&self) -> u32 {
        self.capacity - 1
    }

    /// Flag bit of a consumer asleep on this ring's tail.
    fn data_wait_bit(&self) -> u32 {
        match self.ring {
            RingId::Sq => flags::SQ_NEED_WAKEUP,
            RingId::Cq => flags::CQ_NEED_WAKEUP,
        }
    }

    /// Flag bit of a producer asleep on this ring's head.
    fn space_wait_bit(&self) -> u32 {
        match self.ring {
            RingId::Sq => flags::SQ_SPACE_WAIT,
            RingId::Cq => flags::CQ_SPACE_WAIT,
        }
    }

    /// Checks an index the peer published against ours: aligned, and
    /// `tail - head` within the capacity. Returns `tail - head`.
    #[inline(always)]
    fn check(&self, peer: IndexKind, head: u32, tail: u32) -> Result<u32, RingError> {
        let value = match peer {
            IndexKind::Head => head,
            IndexKind::Tail => tail,
        };
        let used = tail.wrapping_sub(head);
        if !value.is_multiple_of(layout::RECORD_ALIGN as u32) || used > self.capacity {
            return Err(self.index_error(peer, head, tail));
        }
        Ok(used)
    }

    #[cold]
    #[inline(never)]
    fn index_error(&self, peer: IndexKind, head: u32, tail: u32) -> RingError {
        let value = match peer {
            IndexKind::Head => head,
            IndexKind::Tail => tail,
        };
        if !value.is_multiple_of(layout::RECORD_ALIGN as u32) {
            RingError::MisalignedIndex {
                ring: self.ring,
                index: peer,
                value,
            }
        } else {
            RingError::IndexOutOfRange {
                ring: self.ring,
                index: peer,
                head,
                tail,
                capacity: self.capacity,
            }
        }
    }

    /// Moves our index (`index`, the tail of a producer or the head of a
    /// consumer) to `value` with a Release store, records the frame count
    /// for the peer's statistics, and wakes the peer if it sleeps on that
    /// index (its `wait_bit` set). Returns whether it woke the peer.
    ///
    /// The NEED_WAKEUP protocol: the peer sets its bit, then re-reads our
    /// index, then sleeps; we store the index, then read the bit. A SeqCst
    /// fence on each side, between the two steps, makes it impossible for
    /// both to miss each other (either the peer sees our index, or we see
    /// its bit).
    #[inline(always)]
    fn advance(
        &self,
        index: &AtomicU32,
        value: u32,
        count: &AtomicU32,
        frames: u32,
        wait_bit: u32,
    ) -> Result<bool, RingError> {
        index.store(value, Ordering::Release);
        // Relaxed: a count for `unconsumed_frames`, never used to address
        // memory; the fence below orders it before any wake-up.
        count.store(frames, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        // Relaxed: ordered by the fence above.
        if self.flags().load(Ordering::Relaxed) & wait_bit == 0 {
            return Ok(false);
        }
        self.wake(index).map(|()| true)
    }

    #[cold]
    #[inline(never)]
    fn wake(&self, word: &AtomicU32) -> Result<(), RingError> {
        self.waits().wake(word).map_err(|errno| RingError::Futex {
            ring: self.ring,
            op: FutexOp::Wake,
            errno,
        })
    }

    fn sleep(
        &self,
        word: &AtomicU32,
        expected: u32,
        timeout: Option<Duration>,
    ) -> Result<FutexWait, RingError> {
        self.waits()
            .wait(word, expected, timeout)
            .map_err(|errno| RingError::Futex {
                ring: self.ring,
                op: FutexOp::Wait,
                errno,
            })
    }
}

/// Bytes a frame of `len` needs at ring position `pos`: its record, plus a
/// skip record to the end of the ring when the record would not fit before it.
#[inline(always)]
fn bytes_needed(capacity: u32, pos: u32, len: usize) -> (u32, u32) {
    let record = layout::record_bytes(len) as u32;
    let to_end = capacity - pos;
    if record <= to_end {
        (record, record)
    } else {
        (record, to_end + record)
    }
}

/// The writing end of one ring (single producer).
///
/// Frames are staged with [`stage`](Producer::stage) and become visible to the
/// consumer together at [`publish`](Producer::publish): one `Release` store
/// per batch. [`push`](Producer::push) does both. Publishing wakes the
/// consumer if — and only if — it is asleep (NEED_WAKEUP set); otherwise it
/// makes no syscall.
pub struct Producer {
    view: RingView,
    /// Our tail, including staged frames; authoritative.
    tail: u32,
    /// The tail last stored to shared memory.
    published: u32,
    /// The consumer's head as last loaded.
    cached_head: u32,
    /// Frames staged or published, ever; stored beside the tail at publish.
    frames: u32,
    wakes: u64,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("ring", &self.view.ring)
            .field("tail", &self.tail)
            .field("published", &self.published)
            .field("cached_head", &self.cached_head)
            .finish()
    }
}

impl Producer {
    pub(crate) fn new(view: RingView) -> Result<Producer, RingError> {
        // Acquire: pairs with the Release store of a producer that wrote this
        // tail before (in this or another process).
        let tail = view.tail().load(Ordering::Acquire);
        // Acquire: pairs with the consumer's Release store of the head.
        let head = view.head().load(Ordering::Acquire);
        if !tail.is_multiple_of(layout::RECORD_ALIGN as u32) {
            return Err(RingError::MisalignedIndex {
                ring: view.ring,
                index: IndexKind::Tail,
                value: tail,
            });
        }
        view.check(IndexKind::Head, head, tail)?;
        // Relaxed: a count, never used to address memory.
        let frames = view.published_frames().load(Ordering::Relaxed);
        Ok(Producer {
            view,
            tail,
            published: tail,
            cached_head: head,
            frames,
            wakes: 0,
        })
    }

    /// Which ring this handle writes.
    pub fn ring(&self) -> RingId {
        self.view.ring
    }

    /// The ring's capacity in bytes.
    pub fn capacity(&self) -> u32 {
        self.view.capacity
    }

    /// The largest frame this ring accepts.
    pub fn max_frame(&self) -> u32 {
        self.view.max_frame
    }

    /// How many times this handle has called `FUTEX_WAKE` (only ever when the
    /// consumer had announced it was going to sleep).
    pub fn wakes(&self) -> u64 {
        self.wakes
    }

    /// The shared flags word.
    pub(crate) fn view_flags(&self) -> &AtomicU32 {
        self.view.flags()
    }

    /// Frames published (not merely staged) that the consumer has not
    /// released yet: how many completions wait on a CQ. Only a count — a
    /// corrupt peer can make it wrong, never unsafe.
    pub fn unconsumed_frames(&self) -> u32 {
        // Relaxed: a count; see above.
        let consumed = self.view.consumed_frames().load(Ordering::Relaxed);
        let published = self.view.published_frames().load(Ordering::Relaxed);
        published.wrapping_sub(consumed).min(self.view.capacity / 8)
    }

    /// Reloads the consumer's head and checks it.
    #[inline(always)]
    fn refresh_head(&mut self) -> Result<(), RingError> {
        // Acquire: pairs with the Release store of the head in
        // `Consumer::release`: the consumer's copies out of the space it
        // returns happen before we overwrite it.
        let head = self.view.head().load(Ordering::Acquire);
        self.view.check(IndexKind::Head, head, self.tail)?;
        self.cached_head = head;
        Ok(())
    }

    /// Whether `need` more bytes fit, refreshing the head if the cache says no.
    #[inline(always)]
    fn fits(&mut self, need: u32) -> Result<bool, RingError> {
        let free = |p: &Self| p.view.capacity - p.tail.wrapping_sub(p.cached_head);
        if need <= free(self) {
            return Ok(true);
        }
        self.refresh_head()?;
        Ok(need <= free(self))
    }

    /// `producer.stage(frame)` — writes `frame` into the ring without making
    /// it visible; [`publish`](Producer::publish) makes every staged frame
    /// visible at once. Staged frames take space immediately.
    ///
    /// Errors (each hands the frame back): [`PushError::TooLarge`] if it
    /// exceeds the maximum frame, [`PushError::Full`] if there is no room now,
    /// [`PushError::Corrupt`] if the consumer's head is corrupt.
    #[inline(always)]
    pub fn stage<F: AsRef<[u8]>>(&mut self, frame: F) -> Result<(), PushError<F>> {
        let bytes = frame.as_ref();
        let len = bytes.len();
        if len > self.view.max_frame as usize {
            return Err(PushError::TooLarge {
                frame,
                max: self.view.max_frame,
            });
        }
        let mut pos = self.tail & self.view.mask();
        let (record, need) = bytes_needed(self.view.capacity, pos, len);
        match self.fits(need) {
            Ok(true) => {}
            Ok(false) => return Err(PushError::Full(frame)),
            Err(error) => return Err(PushError::Corrupt { frame, error }),
        }
        let data = self.view.data();
        if need != record {
            // The record does not fit before the end: pad with a skip record.
            let pad = self.view.capacity - pos;
            data[(pos / 8) as usize].store(layout::record_header(
                SKIP_TAG,
                pad - RECORD_HEADER_BYTES as u32,
            ));
            self.tail = self.tail.wrapping_add(pad);
            pos = 0;
        }
        let first = (pos / 8) as usize;
        data[first].store(layout::record_header(FRAME_TAG, len as u32));
        copy_in(bytes, &data[first + 1..first + record as usize / 8]);
        self.tail = self.tail.wrapping_add(record);
        self.frames = self.frames.wrapping_add(1);
        Ok(())
    }

    /// `producer.publish()` — makes every staged frame visible (one `Release`
    /// store of the tail) and, if the consumer is asleep, wakes it with
    /// `FUTEX_WAKE`. Does nothing if nothing is staged.
    ///
    /// Errors: [`RingError::Futex`] if the wake failed (the frames are
    /// published regardless).
    #[inline]
    pub fn publish(&mut self) -> Result<(), RingError> {
        if self.tail == self.published {
            return Ok(());
        }
        // Release (in `advance`): pairs with the Acquire loads of the tail
        // in `Consumer::refresh_tail` and `Consumer::wait`: the staged
        // records happen before the consumer reads them.
        self.published = self.tail;
        let view = &self.view;
        let woke = view.advance(
            view.tail(),
            self.tail,
            view.published_frames(),
            self.frames,
            view.data_wait_bit(),
        )?;
        self.wakes += u64::from(woke);
        Ok(())
    }

    /// `producer.push(frame)` — [`stage`](Producer::stage) then
    /// [`publish`](Producer::publish).
    ///
    /// Errors: as `stage`, plus [`PushError::WakeFailed`] if the frame was
    /// published but the consumer could not be woken.
    #[inline(always)]
    pub fn push<F: AsRef<[u8]>>(&mut self, frame: F) -> Result<(), PushError<F>> {
        self.stage(frame)?;
        self.publish().map_err(PushError::WakeFailed)
    }

    /// `producer.has_room(len)` — whether a frame of `len` bytes fits now
    /// (refreshing the consumer's head if needed).
    ///
    /// Errors: [`RingError::FrameExceedsMax`] if it never can; a corrupt
    /// head.
    pub fn has_room(&mut self, len: usize) -> Result<bool, RingError> {
        if len > self.view.max_frame as usize {
            return Err(RingError::FrameExceedsMax {
                ring: self.view.ring,
                len,
                max: self.view.max_frame,
            });
        }
        let pos = self.tail & self.view.mask();
        let (_, need) = bytes_needed(self.view.capacity, pos, len);
        self.fits(need)
    }

    /// `producer.wait_for_space(len, timeout)` — publishes what is staged,
    /// then sleeps on the head futex until a frame of `len` bytes fits, the
    /// timeout passes, or the sleep ends for another reason. The consumer's
    /// [`release`](Consumer::release) wakes it. `None` waits without limit.
    ///
    /// Errors: [`RingError::FrameExceedsMax`], a corrupt head, or a futex
    /// error.
    pub fn wait_for_space(
        &mut self,
        len: usize,
        timeout: Option<Duration>,
    ) -> Result<WaitStatus, RingError> {
        self.publish()?;
        if self.has_room(len)? {
            return Ok(WaitStatus::Ready);
        }
        let bit = self.view.space_wait_bit();
        // Relaxed: ordered by the fence below.
        self.view.flags().fetch_or(bit, Ordering::Relaxed);
        // SeqCst fence: pairs with the fence in `Consumer::release` (between
        // storing the head and reading the flags).
        fence(Ordering::SeqCst);
        // Acquire: pairs with the consumer's Release store of the head.
        let head = self.view.head().load(Ordering::Acquire);
        let outcome = if head == self.cached_head {
            Some(self.view.sleep(self.view.head(), head, timeout))
        } else {
            None
        };
        // Relaxed: only this handle sets or clears this bit.
        self.view.flags().fetch_and(!bit, Ordering::Relaxed);
        let outcome = outcome.transpose()?;
        if self.has_room(len)? {
            Ok(WaitStatus::Ready)
        } else if outcome == Some(FutexWait::TimedOut) {
            Ok(WaitStatus::TimedOut)
        } else {
            Ok(WaitStatus::Spurious)
        }
    }
}

/// The reading end of one ring (single consumer).
///
/// [`read`](Consumer::read) copies the next frame out of shared memory into a
/// caller's buffer (checking every length and index first, so a corrupt peer
/// gets a typed error, never an out-of-bounds read) and advances the local
/// head; [`release`](Consumer::release) returns the space to the producer
/// (one `Release` store) and wakes it if it sleeps waiting for space.
/// [`pop`](Consumer::pop) does both.
pub struct Consumer {
    view: RingView,
    /// Our head, including frames read but not yet released; authoritative.
    head: u32,
    /// The head last stored to shared memory.
    released: u32,
    /// The producer's tail as last loaded (and checked).
    cached_tail: u32,
    /// Frames read, ever; stored beside the head at release.
    frames: u32,
    wakes: u64,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("ring", &self.view.ring)
            .field("head", &self.head)
            .field("released", &self.released)
            .field("cached_tail", &self.cached_tail)
            .finish()
    }
}

impl Consumer {
    pub(crate) fn new(view: RingView) -> Result<Consumer, RingError> {
        // Acquire: pairs with the Release store of a consumer that released
        // this head before.
        let head = view.head().load(Ordering::Acquire);
        if !head.is_multiple_of(layout::RECORD_ALIGN as u32) {
            return Err(RingError::MisalignedIndex {
                ring: view.ring,
                index: IndexKind::Head,
                value: head,
            });
        }
        // Relaxed: a count, never used to address memory.
        let frames = view.consumed_frames().load(Ordering::Relaxed);
        Ok(Consumer {
            view,
            head,
            released: head,
            cached_tail: head,
            frames,
            wakes: 0,
        })
    }

    /// Which ring this handle reads.
    pub fn ring(&self) -> RingId {
        self.view.ring
    }

    /// The ring's capacity in bytes.
    pub fn capacity(&self) -> u32 {
        self.view.capacity
    }

    /// The largest frame this ring carries.
    pub fn max_frame(&self) -> u32 {
        self.view.max_frame
    }

    /// How many times this handle has called `FUTEX_WAKE` (to wake a producer
    /// waiting for space).
    pub fn wakes(&self) -> u64 {
        self.wakes
    }

    /// A handle that wakes this consumer's [`wait`](Consumer::wait) from
    /// another thread.
    pub fn waker(&self) -> RingWaker {
        RingWaker {
            ring: self.view.ring,
            tail: self.view.tail,
            map: Arc::clone(&self.view.map),
        }
    }

    /// Reloads the producer's tail and checks it; returns the published bytes
    /// not yet read.
    #[inline(always)]
    fn refresh_tail(&mut self) -> Result<u32, RingError> {
        // Acquire: pairs with the Release store of the tail in
        // `Producer::publish`: the records happen before our reads of them.
        let tail = self.view.tail().load(Ordering::Acquire);
        let available = self.view.check(IndexKind::Tail, self.head, tail)?;
        self.cached_tail = tail;
        Ok(available)
    }

    /// `consumer.is_empty()` — whether no frame is published and unread
    /// (refreshing the producer's tail).
    ///
    /// Errors: a corrupt tail.
    pub fn is_empty(&mut self) -> Result<bool, RingError> {
        if self.cached_tail != self.head {
            return Ok(false);
        }
        Ok(self.refresh_tail()? == 0)
    }

    /// `consumer.read(out)` — copies the next frame into `out` (replacing its
    /// contents, reusing its capacity) and advances the local head; the space
    /// stays taken until [`release`](Consumer::release). Returns the frame's
    /// length, or `None` if the ring is empty.
    ///
    /// The frame is copied out of shared memory word by word before anything
    /// looks at it, after its header has been checked against the ring: the
    /// caller parses a private copy the peer cannot change.
    ///
    /// Errors: [`RingError`] for a corrupt tail or record; the head does not
    /// move, so the same error comes back until the shared state is sane.
    #[inline(always)]
    pub fn read(&mut self, out: &mut Vec<u8>) -> Result<Option<usize>, RingError> {
        // Fast path: the next record is a well-formed frame. Anything else
        // (a skip record, an error) takes the general path below.
        let mut available = self.cached_tail.wrapping_sub(self.head);
        if available == 0 {
            available = self.refresh_tail()?;
            if available == 0 {
                return Ok(None);
            }
        }
        let pos = self.head & self.view.mask();
        let data = self.view.data();
        let first = (pos / 8) as usize;
        let (tag, len) = layout::split_header(data[first].load());
        if tag == FRAME_TAG && len <= self.view.max_frame {
            let record = layout::record_bytes(len as usize) as u32;
            if record <= self.view.capacity - pos && record <= available {
                copy_out(
                    &data[first + 1..first + record as usize / 8],
                    len as usize,
                    out,
                );
                self.head = self.head.wrapping_add(record);
                self.frames = self.frames.wrapping_add(1);
                return Ok(Some(len as usize));
            }
        }
        self.read_general(out)
    }

    /// `read` for every case: skip records, and every check with its error.
    #[cold]
    #[inline(never)]
    fn read_general(&mut self, out: &mut Vec<u8>) -> Result<Option<usize>, RingError> {
        let ring = self.view.ring;
        let capacity = self.view.capacity;
        // Two rounds at most: a skip record, then the frame after it at
        // offset 0 (a skip record at offset 0 is rejected).
        for _ in 0..2 {
            let mut available = self.cached_tail.wrapping_sub(self.head);
            if available == 0 {
                available = self.refresh_tail()?;
                if available == 0 {
                    return Ok(None);
                }
            }
            let pos = self.head & self.view.mask();
            let to_end = capacity - pos;
            let data = self.view.data();
            let first = (pos / 8) as usize;
            let (tag, len) = layout::split_header(data[first].load());
            match tag {
                FRAME_TAG => {
                    if len > self.view.max_frame {
                        return Err(RingError::FrameTooLarge {
                            ring,
                            offset: pos,
                            len,
                            max: self.view.max_frame,
                        });
                    }
                    let record = layout::record_bytes(len as usize) as u32;
                    if record > to_end {
                        return Err(RingError::RecordWraps {
                            ring,
                            offset: pos,
                            record,
                        });
                    }
                    if record > available {
                        return Err(RingError::RecordPastTail {
                            ring,
                            offset: pos,
                            record,
                            available,
                        });
                    }
                    copy_out(
                        &data[first + 1..first + record as usize / 8],
                        len as usize,
                        out,
                    );
                    self.head = self.head.wrapping_add(record);
                    self.frames = self.frames.wrapping_add(1);
                    return Ok(Some(len as usize));
                }
                SKIP_TAG => {
                    if pos == 0 || len != to_end - RECORD_HEADER_BYTES as u32 {
                        return Err(RingError::BadSkip {
                            ring,
                            offset: pos,
                            len,
                        });
                    }
                    if to_end > available {
                        return Err(RingError::RecordPastTail {
                            ring,
                            offset: pos,
                            record: to_end,
                            available,
                        });
                    }
                    self.head = self.head.wrapping_add(to_end);
                }
                _ => {
                    return Err(RingError::BadRecordTag {
                        ring,
                        offset: pos,
                        tag,
                    });
                }
            }
        }
        // A second skip record in a row would have to sit at offset 0, which
        // the loop rejects; nothing reaches here.
        Err(RingError::BadSkip {
            ring,
            offset: 0,
            len: 0,
        })
    }

    /// `consumer.release()` — returns the space of every frame read so far to
    /// the producer (one `Release` store of the head) and, if the producer is
    /// asleep waiting for space, wakes it. Does nothing if nothing was read.
    ///
    /// Errors: [`RingError::Futex`] if the wake failed (the space is returned
    /// regardless).
    #[inline]
    pub fn release(&mut self) -> Result<(), RingError> {
        if self.head == self.released {
            return Ok(());
        }
        // Release (in `advance`): pairs with the Acquire load of the head
        // in `Producer::refresh_head`: our copies out happen before the
        // producer overwrites the space.
        self.released = self.head;
        let view = &self.view;
        let woke = view.advance(
            view.head(),
            self.head,
            view.consumed_frames(),
            self.frames,
            view.space_wait_bit(),
        )?;
        self.wakes += u64::from(woke);
        Ok(())
    }

    /// `consumer.pop(out)` — [`read`](Consumer::read) then, if a frame was
    /// read, [`release`](Consumer::release).
    ///
    /// Errors: as `read`; and [`RingError::Futex`] if releasing could not
    /// wake a waiting producer — the frame is then already in `out` and
    /// consumed.
    #[inline(always)]
    pub fn pop(&mut self, out: &mut Vec<u8>) -> Result<Option<usize>, RingError> {
        let got = self.read(out)?;
        if got.is_some() {
            self.release()?;
        }
        Ok(got)
    }

    /// `consumer.wait(timeout)` — releases what was read, then sleeps on the
    /// tail futex until a frame is published, the timeout passes, or the sleep
    /// ends for another reason. Returns at once with
    /// [`WaitStatus::Ready`] if a frame is already there. `None` waits without
    /// limit (the producer's [`publish`](Producer::publish) wakes it).
    ///
    /// Errors: a corrupt tail, or a futex error.
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<WaitStatus, RingError> {
        self.release()?;
        if !self.is_empty()? {
            return Ok(WaitStatus::Ready);
        }
        let bit = self.view.data_wait_bit();
        // Relaxed: ordered by the fence below.
        self.view.flags().fetch_or(bit, Ordering::Relaxed);
        // SeqCst fence: pairs with the fence in `Producer::publish` (between
        // storing the tail and reading the flags).
        fence(Ordering::SeqCst);
        // Acquire: pairs with the producer's Release store of the tail.
        let tail = self.view.tail().load(Ordering::Acquire);
        let outcome = if tail == self.head {
            Some(self.view.sleep(self.view.tail(), tail, timeout))
        } else {
            None
        };
        // Relaxed: only this handle sets or clears this bit.
        self.view.flags().fetch_and(!bit, Ordering::Relaxed);
        let outcome = outcome.transpose()?;
        if !self.is_empty()? {
            Ok(WaitStatus::Ready)
        } else if outcome == Some(FutexWait::TimedOut) {
            Ok(WaitStatus::TimedOut)
        } else {
            Ok(WaitStatus::Spurious)
        }
    }

    /// `consumer.wait_with(sleep)` — [`wait`](Consumer::wait), but the
    /// sleep itself is `sleep(word, value)`: block until the futex `word`
    /// (the tail, a shared futex) no longer holds `value` or is woken. For
    /// an owner that sleeps on several things at once — e.g. an io_uring
    /// `FUTEX_WAIT` beside other requests. NEED_WAKEUP is set around the
    /// call exactly as for `wait`, so no publish is missed.
    ///
    /// Errors: a corrupt tail.
    #[cfg(not(loom))]
    pub fn wait_with(
        &mut self,
        sleep: impl FnOnce(&std::sync::atomic::AtomicU32, u32),
    ) -> Result<WaitStatus, RingError> {
        self.release()?;
        if !self.is_empty()? {
            return Ok(WaitStatus::Ready);
        }
        let bit = self.view.data_wait_bit();
        // Relaxed: ordered by the fence below.
        self.view.flags().fetch_or(bit, Ordering::Relaxed);
        // SeqCst fence: pairs with the fence in `Producer::publish`, as in
        // `wait`.
        fence(Ordering::SeqCst);
        // Acquire: pairs with the producer's Release store of the tail.
        let tail = self.view.tail().load(Ordering::Acquire);
        if tail == self.head {
            sleep(self.view.tail(), tail);
        }
        // Relaxed: only this handle sets or clears this bit.
        self.view.flags().fetch_and(!bit, Ordering::Relaxed);
        Ok(if self.is_empty()? {
            WaitStatus::Spurious
        } else {
            WaitStatus::Ready
        })
    }
}

/// Reads 8 bytes as a little-endian word.
#[inline(always)]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(w)
}

/// Copies `bytes` into ring words (`words.len() == ceil(bytes.len() / 8)`),
/// zero-padding the last word. Unrolled by four: atomic stores are not
/// merged or vectorised by the compiler, so loop overhead would dominate.
#[inline(always)]
fn copy_in(bytes: &[u8], words: &[DataWord]) {
    let mut w = 0;
    let mut b = 0;
    while bytes.len() - b >= 32 {
        let dst = &words[w..w + 4];
        dst[0].store(word_at(bytes, b));
        dst[1].store(word_at(bytes, b + 8));
        dst[2].store(word_at(bytes, b + 16));
        dst[3].store(word_at(bytes, b + 24));
        w += 4;
        b += 32;
    }
    while bytes.len() - b >= 8 {
        words[w].store(word_at(bytes, b));
        w += 1;
        b += 8;
    }
    let rest = &bytes[b..];
    if !rest.is_empty() {
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        words[w].store(u64::from_le_bytes(last));
    }
}

/// Copies `len` bytes from ring words into `out`, reusing its allocation.
/// Unrolled by four, as `copy_in`.
/// Wakes a [`Consumer`] sleeping in [`Consumer::wait`] from another thread
/// without publishing anything (its `wait` then returns
/// [`WaitStatus::Spurious`]) — how an owner tells a sleeping consumer thread
/// to look at something else, such as a stop flag.
pub struct RingWaker {
    ring: RingId,
    tail: NonNull<AtomicU32>,
    map: Arc<Mapping>,
}

// SAFETY: `tail` addresses the mapping that `map` (Send + Sync) keeps alive,
// and is only used as a futex word.
unsafe impl Send for RingWaker {}
// SAFETY: as above; `wake` takes `&self` and only issues FUTEX_WAKE.
unsafe impl Sync for RingWaker {}

impl RingWaker {
    /// `waker.wake()` — `FUTEX_WAKE` on the ring's tail word.
    pub fn wake(&self) -> Result<(), RingError> {
        // SAFETY: points into the mapping that `self.map` keeps alive.
        let word = unsafe { self.tail.as_ref() };
        self.map.waits.wake(word).map_err(|errno| RingError::Futex {
            ring: self.ring,
            op: FutexOp::Wake,
            errno,
        })
    }
}

impl std::fmt::Debug for RingWaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingWaker")
            .field("ring", &self.ring)
            .finish()
    }
}

#[inline(always)]
fn copy_out(words: &[DataWord], len: usize, out: &mut Vec<u8>) {
    // Only the bytes beyond the old length get zero-filled; all of them are
    // overwritten below.
    out.resize(len, 0);
    let dst = out.as_mut_slice();
    let mut w = 0;
    let mut b = 0;
    while len - b >= 32 {
        let src = &words[w..w + 4];
        let chunk = &mut dst[b..b + 32];
        chunk[..8].copy_from_slice(&src[0].load().to_le_bytes());
        chunk[8..16].copy_from_slice(&src[1].load().to_le_bytes());
        chunk[16..24].copy_from_slice(&src[2].load().to_le_bytes());
        chunk[24..].copy_from_slice(&src[3].load().to_le_bytes());
        w += 4;
        b += 32;
    }
    while len - b >= 8 {
        dst[b..b + 8].copy_from_slice(&words[w].load().to_le_bytes());
        w += 1;
        b += 8;
    }
    let rest = &mut dst[b..];
    if !rest.is_empty() {
        let n = rest.len();
        rest.copy_from_slice(&words[w].load().to_le_bytes()[..n]);
    }
}
