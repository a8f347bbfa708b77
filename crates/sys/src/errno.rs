//! Linux error numbers.

use std::fmt;
use std::io;

/// A Linux error number, as a failed syscall returns it (negated).
///
/// Displays as `ENOENT (No such file or directory)`; a number Linux does
/// not define displays as `errno 4000 (unknown)`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Errno(i32);

/// `errnos! { NAME = number, "description"; … }`: associated constants and
/// the lookup table.
macro_rules! errnos {
    ($($name:ident = $num:literal, $desc:literal;)*) => {
        impl Errno {
            $(
                #[doc = concat!("`", stringify!($name), "` (", stringify!($num), "): ", $desc, ".")]
                pub const $name: Errno = Errno($num);
            )*
        }

        /// `(number, name, description)` for every errno, by number.
        static ERRNO_TABLE: &[(i32, &str, &str)] = &[$(($num, stringify!($name), $desc)),*];
    };
}

errnos! {
    EPERM = 1, "Operation not permitted";
    ENOENT = 2, "No such file or directory";
    ESRCH = 3, "No such process";
    EINTR = 4, "Interrupted system call";
    EIO = 5, "Input/output error";
    ENXIO = 6, "No such device or address";
    E2BIG = 7, "Argument list too long";
    ENOEXEC = 8, "Exec format error";
    EBADF = 9, "Bad file descriptor";
    ECHILD = 10, "No child processes";
    EAGAIN = 11, "Resource temporarily unavailable";
    ENOMEM = 12, "Cannot allocate memory";
    EACCES = 13, "Permission denied";
    EFAULT = 14, "Bad address";
    ENOTBLK = 15, "Block device required";
    EBUSY = 16, "Device or resource busy";
    EEXIST = 17, "File exists";
    EXDEV = 18, "Invalid cross-device link";
    ENODEV = 19, "No such device";
    ENOTDIR = 20, "Not a directory";
    EISDIR = 21, "Is a directory";
    EINVAL = 22, "Invalid argument";
    ENFILE = 23, "Too many open files in system";
    EMFILE = 24, "Too many open files";
    ENOTTY = 25, "Inappropriate ioctl for device";
    ETXTBSY = 26, "Text file busy";
    EFBIG = 27, "File too large";
    ENOSPC = 28, "No space left on device";
    ESPIPE = 29, "Illegal seek";
    EROFS = 30, "Read-only file system";
    EMLINK = 31, "Too many links";
    EPIPE = 32, "Broken pipe";
    EDOM = 33, "Numerical argument out of domain";
    ERANGE = 34, "Numerical result out of range";
    EDEADLK = 35, "Resource deadlock avoided";
    ENAMETOOLONG = 36, "File name too long";
    ENOLCK = 37, "No locks available";
    ENOSYS = 38, "Function not implemented";
    ENOTEMPTY = 39, "Directory not empty";
    ELOOP = 40, "Too many levels of symbolic links";
    ENOMSG = 42, "No message of desired type";
    EIDRM = 43, "Identifier removed";
    ECHRNG = 44, "Channel number out of range";
    EL2NSYNC = 45, "Level 2 not synchronized";
    EL3HLT = 46, "Level 3 halted";
    EL3RST = 47, "Level 3 reset";
    ELNRNG = 48, "Link number out of range";
    EUNATCH = 49, "Protocol driver not attached";
    ENOCSI = 50, "No CSI structure available";
    EL2HLT = 51, "Level 2 halted";
    EBADE = 52, "Invalid exchange";
    EBADR = 53, "Invalid request descriptor";
    EXFULL = 54, "Exchange full";
    ENOANO = 55, "No anode";
    EBADRQC = 56, "Invalid request code";
    EBADSLT = 57, "Invalid slot";
    EBFONT = 59, "Bad font file format";
    ENOSTR = 60, "Device not a stream";
    ENODATA = 61, "No data available";
    ETIME = 62, "Timer expired";
    ENOSR = 63, "Out of streams resources";
    ENONET = 64, "Machine is not on the network";
    ENOPKG = 65, "Package not installed";
    EREMOTE = 66, "Object is remote";
    ENOLINK = 67, "Link has been severed";
    EADV = 68, "Advertise error";
    ESRMNT = 69, "Srmount error";
    ECOMM = 70, "Communication error on send";
    EPROTO = 71, "Protocol error";
    EMULTIHOP = 72, "Multihop attempted";
    EDOTDOT = 73, "RFS specific error";
    EBADMSG = 74, "Bad message";
    EOVERFLOW = 75, "Value too large for defined data type";
    ENOTUNIQ = 76, "Name not unique on network";
    EBADFD = 77, "File descriptor in bad state";
    EREMCHG = 78, "Remote address changed";
    ELIBACC = 79, "Can not access a needed shared library";
    ELIBBAD = 80, "Accessing a corrupted shared library";
    ELIBSCN = 81, ".lib section in a.out corrupted";
    ELIBMAX = 82, "Attempting to link in too many shared libraries";
    ELIBEXEC = 83, "Cannot exec a shared library directly";
    EILSEQ = 84, "Invalid or incomplete multibyte or wide character";
    ERESTART = 85, "Interrupted system call should be restarted";
    ESTRPIPE = 86, "Streams pipe error";
    EUSERS = 87, "Too many users";
    ENOTSOCK = 88, "Socket operation on non-socket";
    EDESTADDRREQ = 89, "Destination address required";
    EMSGSIZE = 90, "Message too long";
    EPROTOTYPE = 91, "Protocol wrong type for socket";
    ENOPROTOOPT = 92, "Protocol not available";
    EPROTONOSUPPORT = 93, "Protocol not supported";
    ESOCKTNOSUPPORT = 94, "Socket type not supported";
    EOPNOTSUPP = 95, "Operation not supported";
    EPFNOSUPPORT = 96, "Protocol family not supported";
    EAFNOSUPPORT = 97, "Address family not supported by protocol";
    EADDRINUSE = 98, "Address already in use";
    EADDRNOTAVAIL = 99, "Cannot assign requested address";
    ENETDOWN = 100, "Network is down";
    ENETUNREACH = 101, "Network is unreachable";
    ENETRESET = 102, "Network dropped connection on reset";
    ECONNABORTED = 103, "Software caused connection abort";
    ECONNRESET = 104, "Connection reset by peer";
    ENOBUFS = 105, "No buffer space available";
    EISCONN = 106, "Transport endpoint is already connected";
    ENOTCONN = 107, "Transport endpoint is not connected";
    ESHUTDOWN = 108, "Cannot send after transport endpoint shutdown";
    ETOOMANYREFS = 109, "Too many references: cannot splice";
    ETIMEDOUT = 110, "Connection timed out";
    ECONNREFUSED = 111, "Connection refused";
    EHOSTDOWN = 112, "Host is down";
    EHOSTUNREACH = 113, "No route to host";
    EALREADY = 114, "Operation already in progress";
    EINPROGRESS = 115, "Operation now in progress";
    ESTALE = 116, "Stale file handle";
    EUCLEAN = 117, "Structure needs cleaning";
    ENOTNAM = 118, "Not a XENIX named type file";
    ENAVAIL = 119, "No XENIX semaphores available";
    EISNAM = 120, "Is a named type file";
    EREMOTEIO = 121, "Remote I/O error";
    EDQUOT = 122, "Disk quota exceeded";
    ENOMEDIUM = 123, "No medium found";
    EMEDIUMTYPE = 124, "Wrong medium type";
    ECANCELED = 125, "Operation canceled";
    ENOKEY = 126, "Required key not available";
    EKEYEXPIRED = 127, "Key has expired";
    EKEYREVOKED = 128, "Key has been revoked";
    EKEYREJECTED = 129, "Key was rejected by service";
    EOWNERDEAD = 130, "Owner died";
    ENOTRECOVERABLE = 131, "State not recoverable";
    ERFKILL = 132, "Operation not possible due to RF-kill";
    EHWPOISON = 133, "Memory page has hardware error";
    // Kernel-internal numbers (include/linux/errno.h). They are not meant
    // to reach user space, but some do (ENOTSUPP from drivers, ERESTART*
    // seen by tracers), so they get names too.
    ERESTARTSYS = 512, "Interrupted; restarted if the handler has SA_RESTART";
    ERESTARTNOINTR = 513, "Interrupted; always restarted";
    ERESTARTNOHAND = 514, "Interrupted; restarted if no handler ran";
    ENOIOCTLCMD = 515, "No such ioctl command";
    ERESTART_RESTARTBLOCK = 516, "Interrupted; restarted through restart_syscall";
    EPROBE_DEFER = 517, "Driver probe deferred";
    EOPENSTALE = 518, "Open found a stale dentry";
    ENOPARAM = 519, "Parameter not supported";
    EBADHANDLE = 521, "Illegal NFS file handle";
    ENOTSYNC = 522, "NFS update synchronization mismatch";
    EBADCOOKIE = 523, "NFS cookie is stale";
    ENOTSUPP = 524, "Operation not supported (kernel-internal)";
    ETOOSMALL = 525, "NFS buffer or request is too small";
    ESERVERFAULT = 526, "NFS server fault";
    EBADTYPE = 527, "NFS type not supported by server";
    EJUKEBOX = 528, "NFS request timed out, try again later";
    EIOCBQUEUED = 529, "I/O request queued, not complete";
    ERECALLCONFLICT = 530, "NFS delegation recall conflict";
    ENOGRACE = 531, "NFS reclaim outside the grace period";
}

