//! Typed operations: one struct per syscall, built with `new`, tuned with
//! setters, submitted with [`crate::Gateway::call`] / `submit` or pushed
//! into a [`crate::Batch`].
//!
//! Buffers are owned: an op takes a `Vec<u8>` and hands it back with the
//! result ([`BufResult`]). Reads fill the vector up to its **capacity**
//! (its old contents are replaced); writes send its contents.

use std::ffi::OsStr;
use std::os::fd::{IntoRawFd, OwnedFd};
use std::time::Duration;

use sysgate_proto::{Arg, Buffer, Bytes, CancelTarget, LinkedOutput, Op, Reloc, SyscallOp};

use crate::error::{BufResult, Error, InvalidRequest};
use crate::gateway::{RequestId, adopt_fd};
use crate::op::{Abandon, Fd, Handle, Operation, Outcome, c_bytes, check};
use crate::types::{SockAddr, Stat, Statx, Timespec};

/// A path argument, checked for NUL bytes when the op is built and
/// reported when it is submitted.
#[derive(Clone, Debug)]
struct CPath(Result<Vec<u8>, InvalidRequest>);

impl CPath {
    fn new(p: &OsStr, arg: usize) -> CPath {
        CPath(c_bytes(p, arg).map_err(|e| match e {
            Error::Invalid(e) => e,
            _ => InvalidRequest::NulInString { arg },
        }))
    }
    fn buf(&self) -> Result<Buffer<'_>, Error> {
        match &self.0 {
            Ok(v) => Ok(Buffer::In(Bytes::borrowed(v))),
            Err(e) => Err(e.clone().into()),
        }
    }
}

fn imm(v: impl Into<i64>) -> Arg {
    Arg::Imm(v.into() as u64)
}

fn buf(i: u16) -> Arg {
    Arg::Buf(i)
}

/// `nr(args)` with `bufs` and no relocations.
fn call<'a>(nr: i64, args: &[Arg], bufs: Vec<Buffer<'a>>) -> Op<'a> {
    call_nested(nr, args, bufs, Vec::new())
}

/// `nr(args)` with `bufs` and the relocations that patch pointers into
/// them (iovec arrays, msghdrs).
fn call_nested<'a>(nr: i64, args: &[Arg], bufs: Vec<Buffer<'a>>, relocs: Vec<Reloc>) -> Op<'a> {
    Op::Syscall(SyscallOp {
        nr: nr as u32,
        args: args.iter().copied().collect(),
        bufs,
        relocs,
    })
}

fn out_len(v: &Vec<u8>) -> Buffer<'static> {
    Buffer::Out(u32::try_from(v.capacity()).unwrap_or(u32::MAX))
}

/// Replaces `buf`'s contents with `out` (a completion output).
fn fill(buf: &mut Vec<u8>, out: Option<&[u8]>) {
    buf.clear();
    if let Some(out) = out {
        buf.extend_from_slice(out);
    }
}

fn unit(outcome: Outcome<'_>) -> Result<(), Error> {
    check(outcome).map(drop)
}

fn count(outcome: Outcome<'_>) -> Result<usize, Error> {
    check(outcome).map(|(n, _)| n as usize)
}

fn new_fd(outcome: Outcome<'_>) -> Result<OwnedFd, Error> {
    let (fd, _) = check(outcome)?;
    // A descriptor is an `int`; anything else is not one.
    let fd = i32::try_from(fd).map_err(|_| Error::Protocol(fd))?;
    Ok(adopt_fd(fd))
}

/// Output into the op's own buffer: `(count, buffer)`.
fn read_into(mut b: Vec<u8>, outcome: Outcome<'_>) -> BufResult<usize, Vec<u8>> {
    match check(outcome) {
        Ok((n, outs)) => {
            fill(&mut b, outs.output(0));
            (Ok(n as usize), b)
        }
        Err(e) => (Err(e), b),
    }
}

macro_rules! op {
    ($t:ident, $out:ty, |$s:ident| $req:expr, |$s2:ident, $o:ident| $done:expr) => {
        impl Operation for $t {
            type Output = $out;
            fn request(&self) -> Result<Op<'_>, Error> {
                let $s = self;
                $req
            }
            fn complete(self, $o: Outcome<'_>) -> $out {
                let $s2 = self;
                $done
            }
        }
    };
}

/// `openat(dirfd, path, flags, mode)` — opens a file; yields its
/// descriptor, owned.
#[derive(Clone, Debug)]
pub struct OpenAt {
    dirfd: Fd,
    path: CPath,
    flags: i32,
    mode: u32,
}

impl OpenAt {
    /// Opens `path` (relative to `dirfd`) with `O_*` `flags`; `O_CLOEXEC`
    /// is added.
    pub fn new(dirfd: impl Into<Fd>, path: impl AsRef<OsStr>, flags: i32) -> OpenAt {
        OpenAt {
            dirfd: dirfd.into(),
            path: CPath::new(path.as_ref(), 1),
            flags: flags | libc::O_CLOEXEC,
            mode: 0o666,
        }
    }

    /// The permissions of a file `O_CREAT` makes (default `0o666`, less the
    /// umask).
    pub fn mode(mut self, mode: u32) -> OpenAt {
        self.mode = mode;
        self
    }
}

impl Operation for OpenAt {
    type Output = Result<OwnedFd, Error>;
    fn request(&self) -> Result<Op<'_>, Error> {
        let args = [self.dirfd.arg(), buf(0), imm(self.flags), imm(self.mode)];
        Ok(call(libc::SYS_openat, &args, vec![self.path.buf()?]))
    }
    fn complete(self, o: Outcome<'_>) -> Self::Output {
        new_fd(o)
    }
    fn on_abandon(&self) -> Abandon {
        Abandon::CloseResultFd
    }
}

