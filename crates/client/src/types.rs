//! Structures the kernel writes, parsed from the bytes a completion carries
//! (field offsets from `libc`'s definitions, so no unsafe casts), and the
//! small ones ops send.

use std::ffi::OsStr;
use std::mem::{offset_of, size_of};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::unix::ffi::OsStrExt;

/// Size in bytes of the field `f` selects (an offset_of! companion).
fn field_size<T, F>(_: fn(&T) -> &F) -> usize {
    size_of::<F>()
}

/// An unsigned little-endian (native) integer of `size` bytes at `off`;
/// 0 where the bytes are missing.
fn uint(bytes: &[u8], off: usize, size: usize) -> u64 {
    let Some(b) = bytes.get(off..off + size) else {
        return 0;
    };
    match size {
        1 => u64::from(b[0]),
        2 => u64::from(u16::from_ne_bytes([b[0], b[1]])),
        4 => u64::from(u32::from_ne_bytes([b[0], b[1], b[2], b[3]])),
        8 => u64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        _ => 0,
    }
}

macro_rules! get {
    ($bytes:expr, $ty:ty, $($field:ident).+) => {
        uint($bytes, offset_of!($ty, $($field).+), field_size(|s: &$ty| &s.$($field).+))
    };
}

/// A point in time as the kernel keeps it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timespec {
    /// Seconds since the epoch (or of a duration).
    pub sec: i64,
    /// Nanoseconds, `0..1_000_000_000`, or [`Timespec::UTIME_NOW`] /
    /// [`Timespec::UTIME_OMIT`] for `utimensat`.
    pub nsec: i64,
}

impl Timespec {
    /// `utimensat`: set this time to now.
    pub const UTIME_NOW: i64 = libc::UTIME_NOW;
    /// `utimensat`: leave this time unchanged.
    pub const UTIME_OMIT: i64 = libc::UTIME_OMIT;

    /// The `struct timespec` bytes.
    pub fn to_bytes(self) -> [u8; 16] {
        let mut b = [0; 16];
        b[..8].copy_from_slice(&self.sec.to_ne_bytes());
        b[8..].copy_from_slice(&self.nsec.to_ne_bytes());
        b
    }
}

impl From<std::time::Duration> for Timespec {
    fn from(d: std::time::Duration) -> Self {
        Timespec {
            sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            nsec: i64::from(d.subsec_nanos()),
        }
    }
}

/// `struct stat`, as `fstat` fills it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    /// Device of the file.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// File type and permissions.
    pub mode: u32,
    /// Hard links.
    pub nlink: u64,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Device number, for device files.
    pub rdev: u64,
    /// Size in bytes.
    pub size: i64,
    /// Preferred I/O block size.
    pub blksize: i64,
    /// 512-byte blocks allocated.
    pub blocks: i64,
    /// Last access.
    pub atime: Timespec,
    /// Last modification.
    pub mtime: Timespec,
    /// Last status change.
    pub ctime: Timespec,
}

impl Stat {
    /// Bytes of a `struct stat` on this architecture.
    pub const SIZE: usize = size_of::<libc::stat>();

    /// Parses the bytes `fstat` wrote (missing bytes read as 0).
    pub fn from_bytes(b: &[u8]) -> Stat {
        type S = libc::stat;
        let ts = |sec, nsec| Timespec {
            sec: sec as i64,
            nsec: nsec as i64,
        };
        Stat {
            dev: get!(b, S, st_dev),
            ino: get!(b, S, st_ino),
            mode: get!(b, S, st_mode) as u32,
            nlink: get!(b, S, st_nlink),
            uid: get!(b, S, st_uid) as u32,
            gid: get!(b, S, st_gid) as u32,
            rdev: get!(b, S, st_rdev),
            size: get!(b, S, st_size) as i64,
            blksize: get!(b, S, st_blksize) as i64,
            blocks: get!(b, S, st_blocks) as i64,
            atime: ts(get!(b, S, st_atime), get!(b, S, st_atime_nsec)),
            mtime: ts(get!(b, S, st_mtime), get!(b, S, st_mtime_nsec)),
            ctime: ts(get!(b, S, st_ctime), get!(b, S, st_ctime_nsec)),
        }
    }
}

