//! Fuzz target bodies. They live here, not in `fuzz/`, so that `cargo test`
//! on stable can replay the committed corpus through the same code.

use crate::{Completion, Submission, decode, encode_to_vec};

/// Arbitrary bytes → decode + validate a [`Submission`]: must not panic, and
/// whatever decodes must re-encode and decode to the same value.
pub fn fuzz_decode_submission(data: &[u8]) {
    if let Ok(sub) = decode::<Submission>(data) {
        for pos in [None, Some(0), Some(3)] {
            let _ = sub.validate(pos);
        }
        for arena_len in [0, 1 << 20, u64::MAX] {
            let _ = sub.validate_arena(arena_len);
        }
        roundtrip_submission(&sub);
    }
}

/// Arbitrary bytes → decode + validate a [`Completion`]: must not panic, and
/// whatever decodes must re-encode and decode to the same value.
pub fn fuzz_decode_completion(data: &[u8]) {
    if let Ok(c) = decode::<Completion>(data) {
        let _ = c.validate();
        let bytes = encode_to_vec(&c).expect("a decoded completion re-encodes");
        let again: Completion = decode(&bytes).expect("a re-encoded completion decodes");
        assert_eq!(again, c);
    }
}

fn roundtrip_submission(sub: &Submission) {
    let bytes = encode_to_vec(sub).expect("a decoded submission re-encodes");
    let again: Submission = decode(&bytes).expect("a re-encoded submission decodes");
    assert_eq!(&again, sub);
}

/// A structured submission → encode → decode gives it back; a valid one
/// always fits the documented bound ([`crate::MAX_MESSAGE_LEN`]).
pub fn fuzz_roundtrip_submission(sub: &Submission) {
    // Arena buffers name bytes outside the frame: whatever arena they name,
    // a submission that passes `validate` fits.
    let valid = sub.validate(None).is_ok() || sub.validate(Some(u16::MAX)).is_ok();
    match encode_to_vec(sub) {
        Ok(bytes) => {
            assert!(bytes.len() <= crate::MAX_MESSAGE_LEN);
            assert_eq!(
                bytes.len(),
                crate::encoded_len(sub).expect("measures what encodes")
            );
            let back: Submission = decode(&bytes).expect("what encodes decodes");
            assert_eq!(&back, sub);
        }
        Err(crate::EncodeError::TooLarge { len }) => {
            assert!(
                !valid,
                "a valid submission of {len} bytes exceeds the bound"
            );
        }
        Err(e) => panic!("encoding failed: {e}"),
    }
}

/// A structured completion → encode → decode gives it back; a valid one
/// always fits the documented bound.
pub fn fuzz_roundtrip_completion(c: &Completion) {
    match encode_to_vec(c) {
        Ok(bytes) => {
            assert!(bytes.len() <= crate::MAX_MESSAGE_LEN);
            let back: Completion = decode(&bytes).expect("what encodes decodes");
            assert_eq!(&back, c);
        }
        Err(crate::EncodeError::TooLarge { .. }) => assert!(c.validate().is_err()),
        Err(e) => panic!("encoding failed: {e}"),
    }
}
