//! The shared region: creation (`memfd_create` + `mmap(MAP_SHARED)`),
//! mapping a peer's region from its fd, and taking the four handles.

use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::AtomicU8;

use crate::error::{Endpoint, RegionError, RingId, SizeField};
#[cfg(not(loom))]
use crate::error::{Errno, HeaderField, RegionCall};
use crate::layout::{self, flags};
use crate::ring::{Consumer, Producer, RingView};
use crate::shim::{AtomicU32, DataWord, Ordering, WaitQueue};

/// The sizes of a region's two rings and the largest frame either carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RegionSizes {
    /// SQ capacity in bytes: a power of two in
    /// [`MIN_RING_BYTES`](layout::MIN_RING_BYTES)..=[`MAX_RING_BYTES`](layout::MAX_RING_BYTES).
    pub sq_bytes: u32,
    /// CQ capacity in bytes, same rules.
    pub cq_bytes: u32,
    /// Largest frame payload in bytes, at least 1 and at most
    /// [`max_frame_for`](layout::max_frame_for) of the smaller ring.
    pub max_frame: u32,
}

/// Where things are in a region of given sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub(crate) sizes: RegionSizes,
    pub(crate) sq_offset: usize,
    pub(crate) cq_offset: usize,
    pub(crate) total: usize,
}

impl RegionSizes {
    /// `sizes.validate()` — checks the rules on each field; returns the first
    /// field that breaks one ([`RegionError::NotPowerOfTwo`] or
    /// [`RegionError::SizeOutOfRange`]).
    pub fn validate(&self) -> Result<(), RegionError> {
        for (field, value) in [
            (SizeField::SqBytes, self.sq_bytes),
            (SizeField::CqBytes, self.cq_bytes),
        ] {
            if !value.is_power_of_two() {
                return Err(RegionError::NotPowerOfTwo { field, value });
            }
            if !(layout::MIN_RING_BYTES..=layout::MAX_RING_BYTES).contains(&value) {
                return Err(RegionError::SizeOutOfRange {
                    field,
                    value,
                    min: layout::MIN_RING_BYTES,
                    max: layout::MAX_RING_BYTES,
                });
            }
        }
        let max = layout::max_frame_for(self.sq_bytes.min(self.cq_bytes));
        if !(1..=max).contains(&self.max_frame) {
            return Err(RegionError::SizeOutOfRange {
                field: SizeField::MaxFrame,
                value: self.max_frame,
                min: 1,
                max,
            });
        }
        Ok(())
    }

    pub(crate) fn geometry(&self) -> Result<Geometry, RegionError> {
        self.validate()?;
        let sq_offset = layout::HEADER_BYTES;
        let cq_offset = sq_offset + layout::round_to_page(self.sq_bytes as usize);
        let total = cq_offset + layout::round_to_page(self.cq_bytes as usize);
        Ok(Geometry {
            sizes: *self,
            sq_offset,
            cq_offset,
            total,
        })
    }
}

/// The memory behind a region and what this process knows about it.
pub(crate) struct Mapping {
    #[cfg(not(loom))]
    base: NonNull<u8>,
    #[cfg(not(loom))]
    fd: std::os::fd::OwnedFd,
    #[cfg(loom)]
    mem: LoomMemory,
    pub(crate) waits: WaitQueue,
    taken: AtomicU8,
    pub(crate) geometry: Geometry,
}

/// Under loom the "shared memory" is ordinary heap memory holding loom types.
#[cfg(loom)]
struct LoomMemory {
    flags: AtomicU32,
    sq_head: AtomicU32,
    sq_tail: AtomicU32,
    cq_head: AtomicU32,
    cq_tail: AtomicU32,
    /// Frame counters beside the four indices, in the order above.
    frames: [AtomicU32; 4],
    sq: Box<[DataWord]>,
    cq: Box<[DataWord]>,
}

// SAFETY: the pointers address a MAP_SHARED mapping owned by this value (or,
// under loom, heap memory it owns); every shared word is an atomic (or a loom
// cell whose accesses loom checks), so sharing across threads is sound.
unsafe impl Send for Mapping {}
// SAFETY: as above; `&Mapping` only hands out atomics and the data slice,
// whose words are atomics too.
unsafe impl Sync for Mapping {}

