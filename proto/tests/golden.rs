//! Golden vectors: the bytes in `proto/vectors/*.hex`, the worked examples in
//! `proto/SPEC.md`, and what the encoder produces must all agree. Any change
//! to the wire format shows up here.

mod examples;

use std::path::Path;
use sysgate_proto::*;

/// Hex digits from text, ignoring whitespace and `#` comments.
fn parse_hex(text: &str) -> Vec<u8> {
    let digits: String = text
        .lines()
        .map(|l| l.split('#').next().unwrap())
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    assert!(digits.len().is_multiple_of(2), "odd number of hex digits");
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// The ```` ```hex ```` block that follows `<!-- vector: NAME -->` in SPEC.md.
fn spec_block(spec: &str, name: &str) -> Vec<u8> {
    let marker = format!("<!-- vector: {name} -->");
    let start = spec
        .find(&marker)
        .unwrap_or_else(|| panic!("SPEC.md lacks {marker}"));
    let rest = &spec[start..];
    let open = rest.find("```hex\n").expect("hex block after marker") + "```hex\n".len();
    let close = rest[open..].find("```").expect("closed hex block");
    parse_hex(&rest[open..open + close])
}

fn check<'a, M: Message<'a> + PartialEq + std::fmt::Debug>(name: &str, msg: &M) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let spec = std::fs::read_to_string(dir.join("SPEC.md")).unwrap();
    let file = std::fs::read_to_string(dir.join("vectors").join(format!("{name}.hex"))).unwrap();
    let encoded = encode_to_vec(msg).unwrap();
    assert_eq!(
        encoded,
        parse_hex(&file),
        "{name}: encoder differs from vectors/{name}.hex"
    );
    assert_eq!(
        encoded,
        spec_block(&spec, name),
        "{name}: encoder differs from SPEC.md"
    );
    assert_eq!(encoded.len(), encoded_len(msg).unwrap());
}

#[test]
fn lseek_vector() {
    check("lseek", &examples::lseek());
}

#[test]
fn openat_vector() {
    check("openat", &examples::openat());
}

#[test]
fn readv_vector() {
    check("readv", &examples::readv());
}

#[test]
fn readv_completion_vector() {
    check("readv_completion", &examples::readv_completion());
}

#[test]
fn pread_arena_vector() {
    check("pread_arena", &examples::pread_arena());
}

#[test]
fn pread_arena_completion_vector() {
    check(
        "pread_arena_completion",
        &examples::pread_arena_completion(),
    );
}

#[test]
fn writev_arena_vector() {
    check("writev_arena", &examples::writev_arena());
}

#[test]
fn fiemap_arena_vector() {
    check("fiemap_arena", &examples::fiemap_arena());
}

#[test]
fn vectors_decode_back() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors");
    let read = |n: &str| parse_hex(&std::fs::read_to_string(dir.join(format!("{n}.hex"))).unwrap());
    for (name, sub) in [
        ("lseek", examples::lseek()),
        ("openat", examples::openat()),
        ("readv", examples::readv()),
        ("pread_arena", examples::pread_arena()),
        ("writev_arena", examples::writev_arena()),
        ("fiemap_arena", examples::fiemap_arena()),
    ] {
        let bytes = read(name);
        let back: Submission = decode(&bytes).unwrap();
        assert_eq!(back, sub, "{name}");
    }
    for (name, c) in [
        ("readv_completion", examples::readv_completion()),
        ("pread_arena_completion", examples::pread_arena_completion()),
    ] {
        let bytes = read(name);
        let back: Completion = decode(&bytes).unwrap();
        assert_eq!(back, c, "{name}");
    }
}
