use super::*;
use proptest::prelude::*;

#[test]
fn formats_like_strace() {
    // Each expectation was checked against strace 6.x output on x86_64.
    let cases: &[(&FlagTable, u64, &str)] = &[
        (&OPEN_FLAGS, 0, "O_RDONLY"),
        (&OPEN_FLAGS, 0o2000000, "O_RDONLY|O_CLOEXEC"),
        (&OPEN_FLAGS, 2 | 0o2000000 | 0x10, "O_RDWR|O_CLOEXEC|0x10"),
        (&OPEN_FLAGS, 3 | 0o100, "O_ACCMODE|O_CREAT"),
        (&OPEN_FLAGS, 1 | 0o100 | 0o1000, "O_WRONLY|O_CREAT|O_TRUNC"),
        (
            &OPEN_FLAGS,
            0x8000_0000 | 0o2000000,
            "O_RDONLY|O_CLOEXEC|0x80000000",
        ),
        (&MODE, 0o4755, "04755"),
        (&MODE, 0, "000"),
        (&MODE, 0o22, "022"),
        (&MODE, 0o7, "007"),
        (&MODE, 0o10600, "S_IFIFO|0600"),
        (&MODE, 0o100644, "S_IFREG|0644"),
        (&MODE, 0o150644, "0150644"),
        (&MODE, 0o777 | 0x10000, "0777|0x10000"),
        (
            &SOCKET_TYPE,
            1 | 0o4000 | 0o2000000,
            "SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK",
        ),
        (&SOCKET_TYPE, 2 | 0o2000000, "SOCK_DGRAM|SOCK_CLOEXEC"),
        (&SOCKET_TYPE, 0x10f, "0x10f"),
        (&SOCKET_DOMAIN, 2, "AF_INET"),
        (&SOCKET_DOMAIN, 0x63, "0x63"),
        (&MMAP_FLAGS, 0x22, "MAP_PRIVATE|MAP_ANONYMOUS"),
        (&MMAP_FLAGS, 0x812, "MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE"),
        (&MMAP_FLAGS, 0, "MAP_FILE"),
        (&MMAP_PROT, 0, "PROT_NONE"),
        (&MMAP_PROT, 0x5, "PROT_READ|PROT_EXEC"),
        (&MMAP_PROT, 0x101, "PROT_READ|0x100"),
        (&ACCESS_MODE, 0, "F_OK"),
        (&ACCESS_MODE, 6, "R_OK|W_OK"),
        (&ACCESS_MODE, 0x10, "0x10"),
        (&STATX_AT_FLAGS, 0, "AT_STATX_SYNC_AS_STAT"),
        (
            &STATX_AT_FLAGS,
            0x100,
            "AT_STATX_SYNC_AS_STAT|AT_SYMLINK_NOFOLLOW",
        ),
        (&STATX_AT_FLAGS, 0x2000, "AT_STATX_FORCE_SYNC"),
        (&STATX_MASK, 0xfff, "STATX_ALL"),
        (&STATX_MASK, 0x8000_07ff, "STATX_BASIC_STATS|0x80000000"),
        (&AT_FLAGS, 0, "0"),
        (&AT_FLAGS, 0x1000, "AT_EMPTY_PATH"),
        (&AT_FLAGS, 0x300, "AT_SYMLINK_NOFOLLOW|AT_REMOVEDIR"),
        (&FALLOC_FLAGS, 0, "0"),
        (&FALLOC_FLAGS, 3, "FALLOC_FL_KEEP_SIZE|FALLOC_FL_PUNCH_HOLE"),
        (
            &FUTEX_OP,
            0x189,
            "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME",
        ),
        (&FUTEX_OP, 0x80, "FUTEX_WAIT_PRIVATE"),
        (&SIGNAL, 9, "SIGKILL"),
        (&SIGNAL, 32, "SIGRTMIN"),
        (&SIGNAL, 40, "SIGRT_8"),
        (&SIGNAL, 64, "SIGRT_32"),
        (&SIGNAL, 0, "0"),
        (&SIGNAL, 100, "100"),
        (&CLOCK_ID, 0, "CLOCK_REALTIME"),
        (&CLOCK_ID, 77, "0x4d"),
        (&SEEK_WHENCE, 1, "SEEK_CUR"),
        (&SEEK_WHENCE, 17, "0x11"),
        (&FCNTL_CMD, 1030, "F_DUPFD_CLOEXEC"),
        (&FCNTL_CMD, 0x1234, "0x1234"),
        (
            &EPOLL_EVENTS,
            1 | 0x8000_0000 | 0x400_0000,
            "EPOLLIN|EPOLLET|0x4000000",
        ),
        (&EPOLL_CTL_OP, 1, "EPOLL_CTL_ADD"),
        (&EPOLL_CTL_OP, 9, "0x9"),
        (&POLL_EVENTS, 0x8005, "POLLIN|POLLOUT|POLL_BUSY_LOOP"),
        (&DIRFD, (-100i64) as u64, "AT_FDCWD"),
        (&DIRFD, 3, "3"),
        (&FLOCK_OP, 6, "LOCK_EX|LOCK_NB"),
        (&FLOCK_OP, 0x40, "LOCK_READ"),
        (&RUSAGE_WHO, u64::MAX, "RUSAGE_CHILDREN"),
        (&RLIMIT_RESOURCE, 7, "RLIMIT_NOFILE"),
        (&MSG_FLAGS, 0, "0"),
        (&MSG_FLAGS, 0x4040, "MSG_DONTWAIT|MSG_NOSIGNAL"),
        (&SHUTDOWN_HOW, 2, "SHUT_RDWR"),
        (&SOCKOPT_LEVEL, 6, "SOL_TCP"),
        (&SIGPROCMASK_HOW, 0, "SIG_BLOCK"),
        (&PRCTL_OPTION, 15, "PR_SET_NAME"),
        (&SCHED_POLICY, 0x4000_0001, "SCHED_FIFO|SCHED_RESET_ON_FORK"),
    ];
    for &(table, bits, want) in cases {
        assert_eq!(table.format(bits), want, "{} {bits:#x}", table.name);
        assert_eq!(table.parse(want), Ok(bits), "{} {want}", table.name);
    }
}