#[cfg(not(loom))]
impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `base`/`total` are exactly what mmap returned and was given;
        // every reference into the mapping borrows a `RingView` or `Region`
        // holding this `Arc<Mapping>`, so none outlives this drop.
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.geometry.total);
        }
    }
}

impl Mapping {
    #[cfg(not(loom))]
    fn word32(&self, offset: usize) -> &AtomicU32 {
        debug_assert!(offset.is_multiple_of(4) && offset + 4 <= layout::HEADER_BYTES);
        // SAFETY: `offset` is a header constant inside the mapping, 4-aligned
        // (the base is page-aligned); the mapping lives as long as `self`;
        // an atomic may alias memory another process writes.
        unsafe { AtomicU32::from_ptr(self.base.as_ptr().add(offset).cast()) }
    }

    pub(crate) fn flags(&self) -> &AtomicU32 {
        #[cfg(not(loom))]
        return self.word32(layout::OFF_FLAGS);
        #[cfg(loom)]
        return &self.mem.flags;
    }

    fn index(&self, ring: RingId, tail: bool) -> &AtomicU32 {
        #[cfg(not(loom))]
        return self.word32(match (ring, tail) {
            (RingId::Sq, false) => layout::OFF_SQ_HEAD,
            (RingId::Sq, true) => layout::OFF_SQ_TAIL,
            (RingId::Cq, false) => layout::OFF_CQ_HEAD,
            (RingId::Cq, true) => layout::OFF_CQ_TAIL,
        });
        #[cfg(loom)]
        return match (ring, tail) {
            (RingId::Sq, false) => &self.mem.sq_head,
            (RingId::Sq, true) => &self.mem.sq_tail,
            (RingId::Cq, false) => &self.mem.cq_head,
            (RingId::Cq, true) => &self.mem.cq_tail,
        };
    }

    /// The frame counter beside an index: frames consumed (head) or
    /// published (tail).
    fn frames(&self, ring: RingId, tail: bool) -> &AtomicU32 {
        #[cfg(not(loom))]
        return self.word32(
            match (ring, tail) {
                (RingId::Sq, false) => layout::OFF_SQ_HEAD,
                (RingId::Sq, true) => layout::OFF_SQ_TAIL,
                (RingId::Cq, false) => layout::OFF_CQ_HEAD,
                (RingId::Cq, true) => layout::OFF_CQ_TAIL,
            } + layout::FRAMES_AFTER_INDEX,
        );
        #[cfg(loom)]
        return &self.mem.frames[match (ring, tail) {
            (RingId::Sq, false) => 0,
            (RingId::Sq, true) => 1,
            (RingId::Cq, false) => 2,
            (RingId::Cq, true) => 3,
        }];
    }

    fn data(&self, ring: RingId) -> NonNull<DataWord> {
        #[cfg(not(loom))]
        {
            let offset = match ring {
                RingId::Sq => self.geometry.sq_offset,
                RingId::Cq => self.geometry.cq_offset,
            };
            // SAFETY: the ring's offset is inside the mapping (geometry was
            // validated against the mapped length).
            unsafe { self.base.add(offset).cast() }
        }
        #[cfg(loom)]
        {
            let words = match ring {
                RingId::Sq => &self.mem.sq,
                RingId::Cq => &self.mem.cq,
            };
            // From the whole slice, so the pointer may reach every word.
            NonNull::from(&**words).cast()
        }
    }

    fn capacity(&self, ring: RingId) -> u32 {
        match ring {
            RingId::Sq => self.geometry.sizes.sq_bytes,
            RingId::Cq => self.geometry.sizes.cq_bytes,
        }
    }
}

/// A shared-memory region holding an SQ and a CQ byte ring.
///
/// Created with [`Region::create`] (a sealed memfd) or mapped from a peer's fd
/// with [`Region::map`]. Each of the four handles can be taken once per
/// process; a handle keeps the mapping alive after the `Region` is dropped.
/// `Region` is `Send + Sync` and cheap to clone (an `Arc`).
#[derive(Clone)]
pub struct Region {
    map: Arc<Mapping>,
}

impl std::fmt::Debug for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Region")
            .field("sizes", &self.map.geometry.sizes)
            .field("total_bytes", &self.map.geometry.total)
            .finish()
    }
}

#[cfg(not(loom))]
pub(crate) fn errno(call: RegionCall) -> RegionError {
    RegionError::Syscall {
        call,
        errno: Errno::last(),
    }
}

