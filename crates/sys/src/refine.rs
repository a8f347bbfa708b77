//! What one particular call does, where its arguments change the answer.
//!
//! A syscall's class and signature describe every call of it; a few
//! syscalls are several calls in one, chosen by an option argument:
//! `prctl(PR_SET_SECCOMP, …)` would break the thread that runs it where
//! `prctl(PR_GET_DUMPABLE)` is harmless, `arch_prctl(ARCH_GET_FS, addr)`
//! writes 8 bytes at `addr` where `ARCH_GET_CPUID` takes no pointer, and
//! `fcntl(fd, F_GETLK, arg)` takes a pointer where `F_SETFL` takes flags.
//! [`class_of_call`] and [`call_reason`] refine the class, [`pointer_arg`]
//! names the integer argument that is an address for this call, and
//! [`map_hazard`] says when a call would change this process's mappings
//! at an address.
//!
//! Only the syscalls marked refined in the table pay for more than the
//! per-number lookup ([`class_of_call`] is a load and a flag test for every
//! other call).

use syscalls::Sysno;

use crate::class::ExecClass;
use crate::signature::ArgKind;
use crate::table::SLOTS;

/// An argument that is an address for this call although the signature
/// gives it an integer kind ([`pointer_arg`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgPointer {
    /// The argument's position.
    pub arg: usize,
    /// How many bytes the kernel reads or writes there.
    pub len: PointerLen,
    /// Whether the kernel writes there.
    pub write: bool,
}

/// How many bytes an [`ArgPointer`] covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointerLen {
    /// A fixed size.
    Bytes(u64),
    /// As many bytes as argument `.0` says.
    FromArg(usize),
    /// A NUL-terminated string: the kernel reads up to its NUL.
    CStr,
}

/// Syscalls whose class depends on their arguments (see [`class_of_call`]).
pub(crate) const REFINED: &[Sysno] = &[
    Sysno::prctl,
    #[cfg(target_arch = "x86_64")]
    Sysno::arch_prctl,
    Sysno::rt_sigaction,
    Sysno::keyctl,
    Sysno::close_range,
];

/// glibc's internal signals: `SIGCANCEL` (thread cancellation) and
/// `SIGSETXID` (the signal that applies `setuid` & co. to every thread).
/// glibc's own `sigaction` refuses them and its `sigprocmask` never blocks
/// them; the same on every Linux architecture.
pub const GLIBC_SIGNALS: [u64; 2] = [32, 33];

// prctl options (<linux/prctl.h>).
const PR_GET_PDEATHSIG: u64 = 2;
const PR_GET_UNALIGN: u64 = 5;
const PR_SET_KEEPCAPS: u64 = 8;
const PR_GET_FPEMU: u64 = 9;
const PR_GET_FPEXC: u64 = 11;
const PR_SET_NAME: u64 = 15;
const PR_GET_NAME: u64 = 16;
const PR_GET_ENDIAN: u64 = 19;
const PR_SET_SECCOMP: u64 = 22;
const PR_CAPBSET_DROP: u64 = 24;
const PR_GET_TSC: u64 = 25;
const PR_SET_TSC: u64 = 26;
const PR_SET_SECUREBITS: u64 = 28;
const PR_SET_MM: u64 = 35;
const PR_GET_CHILD_SUBREAPER: u64 = 37;
const PR_SET_NO_NEW_PRIVS: u64 = 38;
const PR_GET_TID_ADDRESS: u64 = 40;
const PR_CAP_AMBIENT: u64 = 47;
const PR_CAP_AMBIENT_IS_SET: u64 = 1;
const PR_PAC_RESET_KEYS: u64 = 54;
const PR_SET_SYSCALL_USER_DISPATCH: u64 = 59;
const PR_PAC_SET_ENABLED_KEYS: u64 = 60;
const PR_SCHED_CORE: u64 = 62;
const PR_SCHED_CORE_GET: u64 = 0;
const PR_GET_SHADOW_STACK_STATUS: u64 = 74;
const PR_SET_SHADOW_STACK_STATUS: u64 = 75;
const PR_SET_VMA: u64 = 0x5356_4d41;
const PR_GET_AUXV: u64 = 0x4155_5856;

