//! The shape of a syscall: its arguments' kinds and its return kind.
//!
//! Arguments are listed in the kernel's register order for the host
//! architecture, so argument `i` of a [`Signature`] is raw argument `i`.

use std::fmt;

use crate::class::ExecClass;
use crate::flags::{self, FlagTable};

/// A kernel structure (or scalar) passed by pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StructKind {
    /// `struct timespec`.
    Timespec,
    /// `struct timespec[2]` (`utimensat` times).
    TimespecPair,
    /// `struct timeval`.
    Timeval,
    /// `struct timeval[2]` (`utimes` times).
    TimevalPair,
    /// `struct timezone`.
    Timezone,
    /// `struct itimerspec`.
    Itimerspec,
    /// `struct itimerval`.
    Itimerval,
    /// The kernel's `struct stat` for the host architecture.
    Stat,
    /// `struct statx`.
    Statx,
    /// `struct statfs`.
    Statfs,
    /// A socket address (`struct sockaddr_*`); its length is another
    /// argument.
    Sockaddr,
    /// `socklen_t`, an in/out length.
    Socklen,
    /// `struct msghdr` (with nested name, iovec and control buffers).
    Msghdr,
    /// `struct mmsghdr`.
    Mmsghdr,
    /// `struct iovec`.
    Iovec,
    /// `struct pollfd`.
    Pollfd,
    /// `struct epoll_event` (packed on x86_64).
    EpollEvent,
    /// `struct linux_dirent64` records.
    Dirent64,
    /// `struct linux_dirent` records (legacy `getdents`).
    Dirent,
    /// `struct rlimit`.
    Rlimit,
    /// `struct rusage`.
    Rusage,
    /// `struct utsname`.
    Utsname,
    /// `struct sysinfo`.
    Sysinfo,
    /// `struct tms`.
    Tms,
    /// The kernel's `sigset_t` (8 bytes; `sigsetsize` must be 8).
    Sigset,
    /// The kernel's `struct sigaction` (handler, flags, restorer, mask).
    Sigaction,
    /// `siginfo_t`.
    Siginfo,
    /// `stack_t` (`sigaltstack`).
    StackT,
    /// `struct open_how` (`openat2`).
    OpenHow,
    /// `struct sched_param`.
    SchedParam,
    /// `struct __user_cap_header_struct`.
    CapHeader,
    /// `struct __user_cap_data_struct[2]` (capability version 3).
    CapData,
    /// `struct sigevent`.
    Sigevent,
    /// `int[2]`: two fds (`pipe2`, `socketpair`).
    FdPair,
    /// A C `int` (`wait4` status, timer ids).
    Int,
    /// A `u32` (`uid_t`, `gid_t`, cpu and node numbers).
    U32,
    /// A C `long` (`time_t`).
    Long,
    /// `loff_t`, an in/out file offset (`splice`, `sendfile`).
    Loff,
}

impl StructKind {
    /// The C spelling, e.g. `struct timespec`.
    pub const fn c_name(self) -> &'static str {
        match self {
            Self::Timespec => "struct timespec",
            Self::TimespecPair => "struct timespec[2]",
            Self::Timeval => "struct timeval",
            Self::TimevalPair => "struct timeval[2]",
            Self::Timezone => "struct timezone",
            Self::Itimerspec => "struct itimerspec",
            Self::Itimerval => "struct itimerval",
            Self::Stat => "struct stat",
            Self::Statx => "struct statx",
            Self::Statfs => "struct statfs",
            Self::Sockaddr => "struct sockaddr",
            Self::Socklen => "socklen_t",
            Self::Msghdr => "struct msghdr",
            Self::Mmsghdr => "struct mmsghdr",
            Self::Iovec => "struct iovec",
            Self::Pollfd => "struct pollfd",
            Self::EpollEvent => "struct epoll_event",
            Self::Dirent64 => "struct linux_dirent64",
            Self::Dirent => "struct linux_dirent",
            Self::Rlimit => "struct rlimit",
            Self::Rusage => "struct rusage",
            Self::Utsname => "struct utsname",
            Self::Sysinfo => "struct sysinfo",
            Self::Tms => "struct tms",
            Self::Sigset => "sigset_t",
            Self::Sigaction => "struct sigaction",
            Self::Siginfo => "siginfo_t",
            Self::StackT => "stack_t",
            Self::OpenHow => "struct open_how",
            Self::SchedParam => "struct sched_param",
            Self::CapHeader => "cap_user_header_t",
            Self::CapData => "cap_user_data_t[2]",
            Self::Sigevent => "struct sigevent",
            Self::FdPair => "int[2]",
            Self::Int => "int",
            Self::U32 => "uint32_t",
            Self::Long => "long",
            Self::Loff => "loff_t",
        }
    }

    /// The size in bytes for the host architecture, or `None` where the
    /// size comes from another argument (`Sockaddr`) or the buffer holds
    /// variable-length records (`Dirent64`, `Dirent`).
    pub const fn size(self) -> Option<usize> {
        Some(match self {
            Self::Timespec | Self::Timeval | Self::Rlimit => 16,
            Self::TimespecPair | Self::TimevalPair | Self::Itimerspec | Self::Itimerval => 32,
            Self::Timezone | Self::Sigset | Self::FdPair | Self::CapHeader => 8,
            #[cfg(target_arch = "x86_64")]
            Self::Stat => 144,
            #[cfg(target_arch = "aarch64")]
            Self::Stat => 128,
            Self::Statx => 256,
            Self::Statfs => 120,
            Self::Sockaddr | Self::Dirent64 | Self::Dirent => return None,
            Self::Socklen | Self::Int | Self::U32 | Self::SchedParam => 4,
            Self::Msghdr => 56,
            Self::Mmsghdr => 64,
            Self::Iovec => 16,
            Self::Pollfd => 8,
            #[cfg(target_arch = "x86_64")]
            Self::EpollEvent => 12,
            #[cfg(target_arch = "aarch64")]
            Self::EpollEvent => 16,
            Self::Rusage => 144,
            Self::Utsname => 390,
            Self::Sysinfo => 112,
            Self::Tms => 32,
            Self::Sigaction => 32,
            Self::Siginfo => 128,
            Self::StackT => 24,
            Self::OpenHow => 24,
            Self::CapData => 24,
            Self::Sigevent => 64,
            Self::Long | Self::Loff => 8,
        })
    }
}

