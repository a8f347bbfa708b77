use std::collections::HashSet;

use syscalls::Sysno;

use super::*;
use crate::table::{CLASS_ONLY, SIGNATURES};

fn nr(name: &str) -> u32 {
    number_of(name).unwrap_or_else(|| panic!("no syscall named {name}"))
}

#[test]
fn every_named_syscall_has_name_number_and_class() {
    // Not `Sysno::iter()`: in syscalls 0.8.1 it stops before the last
    // syscall.
    let mut seen = 0;
    for s in (0..=Sysno::last().id() as usize).filter_map(Sysno::new) {
        let n = s.id() as u32;
        assert_eq!(name_of(n), Some(s.name()));
        assert_eq!(number_of(s.name()), Some(n));
        assert_ne!(class_of(n), ExecClass::Unknown, "{}", s.name());
        seen += 1;
    }
    assert_eq!(seen, Sysno::count());
    assert_eq!(syscalls().count(), Sysno::count());
    assert!(syscalls().all(|s| lookup(s.nr) == Some(s)));
}

/// Numbers from the kernel's own tables (arch/x86/entry/syscalls/
/// syscall_64.tbl, include/uapi/asm-generic/unistd.h), independent of the
/// `syscalls` crate.
#[test]
fn numbers_match_the_kernel_tables() {
    #[cfg(target_arch = "x86_64")]
    let known: &[(&str, u32)] = &[
        ("read", 0),
        ("write", 1),
        ("open", 2),
        ("close", 3),
        ("mmap", 9),
        ("ioctl", 16),
        ("clone", 56),
        ("exit", 60),
        ("getdents64", 217),
        ("exit_group", 231),
        ("openat", 257),
        ("newfstatat", 262),
        ("statx", 332),
        ("io_uring_setup", 425),
        ("clone3", 435),
        ("openat2", 437),
        ("epoll_pwait2", 441),
        ("fchmodat2", 452),
    ];
    #[cfg(target_arch = "aarch64")]
    let known: &[(&str, u32)] = &[
        ("io_setup", 0),
        ("openat", 56),
        ("close", 57),
        ("getdents64", 61),
        ("read", 63),
        ("write", 64),
        ("fstatat", 79),
        ("exit", 93),
        ("exit_group", 94),
        ("clone", 220),
        ("statx", 291),
        ("clone3", 435),
        ("openat2", 437),
    ];
    for &(name, n) in known {
        assert_eq!(number_of(name), Some(n), "{name}");
        assert_eq!(name_of(n), Some(name));
    }
}

#[test]
fn table_entries_agree_with_the_syscalls_crate() {
    for sig in SIGNATURES {
        assert_eq!(
            Sysno::new(sig.nr as usize).map(|s| s.name()),
            Some(sig.name)
        );
        assert_eq!(number_of(sig.name), Some(sig.nr));
        let found = signature(sig.nr).unwrap_or_else(|| panic!("{} not indexed", sig.name));
        assert!(
            std::ptr::eq(found, sig),
            "{} indexed to {}",
            sig.name,
            found.name
        );
        assert_eq!(class_of(sig.nr), sig.class, "{}", sig.name);
        assert_eq!(class_reason(sig.nr), sig.reason, "{}", sig.name);
    }
    for e in CLASS_ONLY {
        assert_eq!(Sysno::new(e.nr as usize).map(|s| s.name()), Some(e.name));
        assert_eq!(class_of(e.nr), e.class, "{}", e.name);
        assert_eq!(class_reason(e.nr), e.reason, "{}", e.name);
        assert_eq!(signature(e.nr), None, "{}", e.name);
    }
}

