//! Buffers against what the call will touch.
//!
//! The executor lays a request's buffers out in memory it allocates and
//! passes their addresses; the kernel then reads or writes as many bytes
//! as the call's *other* arguments say — `read(fd, buf, count)` writes
//! `count` bytes, `poll(fds, nfds, …)` rewrites `nfds` entries, `readv`
//! follows the addresses inside its iovec array. Before a call with
//! buffers runs, [`check`] makes sure all of that lies inside the call's
//! own buffers, using the signature: a buffer shorter than its length or
//! count argument, a struct shorter than its type, an iovec, msghdr or
//! mmsghdr pointing outside the buffers, a path or string without its NUL
//! before the call's memory ends, a handler address in a
//! `struct sigaction`, or a buffer where the call takes an address to map
//! (`brk`, `mmap`, `munmap`) is refused with
//! [`sysgate_proto::codes::BAD_BUFFER`] and never run.
//!
//! The request's memory is its own buffers and the submitter's arena (a
//! pointer inside a buffer may point anywhere in the arena: shared memory
//! nothing of the executor lives in). A nested array in the arena is
//! checked as it is when the check runs; the arena contract (a range
//! belongs to its request until the completion) keeps it so.
//!
//! Immediate words are the submitter's (the `syscall(2)` contract); only
//! what the executor itself allocated is checked here. Arguments whose
//! access size sysgate cannot know — a buffer given to an old-style
//! `ioctl` without a size in its request number, the extents a
//! `FS_IOC_FIEMAP` struct asks for — pass unchecked.

use sysgate_sys::{ArgKind, PointerLen, Signature, StructKind};

use crate::call::PreparedCall;

/// `struct iovec`.
const IOVEC: u64 = 16;
/// `struct msghdr`.
const MSGHDR: u64 = 56;
/// `struct mmsghdr`.
const MMSGHDR: u64 = 64;
/// `sizeof(struct sockaddr_storage)`: the most a socket call reads of an
/// address (a longer length is `EINVAL` before any read).
const SOCKADDR_MAX: u64 = 128;
/// The smallest page size: `mincore` writes one byte per page.
const MIN_PAGE: u64 = 4096;
/// `PAGE_SIZE` bound of `copy_struct_from_user` (`openat2`'s `size`).
const STRUCT_MAX: u64 = 4096;

/// Whether everything `call` may touch through its buffers lies inside
/// them. Calls without buffers pass.
pub(crate) fn check(call: &PreparedCall) -> bool {
    if call.is_immediate() {
        return true;
    }
    let Some(sig) = sysgate_sys::signature(call.nr) else {
        // Which arguments are pointers, and how far the kernel goes
        // through them, is unknown.
        return false;
    };
    (0..6).all(|i| match call.arg_len(i) {
        Some(len) => arg_fits(call, sig, i, len as u64),
        None => true,
    })
}

/// Whether buffer argument `i` (of `have` bytes) covers what the call does
/// through it.
fn arg_fits(call: &PreparedCall, sig: &Signature, i: usize, have: u64) -> bool {
    let a = &call.args;
    let at_least = |need: Option<u64>| need.is_some_and(|n| n <= have);
    let word = |j: usize| a.get(j).copied().unwrap_or(0);
    let nul_inside = || {
        call.arg_bytes(i, have as usize)
            .is_some_and(|b| b.contains(&0))
    };
    let Some(spec) = sig.args.get(i) else {
        // Beyond the signature: the kernel ignores the word.
        return true;
    };
    match spec.kind {
        ArgKind::InBuf { len_arg }
        | ArgKind::OutBuf { len_arg }
        | ArgKind::OutRecords { len_arg, .. } => at_least(Some(word(len_arg.into()))),
        ArgKind::InSockaddr { len_arg } => {
            let len = word(len_arg.into()) as u32 as u64;
            at_least(Some(if len <= SOCKADDR_MAX { len } else { 0 }))
        }
        ArgKind::OutBufLenPtr { len_ptr_arg } | ArgKind::OutSockaddr { len_ptr_arg } => {
            at_least(socklen(call, len_ptr_arg.into()))
        }
        // What the kernel only writes (`oldact`) holds no handler yet.
        ArgKind::OutStruct(StructKind::Sigaction) => {
            at_least(struct_len(call, StructKind::Sigaction, i))
        }
        ArgKind::InStruct(k) | ArgKind::InOutStruct(k) | ArgKind::OutStruct(k) => {
            let need = struct_len(call, k, i);
            at_least(need) && nested_ok(call, k, i, 1)
        }
        ArgKind::InArray { elem, count_arg }
        | ArgKind::OutArray { elem, count_arg }
        | ArgKind::InOutArray { elem, count_arg } => {
            let count = word(count_arg.into()) as u32 as u64;
            at_least(elem.size().and_then(|s| count.checked_mul(s as u64)))
                && nested_ok(call, elem, i, count)
        }
        ArgKind::InIovec { count_arg } | ArgKind::OutIovec { count_arg } => {
            let count = word(count_arg.into()) as u32 as u64;
            let need = count.checked_mul(IOVEC);
            at_least(need)
                && need
                    .and_then(|n| call.arg_bytes(i, n as usize))
                    .is_some_and(|array| iovecs_ok(call, &array))
        }
        ArgKind::Ptr => at_least(Some(ptr_len(call))),
        // The kernel reads up to the NUL: it must be inside the buffer.
        ArgKind::Path | ArgKind::Str => nul_inside(),
        ArgKind::StrArray => str_array_ok(call, i, have),
        // An address the call maps, moves or unmaps: never a buffer.
        ArgKind::Addr | ArgKind::MapRange => false,
        _ => match sysgate_sys::pointer_arg(call.nr, a) {
            Some(p) if p.arg == i => match p.len {
                PointerLen::Bytes(n) => at_least(Some(n)),
                PointerLen::FromArg(j) => at_least(Some(word(j))),
                PointerLen::CStr => nul_inside(),
            },
            // A buffer's address passed as a number: nothing is accessed.
            _ => true,
        },
    }
}

