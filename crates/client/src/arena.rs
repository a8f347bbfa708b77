//! Big buffers through the buffer arena.
//!
//! Frames carry at most [`MAX_DATA_LEN`] bytes of buffers (and no more than
//! the ring's frame limit). A request whose buffers do not fit is not
//! refused: at submission its largest buffers move into the gateway's
//! shared arena (input bytes are copied there, outputs named there), until
//! the rest fits a frame; the executor hands the arena addresses to the
//! kernel; on completion the outputs are copied back into the completion,
//! so every layer above — typed ops, [`crate::raw`], [`crate::Request`] —
//! sees the same completion as for a small request. Requests that fit a
//! frame take the path they always took: the arena costs them nothing.
//!
//! A request's arena pages stay reserved ([`Lease`]) until its completion
//! has been reaped and its outputs copied out — whatever happened to its
//! future — and, when a later member of its link chain reads one of its
//! outputs in place (`Buffer::Linked`), until that member's completion too.
//! A completion means the kernel is done with the memory (the executor
//! posts it only after the call returned, or instead of running it), so a
//! range is never handed out while a call may still touch it. Released
//! pages are given back to the system ([`Arena::discard`]), which also
//! keeps every free page reading as zeros: an output placed in the arena
//! starts zeroed, as an executor-owned one does.

use std::sync::{Arc, Mutex, MutexGuard};

use sysgate_proto::{
    ArenaRange, Arg, Buffer, Bytes, Completion, CompletionFlags, MAX_DATA_LEN, Op, SyscallOp,
};
use sysgate_ring::Arena;

use crate::error::{Error, InvalidRequest};

/// The allocation unit: one page.
pub(crate) const PAGE: u64 = 4096;

/// Free pages of the arena, first fit: sorted, coalesced `(start, pages)`
/// ranges.
#[derive(Debug)]
pub(crate) struct FreeList {
    ranges: Vec<(u64, u64)>,
    total: u64,
    free: u64,
}

impl FreeList {
    /// All of `pages` free.
    pub(crate) fn new(pages: u64) -> FreeList {
        FreeList {
            ranges: if pages > 0 { vec![(0, pages)] } else { vec![] },
            total: pages,
            free: pages,
        }
    }

    /// The first page of the lowest free range of `pages` pages (taken from
    /// the start of the first range that holds them), or `None`.
    pub(crate) fn alloc(&mut self, pages: u64) -> Option<u64> {
        if pages == 0 {
            return None;
        }
        let i = self.ranges.iter().position(|&(_, n)| n >= pages)?;
        let (start, n) = self.ranges[i];
        if n == pages {
            self.ranges.remove(i);
        } else {
            self.ranges[i] = (start + pages, n - pages);
        }
        self.free -= pages;
        Some(start)
    }

    /// Returns `pages` pages from `start`, merging with free neighbours.
    /// They must have come from [`FreeList::alloc`] and not been freed
    /// since.
    pub(crate) fn free(&mut self, start: u64, pages: u64) {
        let i = self.ranges.partition_point(|&(s, _)| s < start);
        debug_assert!(
            i == 0 || self.ranges[i - 1].0 + self.ranges[i - 1].1 <= start,
            "freed pages overlap a free range"
        );
        debug_assert!(
            self.ranges.get(i).is_none_or(|&(s, _)| start + pages <= s),
            "freed pages overlap a free range"
        );
        self.free += pages;
        let joins_prev = i > 0 && self.ranges[i - 1].0 + self.ranges[i - 1].1 == start;
        let joins_next = self.ranges.get(i).is_some_and(|&(s, _)| start + pages == s);
        match (joins_prev, joins_next) {
            (true, true) => {
                self.ranges[i - 1].1 += pages + self.ranges[i].1;
                self.ranges.remove(i);
            }
            (true, false) => self.ranges[i - 1].1 += pages,
            (false, true) => self.ranges[i] = (start, pages + self.ranges[i].1),
            (false, false) => self.ranges.insert(i, (start, pages)),
        }
    }