#[test]
fn no_duplicate_names() {
    let mut names = HashSet::new();
    for name in SIGNATURES
        .iter()
        .map(|s| s.name)
        .chain(CLASS_ONLY.iter().map(|e| e.name))
    {
        assert!(names.insert(name), "{name} is listed twice");
    }
    for sig in SIGNATURES {
        let mut args = HashSet::new();
        for a in sig.args {
            assert!(
                args.insert(a.name),
                "{}: argument {} twice",
                sig.name,
                a.name
            );
        }
        assert!(sig.args.len() <= 6, "{}", sig.name);
    }
}

#[test]
fn length_references_point_at_integer_arguments() {
    for sig in SIGNATURES {
        for (i, arg) in sig.args.iter().enumerate() {
            let Some((target, how)) = arg.kind.length_ref() else {
                continue;
            };
            let what = format!("{}: {} -> argument {target}", sig.name, arg.name);
            assert_ne!(target, i, "{what} refers to itself");
            let target = sig
                .args
                .get(target)
                .unwrap_or_else(|| panic!("{what} missing"));
            match how {
                LengthRef::Bytes | LengthRef::Elements => {
                    assert!(target.kind.is_integer(), "{what} is {:?}", target.kind)
                }
                LengthRef::BytesByPointer => assert_eq!(
                    target.kind,
                    ArgKind::InOutStruct(StructKind::Socklen),
                    "{what}"
                ),
            }
        }
    }
}

#[test]
fn covers_what_common_programs_call() {
    let count = SIGNATURES.len();
    println!("{count} signatures");
    assert!(count >= 150, "only {count} signatures");
    // What strace shows for coreutils (ls, cp, mv, rm, cat, stat, touch,
    // chmod), find, tar, and a TCP client and server.
    for name in [
        "read",
        "write",
        "openat",
        "close",
        "fstat",
        "newfstatat",
        "statx",
        "lseek",
        "mmap",
        "munmap",
        "mprotect",
        "brk",
        "pread64",
        "pwrite64",
        "readv",
        "writev",
        "ioctl",
        "fcntl",
        "dup",
        "dup2",
        "dup3",
        "pipe2",
        "getdents64",
        "readlink",
        "readlinkat",
        "getcwd",
        "chdir",
        "fchdir",
        "mkdirat",
        "unlinkat",
        "renameat2",
        "linkat",
        "symlinkat",
        "fchmodat",
        "fchownat",
        "utimensat",
        "faccessat2",
        "umask",
        "fsync",
        "fdatasync",
        "ftruncate",
        "fallocate",
        "fadvise64",
        "copy_file_range",
        "sendfile",
        "getxattr",
        "lgetxattr",
        "fgetxattr",
        "listxattr",
        "llistxattr",
        "flistxattr",
        "setxattr",
        "fsetxattr",
        "statfs",
        "fstatfs",
        "getpid",
        "getppid",
        "gettid",
        "getuid",
        "geteuid",
        "getgid",
        "getegid",
        "getrlimit",
        "prlimit64",
        "uname",
        "sysinfo",
        "getrandom",
        "sched_getaffinity",
        "rt_sigaction",
        "rt_sigprocmask",
        "kill",
        "wait4",
        "exit_group",
        "execve",
        "set_tid_address",
        "set_robust_list",
        "rseq",
        "arch_prctl",
        "futex",
        "clock_gettime",
        "clock_nanosleep",
        "nanosleep",
        "socket",
        "connect",
        "bind",
        "listen",
        "accept4",
        "getsockname",
        "getpeername",
        "setsockopt",
        "getsockopt",
        "sendto",
        "recvfrom",
        "sendmsg",
        "recvmsg",
        "shutdown",
        "poll",
        "ppoll",
        "epoll_create1",
        "epoll_ctl",
        "epoll_wait",
        "epoll_pwait",
        "eventfd2",
        "timerfd_create",
        "openat2",
        "close_range",
    ] {
        let Some(n) = number_of(name) else {
            // Legacy names absent on this architecture (dup2, poll, …).
            continue;
        };
        assert!(signature(n).is_some(), "{name} has no signature");
    }
}