#[test]
fn parses_names_numbers_and_aliases() {
    assert_eq!(OPEN_FLAGS.parse("O_RDONLY|O_CLOEXEC"), Ok(0o2000000));
    assert_eq!(
        OPEN_FLAGS.parse(" O_WRONLY | O_CREAT |0x10 "),
        Ok(1 | 0o100 | 0x10)
    );
    assert_eq!(OPEN_FLAGS.parse("O_NDELAY"), OPEN_FLAGS.parse("O_NONBLOCK"));
    assert_eq!(MODE.parse("S_IFREG|0644"), Ok(0o100644));
    assert_eq!(MODE.parse("S_ISUID|S_IRWXU|0055"), Ok(0o4755));
    assert_eq!(MODE.parse("0o644"), Ok(0o644));
    assert_eq!(MODE.parse("420"), Ok(0o644), "no leading zero: decimal");
    assert_eq!(MMAP_FLAGS.parse("MAP_PRIVATE|MAP_ANON"), Ok(0x22));
    assert_eq!(SOCKET_DOMAIN.parse("AF_LOCAL"), Ok(1));
    assert_eq!(FUTEX_OP.parse("FUTEX_WAIT|FUTEX_PRIVATE_FLAG"), Ok(128));
    assert_eq!(WAIT_OPTIONS.parse("WSTOPPED|WNOHANG"), Ok(3));
    assert_eq!(DIRFD.parse("-100"), Ok((-100i64) as u64));
    assert_eq!(SIGNAL.parse("SIGIOT"), Ok(6));
    assert_eq!(ACCESS_MODE.parse("F_OK"), Ok(0));
    assert_eq!(AT_FLAGS.parse("0"), Ok(0));
    assert_eq!(AT_FLAGS.parse("0b1|0x100"), Ok(0x101));
}

#[test]
fn parse_errors_name_the_part_and_its_offset() {
    assert_eq!(
        OPEN_FLAGS.parse("O_RDONLY|O_FOO"),
        Err(FlagParseError::UnknownName {
            table: "open flags",
            name: "O_FOO".into(),
            offset: 9
        })
    );
    let err = OPEN_FLAGS.parse("O_RDONLY | O_BAR ").unwrap_err();
    assert_eq!(err.offset(), 11);
    assert_eq!(
        err.to_string(),
        "unknown open flags name `O_BAR` at byte 11"
    );
    assert_eq!(
        OPEN_FLAGS.parse("O_RDONLY||O_CLOEXEC"),
        Err(FlagParseError::Empty {
            table: "open flags",
            offset: 9
        })
    );
    assert_eq!(OPEN_FLAGS.parse("").unwrap_err().offset(), 0);
    assert_eq!(OPEN_FLAGS.parse("O_RDONLY|").unwrap_err().offset(), 9);
    for bad in [
        "0xZZ",
        "08",
        "0x",
        "-",
        "0x1ffffffffffffffff",
        "12abc",
        "--1",
    ] {
        assert!(
            matches!(
                OPEN_FLAGS.parse(bad),
                Err(FlagParseError::BadNumber { offset: 0, .. })
            ),
            "{bad}"
        );
    }
    // Names are case-sensitive, like the C constants.
    assert!(OPEN_FLAGS.parse("o_rdonly").is_err());
}