/// What one argument is. Argument indices (`len_arg`, `count_arg`, …)
/// count from 0 in the same signature.
///
/// Pointer kinds may be NULL where the syscall allows it (an absent
/// `oldact`, `utimensat`'s path with `AT_EMPTY_PATH`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// A file descriptor.
    Fd,
    /// A directory fd of a `*at` call: an fd or `AT_FDCWD`.
    DirFd,
    /// A NUL-terminated path, read by the kernel.
    Path,
    /// Another NUL-terminated string (xattr name, memfd name).
    Str,
    /// A NULL-terminated array of string pointers (`argv`, `envp`).
    StrArray,
    /// Bits or an enumerated value from a table.
    Flags(&'static FlagTable),
    /// File mode bits (type and permissions), see [`flags::MODE`].
    Mode,
    /// A signed integer.
    Int,
    /// An unsigned integer (printed in hex where strace does).
    Uint,
    /// A byte count (`size_t`).
    Size,
    /// A file offset or length (`off_t`, `loff_t`).
    Offset,
    /// A device number (`dev_t`).
    Dev,
    /// Bytes the kernel reads; length in bytes from argument `len_arg`.
    InBuf {
        /// Index of the length argument.
        len_arg: u8,
    },
    /// Bytes the kernel writes; capacity in bytes from argument `len_arg`.
    OutBuf {
        /// Index of the length argument.
        len_arg: u8,
    },
    /// Bytes the kernel writes; capacity from the `socklen_t` that
    /// argument `len_ptr_arg` points at (`getsockopt`).
    OutBufLenPtr {
        /// Index of the [`StructKind::Socklen`] argument.
        len_ptr_arg: u8,
    },
    /// An output buffer of variable-length records (`getdents64`);
    /// capacity in bytes from argument `len_arg`.
    OutRecords {
        /// The record type.
        elem: StructKind,
        /// Index of the length argument.
        len_arg: u8,
    },
    /// A structure the kernel reads.
    InStruct(StructKind),
    /// A structure the kernel writes.
    OutStruct(StructKind),
    /// A structure the kernel reads and writes.
    InOutStruct(StructKind),
    /// An array the kernel reads; element count from argument `count_arg`.
    InArray {
        /// The element type.
        elem: StructKind,
        /// Index of the count argument.
        count_arg: u8,
    },
    /// An array the kernel writes; capacity in elements from `count_arg`.
    OutArray {
        /// The element type.
        elem: StructKind,
        /// Index of the count argument.
        count_arg: u8,
    },
    /// An array the kernel reads and writes (`pollfd`, `mmsghdr`).
    InOutArray {
        /// The element type.
        elem: StructKind,
        /// Index of the count argument.
        count_arg: u8,
    },
    /// An `iovec` array whose buffers the kernel reads (`writev`); count
    /// from `count_arg`.
    InIovec {
        /// Index of the count argument.
        count_arg: u8,
    },
    /// An `iovec` array whose buffers the kernel fills (`readv`); count
    /// from `count_arg`.
    OutIovec {
        /// Index of the count argument.
        count_arg: u8,
    },
    /// A socket address the kernel reads; length in bytes from `len_arg`
    /// (`connect`, `bind`, `sendto`).
    InSockaddr {
        /// Index of the length argument.
        len_arg: u8,
    },
    /// A socket address the kernel writes; capacity from the `socklen_t`
    /// that argument `len_ptr_arg` points at (`accept`, `recvfrom`).
    OutSockaddr {
        /// Index of the [`StructKind::Socklen`] argument.
        len_ptr_arg: u8,
    },
    /// A pointer the kernel uses as an address or stores, not a buffer
    /// sysgate copies (`set_tid_address`, futex words, ioctl arguments).
    Ptr,
    /// An address in this process's memory used as an address, never read
    /// or written as a buffer: `mmap`'s hint, `brk`'s new end, the range
    /// `msync`, `mincore`, `mlock` and `munlock` look at. Only NULL is
    /// passed by the entry points that take no raw pointers.
    Addr,
    /// The start of a range of this process's mappings that the call
    /// changes — unmaps, re-protects, moves or advises away (`munmap`,
    /// `mprotect`, `mremap`, `madvise`). Dangerous whatever its value
    /// (`munmap(0, 1 << 46)` unmaps the program), so the entry points that
    /// take no raw pointers refuse the call; the unsafe `raw_ptr` runs it.
    MapRange,
    /// A signal number.
    Signal,
    /// A process or thread id.
    Pid,
    /// A user id.
    Uid,
    /// A group id.
    Gid,
    /// A clock id.
    ClockId,
    /// An `lseek` whence.
    Whence,
}