/// One spot check per row of the design's execution-class table, plus the
/// default rule.
#[test]
fn classes_follow_the_design_table() {
    use ExecClass::*;
    let rows: &[(ExecClass, &[&str])] = &[
        (
            NonBlocking,
            &["getpid", "dup", "fcntl", "lseek", "close", "umask"],
        ),
        (
            NowaitCapable,
            &[
                "read", "write", "pread64", "pwrite64", "readv", "writev", "recvfrom", "recvmsg",
                "sendto", "sendmsg", "accept", "accept4", "connect",
            ],
        ),
        (CachedFirst, &["openat", "openat2"]),
        (
            Blocking,
            &[
                "fsync",
                "statx",
                "getdents64",
                "unlinkat",
                "renameat2",
                "fallocate",
                "nanosleep",
                "flock",
                "wait4",
            ],
        ),
        (
            ThreadAffine,
            &["gettid", "rt_sigprocmask", "prctl", "sched_setaffinity"],
        ),
        (
            PerThreadState,
            &[
                "setuid",
                "setgid",
                "setreuid",
                "setregid",
                "setresuid",
                "setresgid",
                "setgroups",
                "setfsuid",
                "setfsgid",
                "capset",
                "unshare",
                "setns",
                "landlock_restrict_self",
            ],
        ),
        (
            BreaksRunner,
            &[
                "set_tid_address",
                "set_robust_list",
                "rseq",
                "sigaltstack",
                "seccomp",
            ],
        ),
        (
            Forbidden,
            &[
                "exit",
                "exit_group",
                "clone",
                "clone3",
                "execve",
                "execveat",
                "rt_sigreturn",
            ],
        ),
    ];
    for (class, names) in rows {
        for name in *names {
            assert_eq!(class_of(nr(name)), *class, "{name}");
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
        assert_eq!(class_of(nr("fork")), Forbidden);
        assert_eq!(class_of(nr("vfork")), Forbidden);
        assert_eq!(class_of(nr("open")), CachedFirst);
        for name in ["arch_prctl", "set_thread_area", "modify_ldt"] {
            assert_eq!(class_of(nr(name)), BreaksRunner, "{name}");
        }
        // 337..=423 is a hole in the x86_64 table.
        assert_eq!(name_of(400), None);
        assert_eq!(class_of(400), Unknown);
    }
    assert_eq!(class_of(TABLE_SIZE as u32), Unknown);
    assert_eq!(class_of(100_000), Unknown);
    assert_eq!(class_of(u32::MAX), Unknown);
    assert_eq!(class_reason(u32::MAX), None);

    // Named, in neither table: the default class, and no reason.
    for name in ["mount", "io_submit", "semop", "msgrcv", "bpf"] {
        let n = nr(name);
        assert!(signature(n).is_none() && CLASS_ONLY.iter().all(|e| e.nr != n));
        assert_eq!(class_of(n), DEFAULT_CLASS, "{name}");
        assert_eq!(class_reason(n), None, "{name}");
    }
    assert_eq!(DEFAULT_CLASS, Blocking);
}

#[test]
fn class_names() {
    let names: Vec<_> = ExecClass::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(
        names,
        [
            "non-blocking",
            "nowait-capable",
            "cached-first",
            "blocking",
            "thread-affine",
            "per-thread-state",
            "breaks-runner",
            "forbidden",
            "unknown"
        ]
    );
    for c in ExecClass::ALL {
        assert_eq!(ExecClass::from_name(c.as_str()), Some(c));
        assert_eq!(c.to_string(), c.as_str());
    }
    for c in ExecClass::ALL {
        let never_pooled = matches!(
            c,
            ExecClass::ThreadAffine
                | ExecClass::PerThreadState
                | ExecClass::BreaksRunner
                | ExecClass::Forbidden
        );
        assert_eq!(c.may_punt(), !never_pooled, "{c}");
        let refused = matches!(c, ExecClass::BreaksRunner | ExecClass::Forbidden);
        assert_eq!(c.is_refused(), refused, "{c}");
    }
}

#[test]
fn nowait_calls_name_their_fd() {
    for sig in SIGNATURES {
        if sig.class == ExecClass::NowaitCapable {
            assert_eq!(sig.nowait_fd(), Some(0), "{}", sig.name);
        } else {
            assert_eq!(sig.nowait_fd(), None, "{}", sig.name);
        }
    }
}

#[test]
fn results_fill_the_right_output() {
    let fills = |name: &str| signature(nr(name)).unwrap().result_fills();
    let bytes = |arg| {
        Some(Fill {
            arg,
            unit: FillUnit::Bytes,
        })
    };
    let elements = |arg| {
        Some(Fill {
            arg,
            unit: FillUnit::Elements,
        })
    };
    assert_eq!(fills("read"), bytes(1));
    assert_eq!(fills("pread64"), bytes(1));
    assert_eq!(fills("readv"), bytes(1));
    assert_eq!(fills("preadv2"), bytes(1));
    assert_eq!(fills("recvfrom"), bytes(1));
    assert_eq!(fills("recvmsg"), bytes(1));
    assert_eq!(fills("getdents64"), bytes(1));
    assert_eq!(fills("readlinkat"), bytes(2));
    assert_eq!(fills("getcwd"), bytes(0));
    assert_eq!(fills("getxattr"), bytes(2));
    assert_eq!(fills("getrandom"), bytes(0));
    assert_eq!(fills("sched_getaffinity"), bytes(2));
    assert_eq!(fills("epoll_pwait"), elements(1));
    assert_eq!(fills("getgroups"), elements(1));
    for name in [
        "write", "writev", "sendto", "sendmsg", "sendfile", "ppoll", "fstat", "openat",
    ] {
        assert_eq!(fills(name), None, "{name}");
    }
    // No Size/Count result may be ambiguous between two outputs.
    for sig in SIGNATURES {
        if let Some(fill) = sig.result_fills() {
            let kind = sig.args[fill.arg].kind;
            let same_role = sig.args[fill.arg + 1..]
                .iter()
                .filter(|a| std::mem::discriminant(&a.kind) == std::mem::discriminant(&kind))
                .count();
            assert_eq!(same_role, 0, "{}: two candidate outputs", sig.name);
        }
    }
}

#[test]
fn signatures_print_in_strace_shape() {
    let show = |name: &str| signature(nr(name)).unwrap().to_string();
    assert_eq!(show("openat"), "openat(dirfd, path, flags:O_*, mode) -> fd");
    assert_eq!(show("read"), "read(fd, buf, count) -> size");
    assert_eq!(show("getpid"), "getpid() -> pid");
    assert_eq!(show("exit_group"), "exit_group(status) -> ?");
    assert_eq!(show("close"), "close(fd) -> 0");
    assert_eq!(
        show("socket"),
        "socket(domain:AF_*, sock_type:SOCK_*, protocol) -> fd"
    );
    assert_eq!(
        show("statx"),
        "statx(dirfd, path, flags:AT_*, mask:STATX_*, statxbuf) -> 0"
    );
}

#[test]
fn arg_kinds_know_their_tables() {
    let openat = signature(nr("openat")).unwrap();
    assert!(std::ptr::eq(
        openat.args[0].kind.table().unwrap(),
        &flags::DIRFD
    ));
    assert!(std::ptr::eq(
        openat.args[2].kind.table().unwrap(),
        &flags::OPEN_FLAGS
    ));
    assert!(std::ptr::eq(
        openat.args[3].kind.table().unwrap(),
        &flags::MODE
    ));
    assert_eq!(openat.args[1].kind.table(), None);
    let lseek = signature(nr("lseek")).unwrap();
    assert_eq!(lseek.args[2].kind.table().unwrap().format(2), "SEEK_END");
    let kill = signature(nr("kill")).unwrap();
    assert_eq!(kill.args[1].kind.table().unwrap().parse("SIGTERM"), Ok(15));
}

/// Struct sizes agree with libc's definitions of the same layouts.
#[test]
fn struct_sizes_agree_with_libc() {
    use std::mem::size_of;
    let cases: &[(StructKind, usize)] = &[
        (StructKind::Timespec, size_of::<libc::timespec>()),
        (StructKind::TimespecPair, 2 * size_of::<libc::timespec>()),
        (StructKind::Timeval, size_of::<libc::timeval>()),
        (StructKind::Itimerspec, size_of::<libc::itimerspec>()),
        (StructKind::Itimerval, size_of::<libc::itimerval>()),
        (StructKind::Stat, size_of::<libc::stat>()),
        (StructKind::Statx, size_of::<libc::statx>()),
        (StructKind::Statfs, size_of::<libc::statfs>()),
        (StructKind::Socklen, size_of::<libc::socklen_t>()),
        (StructKind::Msghdr, size_of::<libc::msghdr>()),
        (StructKind::Mmsghdr, size_of::<libc::mmsghdr>()),
        (StructKind::Iovec, size_of::<libc::iovec>()),
        (StructKind::Pollfd, size_of::<libc::pollfd>()),
        (StructKind::EpollEvent, size_of::<libc::epoll_event>()),
        (StructKind::Rlimit, size_of::<libc::rlimit>()),
        (StructKind::Rusage, size_of::<libc::rusage>()),
        (StructKind::Utsname, size_of::<libc::utsname>()),
        (StructKind::Sysinfo, size_of::<libc::sysinfo>()),
        (StructKind::Tms, size_of::<libc::tms>()),
        (StructKind::Siginfo, size_of::<libc::siginfo_t>()),
        (StructKind::StackT, size_of::<libc::stack_t>()),
        (StructKind::OpenHow, size_of::<libc::open_how>()),
        (StructKind::SchedParam, size_of::<libc::sched_param>()),
        (StructKind::Sigevent, size_of::<libc::sigevent>()),
        (StructKind::Long, size_of::<libc::time_t>()),
        (StructKind::Loff, size_of::<libc::loff_t>()),
        (StructKind::FdPair, 2 * size_of::<libc::c_int>()),
        (StructKind::Int, size_of::<libc::c_int>()),
    ];
    for &(kind, libc_size) in cases {
        assert_eq!(kind.size(), Some(libc_size), "{}", kind.c_name());
    }
    // Kernel layouts that differ from glibc's (glibc's sigset_t is 128
    // bytes, its struct sigaction 152).
    assert_eq!(StructKind::Sigset.size(), Some(8));
    // libc declares `timezone` opaque; the kernel's is two ints.
    assert_eq!(StructKind::Timezone.size(), Some(8));
    assert_eq!(StructKind::Sigaction.size(), Some(32));
    assert_eq!(StructKind::Sockaddr.size(), None);
    assert_eq!(StructKind::Dirent64.size(), None);
    #[cfg(target_arch = "x86_64")]
    {
        assert_eq!(StructKind::Stat.size(), Some(144));
        assert_eq!(StructKind::EpollEvent.size(), Some(12));
    }
}

mod alloc_free {
    //! `class_of` and `signature` run on the executor's hot path and must
    //! not allocate; a counting allocator (per thread, so other tests
    //! running in parallel do not interfere) checks it.
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    struct Counting;

    thread_local! {
        static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    }

    // SAFETY: forwards every call unchanged to the system allocator; the
    // counter is a const-initialised thread-local without a destructor, so
    // touching it never allocates or re-enters the allocator.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            ALLOCATIONS.with(|c| c.set(c.get() + 1));
            // SAFETY: the caller's contract for `alloc` is passed through.
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: `ptr` came from `System.alloc` with this layout.
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            ALLOCATIONS.with(|c| c.set(c.get() + 1));
            // SAFETY: the caller's contract for `realloc` is passed through.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    fn allocations() -> u64 {
        ALLOCATIONS.with(|c| c.get())
    }

    #[test]
    fn hot_path_lookups_do_not_allocate() {
        // Make sure the counter itself works on this thread.
        let before = allocations();
        drop(std::hint::black_box(vec![1u8; 16]));
        assert!(allocations() > before, "counting allocator not active");

        let before = allocations();
        let mut sum = 0u64;
        for nr in 0..2000u32 {
            sum += crate::class_of(nr) as u64;
            sum += crate::signature(nr).map_or(0, |s| s.args.len() as u64);
            sum += crate::signature(nr)
                .and_then(|s| s.nowait_fd())
                .map_or(0, |i| i as u64);
            sum += crate::class_reason(nr).map_or(0, |r| r.len() as u64);
        }
        std::hint::black_box(sum);
        assert_eq!(allocations(), before);
    }
}

