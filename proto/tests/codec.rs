//! Decoding and validation: every malformed input gets its typed error.

mod examples;

use sysgate_proto::*;

fn encode(sub: &Submission) -> Vec<u8> {
    encode_to_vec(sub).unwrap()
}

#[test]
fn empty_and_wrong_version() {
    assert_eq!(decode::<Submission>(&[]), Err(DecodeError::Empty));
    let mut bytes = encode(&examples::lseek());
    bytes[0] = 2;
    assert_eq!(
        decode::<Submission>(&bytes),
        Err(DecodeError::UnsupportedVersion { found: 2 })
    );
}

#[test]
fn every_truncation_is_a_typed_error() {
    for sub in [examples::lseek(), examples::openat(), examples::readv()] {
        let bytes = encode(&sub);
        for len in 1..bytes.len() {
            assert_eq!(
                decode::<Submission>(&bytes[..len]),
                Err(DecodeError::Truncated),
                "{len}"
            );
        }
    }
    let bytes = encode_to_vec(&examples::readv_completion()).unwrap();
    for len in 1..bytes.len() {
        assert_eq!(
            decode::<Completion>(&bytes[..len]),
            Err(DecodeError::Truncated)
        );
    }
}

#[test]
fn trailing_bytes() {
    let mut bytes = encode(&examples::lseek());
    bytes.extend_from_slice(&[0, 0]);
    assert_eq!(
        decode::<Submission>(&bytes),
        Err(DecodeError::TrailingBytes { count: 2 })
    );
}

#[test]
fn oversized_length_fields() {
    // The openat vector's path length lives at byte 68; the buffer count at 56.
    let base = encode(&examples::openat());
    for (at, value) in [(68, u64::MAX), (68, 1 << 40), (56, u64::MAX), (56, 1 << 20)] {
        let mut bytes = base.clone();
        bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
        let err = decode::<Submission>(&bytes).unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::Truncated | DecodeError::LimitExceeded | DecodeError::LengthOverflow
            ),
            "length {value:#x} at {at}: {err:?}"
        );
    }
    let big = vec![1u8; MAX_MESSAGE_LEN + 1];
    assert_eq!(decode::<Submission>(&big), Err(DecodeError::LimitExceeded));
}

#[test]
fn unknown_tags() {
    // Byte offsets from SPEC.md: the op tag is at 10; the lseek vector's
    // second argument tag at 38; the openat vector's buffer tag at 64.
    let cases = [
        (examples::lseek(), 10, 9, "Op"),
        (examples::lseek(), 38, 7, "Arg"),
        (examples::openat(), 64, 7, "Buffer"),
    ];
    for (src, at, tag, ty) in cases {
        let mut bytes = encode(&src);
        bytes[at..at + 4].copy_from_slice(&u32::to_le_bytes(tag));
        assert_eq!(
            decode::<Submission>(&bytes),
            Err(DecodeError::UnknownTag { ty, tag }),
            "{ty}"
        );
    }
    let cancel = Submission::new(
        1,
        Op::Cancel {
            target: CancelTarget::Fd(3),
        },
    );
    let mut bytes = encode(&cancel);
    bytes[14..18].copy_from_slice(&5u32.to_le_bytes());
    assert_eq!(
        decode::<Submission>(&bytes),
        Err(DecodeError::UnknownTag {
            ty: "CancelTarget",
            tag: 5
        })
    );
    // A later, successful decode on the same thread is not affected.
    assert!(decode::<Submission>(&encode(&cancel)).is_ok());
}

#[test]
fn seven_arguments_decode_then_fail_validation() {
    let sub = Submission::new(
        1,
        Op::Syscall(SyscallOp::immediate(8, &[1, 2, 3, 4, 5, 6, 7])),
    );
    let bytes = encode(&sub);
    let back: Submission = decode(&bytes).unwrap();
    assert_eq!(back, sub);
    assert_eq!(
        back.validate(None),
        Err(ValidationError::TooManyArgs { count: 7 })
    );
    let six = Submission::new(1, Op::Syscall(SyscallOp::immediate(8, &[1, 2, 3, 4, 5, 6])));
    assert_eq!(six.validate(None), Ok(()));
}

fn with_call(f: impl FnOnce(&mut SyscallOp)) -> Submission<'static> {
    let mut sub = examples::readv();
    let Op::Syscall(call) = &mut sub.op else {
        unreachable!()
    };
    f(call);
    sub
}

