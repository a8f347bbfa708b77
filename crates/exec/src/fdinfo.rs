//! Looking at a file descriptor: its type and status flags.
//!
//! Only the slow paths call these (a nowait attempt that could not complete,
//! a punt that needs its account or its file's identity): each costs a
//! syscall, and the inline path promises none besides the one requested.

use crate::pool::{Account, FileKey};

/// What kind of file an fd refers to, as far as dispatch cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FdKind {
    /// A regular file: reads and writes always finish.
    Regular(FileKey),
    /// A block device: like a regular file, but not hashed.
    Block,
    /// A socket, pipe, FIFO, character device, eventfd, … — pollable, and
    /// may block indefinitely.
    Pollable,
    /// A directory or something `fstat` could not describe.
    Other,
}

impl FdKind {
    /// The pool account blocking work on this kind of file belongs to.
    pub(crate) fn account(self) -> Account {
        match self {
            FdKind::Regular(_) | FdKind::Block | FdKind::Other => Account::Bounded,
            FdKind::Pollable => Account::Unbounded,
        }
    }
}

/// `fstat(fd)`; `None` if the fd is not open.
fn fstat(fd: i32) -> Option<libc::stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes one `struct stat` into the buffer we own; we read
    // it only when the call succeeded.
    let rc = unsafe { libc::fstat(fd, st.as_mut_ptr()) };
    // SAFETY: fstat returned 0, so it initialised `st`.
    (rc == 0).then(|| unsafe { st.assume_init() })
}

/// `fstat(fd)` reduced to an [`FdKind`]; `None` if the fd is not open.
pub(crate) fn fd_kind(fd: i32) -> Option<FdKind> {
    let st = fstat(fd)?;
    Some(match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => FdKind::Regular(FileKey {
            dev: st.st_dev,
            ino: st.st_ino,
        }),
        libc::S_IFBLK => FdKind::Block,
        libc::S_IFSOCK | libc::S_IFIFO | libc::S_IFCHR => FdKind::Pollable,
        // epoll, eventfd, timerfd, signalfd, pidfd: anonymous inodes with
        // no file type bits, all pollable.
        0 => FdKind::Pollable,
        _ => FdKind::Other,
    })
}

/// Whether a read of regular file `fd` that has just stopped short ended
/// at the end of the file (`pos`: the offset after it, `None` for the
/// file position). `false` means the rest was just not in the page cache.
/// Anything that is not a regular file counts as ended.
pub(crate) fn read_reached_eof(fd: i32, pos: Option<u64>) -> bool {
    let Some(st) = fstat(fd) else {
        return true;
    };
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return true;
    }
    // SAFETY: lseek with SEEK_CUR and offset 0 only reports the position.
    let pos = pos.map_or_else(
        || unsafe { libc::lseek(fd, 0, libc::SEEK_CUR) },
        |p| p as i64,
    );
    pos < 0 || pos >= st.st_size
}

/// Whether `fd` has `O_NONBLOCK` set (false if it is not open).
/// Whether `fd` is a socket that listens for connections.
pub(crate) fn is_listening(fd: i32) -> bool {
    let mut on: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: SO_ACCEPTCONN writes one int into `on` and its length into
    // `len`, both alive and exclusively borrowed for the call.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ACCEPTCONN,
            (&raw mut on).cast(),
            &mut len,
        )
    };
    rc == 0 && on != 0
}

pub(crate) fn is_nonblocking(fd: i32) -> bool {
    // SAFETY: F_GETFL takes no argument and only reads the fd's flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    flags >= 0 && flags & libc::O_NONBLOCK != 0
}