/// `struct open_how` of `openat2`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenHow {
    /// `O_*` flags.
    pub flags: u64,
    /// Permissions for `O_CREAT` / `O_TMPFILE`.
    pub mode: u64,
    /// `RESOLVE_*` flags.
    pub resolve: u64,
}

/// `openat2(dirfd, path, how, size)` — opens a file with resolution
/// rules; yields its descriptor, owned.
#[derive(Clone, Debug)]
pub struct OpenAt2 {
    dirfd: Fd,
    path: CPath,
    how: [u8; 24],
}

impl OpenAt2 {
    /// Opens `path` as `how` says (`O_CLOEXEC` is added).
    pub fn new(dirfd: impl Into<Fd>, path: impl AsRef<OsStr>, how: OpenHow) -> OpenAt2 {
        let mut b = [0; 24];
        b[..8].copy_from_slice(&(how.flags | libc::O_CLOEXEC as u64).to_ne_bytes());
        b[8..16].copy_from_slice(&how.mode.to_ne_bytes());
        b[16..].copy_from_slice(&how.resolve.to_ne_bytes());
        OpenAt2 {
            dirfd: dirfd.into(),
            path: CPath::new(path.as_ref(), 1),
            how: b,
        }
    }
}

impl Operation for OpenAt2 {
    type Output = Result<OwnedFd, Error>;
    fn request(&self) -> Result<Op<'_>, Error> {
        let args = [self.dirfd.arg(), buf(0), buf(1), imm(24)];
        let how = Buffer::In(Bytes::borrowed(&self.how));
        Ok(call(libc::SYS_openat2, &args, vec![self.path.buf()?, how]))
    }
    fn complete(self, o: Outcome<'_>) -> Self::Output {
        new_fd(o)
    }
    fn on_abandon(&self) -> Abandon {
        Abandon::CloseResultFd
    }
}

/// `close(fd)` — closes a descriptor.
#[derive(Clone, Copy, Debug)]
pub struct Close {
    fd: Fd,
}

impl Close {
    /// Closes `fd` (a number the caller owns, or an earlier op's result).
    pub fn new(fd: impl Into<Fd>) -> Close {
        Close { fd: fd.into() }
    }

    /// Closes an owned descriptor (ownership passes to the op).
    pub fn owned(fd: OwnedFd) -> Close {
        Close::new(fd.into_raw_fd())
    }
}

impl Operation for Close {
    type Output = Result<(), Error>;
    fn request(&self) -> Result<Op<'_>, Error> {
        Ok(call(libc::SYS_close, &[self.fd.arg()], Vec::new()))
    }
    fn complete(self, o: Outcome<'_>) -> Self::Output {
        unit(o)
    }
    fn closes(&self) -> Option<Fd> {
        Some(self.fd)
    }
}

/// `read(fd, buf, count)` — reads up to `buf.capacity()` bytes.
#[derive(Debug)]
pub struct Read {
    fd: Fd,
    buf: Vec<u8>,
}

impl Read {
    /// Reads from `fd` into `buf` (up to its capacity).
    pub fn new(fd: impl Into<Fd>, buf: Vec<u8>) -> Read {
        Read { fd: fd.into(), buf }
    }
}

op!(Read, BufResult<usize, Vec<u8>>,
    |s| Ok(call(libc::SYS_read, &[s.fd.arg(), buf(0), imm(s.buf.capacity() as i64)], vec![out_len(&s.buf)])),
    |s, o| read_into(s.buf, o));

/// `pread64(fd, buf, count, offset)` — reads at an offset.
#[derive(Debug)]
pub struct Pread {
    fd: Fd,
    buf: Vec<u8>,
    offset: i64,
}

impl Pread {
    /// Reads from `fd` at `offset` into `buf` (up to its capacity).
    pub fn new(fd: impl Into<Fd>, buf: Vec<u8>, offset: i64) -> Pread {
        Pread {
            fd: fd.into(),
            buf,
            offset,
        }
    }
}

op!(Pread, BufResult<usize, Vec<u8>>,
    |s| Ok(call(libc::SYS_pread64, &[s.fd.arg(), buf(0), imm(s.buf.capacity() as i64), imm(s.offset)], vec![out_len(&s.buf)])),
    |s, o| read_into(s.buf, o));

/// `write(fd, buf, count)` — writes `buf`; hands it back.
#[derive(Debug)]
pub struct Write {
    fd: Fd,
    buf: Vec<u8>,
    /// Writes this earlier op's output instead (see [`Write::linked`]).
    source: Option<usize>,
}

impl Write {
    /// Writes `buf` to `fd`.
    pub fn new(fd: impl Into<Fd>, buf: Vec<u8>) -> Write {
        Write {
            fd: fd.into(),
            buf,
            source: None,
        }
    }
}

impl Write {
    /// Writes to `fd` what the earlier op `source` of the same link chain
    /// produced in its first output buffer (what a `Read` read), as many
    /// bytes as its result says — resolved by the executor, so
    /// `openat → read → write → close` is one chain. The buffer handed back
    /// is empty.
    pub fn linked<O>(fd: impl Into<Fd>, source: Handle<O>) -> Write {
        Write {
            fd: fd.into(),
            buf: Vec::new(),
            source: Some(source.index()),
        }
    }
}

