//! Unit tests: framing, sizes, handles, mapping checks, corruption, waits.

use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering as StdOrdering};
use std::thread;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use crate::layout::{self, FRAME_TAG, SKIP_TAG, flags, record_bytes};
use crate::{
    CompletionPoster, Endpoint, HeaderField, IndexKind, Posted, PushError, Region, RegionError,
    RegionSizes, RingError, RingId, SizeField, WaitStatus, fuzz_ring,
};

fn sizes(sq: u32, cq: u32, max: u32) -> RegionSizes {
    RegionSizes {
        sq_bytes: sq,
        cq_bytes: cq,
        max_frame: max,
    }
}

fn frame(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add((i as u8).wrapping_mul(7)))
        .collect()
}

/// Reads a record header word of the SQ ring at byte `pos`.
fn sq_record(region: &Region, pos: usize) -> (u32, u32) {
    let lo = region.peek_u32(layout::HEADER_BYTES + pos);
    let hi = region.peek_u32(layout::HEADER_BYTES + pos + 4);
    (hi, lo)
}

#[test]
fn frames_of_every_length_round_trip() {
    let region = Region::create(sizes(1024, 1024, 200)).unwrap();
    let mut tx = region.sq_producer().unwrap();
    let mut rx = region.sq_consumer().unwrap();
    let mut out = Vec::new();
    for len in 0..=200 {
        let f = frame(len, len as u8);
        tx.push(f.as_slice()).unwrap();
        assert_eq!(rx.pop(&mut out).unwrap(), Some(len));
        assert_eq!(out, f);
    }
    assert_eq!(rx.pop(&mut out).unwrap(), None);
}

#[test]
fn a_record_that_does_not_fit_before_the_end_goes_behind_a_skip_record() {
    let region = Region::create(sizes(64, 64, 24)).unwrap();
    let mut tx = region.sq_producer().unwrap();
    let mut rx = region.sq_consumer().unwrap();
    let mut out = Vec::new();
    for i in 0..3 {
        tx.push(frame(8, i).as_slice()).unwrap(); // 16-byte records
        assert_eq!(rx.pop(&mut out).unwrap(), Some(8));
    }
    // Tail at 48: a 32-byte record does not fit in the last 16 bytes.
    tx.push(frame(24, 9).as_slice()).unwrap();
    assert_eq!(sq_record(&region, 48), (SKIP_TAG, 8));
    assert_eq!(sq_record(&region, 0), (FRAME_TAG, 24));
    assert_eq!(region.peek_u32(layout::OFF_SQ_TAIL), 48 + 16 + 32);
    assert_eq!(rx.pop(&mut out).unwrap(), Some(24));
    assert_eq!(out, frame(24, 9));
    assert_eq!(region.peek_u32(layout::OFF_SQ_HEAD), 96);
}

#[test]
fn a_full_ring_hands_the_frame_back_and_takes_it_after_a_pop() {
    let region = Region::create(sizes(128, 64, 24)).unwrap();
    let mut tx = region.sq_producer().unwrap();
    let mut rx = region.sq_consumer().unwrap();
    let f = frame(24, 1); // 32-byte records: four fit
    for _ in 0..4 {
        tx.push(f.as_slice()).unwrap();
    }
    match tx.push(f.clone()) {
        Err(PushError::Full(back)) => assert_eq!(back, f),
        other => panic!("expected Full, got {other:?}"),
    }
    assert!(!tx.has_room(24).unwrap());
    let mut out = Vec::new();
    assert_eq!(rx.pop(&mut out).unwrap(), Some(24));
    assert!(tx.has_room(24).unwrap());
    tx.push(f.as_slice()).unwrap();
    for _ in 0..4 {
        assert_eq!(rx.pop(&mut out).unwrap(), Some(24));
    }
    assert_eq!(rx.pop(&mut out).unwrap(), None);
}

#[test]
fn staged_frames_are_invisible_until_published() {
    let region = Region::create(sizes(256, 64, 24)).unwrap();
    let mut tx = region.sq_producer().unwrap();
    let mut rx = region.sq_consumer().unwrap();
    let mut out = Vec::new();
    for i in 0..3 {
        tx.stage(frame(10, i)).unwrap();
    }
    assert_eq!(rx.pop(&mut out).unwrap(), None);
    assert!(rx.is_empty().unwrap());
    tx.publish().unwrap();
    for i in 0..3 {
        assert_eq!(rx.read(&mut out).unwrap(), Some(10));
        assert_eq!(out, frame(10, i));
    }
    // Read but not released: the producer still sees the space as taken.
    assert_eq!(region.peek_u32(layout::OFF_SQ_HEAD), 0);
    rx.release().unwrap();
    assert_eq!(region.peek_u32(layout::OFF_SQ_HEAD), 3 * 24);
}