impl ArgKind {
    /// The table that parses and prints this argument's constants, if any.
    pub const fn table(&self) -> Option<&'static FlagTable> {
        match self {
            Self::Flags(t) => Some(*t),
            Self::Mode => Some(&flags::MODE),
            Self::Signal => Some(&flags::SIGNAL),
            Self::ClockId => Some(&flags::CLOCK_ID),
            Self::Whence => Some(&flags::SEEK_WHENCE),
            Self::DirFd => Some(&flags::DIRFD),
            _ => None,
        }
    }

    /// Whether the kernel takes this argument as an address in the
    /// caller's memory (a buffer, a struct, a string, a raw pointer or a
    /// mapping): the entry points that take no raw pointers pass only
    /// NULL or one of the request's buffers here.
    pub const fn is_address(&self) -> bool {
        use ArgKind::*;
        matches!(
            self,
            Path | Str
                | StrArray
                | InBuf { .. }
                | OutBuf { .. }
                | OutBufLenPtr { .. }
                | OutRecords { .. }
                | InStruct(_)
                | OutStruct(_)
                | InOutStruct(_)
                | InArray { .. }
                | OutArray { .. }
                | InOutArray { .. }
                | InIovec { .. }
                | OutIovec { .. }
                | InSockaddr { .. }
                | OutSockaddr { .. }
                | Ptr
                | Addr
                | MapRange
        )
    }

    /// Whether this is a plain integer that can hold a length or count
    /// (`Int`, `Uint`, `Size`).
    pub const fn is_integer(&self) -> bool {
        matches!(self, Self::Int | Self::Uint | Self::Size)
    }

    /// The argument this one takes its length or count from, and whether
    /// that argument is a pointer to the length (`socklen_t *`) rather
    /// than the length itself.
    pub const fn length_ref(&self) -> Option<(usize, LengthRef)> {
        match *self {
            Self::InBuf { len_arg }
            | Self::OutBuf { len_arg }
            | Self::OutRecords { len_arg, .. }
            | Self::InSockaddr { len_arg } => Some((len_arg as usize, LengthRef::Bytes)),
            Self::InArray { count_arg, .. }
            | Self::OutArray { count_arg, .. }
            | Self::InOutArray { count_arg, .. }
            | Self::InIovec { count_arg }
            | Self::OutIovec { count_arg } => Some((count_arg as usize, LengthRef::Elements)),
            Self::OutBufLenPtr { len_ptr_arg } | Self::OutSockaddr { len_ptr_arg } => {
                Some((len_ptr_arg as usize, LengthRef::BytesByPointer))
            }
            _ => None,
        }
    }
}

/// How an argument's length reference is to be read
/// ([`ArgKind::length_ref`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthRef {
    /// The referenced integer argument is a byte count.
    Bytes,
    /// The referenced integer argument is an element count.
    Elements,
    /// The referenced argument points at a `socklen_t` holding the byte
    /// count (updated by the kernel).
    BytesByPointer,
}

/// One argument: its name as the man page spells it, and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgSpec {
    /// The name, e.g. `dirfd`.
    pub name: &'static str,
    /// What the argument is.
    pub kind: ArgKind,
}