    /// Pages in use.
    pub(crate) fn used(&self) -> u64 {
        self.total - self.free
    }

    /// The longest free range, in pages.
    pub(crate) fn largest(&self) -> u64 {
        self.ranges.iter().map(|&(_, n)| n).max().unwrap_or(0)
    }
}

/// A gateway's arena and who holds which of its pages.
pub(crate) struct ArenaSpace {
    /// Keeps requests off the arena's memfd (closing it, or `ftruncate`,
    /// would pull the memory from under requests in flight); dropped
    /// before the arena closes it.
    _held: sysgate_exec::HeldFd,
    arena: Arena,
    pages: Mutex<FreeList>,
}

impl ArenaSpace {
    pub(crate) fn new(arena: Arena) -> Arc<ArenaSpace> {
        let pages = arena.len() as u64 / PAGE;
        Arc::new(ArenaSpace {
            _held: sysgate_exec::hold_fd(arena.fd()),
            arena,
            pages: Mutex::new(FreeList::new(pages)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, FreeList> {
        self.pages.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bytes reserved by requests now.
    pub(crate) fn in_use(&self) -> u64 {
        self.lock().used() * PAGE
    }

    /// Reserves `bytes` (rounded up to pages).
    fn lease(self: &Arc<Self>, bytes: u64) -> Result<Lease, Error> {
        let limit = self.arena.len() as u64;
        let pages = bytes.div_ceil(PAGE);
        if pages * PAGE > limit {
            return Err(Error::BuffersTooLarge { bytes, limit });
        }
        let mut free = self.lock();
        match free.alloc(pages) {
            Some(start) => Ok(Lease {
                space: Arc::clone(self),
                start,
                pages,
            }),
            None => Err(Error::ArenaFull {
                bytes,
                largest_free: free.largest() * PAGE,
            }),
        }
    }
}

/// Arena pages reserved for one request; given back (discarded, then
/// free) when dropped.
pub(crate) struct Lease {
    space: Arc<ArenaSpace>,
    start: u64,
    pages: u64,
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Discarded before they are free again, so that a later request
        // finds them zeroed. The range came from this arena: in bounds.
        let _ = self
            .space
            .arena
            .discard(self.start * PAGE, self.pages * PAGE);
        self.space.lock().free(self.start, self.pages);
    }
}

/// An arena output of a request: where it is among the completion's
/// outputs, and where in the arena.
struct PlacedOutput {
    index: usize,
    offset: u64,
    len: u32,
    /// Its useful length is the call's result (`read`'s buffer).
    filled: bool,
}

/// What one request holds in the arena, and how to put its outputs back.
pub(crate) struct Placement {
    /// Its own pages (`None` for a request that only holds others').
    lease: Option<Arc<Lease>>,
    /// Its arena outputs, by position among its outputs.
    outputs: Vec<PlacedOutput>,
    /// How many outputs its completion lists when the call ran.
    output_count: usize,
    /// The pages of earlier chain members whose outputs it reads in place.
    holds: Vec<Arc<Lease>>,
}

impl Placement {
    /// Also keeps `other`'s pages reserved until this request completes
    /// (it reads `other`'s outputs in place).
    pub(crate) fn hold(&mut self, other: &Placement) {
        self.holds.extend(other.lease.iter().cloned());
    }

    /// A placement that only holds others' pages.
    pub(crate) fn holding(other: &Placement) -> Placement {
        let mut p = Placement {
            lease: None,
            outputs: Vec::new(),
            output_count: 0,
            holds: Vec::new(),
        };
        p.hold(other);
        p
    }

    /// Whether it holds any pages.
    pub(crate) fn holds_pages(&self) -> bool {
        self.lease.is_some() || !self.holds.is_empty()
    }

    /// Copies the arena outputs into `c`'s placeholders, then releases the
    /// pages. A completion without its outputs (an error the executor
    /// produced, a request cancelled before it ran) gets none.
    pub(crate) fn restore(self, c: &mut Completion<'static>) {
        let ran = c.outputs.len() == self.output_count
            && !c.flags.contains(CompletionFlags::PROTOCOL_ERROR);
        let Some(lease) = self.lease.as_ref().filter(|_| ran) else {
            return;
        };
        for o in &self.outputs {
            let len = if o.filled {
                u32::try_from(c.result.max(0))
                    .unwrap_or(u32::MAX)
                    .min(o.len)
            } else {
                o.len
            };
            if let Ok(bytes) = lease.space.arena.read_to_vec(o.offset, u64::from(len)) {
                c.outputs[o.index] = Bytes::from(bytes);
            }
        }
    }
}

/// Bytes of a completion without outputs.
const COMPLETION_BYTES: usize = 1 + 8 + 8 + 4 + 8;

/// Bytes of a syscall submission besides its buffers, with every argument
/// counted at its largest (12 bytes).
fn submission_bytes(call: &SyscallOp<'_>) -> usize {
    1 + 8 + 1 + 4 + 4 + 8 + 12 * call.args.len() + 8 + 8 + 12 * call.relocs.len()
}

/// What a buffer costs in frames: (data counted by validation, bytes of
/// the submission frame, bytes of the completion frame).
fn buffer_cost(b: &Buffer<'_>) -> (usize, usize, usize) {
    let submission = match b {
        Buffer::In(d) | Buffer::InOut(d) => 4 + 8 + d.len(),
        Buffer::Out(_) | Buffer::Linked(_) => 4 + 4,
        Buffer::ArenaIn(_) | Buffer::ArenaOut(_) | Buffer::ArenaInOut(_) => 4 + 8 + 4,
    };
    let completion = match b {
        Buffer::Out(_) | Buffer::InOut(_) => 8 + b.len(),
        _ if b.is_output() => 8,
        _ => 0,
    };
    (b.frame_len(), submission, completion)
}

/// What a request costs in frames: data counted by validation, and the
/// lengths of its submission and completion frames.
struct FrameCost {
    data: usize,
    submission: usize,
    completion: usize,
}

impl FrameCost {
    fn of(call: &SyscallOp<'_>) -> FrameCost {
        let mut cost = FrameCost {
            data: 0,
            submission: submission_bytes(call),
            completion: COMPLETION_BYTES,
        };
        for b in &call.bufs {
            let (data, submission, completion) = buffer_cost(b);
            cost.data += data;
            cost.submission += submission;
            cost.completion += completion;
        }
        cost
    }

    /// The cost once `b` has moved into the arena: 16 bytes in the
    /// submission, an empty output in the completion.
    fn move_to_arena(&mut self, b: &Buffer<'_>) {
        let (data, submission, completion) = buffer_cost(b);
        self.data -= data;
        self.submission = self.submission - submission + 16;
        self.completion -= completion - if b.is_output() { 8 } else { 0 };
    }

    fn fits(&self, max_frame: usize) -> bool {
        self.data <= MAX_DATA_LEN && self.submission <= max_frame && self.completion <= max_frame
    }
}

/// Moves the largest buffers of `op` into the arena (`space()`, asked for
/// only then) until the rest fits a frame of `max_frame` bytes; `None`
/// when nothing had to move (the common case, which costs a pass over the
/// buffer lengths), when there is no arena, or when moving every movable
/// buffer would not help (the usual validation and encoding errors then
/// report the request).
///
/// Errors: [`InvalidRequest::ArenaBuffer`] for a request that names arena
/// bytes itself; [`Error::BuffersTooLarge`] when its big buffers need more
/// than the whole arena; [`Error::ArenaFull`] when they do not fit in what
/// is free now; what `space()` returns.
pub(crate) fn place<'s>(
    op: &mut Op<'_>,
    max_frame: usize,
    space: impl FnOnce() -> Result<Option<&'s Arc<ArenaSpace>>, Error>,
) -> Result<Option<Placement>, Error> {
    let Op::Syscall(call) = op else {
        return Ok(None);
    };
    if call.bufs.is_empty() {
        return Ok(None);
    }
    if let Some(buf) = call.bufs.iter().position(|b| b.arena().is_some()) {
        return Err(InvalidRequest::ArenaBuffer { buf }.into());
    }
    let mut cost = FrameCost::of(call);
    if cost.fits(max_frame) {
        return Ok(None);
    }
    let Some(space) = space()? else {
        return Ok(None);
    };
    // The largest first, until the rest fits. An arena buffer holds at
    // most u32::MAX bytes.
    let mut movable: Vec<usize> = (0..call.bufs.len())
        .filter(|&i| match &call.bufs[i] {
            Buffer::In(_) | Buffer::Out(_) | Buffer::InOut(_) => {
                (1..=u32::MAX as usize).contains(&call.bufs[i].len())
            }
            _ => false,
        })
        .collect();
    movable.sort_by_key(|&i| std::cmp::Reverse(call.bufs[i].len()));
    let mut moving = Vec::new();
    for i in movable {
        if cost.fits(max_frame) {
            break;
        }
        cost.move_to_arena(&call.bufs[i]);
        moving.push(i);
    }
    if !cost.fits(max_frame) {
        return Ok(None);
    }
    moving.sort_unstable();
    let bytes: u64 = moving
        .iter()
        .map(|&i| (call.bufs[i].len() as u64).div_ceil(PAGE) * PAGE)
        .sum();
    let lease = space.lease(bytes)?;
    let filled = filled_buffer(call);
    let mut outputs = Vec::new();
    let mut offset = lease.start * PAGE;
    for &i in &moving {
        let b = &mut call.bufs[i];
        let len = b.len() as u32; // movable: at most u32::MAX
        let range = ArenaRange { offset, len };
        let placed = match b {
            Buffer::In(d) => {
                space.arena.write(offset, d).map_err(Error::Region)?;
                Buffer::ArenaIn(range)
            }
            Buffer::InOut(d) => {
                space.arena.write(offset, d).map_err(Error::Region)?;
                Buffer::ArenaInOut(range)
            }
            // Free pages read as zeros: the output starts zeroed.
            _ => Buffer::ArenaOut(range),
        };
        *b = placed;
        offset += u64::from(len).div_ceil(PAGE) * PAGE;
        outputs.push((i, range));
    }
    // Output positions count the output buffers before each.
    let output_index = |i: usize| call.bufs[..i].iter().filter(|b| b.is_output()).count();
    let outputs = outputs
        .into_iter()
        .filter(|&(i, _)| call.bufs[i].is_output())
        .map(|(i, r)| PlacedOutput {
            index: output_index(i),
            offset: r.offset,
            len: r.len,
            filled: filled == Some(i),
        })
        .collect();
    Ok(Some(Placement {
        lease: Some(Arc::new(lease)),
        outputs,
        output_count: call.bufs.iter().filter(|b| b.is_output()).count(),
        holds: Vec::new(),
    }))
}

/// The buffer whose useful length is the call's result, as the executor
/// trims it (`read`'s buffer).
fn filled_buffer(call: &SyscallOp<'_>) -> Option<usize> {
    let arg = sysgate_sys::signature(call.nr)?.filled_buffer()?;
    match call.args.as_slice().get(arg)? {
        Arg::Buf(i) => Some(usize::from(*i)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_fit_takes_the_lowest_range_that_holds_the_request() {
        let mut f = FreeList::new(16);
        assert_eq!(f.alloc(4), Some(0));
        assert_eq!(f.alloc(4), Some(4));
        assert_eq!(f.alloc(4), Some(8));
        assert_eq!((f.used(), f.largest()), (12, 4));
        f.free(4, 4);
        // A hole of 4 at 4 and a tail of 4 at 12: the lowest fit wins.
        assert_eq!(f.alloc(2), Some(4));
        assert_eq!(f.alloc(3), Some(12));
        assert_eq!(f.alloc(3), None, "2 + 1 pages free, not together");
        assert_eq!(f.largest(), 2);
        assert_eq!(f.alloc(0), None);
    }

    #[test]
    fn freed_ranges_merge_with_both_neighbours() {
        let mut f = FreeList::new(12);
        let a = f.alloc(4).unwrap();
        let b = f.alloc(4).unwrap();
        let c = f.alloc(4).unwrap();
        assert_eq!(f.alloc(1), None, "full");
        f.free(a, 4);
        f.free(c, 4);
        assert_eq!(f.ranges, [(0, 4), (8, 4)]);
        f.free(b, 4);
        assert_eq!(f.ranges, [(0, 12)], "one range again");
        assert_eq!((f.used(), f.largest()), (0, 12));
        assert_eq!(f.alloc(12), Some(0));
    }

    #[test]
    fn random_alloc_and_free_never_overlap() {
        // xorshift: deterministic randomness without a dependency.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut f = FreeList::new(256);
        let mut owned = [false; 256];
        let mut held: Vec<(u64, u64)> = Vec::new();
        for _ in 0..20_000 {
            if next() % 2 == 0 && !held.is_empty() {
                let (start, n) = held.swap_remove(next() as usize % held.len());
                for p in start..start + n {
                    owned[p as usize] = false;
                }
                f.free(start, n);
            } else {
                let n = 1 + next() % 24;
                if let Some(start) = f.alloc(n) {
                    for p in start..start + n {
                        assert!(!owned[p as usize], "page {p} handed out twice");
                        owned[p as usize] = true;
                    }
                    held.push((start, n));
                } else {
                    assert!(f.largest() < n, "a fit was refused");
                }
            }
            let used = owned.iter().filter(|&&o| o).count() as u64;
            assert_eq!(f.used(), used);
        }
    }

    fn space(pages: u64) -> Arc<ArenaSpace> {
        ArenaSpace::new(Arena::create((pages * PAGE) as usize).unwrap())
    }

    fn pread(len: u32) -> Op<'static> {
        Op::Syscall(SyscallOp {
            nr: libc::SYS_pread64 as u32,
            args: [Arg::Imm(3), Arg::Buf(0), Arg::Imm(len.into()), Arg::Imm(0)]
                .into_iter()
                .collect(),
            bufs: vec![Buffer::Out(len)],
            relocs: vec![],
        })
    }

    #[test]
    fn only_what_does_not_fit_moves_and_only_the_largest() {
        let space = space(1024);
        let max_frame = sysgate_proto::MAX_MESSAGE_LEN;
        let mut small = pread(MAX_DATA_LEN as u32);
        assert!(
            place(&mut small, max_frame, || Ok(Some(&space)))
                .unwrap()
                .is_none()
        );
        assert_eq!(small, pread(MAX_DATA_LEN as u32), "left as it was");

        // A path and 2 MiB of data: only the data moves.
        let mut write = Op::Syscall(SyscallOp {
            nr: libc::SYS_pwrite64 as u32,
            args: [Arg::Imm(3), Arg::Buf(1), Arg::Imm(2 << 20), Arg::Imm(0)]
                .into_iter()
                .collect(),
            bufs: vec![
                Buffer::In(b"/tmp/x\0".to_vec().into()),
                Buffer::In(vec![7u8; 2 << 20].into()),
            ],
            relocs: vec![],
        });
        let p = place(&mut write, max_frame, || Ok(Some(&space)))
            .unwrap()
            .unwrap();
        let Op::Syscall(call) = &write else {
            unreachable!()
        };
        assert!(matches!(call.bufs[0], Buffer::In(_)));
        let Buffer::ArenaIn(r) = call.bufs[1] else {
            panic!("{:?}", call.bufs[1].arena())
        };
        assert_eq!(r.len, 2 << 20);
        assert_eq!(
            space.arena.read_to_vec(r.offset, u64::from(r.len)).unwrap(),
            vec![7u8; 2 << 20]
        );
        assert_eq!(space.in_use(), 2 << 20);
        assert!(p.outputs.is_empty());
        drop(p);
        assert_eq!(space.in_use(), 0, "released with the placement");

        // A small ring: 40 KiB no longer fits its frames.
        let mut read = pread(40 << 10);
        let p = place(&mut read, 32 << 10, || Ok(Some(&space)))
            .unwrap()
            .unwrap();
        assert_eq!(p.output_count, 1);
        assert!(
            p.outputs[0].filled,
            "pread's buffer is trimmed to its result"
        );
    }

    #[test]
    fn outputs_come_back_trimmed_and_in_place() {
        let space = space(1024);
        let mut read = pread(3 << 20);
        let p = place(&mut read, 1 << 20, || Ok(Some(&space)))
            .unwrap()
            .unwrap();
        let Op::Syscall(call) = &read else {
            unreachable!()
        };
        let r = call.bufs[0].arena().unwrap();
        space.arena.write(r.offset, &[5u8; 100]).unwrap();
        let mut c = Completion::new(1, 100, CompletionFlags::INLINE);
        c.outputs = vec![Bytes::default()];
        p.restore(&mut c);
        assert_eq!(&c.outputs[0][..], &[5u8; 100]);
        assert_eq!(space.in_use(), 0);
        assert_eq!(
            space.arena.read_to_vec(r.offset, 100).unwrap(),
            [0; 100],
            "released pages read as zeros"
        );

        // Without outputs (cancelled before it ran): nothing to restore.
        let mut read = pread(3 << 20);
        let p = place(&mut read, 1 << 20, || Ok(Some(&space)))
            .unwrap()
            .unwrap();
        let mut c = Completion::new(1, -125, CompletionFlags::POOL);
        p.restore(&mut c);
        assert!(c.outputs.is_empty());
        assert_eq!(space.in_use(), 0);
    }

    #[test]
    fn too_large_and_full_are_typed_errors() {
        let space = space(1024); // 4 MiB
        let mut huge = pread(5 << 20);
        assert_eq!(
            place(&mut huge, 1 << 20, || Ok(Some(&space))).err(),
            Some(Error::BuffersTooLarge {
                bytes: 5 << 20,
                limit: 4 << 20
            })
        );
        let mut a = pread(3 << 20);
        let held = place(&mut a, 1 << 20, || Ok(Some(&space)))
            .unwrap()
            .unwrap();
        let mut b = pread(2 << 20);
        assert_eq!(
            place(&mut b, 1 << 20, || Ok(Some(&space))).err(),
            Some(Error::ArenaFull {
                bytes: 2 << 20,
                largest_free: 1 << 20
            })
        );
        drop(held);
        assert!(
            place(&mut b, 1 << 20, || Ok(Some(&space)))
                .unwrap()
                .is_some()
        );
        // Arena bytes a request names itself are refused.
        let mut named = Op::Syscall(SyscallOp {
            nr: 0,
            args: [Arg::Buf(0)].into_iter().collect(),
            bufs: vec![Buffer::ArenaOut(ArenaRange { offset: 0, len: 4 })],
            relocs: vec![],
        });
        assert_eq!(
            place(&mut named, 1 << 20, || Ok(Some(&space))).err(),
            Some(Error::Invalid(InvalidRequest::ArenaBuffer { buf: 0 }))
        );
        // Without an arena nothing moves; validation reports the size.
        let mut big = pread(2 << 20);
        assert!(place(&mut big, 1 << 20, || Ok(None)).unwrap().is_none());
    }
}
