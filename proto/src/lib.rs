//! The serialized form of everything that crosses a sysgate ring.
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