#[test]
fn parse_number_forms() {
    assert_eq!(parse_number("0"), Some(0));
    assert_eq!(parse_number("42"), Some(42));
    assert_eq!(parse_number("0x2A"), Some(42));
    assert_eq!(parse_number("052"), Some(42));
    assert_eq!(parse_number("0o52"), Some(42));
    assert_eq!(parse_number("0b101010"), Some(42));
    assert_eq!(parse_number("-1"), Some(u64::MAX));
    assert_eq!(parse_number("-9223372036854775808"), Some(1 << 63));
    assert_eq!(parse_number("-9223372036854775809"), None);
    assert_eq!(parse_number("18446744073709551615"), Some(u64::MAX));
    assert_eq!(parse_number("18446744073709551616"), None);
    assert_eq!(parse_number("0x-1"), None);
}

/// Structural rules `format` relies on for `parse(format(x)) == x` and for
/// printing the right names.
#[test]
fn tables_are_well_formed() {
    for table in ALL_TABLES {
        let mut names: Vec<&str> = table
            .names()
            .chain(table.aliases)
            .map(|n| n.name)
            .chain(table.zero)
            .collect();
        let total = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), total, "{}: duplicate name", table.name);

        if let Some(field) = table.field {
            for v in field.values {
                assert_eq!(
                    v.value & !field.mask,
                    0,
                    "{}: {} outside field",
                    table.name,
                    v.name
                );
            }
            for b in table.bits {
                assert_eq!(
                    b.value & field.mask,
                    0,
                    "{}: {} overlaps field",
                    table.name,
                    b.name
                );
            }
        }
        for (i, a) in table.bits.iter().enumerate() {
            assert_ne!(a.value, 0, "{}: {} is zero; use `zero`", table.name, a.name);
            // A flag listed after one of its subsets would never print.
            for b in &table.bits[..i] {
                assert!(
                    b.value & a.value != b.value || b.value == a.value,
                    "{}: {} must come before {}",
                    table.name,
                    a.name,
                    b.name
                );
            }
        }
        if let Leftover::Octal { mask } = table.leftover {
            assert!(
                table.bits.iter().all(|b| b.value & mask == 0),
                "{}",
                table.name
            );
        }
    }
}

#[test]
fn every_named_value_round_trips() {
    for table in ALL_TABLES {
        for n in table.names().chain(table.aliases) {
            let text = table.format(n.value);
            assert_eq!(
                table.parse(&text),
                Ok(n.value),
                "{}: {} -> {text}",
                table.name,
                n.name
            );
            assert_eq!(
                table.lookup(n.name),
                Some(n.value),
                "{}: {}",
                table.name,
                n.name
            );
        }
        // A lone flag prints its own name (possibly after a field value).
        for b in table.bits {
            let text = table.format(b.value);
            assert!(
                text.split('|').any(|part| part == b.name),
                "{}: {} printed as {text}",
                table.name,
                b.name
            );
        }
    }
}