/// `struct statx`, as `statx` fills it (the fields sysgate users ask for;
/// check [`Statx::mask`] for which the kernel filled).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Statx {
    /// `STATX_*` bits of the fields filled.
    pub mask: u32,
    /// Preferred I/O block size.
    pub blksize: u32,
    /// `STATX_ATTR_*` bits.
    pub attributes: u64,
    /// Hard links.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// File type and permissions.
    pub mode: u16,
    /// Inode number.
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
    /// 512-byte blocks allocated.
    pub blocks: u64,
    /// Last access.
    pub atime: Timespec,
    /// Creation.
    pub btime: Timespec,
    /// Last status change.
    pub ctime: Timespec,
    /// Last modification.
    pub mtime: Timespec,
    /// Device number (major, minor), for device files.
    pub rdev: (u32, u32),
    /// Device of the file (major, minor).
    pub dev: (u32, u32),
}

impl Statx {
    /// Bytes of a `struct statx`.
    pub const SIZE: usize = size_of::<libc::statx>();

    /// Whether the file is a directory.
    pub fn is_dir(&self) -> bool {
        u32::from(self.mode) & libc::S_IFMT == libc::S_IFDIR
    }

    /// Parses the bytes `statx` wrote (missing bytes read as 0).
    pub fn from_bytes(b: &[u8]) -> Statx {
        type S = libc::statx;
        macro_rules! time {
            ($f:ident) => {
                Timespec {
                    sec: get!(b, S, $f.tv_sec) as i64,
                    nsec: get!(b, S, $f.tv_nsec) as i64,
                }
            };
        }
        Statx {
            mask: get!(b, S, stx_mask) as u32,
            blksize: get!(b, S, stx_blksize) as u32,
            attributes: get!(b, S, stx_attributes),
            nlink: get!(b, S, stx_nlink) as u32,
            uid: get!(b, S, stx_uid) as u32,
            gid: get!(b, S, stx_gid) as u32,
            mode: get!(b, S, stx_mode) as u16,
            ino: get!(b, S, stx_ino),
            size: get!(b, S, stx_size),
            blocks: get!(b, S, stx_blocks),
            atime: time!(stx_atime),
            btime: time!(stx_btime),
            ctime: time!(stx_ctime),
            mtime: time!(stx_mtime),
            rdev: (
                get!(b, S, stx_rdev_major) as u32,
                get!(b, S, stx_rdev_minor) as u32,
            ),
            dev: (
                get!(b, S, stx_dev_major) as u32,
                get!(b, S, stx_dev_minor) as u32,
            ),
        }
    }
}

/// One `linux_dirent64` record of a `getdents64` buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirEntry<'a> {
    /// Inode number.
    pub ino: u64,
    /// Opaque position of the next entry.
    pub off: i64,
    /// `DT_*` file type (`DT_UNKNOWN` on file systems that do not say).
    pub kind: u8,
    /// The name, without its NUL.
    pub name: &'a OsStr,
}

impl DirEntry<'_> {
    /// Whether this is `.` or `..`.
    pub fn is_dot(&self) -> bool {
        matches!(self.name.as_bytes(), b"." | b"..")
    }
}

/// The records of a `getdents64` buffer; stops at the first malformed one.
#[derive(Clone, Debug)]
pub struct DirEntries<'a> {
    bytes: &'a [u8],
}

impl<'a> DirEntries<'a> {
    /// The records in `bytes` (the first `n` bytes `getdents64` returned).
    pub fn new(bytes: &'a [u8]) -> Self {
        DirEntries { bytes }
    }
}

/// `d_ino`, `d_off`, `d_reclen`, `d_type`: the name starts here.
const DIRENT_HEADER: usize = 19;

impl<'a> Iterator for DirEntries<'a> {
    type Item = DirEntry<'a>;

    fn next(&mut self) -> Option<DirEntry<'a>> {
        let b = self.bytes;
        let reclen = uint(b, 16, 2) as usize;
        if b.len() < DIRENT_HEADER || reclen < DIRENT_HEADER || reclen > b.len() {
            self.bytes = &[];
            return None;
        }
        let name = &b[DIRENT_HEADER..reclen];
        let name = &name[..name.iter().position(|&c| c == 0).unwrap_or(name.len())];
        self.bytes = &b[reclen..];
        Some(DirEntry {
            ino: uint(b, 0, 8),
            off: uint(b, 8, 8) as i64,
            kind: b[18],
            name: OsStr::from_bytes(name),
        })
    }
}

