//! Cross-crate tests for sysgate live in `tests/tests/`; this library holds
//! their shared helpers.
