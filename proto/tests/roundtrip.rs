//! Property tests: every message encodes and decodes back to itself, at the
//! length `encoded_len` predicts; arbitrary bytes never panic the decoder.

use proptest::collection::vec;
use proptest::prelude::*;
use sysgate_proto::*;

fn bytes() -> impl Strategy<Value = Bytes<'static>> {
    vec(any::<u8>(), 0..64).prop_map(Bytes::from)
}

fn arg() -> impl Strategy<Value = Arg> {
    prop_oneof![
        any::<u64>().prop_map(Arg::Imm),
        any::<u16>().prop_map(Arg::Buf),
        any::<u16>().prop_map(Arg::LinkResult),
    ]
}

fn buffer() -> impl Strategy<Value = Buffer<'static>> {
    prop_oneof![
        bytes().prop_map(Buffer::In),
        any::<u32>().prop_map(Buffer::Out),
        bytes().prop_map(Buffer::InOut),
        (any::<u16>(), any::<u16>())
            .prop_map(|(member, output)| Buffer::Linked(LinkedOutput { member, output })),
        arena_range().prop_map(Buffer::ArenaIn),
        arena_range().prop_map(Buffer::ArenaOut),
        arena_range().prop_map(Buffer::ArenaInOut),
    ]
}

fn arena_range() -> impl Strategy<Value = ArenaRange> {
    (any::<u64>(), any::<u32>()).prop_map(|(offset, len)| ArenaRange { offset, len })
}

fn reloc() -> impl Strategy<Value = Reloc> {
    (any::<u16>(), any::<u32>(), any::<u16>(), any::<u32>()).prop_map(
        |(buf, at, target, offset)| Reloc {
            buf,
            at,
            target,
            offset,
        },
    )
}

fn op() -> impl Strategy<Value = Op<'static>> {
    let syscall = (
        any::<u32>(),
        vec(arg(), 0..9),
        vec(buffer(), 0..5),
        vec(reloc(), 0..5),
    )
        .prop_map(|(nr, args, bufs, relocs)| {
            Op::Syscall(SyscallOp {
                nr,
                args: args.into_iter().collect(),
                bufs,
                relocs,
            })
        });
    prop_oneof![
        syscall,
        Just(Op::Nop),
        any::<u64>().prop_map(|u| Op::Cancel {
            target: CancelTarget::UserData(u)
        }),
        any::<i32>().prop_map(|fd| Op::Cancel {
            target: CancelTarget::Fd(fd)
        }),
        (any::<u64>(), any::<u32>()).prop_map(|(nanos, count)| Op::Timeout { nanos, count }),
        any::<u64>().prop_map(|nanos| Op::LinkTimeout { nanos }),
    ]
}

fn submission() -> impl Strategy<Value = Submission<'static>> {
    (any::<u64>(), any::<u8>(), op()).prop_map(|(user_data, flags, op)| Submission {
        user_data,
        flags: SubmissionFlags::from_bits_retain(flags),
        op,
    })
}

fn completion() -> impl Strategy<Value = Completion<'static>> {
    (any::<u64>(), any::<i64>(), any::<u32>(), vec(bytes(), 0..5)).prop_map(
        |(user_data, result, flags, outputs)| Completion {
            user_data,
            result,
            flags: CompletionFlags::from_bits_retain(flags),
            outputs,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn submission_roundtrip(sub in submission()) {
        let bytes = encode_to_vec(&sub).unwrap();
        prop_assert_eq!(bytes.len(), encoded_len(&sub).unwrap());
        let back: Submission = decode(&bytes).unwrap();
        prop_assert_eq!(&back, &sub);
        // Owning the bytes changes nothing observable.
        prop_assert_eq!(back.into_owned(), sub);
    }

    #[test]
    fn completion_roundtrip(c in completion()) {
        let bytes = encode_to_vec(&c).unwrap();
        prop_assert_eq!(bytes.len(), encoded_len(&c).unwrap());
        let back: Completion = decode(&bytes).unwrap();
        prop_assert_eq!(back, c);
    }

    #[test]
    fn encode_into_matches_encode_to_vec(sub in submission(), extra in 0usize..16) {
        let expected = encode_to_vec(&sub).unwrap();
        let mut buf = vec![0xEE; expected.len() + extra];
        let n = encode_into(&sub, &mut buf).unwrap();
        prop_assert_eq!(&buf[..n], &expected[..]);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in vec(any::<u8>(), 0..256)) {
        sysgate_proto::fuzz::fuzz_decode_submission(&data);
        sysgate_proto::fuzz::fuzz_decode_completion(&data);
    }

    #[test]
    fn mutated_frames_never_panic(sub in submission(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = encode_to_vec(&sub).unwrap();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        sysgate_proto::fuzz::fuzz_decode_submission(&bytes);
    }
}
