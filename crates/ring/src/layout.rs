//! The byte layout of a shared region, as both peers see it.
//!
//! ```text
//! offset        size          what
//! 0             4096          header (below)
//! 4096          sq_bytes      SQ byte ring (page-rounded)
//! cq_offset     cq_bytes      CQ byte ring (page-rounded)
//! ```
//!
//! Header fields (native byte order; both peers run on the same machine):
//!
//! | offset | type | field |
//! |---|---|---|
//! | 0 | u64 | [`MAGIC`] (`b"SYSGRING"`) |
//! | 8 | u32 | [`VERSION`] |
//! | 12 | u32 | header bytes ([`HEADER_BYTES`]) |
//! | 16 | u32 | SQ offset |
//! | 20 | u32 | SQ bytes (power of two) |
//! | 24 | u32 | CQ offset |
//! | 28 | u32 | CQ bytes (power of two) |
//! | 32 | u32 | max frame bytes |
//! | 36 | u32 | reserved, 0 |
//! | 40 | u64 | total bytes of the region |
//! | 128 | atomic u32 | flags ([`flags`]) |
//! | 256 | atomic u32 | SQ head (consumer index) |
//! | 384 | atomic u32 | SQ tail (producer index; futex word for the SQ consumer) |
//! | 512 | atomic u32 | CQ head |
//! | 640 | atomic u32 | CQ tail |
//!
//! Beside each index, on its line and written by the same side, a frame
//! counter ([`FRAMES_AFTER_INDEX`] bytes after the index): frames consumed
//! (beside a head) and frames published (beside a tail), free-running `u32`s.
//! They only count — "how many completions are waiting" — and are never used
//! to address memory, so a corrupt value from a peer costs a wrong count, not
//! safety.
//!
//! Every atomic word has a 128-byte line of its own (two 64-byte lines: the
//! adjacent-line prefetcher pulls pairs), so the producer's and consumer's
//! stores never share a line.
//!
//! Indices are free-running `u32` byte counts, masked with `capacity - 1`; they
//! are always multiples of [`RECORD_ALIGN`], and `tail - head` (wrapping) never
//! exceeds the capacity. A record is an 8-byte header word — frame length in
//! the low 32 bits, [`FRAME_TAG`] or [`SKIP_TAG`] in the high 32 — followed by
//! the payload padded to 8 bytes. A record never wraps: when it does not fit
//! before the end of the ring, a skip record pads to the end and the frame
//! starts at offset 0.

/// The first eight bytes of every region: `b"SYSGRING"` read as a native u64.
pub const MAGIC: u64 = u64::from_ne_bytes(*b"SYSGRING");
/// The layout version this crate writes and accepts.
pub const VERSION: u32 = 1;
/// Bytes taken by the header; the SQ ring starts here.
pub const HEADER_BYTES: usize = 4096;
/// Rings are placed on boundaries of this many bytes.
pub const PAGE_BYTES: usize = 4096;

/// Offset of the magic (u64).
pub const OFF_MAGIC: usize = 0;
/// Offset of the version (u32).
pub const OFF_VERSION: usize = 8;
/// Offset of the header size (u32).
pub const OFF_HEADER_BYTES: usize = 12;
/// Offset of the SQ ring's offset (u32).
pub const OFF_SQ_OFFSET: usize = 16;
/// Offset of the SQ ring's size in bytes (u32).
pub const OFF_SQ_BYTES: usize = 20;
/// Offset of the CQ ring's offset (u32).
pub const OFF_CQ_OFFSET: usize = 24;
/// Offset of the CQ ring's size in bytes (u32).
pub const OFF_CQ_BYTES: usize = 28;
/// Offset of the maximum frame size (u32).
pub const OFF_MAX_FRAME: usize = 32;
/// Offset of the reserved word (u32, zero).
pub const OFF_RESERVED: usize = 36;
/// Offset of the region's total size (u64).
pub const OFF_TOTAL_BYTES: usize = 40;
/// Offset of the flags word (atomic u32).
pub const OFF_FLAGS: usize = 128;
/// Offset of the SQ head index (atomic u32).
pub const OFF_SQ_HEAD: usize = 256;
/// Offset of the SQ tail index (atomic u32).
pub const OFF_SQ_TAIL: usize = 384;
/// Offset of the CQ head index (atomic u32).
pub const OFF_CQ_HEAD: usize = 512;
/// Offset of the CQ tail index (atomic u32).
pub const OFF_CQ_TAIL: usize = 640;
/// A frame counter (atomic u32) lies this many bytes after each index word.
pub const FRAMES_AFTER_INDEX: usize = 8;