#[test]
fn bad_relocations() {
    let reloc = |r: Reloc| with_call(|c| c.relocs.push(r)).validate(None);
    let r = Reloc {
        buf: 0,
        at: 8,
        target: 1,
        offset: 0,
    };
    assert_eq!(reloc(r), Ok(()));
    assert_eq!(
        reloc(Reloc { buf: 9, ..r }),
        Err(ValidationError::RelocOutOfBounds { reloc: 2 })
    );
    assert_eq!(
        reloc(Reloc { target: 3, ..r }),
        Err(ValidationError::RelocOutOfBounds { reloc: 2 })
    );
    assert_eq!(
        reloc(Reloc { at: 32, ..r }),
        Err(ValidationError::RelocOutOfBounds { reloc: 2 })
    );
    assert_eq!(reloc(Reloc { at: 24, ..r }), Ok(()));
    assert_eq!(
        reloc(Reloc { offset: 5, ..r }),
        Err(ValidationError::RelocOutOfBounds { reloc: 2 })
    );
    assert_eq!(
        reloc(Reloc { offset: 4, ..r }),
        Ok(()),
        "one past the end is an address"
    );
    assert_eq!(
        reloc(Reloc { at: 4, ..r }),
        Err(ValidationError::RelocMisaligned { reloc: 2, at: 4 })
    );
    assert_eq!(
        reloc(Reloc { buf: 1, at: 0, ..r }),
        Err(ValidationError::RelocIntoOutput { reloc: 2 })
    );
    // u32::MAX offsets must not overflow the bounds arithmetic.
    assert_eq!(
        reloc(Reloc {
            at: u32::MAX - 7,
            ..r
        }),
        Err(ValidationError::RelocOutOfBounds { reloc: 2 })
    );
}

#[test]
fn buffer_references_and_limits() {
    let sub = with_call(|c| c.args.push(Arg::Buf(3)));
    assert_eq!(
        sub.validate(None),
        Err(ValidationError::NoSuchBuffer { arg: 3, buf: 3 })
    );
    let sub = with_call(|c| c.bufs.push(Buffer::Out(MAX_DATA_LEN as u32)));
    assert_eq!(
        sub.validate(None),
        Err(ValidationError::DataTooLarge {
            total: 32 + 4 + 8 + MAX_DATA_LEN
        })
    );
    let sub = with_call(|c| c.bufs.resize(MAX_BUFFERS + 1, Buffer::Out(0)));
    assert_eq!(
        sub.validate(None),
        Err(ValidationError::TooManyBuffers {
            count: MAX_BUFFERS + 1
        })
    );
    let sub = with_call(|c| c.relocs.resize(MAX_RELOCS + 1, c.relocs[0]));
    assert_eq!(
        sub.validate(None),
        Err(ValidationError::TooManyRelocs {
            count: MAX_RELOCS + 1
        })
    );
}

#[test]
fn link_results_need_an_earlier_chain_member() {
    let sub = with_call(|c| {
        c.args = [Arg::LinkResult(0), Arg::Buf(0), Arg::Imm(2)]
            .into_iter()
            .collect()
    });
    assert_eq!(
        sub.validate(None),
        Err(ValidationError::LinkResultWithoutChain { arg: 0 })
    );
    assert_eq!(
        sub.validate(Some(0)),
        Err(ValidationError::LinkResultNotEarlier {
            arg: 0,
            index: 0,
            position: 0
        })
    );
    assert_eq!(sub.validate(Some(1)), Ok(()));
}

#[test]
fn linked_outputs_need_an_earlier_chain_member() {
    let linked = Buffer::Linked(LinkedOutput {
        member: 1,
        output: 0,
    });
    let sub = with_call(|c| c.bufs.push(linked.clone()));
    let buf = 3; // after readv's iovec array and its two outputs
    assert_eq!(
        sub.validate(None),
        Err(ValidationError::LinkedOutputNotEarlier {
            buf,
            member: 1,
            position: None
        })
    );
    assert_eq!(
        sub.validate(Some(1)),
        Err(ValidationError::LinkedOutputNotEarlier {
            buf,
            member: 1,
            position: Some(1)
        })
    );
    assert_eq!(sub.validate(Some(2)), Ok(()));
    assert_eq!((linked.len(), linked.is_output()), (0, false));
}

