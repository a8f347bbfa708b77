//! `:help` and `:help NAME`.

use sysgate_sys::ExecClass;

use crate::strace::syscall_number;

/// `:help`.
pub(crate) const GENERAL: &str = "\
Type a system call the way strace prints it; sysgate runs it through the
gateway and prints the result the same way.
  openat(AT_FDCWD, \"/etc/hostname\", O_RDONLY)  run a call
  $fd = openat(AT_FDCWD, \"/tmp\", O_RDONLY)     keep its result in $fd
  read($fd, \"\", 64)                           $name: a variable, $_: the last result
  read($fd, \"\", 64) &                         submit without waiting: tag [N], in $_
  { getpid(); getppid(); gettid() }           a batch, submitted at once
  openat(...) -> fstat($prev, {}) -> close($1)
                                              a link chain: $prev, $1..$9 are resolved
                                              by the executor; a failure (or a short
                                              read or write) cancels the rest
  5 12:00:01.5 read(3, \"ab\", 64) = 2 <0.000016>
                                              a whole strace line: the traced result is
                                              shown beside the live one
Output buffers take a length or whatever strace printed there: read(3, \"\", 64).
Commands:
  :wait [tag]           wait for a background request and print it (all, without a tag)
  :cancel [tag]         cancel a background request (the last one, without a tag)
  :set strsize N        bytes of a string to print (default 32)
  :set timing on|off    show where each request ran (inline, polled, pool) and its time
  :set verbose on|off   print structs in full
  :help [syscall]       this text, or a syscall's signature, class and flags
  :stats                the executor's counters
  :quit                 leave (Ctrl-D too)";

/// `:help name`: the signature, execution class and flag names of a
/// syscall; `None` if there is no such syscall.
pub(crate) fn syscall(name: &str) -> Option<Vec<String>> {
    let nr = syscall_number(name)?;
    let name = sysgate_sys::name_of(nr).unwrap_or(name);
    let class = sysgate_sys::class_of(nr);
    let reason = sysgate_sys::class_reason(nr);
    let mut lines = Vec::new();
    let signature = sysgate_sys::signature(nr);
    match signature {
        Some(sig) => lines.push(sig.to_string()),
        None => lines.push(format!("{name}(...)")),
    }
    let mut about = format!("  number {nr}, class {}", class.as_str());
    let reason = match class {
        ExecClass::Forbidden => Some(forbidden_reason(nr)),
        _ => reason,
    };
    if let Some(reason) = reason {
        about.push_str(": ");
        about.push_str(reason);
    }
    lines.push(about);
    lines.push(format!("  {}", class_meaning(class)));
    let Some(sig) = signature else {
        lines.push(
            "  sysgate has no signature for it, so it cannot tell which arguments are \
             pointers: the REPL does not run it"
                .to_owned(),
        );
        return Some(lines);
    };
    for arg in sig.args {
        let Some(table) = arg.kind.table() else {
            continue;
        };
        let mut names: Vec<&str> = table.names().map(|n| n.name).collect();
        if let Some(zero) = table.zero
            && !names.contains(&zero)
        {
            names.insert(0, zero);
        }
        lines.push(format!(
            "  {} ({}): {}",
            arg.name,
            table.name,
            names.join(" ")
        ));
    }
    Some(lines)
}

/// Why the gateway refuses a forbidden syscall (the table gives every
/// forbidden call a reason).
pub(crate) fn forbidden_reason(nr: u32) -> &'static str {
    sysgate_sys::class_reason(nr).unwrap_or("the gateway never runs it")
}

/// What the executor does with a call of this class.
fn class_meaning(class: ExecClass) -> &'static str {
    match class {
        ExecClass::NonBlocking => "runs inline: it never waits",
        ExecClass::NowaitCapable => {
            "tried without waiting; on EAGAIN from a socket or pipe it waits for readiness \
             and runs inline again (polled), otherwise it goes to the worker pool"
        }
        ExecClass::CachedFirst => {
            "tried inline with RESOLVE_CACHED; goes to the worker pool if that is not enough \
             (O_CREAT, O_TRUNC and O_TMPFILE go there at once)"
        }
        ExecClass::Blocking => "may wait: runs on the worker pool",
        ExecClass::ThreadAffine => "acts on the calling thread: runs inline on it only",
        ExecClass::PerThreadState => {
            "process state Linux keeps per thread: applied to every thread of the process at \
             once (glibc's way), or refused where that cannot be done"
        }
        ExecClass::BreaksRunner => {
            "would break the thread that runs it: the gateway refuses it, it is never run"
        }
        ExecClass::Forbidden => "the gateway refuses it: it is never run",
        ExecClass::Unknown => "unknown to sysgate: treated as blocking",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openat_help_names_signature_class_and_flags() {
        let lines = syscall("openat").unwrap();
        assert_eq!(lines[0], "openat(dirfd, path, flags:O_*, mode) -> fd");
        assert!(lines[1].contains("class cached-first"), "{lines:?}");
        let flags = lines.iter().find(|l| l.starts_with("  flags")).unwrap();
        assert!(flags.contains("O_RDONLY") && flags.contains("O_CLOEXEC"));
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("  dirfd") && l.contains("AT_FDCWD"))
        );
    }

    #[test]
    fn refused_and_per_thread_syscalls_say_why() {
        let lines = syscall("rseq").unwrap();
        assert!(
            lines[1].contains("class breaks-runner: glibc registers"),
            "{lines:?}"
        );
        assert!(lines[2].contains("never run"), "{lines:?}");
        let lines = syscall("setresuid").unwrap();
        assert!(lines[1].contains("class per-thread-state"), "{lines:?}");
        assert!(lines[1].contains("every thread"), "{lines:?}");
        let lines = syscall("unshare").unwrap();
        assert!(lines[1].contains("refused"), "{lines:?}");
    }

    #[test]
    fn forbidden_and_unsigned_syscalls_say_why() {
        let lines = syscall("execve").unwrap();
        assert!(lines.iter().any(|l| l.contains("refuses")), "{lines:?}");
        let lines = syscall("mount").unwrap();
        assert!(
            lines.iter().any(|l| l.contains("no signature")),
            "{lines:?}"
        );
        assert!(syscall("opnat").is_none());
    }
}
