//! The library behind the `sysgate` binary.
//!
//! [`strace`] is the text layer of `sysgate repl`, `sysgate run` and
//! `sysgate replay`: strace syntax in (calls typed by hand or whole strace
//! logs), requests for the gateway out, completions printed back in
//! strace's form.
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]

pub mod repl;
pub mod replay;
pub mod strace;
