//! What sysgate knows about Linux system calls.
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