// arch_prctl codes (<asm/prctl.h>).
const ARCH_GET_FS: u64 = 0x1003;
const ARCH_GET_GS: u64 = 0x1004;
const ARCH_GET_CPUID: u64 = 0x1011;
const ARCH_GET_XCOMP_SUPP: u64 = 0x1021;
const ARCH_GET_XCOMP_PERM: u64 = 0x1022;
const ARCH_REQ_XCOMP_PERM: u64 = 0x1023;
const ARCH_GET_XCOMP_GUEST_PERM: u64 = 0x1024;
const ARCH_REQ_XCOMP_GUEST_PERM: u64 = 0x1025;
const ARCH_GET_UNTAG_MASK: u64 = 0x4001;
const ARCH_ENABLE_TAGGED_ADDR: u64 = 0x4002;
const ARCH_GET_MAX_TAG_BITS: u64 = 0x4003;
const ARCH_FORCE_TAGGED_SVA: u64 = 0x4004;
const ARCH_SHSTK_STATUS: u64 = 0x5005;

/// The `arch_prctl` codes that write 8 bytes at `addr` and change nothing.
const ARCH_READ_CODES: [u64; 8] = [
    ARCH_GET_FS,
    ARCH_GET_GS,
    ARCH_GET_XCOMP_SUPP,
    ARCH_GET_XCOMP_PERM,
    ARCH_GET_XCOMP_GUEST_PERM,
    ARCH_GET_UNTAG_MASK,
    ARCH_GET_MAX_TAG_BITS,
    ARCH_SHSTK_STATUS,
];

// keyctl operations (<linux/keyctl.h>).
const KEYCTL_JOIN_SESSION_KEYRING: u64 = 1;
const KEYCTL_SET_REQKEY_KEYRING: u64 = 14;

/// `CLOSE_RANGE_UNSHARE` (`<linux/close_range.h>`).
const CLOSE_RANGE_UNSHARE: u64 = 2;

// fcntl commands (<fcntl.h>).
const F_GETLK: u64 = 5;
const F_SETLK: u64 = 6;
const F_SETLKW: u64 = 7;
const F_SETOWN_EX: u64 = 15;
const F_GETOWN_EX: u64 = 16;
const F_GETOWNER_UIDS: u64 = 17;
const F_OFD_GETLK: u64 = 36;
const F_OFD_SETLK: u64 = 37;
const F_OFD_SETLKW: u64 = 38;
const F_GET_RW_HINT: u64 = 1035;
const F_SET_RW_HINT: u64 = 1036;
const F_GET_FILE_RW_HINT: u64 = 1037;
const F_SET_FILE_RW_HINT: u64 = 1038;
/// `sizeof(struct flock)` on 64-bit Linux.
const FLOCK_SIZE: u64 = 32;

/// `MAP_FIXED` (`<linux/mman.h>`): replace whatever is mapped at `addr`.
const MAP_FIXED: u64 = 0x10;

const SET_TLS: &str = "moves the running thread's TLS: every thread-local access of that thread \
    would go through the new address";
const RUNNER_STATE: &str = "changes how the running thread runs (CPUID faulting, shadow stack, vDSO \
    placement, or an option unknown to sysgate): refused";
const SECCOMP: &str = "a seccomp filter attaches to the thread that runs it only, and strict mode \
    kills that thread at its next call other than read, write or exit";
const SET_MM: &str = "rewrites this process's memory-map fields (heap, stack, auxv, executable) under \
    the allocator and the runtime";
const SET_TSC: &str = "PR_TSC_SIGSEGV makes the running thread fault on rdtsc, which the vDSO's \
    clock_gettime uses";
const USER_DISPATCH: &str = "would send the running thread's system calls to a SIGSYS handler it \
    does not have";
const PAC_KEYS: &str = "changes the running thread's pointer-authentication keys under the return \
    addresses it has signed";
const SHADOW_STACK: &str = "enables or disables the running thread's shadow stack under its live \
    frames";
const THREAD_CREDS: &str = "changes the credentials of the thread that runs it only (capability \
    bounding set, ambient set, keep-caps, securebits, no_new_privs): refused; set it at the start \
    of the program, before it starts threads (the gateway's too), which inherit it";
const GLIBC_SIGNAL: &str = "signals 32 and 33 are glibc's own: thread cancellation, and the signal \
    that changes credentials on every thread (setuid through the gateway would hang or fail)";
const KEYRING: &str = "changes the session or request-key keyring of the thread that runs it only: \
    refused";
const UNSHARE_FILES: &str = "CLOSE_RANGE_UNSHARE gives the thread that runs it its own descriptor \
    table, so later calls would see other descriptors depending on the thread that runs them: \
    refused; close the range without it";