impl Operation for Write {
    type Output = BufResult<usize, Vec<u8>>;
    fn request(&self) -> Result<Op<'_>, Error> {
        let (len, data) = match self.source {
            Some(i) => (
                Fd::Result(i).arg(),
                Buffer::Linked(LinkedOutput {
                    member: u16::try_from(i).unwrap_or(u16::MAX),
                    output: 0,
                }),
            ),
            None => (
                imm(self.buf.len() as i64),
                Buffer::In(Bytes::borrowed(&self.buf)),
            ),
        };
        Ok(call(
            libc::SYS_write,
            &[self.fd.arg(), buf(0), len],
            vec![data],
        ))
    }
    fn complete(self, o: Outcome<'_>) -> Self::Output {
        (count(o), self.buf)
    }
}

/// `pwrite64(fd, buf, count, offset)` — writes at an offset.
#[derive(Debug)]
pub struct Pwrite {
    fd: Fd,
    buf: Vec<u8>,
    offset: i64,
}

impl Pwrite {
    /// Writes `buf` to `fd` at `offset`.
    pub fn new(fd: impl Into<Fd>, buf: Vec<u8>, offset: i64) -> Pwrite {
        Pwrite {
            fd: fd.into(),
            buf,
            offset,
        }
    }
}

op!(Pwrite, BufResult<usize, Vec<u8>>,
    |s| Ok(call(libc::SYS_pwrite64, &[s.fd.arg(), buf(0), imm(s.buf.len() as i64), imm(s.offset)], vec![Buffer::In(Bytes::borrowed(&s.buf))])),
    |s, o| (count(o), s.buf));

/// An `iovec` array in buffer 0 pointing at buffers `first..` (one per
/// element, lengths `lens`), with the relocations that patch its bases.
fn iovecs<'a>(lens: impl ExactSizeIterator<Item = usize>, first: u16) -> (Buffer<'a>, Vec<Reloc>) {
    let mut array = Vec::with_capacity(lens.len() * 16);
    let mut relocs = Vec::with_capacity(lens.len());
    for (i, len) in lens.enumerate() {
        relocs.push(Reloc {
            buf: 0,
            at: (i * 16) as u32,
            target: first + i as u16,
            offset: 0,
        });
        array.extend_from_slice(&[0; 8]);
        array.extend_from_slice(&(len as u64).to_ne_bytes());
    }
    (Buffer::In(Bytes::from(array)), relocs)
}

/// Too many buffers for one request.
fn too_many(n: usize) -> Result<(), Error> {
    if n + 2 > sysgate_proto::MAX_BUFFERS {
        return Err(
            InvalidRequest::Validation(sysgate_proto::ValidationError::TooManyBuffers {
                count: n + 2,
            })
            .into(),
        );
    }
    Ok(())
}

/// `readv(fd, iov, iovcnt)` — reads into several buffers (each up to its
/// capacity).
#[derive(Debug)]
pub struct Readv {
    fd: Fd,
    bufs: Vec<Vec<u8>>,
}

impl Readv {
    /// Reads from `fd` into `bufs`, in order.
    pub fn new(fd: impl Into<Fd>, bufs: Vec<Vec<u8>>) -> Readv {
        Readv {
            fd: fd.into(),
            bufs,
        }
    }
}

/// Hands the completion's outputs `first..` back into `bufs`: the first
/// `n` bytes of the call's result spread over them in order (the executor
/// returns each iovec buffer whole).
fn scatter(
    mut bufs: Vec<Vec<u8>>,
    outcome: Outcome<'_>,
    first: usize,
) -> BufResult<usize, Vec<Vec<u8>>> {
    match check(outcome) {
        Ok((n, outs)) => {
            let mut left = n as usize;
            for (b, out) in bufs.iter_mut().zip(outs.outputs().skip(first)) {
                let take = left.min(out.len());
                fill(b, Some(&out[..take]));
                left -= take;
            }
            (Ok(n as usize), bufs)
        }
        Err(e) => (Err(e), bufs),
    }
}

impl Operation for Readv {
    type Output = BufResult<usize, Vec<Vec<u8>>>;
    fn request(&self) -> Result<Op<'_>, Error> {
        too_many(self.bufs.len())?;
        let (array, relocs) = iovecs(self.bufs.iter().map(Vec::capacity), 1);
        let mut bufs = vec![array];
        bufs.extend(self.bufs.iter().map(out_len));
        Ok(call_nested(
            libc::SYS_readv,
            &[self.fd.arg(), buf(0), imm(self.bufs.len() as i64)],
            bufs,
            relocs,
        ))
    }
    fn complete(self, o: Outcome<'_>) -> Self::Output {
        scatter(self.bufs, o, 0)
    }
}

/// `writev(fd, iov, iovcnt)` — writes several buffers; hands them back.
#[derive(Debug)]
pub struct Writev {
    fd: Fd,
    bufs: Vec<Vec<u8>>,
}

impl Writev {
    /// Writes `bufs` to `fd`, in order.
    pub fn new(fd: impl Into<Fd>, bufs: Vec<Vec<u8>>) -> Writev {
        Writev {
            fd: fd.into(),
            bufs,
        }
    }
}

impl Operation for Writev {
    type Output = BufResult<usize, Vec<Vec<u8>>>;
    fn request(&self) -> Result<Op<'_>, Error> {
        too_many(self.bufs.len())?;
        let (array, relocs) = iovecs(self.bufs.iter().map(Vec::len), 1);
        let mut bufs = vec![array];
        bufs.extend(self.bufs.iter().map(|b| Buffer::In(Bytes::borrowed(b))));
        Ok(call_nested(
            libc::SYS_writev,
            &[self.fd.arg(), buf(0), imm(self.bufs.len() as i64)],
            bufs,
            relocs,
        ))
    }
    fn complete(self, o: Outcome<'_>) -> Self::Output {
        (count(o), self.bufs)
    }
}

