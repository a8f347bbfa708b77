//! The buffer arena: a sealed memfd mapped `MAP_SHARED` beside a region's
//! rings, holding the bytes of big buffers so that frames name them by
//! (offset, length) instead of carrying them.
//!
//! Created and shared exactly like a [`Region`](crate::Region): the creator
//! calls [`Arena::create`], a peer maps the same memfd with [`Arena::map`]
//! (inherited, or received with `SCM_RIGHTS`). The crate never hands out a
//! Rust reference into the arena: bytes go in and out through bounds-checked
//! copies ([`Arena::write`], [`Arena::read_to_vec`]) and the kernel reaches
//! them through addresses ([`Arena::address`]). Which party may touch which
//! bytes when is the protocol's business: a range belongs to one request
//! from its submission until its completion is reaped, and only the kernel
//! (on the executor's behalf) touches it in between. A peer that breaks that
//! rule garbles the bytes of the ranges involved, nothing more: every access
//! stays inside the mapping, and bytes have no invalid values.
//!
//! Pages cost nothing until touched; [`Arena::discard`] gives a range's
//! pages back to the system (and the range reads as zeros afterwards).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::Arc;

use crate::error::{RegionCall, RegionError};
use crate::layout::PAGE_BYTES;
use crate::region::{errno, map_shared, sealed_len};

/// The largest arena [`Arena::create`] makes and [`Arena::map`] accepts:
/// 64 GiB of address space.
pub const MAX_ARENA_BYTES: usize = 64 << 30;

/// A shared-memory buffer arena. Cheap to clone (an `Arc`); the mapping
/// lives until the last clone is dropped.
#[derive(Clone)]
pub struct Arena {
    map: Arc<ArenaMapping>,
}

struct ArenaMapping {
    base: NonNull<u8>,
    len: usize,
    fd: OwnedFd,
}

// SAFETY: the pointer addresses a MAP_SHARED mapping owned by this value;
// it is only read and written through bounds-checked raw copies (never
// through references), which any thread may make.
unsafe impl Send for ArenaMapping {}
// SAFETY: as above: `&ArenaMapping` hands out only copies and addresses.
unsafe impl Sync for ArenaMapping {}

impl Drop for ArenaMapping {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` are exactly what mmap returned and was given;
        // no reference into the mapping exists (the crate never makes one),
        // and every `Arena` holding this mapping is gone.
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.len);
        }
    }
}

impl std::fmt::Debug for Arena {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Arena")
            .field("bytes", &self.map.len)
            .finish()
    }
}

fn check_size(bytes: u64) -> Result<usize, RegionError> {
    match usize::try_from(bytes) {
        Ok(len) if len > 0 && len <= MAX_ARENA_BYTES && len.is_multiple_of(PAGE_BYTES) => Ok(len),
        _ => Err(RegionError::BadArenaSize {
            bytes,
            max: MAX_ARENA_BYTES as u64,
        }),
    }
}

impl Arena {
    /// `Arena::create(bytes)` — creates a sealed memfd of `bytes` bytes
    /// (`memfd_create` + `ftruncate` + `F_SEAL_SHRINK | F_SEAL_GROW |
    /// F_SEAL_SEAL`) and maps it `MAP_SHARED`. Its pages are allocated only
    /// when first touched.
    ///
    /// Errors: [`RegionError::BadArenaSize`] unless `bytes` is a non-zero
    /// multiple of 4,096 up to [`MAX_ARENA_BYTES`]; [`RegionError::Syscall`]
    /// naming the call that failed.
    pub fn create(bytes: usize) -> Result<Arena, RegionError> {
        let len = check_size(bytes as u64)?;
        // SAFETY: the name is a NUL-terminated literal.
        let raw = unsafe {
            libc::memfd_create(
                c"sysgate-arena".as_ptr(),
                libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
            )
        };
        if raw < 0 {
            return Err(errno(RegionCall::MemfdCreate));
        }
        // SAFETY: memfd_create returned a new fd that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: plain syscall on an fd we own.
        if unsafe { libc::ftruncate(raw, len as libc::off_t) } < 0 {
            return Err(errno(RegionCall::Ftruncate));
        }
        let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;
        // SAFETY: plain syscall on an fd we own.
        if unsafe { libc::fcntl(raw, libc::F_ADD_SEALS, seals) } < 0 {
            return Err(errno(RegionCall::AddSeals));
        }
        Self::mmap(fd, len)
    }

    /// `Arena::map(fd)` — maps an arena another process created (its memfd,
    /// inherited or received with `SCM_RIGHTS`).
    ///
    /// The file must be sealed against shrinking (so the peer cannot make
    /// our accesses fault) and its length a valid arena size, taken once
    /// from `fstat`.
    ///
    /// Errors: [`RegionError::Syscall`] (`F_GET_SEALS` — `EINVAL` for a file
    /// that is not a memfd —, `fstat`, `mmap`), [`RegionError::NotSealed`],
    /// [`RegionError::BadArenaSize`].
    pub fn map(fd: OwnedFd) -> Result<Arena, RegionError> {
        let file_len = sealed_len(fd.as_raw_fd())?;
        let len = check_size(file_len)?;
        Self::mmap(fd, len)
    }

