//! The tables. Values are the kernel's (uapi headers), for the host
//! architecture; names and print order follow strace.

use super::{FlagTable, Leftover, Named, ValueField};

/// `[Named]` literal: `names![O_CREAT = 0o100, …]`, with optional `#[cfg]`
/// on entries.
macro_rules! names {
    ($($(#[$m:meta])* $name:ident = $value:expr),* $(,)?) => {
        &[$($(#[$m])* Named { name: stringify!($name), value: ($value) as u64 }),*]
    };
}

/// A table of independent flags; unknown bits print as hex, zero as `0`.
const fn flags(name: &'static str, pattern: &'static str, bits: &'static [Named]) -> FlagTable {
    FlagTable {
        name,
        pattern,
        field: None,
        bits,
        aliases: &[],
        zero: None,
        leftover: Leftover::Hex,
    }
}

/// An enumeration: the whole word is one value; unknown values print as hex.
const fn values(name: &'static str, pattern: &'static str, values: &'static [Named]) -> FlagTable {
    FlagTable {
        name,
        pattern,
        field: Some(ValueField {
            mask: u64::MAX,
            values,
        }),
        bits: &[],
        aliases: &[],
        zero: None,
        leftover: Leftover::Hex,
    }
}

// The open-flag bits that differ between architectures.
#[cfg(target_arch = "aarch64")]
mod arch {
    pub const O_DIRECTORY: u64 = 0o40000;
    pub const O_NOFOLLOW: u64 = 0o100000;
    pub const O_DIRECT: u64 = 0o200000;
    pub const O_LARGEFILE: u64 = 0o400000;
}
#[cfg(not(target_arch = "aarch64"))]
mod arch {
    pub const O_DIRECTORY: u64 = 0o200000;
    pub const O_NOFOLLOW: u64 = 0o400000;
    pub const O_DIRECT: u64 = 0o40000;
    pub const O_LARGEFILE: u64 = 0o100000;
}
use arch::{O_DIRECT, O_DIRECTORY, O_LARGEFILE, O_NOFOLLOW};

const O_NONBLOCK: u64 = 0o4000;
const O_CLOEXEC: u64 = 0o2000000;
const O_DSYNC: u64 = 0o10000;
const O_SYNC: u64 = 0o4000000 | O_DSYNC;
const O_TMPFILE: u64 = 0o20000000 | O_DIRECTORY;

/// `open`/`openat` flags: the `O_ACCMODE` field, then `O_*` flags.
pub static OPEN_FLAGS: FlagTable = FlagTable {
    field: Some(ValueField {
        mask: 0o3,
        values: names![O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_ACCMODE = 3],
    }),
    aliases: names![
        O_NDELAY = O_NONBLOCK,
        O_FSYNC = O_SYNC,
        O_RSYNC = O_SYNC,
        FASYNC = 0o20000,
    ],
    ..flags(
        "open flags",
        "O_*",
        names![
            O_CREAT = 0o100,
            O_EXCL = 0o200,
            O_NOCTTY = 0o400,
            O_TRUNC = 0o1000,
            O_APPEND = 0o2000,
            O_NONBLOCK = O_NONBLOCK,
            O_SYNC = O_SYNC,
            O_DSYNC = O_DSYNC,
            O_ASYNC = 0o20000,
            O_DIRECT = O_DIRECT,
            O_LARGEFILE = O_LARGEFILE,
            O_NOFOLLOW = O_NOFOLLOW,
            O_NOATIME = 0o1000000,
            O_CLOEXEC = O_CLOEXEC,
            O_PATH = 0o10000000,
            O_TMPFILE = O_TMPFILE,
            O_DIRECTORY = O_DIRECTORY,
        ],
    )
};

/// `AT_*` flags of the `*at` calls (`newfstatat`, `unlinkat`, `linkat`,
/// `fchownat`, `utimensat`, `fchmodat2`, …).
pub static AT_FLAGS: FlagTable = flags(
    "at flags",
    "AT_*",
    names![
        AT_SYMLINK_NOFOLLOW = 0x100,
        AT_REMOVEDIR = 0x200,
        AT_SYMLINK_FOLLOW = 0x400,
        AT_NO_AUTOMOUNT = 0x800,
        AT_EMPTY_PATH = 0x1000,
        AT_RECURSIVE = 0x8000,
    ],
);

/// `faccessat2` flags (`AT_EACCESS` shares its value with `AT_REMOVEDIR`).
pub static FACCESSAT_FLAGS: FlagTable = flags(
    "faccessat flags",
    "AT_*",
    names![
        AT_SYMLINK_NOFOLLOW = 0x100,
        AT_EACCESS = 0x200,
        AT_EMPTY_PATH = 0x1000,
    ],
);

/// `statx` flags: the sync-type field, then `AT_*` flags.
pub static STATX_AT_FLAGS: FlagTable = FlagTable {
    field: Some(ValueField {
        mask: 0x6000,
        values: names![
            AT_STATX_SYNC_AS_STAT = 0,
            AT_STATX_FORCE_SYNC = 0x2000,
            AT_STATX_DONT_SYNC = 0x4000,
            AT_STATX_SYNC_TYPE = 0x6000,
        ],
    }),
    ..flags(
        "statx flags",
        "AT_*",
        names![
            AT_SYMLINK_NOFOLLOW = 0x100,
            AT_NO_AUTOMOUNT = 0x800,
            AT_EMPTY_PATH = 0x1000,
        ],
    )
};

/// `statx` mask (`STATX_*`).
pub static STATX_MASK: FlagTable = flags(
    "statx mask",
    "STATX_*",
    names![
        STATX_ALL = 0xfff,
        STATX_BASIC_STATS = 0x7ff,
        STATX_TYPE = 0x1,
        STATX_MODE = 0x2,
        STATX_NLINK = 0x4,
        STATX_UID = 0x8,
        STATX_GID = 0x10,
        STATX_ATIME = 0x20,
        STATX_MTIME = 0x40,
        STATX_CTIME = 0x80,
        STATX_INO = 0x100,
        STATX_SIZE = 0x200,
        STATX_BLOCKS = 0x400,
        STATX_BTIME = 0x800,
        STATX_MNT_ID = 0x1000,
        STATX_DIOALIGN = 0x2000,
        STATX_MNT_ID_UNIQUE = 0x4000,
        STATX_SUBVOL = 0x8000,
        STATX_WRITE_ATOMIC = 0x10000,
        STATX_DIO_READ_ALIGN = 0x20000,
    ],
);

/// File mode: the `S_IFMT` file type, then permission and set-id bits in
/// octal (`S_IFREG|0644`, `04755`, `000`).
pub static MODE: FlagTable = FlagTable {
    field: Some(ValueField {
        mask: 0o170000,
        values: names![
            S_IFSOCK = 0o140000,
            S_IFLNK = 0o120000,
            S_IFREG = 0o100000,
            S_IFBLK = 0o60000,
            S_IFDIR = 0o40000,
            S_IFCHR = 0o20000,
            S_IFIFO = 0o10000,
        ],
    }),
    aliases: names![
        S_ISUID = 0o4000,
        S_ISGID = 0o2000,
        S_ISVTX = 0o1000,
        S_IRWXU = 0o700,
        S_IRUSR = 0o400,
        S_IWUSR = 0o200,
        S_IXUSR = 0o100,
        S_IRWXG = 0o70,
        S_IRGRP = 0o40,
        S_IWGRP = 0o20,
        S_IXGRP = 0o10,
        S_IRWXO = 0o7,
        S_IROTH = 0o4,
        S_IWOTH = 0o2,
        S_IXOTH = 0o1,
    ],
    leftover: Leftover::Octal { mask: 0o177777 },
    ..flags("mode", "S_*", &[])
};

/// `access`/`faccessat` mode (`F_OK` is zero).
pub static ACCESS_MODE: FlagTable = FlagTable {
    zero: Some("F_OK"),
    ..flags("access mode", "*_OK", names![R_OK = 4, W_OK = 2, X_OK = 1])
};

/// `mmap`/`mprotect` protection (`PROT_NONE` is zero).
pub static MMAP_PROT: FlagTable = FlagTable {
    zero: Some("PROT_NONE"),
    ..flags(
        "mmap prot",
        "PROT_*",
        names![
            PROT_READ = 0x1,
            PROT_WRITE = 0x2,
            PROT_EXEC = 0x4,
            PROT_SEM = 0x8,
            #[cfg(target_arch = "aarch64")]
            PROT_BTI = 0x10,
            #[cfg(target_arch = "aarch64")]
            PROT_MTE = 0x20,
            PROT_GROWSDOWN = 0x01000000,
            PROT_GROWSUP = 0x02000000,
        ],
    )
};

/// `mmap` flags: the `MAP_TYPE` field, then `MAP_*` flags.
pub static MMAP_FLAGS: FlagTable = FlagTable {
    field: Some(ValueField {
        mask: 0xf,
        values: names![MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_SHARED_VALIDATE = 3],
    }),
    zero: Some("MAP_FILE"),
    aliases: names![
        MAP_ANON = 0x20,
        MAP_HUGE_2MB = 21u64 << 26,
        MAP_HUGE_1GB = 30u64 << 26,
    ],
    ..flags(
        "mmap flags",
        "MAP_*",
        names![
            MAP_FIXED = 0x10,
            MAP_ANONYMOUS = 0x20,
            #[cfg(target_arch = "x86_64")]
            MAP_32BIT = 0x40,
            #[cfg(target_arch = "x86_64")]
            MAP_ABOVE4G = 0x80,
            MAP_GROWSDOWN = 0x100,
            MAP_DENYWRITE = 0x800,
            MAP_EXECUTABLE = 0x1000,
            MAP_LOCKED = 0x2000,
            MAP_NORESERVE = 0x4000,
            MAP_POPULATE = 0x8000,
            MAP_NONBLOCK = 0x10000,
            MAP_STACK = 0x20000,
            MAP_HUGETLB = 0x40000,
            MAP_SYNC = 0x80000,
            MAP_FIXED_NOREPLACE = 0x100000,
            MAP_UNINITIALIZED = 0x4000000,
        ],
    )
};

/// `mremap` flags.
pub static MREMAP_FLAGS: FlagTable = flags(
    "mremap flags",
    "MREMAP_*",
    names![MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2, MREMAP_DONTUNMAP = 4],
);

/// `msync` flags.
pub static MSYNC_FLAGS: FlagTable = flags(
    "msync flags",
    "MS_*",
    names![MS_ASYNC = 1, MS_INVALIDATE = 2, MS_SYNC = 4],
);

/// `mlockall` flags.
pub static MLOCKALL_FLAGS: FlagTable = flags(
    "mlockall flags",
    "MCL_*",
    names![MCL_CURRENT = 1, MCL_FUTURE = 2, MCL_ONFAULT = 4],
);

/// `madvise` advice.
pub static MADVISE_ADVICE: FlagTable = values(
    "madvise advice",
    "MADV_*",
    names![
        MADV_NORMAL = 0,
        MADV_RANDOM = 1,
        MADV_SEQUENTIAL = 2,
        MADV_WILLNEED = 3,
        MADV_DONTNEED = 4,
        MADV_FREE = 8,
        MADV_REMOVE = 9,
        MADV_DONTFORK = 10,
        MADV_DOFORK = 11,
        MADV_MERGEABLE = 12,
        MADV_UNMERGEABLE = 13,
        MADV_HUGEPAGE = 14,
        MADV_NOHUGEPAGE = 15,
        MADV_DONTDUMP = 16,
        MADV_DODUMP = 17,
        MADV_WIPEONFORK = 18,
        MADV_KEEPONFORK = 19,
        MADV_COLD = 20,
        MADV_PAGEOUT = 21,
        MADV_POPULATE_READ = 22,
        MADV_POPULATE_WRITE = 23,
        MADV_DONTNEED_LOCKED = 24,
        MADV_COLLAPSE = 25,
        MADV_HWPOISON = 100,
        MADV_SOFT_OFFLINE = 101,
        MADV_GUARD_INSTALL = 102,
        MADV_GUARD_REMOVE = 103,
    ],
);

/// `fadvise64` advice.
pub static FADVISE_ADVICE: FlagTable = values(
    "fadvise advice",
    "POSIX_FADV_*",
    names![
        POSIX_FADV_NORMAL = 0,
        POSIX_FADV_RANDOM = 1,
        POSIX_FADV_SEQUENTIAL = 2,
        POSIX_FADV_WILLNEED = 3,
        POSIX_FADV_DONTNEED = 4,
        POSIX_FADV_NOREUSE = 5,
    ],
);

/// Socket address families (`AF_*`), for `socket`/`socketpair`.
pub static SOCKET_DOMAIN: FlagTable = FlagTable {
    aliases: names![
        AF_LOCAL = 1,
        AF_FILE = 1,
        AF_ROUTE = 16,
        PF_UNSPEC = 0,
        PF_UNIX = 1,
        PF_LOCAL = 1,
        PF_INET = 2,
        PF_INET6 = 10,
        PF_NETLINK = 16,
        PF_PACKET = 17,
    ],
    ..values(
        "socket domain",
        "AF_*",
        names![
            AF_UNSPEC = 0,
            AF_UNIX = 1,
            AF_INET = 2,
            AF_AX25 = 3,
            AF_IPX = 4,
            AF_APPLETALK = 5,
            AF_NETROM = 6,
            AF_BRIDGE = 7,
            AF_ATMPVC = 8,
            AF_X25 = 9,
            AF_INET6 = 10,
            AF_ROSE = 11,
            AF_DECnet = 12,
            AF_NETBEUI = 13,
            AF_SECURITY = 14,
            AF_KEY = 15,
            AF_NETLINK = 16,
            AF_PACKET = 17,
            AF_ASH = 18,
            AF_ECONET = 19,
            AF_ATMSVC = 20,
            AF_RDS = 21,
            AF_SNA = 22,
            AF_IRDA = 23,
            AF_PPPOX = 24,
            AF_WANPIPE = 25,
            AF_LLC = 26,
            AF_IB = 27,
            AF_MPLS = 28,
            AF_CAN = 29,
            AF_TIPC = 30,
            AF_BLUETOOTH = 31,
            AF_IUCV = 32,
            AF_RXRPC = 33,
            AF_ISDN = 34,
            AF_PHONET = 35,
            AF_IEEE802154 = 36,
            AF_CAIF = 37,
            AF_ALG = 38,
            AF_NFC = 39,
            AF_VSOCK = 40,
            AF_KCM = 41,
            AF_QIPCRTR = 42,
            AF_SMC = 43,
            AF_XDP = 44,
            AF_MCTP = 45,
        ],
    )
};

/// Socket type: the type field (low four bits), then `SOCK_CLOEXEC` and
/// `SOCK_NONBLOCK`.
pub static SOCKET_TYPE: FlagTable = FlagTable {
    field: Some(ValueField {
        mask: 0xf,
        values: names![
            SOCK_STREAM = 1,
            SOCK_DGRAM = 2,
            SOCK_RAW = 3,
            SOCK_RDM = 4,
            SOCK_SEQPACKET = 5,
            SOCK_DCCP = 6,
            SOCK_PACKET = 10,
        ],
    }),
    ..flags(
        "socket type",
        "SOCK_*",
        names![SOCK_CLOEXEC = O_CLOEXEC, SOCK_NONBLOCK = O_NONBLOCK],
    )
};

/// `accept4` flags.
pub static SOCKET_FLAGS: FlagTable = flags(
    "socket flags",
    "SOCK_*",
    names![SOCK_CLOEXEC = O_CLOEXEC, SOCK_NONBLOCK = O_NONBLOCK],
);

/// `send*`/`recv*` flags (`MSG_*`).
pub static MSG_FLAGS: FlagTable = FlagTable {
    aliases: names![MSG_PROBE = 0x10],
    ..flags(
        "msg flags",
        "MSG_*",
        names![
            MSG_OOB = 0x1,
            MSG_PEEK = 0x2,
            MSG_DONTROUTE = 0x4,
            MSG_CTRUNC = 0x8,
            MSG_PROXY = 0x10,
            MSG_TRUNC = 0x20,
            MSG_DONTWAIT = 0x40,
            MSG_EOR = 0x80,
            MSG_WAITALL = 0x100,
            MSG_FIN = 0x200,
            MSG_SYN = 0x400,
            MSG_CONFIRM = 0x800,
            MSG_RST = 0x1000,
            MSG_ERRQUEUE = 0x2000,
            MSG_NOSIGNAL = 0x4000,
            MSG_MORE = 0x8000,
            MSG_WAITFORONE = 0x10000,
            MSG_BATCH = 0x40000,
            MSG_SOCK_DEVMEM = 0x2000000,
            MSG_ZEROCOPY = 0x4000000,
            MSG_FASTOPEN = 0x20000000,
            MSG_CMSG_CLOEXEC = 0x40000000,
        ],
    )
};

/// `shutdown` how.
pub static SHUTDOWN_HOW: FlagTable = values(
    "shutdown how",
    "SHUT_*",
    names![SHUT_RD = 0, SHUT_WR = 1, SHUT_RDWR = 2],
);

/// Socket option levels (`SOL_*`) for `setsockopt`/`getsockopt`.
pub static SOCKOPT_LEVEL: FlagTable = values(
    "socket option level",
    "SOL_*",
    names![
        SOL_IP = 0,
        SOL_SOCKET = 1,
        SOL_TCP = 6,
        SOL_UDP = 17,
        SOL_IPV6 = 41,
        SOL_ICMPV6 = 58,
        SOL_SCTP = 132,
        SOL_UDPLITE = 136,
        SOL_RAW = 255,
        SOL_IPX = 256,
        SOL_AX25 = 257,
        SOL_ATALK = 258,
        SOL_NETROM = 259,
        SOL_ROSE = 260,
        SOL_DECNET = 261,
        SOL_X25 = 262,
        SOL_PACKET = 263,
        SOL_ATM = 264,
        SOL_AAL = 265,
        SOL_IRDA = 266,
        SOL_NETBEUI = 267,
        SOL_LLC = 268,
        SOL_DCCP = 269,
        SOL_NETLINK = 270,
        SOL_TIPC = 271,
        SOL_RXRPC = 272,
        SOL_PPPOL2TP = 273,
        SOL_BLUETOOTH = 274,
        SOL_PNPIPE = 275,
        SOL_RDS = 276,
        SOL_IUCV = 277,
        SOL_CAIF = 278,
        SOL_ALG = 279,
        SOL_NFC = 280,
        SOL_KCM = 281,
        SOL_TLS = 282,
        SOL_XDP = 283,
        SOL_MPTCP = 284,
        SOL_MCTP = 285,
        SOL_SMC = 286,
        SOL_VSOCK = 287,
    ],
);

/// `poll` events (`struct pollfd` `events`/`revents`).
pub static POLL_EVENTS: FlagTable = flags(
    "poll events",
    "POLL*",
    names![
        POLLIN = 0x1,
        POLLPRI = 0x2,
        POLLOUT = 0x4,
        POLLERR = 0x8,
        POLLHUP = 0x10,
        POLLNVAL = 0x20,
        POLLRDNORM = 0x40,
        POLLRDBAND = 0x80,
        POLLWRNORM = 0x100,
        POLLWRBAND = 0x200,
        POLLMSG = 0x400,
        POLLREMOVE = 0x1000,
        POLLRDHUP = 0x2000,
        POLL_BUSY_LOOP = 0x8000,
    ],
);

/// `epoll` events (`struct epoll_event` `events`).
pub static EPOLL_EVENTS: FlagTable = flags(
    "epoll events",
    "EPOLL*",
    names![
        EPOLLIN = 0x1,
        EPOLLPRI = 0x2,
        EPOLLOUT = 0x4,
        EPOLLERR = 0x8,
        EPOLLHUP = 0x10,
        EPOLLNVAL = 0x20,
        EPOLLRDNORM = 0x40,
        EPOLLRDBAND = 0x80,
        EPOLLWRNORM = 0x100,
        EPOLLWRBAND = 0x200,
        EPOLLMSG = 0x400,
        EPOLLRDHUP = 0x2000,
        EPOLL_URING_WAKE = 1u64 << 27,
        EPOLLEXCLUSIVE = 1u64 << 28,
        EPOLLWAKEUP = 1u64 << 29,
        EPOLLONESHOT = 1u64 << 30,
        EPOLLET = 1u64 << 31,
    ],
);

/// `epoll_ctl` operations.
pub static EPOLL_CTL_OP: FlagTable = values(
    "epoll_ctl op",
    "EPOLL_CTL_*",
    names![EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3],
);

/// `epoll_create1` flags.
pub static EPOLL_CREATE_FLAGS: FlagTable = flags(
    "epoll_create1 flags",
    "EPOLL_*",
    names![EPOLL_CLOEXEC = O_CLOEXEC],
);

/// Clock ids (`CLOCK_*`).
pub static CLOCK_ID: FlagTable = values(
    "clock id",
    "CLOCK_*",
    names![
        CLOCK_REALTIME = 0,
        CLOCK_MONOTONIC = 1,
        CLOCK_PROCESS_CPUTIME_ID = 2,
        CLOCK_THREAD_CPUTIME_ID = 3,
        CLOCK_MONOTONIC_RAW = 4,
        CLOCK_REALTIME_COARSE = 5,
        CLOCK_MONOTONIC_COARSE = 6,
        CLOCK_BOOTTIME = 7,
        CLOCK_REALTIME_ALARM = 8,
        CLOCK_BOOTTIME_ALARM = 9,
        CLOCK_SGI_CYCLE = 10,
        CLOCK_TAI = 11,
    ],
);

/// `clock_nanosleep`/`timer_settime` flags.
pub static TIMER_FLAGS: FlagTable = flags("timer flags", "TIMER_*", names![TIMER_ABSTIME = 1]);

/// `timerfd_create` flags.
pub static TIMERFD_CREATE_FLAGS: FlagTable = flags(
    "timerfd_create flags",
    "TFD_*",
    names![TFD_CLOEXEC = O_CLOEXEC, TFD_NONBLOCK = O_NONBLOCK],
);

/// `timerfd_settime` flags.
pub static TIMERFD_SETTIME_FLAGS: FlagTable = flags(
    "timerfd_settime flags",
    "TFD_TIMER_*",
    names![TFD_TIMER_ABSTIME = 1, TFD_TIMER_CANCEL_ON_SET = 2],
);

/// `getitimer`/`setitimer` which.
pub static ITIMER_WHICH: FlagTable = values(
    "itimer which",
    "ITIMER_*",
    names![ITIMER_REAL = 0, ITIMER_VIRTUAL = 1, ITIMER_PROF = 2],
);

/// `fcntl` commands (`F_*`).
pub static FCNTL_CMD: FlagTable = values(
    "fcntl command",
    "F_*",
    names![
        F_DUPFD = 0,
        F_GETFD = 1,
        F_SETFD = 2,
        F_GETFL = 3,
        F_SETFL = 4,
        F_GETLK = 5,
        F_SETLK = 6,
        F_SETLKW = 7,
        F_SETOWN = 8,
        F_GETOWN = 9,
        F_SETSIG = 10,
        F_GETSIG = 11,
        F_SETOWN_EX = 15,
        F_GETOWN_EX = 16,
        F_GETOWNER_UIDS = 17,
        F_OFD_GETLK = 36,
        F_OFD_SETLK = 37,
        F_OFD_SETLKW = 38,
        F_SETLEASE = 1024,
        F_GETLEASE = 1025,
        F_NOTIFY = 1026,
        F_DUPFD_QUERY = 1027,
        F_CREATED_QUERY = 1028,
        F_CANCELLK = 1029,
        F_DUPFD_CLOEXEC = 1030,
        F_SETPIPE_SZ = 1031,
        F_GETPIPE_SZ = 1032,
        F_ADD_SEALS = 1033,
        F_GET_SEALS = 1034,
        F_GET_RW_HINT = 1035,
        F_SET_RW_HINT = 1036,
        F_GET_FILE_RW_HINT = 1037,
        F_SET_FILE_RW_HINT = 1038,
    ],
);

/// `F_GETFD`/`F_SETFD` descriptor flags.
pub static FD_FLAGS: FlagTable = flags("fd flags", "FD_*", names![FD_CLOEXEC = 1]);

/// `lseek` whence (`SEEK_*`).
pub static SEEK_WHENCE: FlagTable = values(
    "lseek whence",
    "SEEK_*",
    names![
        SEEK_SET = 0,
        SEEK_CUR = 1,
        SEEK_END = 2,
        SEEK_DATA = 3,
        SEEK_HOLE = 4,
    ],
);

/// `flock` operation.
pub static FLOCK_OP: FlagTable = FlagTable {
    aliases: names![LOCK_RW = 192],
    ..flags(
        "flock operation",
        "LOCK_*",
        names![
            LOCK_SH = 1,
            LOCK_EX = 2,
            LOCK_NB = 4,
            LOCK_UN = 8,
            LOCK_MAND = 32,
            LOCK_READ = 64,
            LOCK_WRITE = 128,
        ],
    )
};

/// `renameat2` flags.
pub static RENAME_FLAGS: FlagTable = flags(
    "renameat2 flags",
    "RENAME_*",
    names![
        RENAME_NOREPLACE = 1,
        RENAME_EXCHANGE = 2,
        RENAME_WHITEOUT = 4
    ],
);

/// `fallocate` mode.
pub static FALLOC_FLAGS: FlagTable = FlagTable {
    aliases: names![FALLOC_FL_ALLOCATE_RANGE = 0],
    ..flags(
        "fallocate mode",
        "FALLOC_FL_*",
        names![
            FALLOC_FL_KEEP_SIZE = 0x1,
            FALLOC_FL_PUNCH_HOLE = 0x2,
            FALLOC_FL_NO_HIDE_STALE = 0x4,
            FALLOC_FL_COLLAPSE_RANGE = 0x8,
            FALLOC_FL_ZERO_RANGE = 0x10,
            FALLOC_FL_INSERT_RANGE = 0x20,
            FALLOC_FL_UNSHARE_RANGE = 0x40,
            FALLOC_FL_WRITE_ZEROES = 0x80,
        ],
    )
};

/// `openat2` `open_how.resolve` flags.
pub static RESOLVE_FLAGS: FlagTable = flags(
    "resolve flags",
    "RESOLVE_*",
    names![
        RESOLVE_NO_XDEV = 0x1,
        RESOLVE_NO_MAGICLINKS = 0x2,
        RESOLVE_NO_SYMLINKS = 0x4,
        RESOLVE_BENEATH = 0x8,
        RESOLVE_IN_ROOT = 0x10,
        RESOLVE_CACHED = 0x20,
    ],
);

/// `sync_file_range` flags.
pub static SYNC_FILE_RANGE_FLAGS: FlagTable = FlagTable {
    aliases: names![SYNC_FILE_RANGE_WRITE_AND_WAIT = 7],
    ..flags(
        "sync_file_range flags",
        "SYNC_FILE_RANGE_*",
        names![
            SYNC_FILE_RANGE_WAIT_BEFORE = 1,
            SYNC_FILE_RANGE_WRITE = 2,
            SYNC_FILE_RANGE_WAIT_AFTER = 4,
        ],
    )
};

/// `preadv2`/`pwritev2` flags (`RWF_*`).
pub static RWF_FLAGS: FlagTable = flags(
    "rwf flags",
    "RWF_*",
    names![
        RWF_HIPRI = 0x1,
        RWF_DSYNC = 0x2,
        RWF_SYNC = 0x4,
        RWF_NOWAIT = 0x8,
        RWF_APPEND = 0x10,
        RWF_NOAPPEND = 0x20,
        RWF_ATOMIC = 0x40,
        RWF_DONTCACHE = 0x80,
    ],
);

/// `splice`/`tee` flags.
pub static SPLICE_FLAGS: FlagTable = flags(
    "splice flags",
    "SPLICE_F_*",
    names![
        SPLICE_F_MOVE = 1,
        SPLICE_F_NONBLOCK = 2,
        SPLICE_F_MORE = 4,
        SPLICE_F_GIFT = 8,
    ],
);

/// `close_range` flags.
pub static CLOSE_RANGE_FLAGS: FlagTable = flags(
    "close_range flags",
    "CLOSE_RANGE_*",
    names![CLOSE_RANGE_UNSHARE = 2, CLOSE_RANGE_CLOEXEC = 4],
);

/// `pipe2` flags.
pub static PIPE_FLAGS: FlagTable = flags(
    "pipe2 flags",
    "O_*",
    names![
        O_NOTIFICATION_PIPE = 0o200,
        O_NONBLOCK = O_NONBLOCK,
        O_DIRECT = O_DIRECT,
        O_CLOEXEC = O_CLOEXEC,
    ],
);

/// `dup3` flags.
pub static DUP3_FLAGS: FlagTable = flags("dup3 flags", "O_*", names![O_CLOEXEC = O_CLOEXEC]);

/// `eventfd2` flags.
pub static EVENTFD_FLAGS: FlagTable = flags(
    "eventfd flags",
    "EFD_*",
    names![
        EFD_SEMAPHORE = 1,
        EFD_CLOEXEC = O_CLOEXEC,
        EFD_NONBLOCK = O_NONBLOCK,
    ],
);

/// `signalfd4` flags.
pub static SIGNALFD_FLAGS: FlagTable = flags(
    "signalfd flags",
    "SFD_*",
    names![SFD_CLOEXEC = O_CLOEXEC, SFD_NONBLOCK = O_NONBLOCK],
);

/// `inotify_init1` flags.
pub static INOTIFY_INIT_FLAGS: FlagTable = flags(
    "inotify_init1 flags",
    "IN_*",
    names![IN_CLOEXEC = O_CLOEXEC, IN_NONBLOCK = O_NONBLOCK],
);

/// `inotify_add_watch` mask (`IN_*` events and watch flags).
pub static INOTIFY_MASK: FlagTable = FlagTable {
    aliases: names![IN_CLOSE = 0x18, IN_MOVE = 0xc0, IN_ALL_EVENTS = 0xfff],
    ..flags(
        "inotify mask",
        "IN_*",
        names![
            IN_ACCESS = 0x1,
            IN_MODIFY = 0x2,
            IN_ATTRIB = 0x4,
            IN_CLOSE_WRITE = 0x8,
            IN_CLOSE_NOWRITE = 0x10,
            IN_OPEN = 0x20,
            IN_MOVED_FROM = 0x40,
            IN_MOVED_TO = 0x80,
            IN_CREATE = 0x100,
            IN_DELETE = 0x200,
            IN_DELETE_SELF = 0x400,
            IN_MOVE_SELF = 0x800,
            IN_UNMOUNT = 0x2000,
            IN_Q_OVERFLOW = 0x4000,
            IN_IGNORED = 0x8000,
            IN_ONLYDIR = 0x1000000,
            IN_DONT_FOLLOW = 0x2000000,
            IN_EXCL_UNLINK = 0x4000000,
            IN_MASK_CREATE = 0x10000000,
            IN_MASK_ADD = 0x20000000,
            IN_ISDIR = 0x40000000,
            IN_ONESHOT = 0x80000000,
        ],
    )
};

/// `memfd_create` flags.
pub static MEMFD_FLAGS: FlagTable = flags(
    "memfd_create flags",
    "MFD_*",
    names![
        MFD_CLOEXEC = 0x1,
        MFD_ALLOW_SEALING = 0x2,
        MFD_HUGETLB = 0x4,
        MFD_NOEXEC_SEAL = 0x8,
        MFD_EXEC = 0x10,
    ],
);

/// `getrandom` flags.
pub static GETRANDOM_FLAGS: FlagTable = flags(
    "getrandom flags",
    "GRND_*",
    names![GRND_NONBLOCK = 1, GRND_RANDOM = 2, GRND_INSECURE = 4],
);

/// `setxattr` flags.
pub static XATTR_FLAGS: FlagTable = flags(
    "xattr flags",
    "XATTR_*",
    names![XATTR_CREATE = 1, XATTR_REPLACE = 2],
);

/// `pidfd_open` flags.
pub static PIDFD_FLAGS: FlagTable = flags(
    "pidfd_open flags",
    "PIDFD_*",
    names![PIDFD_THREAD = 0o200, PIDFD_NONBLOCK = O_NONBLOCK],
);

/// `wait4`/`waitid` options.
pub static WAIT_OPTIONS: FlagTable = FlagTable {
    aliases: names![WSTOPPED = 2],
    ..flags(
        "wait options",
        "W*",
        names![
            WNOHANG = 0x1,
            WUNTRACED = 0x2,
            WEXITED = 0x4,
            WCONTINUED = 0x8,
            WNOWAIT = 0x01000000,
            __WNOTHREAD = 0x20000000,
            __WALL = 0x40000000,
            __WCLONE = 0x80000000,
        ],
    )
};

/// `waitid` id type.
pub static WAITID_TYPE: FlagTable = values(
    "waitid idtype",
    "P_*",
    names![P_ALL = 0, P_PID = 1, P_PGID = 2, P_PIDFD = 3],
);

/// `unshare`/`setns` namespace and sharing flags (`CLONE_*`).
pub static CLONE_FLAGS: FlagTable = flags(
    "clone flags",
    "CLONE_*",
    names![
        CLONE_NEWTIME = 0x80,
        CLONE_VM = 0x100,
        CLONE_FS = 0x200,
        CLONE_FILES = 0x400,
        CLONE_SIGHAND = 0x800,
        CLONE_PIDFD = 0x1000,
        CLONE_PTRACE = 0x2000,
        CLONE_VFORK = 0x4000,
        CLONE_PARENT = 0x8000,
        CLONE_THREAD = 0x10000,
        CLONE_NEWNS = 0x20000,
        CLONE_SYSVSEM = 0x40000,
        CLONE_SETTLS = 0x80000,
        CLONE_PARENT_SETTID = 0x100000,
        CLONE_CHILD_CLEARTID = 0x200000,
        CLONE_DETACHED = 0x400000,
        CLONE_UNTRACED = 0x800000,
        CLONE_CHILD_SETTID = 0x1000000,
        CLONE_NEWCGROUP = 0x2000000,
        CLONE_NEWUTS = 0x4000000,
        CLONE_NEWIPC = 0x8000000,
        CLONE_NEWUSER = 0x10000000,
        CLONE_NEWPID = 0x20000000,
        CLONE_NEWNET = 0x40000000,
        CLONE_IO = 0x80000000,
    ],
);

/// Resource limits (`RLIMIT_*`).
pub static RLIMIT_RESOURCE: FlagTable = values(
    "rlimit resource",
    "RLIMIT_*",
    names![
        RLIMIT_CPU = 0,
        RLIMIT_FSIZE = 1,
        RLIMIT_DATA = 2,
        RLIMIT_STACK = 3,
        RLIMIT_CORE = 4,
        RLIMIT_RSS = 5,
        RLIMIT_NPROC = 6,
        RLIMIT_NOFILE = 7,
        RLIMIT_MEMLOCK = 8,
        RLIMIT_AS = 9,
        RLIMIT_LOCKS = 10,
        RLIMIT_SIGPENDING = 11,
        RLIMIT_MSGQUEUE = 12,
        RLIMIT_NICE = 13,
        RLIMIT_RTPRIO = 14,
        RLIMIT_RTTIME = 15,
    ],
);

/// `getrusage` who.
pub static RUSAGE_WHO: FlagTable = values(
    "rusage who",
    "RUSAGE_*",
    names![RUSAGE_SELF = 0, RUSAGE_CHILDREN = -1i64, RUSAGE_THREAD = 1],
);

/// `getpriority`/`setpriority` which.
pub static PRIORITY_WHICH: FlagTable = values(
    "priority which",
    "PRIO_*",
    names![PRIO_PROCESS = 0, PRIO_PGRP = 1, PRIO_USER = 2],
);

/// Scheduling policy: the policy, then `SCHED_RESET_ON_FORK`.
pub static SCHED_POLICY: FlagTable = FlagTable {
    field: Some(ValueField {
        mask: !0x40000000,
        values: names![
            SCHED_OTHER = 0,
            SCHED_FIFO = 1,
            SCHED_RR = 2,
            SCHED_BATCH = 3,
            SCHED_ISO = 4,
            SCHED_IDLE = 5,
            SCHED_DEADLINE = 6,
            SCHED_EXT = 7,
        ],
    }),
    aliases: names![SCHED_NORMAL = 0],
    ..flags(
        "sched policy",
        "SCHED_*",
        names![SCHED_RESET_ON_FORK = 0x40000000],
    )
};

/// `rt_sigprocmask` how.
pub static SIGPROCMASK_HOW: FlagTable = values(
    "sigprocmask how",
    "SIG_*",
    names![SIG_BLOCK = 0, SIG_UNBLOCK = 1, SIG_SETMASK = 2],
);

/// Signal numbers. Real-time signals print as strace does: 32 is
/// `SIGRTMIN`, 32+n is `SIGRT_n`. Unknown numbers print in decimal.
pub static SIGNAL: FlagTable = FlagTable {
    aliases: names![
        SIGIOT = 6,
        SIGPOLL = 29,
        SIGCLD = 17,
        SIGUNUSED = 31,
        SIGRTMAX = 64,
    ],
    leftover: Leftover::Decimal,
    ..values(
        "signal",
        "SIG*",
        names![
            SIGHUP = 1,
            SIGINT = 2,
            SIGQUIT = 3,
            SIGILL = 4,
            SIGTRAP = 5,
            SIGABRT = 6,
            SIGBUS = 7,
            SIGFPE = 8,
            SIGKILL = 9,
            SIGUSR1 = 10,
            SIGSEGV = 11,
            SIGUSR2 = 12,
            SIGPIPE = 13,
            SIGALRM = 14,
            SIGTERM = 15,
            SIGSTKFLT = 16,
            SIGCHLD = 17,
            SIGCONT = 18,
            SIGSTOP = 19,
            SIGTSTP = 20,
            SIGTTIN = 21,
            SIGTTOU = 22,
            SIGURG = 23,
            SIGXCPU = 24,
            SIGXFSZ = 25,
            SIGVTALRM = 26,
            SIGPROF = 27,
            SIGWINCH = 28,
            SIGIO = 29,
            SIGPWR = 30,
            SIGSYS = 31,
            SIGRTMIN = 32,
            SIGRT_1 = 33,
            SIGRT_2 = 34,
            SIGRT_3 = 35,
            SIGRT_4 = 36,
            SIGRT_5 = 37,
            SIGRT_6 = 38,
            SIGRT_7 = 39,
            SIGRT_8 = 40,
            SIGRT_9 = 41,
            SIGRT_10 = 42,
            SIGRT_11 = 43,
            SIGRT_12 = 44,
            SIGRT_13 = 45,
            SIGRT_14 = 46,
            SIGRT_15 = 47,
            SIGRT_16 = 48,
            SIGRT_17 = 49,
            SIGRT_18 = 50,
            SIGRT_19 = 51,
            SIGRT_20 = 52,
            SIGRT_21 = 53,
            SIGRT_22 = 54,
            SIGRT_23 = 55,
            SIGRT_24 = 56,
            SIGRT_25 = 57,
            SIGRT_26 = 58,
            SIGRT_27 = 59,
            SIGRT_28 = 60,
            SIGRT_29 = 61,
            SIGRT_30 = 62,
            SIGRT_31 = 63,
            SIGRT_32 = 64,
        ],
    )
};

/// Directory fds of the `*at` calls: `AT_FDCWD`, or the fd in decimal.
pub static DIRFD: FlagTable = FlagTable {
    leftover: Leftover::Decimal,
    ..values("dirfd", "AT_FDCWD", names![AT_FDCWD = -100i64])
};

/// `futex` operation: the command (with `FUTEX_PRIVATE_FLAG` folded in, as
/// strace prints it), then `FUTEX_CLOCK_REALTIME`.
pub static FUTEX_OP: FlagTable = FlagTable {
    field: Some(ValueField {
        mask: 0xff,
        values: names![
            FUTEX_WAIT = 0,
            FUTEX_WAKE = 1,
            FUTEX_FD = 2,
            FUTEX_REQUEUE = 3,
            FUTEX_CMP_REQUEUE = 4,
            FUTEX_WAKE_OP = 5,
            FUTEX_LOCK_PI = 6,
            FUTEX_UNLOCK_PI = 7,
            FUTEX_TRYLOCK_PI = 8,
            FUTEX_WAIT_BITSET = 9,
            FUTEX_WAKE_BITSET = 10,
            FUTEX_WAIT_REQUEUE_PI = 11,
            FUTEX_CMP_REQUEUE_PI = 12,
            FUTEX_LOCK_PI2 = 13,
            FUTEX_WAIT_PRIVATE = 128,
            FUTEX_WAKE_PRIVATE = 129,
            FUTEX_REQUEUE_PRIVATE = 131,
            FUTEX_CMP_REQUEUE_PRIVATE = 132,
            FUTEX_WAKE_OP_PRIVATE = 133,
            FUTEX_LOCK_PI_PRIVATE = 134,
            FUTEX_UNLOCK_PI_PRIVATE = 135,
            FUTEX_TRYLOCK_PI_PRIVATE = 136,
            FUTEX_WAIT_BITSET_PRIVATE = 137,
            FUTEX_WAKE_BITSET_PRIVATE = 138,
            FUTEX_WAIT_REQUEUE_PI_PRIVATE = 139,
            FUTEX_CMP_REQUEUE_PI_PRIVATE = 140,
            FUTEX_LOCK_PI2_PRIVATE = 141,
        ],
    }),
    aliases: names![FUTEX_PRIVATE_FLAG = 128],
    ..flags("futex op", "FUTEX_*", names![FUTEX_CLOCK_REALTIME = 256])
};

/// `prctl` options (`PR_*`).
pub static PRCTL_OPTION: FlagTable = values(
    "prctl option",
    "PR_*",
    names![
        PR_SET_PDEATHSIG = 1,
        PR_GET_PDEATHSIG = 2,
        PR_GET_DUMPABLE = 3,
        PR_SET_DUMPABLE = 4,
        PR_GET_UNALIGN = 5,
        PR_SET_UNALIGN = 6,
        PR_GET_KEEPCAPS = 7,
        PR_SET_KEEPCAPS = 8,
        PR_GET_FPEMU = 9,
        PR_SET_FPEMU = 10,
        PR_GET_FPEXC = 11,
        PR_SET_FPEXC = 12,
        PR_GET_TIMING = 13,
        PR_SET_TIMING = 14,
        PR_SET_NAME = 15,
        PR_GET_NAME = 16,
        PR_GET_ENDIAN = 19,
        PR_SET_ENDIAN = 20,
        PR_GET_SECCOMP = 21,
        PR_SET_SECCOMP = 22,
        PR_CAPBSET_READ = 23,
        PR_CAPBSET_DROP = 24,
        PR_GET_TSC = 25,
        PR_SET_TSC = 26,
        PR_GET_SECUREBITS = 27,
        PR_SET_SECUREBITS = 28,
        PR_SET_TIMERSLACK = 29,
        PR_GET_TIMERSLACK = 30,
        PR_TASK_PERF_EVENTS_DISABLE = 31,
        PR_TASK_PERF_EVENTS_ENABLE = 32,
        PR_MCE_KILL = 33,
        PR_MCE_KILL_GET = 34,
        PR_SET_MM = 35,
        PR_SET_CHILD_SUBREAPER = 36,
        PR_GET_CHILD_SUBREAPER = 37,
        PR_SET_NO_NEW_PRIVS = 38,
        PR_GET_NO_NEW_PRIVS = 39,
        PR_GET_TID_ADDRESS = 40,
        PR_SET_THP_DISABLE = 41,
        PR_GET_THP_DISABLE = 42,
        PR_SET_FP_MODE = 45,
        PR_GET_FP_MODE = 46,
        PR_CAP_AMBIENT = 47,
        PR_SVE_SET_VL = 50,
        PR_SVE_GET_VL = 51,
        PR_GET_SPECULATION_CTRL = 52,
        PR_SET_SPECULATION_CTRL = 53,
        PR_PAC_RESET_KEYS = 54,
        PR_SET_TAGGED_ADDR_CTRL = 55,
        PR_GET_TAGGED_ADDR_CTRL = 56,
        PR_SET_IO_FLUSHER = 57,
        PR_GET_IO_FLUSHER = 58,
        PR_SET_SYSCALL_USER_DISPATCH = 59,
        PR_PAC_SET_ENABLED_KEYS = 60,
        PR_PAC_GET_ENABLED_KEYS = 61,
        PR_SCHED_CORE = 62,
        PR_SME_SET_VL = 63,
        PR_SME_GET_VL = 64,
        PR_SET_MDWE = 65,
        PR_GET_MDWE = 66,
        PR_SET_MEMORY_MERGE = 67,
        PR_GET_MEMORY_MERGE = 68,
        PR_SET_VMA = 0x53564d41,
    ],
);

/// `arch_prctl` codes (`ARCH_*`, x86_64).
pub static ARCH_PRCTL_CODE: FlagTable = values(
    "arch_prctl code",
    "ARCH_*",
    names![
        ARCH_SET_GS = 0x1001,
        ARCH_SET_FS = 0x1002,
        ARCH_GET_FS = 0x1003,
        ARCH_GET_GS = 0x1004,
        ARCH_GET_CPUID = 0x1011,
        ARCH_SET_CPUID = 0x1012,
        ARCH_GET_XCOMP_SUPP = 0x1021,
        ARCH_GET_XCOMP_PERM = 0x1022,
        ARCH_REQ_XCOMP_PERM = 0x1023,
        ARCH_GET_XCOMP_GUEST_PERM = 0x1024,
        ARCH_REQ_XCOMP_GUEST_PERM = 0x1025,
        ARCH_MAP_VDSO_X32 = 0x2001,
        ARCH_MAP_VDSO_32 = 0x2002,
        ARCH_MAP_VDSO_64 = 0x2003,
        ARCH_GET_UNTAG_MASK = 0x4001,
        ARCH_ENABLE_TAGGED_ADDR = 0x4002,
        ARCH_GET_MAX_TAG_BITS = 0x4003,
        ARCH_FORCE_TAGGED_SVA = 0x4004,
        ARCH_SHSTK_ENABLE = 0x5001,
        ARCH_SHSTK_DISABLE = 0x5002,
        ARCH_SHSTK_LOCK = 0x5003,
        ARCH_SHSTK_UNLOCK = 0x5004,
        ARCH_SHSTK_STATUS = 0x5005,
    ],
);

/// Every table, for lookups by name and for tests.
pub static ALL_TABLES: &[&FlagTable] = &[
    &OPEN_FLAGS,
    &AT_FLAGS,
    &FACCESSAT_FLAGS,
    &STATX_AT_FLAGS,
    &STATX_MASK,
    &MODE,
    &ACCESS_MODE,
    &MMAP_PROT,
    &MMAP_FLAGS,
    &MREMAP_FLAGS,
    &MSYNC_FLAGS,
    &MLOCKALL_FLAGS,
    &MADVISE_ADVICE,
    &FADVISE_ADVICE,
    &SOCKET_DOMAIN,
    &SOCKET_TYPE,
    &SOCKET_FLAGS,
    &MSG_FLAGS,
    &SHUTDOWN_HOW,
    &SOCKOPT_LEVEL,
    &POLL_EVENTS,
    &EPOLL_EVENTS,
    &EPOLL_CTL_OP,
    &EPOLL_CREATE_FLAGS,
    &CLOCK_ID,
    &TIMER_FLAGS,
    &TIMERFD_CREATE_FLAGS,
    &TIMERFD_SETTIME_FLAGS,
    &ITIMER_WHICH,
    &FCNTL_CMD,
    &FD_FLAGS,
    &SEEK_WHENCE,
    &FLOCK_OP,
    &RENAME_FLAGS,
    &FALLOC_FLAGS,
    &RESOLVE_FLAGS,
    &SYNC_FILE_RANGE_FLAGS,
    &RWF_FLAGS,
    &SPLICE_FLAGS,
    &CLOSE_RANGE_FLAGS,
    &PIPE_FLAGS,
    &DUP3_FLAGS,
    &EVENTFD_FLAGS,
    &SIGNALFD_FLAGS,
    &INOTIFY_INIT_FLAGS,
    &INOTIFY_MASK,
    &MEMFD_FLAGS,
    &GETRANDOM_FLAGS,
    &XATTR_FLAGS,
    &PIDFD_FLAGS,
    &WAIT_OPTIONS,
    &WAITID_TYPE,
    &CLONE_FLAGS,
    &RLIMIT_RESOURCE,
    &RUSAGE_WHO,
    &PRIORITY_WHICH,
    &SCHED_POLICY,
    &SIGPROCMASK_HOW,
    &SIGNAL,
    &DIRFD,
    &FUTEX_OP,
    &PRCTL_OPTION,
    &ARCH_PRCTL_CODE,
];