/// `statx(dirfd, path, flags, mask, statxbuf)` — file status.
#[derive(Clone, Debug)]
pub struct StatxOp {
    dirfd: Fd,
    path: CPath,
    flags: i32,
    mask: u32,
}

impl StatxOp {
    /// Status of `path` relative to `dirfd` (`AT_*` flags; e.g.
    /// `AT_SYMLINK_NOFOLLOW`, or `AT_EMPTY_PATH` with an empty path for
    /// `dirfd` itself), asking for `STATX_BASIC_STATS`.
    pub fn new(dirfd: impl Into<Fd>, path: impl AsRef<OsStr>, flags: i32) -> StatxOp {
        StatxOp {
            dirfd: dirfd.into(),
            path: CPath::new(path.as_ref(), 1),
            flags,
            mask: libc::STATX_BASIC_STATS,
        }
    }

    /// The `STATX_*` fields to ask for.
    pub fn mask(mut self, mask: u32) -> StatxOp {
        self.mask = mask;
        self
    }
}

op!(StatxOp, Result<Statx, Error>,
    |s| Ok(call(libc::SYS_statx, &[s.dirfd.arg(), buf(0), imm(s.flags), imm(s.mask), buf(1)],
        vec![s.path.buf()?, Buffer::Out(Statx::SIZE as u32)])),
    |_s, o| check(o).map(|(_, outs)| Statx::from_bytes(outs.output(0).unwrap_or_default())));

/// `fstat(fd, statbuf)` — status of an open file.
#[derive(Clone, Copy, Debug)]
pub struct Fstat {
    fd: Fd,
}

impl Fstat {
    /// Status of `fd`.
    pub fn new(fd: impl Into<Fd>) -> Fstat {
        Fstat { fd: fd.into() }
    }
}

op!(Fstat, Result<Stat, Error>,
    |s| Ok(call(libc::SYS_fstat, &[s.fd.arg(), buf(0)], vec![Buffer::Out(Stat::SIZE as u32)])),
    |_s, o| check(o).map(|(_, outs)| Stat::from_bytes(outs.output(0).unwrap_or_default())));

/// `getdents64(fd, dirp, count)` — directory records into `buf` (up to its
/// capacity); parse them with [`crate::DirEntries`]. 0 at the end.
#[derive(Debug)]
pub struct Getdents64 {
    fd: Fd,
    buf: Vec<u8>,
}

impl Getdents64 {
    /// Reads records of directory `fd` into `buf`.
    pub fn new(fd: impl Into<Fd>, buf: Vec<u8>) -> Getdents64 {
        Getdents64 { fd: fd.into(), buf }
    }
}

op!(Getdents64, BufResult<usize, Vec<u8>>,
    |s| Ok(call(libc::SYS_getdents64, &[s.fd.arg(), buf(0), imm(s.buf.capacity() as i64)], vec![out_len(&s.buf)])),
    |s, o| read_into(s.buf, o));

/// `fsync(fd)` — flushes a file's data and metadata.
#[derive(Clone, Copy, Debug)]
pub struct Fsync {
    fd: Fd,
}

impl Fsync {
    /// Flushes `fd`.
    pub fn new(fd: impl Into<Fd>) -> Fsync {
        Fsync { fd: fd.into() }
    }
}

op!(Fsync, Result<(), Error>,
    |s| Ok(call(libc::SYS_fsync, &[s.fd.arg()], Vec::new())),
    |_s, o| unit(o));

/// `fdatasync(fd)` — flushes a file's data.
#[derive(Clone, Copy, Debug)]
pub struct Fdatasync {
    fd: Fd,
}

impl Fdatasync {
    /// Flushes `fd`'s data.
    pub fn new(fd: impl Into<Fd>) -> Fdatasync {
        Fdatasync { fd: fd.into() }
    }
}

op!(Fdatasync, Result<(), Error>,
    |s| Ok(call(libc::SYS_fdatasync, &[s.fd.arg()], Vec::new())),
    |_s, o| unit(o));

/// `sync_file_range(fd, offset, nbytes, flags)` — starts or waits for
/// write-out of a range.
#[derive(Clone, Copy, Debug)]
pub struct SyncFileRange {
    fd: Fd,
    offset: i64,
    nbytes: i64,
    flags: u32,
}

impl SyncFileRange {
    /// Syncs `nbytes` (0 = to the end) from `offset` of `fd`, with
    /// `SYNC_FILE_RANGE_*` `flags`.
    pub fn new(fd: impl Into<Fd>, offset: i64, nbytes: i64, flags: u32) -> SyncFileRange {
        SyncFileRange {
            fd: fd.into(),
            offset,
            nbytes,
            flags,
        }
    }
}

op!(SyncFileRange, Result<(), Error>,
    |s| Ok(call(libc::SYS_sync_file_range, &[s.fd.arg(), imm(s.offset), imm(s.nbytes), imm(s.flags)], Vec::new())),
    |_s, o| unit(o));

/// `fallocate(fd, mode, offset, len)` — allocates or punches file space.
#[derive(Clone, Copy, Debug)]
pub struct Fallocate {
    fd: Fd,
    mode: i32,
    offset: i64,
    len: i64,
}

impl Fallocate {
    /// Allocates `len` bytes at `offset` of `fd` (`FALLOC_FL_*` `mode`).
    pub fn new(fd: impl Into<Fd>, mode: i32, offset: i64, len: i64) -> Fallocate {
        Fallocate {
            fd: fd.into(),
            mode,
            offset,
            len,
        }
    }
}

op!(Fallocate, Result<(), Error>,
    |s| Ok(call(libc::SYS_fallocate, &[s.fd.arg(), imm(s.mode), imm(s.offset), imm(s.len)], Vec::new())),
    |_s, o| unit(o));