    fn mmap(fd: OwnedFd, len: usize) -> Result<Arena, RegionError> {
        let base = map_shared(&fd, len)?;
        Ok(Arena {
            map: Arc::new(ArenaMapping { base, len, fd }),
        })
    }

    /// `arena.fd()` — the memfd, to pass to a peer. It is `O_CLOEXEC`.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.map.fd.as_fd()
    }

    /// `arena.len()` — its size in bytes.
    pub fn len(&self) -> usize {
        self.map.len
    }

    /// `arena.is_empty()` — always `false`: an arena has at least one page.
    pub fn is_empty(&self) -> bool {
        self.map.len == 0
    }

    /// `arena.address(offset, len)` — the address of byte `offset`, if the
    /// `len` bytes from there lie inside the arena (`None` otherwise, also
    /// when `offset + len` overflows). This is how the executor turns an
    /// arena reference of a frame into a word for the kernel.
    pub fn address(&self, offset: u64, len: u64) -> Option<u64> {
        self.range(offset, len)
            .map(|start| self.map.base.as_ptr() as u64 + start as u64)
    }

    /// The start of `[offset, offset + len)` as an index, if it lies inside
    /// the arena.
    fn range(&self, offset: u64, len: u64) -> Option<usize> {
        let end = offset.checked_add(len)?;
        (end <= self.map.len as u64).then_some(offset as usize)
    }

    fn out_of_bounds(&self, offset: u64, len: u64) -> RegionError {
        RegionError::OutOfBounds {
            offset,
            len,
            size: self.map.len as u64,
        }
    }

    /// `arena.write(offset, bytes)` — copies `bytes` into the arena at
    /// `offset`.
    ///
    /// Errors: [`RegionError::OutOfBounds`] if they do not fit there (nothing
    /// is written).
    pub fn write(&self, offset: u64, bytes: &[u8]) -> Result<(), RegionError> {
        let start = self
            .range(offset, bytes.len() as u64)
            .ok_or_else(|| self.out_of_bounds(offset, bytes.len() as u64))?;
        // SAFETY: `start..start + bytes.len()` lies inside the live mapping
        // (checked above); the destination is shared memory no Rust reference
        // points into, so the raw copy aliases nothing; `bytes` is a separate
        // allocation of the caller's.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.map.base.as_ptr().add(start),
                bytes.len(),
            );
        }
        Ok(())
    }

    /// `arena.read_to_vec(offset, len)` — a copy of the `len` bytes at
    /// `offset`.
    ///
    /// Errors: [`RegionError::OutOfBounds`] if they are not all inside the
    /// arena.
    pub fn read_to_vec(&self, offset: u64, len: u64) -> Result<Vec<u8>, RegionError> {
        let start = self
            .range(offset, len)
            .ok_or_else(|| self.out_of_bounds(offset, len))?;
        let len = len as usize; // inside the arena, so it fits
        let mut out = Vec::with_capacity(len);
        // SAFETY: the source lies inside the live mapping (checked above) and
        // is read through a raw pointer (no reference into shared memory);
        // the destination is `out`'s spare capacity of at least `len` bytes,
        // which the copy initialises before `set_len` exposes it.
        unsafe {
            std::ptr::copy_nonoverlapping(self.map.base.as_ptr().add(start), out.as_mut_ptr(), len);
            out.set_len(len);
        }
        Ok(out)
    }

    /// `arena.discard(offset, len)` — gives the pages of the range back to
    /// the system (`madvise(MADV_REMOVE)` on this mapping, which frees the
    /// memfd's pages behind it); afterwards it reads as zeros and costs no
    /// memory until touched again. It goes through the mapping, not the
    /// descriptor, so it can only ever touch this arena. Where the kernel
    /// refuses, or the range is not made of whole pages, the range is
    /// overwritten with zeros instead, so the promise holds either way.
    ///
    /// Errors: [`RegionError::OutOfBounds`] if the range is not inside the
    /// arena (nothing is changed).
    pub fn discard(&self, offset: u64, len: u64) -> Result<(), RegionError> {
        let start = self
            .range(offset, len)
            .ok_or_else(|| self.out_of_bounds(offset, len))?;
        if len == 0 {
            return Ok(());
        }
        let page = PAGE_BYTES as u64;
        let whole_pages = offset.is_multiple_of(page) && len.is_multiple_of(page);
        // SAFETY: `start..start + len` lies inside the live mapping (checked
        // above) and starts on a page boundary (the mapping is page-aligned
        // and `offset` a page multiple); it is shared memory no Rust
        // reference points into, so dropping its pages changes nothing Rust
        // relies on.
        let removed = whole_pages
            && unsafe {
                libc::madvise(
                    self.map.base.as_ptr().add(start).cast(),
                    len as usize,
                    libc::MADV_REMOVE,
                )
            } == 0;
        if !removed {
            // SAFETY: inside the live mapping (checked above); a raw write
            // to shared memory no Rust reference points into.
            unsafe { std::ptr::write_bytes(self.map.base.as_ptr().add(start), 0, len as usize) };
        }
        Ok(())
    }

    /// `arena.resident_bytes()` — how much memory the arena's file holds
    /// now (`fstat`'s blocks): the pages touched and not discarded since.
    ///
    /// Errors: [`RegionError::Syscall`] if `fstat` fails.
    pub fn resident_bytes(&self) -> Result<u64, RegionError> {
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: `st` is valid for a `struct stat` write.
        if unsafe { libc::fstat(self.map.fd.as_raw_fd(), st.as_mut_ptr()) } < 0 {
            return Err(errno(RegionCall::Fstat));
        }
        // SAFETY: fstat succeeded, so it filled `st`.
        let blocks = unsafe { st.assume_init() }.st_blocks;
        Ok(u64::try_from(blocks).unwrap_or(0) * 512)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_checked() {
        for bad in [0, 100, PAGE_BYTES + 1, MAX_ARENA_BYTES + PAGE_BYTES] {
            assert!(
                matches!(Arena::create(bad), Err(RegionError::BadArenaSize { .. })),
                "{bad}"
            );
        }
        assert_eq!(Arena::create(PAGE_BYTES).unwrap().len(), PAGE_BYTES);
    }

    #[test]
    fn copies_in_and_out_and_checks_bounds() {
        let arena = Arena::create(4 * PAGE_BYTES).unwrap();
        let end = arena.len() as u64;
        arena.write(100, b"hello").unwrap();
        assert_eq!(arena.read_to_vec(100, 5).unwrap(), b"hello");
        assert_eq!(arena.read_to_vec(end - 3, 3).unwrap(), [0; 3]);
        for (offset, len) in [(end - 2, 3), (end, 1), (u64::MAX - 1, 4), (u64::MAX, 0)] {
            let oob = RegionError::OutOfBounds {
                offset,
                len,
                size: end,
            };
            assert_eq!(arena.read_to_vec(offset, len).unwrap_err(), oob);
            assert_eq!(arena.discard(offset, len).unwrap_err(), oob);
            assert_eq!(arena.address(offset, len), None);
        }
        assert_eq!(
            arena.write(end - 2, b"abc").unwrap_err(),
            RegionError::OutOfBounds {
                offset: end - 2,
                len: 3,
                size: end
            }
        );
        let base = arena.address(0, end).unwrap();
        assert_eq!(arena.address(end, 0), Some(base + end));
        assert_eq!(arena.address(16, 32), Some(base + 16));
    }

    #[test]
    fn discard_gives_pages_back_and_reads_zero() {
        let arena = Arena::create(64 * PAGE_BYTES).unwrap();
        assert_eq!(
            arena.resident_bytes().unwrap(),
            0,
            "untouched pages cost nothing"
        );
        let data = vec![0xa5u8; 32 * PAGE_BYTES];
        arena.write(0, &data).unwrap();
        assert_eq!(arena.resident_bytes().unwrap(), data.len() as u64);
        arena.discard(0, 16 * PAGE_BYTES as u64).unwrap();
        assert_eq!(arena.resident_bytes().unwrap(), 16 * PAGE_BYTES as u64);
        assert_eq!(
            arena.read_to_vec(0, 16 * PAGE_BYTES as u64).unwrap(),
            vec![0; 16 * PAGE_BYTES]
        );
        assert_eq!(
            arena
                .read_to_vec(16 * PAGE_BYTES as u64, PAGE_BYTES as u64)
                .unwrap(),
            vec![0xa5; PAGE_BYTES]
        );
    }

    #[test]
    fn a_peer_maps_the_same_bytes_and_unsealed_files_are_refused() {
        let arena = Arena::create(2 * PAGE_BYTES).unwrap();
        let peer = Arena::map(arena.fd().try_clone_to_owned().unwrap()).unwrap();
        assert_eq!(peer.len(), arena.len());
        arena.write(4096, b"shared").unwrap();
        assert_eq!(peer.read_to_vec(4096, 6).unwrap(), b"shared");

        // SAFETY: the name is a NUL-terminated literal.
        let raw = unsafe { libc::memfd_create(c"unsealed".as_ptr(), libc::MFD_CLOEXEC) };
        assert!(raw >= 0);
        // SAFETY: a new fd nothing else owns.
        let unsealed = unsafe { OwnedFd::from_raw_fd(raw) };
        assert!(matches!(
            Arena::map(unsealed),
            Err(RegionError::Syscall { .. } | RegionError::NotSealed { .. })
        ));
    }
}