/// A socket address in the kernel's byte form (`sockaddr_in`,
/// `sockaddr_in6`, `sockaddr_un`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SockAddr {
    bytes: Vec<u8>,
}

impl SockAddr {
    /// An address from the bytes of a `struct sockaddr_*`.
    pub fn from_bytes(bytes: Vec<u8>) -> SockAddr {
        SockAddr { bytes }
    }

    /// A Unix-domain socket path (abstract names start with a NUL byte).
    pub fn unix(path: impl AsRef<OsStr>) -> SockAddr {
        let mut bytes = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        bytes.extend_from_slice(path.as_ref().as_bytes());
        if bytes.get(2) != Some(&0) {
            bytes.push(0);
        }
        SockAddr { bytes }
    }

    /// The bytes as the kernel reads them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The address family (`AF_INET`, …).
    pub fn family(&self) -> u16 {
        uint(&self.bytes, 0, 2) as u16
    }

    /// The IP address and port, for `AF_INET` / `AF_INET6`.
    pub fn to_socket_addr(&self) -> Option<SocketAddr> {
        let b = &self.bytes;
        let port = u16::from_be_bytes([*b.get(2)?, *b.get(3)?]);
        match i32::from(self.family()) {
            libc::AF_INET => {
                let ip: [u8; 4] = b.get(4..8)?.try_into().ok()?;
                Some(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), port)))
            }
            libc::AF_INET6 => {
                let ip: [u8; 16] = b.get(8..24)?.try_into().ok()?;
                let flow = uint(b, 4, 4) as u32;
                let scope = uint(b, 24, 4) as u32;
                Some(SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(ip),
                    port,
                    flow,
                    scope,
                )))
            }
            _ => None,
        }
    }
}

impl From<SocketAddr> for SockAddr {
    fn from(addr: SocketAddr) -> SockAddr {
        let mut bytes = Vec::with_capacity(28);
        match addr {
            SocketAddr::V4(a) => {
                bytes.extend_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
                bytes.extend_from_slice(&a.port().to_be_bytes());
                bytes.extend_from_slice(&a.ip().octets());
                bytes.extend_from_slice(&[0; 8]);
            }
            SocketAddr::V6(a) => {
                bytes.extend_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
                bytes.extend_from_slice(&a.port().to_be_bytes());
                bytes.extend_from_slice(&a.flowinfo().to_ne_bytes());
                bytes.extend_from_slice(&a.ip().octets());
                bytes.extend_from_slice(&a.scope_id().to_ne_bytes());
            }
        }
        SockAddr { bytes }
    }
}

impl From<(IpAddr, u16)> for SockAddr {
    fn from((ip, port): (IpAddr, u16)) -> SockAddr {
        SocketAddr::new(ip, port).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirents_parse_and_stop_at_garbage() {
        let mut buf = Vec::new();
        for (ino, name) in [(1u64, "a"), (2, "bcd")] {
            let reclen = (DIRENT_HEADER + name.len() + 1).div_ceil(8) * 8;
            let start = buf.len();
            buf.extend_from_slice(&ino.to_ne_bytes());
            buf.extend_from_slice(&7i64.to_ne_bytes());
            buf.extend_from_slice(&(reclen as u16).to_ne_bytes());
            buf.push(libc::DT_REG);
            buf.extend_from_slice(name.as_bytes());
            buf.resize(start + reclen, 0);
        }
        buf.extend_from_slice(&[0xff; 5]);
        let names: Vec<_> = DirEntries::new(&buf)
            .map(|e| (e.ino, e.name.to_owned()))
            .collect();
        assert_eq!(names, [(1, "a".into()), (2, "bcd".into())]);
    }

    #[test]
    fn socket_addresses_round_trip() {
        for a in ["127.0.0.1:80", "[::1]:8080"] {
            let a: SocketAddr = a.parse().unwrap();
            assert_eq!(SockAddr::from(a).to_socket_addr(), Some(a));
        }
    }
}
