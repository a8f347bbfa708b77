//! The syscall table: signatures, classes, and the per-number index.
//!
//! Three sources, one rule:
//!
//! 1. [`SIGNATURES`]: syscalls with a full signature carry their own class.
//! 2. [`CLASS_ONLY`]: syscalls without a signature whose class is not the
//!    default (forbidden, thread-affine, non-blocking, …).
//! 3. Every other number the `syscalls` crate names gets [`DEFAULT_CLASS`]
//!    (`Blocking`): we do not know that it cannot wait, and the pool is
//!    always correct, only slower.
//!
//! Numbers the `syscalls` crate does not name are [`ExecClass::Unknown`].
//! A per-number index folds all three into one array indexed by number, built at
//! compile time, so [`class_of`](crate::class_of) is an index and a load.
//!
//! Entries use `Sysno::<name>`, so a name that does not exist on the host
//! architecture fails to compile; the legacy calls x86_64 has and aarch64
//! lacks (`open`, `stat`, `poll`, `fork`, …) are behind `#[cfg]`.

use syscalls::Sysno;

use crate::class::ExecClass;
use crate::flags::*;
use crate::refine::REFINED;
use crate::signature::ArgKind::*;
use crate::signature::{ArgSpec, RetKind, Signature, StructKind as S};

/// The class of a named syscall that is in neither table.
pub const DEFAULT_CLASS: ExecClass = ExecClass::Blocking;

/// `None`, or `Some(reason)`.
macro_rules! reason {
    () => {
        None
    };
    ($r:expr) => {
        Some($r)
    };
}