/// What a successful call returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetKind {
    /// Zero on success.
    Zero,
    /// A new file descriptor.
    Fd,
    /// A byte count.
    Size,
    /// A count of elements (ready fds, events, messages, groups).
    Count,
    /// A process or thread id.
    Pid,
    /// A user id.
    Uid,
    /// A group id.
    Gid,
    /// A memory address.
    Addr,
    /// A file offset.
    Offset,
    /// A file mode (the previous umask).
    Mode,
    /// Some other integer (depends on the call or its command).
    Int,
    /// Does not return on success.
    Never,
}

impl RetKind {
    /// How a signature prints the return kind: `0`, `fd`, `size`, …; `?`
    /// for calls that do not return (as strace prints them).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Zero => "0",
            Self::Fd => "fd",
            Self::Size => "size",
            Self::Count => "count",
            Self::Pid => "pid",
            Self::Uid => "uid",
            Self::Gid => "gid",
            Self::Addr => "addr",
            Self::Offset => "offset",
            Self::Mode => "mode",
            Self::Int => "int",
            Self::Never => "?",
        }
    }
}

/// A syscall's signature: arguments in register order, return kind and
/// execution class. Displays in strace's shape:
/// `openat(dirfd, path, flags:O_*, mode) -> fd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    /// The syscall's name on the host architecture.
    pub name: &'static str,
    /// Its number on the host architecture.
    pub nr: u32,
    /// Its arguments, in register order.
    pub args: &'static [ArgSpec],
    /// What it returns on success.
    pub ret: RetKind,
    /// How the executor runs it.
    pub class: ExecClass,
    /// Why it has that class, where that is not obvious.
    pub reason: Option<&'static str>,
}

/// Which output a successful result fills ([`Signature::result_fills`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill {
    /// Index of the output argument.
    pub arg: usize,
    /// What the result counts.
    pub unit: FillUnit,
}

/// The unit of a result that says how much of an output was filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillUnit {
    /// Bytes (`read` into its buffer, `getdents64` into its records,
    /// `readv` across its iovecs, `recvmsg` across the msghdr's iovecs).
    Bytes,
    /// Elements of an output array (`epoll_wait` events, `getgroups`).
    Elements,
}

impl Signature {
    /// Argument `i`, if the call has it.
    pub fn arg(&self, i: usize) -> Option<&'static ArgSpec> {
        self.args.get(i)
    }

    /// For a [`NowaitCapable`](ExecClass::NowaitCapable) call, the index of
    /// the fd whose readiness the executor waits for on `EAGAIN`; `None`
    /// for every other class.
    pub fn nowait_fd(&self) -> Option<usize> {
        if self.class != ExecClass::NowaitCapable {
            return None;
        }
        self.args.iter().position(|a| a.kind == ArgKind::Fd)
    }

    /// The output a successful result measures: for a [`RetKind::Size`]
    /// result, the buffer (or iovec array, record buffer, msghdr) that
    /// holds that many bytes; for a [`RetKind::Count`] result, the output
    /// array holding that many elements. `None` when the result fills
    /// nothing (`write`, `sendfile`, `poll`'s in/out array).
    pub fn result_fills(&self) -> Option<Fill> {
        let (unit, is_target): (FillUnit, fn(&ArgKind) -> bool) = match self.ret {
            RetKind::Size => (FillUnit::Bytes, |k| {
                matches!(
                    k,
                    ArgKind::OutBuf { .. }
                        | ArgKind::OutBufLenPtr { .. }
                        | ArgKind::OutRecords { .. }
                        | ArgKind::OutIovec { .. }
                        | ArgKind::InOutStruct(StructKind::Msghdr)
                )
            }),
            RetKind::Count => (FillUnit::Elements, |k| {
                matches!(k, ArgKind::OutArray { .. })
            }),
            _ => return None,
        };
        let arg = self.args.iter().position(|a| is_target(&a.kind))?;
        Some(Fill { arg, unit })
    }

    /// The argument that points straight at the buffer a successful result
    /// counts the bytes of (`read`'s buffer, `getdents64`'s records): the
    /// output the executor trims to the result. `None` when the result
    /// fills nothing, counts elements, or is spread over nested buffers
    /// (iovecs, a msghdr).
    pub fn filled_buffer(&self) -> Option<usize> {
        let fill = self.result_fills()?;
        let direct = matches!(
            self.args[fill.arg].kind,
            ArgKind::OutBuf { .. } | ArgKind::OutRecords { .. }
        );
        (fill.unit == FillUnit::Bytes && direct).then_some(fill.arg)
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.name)?;
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(arg.name)?;
            if let ArgKind::Flags(table) = arg.kind {
                write!(f, ":{}", table.pattern)?;
            }
        }
        write!(f, ") -> {}", self.ret.as_str())
    }
}