#[test]
fn arena_buffers_are_checked() {
    let arena = |b: Buffer<'static>| with_call(|c| c.bufs.push(b));
    let r = ArenaRange {
        offset: 4096,
        len: 8192,
    };
    // Not counted toward the data limit, whatever their size.
    let big = arena(Buffer::ArenaOut(ArenaRange {
        offset: 0,
        len: u32::MAX,
    }));
    assert_eq!(big.validate(None), Ok(()));
    assert_eq!(big.validate_arena(u64::from(u32::MAX)), Ok(()));
    assert_eq!(
        big.validate_arena(u64::from(u32::MAX) - 1),
        Err(ValidationError::ArenaOutOfBounds {
            buf: 3,
            offset: 0,
            len: u32::MAX,
            arena_len: u64::from(u32::MAX) - 1
        })
    );
    for b in [
        Buffer::ArenaIn(r),
        Buffer::ArenaOut(r),
        Buffer::ArenaInOut(r),
    ] {
        let sub = arena(b.clone());
        assert_eq!(sub.validate(None), Ok(()), "{b:?}");
        assert_eq!(sub.validate_arena(4096 + 8192), Ok(()), "{b:?}");
        assert_eq!(
            sub.validate_arena(4096 + 8191),
            Err(ValidationError::ArenaOutOfBounds {
                buf: 3,
                offset: 4096,
                len: 8192,
                arena_len: 4096 + 8191
            })
        );
        assert!(
            matches!(
                sub.validate_arena(0),
                Err(ValidationError::ArenaOutOfBounds { arena_len: 0, .. })
            ),
            "an executor without an arena refuses {b:?}"
        );
        assert_eq!(b.frame_len(), 0);
        assert_eq!(b.len(), 8192);
        assert_eq!(b.arena(), Some(r));
    }
    assert!(Buffer::ArenaOut(r).is_output() && Buffer::ArenaInOut(r).is_output());
    assert!(!Buffer::ArenaIn(r).is_output());
    // offset + len overflows u64.
    let wraps = ArenaRange {
        offset: u64::MAX - 15,
        len: 32,
    };
    assert_eq!(
        arena(Buffer::ArenaIn(wraps)).validate_arena(u64::MAX),
        Err(ValidationError::ArenaOutOfBounds {
            buf: 3,
            offset: u64::MAX - 15,
            len: 32,
            arena_len: u64::MAX
        })
    );
    // Every buffer starts on a 16-byte boundary.
    assert_eq!(
        arena(Buffer::ArenaInOut(ArenaRange { offset: 8, len: 1 })).validate(None),
        Err(ValidationError::ArenaMisaligned { buf: 3, offset: 8 })
    );
    // Relocations may target arena buffers and write into arena inputs, not
    // into arena outputs.
    let reloc = |b: Buffer<'static>, into: bool| {
        with_call(|c| {
            c.bufs.push(b);
            let (buf, target) = if into { (3, 1) } else { (0, 3) };
            c.relocs.push(Reloc {
                buf,
                at: 8,
                target,
                offset: 0,
            });
        })
        .validate(None)
    };
    assert_eq!(reloc(Buffer::ArenaOut(r), false), Ok(()));
    assert_eq!(reloc(Buffer::ArenaIn(r), true), Ok(()));
    assert_eq!(reloc(Buffer::ArenaInOut(r), true), Ok(()));
    assert_eq!(
        reloc(Buffer::ArenaOut(r), true),
        Err(ValidationError::RelocIntoOutput { reloc: 2 })
    );
    let tiny = ArenaRange { offset: 0, len: 8 };
    assert_eq!(
        reloc(Buffer::ArenaIn(tiny), true),
        Err(ValidationError::RelocOutOfBounds { reloc: 2 })
    );
    // Calls without arena buffers pass whatever the arena.
    assert_eq!(examples::readv().validate_arena(0), Ok(()));
    assert_eq!(Submission::new(1, Op::Nop).validate_arena(0), Ok(()));
}

/// The largest valid submission fits the frame limit: one input buffer
/// with all the data, the rest arena buffers (16 bytes each, the largest
/// per-buffer overhead), all relocations.
#[test]
fn the_largest_valid_submission_fits() {
    let mut bufs = vec![Buffer::In(vec![0u8; MAX_DATA_LEN].into())];
    bufs.resize(
        MAX_BUFFERS,
        Buffer::ArenaIn(ArenaRange {
            offset: 0,
            len: u32::MAX,
        }),
    );
    let reloc = Reloc {
        buf: 0,
        at: 0,
        target: 1,
        offset: 0,
    };
    let sub = Submission::new(
        u64::MAX,
        Op::Syscall(SyscallOp {
            nr: u32::MAX,
            args: [Arg::Imm(u64::MAX); MAX_ARGS].into_iter().collect(),
            bufs,
            relocs: vec![reloc; MAX_RELOCS],
        }),
    );
    sub.validate(None).unwrap();
    let len = encoded_len(&sub).unwrap();
    assert_eq!(len, 1_077_358, "the bound SPEC.md states");
    assert!(len <= MAX_MESSAGE_LEN);
}

