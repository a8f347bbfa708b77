//! The fuzz body: a hostile peer scribbling on a live region.

use std::os::fd::AsFd;
use std::time::Duration;

use crate::{CompletionPoster, Region, RegionSizes, layout};

/// Reads fuzz input a little at a time; runs dry as zeros.
struct Input<'a> {
    bytes: &'a [u8],
}

impl<'a> Input<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.bytes.split_first()?;
        self.bytes = rest;
        Some(b)
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte().unwrap_or(0), self.byte().unwrap_or(0)])
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.bytes.len());
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        head
    }
}

/// `fuzz_ring(bytes)` — the fuzz body for the fuzz targets (and the
/// property tests that replay it on stable).
///
/// Builds a small region from the first bytes, then runs the rest as a script
/// of operations: pushes and pops on both rings, completions through a
/// [`CompletionPoster`], zero-timeout waits, re-mapping the region from its
/// fd, and — the point — raw writes of arbitrary bytes anywhere in the
/// header, the indices, the flags and the rings, as a hostile peer would. It
/// checks that every call returns (a value or a typed error), that a popped
/// frame never exceeds the maximum, and that nothing panics.
pub fn fuzz_ring(bytes: &[u8]) {
    let mut input = Input { bytes };
    let sq_bytes = layout::MIN_RING_BYTES << (input.byte().unwrap_or(0) % 5);
    let cq_bytes = layout::MIN_RING_BYTES << (input.byte().unwrap_or(0) % 5);
    let limit = layout::max_frame_for(sq_bytes.min(cq_bytes));
    let max_frame = 1 + u32::from(input.byte().unwrap_or(0)) % limit;
    let sizes = RegionSizes {
        sq_bytes,
        cq_bytes,
        max_frame,
    };
    // Running out of fds or memory is not what this body looks for.
    let Ok(region) = Region::create(sizes) else {
        return;
    };
    let (Ok(mut sq_tx), Ok(mut sq_rx), Ok(cq_tx), Ok(mut cq_rx)) = (
        region.sq_producer(),
        region.sq_consumer(),
        region.cq_producer(),
        region.cq_consumer(),
    ) else {
        panic!("fresh region refused a handle");
    };
    let mut poster = CompletionPoster::new(cq_tx);
    let mut out = Vec::new();
    let total = region.total_bytes();
    let check_pop = |got: Result<Option<usize>, crate::RingError>, out: &Vec<u8>| {
        if let Ok(Some(n)) = got {
            assert_eq!(n, out.len());
            assert!(n <= max_frame as usize);
        }
    };
    while let Some(op) = input.byte() {
        match op % 10 {
            0 | 1 => {
                // Hostile write: aim at the header's live words half the time.
                let offset = if op & 0x80 != 0 {
                    usize::from(input.u16()) % 768
                } else {
                    usize::from(input.u16()) * 8 % total
                };
                let n = usize::from(input.byte().unwrap_or(0) % 16);
                let data = input.take(n);
                region.scribble(offset, data);
            }
            2 => {
                let n = usize::from(input.byte().unwrap_or(0));
                let frame = input.take(n);
                let _ = sq_tx.push(frame);
            }
            3 => check_pop(sq_rx.pop(&mut out), &out),
            4 => {
                let n = usize::from(input.byte().unwrap_or(0));
                let frame = input.take(n);
                let _ = poster.post(frame);
            }
            5 => check_pop(cq_rx.pop(&mut out), &out),
            6 => {
                let _ = sq_rx.wait(Some(Duration::ZERO));
                let _ = cq_rx.wait(Some(Duration::ZERO));
            }
            7 => {
                let _ = poster.flush();
                let _ = poster.wait_for_space(Some(Duration::ZERO));
                let _ = sq_tx.wait_for_space(usize::from(op >> 4), Some(Duration::ZERO));
            }
            8 => {
                // A second mapping sees whatever the header says now: a
                // region of the file's length (the sizes may have been
                // rewritten into another consistent set), or a typed error.
                if let Ok(fd) = region.fd().as_fd().try_clone_to_owned()
                    && let Ok(again) = Region::map(fd)
                {
                    assert_eq!(again.total_bytes(), total);
                }
            }
            _ => {
                // Staged batches: stage a few, then publish; read a few, then
                // release.
                for _ in 0..(op >> 4) {
                    let n = usize::from(input.byte().unwrap_or(0));
                    let _ = sq_tx.stage(input.take(n));
                }
                let _ = sq_tx.publish();
                for _ in 0..(op >> 5) {
                    check_pop(sq_rx.read(&mut out), &out);
                }
                let _ = sq_rx.release();
            }
        }
    }
    let _ = region.cq_overflow();
}