/// `mmap(NULL, len, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0)` — a fresh
/// shared mapping of a region's or an arena's file.
///
/// Errors: [`RegionError::Syscall`] (`mmap`).
#[cfg(not(loom))]
pub(crate) fn map_shared(
    fd: &std::os::fd::OwnedFd,
    len: usize,
) -> Result<NonNull<u8>, RegionError> {
    use std::os::fd::AsRawFd;
    // SAFETY: a fresh shared mapping of our own fd; no existing memory is
    // affected.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd.as_raw_fd(),
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(errno(RegionCall::Mmap));
    }
    NonNull::new(ptr.cast::<u8>()).ok_or(RegionError::Syscall {
        call: RegionCall::Mmap,
        errno: Errno::EFAULT,
    })
}

/// The length of the shared file `raw` (a region's or an arena's), which
/// must be sealed against shrinking so the peer cannot make our accesses
/// fault.
///
/// Errors: [`RegionError::Syscall`] (`F_GET_SEALS` — `EINVAL` for a file
/// that is not a memfd —, `fstat`), [`RegionError::NotSealed`].
#[cfg(not(loom))]
pub(crate) fn sealed_len(raw: std::os::fd::RawFd) -> Result<u64, RegionError> {
    // SAFETY: plain syscall; F_GET_SEALS takes no pointer.
    let seals = unsafe { libc::fcntl(raw, libc::F_GET_SEALS) };
    if seals < 0 {
        return Err(errno(RegionCall::GetSeals));
    }
    if seals & libc::F_SEAL_SHRINK == 0 {
        return Err(RegionError::NotSealed { seals });
    }
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` is valid for a `struct stat` write.
    if unsafe { libc::fstat(raw, st.as_mut_ptr()) } < 0 {
        return Err(errno(RegionCall::Fstat));
    }
    // SAFETY: fstat succeeded, so it filled `st`.
    Ok(u64::try_from(unsafe { st.assume_init() }.st_size).unwrap_or(0))
}

impl Region {
    /// `Region::create(sizes)` — creates a sealed memfd of the right size
    /// (`memfd_create` + `ftruncate` + `F_SEAL_SHRINK | F_SEAL_GROW |
    /// F_SEAL_SEAL`), maps it `MAP_SHARED` and writes the header.
    ///
    /// Errors: [`RegionError::NotPowerOfTwo`] / [`RegionError::SizeOutOfRange`]
    /// for bad sizes, [`RegionError::Syscall`] naming the call that failed.
    #[cfg(not(loom))]
    pub fn create(sizes: RegionSizes) -> Result<Region, RegionError> {
        use std::os::fd::{FromRawFd, OwnedFd};

        let geometry = sizes.geometry()?;
        // SAFETY: the name is a NUL-terminated literal.
        let raw = unsafe {
            libc::memfd_create(
                c"sysgate-ring".as_ptr(),
                libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
            )
        };
        if raw < 0 {
            return Err(errno(RegionCall::MemfdCreate));
        }
        // SAFETY: memfd_create returned a new fd that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: plain syscall on an fd we own.
        if unsafe { libc::ftruncate(raw, geometry.total as libc::off_t) } < 0 {
            return Err(errno(RegionCall::Ftruncate));
        }
        let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;
        // SAFETY: plain syscall on an fd we own.
        if unsafe { libc::fcntl(raw, libc::F_ADD_SEALS, seals) } < 0 {
            return Err(errno(RegionCall::AddSeals));
        }
        let map = Self::mmap(fd, geometry)?;
        map.write_header();
        Ok(Region { map: Arc::new(map) })
    }

    /// `Region::create(sizes)` — under loom: the same rings in heap memory.
    ///
    /// Errors: bad sizes, as in the real `create`.
    #[cfg(loom)]
    pub fn create(sizes: RegionSizes) -> Result<Region, RegionError> {
        let geometry = sizes.geometry()?;
        let words = |bytes: u32| (0..bytes / 8).map(|_| DataWord::new()).collect();
        let mem = LoomMemory {
            flags: AtomicU32::new(0),
            sq_head: AtomicU32::new(0),
            sq_tail: AtomicU32::new(0),
            cq_head: AtomicU32::new(0),
            cq_tail: AtomicU32::new(0),
            frames: std::array::from_fn(|_| AtomicU32::new(0)),
            sq: words(sizes.sq_bytes),
            cq: words(sizes.cq_bytes),
        };
        Ok(Region {
            map: Arc::new(Mapping {
                mem,
                waits: WaitQueue::default(),
                taken: AtomicU8::new(0),
                geometry,
            }),
        })
    }

    /// `Region::map(fd)` — maps a region another process created (its memfd,
    /// inherited or received over a Unix socket with `SCM_RIGHTS`).
    ///
    /// Nothing in the header is trusted: the file must be sealed against
    /// shrinking (so the peer cannot make our accesses fault), and the magic,
    /// version, sizes, offsets and length must all match the one layout those
    /// sizes imply. The values are copied out once; later changes to the
    /// header by the peer are ignored.
    ///
    /// Errors: [`RegionError::Syscall`] (`fstat`, `F_GET_SEALS` — `EINVAL`
    /// for a file that is not a memfd — or `mmap`),
    /// [`RegionError::NotSealed`], [`RegionError::TooShort`],
    /// [`RegionError::BadMagic`], [`RegionError::UnsupportedVersion`], size
    /// errors, [`RegionError::BadHeader`], [`RegionError::LengthMismatch`].
    #[cfg(not(loom))]
    pub fn map(fd: std::os::fd::OwnedFd) -> Result<Region, RegionError> {
        use std::os::fd::AsRawFd;

        let raw = fd.as_raw_fd();
        let file_len = sealed_len(raw)?;
        if file_len < layout::HEADER_BYTES as u64 {
            return Err(RegionError::TooShort { len: file_len });
        }
        // First map only the header, read it once, then map the whole region
        // at the length the header's sizes imply.
        let header = Self::read_header(&fd)?;
        let geometry = header.check()?;
        if file_len != geometry.total as u64 {
            return Err(RegionError::LengthMismatch {
                file: file_len,
                header: geometry.total as u64,
            });
        }
        let map = Self::mmap(fd, geometry)?;
        Ok(Region { map: Arc::new(map) })
    }

    #[cfg(not(loom))]
    fn mmap(fd: std::os::fd::OwnedFd, geometry: Geometry) -> Result<Mapping, RegionError> {
        let base = map_shared(&fd, geometry.total)?;
        Ok(Mapping {
            base,
            fd,
            waits: WaitQueue,
            taken: AtomicU8::new(0),
            geometry,
        })
    }

    #[cfg(not(loom))]
    fn read_header(fd: &std::os::fd::OwnedFd) -> Result<RawHeader, RegionError> {
        use std::os::fd::AsRawFd;
        use std::sync::atomic::AtomicU64;
        // SAFETY: a fresh read-only shared mapping of one header page.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                layout::HEADER_BYTES,
                libc::PROT_READ,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(errno(RegionCall::Mmap));
        }
        let base = ptr.cast::<u8>();
        let u32_at = |off: usize| {
            // SAFETY: `off` is a 4-aligned header constant inside the page;
            // atomic (Relaxed) loads, because the peer may be writing.
            unsafe { AtomicU32::from_ptr(base.add(off).cast()) }.load(Ordering::Relaxed)
        };
        let u64_at = |off: usize| {
            // SAFETY: `off` is an 8-aligned header constant inside the page.
            unsafe { AtomicU64::from_ptr(base.add(off).cast()) }.load(Ordering::Relaxed)
        };
        let header = RawHeader {
            magic: u64_at(layout::OFF_MAGIC),
            version: u32_at(layout::OFF_VERSION),
            header_bytes: u32_at(layout::OFF_HEADER_BYTES),
            sq_offset: u32_at(layout::OFF_SQ_OFFSET),
            sq_bytes: u32_at(layout::OFF_SQ_BYTES),
            cq_offset: u32_at(layout::OFF_CQ_OFFSET),
            cq_bytes: u32_at(layout::OFF_CQ_BYTES),
            max_frame: u32_at(layout::OFF_MAX_FRAME),
            reserved: u32_at(layout::OFF_RESERVED),
            total_bytes: u64_at(layout::OFF_TOTAL_BYTES),
        };
        // SAFETY: unmapping exactly the page mapped above; nothing borrows it.
        unsafe { libc::munmap(ptr, layout::HEADER_BYTES) };
        Ok(header)
    }

    /// `region.fd()` — the memfd, to pass to a peer (inherit it, or send it
    /// with `SCM_RIGHTS`). It is `O_CLOEXEC`.
    #[cfg(not(loom))]
    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.map.fd.as_fd()
    }

    /// `region.sizes()` — the sizes of this region.
    pub fn sizes(&self) -> RegionSizes {
        self.map.geometry.sizes
    }

    /// `region.total_bytes()` — the length of the whole region (header and
    /// both rings).
    pub fn total_bytes(&self) -> usize {
        self.map.geometry.total
    }

    /// `region.cq_overflow()` — whether the completion side currently holds
    /// completions in its backlog because the CQ was full. The submit side
    /// should reap completions and hold back new submissions while it is set
    /// (io_uring answers `-EBUSY` here).
    pub fn cq_overflow(&self) -> bool {
        // Acquire: pairs with the Release RMWs in `CompletionPoster` that set
        // and clear the bit.
        self.map.flags().load(Ordering::Acquire) & flags::CQ_OVERFLOW != 0
    }

    /// `region.flags()` — a snapshot of the shared flags word (bits in
    /// [`layout::flags`]); for diagnostics and tests.
    pub fn flags(&self) -> u32 {
        // Acquire: pairs with the Release RMWs that set flag bits.
        self.map.flags().load(Ordering::Acquire)
    }

    /// `region.sq_producer()` — the SQ's producer handle (submit side).
    ///
    /// Errors: [`RegionError::HandleTaken`] if taken before in this process;
    /// [`RegionError::Corrupt`] if the shared indices are already corrupt.
    pub fn sq_producer(&self) -> Result<Producer, RegionError> {
        self.take(Endpoint::SqProducer, || {
            Producer::new(self.view(RingId::Sq))
        })
    }

    /// `region.sq_consumer()` — the SQ's consumer handle (executor side).
    ///
    /// Errors: as [`Region::sq_producer`].
    pub fn sq_consumer(&self) -> Result<Consumer, RegionError> {
        self.take(Endpoint::SqConsumer, || {
            Consumer::new(self.view(RingId::Sq))
        })
    }

    /// `region.cq_producer()` — the CQ's producer handle (executor side);
    /// wrap it in a [`CompletionPoster`](crate::CompletionPoster) to get the
    /// overflow backlog.
    ///
    /// Errors: as [`Region::sq_producer`].
    pub fn cq_producer(&self) -> Result<Producer, RegionError> {
        self.take(Endpoint::CqProducer, || {
            Producer::new(self.view(RingId::Cq))
        })
    }

    /// `region.cq_consumer()` — the CQ's consumer handle (submit side).
    ///
    /// Errors: as [`Region::sq_producer`].
    pub fn cq_consumer(&self) -> Result<Consumer, RegionError> {
        self.take(Endpoint::CqConsumer, || {
            Consumer::new(self.view(RingId::Cq))
        })
    }

    fn take<T>(
        &self,
        endpoint: Endpoint,
        make: impl FnOnce() -> Result<T, crate::RingError>,
    ) -> Result<T, RegionError> {
        let bit = 1u8 << endpoint as u8;
        // Relaxed: a per-process claim bit; nothing else is published with it.
        if self
            .map
            .taken
            .fetch_or(bit, std::sync::atomic::Ordering::Relaxed)
            & bit
            != 0
        {
            return Err(RegionError::HandleTaken(endpoint));
        }
        make().map_err(|e| {
            // Relaxed: as above; give the claim back so a retry is possible.
            self.map
                .taken
                .fetch_and(!bit, std::sync::atomic::Ordering::Relaxed);
            RegionError::Corrupt(e)
        })
    }

    fn view(&self, ring: RingId) -> RingView {
        let map = &self.map;
        RingView::new(
            ring,
            NonNull::from(map.index(ring, false)),
            NonNull::from(map.index(ring, true)),
            NonNull::from(map.frames(ring, false)),
            NonNull::from(map.frames(ring, true)),
            NonNull::from(map.flags()),
            map.data(ring),
            map.capacity(ring),
            map.geometry.sizes.max_frame,
            Arc::clone(map),
        )
    }

    /// Writes `bytes` at `offset` of the mapping, as a hostile peer would.
    /// Only for the fuzz body and tests; callers make sure no handle of this
    /// process is in use at the same time.
    #[cfg(not(loom))]
    pub(crate) fn scribble(&self, offset: usize, bytes: &[u8]) {
        let total = self.map.geometry.total;
        let offset = offset.min(total);
        let n = bytes.len().min(total - offset);
        for (i, &b) in bytes[..n].iter().enumerate() {
            // SAFETY: `offset + i < total`, inside the mapping; an atomic byte
            // store, and no access from this process runs concurrently.
            unsafe {
                std::sync::atomic::AtomicU8::from_ptr(self.map.base.as_ptr().add(offset + i))
            }
            .store(b, Ordering::Relaxed);
        }
    }
}