/// Values cross-checked against the libc crate's constants (an independent
/// transcription of the kernel headers).
#[test]
fn values_agree_with_libc() {
    macro_rules! check {
        ($table:expr => $($name:ident),* $(,)?) => {
            $(
                assert_eq!(
                    $table.lookup(stringify!($name)),
                    Some(libc::$name as u64),
                    "{}: {}", $table.name, stringify!($name)
                );
            )*
        };
    }
    // Flag words the kernel takes as 32-bit unsigned, where libc's
    // constant is a negative `c_int`.
    macro_rules! check_u32 {
        ($table:expr => $($name:ident),* $(,)?) => {
            $(
                assert_eq!(
                    $table.lookup(stringify!($name)),
                    Some(libc::$name as u32 as u64),
                    "{}: {}", $table.name, stringify!($name)
                );
            )*
        };
    }
    check!(OPEN_FLAGS => O_RDONLY, O_WRONLY, O_RDWR, O_ACCMODE, O_CREAT, O_EXCL, O_NOCTTY,
        O_TRUNC, O_APPEND, O_NONBLOCK, O_SYNC, O_DSYNC, O_ASYNC, O_DIRECT, O_NOFOLLOW,
        O_NOATIME, O_CLOEXEC, O_PATH, O_TMPFILE, O_DIRECTORY, O_NDELAY, O_FSYNC, O_RSYNC);
    check!(AT_FLAGS => AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, AT_SYMLINK_FOLLOW, AT_NO_AUTOMOUNT,
        AT_EMPTY_PATH, AT_RECURSIVE);
    check!(FACCESSAT_FLAGS => AT_EACCESS);
    check!(STATX_AT_FLAGS => AT_STATX_SYNC_AS_STAT, AT_STATX_FORCE_SYNC, AT_STATX_DONT_SYNC,
        AT_STATX_SYNC_TYPE);
    check!(STATX_MASK => STATX_TYPE, STATX_MODE, STATX_NLINK, STATX_UID, STATX_GID,
        STATX_ATIME, STATX_MTIME, STATX_CTIME, STATX_INO, STATX_SIZE, STATX_BLOCKS,
        STATX_BASIC_STATS, STATX_BTIME, STATX_ALL, STATX_MNT_ID, STATX_DIOALIGN);
    check!(MODE => S_IFSOCK, S_IFLNK, S_IFREG, S_IFBLK, S_IFDIR, S_IFCHR, S_IFIFO, S_ISUID,
        S_ISGID, S_ISVTX, S_IRWXU, S_IRUSR, S_IWUSR, S_IXUSR, S_IRWXG, S_IRGRP, S_IWGRP,
        S_IXGRP, S_IRWXO, S_IROTH, S_IWOTH, S_IXOTH);
    check!(ACCESS_MODE => F_OK, R_OK, W_OK, X_OK);
    check!(MMAP_PROT => PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC, PROT_GROWSDOWN,
        PROT_GROWSUP);
    check!(MMAP_FLAGS => MAP_FILE, MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE, MAP_FIXED,
        MAP_ANONYMOUS, MAP_ANON, MAP_GROWSDOWN, MAP_DENYWRITE, MAP_EXECUTABLE, MAP_LOCKED,
        MAP_NORESERVE, MAP_POPULATE, MAP_NONBLOCK, MAP_STACK, MAP_HUGETLB, MAP_SYNC,
        MAP_FIXED_NOREPLACE, MAP_HUGE_2MB, MAP_HUGE_1GB);
    #[cfg(target_arch = "x86_64")]
    check!(MMAP_FLAGS => MAP_32BIT);
    check!(MREMAP_FLAGS => MREMAP_MAYMOVE, MREMAP_FIXED);
    check!(MSYNC_FLAGS => MS_ASYNC, MS_INVALIDATE, MS_SYNC);
    check!(MLOCKALL_FLAGS => MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT);
    check!(MADVISE_ADVICE => MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED,
        MADV_DONTNEED, MADV_FREE, MADV_REMOVE, MADV_DONTFORK, MADV_DOFORK, MADV_MERGEABLE,
        MADV_UNMERGEABLE, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_DODUMP,
        MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_COLD, MADV_PAGEOUT, MADV_POPULATE_READ,
        MADV_POPULATE_WRITE, MADV_HWPOISON, MADV_SOFT_OFFLINE);
    check!(FADVISE_ADVICE => POSIX_FADV_NORMAL, POSIX_FADV_RANDOM, POSIX_FADV_SEQUENTIAL,
        POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE);
    check!(SOCKET_DOMAIN => AF_UNSPEC, AF_UNIX, AF_LOCAL, AF_INET, AF_AX25, AF_IPX,
        AF_APPLETALK, AF_NETROM, AF_BRIDGE, AF_ATMPVC, AF_X25, AF_INET6, AF_ROSE, AF_DECnet,
        AF_NETBEUI, AF_SECURITY, AF_KEY, AF_NETLINK, AF_ROUTE, AF_PACKET, AF_ASH, AF_ECONET,
        AF_ATMSVC, AF_RDS, AF_SNA, AF_IRDA, AF_PPPOX, AF_WANPIPE, AF_LLC, AF_IB, AF_MPLS,
        AF_CAN, AF_TIPC, AF_BLUETOOTH, AF_IUCV, AF_RXRPC, AF_ISDN, AF_PHONET, AF_IEEE802154,
        AF_CAIF, AF_ALG, AF_NFC, AF_VSOCK, AF_XDP, PF_INET, PF_INET6, PF_UNIX);
    check!(SOCKET_TYPE => SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_RDM, SOCK_SEQPACKET,
        SOCK_DCCP, SOCK_CLOEXEC, SOCK_NONBLOCK);
    check!(MSG_FLAGS => MSG_OOB, MSG_PEEK, MSG_DONTROUTE, MSG_CTRUNC, MSG_TRUNC,
        MSG_DONTWAIT, MSG_EOR, MSG_WAITALL, MSG_FIN, MSG_SYN, MSG_CONFIRM, MSG_RST,
        MSG_ERRQUEUE, MSG_NOSIGNAL, MSG_MORE, MSG_WAITFORONE, MSG_FASTOPEN,
        MSG_CMSG_CLOEXEC, MSG_ZEROCOPY);
    check!(SHUTDOWN_HOW => SHUT_RD, SHUT_WR, SHUT_RDWR);
    check!(SOCKOPT_LEVEL => SOL_SOCKET, SOL_TCP, SOL_UDP, SOL_IP, SOL_IPV6, SOL_ICMPV6,
        SOL_RAW, SOL_DECNET, SOL_X25, SOL_PACKET, SOL_ATM, SOL_AAL, SOL_IRDA, SOL_NETBEUI,
        SOL_LLC, SOL_DCCP, SOL_NETLINK, SOL_TIPC, SOL_BLUETOOTH, SOL_ALG, SOL_TLS, SOL_XDP);
    check!(POLL_EVENTS => POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL, POLLRDNORM,
        POLLRDBAND, POLLWRNORM, POLLWRBAND, POLLRDHUP);
    check!(EPOLL_EVENTS => EPOLLIN, EPOLLPRI, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDNORM, EPOLLRDBAND, EPOLLWRNORM, EPOLLWRBAND, EPOLLMSG, EPOLLRDHUP,
        EPOLLEXCLUSIVE, EPOLLWAKEUP, EPOLLONESHOT);
    check_u32!(EPOLL_EVENTS => EPOLLET);
    check!(EPOLL_CTL_OP => EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD);
    check!(EPOLL_CREATE_FLAGS => EPOLL_CLOEXEC);
    check!(CLOCK_ID => CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID,
        CLOCK_THREAD_CPUTIME_ID, CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE,
        CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME, CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM,
        CLOCK_TAI);
    check!(TIMER_FLAGS => TIMER_ABSTIME);
    check!(TIMERFD_CREATE_FLAGS => TFD_CLOEXEC, TFD_NONBLOCK);
    check!(TIMERFD_SETTIME_FLAGS => TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET);
    check!(ITIMER_WHICH => ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF);
    check!(FCNTL_CMD => F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_GETLK, F_SETLK,
        F_SETLKW, F_SETOWN, F_GETOWN, F_OFD_GETLK, F_OFD_SETLK,
        F_OFD_SETLKW, F_SETLEASE, F_GETLEASE, F_NOTIFY, F_CANCELLK, F_DUPFD_CLOEXEC,
        F_SETPIPE_SZ, F_GETPIPE_SZ, F_ADD_SEALS, F_GET_SEALS);
    check!(FD_FLAGS => FD_CLOEXEC);
    check!(SEEK_WHENCE => SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE);
    check!(FLOCK_OP => LOCK_SH, LOCK_EX, LOCK_NB, LOCK_UN);
    check!(RENAME_FLAGS => RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT);
    check!(FALLOC_FLAGS => FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_COLLAPSE_RANGE,
        FALLOC_FL_ZERO_RANGE, FALLOC_FL_INSERT_RANGE, FALLOC_FL_UNSHARE_RANGE);
    check!(RESOLVE_FLAGS => RESOLVE_NO_XDEV, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS,
        RESOLVE_BENEATH, RESOLVE_IN_ROOT, RESOLVE_CACHED);
    check!(SYNC_FILE_RANGE_FLAGS => SYNC_FILE_RANGE_WAIT_BEFORE, SYNC_FILE_RANGE_WRITE,
        SYNC_FILE_RANGE_WAIT_AFTER);
    check!(RWF_FLAGS => RWF_HIPRI, RWF_DSYNC, RWF_SYNC, RWF_NOWAIT, RWF_APPEND);
    check!(SPLICE_FLAGS => SPLICE_F_MOVE, SPLICE_F_NONBLOCK, SPLICE_F_MORE, SPLICE_F_GIFT);
    check!(CLOSE_RANGE_FLAGS => CLOSE_RANGE_UNSHARE, CLOSE_RANGE_CLOEXEC);
    check!(EVENTFD_FLAGS => EFD_SEMAPHORE, EFD_CLOEXEC, EFD_NONBLOCK);
    check!(SIGNALFD_FLAGS => SFD_CLOEXEC, SFD_NONBLOCK);
    check!(INOTIFY_INIT_FLAGS => IN_CLOEXEC, IN_NONBLOCK);
    check!(INOTIFY_MASK => IN_ACCESS, IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE, IN_CLOSE_NOWRITE,
        IN_OPEN, IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE, IN_DELETE_SELF,
        IN_MOVE_SELF, IN_UNMOUNT, IN_Q_OVERFLOW, IN_IGNORED, IN_ONLYDIR, IN_DONT_FOLLOW,
        IN_EXCL_UNLINK, IN_MASK_CREATE, IN_MASK_ADD, IN_ISDIR, IN_ONESHOT, IN_CLOSE, IN_MOVE,
        IN_ALL_EVENTS);
    check!(MEMFD_FLAGS => MFD_CLOEXEC, MFD_ALLOW_SEALING, MFD_HUGETLB, MFD_NOEXEC_SEAL,
        MFD_EXEC);
    check!(GETRANDOM_FLAGS => GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE);
    check!(XATTR_FLAGS => XATTR_CREATE, XATTR_REPLACE);
    check!(PIDFD_FLAGS => PIDFD_NONBLOCK, PIDFD_THREAD);
    check!(WAIT_OPTIONS => WNOHANG, WUNTRACED, WSTOPPED, WEXITED, WCONTINUED, WNOWAIT,
        __WNOTHREAD, __WALL);
    check_u32!(WAIT_OPTIONS => __WCLONE);
    check!(WAITID_TYPE => P_ALL, P_PID, P_PGID, P_PIDFD);
    check!(CLONE_FLAGS => CLONE_NEWTIME, CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND,
        CLONE_PIDFD, CLONE_PTRACE, CLONE_VFORK, CLONE_PARENT, CLONE_THREAD, CLONE_NEWNS,
        CLONE_SYSVSEM, CLONE_SETTLS, CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID,
        CLONE_DETACHED, CLONE_UNTRACED, CLONE_CHILD_SETTID, CLONE_NEWCGROUP, CLONE_NEWUTS,
        CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET);
    check_u32!(CLONE_FLAGS => CLONE_IO);
    check!(RLIMIT_RESOURCE => RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_DATA, RLIMIT_STACK,
        RLIMIT_CORE, RLIMIT_RSS, RLIMIT_NPROC, RLIMIT_NOFILE, RLIMIT_MEMLOCK, RLIMIT_AS,
        RLIMIT_LOCKS, RLIMIT_SIGPENDING, RLIMIT_MSGQUEUE, RLIMIT_NICE, RLIMIT_RTPRIO,
        RLIMIT_RTTIME);
    check!(RUSAGE_WHO => RUSAGE_SELF, RUSAGE_CHILDREN, RUSAGE_THREAD);
    check!(PRIORITY_WHICH => PRIO_PROCESS, PRIO_PGRP, PRIO_USER);
    check!(SCHED_POLICY => SCHED_OTHER, SCHED_NORMAL, SCHED_FIFO, SCHED_RR, SCHED_BATCH,
        SCHED_IDLE, SCHED_DEADLINE, SCHED_RESET_ON_FORK);
    check!(SIGPROCMASK_HOW => SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK);
    check!(SIGNAL => SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGIOT, SIGBUS,
        SIGFPE, SIGKILL, SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT,
        SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGXCPU, SIGXFSZ,
        SIGVTALRM, SIGPROF, SIGWINCH, SIGIO, SIGPOLL, SIGPWR, SIGSYS);
    check!(DIRFD => AT_FDCWD);
    check!(FUTEX_OP => FUTEX_WAIT, FUTEX_WAKE, FUTEX_FD, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE,
        FUTEX_WAKE_OP, FUTEX_LOCK_PI, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI, FUTEX_WAIT_BITSET,
        FUTEX_WAKE_BITSET, FUTEX_WAIT_REQUEUE_PI, FUTEX_CMP_REQUEUE_PI, FUTEX_LOCK_PI2,
        FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME);
    check!(PRCTL_OPTION => PR_SET_PDEATHSIG, PR_GET_PDEATHSIG, PR_GET_DUMPABLE,
        PR_SET_DUMPABLE, PR_GET_UNALIGN, PR_SET_UNALIGN, PR_GET_KEEPCAPS, PR_SET_KEEPCAPS,
        PR_GET_FPEMU, PR_SET_FPEMU, PR_GET_FPEXC, PR_SET_FPEXC, PR_GET_TIMING, PR_SET_TIMING,
        PR_SET_NAME, PR_GET_NAME, PR_GET_ENDIAN, PR_SET_ENDIAN, PR_GET_SECCOMP,
        PR_SET_SECCOMP, PR_CAPBSET_READ, PR_CAPBSET_DROP, PR_GET_TSC, PR_SET_TSC,
        PR_GET_SECUREBITS, PR_SET_SECUREBITS, PR_SET_TIMERSLACK, PR_GET_TIMERSLACK,
        PR_TASK_PERF_EVENTS_DISABLE, PR_TASK_PERF_EVENTS_ENABLE, PR_MCE_KILL,
        PR_MCE_KILL_GET, PR_SET_MM, PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER,
        PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS, PR_GET_TID_ADDRESS, PR_SET_THP_DISABLE,
        PR_GET_THP_DISABLE, PR_SET_FP_MODE, PR_GET_FP_MODE, PR_CAP_AMBIENT, PR_SCHED_CORE, PR_SET_MDWE,
        PR_GET_MDWE, PR_SET_MEMORY_MERGE, PR_GET_MEMORY_MERGE, PR_SET_VMA);
    // libc defines these for x86_64 only.
    #[cfg(target_arch = "x86_64")]
    check!(PRCTL_OPTION => PR_GET_SPECULATION_CTRL, PR_SET_SPECULATION_CTRL);
    // libc's O_LARGEFILE is glibc's (0 on 64-bit); the kernel's bit is
    // what goes through the syscall and what strace prints.
    #[cfg(target_arch = "x86_64")]
    assert_eq!(OPEN_FLAGS.lookup("O_LARGEFILE"), Some(0o100000));
    #[cfg(target_arch = "aarch64")]
    assert_eq!(OPEN_FLAGS.lookup("O_LARGEFILE"), Some(0o400000));
}