/// Bits of the shared flags word.
pub mod flags {
    /// The SQ consumer is (about to be) asleep on the SQ tail futex.
    pub const SQ_NEED_WAKEUP: u32 = 1 << 0;
    /// The CQ consumer is (about to be) asleep on the CQ tail futex.
    pub const CQ_NEED_WAKEUP: u32 = 1 << 1;
    /// Completions are waiting in the completion side's backlog because the
    /// CQ was full; the submit side should reap and hold back (like io_uring's
    /// `-EBUSY`).
    pub const CQ_OVERFLOW: u32 = 1 << 2;
    /// The SQ producer is (about to be) asleep on the SQ head futex, waiting
    /// for space.
    pub const SQ_SPACE_WAIT: u32 = 1 << 3;
    /// The CQ producer is (about to be) asleep on the CQ head futex, waiting
    /// for space.
    pub const CQ_SPACE_WAIT: u32 = 1 << 4;
}

/// Size of a record header word.
pub const RECORD_HEADER_BYTES: usize = 8;
/// Records start on multiples of this, and indices are multiples of it.
pub const RECORD_ALIGN: usize = 8;
/// Tag (high half of a record header) of a frame record.
pub const FRAME_TAG: u32 = u32::from_ne_bytes(*b"FRAM");
/// Tag of a skip record: its length field counts the padding bytes to the end
/// of the ring.
pub const SKIP_TAG: u32 = u32::from_ne_bytes(*b"SKIP");

/// Smallest ring capacity in bytes.
pub const MIN_RING_BYTES: u32 = 64;
/// Largest ring capacity in bytes (keeps `u32` index arithmetic unambiguous).
pub const MAX_RING_BYTES: u32 = 1 << 30;

/// `record_bytes(frame_len)` — bytes a frame of `frame_len` bytes takes in a
/// ring: the header word plus the payload rounded up to 8.
pub const fn record_bytes(frame_len: usize) -> usize {
    RECORD_HEADER_BYTES + frame_len.div_ceil(RECORD_ALIGN) * RECORD_ALIGN
}

/// `max_frame_for(ring_bytes)` — the largest `max_frame` a ring of
/// `ring_bytes` accepts: a record may take at most half the ring, which
/// guarantees that an empty ring always has room for one more frame even when
/// a skip record is needed first.
pub const fn max_frame_for(ring_bytes: u32) -> u32 {
    ring_bytes / 2 - RECORD_HEADER_BYTES as u32
}

/// Packs a record header word.
pub(crate) const fn record_header(tag: u32, len: u32) -> u64 {
    ((tag as u64) << 32) | len as u64
}

/// Splits a record header word into `(tag, len)`.
pub(crate) const fn split_header(word: u64) -> (u32, u32) {
    ((word >> 32) as u32, word as u32)
}

pub(crate) const fn round_to_page(bytes: usize) -> usize {
    bytes.div_ceil(PAGE_BYTES) * PAGE_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_sizes_round_to_eight() {
        assert_eq!(record_bytes(0), 8);
        assert_eq!(record_bytes(1), 16);
        assert_eq!(record_bytes(8), 16);
        assert_eq!(record_bytes(9), 24);
        assert_eq!(record_bytes(64), 72);
    }

    #[test]
    fn max_frame_fills_half_a_ring() {
        assert_eq!(record_bytes(max_frame_for(64) as usize), 32);
        assert_eq!(max_frame_for(1 << 20) as usize + 8, 1 << 19);
    }

    #[test]
    fn atomic_words_have_their_own_lines() {
        let offs = [
            OFF_FLAGS,
            OFF_SQ_HEAD,
            OFF_SQ_TAIL,
            OFF_CQ_HEAD,
            OFF_CQ_TAIL,
        ];
        for w in offs.windows(2) {
            assert!(w[1] - w[0] >= 128);
        }
        const { assert!(OFF_TOTAL_BYTES + 8 <= OFF_FLAGS) };
        const { assert!(OFF_CQ_TAIL + 128 <= HEADER_BYTES) };
    }

    #[test]
    fn header_word_round_trips() {
        let w = record_header(FRAME_TAG, 1234);
        assert_eq!(split_header(w), (FRAME_TAG, 1234));
        assert_ne!(FRAME_TAG, SKIP_TAG);
    }
}
