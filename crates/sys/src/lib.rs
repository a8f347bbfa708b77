//! What sysgate knows about Linux system calls.
//!
//! - **Names and numbers** for the host architecture ([`name_of`],
//!   [`number_of`]), from the `syscalls` crate: every syscall it names has
//!   a name here.
//! - **Signatures** ([`signature`]): for the calls real programs use most,
//!   each argument's kind (fd, path, flags with their table, buffers with
//!   the argument that holds their length, structs, …) and the return
//!   kind, as data the REPL parses and prints from and the executor
//!   dispatches from.
//! - **Execution classes** ([`class_of`]): how the executor runs each
//!   call. Every named syscall has one; see [`table`] for the rule. A few
//!   syscalls are several calls in one (`prctl`, `arch_prctl`): their
//!   arguments refine the class ([`class_of_call`], [`call_reason`]) and
//!   say which integer argument is an address ([`pointer_arg`]);
//!   [`map_hazard`] says when a call would change this process's mappings.
//! - **Flag tables** ([`flags`]): `parse("O_RDONLY|O_CLOEXEC")` and
//!   strace-style `format`.
//! - **Errnos** ([`Errno`]).
//! - **The raw entry point** ([`raw_syscall`]) and helpers that turn its
//!   `-errno` results into `Result<_, Errno>` ([`check`], [`check_unit`],
//!   [`check_fd`]).
//!
//! Supported architectures: x86_64 and aarch64.
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("sysgate-sys knows the syscall ABI of x86_64 and aarch64 only");

mod class;
mod errno;
pub mod flags;
mod raw;
mod refine;
mod signature;
pub mod table;

use std::str::FromStr;

use syscalls::Sysno;

pub use class::ExecClass;
pub use errno::Errno;
pub use raw::{check, check_fd, check_unit, raw_syscall};
pub use refine::{
    ArgPointer, GLIBC_SIGNALS, PointerLen, call_reason, class_of_call, map_hazard, pointer_arg,
};
pub use signature::{ArgKind, ArgSpec, Fill, FillUnit, LengthRef, RetKind, Signature, StructKind};
pub use table::{DEFAULT_CLASS, TABLE_SIZE};

use table::SLOTS;

/// `name_of(nr)` — the name of syscall `nr` on the host architecture.
pub fn name_of(nr: u32) -> Option<&'static str> {
    Sysno::new(nr as usize).map(|s| s.name())
}

/// `number_of(name)` — the number of syscall `name` on the host
/// architecture.
pub fn number_of(name: &str) -> Option<u32> {
    Sysno::from_str(name).ok().map(|s| s.id() as u32)
}

/// `signature(nr)` — the full signature of syscall `nr`, if sysgate has
/// one.
pub fn signature(nr: u32) -> Option<&'static Signature> {
    SLOTS.get(nr as usize).and_then(|s| s.signature())
}

/// Which arguments of syscall `nr` are addresses and which descriptors,
/// as bit masks (bit `i` for argument `i`); `None` without a signature.
/// Precomputed: the checks on every request read it instead of walking
/// the signature.
pub fn arg_masks(nr: u32) -> Option<ArgMasks> {
    let slot = SLOTS.get(nr as usize)?;
    slot.signature()?;
    Some(ArgMasks {
        addresses: slot.address_args,
        fds: slot.fd_args,
        options_matter: slot.options_matter,
    })
}

/// See [`arg_masks`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgMasks {
    /// Bit `i`: argument `i` is an address ([`ArgKind::is_address`]).
    pub addresses: u8,
    /// Bit `i`: argument `i` is a descriptor (`Fd` or `DirFd`).
    pub fds: u8,
    /// Whether an option decides that more arguments are addresses, or
    /// that the call changes mappings ([`pointer_arg`], [`map_hazard`]).
    pub options_matter: bool,
}

/// `signature_by_name(name)` — the full signature of syscall `name`, if
/// sysgate has one.
pub fn signature_by_name(name: &str) -> Option<&'static Signature> {
    number_of(name).and_then(signature)
}

/// Every signature, in table order.
pub fn signatures() -> &'static [Signature] {
    table::SIGNATURES
}

/// `class_of(nr)` — how the executor runs syscall `nr`.
///
/// One bounds check and one load from a static array; never allocates.
/// Numbers the `syscalls` crate does not name are
/// [`ExecClass::Unknown`] (to be treated as blocking).
#[inline]
pub fn class_of(nr: u32) -> ExecClass {
    match SLOTS.get(nr as usize) {
        Some(slot) => slot.class,
        None => ExecClass::Unknown,
    }
}

/// `class_reason(nr)` — why syscall `nr` has its class, where the table
/// says (non-obvious entries only).
pub fn class_reason(nr: u32) -> Option<&'static str> {
    let slot = SLOTS.get(nr as usize)?;
    match slot.signature() {
        Some(sig) => sig.reason,
        None => slot.class_entry().and_then(|e| e.reason),
    }
}

/// Everything sysgate knows about one syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Syscall {
    /// Its number on the host architecture.
    pub nr: u32,
    /// Its name.
    pub name: &'static str,
    /// How the executor runs it.
    pub class: ExecClass,
    /// Why, where not obvious.
    pub reason: Option<&'static str>,
    /// Its full signature, if sysgate has one.
    pub signature: Option<&'static Signature>,
}

/// `lookup(nr)` — everything known about syscall `nr`; `None` for numbers
/// without a name.
pub fn lookup(nr: u32) -> Option<Syscall> {
    let name = name_of(nr)?;
    Some(Syscall {
        nr,
        name,
        class: class_of(nr),
        reason: class_reason(nr),
        signature: signature(nr),
    })
}

/// Every syscall the host architecture names, by number.
pub fn syscalls() -> impl Iterator<Item = Syscall> {
    (0..TABLE_SIZE as u32).filter_map(lookup)
}

#[cfg(test)]
mod tests;