/// Second names for the same numbers; [`Errno::from_name`] accepts them.
static ERRNO_ALIASES: &[(&str, i32)] = &[("EWOULDBLOCK", 11), ("EDEADLOCK", 35), ("ENOTSUP", 95)];

impl Errno {
    /// The error with number `raw` (positive, as in `errno`).
    pub const fn new(raw: i32) -> Self {
        Errno(raw)
    }

    /// The positive error number.
    pub const fn raw(self) -> i32 {
        self.0
    }

    /// The error a raw syscall result encodes: `Some` for `-4095..=-1`,
    /// `None` for every other value (a success).
    pub const fn from_ret(ret: i64) -> Option<Self> {
        if ret < 0 && ret >= -4095 {
            Some(Errno(-ret as i32))
        } else {
            None
        }
    }

    /// The symbolic name, e.g. `ENOENT`; `None` for numbers Linux does not
    /// define.
    pub fn name(self) -> Option<&'static str> {
        self.entry().map(|e| e.1)
    }

    /// The description, e.g. `No such file or directory` (glibc's wording
    /// for 1..=133); `None` for numbers Linux does not define.
    pub fn description(self) -> Option<&'static str> {
        self.entry().map(|e| e.2)
    }

    /// The error named `name` (`ENOENT`, or an alias such as
    /// `EWOULDBLOCK`).
    pub fn from_name(name: &str) -> Option<Self> {
        ERRNO_TABLE
            .iter()
            .find(|e| e.1 == name)
            .map(|e| e.0)
            .or_else(|| ERRNO_ALIASES.iter().find(|a| a.0 == name).map(|a| a.1))
            .map(Errno)
    }

    /// The error an `io::Error` carries, if it came from the OS.
    pub fn from_io_error(err: &io::Error) -> Option<Self> {
        err.raw_os_error().map(Errno)
    }

    /// Every errno Linux defines, in numeric order.
    pub fn all() -> impl Iterator<Item = Errno> {
        ERRNO_TABLE.iter().map(|e| Errno(e.0))
    }

    fn entry(self) -> Option<&'static (i32, &'static str, &'static str)> {
        ERRNO_TABLE
            .binary_search_by_key(&self.0, |e| e.0)
            .ok()
            .map(|i| &ERRNO_TABLE[i])
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.entry() {
            Some((_, name, desc)) => write!(f, "{name} ({desc})"),
            None => write!(f, "errno {} (unknown)", self.0),
        }
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "Errno({name})"),
            None => write!(f, "Errno({})", self.0),
        }
    }
}