/// `ftruncate(fd, length)` — sets a file's size.
#[derive(Clone, Copy, Debug)]
pub struct Ftruncate {
    fd: Fd,
    len: i64,
}

impl Ftruncate {
    /// Truncates (or extends) `fd` to `len` bytes.
    pub fn new(fd: impl Into<Fd>, len: i64) -> Ftruncate {
        Ftruncate { fd: fd.into(), len }
    }
}

op!(Ftruncate, Result<(), Error>,
    |s| Ok(call(libc::SYS_ftruncate, &[s.fd.arg(), imm(s.len)], Vec::new())),
    |_s, o| unit(o));

/// `renameat2(olddirfd, oldpath, newdirfd, newpath, flags)` — renames.
#[derive(Clone, Debug)]
pub struct RenameAt2 {
    olddirfd: Fd,
    oldpath: CPath,
    newdirfd: Fd,
    newpath: CPath,
    flags: u32,
}

impl RenameAt2 {
    /// Renames `oldpath` to `newpath` (`RENAME_*` `flags`: 0,
    /// `RENAME_NOREPLACE`, `RENAME_EXCHANGE`, …).
    pub fn new(
        olddirfd: impl Into<Fd>,
        oldpath: impl AsRef<OsStr>,
        newdirfd: impl Into<Fd>,
        newpath: impl AsRef<OsStr>,
        flags: u32,
    ) -> RenameAt2 {
        RenameAt2 {
            olddirfd: olddirfd.into(),
            oldpath: CPath::new(oldpath.as_ref(), 1),
            newdirfd: newdirfd.into(),
            newpath: CPath::new(newpath.as_ref(), 3),
            flags,
        }
    }
}

op!(RenameAt2, Result<(), Error>,
    |s| Ok(call(libc::SYS_renameat2, &[s.olddirfd.arg(), buf(0), s.newdirfd.arg(), buf(1), imm(s.flags)],
        vec![s.oldpath.buf()?, s.newpath.buf()?])),
    |_s, o| unit(o));

/// `unlinkat(dirfd, path, flags)` — removes a name (`AT_REMOVEDIR` for a
/// directory).
#[derive(Clone, Debug)]
pub struct UnlinkAt {
    dirfd: Fd,
    path: CPath,
    flags: i32,
}

impl UnlinkAt {
    /// Removes `path` relative to `dirfd`.
    pub fn new(dirfd: impl Into<Fd>, path: impl AsRef<OsStr>, flags: i32) -> UnlinkAt {
        UnlinkAt {
            dirfd: dirfd.into(),
            path: CPath::new(path.as_ref(), 1),
            flags,
        }
    }
}

op!(UnlinkAt, Result<(), Error>,
    |s| Ok(call(libc::SYS_unlinkat, &[s.dirfd.arg(), buf(0), imm(s.flags)], vec![s.path.buf()?])),
    |_s, o| unit(o));

/// `mkdirat(dirfd, path, mode)` — makes a directory.
#[derive(Clone, Debug)]
pub struct MkdirAt {
    dirfd: Fd,
    path: CPath,
    mode: u32,
}

impl MkdirAt {
    /// Makes directory `path` with permissions `mode` (less the umask).
    pub fn new(dirfd: impl Into<Fd>, path: impl AsRef<OsStr>, mode: u32) -> MkdirAt {
        MkdirAt {
            dirfd: dirfd.into(),
            path: CPath::new(path.as_ref(), 1),
            mode,
        }
    }
}

op!(MkdirAt, Result<(), Error>,
    |s| Ok(call(libc::SYS_mkdirat, &[s.dirfd.arg(), buf(0), imm(s.mode)], vec![s.path.buf()?])),
    |_s, o| unit(o));

/// `symlinkat(target, newdirfd, linkpath)` — makes a symbolic link.
#[derive(Clone, Debug)]
pub struct SymlinkAt {
    target: CPath,
    newdirfd: Fd,
    linkpath: CPath,
}

impl SymlinkAt {
    /// Makes `linkpath` (relative to `newdirfd`) a link to `target`.
    pub fn new(
        target: impl AsRef<OsStr>,
        newdirfd: impl Into<Fd>,
        linkpath: impl AsRef<OsStr>,
    ) -> SymlinkAt {
        SymlinkAt {
            target: CPath::new(target.as_ref(), 0),
            newdirfd: newdirfd.into(),
            linkpath: CPath::new(linkpath.as_ref(), 2),
        }
    }
}

op!(SymlinkAt, Result<(), Error>,
    |s| Ok(call(libc::SYS_symlinkat, &[buf(0), s.newdirfd.arg(), buf(1)], vec![s.target.buf()?, s.linkpath.buf()?])),
    |_s, o| unit(o));

/// `readlinkat(dirfd, path, buf, bufsiz)` — reads a link's target into
/// `buf` (up to its capacity; not NUL-terminated).
#[derive(Debug)]
pub struct ReadlinkAt {
    dirfd: Fd,
    path: CPath,
    buf: Vec<u8>,
}

impl ReadlinkAt {
    /// Reads link `path` relative to `dirfd`.
    pub fn new(dirfd: impl Into<Fd>, path: impl AsRef<OsStr>, buf: Vec<u8>) -> ReadlinkAt {
        ReadlinkAt {
            dirfd: dirfd.into(),
            path: CPath::new(path.as_ref(), 1),
            buf,
        }
    }
}

op!(ReadlinkAt, BufResult<usize, Vec<u8>>,
    |s| Ok(call(libc::SYS_readlinkat, &[s.dirfd.arg(), buf(0), buf(1), imm(s.buf.capacity() as i64)],
        vec![s.path.buf()?, out_len(&s.buf)])),
    |s, o| read_into(s.buf, o));

