//! The in-place shapes against the general codec: the same bytes both
//! ways, and no frame read differently.

use proptest::collection::vec;
use proptest::prelude::*;
use sysgate_proto::{
    Arg, Args, Completion, CompletionFlags, CompletionView, Op, PlainCall, PlainCompletion,
    Submission, SubmissionFlags, SyscallOp, decode, encode_completion, encode_to_vec,
};

fn submission_of(user_data: u64, flags: u8, nr: u32, words: &[u64]) -> Submission<'static> {
    let mut args = Args::new();
    words.iter().for_each(|&w| args.push(Arg::Imm(w)));
    let op = SyscallOp {
        nr,
        args,
        bufs: Vec::new(),
        relocs: Vec::new(),
    };
    Submission::new(user_data, Op::Syscall(op)).with_flags(SubmissionFlags::from_bits_retain(flags))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn plain_calls_are_the_codecs_bytes(
        user_data in any::<u64>(),
        flags in any::<u8>(),
        nr in any::<u32>(),
        words in vec(any::<u64>(), 0..=6),
    ) {
        let bytes = encode_to_vec(&submission_of(user_data, flags, nr, &words)).unwrap();
        let known = SubmissionFlags::from_bits_retain(flags).unknown_bits() == 0;
        let plain = PlainCall::decode(&bytes);
        prop_assert_eq!(plain.is_some(), known);
        if let Some(p) = plain {
            prop_assert_eq!((p.user_data, p.flags.bits(), p.nr), (user_data, flags, nr));
            prop_assert_eq!(&p.args[..usize::from(p.argc)], &words[..]);
            let mut out = vec![0xEE; bytes.len() + 3];
            prop_assert_eq!(p.encode(&mut out), Some(bytes.len()));
            prop_assert_eq!(&out[..bytes.len()], &bytes[..]);
            prop_assert_eq!(p.encode(&mut out[..bytes.len() - 1]), None);
        }
    }

    /// A plain call read out of any bytes is what the general decoder
    /// reads there, and valid.
    #[test]
    fn plain_calls_agree_with_decode(
        words in vec(any::<u64>(), 0..=6),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in 0usize..4,
    ) {
        let mut bytes = encode_to_vec(&submission_of(7, 0, 39, &words)).unwrap();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        bytes.truncate(bytes.len() - cut);
        if let Some(p) = PlainCall::decode(&bytes) {
            let sub: Submission = decode(&bytes).unwrap();
            sub.validate(None).unwrap();
            prop_assert_eq!(sub, submission_of(p.user_data, p.flags.bits(), p.nr, &p.args[..usize::from(p.argc)]));
        }
    }

    #[test]
    fn plain_completions_are_the_codecs_bytes(
        user_data in any::<u64>(),
        result in any::<i64>(),
        flags in any::<u32>(),
        output in vec(any::<u8>(), 0..3),
        with_output in any::<bool>(),
    ) {
        let mut c = Completion::new(user_data, result, CompletionFlags::from_bits_retain(flags));
        if with_output {
            c.outputs.push(output.into());
        }
        let bytes = encode_to_vec(&c).unwrap();
        let plain = PlainCompletion::decode(&bytes);
        prop_assert_eq!(plain.is_some(), !with_output);
        if let Some(p) = plain {
            prop_assert_eq!((p.user_data, p.result, p.flags.bits()), (user_data, result, flags));
            let mut out = vec![0xEE; bytes.len()];
            prop_assert_eq!(p.encode(&mut out), Some(bytes.len()));
            prop_assert_eq!(&out, &bytes);
            let back: Completion = decode(&bytes).unwrap();
            prop_assert_eq!(back, c);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// A completion with outputs, written part by part and read in place,
    /// is the codec's.
    #[test]
    fn completion_views_are_the_codecs(
        user_data in any::<u64>(),
        result in any::<i64>(),
        flags in any::<u32>(),
        outputs in vec(vec(any::<u8>(), 0..40), 0..5),
        prefix in vec(any::<u8>(), 0..3),
    ) {
        let mut c = Completion::new(user_data, result, CompletionFlags::from_bits_retain(flags));
        c.outputs = outputs.iter().map(|o| o.clone().into()).collect();
        let bytes = encode_to_vec(&c).unwrap();
        let head = PlainCompletion { user_data, result, flags: c.flags };
        let mut out = prefix.clone();
        let n = encode_completion(head, outputs.iter().map(|o| &o[..]), &mut out).unwrap();
        prop_assert_eq!(&out[..prefix.len()], &prefix[..]);
        prop_assert_eq!(&out[prefix.len()..], &bytes[..]);
        prop_assert_eq!(n, bytes.len());
        let view = CompletionView::parse(&bytes).unwrap();
        prop_assert_eq!(view.to_completion(), c);
        prop_assert_eq!(view.output_count(), outputs.len());
        prop_assert_eq!(view.output(outputs.len()), None);
    }

    /// Any bytes: a view exactly where the codec decodes, and the same
    /// completion.
    #[test]
    fn completion_views_agree_with_decode(
        outputs in vec(vec(any::<u8>(), 0..20), 0..4),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in 0usize..3,
    ) {
        let mut c = Completion::new(1, 2, CompletionFlags::INLINE);
        c.outputs = outputs.into_iter().map(Into::into).collect();
        let mut bytes = encode_to_vec(&c).unwrap();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        bytes.truncate(bytes.len() - cut);
        let decoded = decode::<Completion>(&bytes);
        let view = CompletionView::parse(&bytes);
        prop_assert_eq!(view.is_some(), decoded.is_ok(), "{:?}", decoded);
        if let (Some(v), Ok(d)) = (view, decoded) {
            prop_assert_eq!(v.to_completion(), d);
        }
    }
}