impl std::error::Error for Errno {}

impl From<Errno> for io::Error {
    fn from(errno: Errno) -> Self {
        io::Error::from_raw_os_error(errno.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_name_and_description() {
        assert_eq!(
            Errno::ENOENT.to_string(),
            "ENOENT (No such file or directory)"
        );
        assert_eq!(
            Errno::new(11).to_string(),
            "EAGAIN (Resource temporarily unavailable)"
        );
        assert_eq!(Errno::new(4000).to_string(), "errno 4000 (unknown)");
        assert_eq!(Errno::new(41).name(), None, "41 is unused on Linux");
        assert_eq!(format!("{:?}", Errno::EBADF), "Errno(EBADF)");
    }

    #[test]
    fn names_round_trip_and_aliases() {
        for e in Errno::all() {
            assert_eq!(Errno::from_name(e.name().unwrap()), Some(e));
        }
        assert_eq!(Errno::from_name("EWOULDBLOCK"), Some(Errno::EAGAIN));
        assert_eq!(Errno::from_name("ENOTSUP"), Some(Errno::EOPNOTSUPP));
        assert_eq!(Errno::from_name("EDEADLOCK"), Some(Errno::EDEADLK));
        assert_eq!(Errno::from_name("ENOPE"), None);
    }

    #[test]
    fn table_is_sorted_unique_and_complete() {
        assert!(ERRNO_TABLE.windows(2).all(|w| w[0].0 < w[1].0));
        let mut names: Vec<_> = ERRNO_TABLE.iter().map(|e| e.1).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ERRNO_TABLE.len());
        // Every number 1..=133 except the two Linux leaves unused.
        for n in 1..=133 {
            assert_eq!(
                Errno::new(n).name().is_some(),
                n != 41 && n != 58,
                "errno {n}"
            );
        }
    }

    /// Numbers agree with libc's constants, descriptions with glibc's
    /// `strerror`.
    #[test]
    fn agrees_with_libc() {
        for (c, ours) in [
            (libc::EPERM, Errno::EPERM),
            (libc::ENOENT, Errno::ENOENT),
            (libc::EAGAIN, Errno::EAGAIN),
            (libc::EWOULDBLOCK, Errno::EAGAIN),
            (libc::EDEADLOCK, Errno::EDEADLK),
            (libc::ENOTSUP, Errno::EOPNOTSUPP),
            (libc::ENOTRECOVERABLE, Errno::ENOTRECOVERABLE),
            (libc::EHWPOISON, Errno::EHWPOISON),
            (libc::ECANCELED, Errno::ECANCELED),
            (libc::EINPROGRESS, Errno::EINPROGRESS),
            (libc::ESTALE, Errno::ESTALE),
            (libc::ENOMEDIUM, Errno::ENOMEDIUM),
        ] {
            assert_eq!(c, ours.raw(), "{ours}");
        }
        for e in Errno::all().filter(|e| e.raw() <= 133) {
            // SAFETY: strerror returns a pointer to a NUL-terminated string
            // that stays valid until the next strerror call on this thread;
            // it is copied out before any other call.
            let glibc = unsafe { std::ffi::CStr::from_ptr(libc::strerror(e.raw())) }
                .to_string_lossy()
                .into_owned();
            assert_eq!(e.description().unwrap(), glibc, "{}", e.name().unwrap());
        }
    }

    #[test]
    fn from_ret_and_io_error() {
        assert_eq!(Errno::from_ret(-2), Some(Errno::ENOENT));
        assert_eq!(Errno::from_ret(-4095), Some(Errno::new(4095)));
        assert_eq!(Errno::from_ret(-4096), None);
        assert_eq!(Errno::from_ret(0), None);
        assert_eq!(Errno::from_ret(5), None);
        let io: io::Error = Errno::EACCES.into();
        assert_eq!(io.raw_os_error(), Some(13));
        assert_eq!(io.kind(), io::ErrorKind::PermissionDenied);
        assert_eq!(Errno::from_io_error(&io), Some(Errno::EACCES));
    }
}
