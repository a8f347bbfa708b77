//! 7. `codec`: the cost of the wire format and the ring, ns per op.
//!
//! Row `encode+decode`: an immediate-only 6-argument submission written
//! and read back the way the gateway and the executor do for this shape
//! (`PlainCall::encode`, `PlainCall::decode`: the bytes of the general
//! codec, in place, validated as read).
//! - general_codec: the same message through the general codec
//!   (`encode_into` a `Submission`, `decode` into one), what every other
//!   shape takes.
//! - fixed_le: a hand-written fixed layout of the same fields (user_data,
//!   flags, nr, 6 words) with `to_le_bytes`/`from_le_bytes` into a 64-byte
//!   array and back: the floor of any encoding of this message — no
//!   versioning, no tags, no validation.
//! - memcpy: copying the encoded number of bytes out and back (2 copies):
//!   what moving the bytes costs with no format at all.
//!
//! Row `completion`: a completion without outputs written and read back
//! (`PlainCompletion`), against the same fixed layout of its three words.
//!
//! Row `ring push+pop`: a 64-byte frame pushed (published at once) and
//! popped on a `sysgate_ring` ring whose both ends are on this thread.
//! - crossbeam_channel: `send` + `recv` of a `[u8; 64]` on a bounded
//!   crossbeam channel, the usual in-process queue between threads (the
//!   sysgate ring also works across processes, with variable-length
//!   frames, in shared memory).
//! - memcpy: copying the 64 bytes in and out.

use std::hint::black_box;

use crate::harness::{Variant, interleave, timed};
use crate::report::{Goal, Report, Target, Unit};
use crate::scenarios::{Config, RowSpec, names, progress, row};
use crate::sysgate_side::{
    FrameRing, encode_decode_6arg, encoded_6arg_len, plain_completion_round_trip,
    plain_encode_decode_6arg,
};

/// The fields of the submission, laid out by hand.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Fixed {
    user_data: u64,
    flags: u8,
    nr: u32,
    words: [u64; 6],
}

fn fixed_encode(m: &Fixed, out: &mut [u8; 64]) {
    out[0..8].copy_from_slice(&m.user_data.to_le_bytes());
    out[8] = m.flags;
    out[9..13].copy_from_slice(&m.nr.to_le_bytes());
    for (i, w) in m.words.iter().enumerate() {
        out[13 + 8 * i..21 + 8 * i].copy_from_slice(&w.to_le_bytes());
    }
}

fn fixed_decode(b: &[u8; 64]) -> Fixed {
    let word = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
    let mut words = [0u64; 6];
    for (i, w) in words.iter_mut().enumerate() {
        *w = word(13 + 8 * i);
    }
    Fixed {
        user_data: word(0),
        flags: b[8],
        nr: u32::from_le_bytes(b[9..13].try_into().expect("4 bytes")),
        words,
    }
}