/// A value built from some of a table's names plus, sometimes, arbitrary
/// bits.
fn table_value() -> impl Strategy<Value = (&'static FlagTable, u64)> {
    (
        0..ALL_TABLES.len(),
        any::<u64>(),
        any::<u64>(),
        any::<bool>(),
    )
        .prop_map(|(t, select, extra, with_extra)| {
            let table = ALL_TABLES[t];
            let mut bits = 0;
            for (i, n) in table.names().enumerate() {
                if select & (1 << (i % 64)) != 0 {
                    bits |= n.value;
                }
            }
            if with_extra {
                bits |= extra;
            }
            (table, bits)
        })
}

proptest! {
    #[test]
    fn combinations_round_trip((table, bits) in table_value()) {
        let text = table.format(bits);
        prop_assert_eq!(table.parse(&text), Ok(bits), "{}: {}", table.name, text);
    }

    #[test]
    fn any_value_round_trips(t in 0..ALL_TABLES.len(), bits in any::<u64>()) {
        let table = ALL_TABLES[t];
        let text = table.format(bits);
        prop_assert_eq!(table.parse(&text), Ok(bits), "{}: {}", table.name, text);
    }

    #[test]
    fn numbers_round_trip(v in any::<i64>()) {
        prop_assert_eq!(parse_number(&v.to_string()), Some(v as u64));
        prop_assert_eq!(parse_number(&format!("{:#x}", v as u64)), Some(v as u64));
        prop_assert_eq!(parse_number(&format!("0{:o}", v as u64)), Some(v as u64));
    }

    #[test]
    fn parse_never_panics(text in ".{0,40}") {
        let _ = OPEN_FLAGS.parse(&text);
        let _ = MODE.parse(&text);
        let _ = SIGNAL.parse(&text);
    }
}