/// A refusal always comes with its reason (the REPL prints it), and so
/// does a call that changes per-thread state (applied to every thread, or
/// refused: the reason says which).
#[test]
fn every_refused_call_says_why() {
    let classes = [
        ExecClass::Forbidden,
        ExecClass::BreaksRunner,
        ExecClass::PerThreadState,
    ];
    for s in crate::syscalls().filter(|s| classes.contains(&s.class)) {
        assert!(s.reason.is_some(), "{} has no reason", s.name);
    }
}

/// Six argument words: `words`, then zeros.
fn args_of(words: &[u64]) -> [u64; 6] {
    let mut args = [0; 6];
    args[..words.len()].copy_from_slice(words);
    args
}

/// `prctl` and `arch_prctl` are several calls in one: the option decides.
#[test]
fn options_refine_the_class() {
    use ExecClass::*;
    let prctl = nr("prctl");
    let cases: &[(&[u64], ExecClass)] = &[
        (&[22, 1], BreaksRunner),      // PR_SET_SECCOMP, SECCOMP_MODE_STRICT
        (&[35, 1, 0], BreaksRunner),   // PR_SET_MM
        (&[26, 2], BreaksRunner),      // PR_SET_TSC, PR_TSC_SIGSEGV
        (&[59, 1], BreaksRunner),      // PR_SET_SYSCALL_USER_DISPATCH
        (&[8, 1], PerThreadState),     // PR_SET_KEEPCAPS
        (&[24, 0], PerThreadState),    // PR_CAPBSET_DROP
        (&[28, 0], PerThreadState),    // PR_SET_SECUREBITS
        (&[38, 1], PerThreadState),    // PR_SET_NO_NEW_PRIVS
        (&[47, 2, 0], PerThreadState), // PR_CAP_AMBIENT_RAISE
        (&[47, 4], PerThreadState),    // PR_CAP_AMBIENT_CLEAR_ALL
        (&[47, 1, 0], ThreadAffine),   // PR_CAP_AMBIENT_IS_SET
        (&[3], ThreadAffine),          // PR_GET_DUMPABLE
        (&[39], ThreadAffine),         // PR_GET_NO_NEW_PRIVS
        (&[0xdead], ThreadAffine),     // unknown: the kernel says EINVAL
    ];
    for (words, class) in cases {
        let args = args_of(words);
        assert_eq!(class_of_call(prctl, &args), *class, "prctl{words:?}");
        if *class != ThreadAffine {
            let reason = call_reason(prctl, &args).unwrap();
            assert_ne!(Some(reason), class_reason(prctl), "prctl{words:?}");
        }
    }
    let sigaction = nr("rt_sigaction");
    assert_eq!(class_of_call(sigaction, &args_of(&[33])), BreaksRunner);
    assert_eq!(class_of_call(sigaction, &args_of(&[10])), NonBlocking);
    let close_range = nr("close_range");
    assert_eq!(
        class_of_call(close_range, &args_of(&[3, 9, 2])),
        PerThreadState
    );
    assert_eq!(
        class_of_call(close_range, &args_of(&[3, 9, 4])),
        NonBlocking
    );
    let keyctl = nr("keyctl");
    assert_eq!(class_of_call(keyctl, &args_of(&[1])), PerThreadState);
    assert_eq!(class_of_call(keyctl, &args_of(&[0])), DEFAULT_CLASS);
    // Everything else: the syscall's class, and its reason.
    for s in crate::syscalls() {
        if [
            "prctl",
            "arch_prctl",
            "rt_sigaction",
            "keyctl",
            "close_range",
        ]
        .contains(&s.name)
        {
            continue;
        }
        assert_eq!(class_of_call(s.nr, &[u64::MAX; 6]), s.class, "{}", s.name);
        assert_eq!(call_reason(s.nr, &[1; 6]), s.reason, "{}", s.name);
    }
    assert_eq!(class_of_call(u32::MAX, &[0; 6]), ExecClass::Unknown);
    #[cfg(target_arch = "x86_64")]
    {
        let arch = nr("arch_prctl");
        for code in [0x1001, 0x1002, 0x1012, 0x2003, 0x5001, 0x5002, 0x9999] {
            assert_eq!(
                class_of_call(arch, &args_of(&[code, 0])),
                BreaksRunner,
                "{code:#x}"
            );
        }
        for code in [0x1003, 0x1004, 0x1011, 0x1022, 0x4001, 0x5005] {
            assert_eq!(
                class_of_call(arch, &args_of(&[code, 0])),
                ThreadAffine,
                "{code:#x}"
            );
        }
        let set_fs = call_reason(arch, &args_of(&[0x1002, 0])).unwrap();
        assert!(set_fs.contains("TLS"), "{set_fs}");
    }
}

