//! Typed errors: each names the ring, the call or the field that failed.

use std::fmt;

pub use nix::errno::Errno;

/// Which of the two rings of a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RingId {
    /// The submission ring (client → executor).
    Sq,
    /// The completion ring (executor → client).
    Cq,
}

impl fmt::Display for RingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RingId::Sq => "SQ",
            RingId::Cq => "CQ",
        })
    }
}

/// Which index word of a ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexKind {
    /// The consumer's index (where the next frame is read).
    Head,
    /// The producer's index (where the next frame is written).
    Tail,
}

impl fmt::Display for IndexKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IndexKind::Head => "head",
            IndexKind::Tail => "tail",
        })
    }
}

/// The futex operation that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FutexOp {
    /// `FUTEX_WAIT`.
    Wait,
    /// `FUTEX_WAKE`.
    Wake,
}

/// A ring's shared state is inconsistent (a corrupt or hostile peer), or a
/// futex call failed. Returned instead of reading out of bounds, panicking or
/// looping; the handle stays usable and returns the same error until the
/// shared state is sane again.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RingError {
    /// The peer's index is more than a ring's capacity away from ours (or
    /// behind it).
    IndexOutOfRange {
        /// The ring.
        ring: RingId,
        /// The index the peer wrote.
        index: IndexKind,
        /// Head as this side sees it.
        head: u32,
        /// Tail as this side sees it.
        tail: u32,
        /// Ring capacity in bytes.
        capacity: u32,
    },
    /// The peer's index is not a multiple of 8.
    MisalignedIndex {
        /// The ring.
        ring: RingId,
        /// The index the peer wrote.
        index: IndexKind,
        /// Its value.
        value: u32,
    },
    /// A record header carries neither the frame nor the skip tag.
    BadRecordTag {
        /// The ring.
        ring: RingId,
        /// Byte offset of the record in the ring.
        offset: u32,
        /// The tag found.
        tag: u32,
    },
    /// A frame record claims more bytes than the region's maximum frame.
    FrameTooLarge {
        /// The ring.
        ring: RingId,
        /// Byte offset of the record in the ring.
        offset: u32,
        /// The length found.
        len: u32,
        /// The maximum frame size.
        max: u32,
    },
    /// A record extends past the published tail.
    RecordPastTail {
        /// The ring.
        ring: RingId,
        /// Byte offset of the record in the ring.
        offset: u32,
        /// Bytes the record takes.
        record: u32,
        /// Bytes published beyond the head.
        available: u32,
    },
    /// A frame record would run past the end of the ring (records never wrap).
    RecordWraps {
        /// The ring.
        ring: RingId,
        /// Byte offset of the record in the ring.
        offset: u32,
        /// Bytes the record takes.
        record: u32,
    },
    /// A skip record does not pad exactly to the end of the ring, or sits at
    /// offset 0.
    BadSkip {
        /// The ring.
        ring: RingId,
        /// Byte offset of the record in the ring.
        offset: u32,
        /// The padding length it claims.
        len: u32,
    },
    /// A frame handed to a wait can never fit: it exceeds the maximum frame.
    FrameExceedsMax {
        /// The ring.
        ring: RingId,
        /// The frame's length.
        len: usize,
        /// The maximum frame size.
        max: u32,
    },
    /// A futex call failed (this does not happen with a valid mapping; the
    /// errno says what the kernel objected to).
    Futex {
        /// The ring.
        ring: RingId,
        /// Which futex operation.
        op: FutexOp,
        /// The kernel's error.
        errno: Errno,
    },
}

impl fmt::Display for RingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RingError::IndexOutOfRange {
                ring,
                index,
                head,
                tail,
                capacity,
            } => write!(
                f,
                "{ring} {index} out of range: head {head}, tail {tail}, capacity {capacity}"
            ),
            RingError::MisalignedIndex { ring, index, value } => {
                write!(f, "{ring} {index} {value} is not a multiple of 8")
            }
            RingError::BadRecordTag { ring, offset, tag } => {
                write!(
                    f,
                    "{ring} record at offset {offset} has unknown tag {tag:#010x}"
                )
            }
            RingError::FrameTooLarge {
                ring,
                offset,
                len,
                max,
            } => write!(
                f,
                "{ring} frame at offset {offset} claims {len} bytes, more than the maximum {max}"
            ),
            RingError::RecordPastTail {
                ring,
                offset,
                record,
                available,
            } => write!(
                f,
                "{ring} record at offset {offset} takes {record} bytes but only {available} are published"
            ),
            RingError::RecordWraps {
                ring,
                offset,
                record,
            } => write!(
                f,
                "{ring} record at offset {offset} of {record} bytes runs past the end of the ring"
            ),
            RingError::BadSkip { ring, offset, len } => write!(
                f,
                "{ring} skip record at offset {offset} claims {len} bytes, not the distance to the end of the ring"
            ),
            RingError::FrameExceedsMax { ring, len, max } => {
                write!(f, "{ring} frame of {len} bytes exceeds the maximum {max}")
            }
            RingError::Futex { ring, op, errno } => {
                let op = match op {
                    FutexOp::Wait => "FUTEX_WAIT",
                    FutexOp::Wake => "FUTEX_WAKE",
                };
                write!(f, "{op} on the {ring} failed: {errno}")
            }
        }
    }
}