/// `class_of_call(nr, args)` — the class of this call: [`class_of`] refined
/// by the arguments that change it.
///
/// - `prctl`: `PR_SET_SECCOMP`, `PR_SET_MM`, `PR_SET_TSC`,
///   `PR_SET_SYSCALL_USER_DISPATCH`, `PR_PAC_RESET_KEYS`,
///   `PR_PAC_SET_ENABLED_KEYS` and `PR_SET_SHADOW_STACK_STATUS` are
///   [`BreaksRunner`](ExecClass::BreaksRunner); `PR_SET_KEEPCAPS`,
///   `PR_CAPBSET_DROP`, `PR_SET_SECUREBITS`, `PR_SET_NO_NEW_PRIVS` and
///   `PR_CAP_AMBIENT` other than `IS_SET` are
///   [`PerThreadState`](ExecClass::PerThreadState) (refused: there is no
///   way to apply them to every thread at once); the rest thread-affine.
/// - `arch_prctl`: the codes that only read (`ARCH_GET_FS`, `ARCH_GET_GS`,
///   `ARCH_GET_CPUID`, the XCOMP, tag-bits and `ARCH_SHSTK_STATUS`
///   queries) and the process-wide requests (`ARCH_REQ_XCOMP_PERM`,
///   `ARCH_ENABLE_TAGGED_ADDR`, …) are thread-affine; every other code
///   breaks the runner.
/// - `rt_sigaction` of glibc's signals 32 and 33 breaks the runner.
/// - `keyctl(KEYCTL_JOIN_SESSION_KEYRING | KEYCTL_SET_REQKEY_KEYRING)` and
///   `close_range(…, CLOSE_RANGE_UNSHARE)` are per-thread state.
///
/// [`class_of`]: crate::class_of
#[inline]
pub fn class_of_call(nr: u32, args: &[u64; 6]) -> ExecClass {
    match SLOTS.get(nr as usize) {
        Some(slot) if slot.refined => refined(nr, args).map_or(slot.class, |(c, _)| c),
        Some(slot) => slot.class,
        None => ExecClass::Unknown,
    }
}

/// `call_reason(nr, args)` — why this call has the class
/// [`class_of_call`] gives it: the refined reason where the arguments
/// decide, else the syscall's [`class_reason`](crate::class_reason).
pub fn call_reason(nr: u32, args: &[u64; 6]) -> Option<&'static str> {
    match refined(nr, args) {
        Some((_, Some(reason))) => Some(reason),
        _ => crate::class_reason(nr),
    }
}

/// `int(word)` — the value the kernel sees in an `int` or `unsigned int`
/// parameter: the low 32 bits of the register. `prctl`'s and
/// `arch_prctl`'s option, `fcntl`'s command, `keyctl`'s operation and
/// `rt_sigaction`'s signal are such parameters, so `PR_SET_SECCOMP | 1 << 32`
/// is `PR_SET_SECCOMP` to the kernel and must be to sysgate too.
#[inline]
const fn int(word: u64) -> u64 {
    word as u32 as u64
}

/// The refined class and reason of a refined syscall; `None` where the
/// syscall's own class stands.
fn refined(nr: u32, args: &[u64; 6]) -> Option<(ExecClass, Option<&'static str>)> {
    use ExecClass::*;
    let sysno = Sysno::new(nr as usize)?;
    let option = int(args[0]);
    match sysno {
        Sysno::prctl => Some(match option {
            PR_SET_SECCOMP => (BreaksRunner, Some(SECCOMP)),
            PR_SET_MM => (BreaksRunner, Some(SET_MM)),
            PR_SET_TSC => (BreaksRunner, Some(SET_TSC)),
            PR_SET_SYSCALL_USER_DISPATCH => (BreaksRunner, Some(USER_DISPATCH)),
            PR_PAC_RESET_KEYS | PR_PAC_SET_ENABLED_KEYS => (BreaksRunner, Some(PAC_KEYS)),
            PR_SET_SHADOW_STACK_STATUS => (BreaksRunner, Some(SHADOW_STACK)),
            PR_SET_KEEPCAPS | PR_CAPBSET_DROP | PR_SET_SECUREBITS | PR_SET_NO_NEW_PRIVS => {
                (PerThreadState, Some(THREAD_CREDS))
            }
            // arg2 is an `unsigned long`: all 64 bits count.
            PR_CAP_AMBIENT if args[1] != PR_CAP_AMBIENT_IS_SET => {
                (PerThreadState, Some(THREAD_CREDS))
            }
            _ => return None,
        }),
        #[cfg(target_arch = "x86_64")]
        Sysno::arch_prctl => {
            let allowed = ARCH_READ_CODES.contains(&option)
                || [
                    ARCH_GET_CPUID,
                    ARCH_REQ_XCOMP_PERM,
                    ARCH_REQ_XCOMP_GUEST_PERM,
                    ARCH_ENABLE_TAGGED_ADDR,
                    ARCH_FORCE_TAGGED_SVA,
                ]
                .contains(&option);
            Some(match option {
                _ if allowed => (ThreadAffine, None),
                0x1001 | 0x1002 => (BreaksRunner, Some(SET_TLS)),
                _ => (BreaksRunner, Some(RUNNER_STATE)),
            })
        }
        Sysno::rt_sigaction if GLIBC_SIGNALS.contains(&option) => {
            Some((BreaksRunner, Some(GLIBC_SIGNAL)))
        }
        Sysno::keyctl
            if [KEYCTL_JOIN_SESSION_KEYRING, KEYCTL_SET_REQKEY_KEYRING].contains(&option) =>
        {
            Some((PerThreadState, Some(KEYRING)))
        }
        Sysno::close_range if args[2] & CLOSE_RANGE_UNSHARE != 0 => {
            Some((PerThreadState, Some(UNSHARE_FILES)))
        }
        _ => None,
    }
}