/// `name(arg: Kind, …) -> Ret, Class[, "reason"];` entries.
macro_rules! signatures {
    ($(
        $(#[$m:meta])*
        $name:ident($($arg:ident: $kind:expr),* $(,)?) -> $ret:ident, $class:ident $(, $reason:expr)?;
    )*) => {
        &[$(
            $(#[$m])*
            Signature {
                name: stringify!($name),
                nr: Sysno::$name as u32,
                args: &[$(ArgSpec { name: stringify!($arg), kind: $kind }),*],
                ret: RetKind::$ret,
                class: ExecClass::$class,
                reason: reason!($($reason)?),
            },
        )*]
    };
}

/// A class for a syscall that has no signature.
#[derive(Debug, Clone, Copy)]
pub struct ClassEntry {
    /// The syscall's name.
    pub name: &'static str,
    /// Its number on the host architecture.
    pub nr: u32,
    /// Its class.
    pub class: ExecClass,
    /// Why, where not obvious.
    pub reason: Option<&'static str>,
}

/// `name: Class[, "reason"];` entries.
macro_rules! classes {
    ($(
        $(#[$m:meta])*
        $name:ident: $class:ident $(, $reason:expr)?;
    )*) => {
        &[$(
            $(#[$m])*
            ClassEntry {
                name: stringify!($name),
                nr: Sysno::$name as u32,
                class: ExecClass::$class,
                reason: reason!($($reason)?),
            },
        )*]
    };
}

const FILE_META: &str = "updates an inode: may wait on the journal, a network server or FUSE";
const XATTR: &str = "extended attributes may be read from disk or a server";
const BROADCAST_CREDS: &str = "credentials are per thread in the kernel: the executor calls glibc's \
    wrapper, which changes them on every thread of the process at once (threads started later \
    inherit them), so every later call runs with the new identity";
const FS_IDS: &str = "changes only the running thread's filesystem ids, and glibc's wrapper does \
    not broadcast it either: refused; use setresuid/setresgid, which the gateway applies to every \
    thread";
const PID0_THREAD: &str = "pid 0 means the calling thread";
const WAITS_TIMEOUT: &str = "waits up to its timeout; the executor may run a zero timeout inline";
const NOT_IMPLEMENTED: &str =
    "not implemented by this kernel (sys_ni_syscall): fails with ENOSYS at once";

/// Every syscall with a full signature.
pub static SIGNATURES: &[Signature] = signatures![
    // --- reading and writing -------------------------------------------
    read(fd: Fd, buf: OutBuf { len_arg: 2 }, count: Size) -> Size, NowaitCapable;
    write(fd: Fd, buf: InBuf { len_arg: 2 }, count: Size) -> Size, NowaitCapable;
    pread64(fd: Fd, buf: OutBuf { len_arg: 2 }, count: Size, offset: Offset) -> Size, NowaitCapable,
        "regular files are retried as preadv2(RWF_NOWAIT)";
    pwrite64(fd: Fd, buf: InBuf { len_arg: 2 }, count: Size, offset: Offset) -> Size, NowaitCapable,
        "regular files are retried as pwritev2(RWF_NOWAIT)";
    readv(fd: Fd, iov: OutIovec { count_arg: 2 }, iovcnt: Int) -> Size, NowaitCapable;
    writev(fd: Fd, iov: InIovec { count_arg: 2 }, iovcnt: Int) -> Size, NowaitCapable;
    preadv(fd: Fd, iov: OutIovec { count_arg: 2 }, iovcnt: Int, offset: Offset, offset_hi: Uint) -> Size, NowaitCapable,
        "regular files are retried as preadv2(RWF_NOWAIT); offset_hi is unused on 64-bit";
    pwritev(fd: Fd, iov: InIovec { count_arg: 2 }, iovcnt: Int, offset: Offset, offset_hi: Uint) -> Size, NowaitCapable,
        "regular files are retried as pwritev2(RWF_NOWAIT); offset_hi is unused on 64-bit";
    preadv2(fd: Fd, iov: OutIovec { count_arg: 2 }, iovcnt: Int, offset: Offset, offset_hi: Uint, flags: Flags(&RWF_FLAGS)) -> Size, NowaitCapable;
    pwritev2(fd: Fd, iov: InIovec { count_arg: 2 }, iovcnt: Int, offset: Offset, offset_hi: Uint, flags: Flags(&RWF_FLAGS)) -> Size, NowaitCapable;
    sendfile(out_fd: Fd, in_fd: Fd, offset: InOutStruct(S::Loff), count: Size) -> Size, Blocking,
        "reads a file, which has no non-blocking mode";
    splice(fd_in: Fd, off_in: InOutStruct(S::Loff), fd_out: Fd, off_out: InOutStruct(S::Loff), len: Size, flags: Flags(&SPLICE_FLAGS)) -> Size, Blocking,
        "SPLICE_F_NONBLOCK covers only the pipe side; a file side can still wait";
    tee(fd_in: Fd, fd_out: Fd, len: Size, flags: Flags(&SPLICE_FLAGS)) -> Size, Blocking,
        "waits for pipe data unless SPLICE_F_NONBLOCK";
    copy_file_range(fd_in: Fd, off_in: InOutStruct(S::Loff), fd_out: Fd, off_out: InOutStruct(S::Loff), len: Size, flags: Uint) -> Size, Blocking;

    // --- file descriptors ------------------------------------------------
    close(fd: Fd) -> Zero, NonBlocking,
        "inline per the design table; a flush on close (NFS, FUSE) can still wait";
    close_range(first: Fd, last: Fd, flags: Flags(&CLOSE_RANGE_FLAGS)) -> Zero, NonBlocking,
        "like close; CLOSE_RANGE_UNSHARE would give one thread its own descriptor table: refused";
    dup(oldfd: Fd) -> Fd, NonBlocking;
    #[cfg(target_arch = "x86_64")]
    dup2(oldfd: Fd, newfd: Fd) -> Fd, NonBlocking;
    dup3(oldfd: Fd, newfd: Fd, flags: Flags(&DUP3_FLAGS)) -> Fd, NonBlocking;
    fcntl(fd: Fd, cmd: Flags(&FCNTL_CMD), arg: Uint) -> Int, NonBlocking,
        "except F_SETLKW and F_OFD_SETLKW, which wait for a lock: the executor punts those";
    ioctl(fd: Fd, request: Uint, arg: Ptr) -> Int, Blocking,
        "request-specific; device ioctls may wait";
    lseek(fd: Fd, offset: Offset, whence: Whence) -> Offset, NonBlocking;
    flock(fd: Fd, operation: Flags(&FLOCK_OP)) -> Zero, Blocking;
    fsync(fd: Fd) -> Zero, Blocking;
    fdatasync(fd: Fd) -> Zero, Blocking;
    syncfs(fd: Fd) -> Zero, Blocking;
    sync() -> Zero, Blocking;
    sync_file_range(fd: Fd, offset: Offset, nbytes: Offset, flags: Flags(&SYNC_FILE_RANGE_FLAGS)) -> Zero, Blocking;
    ftruncate(fd: Fd, length: Offset) -> Zero, Blocking,
        "may free blocks and wait on the journal";
    fallocate(fd: Fd, mode: Flags(&FALLOC_FLAGS), offset: Offset, len: Offset) -> Zero, Blocking;
    fadvise64(fd: Fd, offset: Offset, len: Offset, advice: Flags(&FADVISE_ADVICE)) -> Zero, Blocking,
        "WILLNEED starts reads and DONTNEED writes back; both can wait";
    readahead(fd: Fd, offset: Offset, count: Size) -> Zero, Blocking;
    #[cfg(target_arch = "x86_64")]
    pipe(pipefd: OutStruct(S::FdPair)) -> Zero, NonBlocking;
    pipe2(pipefd: OutStruct(S::FdPair), flags: Flags(&PIPE_FLAGS)) -> Zero, NonBlocking;
    #[cfg(target_arch = "x86_64")]
    eventfd(initval: Uint) -> Fd, NonBlocking;
    eventfd2(initval: Uint, flags: Flags(&EVENTFD_FLAGS)) -> Fd, NonBlocking;
    timerfd_create(clockid: ClockId, flags: Flags(&TIMERFD_CREATE_FLAGS)) -> Fd, NonBlocking;
    timerfd_settime(fd: Fd, flags: Flags(&TIMERFD_SETTIME_FLAGS), new_value: InStruct(S::Itimerspec), old_value: OutStruct(S::Itimerspec)) -> Zero, NonBlocking;
    timerfd_gettime(fd: Fd, curr_value: OutStruct(S::Itimerspec)) -> Zero, NonBlocking;
    #[cfg(target_arch = "x86_64")]
    signalfd(fd: Fd, mask: InStruct(S::Sigset), sizemask: Size) -> Fd, NonBlocking;
    signalfd4(fd: Fd, mask: InStruct(S::Sigset), sizemask: Size, flags: Flags(&SIGNALFD_FLAGS)) -> Fd, NonBlocking;
    memfd_create(name: Str, flags: Flags(&MEMFD_FLAGS)) -> Fd, NonBlocking,
        "creates an in-memory file; no I/O";
    #[cfg(target_arch = "x86_64")]
    inotify_init() -> Fd, NonBlocking;
    inotify_init1(flags: Flags(&INOTIFY_INIT_FLAGS)) -> Fd, NonBlocking;
    inotify_add_watch(fd: Fd, path: Path, mask: Flags(&INOTIFY_MASK)) -> Int, Blocking,
        "path lookup";
    inotify_rm_watch(fd: Fd, wd: Int) -> Zero, NonBlocking;

    // --- file status -------------------------------------------------------
    fstat(fd: Fd, statbuf: OutStruct(S::Stat)) -> Zero, Blocking,
        "network and FUSE filesystems revalidate attributes (like statx)";
    #[cfg(target_arch = "x86_64")]
    stat(path: Path, statbuf: OutStruct(S::Stat)) -> Zero, Blocking;
    #[cfg(target_arch = "x86_64")]
    lstat(path: Path, statbuf: OutStruct(S::Stat)) -> Zero, Blocking;
    #[cfg(target_arch = "x86_64")]
    newfstatat(dirfd: DirFd, path: Path, statbuf: OutStruct(S::Stat), flags: Flags(&AT_FLAGS)) -> Zero, Blocking;
    #[cfg(target_arch = "aarch64")]
    fstatat(dirfd: DirFd, path: Path, statbuf: OutStruct(S::Stat), flags: Flags(&AT_FLAGS)) -> Zero, Blocking;
    statx(dirfd: DirFd, path: Path, flags: Flags(&STATX_AT_FLAGS), mask: Flags(&STATX_MASK), statxbuf: OutStruct(S::Statx)) -> Zero, Blocking;
    statfs(path: Path, buf: OutStruct(S::Statfs)) -> Zero, Blocking;
    fstatfs(fd: Fd, buf: OutStruct(S::Statfs)) -> Zero, Blocking;

    // --- directories and paths ------------------------------------------
    getdents64(fd: Fd, dirp: OutRecords { elem: S::Dirent64, len_arg: 2 }, count: Size) -> Size, Blocking;
    #[cfg(target_arch = "x86_64")]
    getdents(fd: Fd, dirp: OutRecords { elem: S::Dirent, len_arg: 2 }, count: Size) -> Size, Blocking;
    #[cfg(target_arch = "x86_64")]
    open(path: Path, flags: Flags(&OPEN_FLAGS), mode: Mode) -> Fd, CachedFirst,
        "re-issued as openat2(AT_FDCWD, …, RESOLVE_CACHED)";
    #[cfg(target_arch = "x86_64")]
    creat(path: Path, mode: Mode) -> Fd, Blocking,
        "always O_CREAT|O_TRUNC, which go straight to the pool";
    openat(dirfd: DirFd, path: Path, flags: Flags(&OPEN_FLAGS), mode: Mode) -> Fd, CachedFirst;
    openat2(dirfd: DirFd, path: Path, how: InStruct(S::OpenHow), size: Size) -> Fd, CachedFirst;
    #[cfg(target_arch = "x86_64")]
    access(path: Path, mode: Flags(&ACCESS_MODE)) -> Zero, Blocking;
    faccessat(dirfd: DirFd, path: Path, mode: Flags(&ACCESS_MODE)) -> Zero, Blocking;
    faccessat2(dirfd: DirFd, path: Path, mode: Flags(&ACCESS_MODE), flags: Flags(&FACCESSAT_FLAGS)) -> Zero, Blocking;
    #[cfg(target_arch = "x86_64")]
    readlink(path: Path, buf: OutBuf { len_arg: 2 }, bufsiz: Size) -> Size, Blocking;
    readlinkat(dirfd: DirFd, path: Path, buf: OutBuf { len_arg: 3 }, bufsiz: Size) -> Size, Blocking;
    #[cfg(target_arch = "x86_64")]
    mkdir(path: Path, mode: Mode) -> Zero, Blocking;
    mkdirat(dirfd: DirFd, path: Path, mode: Mode) -> Zero, Blocking;
    #[cfg(target_arch = "x86_64")]
    mknod(path: Path, mode: Mode, dev: Dev) -> Zero, Blocking;
    mknodat(dirfd: DirFd, path: Path, mode: Mode, dev: Dev) -> Zero, Blocking;
    #[cfg(target_arch = "x86_64")]
    rmdir(path: Path) -> Zero, Blocking;
    #[cfg(target_arch = "x86_64")]
    unlink(path: Path) -> Zero, Blocking;
    unlinkat(dirfd: DirFd, path: Path, flags: Flags(&AT_FLAGS)) -> Zero, Blocking;
    #[cfg(target_arch = "x86_64")]
    rename(oldpath: Path, newpath: Path) -> Zero, Blocking;
    renameat(olddirfd: DirFd, oldpath: Path, newdirfd: DirFd, newpath: Path) -> Zero, Blocking;
    renameat2(olddirfd: DirFd, oldpath: Path, newdirfd: DirFd, newpath: Path, flags: Flags(&RENAME_FLAGS)) -> Zero, Blocking;
    #[cfg(target_arch = "x86_64")]
    link(oldpath: Path, newpath: Path) -> Zero, Blocking;
    linkat(olddirfd: DirFd, oldpath: Path, newdirfd: DirFd, newpath: Path, flags: Flags(&AT_FLAGS)) -> Zero, Blocking;
    #[cfg(target_arch = "x86_64")]
    symlink(target: Path, linkpath: Path) -> Zero, Blocking;
    symlinkat(target: Path, newdirfd: DirFd, linkpath: Path) -> Zero, Blocking;
    #[cfg(target_arch = "x86_64")]
    chmod(path: Path, mode: Mode) -> Zero, Blocking;
    fchmod(fd: Fd, mode: Mode) -> Zero, Blocking, FILE_META;
    fchmodat(dirfd: DirFd, path: Path, mode: Mode) -> Zero, Blocking;
    fchmodat2(dirfd: DirFd, path: Path, mode: Mode, flags: Flags(&AT_FLAGS)) -> Zero, Blocking;
    #[cfg(target_arch = "x86_64")]
    chown(path: Path, owner: Uid, group: Gid) -> Zero, Blocking;
    #[cfg(target_arch = "x86_64")]
    lchown(path: Path, owner: Uid, group: Gid) -> Zero, Blocking;
    fchown(fd: Fd, owner: Uid, group: Gid) -> Zero, Blocking, FILE_META;
    fchownat(dirfd: DirFd, path: Path, owner: Uid, group: Gid, flags: Flags(&AT_FLAGS)) -> Zero, Blocking;
    utimensat(dirfd: DirFd, path: Path, times: InStruct(S::TimespecPair), flags: Flags(&AT_FLAGS)) -> Zero, Blocking;
    #[cfg(target_arch = "x86_64")]
    utimes(path: Path, times: InStruct(S::TimevalPair)) -> Zero, Blocking;
    truncate(path: Path, length: Offset) -> Zero, Blocking;
    chdir(path: Path) -> Zero, Blocking;
    fchdir(fd: Fd) -> Zero, Blocking,
        "the permission check may ask a network or FUSE filesystem";
    chroot(path: Path) -> Zero, Blocking;
    getcwd(buf: OutBuf { len_arg: 1 }, size: Size) -> Size, NonBlocking,
        "walks the dentry cache, no I/O; returns the length including the NUL";
    umask(mask: Mode) -> Mode, NonBlocking;

    // --- extended attributes ------------------------------------------------
    setxattr(path: Path, name: Str, value: InBuf { len_arg: 3 }, size: Size, flags: Flags(&XATTR_FLAGS)) -> Zero, Blocking, XATTR;
    lsetxattr(path: Path, name: Str, value: InBuf { len_arg: 3 }, size: Size, flags: Flags(&XATTR_FLAGS)) -> Zero, Blocking, XATTR;
    fsetxattr(fd: Fd, name: Str, value: InBuf { len_arg: 3 }, size: Size, flags: Flags(&XATTR_FLAGS)) -> Zero, Blocking, XATTR;
    getxattr(path: Path, name: Str, value: OutBuf { len_arg: 3 }, size: Size) -> Size, Blocking, XATTR;
    lgetxattr(path: Path, name: Str, value: OutBuf { len_arg: 3 }, size: Size) -> Size, Blocking, XATTR;
    fgetxattr(fd: Fd, name: Str, value: OutBuf { len_arg: 3 }, size: Size) -> Size, Blocking, XATTR;
    listxattr(path: Path, list: OutBuf { len_arg: 2 }, size: Size) -> Size, Blocking, XATTR;
    llistxattr(path: Path, list: OutBuf { len_arg: 2 }, size: Size) -> Size, Blocking, XATTR;
    flistxattr(fd: Fd, list: OutBuf { len_arg: 2 }, size: Size) -> Size, Blocking, XATTR;
    removexattr(path: Path, name: Str) -> Zero, Blocking, XATTR;
    lremovexattr(path: Path, name: Str) -> Zero, Blocking, XATTR;
    fremovexattr(fd: Fd, name: Str) -> Zero, Blocking, XATTR;

    // --- memory ---------------------------------------------------------------
    mmap(addr: Addr, length: Size, prot: Flags(&MMAP_PROT), flags: Flags(&MMAP_FLAGS), fd: Fd, offset: Offset) -> Addr, Blocking,
        "file mappings call into the filesystem; MAP_POPULATE and MAP_LOCKED fault pages in";
    munmap(addr: MapRange, length: Size) -> Zero, NonBlocking,
        "no I/O (the caller vouches the range is not in use)";
    mprotect(addr: MapRange, len: Size, prot: Flags(&MMAP_PROT)) -> Zero, NonBlocking;
    mremap(old_address: MapRange, old_size: Size, new_size: Size, flags: Flags(&MREMAP_FLAGS), new_address: Addr) -> Addr, NonBlocking,
        "moves page tables, no I/O";
    madvise(addr: MapRange, length: Size, advice: Flags(&MADVISE_ADVICE)) -> Zero, Blocking,
        "WILLNEED, POPULATE_* and PAGEOUT do I/O";
    msync(addr: Addr, length: Size, flags: Flags(&MSYNC_FLAGS)) -> Zero, Blocking;
    mincore(addr: Addr, length: Size, vec: Ptr) -> Zero, NonBlocking,
        "reads page tables and the page cache, no I/O";
    mlock(addr: Addr, len: Size) -> Zero, Blocking,
        "faults every page of the range in";
    munlock(addr: Addr, len: Size) -> Zero, NonBlocking;
    mlockall(flags: Flags(&MLOCKALL_FLAGS)) -> Zero, Blocking,
        "faults every mapped page in";
    munlockall() -> Zero, NonBlocking;
    brk(addr: Addr) -> Addr, NonBlocking,
        "brk(NULL) reports the heap's end; anything else moves the heap malloc owns (raw_ptr only)";

    // --- process and system information ---------------------------------
    getpid() -> Pid, NonBlocking;
    getppid() -> Pid, NonBlocking;
    gettid() -> Pid, ThreadAffine;
    getuid() -> Uid, NonBlocking;
    geteuid() -> Uid, NonBlocking;
    getgid() -> Gid, NonBlocking;
    getegid() -> Gid, NonBlocking;
    getresuid(ruid: OutStruct(S::U32), euid: OutStruct(S::U32), suid: OutStruct(S::U32)) -> Zero, NonBlocking;
    getresgid(rgid: OutStruct(S::U32), egid: OutStruct(S::U32), sgid: OutStruct(S::U32)) -> Zero, NonBlocking;
    getgroups(size: Int, list: OutArray { elem: S::U32, count_arg: 0 }) -> Count, NonBlocking;
    #[cfg(target_arch = "x86_64")]
    getpgrp() -> Pid, NonBlocking;
    getpgid(pid: Pid) -> Pid, NonBlocking;
    getsid(pid: Pid) -> Pid, NonBlocking;
    setsid() -> Pid, NonBlocking;
    setpgid(pid: Pid, pgid: Pid) -> Zero, NonBlocking;
    getrlimit(resource: Flags(&RLIMIT_RESOURCE), rlim: OutStruct(S::Rlimit)) -> Zero, NonBlocking;
    setrlimit(resource: Flags(&RLIMIT_RESOURCE), rlim: InStruct(S::Rlimit)) -> Zero, NonBlocking;
    prlimit64(pid: Pid, resource: Flags(&RLIMIT_RESOURCE), new_limit: InStruct(S::Rlimit), old_limit: OutStruct(S::Rlimit)) -> Zero, NonBlocking;
    getrusage(who: Flags(&RUSAGE_WHO), usage: OutStruct(S::Rusage)) -> Zero, NonBlocking,
        "RUSAGE_THREAD describes the thread that runs it, which inline is the submitting thread";
    uname(buf: OutStruct(S::Utsname)) -> Zero, NonBlocking;
    sysinfo(info: OutStruct(S::Sysinfo)) -> Zero, NonBlocking;
    times(buf: OutStruct(S::Tms)) -> Int, NonBlocking;
    getpriority(which: Flags(&PRIORITY_WHICH), who: Int) -> Int, ThreadAffine,
        "PRIO_PROCESS with who 0 means the calling thread";
    setpriority(which: Flags(&PRIORITY_WHICH), who: Int, prio: Int) -> Zero, ThreadAffine,
        "PRIO_PROCESS with who 0 means the calling thread";
    getcpu(cpu: OutStruct(S::U32), node: OutStruct(S::U32), tcache: Ptr) -> Zero, NonBlocking;
    sched_yield() -> Zero, NonBlocking,
        "gives up the CPU but never sleeps";
    sched_getaffinity(pid: Pid, cpusetsize: Size, mask: OutBuf { len_arg: 1 }) -> Size, ThreadAffine,
        "pid 0 means the calling thread; returns the bytes written";
    sched_setaffinity(pid: Pid, cpusetsize: Size, mask: InBuf { len_arg: 1 }) -> Zero, ThreadAffine, PID0_THREAD;
    sched_getscheduler(pid: Pid) -> Int, ThreadAffine, PID0_THREAD;
    sched_setscheduler(pid: Pid, policy: Flags(&SCHED_POLICY), param: InStruct(S::SchedParam)) -> Zero, ThreadAffine, PID0_THREAD;
    sched_getparam(pid: Pid, param: OutStruct(S::SchedParam)) -> Zero, ThreadAffine, PID0_THREAD;
    sched_setparam(pid: Pid, param: InStruct(S::SchedParam)) -> Zero, ThreadAffine, PID0_THREAD;
    sched_get_priority_max(policy: Flags(&SCHED_POLICY)) -> Int, NonBlocking;
    sched_get_priority_min(policy: Flags(&SCHED_POLICY)) -> Int, NonBlocking;
    getrandom(buf: OutBuf { len_arg: 1 }, buflen: Size, flags: Flags(&GETRANDOM_FLAGS)) -> Size, NonBlocking,
        "waits only before the kernel's random generator is seeded at boot";
    capget(hdrp: InOutStruct(S::CapHeader), datap: OutStruct(S::CapData)) -> Zero, NonBlocking;
    capset(hdrp: InStruct(S::CapHeader), datap: InStruct(S::CapData)) -> Zero, PerThreadState,
        "capabilities are per thread and libcap's cap_set_proc changes only the calling thread: \
         the gateway refuses rather than give one of its threads other capabilities than the rest; \
         drop them at the start of the program, before it starts threads (the gateway's too), \
         which inherit them";
    prctl(option: Flags(&PRCTL_OPTION), arg2: Uint, arg3: Uint, arg4: Uint, arg5: Uint) -> Int, ThreadAffine,
        "most options act on the calling thread; PR_SET_SECCOMP, PR_SET_MM, PR_SET_TSC, \
         PR_SET_SYSCALL_USER_DISPATCH and the pointer-authentication and shadow-stack options would \
         break the thread that runs them, and PR_SET_KEEPCAPS, PR_CAPBSET_DROP, PR_SET_SECUREBITS, \
         PR_CAP_AMBIENT (but IS_SET) and PR_SET_NO_NEW_PRIVS change one thread's credentials: \
         the gateway refuses those";
    #[cfg(target_arch = "x86_64")]
    arch_prctl(code: Flags(&ARCH_PRCTL_CODE), addr: Uint) -> Int, BreaksRunner,
        "ARCH_SET_FS and ARCH_SET_GS move the running thread's TLS, ARCH_SET_CPUID and the shadow-stack \
         codes change how it runs: refused; the codes that only read (ARCH_GET_FS, ARCH_GET_GS, \
         ARCH_GET_CPUID, the XCOMP, tag and ARCH_SHSTK_STATUS queries) run inline on the submitting \
         thread, their addr an output buffer of 8 bytes";
    set_tid_address(tidptr: Ptr) -> Pid, BreaksRunner,
        "replaces the address glibc's pthread clears when the running thread exits: the kernel would \
         write 0 there, into memory sysgate does not own, and pthread_join of the runner would break";
    set_robust_list(head: Ptr, len: Size) -> Zero, BreaksRunner,
        "replaces glibc's robust-futex list of the running thread: the kernel walks the new list \
         (any address) when the thread exits, and robust mutexes it holds are no longer released";
    rseq(rseq: Ptr, rseq_len: Uint, flags: Int, sig: Uint) -> Zero, BreaksRunner,
        "glibc registers an rseq area for each thread: unregistering it breaks the runner's \
         sched_getcpu and restartable sequences, registering another fails";
    personality(persona: Uint) -> Int, ThreadAffine,
        "the execution domain is per task";

    // --- credentials (per thread in the kernel) ----------------------------
    setuid(uid: Uid) -> Zero, PerThreadState, BROADCAST_CREDS;
    setgid(gid: Gid) -> Zero, PerThreadState, BROADCAST_CREDS;
    setreuid(ruid: Uid, euid: Uid) -> Zero, PerThreadState, BROADCAST_CREDS;
    setregid(rgid: Gid, egid: Gid) -> Zero, PerThreadState, BROADCAST_CREDS;
    setresuid(ruid: Uid, euid: Uid, suid: Uid) -> Zero, PerThreadState, BROADCAST_CREDS;
    setresgid(rgid: Gid, egid: Gid, sgid: Gid) -> Zero, PerThreadState, BROADCAST_CREDS;
    setfsuid(fsuid: Uid) -> Uid, PerThreadState, FS_IDS;
    setfsgid(fsgid: Gid) -> Gid, PerThreadState, FS_IDS;
    setgroups(size: Size, list: InArray { elem: S::U32, count_arg: 0 }) -> Zero, PerThreadState, BROADCAST_CREDS;

    // --- processes -------------------------------------------------------------
    kill(pid: Pid, sig: Signal) -> Zero, NonBlocking;
    tkill(tid: Pid, sig: Signal) -> Zero, NonBlocking;
    tgkill(tgid: Pid, tid: Pid, sig: Signal) -> Zero, NonBlocking;
    wait4(pid: Pid, wstatus: OutStruct(S::Int), options: Flags(&WAIT_OPTIONS), rusage: OutStruct(S::Rusage)) -> Pid, Blocking;
    waitid(idtype: Flags(&WAITID_TYPE), id: Pid, infop: OutStruct(S::Siginfo), options: Flags(&WAIT_OPTIONS), rusage: OutStruct(S::Rusage)) -> Zero, Blocking;
    pidfd_open(pid: Pid, flags: Flags(&PIDFD_FLAGS)) -> Fd, NonBlocking;
    pidfd_send_signal(pidfd: Fd, sig: Signal, info: InStruct(S::Siginfo), flags: Uint) -> Zero, NonBlocking;
    exit(status: Int) -> Never, Forbidden,
        "would end the thread that runs it";
    exit_group(status: Int) -> Never, Forbidden,
        "would end the whole process, the submitter with it";
    execve(path: Path, argv: StrArray, envp: StrArray) -> Zero, Forbidden,
        "would replace the whole process, the submitter with it";
    execveat(dirfd: DirFd, path: Path, argv: StrArray, envp: StrArray, flags: Flags(&AT_FLAGS)) -> Zero, Forbidden,
        "would replace the whole process, the submitter with it";
    unshare(flags: Flags(&CLONE_FLAGS)) -> Zero, PerThreadState,
        "gives only the thread that runs it its own descriptor table (CLONE_FILES), working \
         directory (CLONE_FS) or namespaces, so later calls would see other files depending on the \
         thread that runs them: refused; unshare at the start of the program, before it starts \
         threads (the gateway's too), which inherit it";
    setns(fd: Fd, nstype: Flags(&CLONE_FLAGS)) -> Zero, PerThreadState,
        "moves only the thread that runs it into the namespace: refused; call setns at the start \
         of the program, before it starts threads (the gateway's too), which inherit it";

    // --- signals ---------------------------------------------------------------
    rt_sigaction(sig: Signal, act: InStruct(S::Sigaction), oldact: OutStruct(S::Sigaction), sigsetsize: Size) -> Zero, NonBlocking,
        "dispositions are process-wide; signals 32 and 33 are glibc's own (thread cancellation, and \
         the signal that changes credentials on every thread): refused for those";
    rt_sigprocmask(how: Flags(&SIGPROCMASK_HOW), set: InStruct(S::Sigset), oldset: OutStruct(S::Sigset), sigsetsize: Size) -> Zero, ThreadAffine,
        "signals 32 and 33 are left unblocked, as glibc's sigprocmask does";
    rt_sigreturn() -> Never, Forbidden,
        "restores a signal frame the executor never pushed";
    sigaltstack(ss: InStruct(S::StackT), old_ss: OutStruct(S::StackT)) -> Zero, BreaksRunner,
        "the alternate signal stack is per thread and the runtime installed one on each of its \
         threads (stack-overflow detection): another area (any address) would take the runner's \
         signals";
    rt_sigpending(set: OutStruct(S::Sigset), sigsetsize: Size) -> Zero, ThreadAffine,
        "includes the calling thread's pending signals";
    rt_sigtimedwait(set: InStruct(S::Sigset), info: OutStruct(S::Siginfo), timeout: InStruct(S::Timespec), sigsetsize: Size) -> Int, ThreadAffine,
        "takes signals pending for the calling thread";
    rt_sigsuspend(mask: InStruct(S::Sigset), sigsetsize: Size) -> Zero, ThreadAffine,
        "swaps the calling thread's mask while it waits";
    #[cfg(target_arch = "x86_64")]
    pause() -> Zero, Blocking,
        "sleeps until a signal; cancel interrupts it";

    // --- time --------------------------------------------------------------------
    clock_gettime(clockid: ClockId, tp: OutStruct(S::Timespec)) -> Zero, NonBlocking;
    clock_getres(clockid: ClockId, res: OutStruct(S::Timespec)) -> Zero, NonBlocking;
    clock_settime(clockid: ClockId, tp: InStruct(S::Timespec)) -> Zero, NonBlocking;
    clock_nanosleep(clockid: ClockId, flags: Flags(&TIMER_FLAGS), request: InStruct(S::Timespec), remain: OutStruct(S::Timespec)) -> Zero, Blocking;
    nanosleep(req: InStruct(S::Timespec), rem: OutStruct(S::Timespec)) -> Zero, Blocking;
    gettimeofday(tv: OutStruct(S::Timeval), tz: OutStruct(S::Timezone)) -> Zero, NonBlocking;
    settimeofday(tv: InStruct(S::Timeval), tz: InStruct(S::Timezone)) -> Zero, NonBlocking;
    #[cfg(target_arch = "x86_64")]
    time(tloc: OutStruct(S::Long)) -> Int, NonBlocking;
    getitimer(which: Flags(&ITIMER_WHICH), curr_value: OutStruct(S::Itimerval)) -> Zero, NonBlocking;
    setitimer(which: Flags(&ITIMER_WHICH), new_value: InStruct(S::Itimerval), old_value: OutStruct(S::Itimerval)) -> Zero, NonBlocking;
    #[cfg(target_arch = "x86_64")]
    alarm(seconds: Uint) -> Int, NonBlocking;
    timer_create(clockid: ClockId, sevp: InStruct(S::Sigevent), timerid: OutStruct(S::Int)) -> Zero, NonBlocking;
    timer_settime(timerid: Int, flags: Flags(&TIMER_FLAGS), new_value: InStruct(S::Itimerspec), old_value: OutStruct(S::Itimerspec)) -> Zero, NonBlocking;
    timer_gettime(timerid: Int, curr_value: OutStruct(S::Itimerspec)) -> Zero, NonBlocking;
    timer_getoverrun(timerid: Int) -> Int, NonBlocking;
    timer_delete(timerid: Int) -> Zero, NonBlocking;

    // --- poll and epoll ----------------------------------------------------------
    #[cfg(target_arch = "x86_64")]
    poll(fds: InOutArray { elem: S::Pollfd, count_arg: 1 }, nfds: Uint, timeout: Int) -> Count, Blocking, WAITS_TIMEOUT;
    ppoll(fds: InOutArray { elem: S::Pollfd, count_arg: 1 }, nfds: Uint, tmo_p: InStruct(S::Timespec), sigmask: InStruct(S::Sigset), sigsetsize: Size) -> Count, Blocking, WAITS_TIMEOUT;
    #[cfg(target_arch = "x86_64")]
    epoll_create(size: Int) -> Fd, NonBlocking;
    epoll_create1(flags: Flags(&EPOLL_CREATE_FLAGS)) -> Fd, NonBlocking;
    epoll_ctl(epfd: Fd, op: Flags(&EPOLL_CTL_OP), fd: Fd, event: InStruct(S::EpollEvent)) -> Zero, NonBlocking;
    #[cfg(target_arch = "x86_64")]
    epoll_wait(epfd: Fd, events: OutArray { elem: S::EpollEvent, count_arg: 2 }, maxevents: Int, timeout: Int) -> Count, Blocking, WAITS_TIMEOUT;
    epoll_pwait(epfd: Fd, events: OutArray { elem: S::EpollEvent, count_arg: 2 }, maxevents: Int, timeout: Int, sigmask: InStruct(S::Sigset), sigsetsize: Size) -> Count, Blocking, WAITS_TIMEOUT;
    epoll_pwait2(epfd: Fd, events: OutArray { elem: S::EpollEvent, count_arg: 2 }, maxevents: Int, timeout: InStruct(S::Timespec), sigmask: InStruct(S::Sigset), sigsetsize: Size) -> Count, Blocking, WAITS_TIMEOUT;

    // --- sockets -----------------------------------------------------------------
    socket(domain: Flags(&SOCKET_DOMAIN), sock_type: Flags(&SOCKET_TYPE), protocol: Int) -> Fd, NonBlocking;
    socketpair(domain: Flags(&SOCKET_DOMAIN), sock_type: Flags(&SOCKET_TYPE), protocol: Int, sv: OutStruct(S::FdPair)) -> Zero, NonBlocking;
    bind(sockfd: Fd, addr: InSockaddr { len_arg: 2 }, addrlen: Uint) -> Zero, Blocking,
        "binding an AF_UNIX path creates a file; binds are rare, so punting all of them costs little";
    listen(sockfd: Fd, backlog: Int) -> Zero, NonBlocking;
    accept(sockfd: Fd, addr: OutSockaddr { len_ptr_arg: 2 }, addrlen: InOutStruct(S::Socklen)) -> Fd, NowaitCapable;
    accept4(sockfd: Fd, addr: OutSockaddr { len_ptr_arg: 2 }, addrlen: InOutStruct(S::Socklen), flags: Flags(&SOCKET_FLAGS)) -> Fd, NowaitCapable;
    connect(sockfd: Fd, addr: InSockaddr { len_arg: 2 }, addrlen: Uint) -> Zero, NowaitCapable,
        "on a non-blocking socket returns EINPROGRESS; done when writable, result in SO_ERROR";
    getsockname(sockfd: Fd, addr: OutSockaddr { len_ptr_arg: 2 }, addrlen: InOutStruct(S::Socklen)) -> Zero, NonBlocking;
    getpeername(sockfd: Fd, addr: OutSockaddr { len_ptr_arg: 2 }, addrlen: InOutStruct(S::Socklen)) -> Zero, NonBlocking;
    sendto(sockfd: Fd, buf: InBuf { len_arg: 2 }, len: Size, flags: Flags(&MSG_FLAGS), dest_addr: InSockaddr { len_arg: 5 }, addrlen: Uint) -> Size, NowaitCapable;
    recvfrom(sockfd: Fd, buf: OutBuf { len_arg: 2 }, len: Size, flags: Flags(&MSG_FLAGS), src_addr: OutSockaddr { len_ptr_arg: 5 }, addrlen: InOutStruct(S::Socklen)) -> Size, NowaitCapable;
    sendmsg(sockfd: Fd, msg: InStruct(S::Msghdr), flags: Flags(&MSG_FLAGS)) -> Size, NowaitCapable;
    recvmsg(sockfd: Fd, msg: InOutStruct(S::Msghdr), flags: Flags(&MSG_FLAGS)) -> Size, NowaitCapable;
    sendmmsg(sockfd: Fd, msgvec: InOutArray { elem: S::Mmsghdr, count_arg: 2 }, vlen: Uint, flags: Flags(&MSG_FLAGS)) -> Count, NowaitCapable;
    recvmmsg(sockfd: Fd, msgvec: InOutArray { elem: S::Mmsghdr, count_arg: 2 }, vlen: Uint, flags: Flags(&MSG_FLAGS), timeout: InStruct(S::Timespec)) -> Count, NowaitCapable;
    shutdown(sockfd: Fd, how: Flags(&SHUTDOWN_HOW)) -> Zero, NonBlocking;
    setsockopt(sockfd: Fd, level: Flags(&SOCKOPT_LEVEL), optname: Int, optval: InBuf { len_arg: 4 }, optlen: Uint) -> Zero, NonBlocking;
    getsockopt(sockfd: Fd, level: Flags(&SOCKOPT_LEVEL), optname: Int, optval: OutBufLenPtr { len_ptr_arg: 4 }, optlen: InOutStruct(S::Socklen)) -> Zero, NonBlocking;

    // --- synchronisation -----------------------------------------------------------
    futex(uaddr: Ptr, futex_op: Flags(&FUTEX_OP), val: Uint, timeout: InStruct(S::Timespec), uaddr2: Ptr, val3: Uint) -> Int, Blocking,
        "FUTEX_WAIT* sleeps";
];

/// Classes of syscalls that have no signature but are not [`DEFAULT_CLASS`].
pub static CLASS_ONLY: &[ClassEntry] = classes![
    clone: Forbidden, "would copy the executor's thread or process mid-dispatch";
    clone3: Forbidden, "would copy the executor's thread or process mid-dispatch";
    #[cfg(target_arch = "x86_64")]
    fork: Forbidden, "would copy the executor's process mid-dispatch";
    #[cfg(target_arch = "x86_64")]
    vfork: Forbidden, "would suspend the executor until the child execs or exits";
    restart_syscall: Forbidden, "only meaningful on the kernel's signal-restart path";
    #[cfg(target_arch = "x86_64")]
    uretprobe: Forbidden, "only valid from the kernel's uprobe trampoline; elsewhere it raises SIGILL";
    #[cfg(target_arch = "x86_64")]
    uprobe: Forbidden, "only valid from the kernel's uprobe trampoline; elsewhere it raises SIGILL";

    seccomp: BreaksRunner, "a filter attaches to the thread that runs it (TSYNC would filter sysgate's \
        other threads behind the program's back), and strict mode kills that thread at its next call \
        other than read, write or exit";
    #[cfg(target_arch = "x86_64")]
    modify_ldt: BreaksRunner, "rewrites the process's local descriptor table under its threads' segment \
        registers";
    landlock_restrict_self: PerThreadState, "restricts only the thread that runs it, so later calls \
        would be restricted or not depending on the thread that runs them: refused; call it at the \
        start of the program, before it starts threads (the gateway's too), which inherit it";
    lsm_set_self_attr: PerThreadState, "sets the security attributes of the thread that runs it only: \
        refused";
    keyctl: Blocking, "KEYCTL_JOIN_SESSION_KEYRING and KEYCTL_SET_REQKEY_KEYRING change the running \
        thread's credentials: the gateway refuses those";
    sched_setattr: ThreadAffine, "pid 0 means the calling thread";
    sched_getattr: ThreadAffine, "pid 0 means the calling thread";
    ioprio_set: ThreadAffine, "IOPRIO_WHO_PROCESS with who 0 means the calling thread";
    ioprio_get: ThreadAffine, "IOPRIO_WHO_PROCESS with who 0 means the calling thread";
    set_mempolicy: ThreadAffine, "sets the calling thread's NUMA policy";
    get_mempolicy: ThreadAffine, "reads the calling thread's NUMA policy";
    ptrace: ThreadAffine, "tracer and tracee are threads: later requests must come from the tracing thread";
    perf_event_open: ThreadAffine, "pid 0 measures the calling thread";
    get_robust_list: ThreadAffine, "pid 0 means the calling thread";
    pkey_alloc: ThreadAffine, "sets the new key's rights in the calling thread's PKRU";
    #[cfg(target_arch = "x86_64")]
    set_thread_area: BreaksRunner, "replaces a TLS descriptor of the thread that runs it";
    #[cfg(target_arch = "x86_64")]
    get_thread_area: ThreadAffine, "TLS descriptors are per thread";
    #[cfg(target_arch = "x86_64")]
    iopl: ThreadAffine, "the I/O privilege level is per thread";
    #[cfg(target_arch = "x86_64")]
    ioperm: ThreadAffine, "the I/O permission bitmap is per thread";

    #[cfg(target_arch = "x86_64")]
    select: Blocking, "waits up to its timeout (no signature yet: fd_set sizes come from nfds)";
    pselect6: Blocking, "waits up to its timeout (no signature yet: fd_set sizes come from nfds)";

    futex_wake: NonBlocking, "wakes waiters, never waits";
    futex_requeue: NonBlocking, "moves waiters, never waits";
    rt_sigqueueinfo: NonBlocking;
    rt_tgsigqueueinfo: NonBlocking;
    pidfd_getfd: NonBlocking;
    kcmp: NonBlocking;
    pkey_free: NonBlocking;
    pkey_mprotect: NonBlocking, "like mprotect";
    mseal: NonBlocking, "marks mappings, no I/O";
    sethostname: NonBlocking;
    setdomainname: NonBlocking;

    #[cfg(target_arch = "x86_64")]
    afs_syscall: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "x86_64")]
    tuxcall: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "x86_64")]
    security: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "x86_64")]
    vserver: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "x86_64")]
    getpmsg: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "x86_64")]
    putpmsg: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "x86_64")]
    create_module: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "x86_64")]
    get_kernel_syms: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "x86_64")]
    query_module: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "x86_64")]
    nfsservctl: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "x86_64")]
    epoll_ctl_old: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "x86_64")]
    epoll_wait_old: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "x86_64")]
    _sysctl: NonBlocking, NOT_IMPLEMENTED;

    // The `syscalls` crate lists the 32-bit *_time64 numbers for aarch64
    // too; a 64-bit kernel does not implement them.
    #[cfg(target_arch = "aarch64")]
    clock_gettime64: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "aarch64")]
    clock_settime64: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "aarch64")]
    clock_adjtime64: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "aarch64")]
    clock_getres_time64: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "aarch64")]
    clock_nanosleep_time64: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "aarch64")]
    timer_gettime64: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "aarch64")]
    timer_settime64: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "aarch64")]
    timerfd_gettime64: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "aarch64")]
    timerfd_settime64: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "aarch64")]
    utimensat_time64: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "aarch64")]
    pselect6_time64: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "aarch64")]
    ppoll_time64: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "aarch64")]
    io_pgetevents_time64: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "aarch64")]
    recvmmsg_time64: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "aarch64")]
    mq_timedsend_time64: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "aarch64")]
    mq_timedreceive_time64: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "aarch64")]
    semtimedop_time64: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "aarch64")]
    rt_sigtimedwait_time64: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "aarch64")]
    futex_time64: NonBlocking, NOT_IMPLEMENTED;
    #[cfg(target_arch = "aarch64")]
    sched_rr_get_interval_time64: NonBlocking, NOT_IMPLEMENTED;
];