/// Integer arguments that are addresses for some options.
#[test]
fn options_name_their_pointer_arguments() {
    let fcntl = nr("fcntl");
    let p = pointer_arg(fcntl, &args_of(&[3, 5, 0])).unwrap(); // F_GETLK
    assert_eq!((p.arg, p.len, p.write), (2, PointerLen::Bytes(32), true));
    assert_eq!(pointer_arg(fcntl, &args_of(&[3, 4, 0])), None); // F_SETFL
    let prctl = nr("prctl");
    let p = pointer_arg(prctl, &args_of(&[16, 0])).unwrap(); // PR_GET_NAME
    assert_eq!((p.arg, p.len, p.write), (1, PointerLen::Bytes(16), true));
    let p = pointer_arg(prctl, &args_of(&[0x4155_5856, 0, 64])).unwrap(); // PR_GET_AUXV
    assert_eq!(p.len, PointerLen::FromArg(2));
    assert_eq!(pointer_arg(prctl, &args_of(&[4, 1])), None); // PR_SET_DUMPABLE
    #[cfg(target_arch = "x86_64")]
    {
        let arch = nr("arch_prctl");
        let p = pointer_arg(arch, &args_of(&[0x1003, 0])).unwrap(); // ARCH_GET_FS
        assert_eq!((p.arg, p.len, p.write), (1, PointerLen::Bytes(8), true));
        assert_eq!(pointer_arg(arch, &args_of(&[0x1011, 0])), None); // ARCH_GET_CPUID
    }
    assert_eq!(pointer_arg(nr("getpid"), &[0; 6]), None);
}