/// `pointer_arg(nr, args)` — the integer argument that is an address for
/// this call, if any: `fcntl`'s lock, owner and hint commands, the `prctl`
/// options that read or write through `arg2` (or `arg5`), and
/// `arch_prctl`'s read-only codes.
///
/// The entry points that take no raw pointers refuse a non-zero immediate
/// there, as for arguments of pointer kinds; the executor checks that a
/// buffer there is large enough.
pub fn pointer_arg(nr: u32, args: &[u64; 6]) -> Option<ArgPointer> {
    let sysno = Sysno::new(nr as usize)?;
    let at = |arg, len, write| {
        Some(ArgPointer {
            arg,
            len: PointerLen::Bytes(len),
            write,
        })
    };
    match sysno {
        Sysno::fcntl => match int(args[1]) {
            F_GETLK | F_OFD_GETLK => at(2, FLOCK_SIZE, true),
            F_SETLK | F_SETLKW | F_OFD_SETLK | F_OFD_SETLKW => at(2, FLOCK_SIZE, false),
            F_GETOWN_EX | F_GETOWNER_UIDS | F_GET_RW_HINT | F_GET_FILE_RW_HINT => at(2, 8, true),
            F_SETOWN_EX | F_SET_RW_HINT | F_SET_FILE_RW_HINT => at(2, 8, false),
            _ => None,
        },
        Sysno::prctl => match int(args[0]) {
            PR_GET_PDEATHSIG
            | PR_GET_UNALIGN
            | PR_GET_FPEMU
            | PR_GET_FPEXC
            | PR_GET_ENDIAN
            | PR_GET_TSC
            | PR_GET_CHILD_SUBREAPER => at(1, 4, true),
            PR_SET_NAME => at(1, 16, false),
            PR_GET_NAME => at(1, 16, true),
            PR_GET_TID_ADDRESS | PR_GET_SHADOW_STACK_STATUS => at(1, 8, true),
            PR_GET_AUXV => Some(ArgPointer {
                arg: 1,
                len: PointerLen::FromArg(2),
                write: true,
            }),
            PR_SCHED_CORE if args[1] == PR_SCHED_CORE_GET => at(4, 8, true),
            // The name of an anonymous mapping: a string of at most 80
            // bytes, read up to its NUL.
            PR_SET_VMA => Some(ArgPointer {
                arg: 4,
                len: PointerLen::CStr,
                write: false,
            }),
            _ => None,
        },
        #[cfg(target_arch = "x86_64")]
        Sysno::arch_prctl if ARCH_READ_CODES.contains(&int(args[0])) => at(1, 8, true),
        _ => None,
    }
}

/// `map_hazard(nr, args)` — the argument at which this call would change
/// this process's mappings, if it would: a [`MapRange`](ArgKind::MapRange)
/// argument (`munmap`, `mprotect`, `mremap`, `madvise`: dangerous whatever
/// its value, since a range from 0 covers the program), or `mmap`'s address
/// when its flags hold `MAP_FIXED` (which replaces whatever is mapped
/// there). `args[i]` is `None` where the word is not known yet (a link
/// result), which counts as the dangerous value.
///
/// The entry points that take no raw pointers refuse such calls; the
/// unsafe `raw_ptr` runs them.
pub fn map_hazard(nr: u32, args: &[Option<u64>; 6]) -> Option<usize> {
    let sig = crate::signature(nr)?;
    if let Some(i) = sig.args.iter().position(|a| a.kind == ArgKind::MapRange) {
        return Some(i);
    }
    let fixed = |flags: Option<u64>| flags.is_none_or(|f| f & MAP_FIXED != 0);
    (nr == Sysno::mmap as u32 && fixed(args[3])).then_some(0)
}