/// One past the highest syscall number the `syscalls` crate names on the
/// host architecture.
pub const TABLE_SIZE: usize = Sysno::last().id() as usize + 1;

/// "No entry" in a [`Slot`] index.
const NONE: u16 = u16::MAX;

/// Calls where an option decides that an integer argument is an address
/// ([`pointer_arg`](crate::pointer_arg)) or that the call changes the
/// program's mappings ([`map_hazard`](crate::map_hazard)).
const OPTION_POINTERS: &[Sysno] = &[
    Sysno::fcntl,
    Sysno::prctl,
    #[cfg(target_arch = "x86_64")]
    Sysno::arch_prctl,
    Sysno::mmap,
];

/// What [`SLOTS`] knows about one number.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    /// The class (already resolved through the three sources).
    pub(crate) class: ExecClass,
    /// Index into [`SIGNATURES`], or [`NONE`].
    sig: u16,
    /// Index into [`CLASS_ONLY`], or [`NONE`].
    class_entry: u16,
    /// The class depends on the arguments (see
    /// [`class_of_call`](crate::class_of_call)).
    pub(crate) refined: bool,
    /// Bit `i`: argument `i` is an address ([`ArgKind::is_address`]).
    pub(crate) address_args: u8,
    /// Bit `i`: argument `i` is a descriptor (`Fd` or `DirFd`).
    pub(crate) fd_args: u8,
    /// Whether an integer argument can be an address, or the call changes
    /// mappings, depending on its options (see
    /// [`pointer_arg`](crate::pointer_arg), [`map_hazard`](crate::map_hazard)).
    pub(crate) options_matter: bool,
}

