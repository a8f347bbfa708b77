//! Symbolic names strace prints that sysgate-sys has no flag table for:
//! protocol numbers, socket options, limits, a few ioctl requests. They
//! are accepted in any integer position (after the argument's own table).
//! Values are the kernel's for x86_64 and aarch64 (they agree for all of
//! these).

/// `(name, value)` pairs.
static EXTRA: &[(&str, u64)] = &[
    // Protocols (`socket`'s third argument, `setsockopt` levels).
    ("IPPROTO_IP", 0),
    ("IPPROTO_ICMP", 1),
    ("IPPROTO_IGMP", 2),
    ("IPPROTO_TCP", 6),
    ("IPPROTO_UDP", 17),
    ("IPPROTO_IPV6", 41),
    ("IPPROTO_ICMPV6", 58),
    ("IPPROTO_SCTP", 132),
    ("IPPROTO_UDPLITE", 136),
    ("IPPROTO_RAW", 255),
    ("IPPROTO_MPTCP", 262),
    // SOL_SOCKET options.
    ("SO_DEBUG", 1),
    ("SO_REUSEADDR", 2),
    ("SO_TYPE", 3),
    ("SO_ERROR", 4),
    ("SO_DONTROUTE", 5),
    ("SO_BROADCAST", 6),
    ("SO_SNDBUF", 7),
    ("SO_RCVBUF", 8),
    ("SO_KEEPALIVE", 9),
    ("SO_OOBINLINE", 10),
    ("SO_NO_CHECK", 11),
    ("SO_PRIORITY", 12),
    ("SO_LINGER", 13),
    ("SO_REUSEPORT", 15),
    ("SO_PASSCRED", 16),
    ("SO_PEERCRED", 17),
    ("SO_RCVLOWAT", 18),
    ("SO_SNDLOWAT", 19),
    ("SO_RCVTIMEO_OLD", 20),
    ("SO_SNDTIMEO_OLD", 21),
    ("SO_BINDTODEVICE", 25),
    ("SO_TIMESTAMP_OLD", 29),
    ("SO_ACCEPTCONN", 30),
    ("SO_SNDBUFFORCE", 32),
    ("SO_RCVBUFFORCE", 33),
    ("SO_MARK", 36),
    ("SO_PROTOCOL", 38),
    ("SO_DOMAIN", 39),
    ("SO_BUSY_POLL", 46),
    ("SO_INCOMING_CPU", 49),
    // IPPROTO_TCP options.
    ("TCP_NODELAY", 1),
    ("TCP_MAXSEG", 2),
    ("TCP_CORK", 3),
    ("TCP_KEEPIDLE", 4),
    ("TCP_KEEPINTVL", 5),
    ("TCP_KEEPCNT", 6),
    ("TCP_SYNCNT", 7),
    ("TCP_LINGER2", 8),
    ("TCP_DEFER_ACCEPT", 9),
    ("TCP_WINDOW_CLAMP", 10),
    ("TCP_INFO", 11),
    ("TCP_QUICKACK", 12),
    ("TCP_CONGESTION", 13),
    ("TCP_USER_TIMEOUT", 18),
    ("TCP_FASTOPEN", 23),
    // IPPROTO_IP / IPPROTO_IPV6 options.
    ("IP_TOS", 1),
    ("IP_TTL", 2),
    ("IP_RECVERR", 11),
    ("IPV6_RECVERR", 25),
    ("IPV6_V6ONLY", 26),
    // Limits and special values.
    ("RLIM_INFINITY", u64::MAX),
    ("RLIM64_INFINITY", u64::MAX),
    ("UTIME_NOW", (1 << 30) - 1),
    ("UTIME_OMIT", (1 << 30) - 2),
    ("FUTEX_BITSET_MATCH_ANY", 0xffff_ffff),
    ("_LINUX_CAPABILITY_VERSION_1", 0x1998_0330),
    ("_LINUX_CAPABILITY_VERSION_2", 0x2007_1026),
    ("_LINUX_CAPABILITY_VERSION_3", 0x2008_0522),
    // arch_prctl codes.
    ("ARCH_SET_GS", 0x1001),
    ("ARCH_SET_FS", 0x1002),
    ("ARCH_GET_FS", 0x1003),
    ("ARCH_GET_GS", 0x1004),
    // Common ioctl requests (asm-generic numbering, used by both).
    ("TCGETS", 0x5401),
    ("TCSETS", 0x5402),
    ("TCSETSW", 0x5403),
    ("TCSETSF", 0x5404),
    ("TIOCGPGRP", 0x540f),
    ("TIOCSPGRP", 0x5410),
    ("TIOCGWINSZ", 0x5413),
    ("TIOCSWINSZ", 0x5414),
    ("FIONREAD", 0x541b),
    ("FIONBIO", 0x5421),
    ("FIONCLEX", 0x5450),
    ("FIOCLEX", 0x5451),
    ("FIOASYNC", 0x5452),
];