/// An `argv`-like array at argument `i` (`have` bytes): string pointers up
/// to a NULL one, all inside the buffer, each string ending inside the
/// call's memory.
fn str_array_ok(call: &PreparedCall, i: usize, have: u64) -> bool {
    let Some(array) = call.arg_bytes(i, have as usize) else {
        return false;
    };
    for ptr in array.chunks_exact(8).filter_map(|w| word_at(w, 0)) {
        if ptr == 0 {
            return true;
        }
        if !call.c_str_at(ptr) {
            return false;
        }
    }
    false
}

/// The length `socklen_t *` argument `j` holds: `Some(0)` for NULL (the
/// kernel fails without writing), `None` where it cannot be known (an
/// immediate pointer).
fn socklen(call: &PreparedCall, j: usize) -> Option<u64> {
    if call.arg_len(j).is_none() {
        return (call.args[j] == 0).then_some(0);
    }
    let b = call.arg_bytes(j, 4)?;
    let len = i32::from_ne_bytes(b[..4].try_into().ok()?);
    Some(u64::try_from(len).unwrap_or(0))
}

/// The bytes the kernel touches of a `k` at argument `i`.
fn struct_len(call: &PreparedCall, k: StructKind, i: usize) -> Option<u64> {
    if k == StructKind::OpenHow && call.nr == libc::SYS_openat2 as u32 && i == 2 {
        // openat2 reads `size` bytes (extensible struct), or fails first.
        let size = call.args[3];
        return Some(if size <= STRUCT_MAX { size.max(24) } else { 24 });
    }
    k.size().map(|s| s as u64)
}

/// Whether the pointers inside the `count` elements of `k` at argument `i`
/// stay inside the call's memory (msghdr, mmsghdr), and a `struct
/// sigaction` names no handler address.
fn nested_ok(call: &PreparedCall, k: StructKind, i: usize, count: u64) -> bool {
    let bytes = |n: u64| call.arg_bytes(i, n as usize);
    match k {
        StructKind::Msghdr => bytes(MSGHDR).is_some_and(|h| msghdr_ok(call, &h)),
        StructKind::Mmsghdr => count
            .checked_mul(MMSGHDR)
            .and_then(bytes)
            .is_some_and(|all| {
                all.chunks_exact(MMSGHDR as usize)
                    .all(|m| msghdr_ok(call, m))
            }),
        // sa_handler: SIG_DFL or SIG_IGN. Any other value is code this
        // request cannot have meant (only `raw_ptr` passes real handlers).
        StructKind::Sigaction => {
            bytes(8).is_some_and(|h| word_at(&h, 0).is_some_and(|handler| handler <= 1))
        }
        _ => true,
    }
}

fn word_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// Whether `ptr..ptr + len` lies inside the call's memory (its own or the
/// arena); a NULL pointer passes (the kernel fails with `EFAULT` without
/// touching anything).
fn inside(call: &PreparedCall, ptr: u64, len: u64) -> bool {
    ptr == 0 || call.bytes_at(ptr, len).is_some()
}

/// The iovecs of `array`, each inside the call's memory.
fn iovecs_ok(call: &PreparedCall, array: &[u8]) -> bool {
    array.chunks_exact(IOVEC as usize).all(|iov| {
        let (base, len) = (word_at(iov, 0), word_at(iov, 8));
        matches!((base, len), (Some(b), Some(l)) if inside(call, b, l))
    })
}

/// A `struct msghdr`: its name, iovec array (and the iovecs' buffers) and
/// control buffer inside the call's memory.
fn msghdr_ok(call: &PreparedCall, hdr: &[u8]) -> bool {
    if (hdr.len() as u64) < MSGHDR {
        return false;
    }
    let w = |at| word_at(hdr, at).unwrap_or(u64::MAX);
    let namelen = u64::from(u32::from_ne_bytes(
        hdr[8..12].try_into().unwrap_or([0xff; 4]),
    ));
    let (iov, iovlen) = (w(16), w(24));
    let iov_ok = iov == 0
        || iovlen
            .checked_mul(IOVEC)
            .and_then(|n| call.bytes_at(iov, n))
            .is_some_and(|array| iovecs_ok(call, &array));
    inside(call, w(0), namelen) && iov_ok && inside(call, w(32), w(40))
}

/// How many bytes the kernel touches through a `Ptr` argument: `futex`
/// words, `mincore`'s vector, a sized `ioctl` request; 0 where sysgate
/// cannot tell (or the kernel ignores it).
fn ptr_len(call: &PreparedCall) -> u64 {
    let a = &call.args;
    match call.nr as libc::c_long {
        libc::SYS_futex => 4,
        libc::SYS_mincore => a[1].div_ceil(MIN_PAGE),
        libc::SYS_ioctl => {
            // _IOC_DIR and _IOC_SIZE (x86_64 and aarch64 use the generic
            // layout); an old-style request without them is unknown.
            let request = a[1] as u32;
            let (dir, size) = (request >> 30, (request >> 16) & 0x3fff);
            if dir != 0 { u64::from(size) } else { 0 }
        }
        _ => 0,
    }
}