impl Slot {
    pub(crate) fn signature(self) -> Option<&'static Signature> {
        (self.sig != NONE).then(|| &SIGNATURES[self.sig as usize])
    }

    pub(crate) fn class_entry(self) -> Option<&'static ClassEntry> {
        (self.class_entry != NONE).then(|| &CLASS_ONLY[self.class_entry as usize])
    }
}

/// Everything known per number, indexed by number; built at compile time.
pub(crate) static SLOTS: [Slot; TABLE_SIZE] = build_slots();

const fn build_slots() -> [Slot; TABLE_SIZE] {
    let mut slots = [Slot {
        class: ExecClass::Unknown,
        sig: NONE,
        class_entry: NONE,
        refined: false,
        address_args: 0,
        fd_args: 0,
        options_matter: false,
    }; TABLE_SIZE];
    let mut nr = 0;
    while nr < TABLE_SIZE {
        if Sysno::new(nr).is_some() {
            slots[nr].class = DEFAULT_CLASS;
        }
        nr += 1;
    }
    let mut i = 0;
    while i < CLASS_ONLY.len() {
        let e = &CLASS_ONLY[i];
        slots[e.nr as usize].class = e.class;
        slots[e.nr as usize].class_entry = i as u16;
        i += 1;
    }
    let mut i = 0;
    while i < SIGNATURES.len() {
        let s = &SIGNATURES[i];
        let slot = &mut slots[s.nr as usize];
        slot.class = s.class;
        slot.sig = i as u16;
        let mut a = 0;
        while a < s.args.len() {
            let kind = &s.args[a].kind;
            if kind.is_address() {
                slot.address_args |= 1 << a;
            }
            if matches!(kind, Fd | DirFd) {
                slot.fd_args |= 1 << a;
            }
            if matches!(kind, MapRange) {
                slot.options_matter = true;
            }
            a += 1;
        }
        i += 1;
    }
    let mut i = 0;
    while i < OPTION_POINTERS.len() {
        slots[OPTION_POINTERS[i].id() as usize].options_matter = true;
        i += 1;
    }
    let mut i = 0;
    while i < REFINED.len() {
        slots[REFINED[i].id() as usize].refined = true;
        i += 1;
    }
    slots
}