impl std::error::Error for RingError {}

/// Why a frame was not pushed. Every variant that leaves the frame unpushed
/// hands it back.
#[non_exhaustive]
pub enum PushError<F> {
    /// The ring has no room for the frame now; retry after the consumer frees
    /// space (see `Producer::wait_for_space`).
    Full(F),
    /// The frame is longer than the region's maximum frame; it will never fit.
    TooLarge {
        /// The frame.
        frame: F,
        /// The maximum frame size.
        max: u32,
    },
    /// The consumer's head index is corrupt.
    Corrupt {
        /// The frame.
        frame: F,
        /// What is wrong.
        error: RingError,
    },
    /// The frame **was** published, but waking the sleeping consumer failed
    /// (a `FUTEX_WAKE` error; this does not happen with a valid mapping).
    WakeFailed(RingError),
}

impl<F> PushError<F> {
    /// The frame, if it was not pushed.
    pub fn into_frame(self) -> Option<F> {
        match self {
            PushError::Full(frame)
            | PushError::TooLarge { frame, .. }
            | PushError::Corrupt { frame, .. } => Some(frame),
            PushError::WakeFailed(_) => None,
        }
    }

    /// Whether this is [`PushError::Full`].
    pub fn is_full(&self) -> bool {
        matches!(self, PushError::Full(_))
    }
}

impl<F: AsRef<[u8]>> fmt::Debug for PushError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::Full(frame) => write!(f, "Full({} bytes)", frame.as_ref().len()),
            PushError::TooLarge { frame, max } => write!(
                f,
                "TooLarge {{ frame: {} bytes, max: {max} }}",
                frame.as_ref().len()
            ),
            PushError::Corrupt { frame, error } => write!(
                f,
                "Corrupt {{ frame: {} bytes, error: {error:?} }}",
                frame.as_ref().len()
            ),
            PushError::WakeFailed(error) => write!(f, "WakeFailed({error:?})"),
        }
    }
}

impl<F: AsRef<[u8]>> fmt::Display for PushError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::Full(frame) => write!(
                f,
                "ring full: no room for a {}-byte frame",
                frame.as_ref().len()
            ),
            PushError::TooLarge { frame, max } => write!(
                f,
                "frame of {} bytes exceeds the maximum frame of {max} bytes",
                frame.as_ref().len()
            ),
            PushError::Corrupt { error, .. } => write!(f, "frame not pushed: {error}"),
            PushError::WakeFailed(error) => {
                write!(f, "frame pushed, but the consumer was not woken: {error}")
            }
        }
    }
}

impl<F: AsRef<[u8]>> std::error::Error for PushError<F> {}

/// One of the four handles of a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// Writes submissions.
    SqProducer,
    /// Reads submissions.
    SqConsumer,
    /// Writes completions.
    CqProducer,
    /// Reads completions.
    CqConsumer,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Endpoint::SqProducer => "SQ producer",
            Endpoint::SqConsumer => "SQ consumer",
            Endpoint::CqProducer => "CQ producer",
            Endpoint::CqConsumer => "CQ consumer",
        })
    }
}

/// A field of [`RegionSizes`](crate::RegionSizes) or of a mapped header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SizeField {
    /// SQ bytes.
    SqBytes,
    /// CQ bytes.
    CqBytes,
    /// Maximum frame bytes.
    MaxFrame,
}

impl fmt::Display for SizeField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SizeField::SqBytes => "sq_bytes",
            SizeField::CqBytes => "cq_bytes",
            SizeField::MaxFrame => "max_frame",
        })
    }
}

/// A header field checked by [`Region::map`](crate::Region::map).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeaderField {
    /// The header size.
    HeaderBytes,
    /// The SQ offset.
    SqOffset,
    /// The CQ offset.
    CqOffset,
    /// The reserved word.
    Reserved,
    /// The total size.
    TotalBytes,
}

impl fmt::Display for HeaderField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HeaderField::HeaderBytes => "header bytes",
            HeaderField::SqOffset => "SQ offset",
            HeaderField::CqOffset => "CQ offset",
            HeaderField::Reserved => "reserved word",
            HeaderField::TotalBytes => "total bytes",
        })
    }
}

/// A system call made while creating or mapping a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegionCall {
    /// `memfd_create`.
    MemfdCreate,
    /// `ftruncate`.
    Ftruncate,
    /// `fcntl(F_ADD_SEALS)`.
    AddSeals,
    /// `fcntl(F_GET_SEALS)`.
    GetSeals,
    /// `fstat`.
    Fstat,
    /// `mmap`.
    Mmap,
}