/// `fchmodat(dirfd, path, mode)` — changes permissions.
#[derive(Clone, Debug)]
pub struct FchmodAt {
    dirfd: Fd,
    path: CPath,
    mode: u32,
}

impl FchmodAt {
    /// Sets the permissions of `path` to `mode`.
    pub fn new(dirfd: impl Into<Fd>, path: impl AsRef<OsStr>, mode: u32) -> FchmodAt {
        FchmodAt {
            dirfd: dirfd.into(),
            path: CPath::new(path.as_ref(), 1),
            mode,
        }
    }
}

op!(FchmodAt, Result<(), Error>,
    |s| Ok(call(libc::SYS_fchmodat, &[s.dirfd.arg(), buf(0), imm(s.mode)], vec![s.path.buf()?])),
    |_s, o| unit(o));

/// `fchownat(dirfd, path, owner, group, flags)` — changes ownership.
#[derive(Clone, Debug)]
pub struct FchownAt {
    dirfd: Fd,
    path: CPath,
    uid: u32,
    gid: u32,
    flags: i32,
}

impl FchownAt {
    /// Leaves the owner or group unchanged.
    pub const UNCHANGED: u32 = u32::MAX;

    /// Sets the owner and group of `path` (`AT_SYMLINK_NOFOLLOW`,
    /// `AT_EMPTY_PATH` flags).
    pub fn new(
        dirfd: impl Into<Fd>,
        path: impl AsRef<OsStr>,
        uid: u32,
        gid: u32,
        flags: i32,
    ) -> FchownAt {
        FchownAt {
            dirfd: dirfd.into(),
            path: CPath::new(path.as_ref(), 1),
            uid,
            gid,
            flags,
        }
    }
}

op!(FchownAt, Result<(), Error>,
    |s| Ok(call(libc::SYS_fchownat, &[s.dirfd.arg(), buf(0), imm(s.uid), imm(s.gid), imm(s.flags)], vec![s.path.buf()?])),
    |_s, o| unit(o));

/// `utimensat(dirfd, path, times, flags)` — sets access and modification
/// times.
#[derive(Clone, Debug)]
pub struct UtimensAt {
    dirfd: Fd,
    path: Option<CPath>,
    times: Option<[u8; 32]>,
    flags: i32,
}

impl UtimensAt {
    /// Sets the times of `path` (`None`: of `dirfd` itself) to `times`
    /// (`[atime, mtime]`; `None`: both now).
    pub fn new(
        dirfd: impl Into<Fd>,
        path: Option<&OsStr>,
        times: Option<[Timespec; 2]>,
        flags: i32,
    ) -> UtimensAt {
        UtimensAt {
            dirfd: dirfd.into(),
            path: path.map(|p| CPath::new(p, 1)),
            times: times.map(|[a, m]| {
                let mut b = [0; 32];
                b[..16].copy_from_slice(&a.to_bytes());
                b[16..].copy_from_slice(&m.to_bytes());
                b
            }),
            flags,
        }
    }
}

impl Operation for UtimensAt {
    type Output = Result<(), Error>;
    fn request(&self) -> Result<Op<'_>, Error> {
        let mut bufs = Vec::new();
        let path = match &self.path {
            Some(p) => {
                bufs.push(p.buf()?);
                buf(0)
            }
            None => Arg::Imm(0),
        };
        let times = match &self.times {
            Some(t) => {
                bufs.push(Buffer::In(Bytes::borrowed(t)));
                buf((bufs.len() - 1) as u16)
            }
            None => Arg::Imm(0),
        };
        Ok(call(
            libc::SYS_utimensat,
            &[self.dirfd.arg(), path, times, imm(self.flags)],
            bufs,
        ))
    }
    fn complete(self, o: Outcome<'_>) -> Self::Output {
        unit(o)
    }
}

/// `getxattr(path, name, value, size)` — reads an extended attribute into
/// `buf` (up to its capacity; capacity 0 asks for the size).
#[derive(Debug)]
pub struct Getxattr {
    path: CPath,
    name: CPath,
    buf: Vec<u8>,
}

impl Getxattr {
    /// Reads attribute `name` of `path`.
    pub fn new(path: impl AsRef<OsStr>, name: impl AsRef<OsStr>, buf: Vec<u8>) -> Getxattr {
        Getxattr {
            path: CPath::new(path.as_ref(), 0),
            name: CPath::new(name.as_ref(), 1),
            buf,
        }
    }
}

impl Operation for Getxattr {
    type Output = BufResult<usize, Vec<u8>>;
    fn request(&self) -> Result<Op<'_>, Error> {
        let mut bufs = vec![self.path.buf()?, self.name.buf()?];
        let value = if self.buf.capacity() == 0 {
            Arg::Imm(0)
        } else {
            bufs.push(out_len(&self.buf));
            buf(2)
        };
        let args = [buf(0), buf(1), value, imm(self.buf.capacity() as i64)];
        Ok(call(libc::SYS_getxattr, &args, bufs))
    }
    fn complete(self, o: Outcome<'_>) -> Self::Output {
        read_into(self.buf, o)
    }
}

/// `setxattr(path, name, value, size, flags)` — sets an extended
/// attribute.
#[derive(Clone, Debug)]
pub struct Setxattr {
    path: CPath,
    name: CPath,
    value: Vec<u8>,
    flags: i32,
}

impl Setxattr {
    /// Sets attribute `name` of `path` to `value` (`XATTR_CREATE`,
    /// `XATTR_REPLACE` flags).
    pub fn new(
        path: impl AsRef<OsStr>,
        name: impl AsRef<OsStr>,
        value: Vec<u8>,
        flags: i32,
    ) -> Setxattr {
        Setxattr {
            path: CPath::new(path.as_ref(), 0),
            name: CPath::new(name.as_ref(), 1),
            value,
            flags,
        }
    }
}