/// Calls that change this process's mappings at an address.
#[test]
fn mapping_changes_are_named() {
    let known = [Some(0); 6];
    for name in ["munmap", "mprotect", "mremap", "madvise"] {
        assert_eq!(map_hazard(nr(name), &known), Some(0), "{name}");
    }
    for name in ["msync", "mincore", "mlock", "munlock", "brk", "getpid"] {
        assert_eq!(map_hazard(nr(name), &known), None, "{name}");
    }
    let mmap = nr("mmap");
    let flags = |f: Option<u64>| [Some(0), Some(4096), Some(3), f, Some(u64::MAX), Some(0)];
    assert_eq!(map_hazard(mmap, &flags(Some(0x22))), None); // MAP_PRIVATE|MAP_ANONYMOUS
    assert_eq!(map_hazard(mmap, &flags(Some(0x100022))), None); // …|MAP_FIXED_NOREPLACE
    assert_eq!(map_hazard(mmap, &flags(Some(0x32))), Some(0)); // …|MAP_FIXED
    assert_eq!(map_hazard(mmap, &flags(None)), Some(0)); // not known yet
}

#[test]
fn argument_masks_agree_with_the_signatures() {
    for sig in crate::signatures() {
        let m = crate::arg_masks(sig.nr).unwrap();
        for (i, a) in sig.args.iter().enumerate() {
            assert_eq!(
                m.addresses >> i & 1 == 1,
                a.kind.is_address(),
                "{} arg {i}",
                sig.name
            );
            let fd = matches!(a.kind, ArgKind::Fd | ArgKind::DirFd);
            assert_eq!(m.fds >> i & 1 == 1, fd, "{} arg {i}", sig.name);
        }
        assert_eq!(m.addresses >> sig.args.len(), 0, "{}", sig.name);
        // Every call whose options make addresses or change mappings is
        // marked, or the fast path would skip its check.
        let mut words = [0u64; 6];
        for option in [0u64, 1, 2, 3, 4, 5, 15, 16, 36, 0x1001, 0x1003, 0x10] {
            words[0] = option;
            words[1] = option;
            if crate::pointer_arg(sig.nr, &words).is_some() {
                assert!(m.options_matter, "{} option {option:#x}", sig.name);
            }
        }
        if crate::map_hazard(sig.nr, &[None; 6]).is_some() {
            assert!(m.options_matter, "{}", sig.name);
        }
    }
    assert_eq!(crate::arg_masks(u32::MAX), None);
}