#[cfg(all(test, not(loom)))]
impl Region {
    /// Reads the u32 at `offset` of the mapping (tests only).
    pub(crate) fn peek_u32(&self, offset: usize) -> u32 {
        assert!(offset.is_multiple_of(4) && offset + 4 <= self.map.geometry.total);
        // SAFETY: in bounds and aligned (checked above); an atomic load.
        unsafe { AtomicU32::from_ptr(self.map.base.as_ptr().add(offset).cast()) }
            .load(Ordering::Relaxed)
    }

    /// Writes the u32 at `offset` of the mapping (tests only).
    pub(crate) fn poke_u32(&self, offset: usize, value: u32) {
        self.scribble(offset, &value.to_ne_bytes());
    }
}

#[cfg(not(loom))]
impl Mapping {
    fn write_header(&self) {
        use std::sync::atomic::AtomicU64;
        let g = &self.geometry;
        let u64_at = |off: usize, v: u64| {
            // SAFETY: `off` is an 8-aligned header constant inside the mapping.
            unsafe { AtomicU64::from_ptr(self.base.as_ptr().add(off).cast()) }
                .store(v, Ordering::Relaxed)
        };
        // Relaxed everywhere: the region is not shared yet; passing its fd to
        // a peer (a syscall) orders these stores before the peer's reads.
        u64_at(layout::OFF_MAGIC, layout::MAGIC);
        u64_at(layout::OFF_TOTAL_BYTES, g.total as u64);
        for (off, v) in [
            (layout::OFF_VERSION, layout::VERSION),
            (layout::OFF_HEADER_BYTES, layout::HEADER_BYTES as u32),
            (layout::OFF_SQ_OFFSET, g.sq_offset as u32),
            (layout::OFF_SQ_BYTES, g.sizes.sq_bytes),
            (layout::OFF_CQ_OFFSET, g.cq_offset as u32),
            (layout::OFF_CQ_BYTES, g.sizes.cq_bytes),
            (layout::OFF_MAX_FRAME, g.sizes.max_frame),
            (layout::OFF_RESERVED, 0),
        ] {
            self.word32(off).store(v, Ordering::Relaxed);
        }
    }
}