pub fn run(cfg: &Config, report: &mut Report) {
    let ops: u64 = cfg.pick(200_000, 1_000_000);
    let words = [3u64, 0x7fff_0000_1000, 4096, 1 << 20, 0, 0];
    let len = encoded_6arg_len();

    progress("codec encode+decode");
    let mut buf = [0u8; 256];
    let mut general_buf = [0u8; 256];
    let mut fixed_buf = [0u8; 64];
    let (mut src, mut mid, mut dst) = ([7u8; 128], [0u8; 128], [0u8; 128]);
    let mut variants = vec![
        Variant::new("sysgate", "sysgate_proto PlainCall encode + decode", || {
            timed(ops, || {
                let mut acc = 0;
                for i in 0..ops {
                    acc ^= plain_encode_decode_6arg(&mut buf, black_box(i), black_box(&words));
                }
                black_box(acc)
            })
            .0
        }),
        Variant::new(
            "general_codec",
            "sysgate_proto encode_into + decode (Submission)",
            || {
                timed(ops, || {
                    let mut acc = 0;
                    for i in 0..ops {
                        acc ^=
                            encode_decode_6arg(&mut general_buf, black_box(i), black_box(&words));
                    }
                    black_box(acc)
                })
                .0
            },
        ),
        Variant::new("fixed_le", "hand-written fixed layout (le bytes)", || {
            timed(ops, || {
                let mut acc = 0;
                for i in 0..ops {
                    let m = Fixed {
                        user_data: black_box(i),
                        flags: 0,
                        nr: 17,
                        words: *black_box(&words),
                    };
                    fixed_encode(&m, &mut fixed_buf);
                    let back = fixed_decode(black_box(&fixed_buf));
                    acc ^= back.user_data ^ u64::from(back.nr);
                }
                black_box(acc)
            })
            .0
        }),
        Variant::new(
            "memcpy",
            format!("memcpy of the {len} encoded bytes ×2"),
            || {
                timed(ops, || {
                    for i in 0..ops {
                        src[0] = i as u8;
                        mid[..len].copy_from_slice(&black_box(&src)[..len]);
                        dst[..len].copy_from_slice(&black_box(&mid)[..len]);
                        black_box(&dst);
                    }
                })
                .0
            },
        ),
    ];
    let series = interleave(cfg.warmup, cfg.rounds, &mut variants);
    let n = names(&variants);
    drop(variants);
    report.rows.push(row(
        RowSpec {
            scenario: "codec",
            variant: "encode+decode".into(),
            what: format!("immediate-only 6-arg submission ({len} bytes), ns per round trip"),
            unit: Unit::NsPerOp,
            nominal_ops: ops,
            targets: vec![Target {
                baseline: "fixed_le",
                goal: Goal::AtMostNs(20.0),
                label: "≤ 20 ns",
            }],
        },
        &n,
        &series,
        Vec::new(),
    ));

    progress("codec completion");
    let mut cbuf = [0u8; 64];
    let mut fixed3 = [0u8; 24];
    let mut variants = vec![
        Variant::new(
            "sysgate",
            "sysgate_proto PlainCompletion encode + decode",
            || {
                timed(ops, || {
                    let mut acc = 0;
                    for i in 0..ops {
                        acc ^= plain_completion_round_trip(&mut cbuf, black_box(i), black_box(7));
                    }
                    black_box(acc)
                })
                .0
            },
        ),
        Variant::new("fixed_le", "hand-written fixed layout (le bytes)", || {
            timed(ops, || {
                let mut acc = 0;
                for i in 0..ops {
                    fixed3[..8].copy_from_slice(&black_box(i).to_le_bytes());
                    fixed3[8..16].copy_from_slice(&black_box(7i64).to_le_bytes());
                    fixed3[16..20].copy_from_slice(&1u32.to_le_bytes());
                    let b = black_box(&fixed3);
                    let word = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8"));
                    acc ^= word(0) ^ word(8);
                }
                black_box(acc)
            })
            .0
        }),
    ];
    let series = interleave(cfg.warmup, cfg.rounds, &mut variants);
    let n = names(&variants);
    drop(variants);
    report.rows.push(row(
        RowSpec {
            scenario: "codec",
            variant: "completion".into(),
            what: "completion without outputs (29 bytes), ns per round trip".into(),
            unit: Unit::NsPerOp,
            nominal_ops: ops,
            targets: vec![Target {
                baseline: "fixed_le",
                goal: Goal::AtMostNs(10.0),
                label: "≤ 10 ns",
            }],
        },
        &n,
        &series,
        Vec::new(),
    ));

    progress("codec ring push+pop");
    let mut ring = FrameRing::new();
    let (tx, rx) = crossbeam_channel::bounded::<[u8; 64]>(64);
    let mut frame = [5u8; 64];
    let mut copy_in = [0u8; 64];
    let mut copy_out = [0u8; 64];
    let mut variants = vec![
        Variant::new("sysgate", "sysgate_ring push + pop", || {
            timed(ops, || {
                let mut acc = 0u8;
                for i in 0..ops {
                    frame[0] = i as u8;
                    acc ^= ring.push_pop(black_box(&frame));
                }
                black_box(acc)
            })
            .0
        }),
        Variant::new(
            "crossbeam_channel",
            "crossbeam bounded channel send + recv",
            || {
                timed(ops, || {
                    let mut acc = 0u8;
                    for i in 0..ops {
                        let mut f = *black_box(&[5u8; 64]);
                        f[0] = i as u8;
                        tx.send(f).expect("send");
                        acc ^= rx.recv().expect("recv")[0];
                    }
                    black_box(acc)
                })
                .0
            },
        ),
        Variant::new("memcpy", "memcpy of 64 bytes in and out", || {
            timed(ops, || {
                for i in 0..ops {
                    copy_in[0] = i as u8;
                    copy_out.copy_from_slice(black_box(&copy_in));
                    black_box(&copy_out);
                }
            })
            .0
        }),
    ];
    let series = interleave(cfg.warmup, cfg.rounds, &mut variants);
    let n = names(&variants);
    drop(variants);
    report.rows.push(row(
        RowSpec {
            scenario: "codec",
            variant: "ring push+pop 64B".into(),
            what: "one 64-byte frame through the queue, ns per push+pop".into(),
            unit: Unit::NsPerOp,
            nominal_ops: ops,
            targets: vec![Target {
                baseline: "crossbeam_channel",
                goal: Goal::AtMostNs(15.0),
                label: "≤ 15 ns",
            }],
        },
        &n,
        &series,
        Vec::new(),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_layout_round_trips() {
        let m = Fixed {
            user_data: 0x0102_0304_0506_0708,
            flags: 9,
            nr: 17,
            words: [1, 2, 3, u64::MAX, 5, 6],
        };
        let mut b = [0u8; 64];
        fixed_encode(&m, &mut b);
        assert_eq!(fixed_decode(&b), m);
    }
}