/// The value of one of the extra names above, e.g. `IPPROTO_TCP` → 6.
/// Accepted after the argument's own table.
pub(crate) fn extra_constant(name: &str) -> Option<u64> {
    EXTRA.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
}

/// The value of a name in an integer argument that has no table of its
/// own (`fcntl`'s argument, `ioctl`'s request, a protocol): the extra
/// names, then any sysgate-sys table that has it (`FD_CLOEXEC`,
/// `O_NONBLOCK`).
pub(crate) fn any_constant(name: &str) -> Option<u64> {
    extra_constant(name).or_else(|| {
        sysgate_sys::flags::ALL_TABLES
            .iter()
            .find_map(|t| t.lookup(name))
    })
}

/// A name in an integer position: the table's own names (and the extra
/// ones) when the position has a table, any known name otherwise.
pub(crate) fn constant(table: Option<&sysgate_sys::flags::FlagTable>, name: &str) -> Option<u64> {
    match table {
        Some(t) => t.lookup(name).or_else(|| extra_constant(name)),
        None => any_constant(name),
    }
}

/// `d_type` names, by value.
pub(crate) fn dirent_type(t: u8) -> Option<&'static str> {
    Some(match t {
        0 => "DT_UNKNOWN",
        1 => "DT_FIFO",
        2 => "DT_CHR",
        4 => "DT_DIR",
        6 => "DT_BLK",
        8 => "DT_REG",
        10 => "DT_LNK",
        12 => "DT_SOCK",
        14 => "DT_WHT",
        _ => return None,
    })
}

/// The number of signal `name` as strace writes it in a set: `INT`,
/// `RTMIN`, `RT_1`, or with the `SIG` prefix.
pub(crate) fn signal_number(name: &str) -> Option<u64> {
    let table = &sysgate_sys::flags::SIGNAL;
    if name.starts_with("SIG")
        && let Some(n) = table.lookup(name)
    {
        return Some(n);
    }
    table.lookup(&format!("SIG{name}"))
}

/// How strace writes signal `n` in a set: `INT`, `RTMIN`, `RT_1`, or the
/// number.
pub(crate) fn signal_set_name(n: u64) -> String {
    let full = sysgate_sys::flags::SIGNAL.format(n);
    match full.strip_prefix("SIG") {
        Some(short) => short.to_owned(),
        None => full,
    }
}

/// `makedev(major, minor)` as glibc encodes a 64-bit `dev_t`.
pub(crate) fn makedev(major: u64, minor: u64) -> u64 {
    ((major & 0xfff) << 8)
        | ((major & 0xffff_f000) << 32)
        | (minor & 0xff)
        | ((minor & 0xffff_ff00) << 12)
}

/// The major number of a 64-bit `dev_t`.
pub(crate) fn major(dev: u64) -> u64 {
    ((dev & 0xf_ff00) >> 8) | ((dev & 0xffff_f000_0000_0000) >> 32)
}

/// The minor number of a 64-bit `dev_t`.
pub(crate) fn minor(dev: u64) -> u64 {
    (dev & 0xff) | ((dev & 0x0000_0fff_fff0_0000) >> 12)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makedev_round_trips() {
        for (ma, mi) in [
            (0, 0),
            (1, 3),
            (0xfe, 0),
            (136, 0),
            (0x1234, 0x56789),
            (8, 1),
        ] {
            let d = makedev(ma, mi);
            assert_eq!((major(d), minor(d)), (ma, mi));
        }
        assert_eq!(makedev(1, 3), 0x103);
    }

    #[test]
    fn signal_names_in_sets() {
        assert_eq!(signal_number("INT"), Some(2));
        assert_eq!(signal_number("SIGINT"), Some(2));
        assert_eq!(signal_number("RTMIN"), Some(32));
        assert_eq!(signal_number("RT_1"), Some(33));
        assert_eq!(signal_number("NOPE"), None);
        assert_eq!(signal_set_name(2), "INT");
        assert_eq!(signal_set_name(33), "RT_1");
    }
}