op!(Setxattr, Result<(), Error>,
    |s| Ok(call(libc::SYS_setxattr, &[buf(0), buf(1), buf(2), imm(s.value.len() as i64), imm(s.flags)],
        vec![s.path.buf()?, s.name.buf()?, Buffer::In(Bytes::borrowed(&s.value))])),
    |_s, o| unit(o));

/// `accept4(fd, addr, addrlen, flags)` — takes a connection; yields its
/// descriptor (owned) and the peer's address. Waits for readiness without a
/// thread.
#[derive(Clone, Copy, Debug)]
pub struct Accept4 {
    fd: Fd,
    flags: i32,
}

impl Accept4 {
    /// Accepts on listening socket `fd` (`SOCK_CLOEXEC` is added).
    pub fn new(fd: impl Into<Fd>, flags: i32) -> Accept4 {
        Accept4 {
            fd: fd.into(),
            flags: flags | libc::SOCK_CLOEXEC,
        }
    }
}

/// Room for any socket address (`sockaddr_storage`).
const SOCKADDR_MAX: u32 = 128;

impl Operation for Accept4 {
    type Output = Result<(OwnedFd, SockAddr), Error>;
    fn request(&self) -> Result<Op<'_>, Error> {
        let len = Buffer::InOut(Bytes::from(SOCKADDR_MAX.to_ne_bytes().to_vec()));
        let args = [self.fd.arg(), buf(0), buf(1), imm(self.flags)];
        Ok(call(
            libc::SYS_accept4,
            &args,
            vec![Buffer::Out(SOCKADDR_MAX), len],
        ))
    }
    fn complete(self, o: Outcome<'_>) -> Self::Output {
        let (fd, outs) = check(o)?;
        let fd = adopt_fd(i32::try_from(fd).map_err(|_| Error::Protocol(fd))?);
        let mut addr = outs.output(0).map(<[u8]>::to_vec).unwrap_or_default();
        if let Some(len) = outs.output(1).and_then(|b| b.get(..4)) {
            let len = u32::from_ne_bytes([len[0], len[1], len[2], len[3]]) as usize;
            addr.truncate(len);
        }
        Ok((fd, SockAddr::from_bytes(addr)))
    }
    fn on_abandon(&self) -> Abandon {
        Abandon::CloseResultFd
    }
}

/// `connect(fd, addr, addrlen)` — connects a socket. Blocking sockets
/// connect on the pool.
#[derive(Clone, Debug)]
pub struct Connect {
    fd: Fd,
    addr: SockAddr,
}

impl Connect {
    /// Connects `fd` to `addr`.
    pub fn new(fd: impl Into<Fd>, addr: impl Into<SockAddr>) -> Connect {
        Connect {
            fd: fd.into(),
            addr: addr.into(),
        }
    }
}

op!(Connect, Result<(), Error>,
    |s| Ok(call(libc::SYS_connect, &[s.fd.arg(), buf(0), imm(s.addr.as_bytes().len() as i64)],
        vec![Buffer::In(Bytes::borrowed(s.addr.as_bytes()))])),
    |_s, o| unit(o));

/// `recvfrom(fd, buf, len, flags, NULL, NULL)` — receives into `buf` (up
/// to its capacity). Waits for readiness without a thread.
#[derive(Debug)]
pub struct Recv {
    fd: Fd,
    buf: Vec<u8>,
    flags: i32,
}

impl Recv {
    /// Receives from `fd` with `MSG_*` `flags`.
    pub fn new(fd: impl Into<Fd>, buf: Vec<u8>, flags: i32) -> Recv {
        Recv {
            fd: fd.into(),
            buf,
            flags,
        }
    }
}

op!(Recv, BufResult<usize, Vec<u8>>,
    |s| Ok(call(libc::SYS_recvfrom, &[s.fd.arg(), buf(0), imm(s.buf.capacity() as i64), imm(s.flags), Arg::Imm(0), Arg::Imm(0)],
        vec![out_len(&s.buf)])),
    |s, o| read_into(s.buf, o));

/// `sendto(fd, buf, len, flags, NULL, 0)` — sends `buf`; hands it back.
#[derive(Debug)]
pub struct Send {
    fd: Fd,
    buf: Vec<u8>,
    flags: i32,
}

impl Send {
    /// Sends `buf` on `fd` with `MSG_*` `flags`.
    pub fn new(fd: impl Into<Fd>, buf: Vec<u8>, flags: i32) -> Send {
        Send {
            fd: fd.into(),
            buf,
            flags,
        }
    }
}

op!(Send, BufResult<usize, Vec<u8>>,
    |s| Ok(call(libc::SYS_sendto, &[s.fd.arg(), buf(0), imm(s.buf.len() as i64), imm(s.flags), Arg::Imm(0), Arg::Imm(0)],
        vec![Buffer::In(Bytes::borrowed(&s.buf))])),
    |s, o| (count(o), s.buf));

/// A `msghdr` (in buffer 0, `InOut`) with an `iovec` array (buffer 1)
/// over buffers `2..`: no name, no control data.
fn msghdr<'a>(
    iov: Buffer<'a>,
    mut relocs: Vec<Reloc>,
    n: usize,
    data: Vec<Buffer<'a>>,
) -> (Vec<Buffer<'a>>, Vec<Reloc>) {
    let mut hdr = vec![0u8; 56];
    hdr[24..32].copy_from_slice(&(n as u64).to_ne_bytes());
    for r in &mut relocs {
        r.buf = 1;
        r.target += 1;
    }
    relocs.push(Reloc {
        buf: 0,
        at: 16,
        target: 1,
        offset: 0,
    });
    let mut bufs = vec![Buffer::InOut(Bytes::from(hdr)), iov];
    bufs.extend(data);
    (bufs, relocs)
}