#[test]
fn the_maximum_frame_is_checked_on_the_producer_side() {
    let region = Region::create(sizes(256, 256, 40)).unwrap();
    let mut tx = region.sq_producer().unwrap();
    let f = frame(41, 0);
    match tx.push(f.as_slice()) {
        Err(PushError::TooLarge { frame, max }) => {
            assert_eq!(frame.len(), 41);
            assert_eq!(max, 40);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(
        tx.has_room(41),
        Err(RingError::FrameExceedsMax {
            ring: RingId::Sq,
            len: 41,
            max: 40
        })
    );
    tx.push(frame(40, 0)).unwrap();
}

#[test]
fn sizes_are_validated() {
    let bad = |s: RegionSizes| Region::create(s).unwrap_err();
    assert_eq!(
        bad(sizes(100, 64, 8)),
        RegionError::NotPowerOfTwo {
            field: SizeField::SqBytes,
            value: 100
        }
    );
    assert!(matches!(
        bad(sizes(64, 32, 8)),
        RegionError::SizeOutOfRange {
            field: SizeField::CqBytes,
            ..
        }
    ));
    assert_eq!(
        bad(sizes(64, 128, 25)),
        RegionError::SizeOutOfRange {
            field: SizeField::MaxFrame,
            value: 25,
            min: 1,
            max: 24
        }
    );
    assert!(matches!(
        bad(sizes(64, 64, 0)),
        RegionError::SizeOutOfRange {
            field: SizeField::MaxFrame,
            ..
        }
    ));
    assert!(matches!(
        bad(sizes(1 << 31, 64, 8)),
        RegionError::SizeOutOfRange {
            field: SizeField::SqBytes,
            ..
        }
    ));
    assert!(Region::create(sizes(64, 1 << 20, 24)).is_ok());
}

#[test]
fn each_handle_is_taken_once_per_process() {
    let region = Region::create(sizes(64, 64, 8)).unwrap();
    let _a = region.sq_producer().unwrap();
    let _b = region.sq_consumer().unwrap();
    let _c = region.cq_producer().unwrap();
    let _d = region.cq_consumer().unwrap();
    assert_eq!(
        region.sq_producer().unwrap_err(),
        RegionError::HandleTaken(Endpoint::SqProducer)
    );
    assert_eq!(
        region.clone().cq_consumer().unwrap_err(),
        RegionError::HandleTaken(Endpoint::CqConsumer)
    );
}

#[test]
fn handles_keep_the_mapping_alive_and_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let region = Region::create(sizes(256, 256, 64)).unwrap();
    let mut tx = region.sq_producer().unwrap();
    let rx = region.sq_consumer().unwrap();
    let poster = CompletionPoster::new(region.cq_producer().unwrap());
    assert_send(&tx);
    assert_send(&rx);
    assert_send(&poster);
    assert_send(&region);
    drop(region);
    let t = thread::spawn(move || {
        let mut rx = rx;
        let mut out = Vec::new();
        while rx.wait(Some(Duration::from_secs(10))).unwrap() != WaitStatus::Ready {}
        rx.pop(&mut out).unwrap();
        out
    });
    tx.push(b"alive".as_slice()).unwrap();
    assert_eq!(t.join().unwrap(), b"alive");
}

#[test]
fn a_mapped_region_shares_the_rings() {
    let region = Region::create(sizes(4096, 8192, 1000)).unwrap();
    let fd = region.fd().try_clone_to_owned().unwrap();
    let peer = Region::map(fd).unwrap();
    assert_eq!(peer.sizes(), region.sizes());
    assert_eq!(peer.total_bytes(), region.total_bytes());
    let mut tx = region.sq_producer().unwrap();
    let mut rx = peer.sq_consumer().unwrap();
    let mut ctx = CompletionPoster::new(peer.cq_producer().unwrap());
    let mut crx = region.cq_consumer().unwrap();
    let mut out = Vec::new();
    for i in 0..100u8 {
        tx.push(frame(i as usize * 9, i)).unwrap();
        assert_eq!(rx.pop(&mut out).unwrap(), Some(i as usize * 9));
        assert_eq!(out, frame(i as usize * 9, i));
        assert_eq!(ctx.post(frame(i as usize, i)).unwrap(), Posted::Ring);
        assert_eq!(crx.pop(&mut out).unwrap(), Some(i as usize));
    }
}

/// A fresh memfd with a copy of `region`'s bytes, then `edit`, then `seals`.
fn forged(region: &Region, edit: impl FnOnce(&mut Vec<u8>), seal: bool) -> OwnedFd {
    let mut bytes = vec![0u8; region.total_bytes()];
    for (i, chunk) in bytes.chunks_mut(4).enumerate() {
        chunk.copy_from_slice(&region.peek_u32(i * 4).to_ne_bytes());
    }
    edit(&mut bytes);
    // SAFETY: literal name; flags are valid.
    let raw = unsafe { libc::memfd_create(c"forged".as_ptr(), libc::MFD_ALLOW_SEALING) };
    assert!(raw >= 0);
    // SAFETY: a fresh fd we own.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut file = std::fs::File::from(fd);
    std::io::Write::write_all(&mut file, &bytes).unwrap();
    let fd = OwnedFd::from(file);
    if seal {
        // SAFETY: plain fcntl on an fd we own.
        let rc = unsafe {
            libc::fcntl(
                std::os::fd::AsRawFd::as_raw_fd(&fd),
                libc::F_ADD_SEALS,
                libc::F_SEAL_SHRINK,
            )
        };
        assert_eq!(rc, 0);
    }
    fd
}

#[test]
fn mapping_checks_every_header_field() {
    let region = Region::create(sizes(4096, 4096, 100)).unwrap();
    let set32 = |off: usize, v: u32| {
        move |b: &mut Vec<u8>| b[off..off + 4].copy_from_slice(&v.to_ne_bytes())
    };
    let map = |edit: &dyn Fn(&mut Vec<u8>), seal: bool| Region::map(forged(&region, edit, seal));

    assert!(map(&|_| {}, true).is_ok());
    assert!(matches!(
        map(&|_| {}, false),
        Err(RegionError::NotSealed { .. })
    ));
    assert!(matches!(
        map(&|b| b[0] ^= 1, true),
        Err(RegionError::BadMagic { .. })
    ));
    assert_eq!(
        map(&set32(layout::OFF_VERSION, 2), true).unwrap_err(),
        RegionError::UnsupportedVersion { found: 2 }
    );
    assert_eq!(
        map(&set32(layout::OFF_SQ_BYTES, 4095), true).unwrap_err(),
        RegionError::NotPowerOfTwo {
            field: SizeField::SqBytes,
            value: 4095
        }
    );
    assert!(matches!(
        map(&set32(layout::OFF_MAX_FRAME, 4096), true),
        Err(RegionError::SizeOutOfRange {
            field: SizeField::MaxFrame,
            ..
        })
    ));
    assert_eq!(
        map(&set32(layout::OFF_SQ_OFFSET, 0), true).unwrap_err(),
        RegionError::BadHeader {
            field: HeaderField::SqOffset,
            found: 0,
            expected: 4096
        }
    );
    assert!(matches!(
        map(&set32(layout::OFF_HEADER_BYTES, 64), true),
        Err(RegionError::BadHeader {
            field: HeaderField::HeaderBytes,
            ..
        })
    ));
    assert!(matches!(
        map(&set32(layout::OFF_RESERVED, 1), true),
        Err(RegionError::BadHeader {
            field: HeaderField::Reserved,
            ..
        })
    ));
    assert!(matches!(
        map(&set32(layout::OFF_TOTAL_BYTES, 1), true),
        Err(RegionError::BadHeader {
            field: HeaderField::TotalBytes,
            ..
        })
    ));
    // Consistent header, file one page too long.
    assert!(matches!(
        map(&|b: &mut Vec<u8>| b.extend_from_slice(&[0; 4096]), true),
        Err(RegionError::LengthMismatch { .. })
    ));
    assert!(matches!(
        map(&|b: &mut Vec<u8>| b.truncate(100), true),
        Err(RegionError::TooShort { len: 100 })
    ));
    // Not a memfd at all: F_GET_SEALS says EINVAL.
    let file = std::fs::File::open("/proc/self/exe").unwrap();
    assert_eq!(
        Region::map(file.into()).unwrap_err(),
        RegionError::Syscall {
            call: crate::RegionCall::GetSeals,
            errno: crate::Errno::EINVAL
        }
    );
}

#[test]
fn the_created_memfd_cannot_be_shrunk() {
    let region = Region::create(sizes(64, 64, 8)).unwrap();
    let raw = std::os::fd::AsRawFd::as_raw_fd(&region.fd().as_fd());
    // SAFETY: plain syscall on a live fd.
    let rc = unsafe { libc::ftruncate(raw, 0) };
    assert_eq!(rc, -1);
    assert_eq!(crate::Errno::last(), crate::Errno::EPERM);
}

/// A region with one published 16-byte frame in the SQ, and its handles.
fn one_frame() -> (Region, crate::Producer, crate::Consumer) {
    let region = Region::create(sizes(256, 256, 64)).unwrap();
    let mut tx = region.sq_producer().unwrap();
    let rx = region.sq_consumer().unwrap();
    tx.push(frame(16, 3)).unwrap();
    (region, tx, rx)
}

#[test]
fn a_corrupt_tail_is_a_typed_error_and_the_consumer_recovers() {
    let (region, _tx, mut rx) = one_frame();
    let mut out = Vec::new();
    region.poke_u32(layout::OFF_SQ_TAIL, 1000);
    let err = RingError::IndexOutOfRange {
        ring: RingId::Sq,
        index: IndexKind::Tail,
        head: 0,
        tail: 1000,
        capacity: 256,
    };
    assert_eq!(rx.pop(&mut out), Err(err.clone()));
    assert_eq!(rx.pop(&mut out), Err(err.clone()));
    assert_eq!(rx.wait(Some(Duration::ZERO)), Err(err));
    region.poke_u32(layout::OFF_SQ_TAIL, 12);
    assert_eq!(
        rx.pop(&mut out),
        Err(RingError::MisalignedIndex {
            ring: RingId::Sq,
            index: IndexKind::Tail,
            value: 12
        })
    );
    // Behind the head counts as out of range too (wraps to a huge distance).
    region.poke_u32(layout::OFF_SQ_TAIL, u32::MAX - 7);
    assert!(matches!(
        rx.pop(&mut out),
        Err(RingError::IndexOutOfRange { .. })
    ));
    region.poke_u32(layout::OFF_SQ_TAIL, 24);
    assert_eq!(rx.pop(&mut out).unwrap(), Some(16));
    assert_eq!(out, frame(16, 3));
}

#[test]
fn corrupt_records_are_typed_errors() {
    let sq = layout::HEADER_BYTES;
    let header = |tag: u32, len: u32| layout::record_header(tag, len).to_ne_bytes();
    type Corruption = Box<dyn Fn(&Region)>;
    let cases: Vec<(Corruption, RingError)> = vec![
        (
            Box::new(move |r| r.scribble(sq + 4, &0xdead_beefu32.to_ne_bytes())),
            RingError::BadRecordTag {
                ring: RingId::Sq,
                offset: 0,
                tag: 0xdead_beef,
            },
        ),
        (
            Box::new(move |r| r.scribble(sq, &header(FRAME_TAG, 65))),
            RingError::FrameTooLarge {
                ring: RingId::Sq,
                offset: 0,
                len: 65,
                max: 64,
            },
        ),
        (
            Box::new(move |r| r.scribble(sq, &header(FRAME_TAG, 17))),
            RingError::RecordPastTail {
                ring: RingId::Sq,
                offset: 0,
                record: 32,
                available: 24,
            },
        ),
        (
            Box::new(move |r| r.scribble(sq, &header(FRAME_TAG, u32::MAX))),
            RingError::FrameTooLarge {
                ring: RingId::Sq,
                offset: 0,
                len: u32::MAX,
                max: 64,
            },
        ),
        (
            Box::new(move |r| r.scribble(sq, &header(SKIP_TAG, 16))),
            RingError::BadSkip {
                ring: RingId::Sq,
                offset: 0,
                len: 16,
            },
        ),
    ];
    for (corrupt, expected) in cases {
        let (region, _tx, mut rx) = one_frame();
        corrupt(&region);
        let mut out = Vec::new();
        assert_eq!(rx.pop(&mut out), Err(expected.clone()));
        assert_eq!(rx.pop(&mut out), Err(expected));
    }
}

#[test]
fn skip_records_and_wrapping_frames_are_checked() {
    let region = Region::create(sizes(64, 64, 24)).unwrap();
    let mut tx = region.sq_producer().unwrap();
    let mut rx = region.sq_consumer().unwrap();
    let mut out = Vec::new();
    for i in 0..3 {
        tx.push(frame(8, i)).unwrap();
        rx.pop(&mut out).unwrap();
    }
    tx.push(frame(24, 1)).unwrap(); // skip at 48, frame at 0
    let at48 = layout::HEADER_BYTES + 48;
    // A skip that does not reach the end.
    region.scribble(at48, &layout::record_header(SKIP_TAG, 0).to_ne_bytes());
    assert_eq!(
        rx.pop(&mut out),
        Err(RingError::BadSkip {
            ring: RingId::Sq,
            offset: 48,
            len: 0
        })
    );
    // A frame at 48 that would run past the end of the ring.
    region.scribble(at48, &layout::record_header(FRAME_TAG, 16).to_ne_bytes());
    assert_eq!(
        rx.pop(&mut out),
        Err(RingError::RecordWraps {
            ring: RingId::Sq,
            offset: 48,
            record: 24
        })
    );
    region.scribble(at48, &layout::record_header(SKIP_TAG, 8).to_ne_bytes());
    assert_eq!(rx.pop(&mut out).unwrap(), Some(24));
}

#[test]
fn a_corrupt_head_is_a_typed_error_for_the_producer() {
    let region = Region::create(sizes(64, 64, 24)).unwrap();
    let mut tx = region.sq_producer().unwrap();
    tx.push(frame(24, 0)).unwrap();
    tx.push(frame(24, 0)).unwrap();
    region.poke_u32(layout::OFF_SQ_HEAD, 4);
    match tx.push(frame(24, 5)) {
        Err(PushError::Corrupt { frame: f, error }) => {
            assert_eq!(f, frame(24, 5));
            assert_eq!(
                error,
                RingError::MisalignedIndex {
                    ring: RingId::Sq,
                    index: IndexKind::Head,
                    value: 4
                }
            );
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    region.poke_u32(layout::OFF_SQ_HEAD, 1 << 20);
    assert!(matches!(
        tx.has_room(8),
        Err(RingError::IndexOutOfRange {
            index: IndexKind::Head,
            ..
        })
    ));
    // A hostile head that claims everything was read is in range: the
    // producer may overwrite unread frames, which is the peer's loss only.
    region.poke_u32(layout::OFF_SQ_HEAD, 64);
    assert!(tx.has_room(24).unwrap());
}

#[test]
fn handles_refuse_to_start_from_corrupt_indices() {
    let region = Region::create(sizes(64, 64, 8)).unwrap();
    region.poke_u32(layout::OFF_SQ_TAIL, 3);
    region.poke_u32(layout::OFF_CQ_HEAD, 5);
    assert!(matches!(
        region.sq_producer(),
        Err(RegionError::Corrupt(RingError::MisalignedIndex { .. }))
    ));
    assert!(matches!(
        region.cq_consumer(),
        Err(RegionError::Corrupt(RingError::MisalignedIndex { .. }))
    ));
    // The claim is given back: once sane, the handle can be taken.
    region.poke_u32(layout::OFF_SQ_TAIL, 0);
    assert!(region.sq_producer().is_ok());
}

#[test]
fn wait_times_out_on_an_empty_ring_and_returns_at_once_when_not_empty() {
    let region = Region::create(sizes(256, 256, 64)).unwrap();
    let mut tx = region.sq_producer().unwrap();
    let mut rx = region.sq_consumer().unwrap();
    let start = Instant::now();
    assert_eq!(
        rx.wait(Some(Duration::from_millis(30))).unwrap(),
        WaitStatus::TimedOut
    );
    assert!(start.elapsed() >= Duration::from_millis(30));
    assert_eq!(region.flags() & flags::SQ_NEED_WAKEUP, 0);
    tx.push(frame(3, 0)).unwrap();
    assert_eq!(tx.wakes(), 0, "nobody was asleep");
    assert_eq!(rx.wait(None).unwrap(), WaitStatus::Ready);
}

#[test]
fn a_sleeping_consumer_is_woken_by_publish() {
    let region = Region::create(sizes(256, 256, 64)).unwrap();
    let mut tx = region.sq_producer().unwrap();
    let mut rx = region.sq_consumer().unwrap();
    let woke = thread::spawn(move || {
        let mut out = Vec::new();
        loop {
            match rx.wait(Some(Duration::from_secs(30))).unwrap() {
                WaitStatus::Ready => break,
                WaitStatus::Spurious => continue,
                WaitStatus::TimedOut => panic!("wake-up lost"),
            }
        }
        rx.pop(&mut out).unwrap();
        out
    });
    // Publish only once the consumer has announced it sleeps.
    let deadline = Instant::now() + Duration::from_secs(30);
    while region.flags() & flags::SQ_NEED_WAKEUP == 0 {
        assert!(Instant::now() < deadline);
        thread::sleep(Duration::from_millis(1));
    }
    tx.push(b"wake".as_slice()).unwrap();
    assert_eq!(tx.wakes(), 1);
    assert_eq!(woke.join().unwrap(), b"wake");
}

#[test]
fn a_producer_waiting_for_space_is_woken_by_release() {
    let region = Region::create(sizes(64, 64, 24)).unwrap();
    let mut tx = region.sq_producer().unwrap();
    let mut rx = region.sq_consumer().unwrap();
    tx.push(frame(24, 0)).unwrap();
    tx.push(frame(24, 1)).unwrap();
    assert!(tx.push(frame(24, 2)).unwrap_err().is_full());
    let waiter = thread::spawn(move || {
        loop {
            match tx
                .wait_for_space(24, Some(Duration::from_secs(30)))
                .unwrap()
            {
                WaitStatus::Ready => break,
                WaitStatus::Spurious => continue,
                WaitStatus::TimedOut => panic!("space wake-up lost"),
            }
        }
        tx.push(frame(24, 2)).unwrap();
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while region.flags() & flags::SQ_SPACE_WAIT == 0 {
        assert!(Instant::now() < deadline);
        thread::sleep(Duration::from_millis(1));
    }
    let mut out = Vec::new();
    assert_eq!(rx.pop(&mut out).unwrap(), Some(24));
    assert_eq!(rx.wakes(), 1);
    waiter.join().unwrap();
    for i in 1..3 {
        assert_eq!(rx.pop(&mut out).unwrap(), Some(24));
        assert_eq!(out, frame(24, i));
    }
}

#[test]
fn steady_state_push_pop_never_wakes() {
    let region = Region::create(sizes(4096, 4096, 200)).unwrap();
    let mut tx = region.sq_producer().unwrap();
    let mut rx = region.sq_consumer().unwrap();
    let mut out = Vec::with_capacity(200);
    let f = frame(64, 0);
    for _ in 0..100_000 {
        tx.push(f.as_slice()).unwrap();
        assert_eq!(rx.pop(&mut out).unwrap(), Some(64));
    }
    assert_eq!((tx.wakes(), rx.wakes()), (0, 0));
}

#[test]
fn the_poster_backlog_sets_and_clears_cq_overflow() {
    let region = Region::create(sizes(64, 64, 24)).unwrap();
    let mut poster = CompletionPoster::new(region.cq_producer().unwrap());
    let mut rx = region.cq_consumer().unwrap();
    let mut out = Vec::new();
    assert_eq!(poster.post(frame(24, 0)).unwrap(), Posted::Ring);
    assert_eq!(poster.post(frame(24, 1)).unwrap(), Posted::Ring);
    assert!(!region.cq_overflow());
    assert_eq!(poster.post(frame(24, 2)).unwrap(), Posted::Backlog);
    assert!(region.cq_overflow());
    assert_eq!(poster.post(frame(0, 3)).unwrap(), Posted::Backlog);
    assert_eq!(poster.backlog_len(), 2);
    assert_eq!(poster.flush().unwrap(), 2);
    assert_eq!(
        poster.wait_for_space(Some(Duration::ZERO)).unwrap(),
        WaitStatus::TimedOut
    );
    assert_eq!(rx.pop(&mut out).unwrap(), Some(24));
    assert_eq!(out, frame(24, 0));
    // Space for one: it goes in, the other stays, the flag stays.
    assert_eq!(poster.flush().unwrap(), 1);
    assert!(region.cq_overflow());
    // A new completion queues behind the backlog, never ahead of it.
    assert_eq!(poster.post(frame(5, 4)).unwrap(), Posted::Backlog);
    let mut seen = Vec::new();
    while seen.len() < 4 {
        if let Some(n) = rx.pop(&mut out).unwrap() {
            seen.push((n, out[..n.min(1)].to_vec()));
        }
        poster.flush().unwrap();
    }
    assert_eq!(poster.backlog_len(), 0);
    assert!(!region.cq_overflow());
    let lens: Vec<usize> = seen.iter().map(|s| s.0).collect();
    assert_eq!(lens, [24, 24, 0, 5]);
    assert!(matches!(
        poster.post(frame(25, 0)),
        Err(crate::PostError::TooLarge { max: 24, .. })
    ));
    assert_eq!(poster.overflowed(), 3);
}

#[test]
fn fuzz_body_survives_known_nasty_inputs() {
    // Scribble the SQ tail to huge, then pop; scribble tags, then pop; map
    // again after wrecking the magic.
    let inputs: [&[u8]; 5] = [
        &[],
        &[0, 0, 0],
        &[1, 1, 20, 0x80, 128, 1, 4, 0xff, 0xff, 0xff, 0x7f, 3, 6, 8],
        &[
            0, 0, 20, 2, 16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0, 0, 0, 8, 9,
            9, 9, 9, 9, 9, 9, 9, 3,
        ],
        &[
            4, 4, 255, 0x80, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 8, 4, 200, 7, 5, 6, 9,
        ],
    ];
    for input in inputs {
        fuzz_ring(input);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn fuzz_body_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        fuzz_ring(&bytes);
    }

    #[test]
    fn random_frame_sequences_arrive_intact_and_in_order(
        lens in proptest::collection::vec(0usize..=120, 1..200),
        batch in 1usize..8,
    ) {
        let region = Region::create(sizes(256, 256, 120)).unwrap();
        let mut tx = region.sq_producer().unwrap();
        let mut rx = region.sq_consumer().unwrap();
        let mut out = Vec::new();
        let mut next_in = 0;
        let mut next_out = 0;
        while next_out < lens.len() {
            let mut staged = 0;
            while next_in < lens.len() && staged < batch {
                match tx.stage(frame(lens[next_in], next_in as u8)) {
                    Ok(()) => { next_in += 1; staged += 1; }
                    Err(e) => { prop_assert!(e.is_full()); break; }
                }
            }
            tx.publish().unwrap();
            while let Some(n) = rx.read(&mut out).unwrap() {
                prop_assert_eq!(n, lens[next_out]);
                prop_assert_eq!(&out, &frame(lens[next_out], next_out as u8));
                next_out += 1;
            }
            rx.release().unwrap();
        }
        prop_assert!(used_no_more_than_capacity(&region));
    }
}

fn used_no_more_than_capacity(region: &Region) -> bool {
    let head = region.peek_u32(layout::OFF_SQ_HEAD);
    let tail = region.peek_u32(layout::OFF_SQ_TAIL);
    tail.wrapping_sub(head) <= region.sizes().sq_bytes && head == tail
}

#[test]
fn record_bytes_matches_what_the_ring_uses() {
    let region = Region::create(sizes(1024, 1024, 100)).unwrap();
    let mut tx = region.sq_producer().unwrap();
    let mut expected = 0;
    for len in [0usize, 1, 7, 8, 9, 100] {
        tx.push(frame(len, 0)).unwrap();
        expected += record_bytes(len) as u32;
        assert_eq!(region.peek_u32(layout::OFF_SQ_TAIL), expected);
    }
}

#[test]
fn racing_short_sleeps_lose_no_frame() {
    // Many short sleeps against a producer that publishes at random moments:
    // the consumer must always end up seeing every frame.
    let region = Region::create(sizes(1024, 1024, 64)).unwrap();
    let mut tx = region.sq_producer().unwrap();
    let mut rx = region.sq_consumer().unwrap();
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        s.spawn(|| {
            let mut out = Vec::new();
            let mut got = 0u32;
            while got < 2000 {
                match rx.pop(&mut out).unwrap() {
                    Some(_) => {
                        assert_eq!(out, got.to_le_bytes());
                        got += 1;
                    }
                    None => {
                        let _ = rx.wait(Some(Duration::from_secs(30))).unwrap();
                    }
                }
            }
            done.store(true, StdOrdering::Relaxed);
        });
        for i in 0..2000u32 {
            while tx.push(i.to_le_bytes()).is_err() {
                thread::yield_now();
            }
            if i.is_multiple_of(3) {
                thread::yield_now();
            }
        }
    });
    assert!(done.load(StdOrdering::Relaxed));
    assert_eq!(region.flags() & flags::SQ_NEED_WAKEUP, 0);
}