impl fmt::Display for RegionCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RegionCall::MemfdCreate => "memfd_create",
            RegionCall::Ftruncate => "ftruncate",
            RegionCall::AddSeals => "fcntl(F_ADD_SEALS)",
            RegionCall::GetSeals => "fcntl(F_GET_SEALS)",
            RegionCall::Fstat => "fstat",
            RegionCall::Mmap => "mmap",
        })
    }
}

/// Why a region or an arena could not be created or mapped, a handle not
/// taken, or an arena range not used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegionError {
    /// A size is not a power of two.
    NotPowerOfTwo {
        /// Which size.
        field: SizeField,
        /// Its value.
        value: u32,
    },
    /// A size is outside its allowed range.
    SizeOutOfRange {
        /// Which size.
        field: SizeField,
        /// Its value.
        value: u32,
        /// Smallest allowed.
        min: u32,
        /// Largest allowed.
        max: u32,
    },
    /// A system call failed.
    Syscall {
        /// Which call.
        call: RegionCall,
        /// The kernel's error.
        errno: Errno,
    },
    /// The fd's file is shorter than a header.
    TooShort {
        /// The file's length.
        len: u64,
    },
    /// The header does not start with [`MAGIC`](crate::layout::MAGIC).
    BadMagic {
        /// The first eight bytes.
        found: u64,
    },
    /// The header has a version this crate does not speak.
    UnsupportedVersion {
        /// The version found.
        found: u32,
    },
    /// A header field does not match the layout its sizes imply.
    BadHeader {
        /// Which field.
        field: HeaderField,
        /// The value found.
        found: u64,
        /// The value the layout requires.
        expected: u64,
    },
    /// The file's length differs from the header's total.
    LengthMismatch {
        /// Length of the file.
        file: u64,
        /// Total bytes the header states.
        header: u64,
    },
    /// The memfd is not sealed against shrinking, so a peer could truncate it
    /// and make our accesses fault (`SIGBUS`).
    NotSealed {
        /// The seals found (`F_GET_SEALS`).
        seals: i32,
    },
    /// This handle was already taken from the region in this process.
    HandleTaken(Endpoint),
    /// The shared index the handle starts from is corrupt.
    Corrupt(RingError),
    /// An arena size is not a non-zero multiple of the page size (4,096) up
    /// to `max` (see [`Arena::create`](crate::Arena::create)).
    BadArenaSize {
        /// The size asked for (or the length of the file to map).
        bytes: u64,
        /// The largest arena.
        max: u64,
    },
    /// A range of `len` bytes at `offset` does not lie inside the arena of
    /// `size` bytes (`offset + len` may also overflow).
    OutOfBounds {
        /// Where the range starts.
        offset: u64,
        /// Its length.
        len: u64,
        /// The arena's size.
        size: u64,
    },
}

impl fmt::Display for RegionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegionError::NotPowerOfTwo { field, value } => {
                write!(f, "{field} = {value} is not a power of two")
            }
            RegionError::SizeOutOfRange {
                field,
                value,
                min,
                max,
            } => write!(f, "{field} = {value} is outside {min}..={max}"),
            RegionError::Syscall { call, errno } => write!(f, "{call} failed: {errno}"),
            RegionError::TooShort { len } => {
                write!(f, "region file of {len} bytes is shorter than a header")
            }
            RegionError::BadMagic { found } => {
                write!(
                    f,
                    "region header has magic {found:#018x}, not a sysgate ring"
                )
            }
            RegionError::UnsupportedVersion { found } => write!(
                f,
                "region layout version {found} is not supported (this crate speaks {})",
                crate::layout::VERSION
            ),
            RegionError::BadHeader {
                field,
                found,
                expected,
            } => write!(
                f,
                "region header {field} is {found}, the layout requires {expected}"
            ),
            RegionError::LengthMismatch { file, header } => write!(
                f,
                "region file is {file} bytes but its header says {header}"
            ),
            RegionError::NotSealed { seals } => write!(
                f,
                "region memfd is not sealed against shrinking (seals {seals:#x})"
            ),
            RegionError::HandleTaken(endpoint) => {
                write!(f, "the {endpoint} was already taken from this region")
            }
            RegionError::Corrupt(error) => write!(f, "corrupt ring: {error}"),
            RegionError::BadArenaSize { bytes, max } => write!(
                f,
                "an arena of {bytes} bytes: it must be a non-zero multiple of 4096 up to {max}"
            ),
            RegionError::OutOfBounds { offset, len, size } => write!(
                f,
                "{len} bytes at offset {offset} do not lie inside the {size}-byte arena"
            ),
        }
    }
}

impl std::error::Error for RegionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RegionError::Corrupt(error) => Some(error),
            _ => None,
        }
    }
}

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaitStatus {
    /// What was waited for is there: a frame to read, or room for the frame.
    Ready,
    /// The timeout passed and it is still not there.
    TimedOut,
    /// The sleep ended (a wake-up for too little, a signal, a stale wake) and
    /// it is still not there; wait again if needed.
    Spurious,
}