#[test]
fn unknown_flags() {
    let sub = examples::lseek().with_flags(SubmissionFlags::from_bits_retain(0x80));
    let bytes = encode(&sub);
    let back: Submission = decode(&bytes).unwrap();
    assert_eq!(
        back.validate(None),
        Err(ValidationError::UnknownFlags { bits: 0x80 })
    );
    let mut c = examples::readv_completion();
    c.flags = CompletionFlags::from_bits_retain(1 << 20);
    assert_eq!(
        c.validate(),
        Err(ValidationError::UnknownFlags { bits: 1 << 20 })
    );
}

/// `readv` into two output buffers is the SPEC example; `sendmsg` needs a
/// msghdr pointing at an iovec array pointing at data, and at a sockaddr.
#[test]
fn readv_and_sendmsg_are_expressible() {
    examples::readv().validate(None).unwrap();

    // struct msghdr (56 bytes): name@0, namelen@8, iov@16, iovlen@24,
    // control@32, controllen@40, flags@48.
    let mut msghdr = [0u8; 56];
    msghdr[8..12].copy_from_slice(&16u32.to_le_bytes());
    msghdr[24..32].copy_from_slice(&1u64.to_le_bytes());
    let mut iov = [0u8; 16];
    iov[8..16].copy_from_slice(&5u64.to_le_bytes());
    let sub = Submission::new(
        9,
        Op::Syscall(SyscallOp {
            nr: 46, // sendmsg on x86_64
            args: [Arg::Imm(4), Arg::Buf(0), Arg::Imm(0)]
                .into_iter()
                .collect(),
            bufs: vec![
                Buffer::In(msghdr.to_vec().into()),
                Buffer::In(iov.to_vec().into()),
                Buffer::In(b"hello".to_vec().into()),
                Buffer::In(vec![0u8; 16].into()), // a sockaddr_in
            ],
            relocs: vec![
                Reloc {
                    buf: 0,
                    at: 0,
                    target: 3,
                    offset: 0,
                },
                Reloc {
                    buf: 0,
                    at: 16,
                    target: 1,
                    offset: 0,
                },
                Reloc {
                    buf: 1,
                    at: 0,
                    target: 2,
                    offset: 0,
                },
            ],
        }),
    );
    sub.validate(None).unwrap();
    let bytes = encode(&sub);
    let back: Submission = decode(&bytes).unwrap();
    assert_eq!(back, sub);
}

#[test]
fn limits_hold_for_the_largest_valid_messages() {
    let per = MAX_DATA_LEN / MAX_BUFFERS;
    let biggest = Submission::new(
        u64::MAX,
        Op::Syscall(SyscallOp {
            nr: u32::MAX,
            args: std::iter::repeat_n(Arg::Imm(u64::MAX), MAX_ARGS).collect(),
            bufs: vec![Buffer::In(vec![0xAB; per].into()); MAX_BUFFERS],
            relocs: vec![
                Reloc {
                    buf: 0,
                    at: 0,
                    target: 1,
                    offset: 0
                };
                MAX_RELOCS
            ],
        }),
    )
    .with_flags(SubmissionFlags::ALL);
    biggest.validate(None).unwrap();
    assert_eq!(encoded_len(&biggest).unwrap(), 1_073_266);
    let bytes = encode(&biggest);
    let back: Submission = decode(&bytes).unwrap();
    assert_eq!(back, biggest);

    let completion = Completion {
        user_data: u64::MAX,
        result: i64::MIN,
        flags: CompletionFlags::ALL,
        outputs: vec![vec![0xCD; per].into(); MAX_BUFFERS],
    };
    completion.validate().unwrap();
    assert_eq!(encoded_len(&completion).unwrap(), 1_056_797);
    const { assert!(1_073_266 <= MAX_MESSAGE_LEN) };
}

#[test]
fn encode_reports_a_small_destination() {
    let sub = examples::openat();
    let mut small = [0u8; 20];
    assert_eq!(
        encode_into(&sub, &mut small),
        Err(EncodeError::BufferTooSmall { needed: 98 })
    );
    assert_eq!(
        encode_into(&sub, &mut []),
        Err(EncodeError::BufferTooSmall { needed: 98 })
    );
    let too_big = with_call(|c| c.bufs.push(Buffer::In(vec![0; MAX_MESSAGE_LEN].into())));
    assert!(matches!(
        encoded_len(&too_big),
        Err(EncodeError::TooLarge { .. })
    ));
}

#[test]
fn peek_user_data_reads_the_first_field() {
    let bytes = encode(&examples::lseek());
    assert_eq!(peek_user_data(&bytes), Some(0x1122_3344_5566_7788));
    assert_eq!(peek_user_data(&bytes[..8]), None);
}