/// `recvmsg(fd, msg, flags)` — receives into several buffers (each up to
/// its capacity). Waits for readiness without a thread.
#[derive(Debug)]
pub struct RecvMsg {
    fd: Fd,
    bufs: Vec<Vec<u8>>,
    flags: i32,
}

impl RecvMsg {
    /// Receives from `fd` into `bufs` with `MSG_*` `flags`.
    pub fn new(fd: impl Into<Fd>, bufs: Vec<Vec<u8>>, flags: i32) -> RecvMsg {
        RecvMsg {
            fd: fd.into(),
            bufs,
            flags,
        }
    }
}

impl Operation for RecvMsg {
    type Output = BufResult<usize, Vec<Vec<u8>>>;
    fn request(&self) -> Result<Op<'_>, Error> {
        too_many(self.bufs.len())?;
        let (iov, relocs) = iovecs(self.bufs.iter().map(Vec::capacity), 1);
        let data = self.bufs.iter().map(out_len).collect();
        let (bufs, relocs) = msghdr(iov, relocs, self.bufs.len(), data);
        Ok(call_nested(
            libc::SYS_recvmsg,
            &[self.fd.arg(), buf(0), imm(self.flags)],
            bufs,
            relocs,
        ))
    }
    fn complete(self, o: Outcome<'_>) -> Self::Output {
        // Output 0 is the msghdr.
        scatter(self.bufs, o, 1)
    }
}

/// `sendmsg(fd, msg, flags)` — sends several buffers as one message;
/// hands them back.
#[derive(Debug)]
pub struct SendMsg {
    fd: Fd,
    bufs: Vec<Vec<u8>>,
    flags: i32,
}

impl SendMsg {
    /// Sends `bufs` on `fd` with `MSG_*` `flags`.
    pub fn new(fd: impl Into<Fd>, bufs: Vec<Vec<u8>>, flags: i32) -> SendMsg {
        SendMsg {
            fd: fd.into(),
            bufs,
            flags,
        }
    }
}

impl Operation for SendMsg {
    type Output = BufResult<usize, Vec<Vec<u8>>>;
    fn request(&self) -> Result<Op<'_>, Error> {
        too_many(self.bufs.len())?;
        let (iov, relocs) = iovecs(self.bufs.iter().map(Vec::len), 1);
        let data = self
            .bufs
            .iter()
            .map(|b| Buffer::In(Bytes::borrowed(b)))
            .collect();
        let (mut bufs, relocs) = msghdr(iov, relocs, self.bufs.len(), data);
        if let Buffer::InOut(h) = &bufs[0] {
            bufs[0] = Buffer::In(h.clone());
        }
        Ok(call_nested(
            libc::SYS_sendmsg,
            &[self.fd.arg(), buf(0), imm(self.flags)],
            bufs,
            relocs,
        ))
    }
    fn complete(self, o: Outcome<'_>) -> Self::Output {
        (count(o), self.bufs)
    }
}

/// `nanosleep(req, NULL)` — the real syscall: it blocks, so it runs on the
/// pool (a worker sleeps). For a sleep that holds no thread use
/// [`Timeout`].
#[derive(Clone, Copy, Debug)]
pub struct Nanosleep {
    req: [u8; 16],
}

impl Nanosleep {
    /// Sleeps for `d`.
    pub fn new(d: Duration) -> Nanosleep {
        Nanosleep {
            req: Timespec::from(d).to_bytes(),
        }
    }
}

op!(Nanosleep, Result<(), Error>,
    |s| Ok(call(libc::SYS_nanosleep, &[buf(0), Arg::Imm(0)], vec![Buffer::In(Bytes::borrowed(&s.req))])),
    |_s, o| unit(o));

/// A timer of the executor: completes after a duration, holding no thread
/// (io_uring's `IORING_OP_TIMEOUT`).
#[derive(Clone, Copy, Debug)]
pub struct Timeout {
    nanos: u64,
}

impl Timeout {
    /// Fires after `d`.
    pub fn new(d: Duration) -> Timeout {
        Timeout {
            nanos: u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
        }
    }
}

op!(Timeout, Result<(), Error>,
|s| Ok(Op::Timeout { nanos: s.nanos, count: 0 }),
|_s, o| match unit(o) {
    Err(Error::Os(e)) if e.raw() == libc::ETIME => Ok(()),
    other => other,
});

/// Cancels a request in flight: queued or parked ones complete
/// `ECANCELED` at once, a running one is interrupted. Fails with `ENOENT`
/// if the request is not in flight.
#[derive(Clone, Copy, Debug)]
pub struct Cancel {
    target: CancelTarget,
}

impl Cancel {
    /// Cancels the request `id`.
    pub fn request(id: RequestId) -> Cancel {
        Cancel {
            target: CancelTarget::UserData(id.user_data()),
        }
    }

    /// Cancels every request whose fd argument is `fd`; yields how many.
    pub fn fd(fd: i32) -> Cancel {
        Cancel {
            target: CancelTarget::Fd(fd),
        }
    }
}

op!(Cancel, Result<usize, Error>,
    |s| Ok(Op::Cancel { target: s.target }),
    |_s, o| count(o));

/// Does nothing, through the whole path (a ring round trip).
#[derive(Clone, Copy, Debug, Default)]
pub struct Nop;

op!(Nop, Result<(), Error>, |_s| Ok(Op::Nop), |_s, o| unit(o));