/// The kernel reads an option, command or signal declared `int` from the
/// low 32 bits of its register: a word with higher bits set is the same
/// call, and must be classed and bounds-checked as that call.
#[test]
fn high_bits_of_int_parameters_change_nothing() {
    const HIGH: u64 = 0xffff_ffff_0000_0000;
    let calls: &[(&str, &[u64])] = &[
        ("prctl", &[22, 1]),     // PR_SET_SECCOMP
        ("prctl", &[38, 1]),     // PR_SET_NO_NEW_PRIVS
        ("rt_sigaction", &[33]), // glibc's SIGSETXID
        ("keyctl", &[1]),        // KEYCTL_JOIN_SESSION_KEYRING
        ("fcntl", &[3, 5, 0]),   // F_GETLK
        ("prctl", &[16, 0]),     // PR_GET_NAME
    ];
    #[cfg(target_arch = "x86_64")]
    let calls = [
        calls,
        &[
            ("arch_prctl", &[0x1002, 0][..]),
            ("arch_prctl", &[0x1003, 0]),
        ],
    ]
    .concat();
    for &(name, words) in calls.iter() {
        let plain = args_of(words);
        // The option is argument 0, except fcntl's command (argument 1).
        let at = usize::from(name == "fcntl");
        let mut wide = plain;
        wide[at] |= HIGH;
        let n = nr(name);
        assert_eq!(
            class_of_call(n, &wide),
            class_of_call(n, &plain),
            "{name}{words:?}"
        );
        assert_eq!(
            call_reason(n, &wide),
            call_reason(n, &plain),
            "{name}{words:?}"
        );
        assert_eq!(
            pointer_arg(n, &wide),
            pointer_arg(n, &plain),
            "{name}{words:?}"
        );
    }
}