/// Header values as read once from a peer's region.
#[cfg(not(loom))]
struct RawHeader {
    magic: u64,
    version: u32,
    header_bytes: u32,
    sq_offset: u32,
    sq_bytes: u32,
    cq_offset: u32,
    cq_bytes: u32,
    max_frame: u32,
    reserved: u32,
    total_bytes: u64,
}

#[cfg(not(loom))]
impl RawHeader {
    fn check(&self) -> Result<Geometry, RegionError> {
        if self.magic != layout::MAGIC {
            return Err(RegionError::BadMagic { found: self.magic });
        }
        if self.version != layout::VERSION {
            return Err(RegionError::UnsupportedVersion {
                found: self.version,
            });
        }
        let geometry = RegionSizes {
            sq_bytes: self.sq_bytes,
            cq_bytes: self.cq_bytes,
            max_frame: self.max_frame,
        }
        .geometry()?;
        for (field, found, expected) in [
            (
                HeaderField::HeaderBytes,
                u64::from(self.header_bytes),
                layout::HEADER_BYTES as u64,
            ),
            (
                HeaderField::SqOffset,
                u64::from(self.sq_offset),
                geometry.sq_offset as u64,
            ),
            (
                HeaderField::CqOffset,
                u64::from(self.cq_offset),
                geometry.cq_offset as u64,
            ),
            (HeaderField::Reserved, u64::from(self.reserved), 0),
            (
                HeaderField::TotalBytes,
                self.total_bytes,
                geometry.total as u64,
            ),
        ] {
            if found != expected {
                return Err(RegionError::BadHeader {
                    field,
                    found,
                    expected,
                });
            }
        }
        Ok(geometry)
    }
}
