//! Frames with sequence numbers and checksums, shared by the stress and
//! cross-process tests.
#![allow(dead_code)]

/// splitmix64: a cheap, well-mixed function of its input.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Length of frame `seq` of a stream with `salt`: 16..=16 + spread.
pub fn frame_len(salt: u64, seq: u64, spread: u64) -> usize {
    16 + (mix(seq ^ salt) % (spread + 1)) as usize
}

fn checksum(body: &[u8]) -> u64 {
    let mut c = 0xcbf2_9ce4_8422_2325u64;
    let mut chunks = body.chunks_exact(8);
    for chunk in &mut chunks {
        let w = u64::from_le_bytes(chunk.try_into().unwrap());
        c = (c ^ w).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(17);
    }
    for &b in chunks.remainder() {
        c = (c ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    c
}

/// Fills `buf` with frame `seq`: `[seq][checksum of body][body]`, the body
/// derived from `salt` and `seq`.
pub fn make_frame(salt: u64, seq: u64, spread: u64, buf: &mut Vec<u8>) {
    let len = frame_len(salt, seq, spread);
    buf.clear();
    buf.extend_from_slice(&seq.to_le_bytes());
    buf.extend_from_slice(&[0; 8]);
    let mut i = 0u64;
    while buf.len() < len {
        let w = mix(seq.wrapping_mul(31) ^ salt ^ i).to_le_bytes();
        let n = (len - buf.len()).min(8);
        buf.extend_from_slice(&w[..n]);
        i += 1;
    }
    let c = checksum(&buf[16..]);
    buf[8..16].copy_from_slice(&c.to_le_bytes());
}

/// Checks that `frame` is frame `expected` of the stream: right sequence
/// number (nothing lost, duplicated or reordered), right length, and a body
/// whose checksum matches (nothing corrupted).
pub fn check_frame(salt: u64, expected: u64, spread: u64, frame: &[u8]) -> Result<(), String> {
    if frame.len() < 16 {
        return Err(format!("frame {expected}: only {} bytes", frame.len()));
    }
    let seq = u64::from_le_bytes(frame[..8].try_into().unwrap());
    if seq != expected {
        return Err(format!("expected frame {expected}, got {seq}"));
    }
    let len = frame_len(salt, seq, spread);
    if frame.len() != len {
        return Err(format!(
            "frame {seq}: {} bytes, expected {len}",
            frame.len()
        ));
    }
    let c = u64::from_le_bytes(frame[8..16].try_into().unwrap());
    if c != checksum(&frame[16..]) {
        return Err(format!("frame {seq}: checksum mismatch"));
    }
    Ok(())
}

/// Stages frames `*seq..` (as [`make_frame`] builds them) until `batch`
/// are staged, `total` is reached or the ring is full; returns how many it
/// staged. The caller publishes.
pub fn stage_frames(
    tx: &mut sysgate_ring::Producer,
    salt: u64,
    spread: u64,
    seq: &mut u64,
    total: u64,
    batch: u64,
    buf: &mut Vec<u8>,
) -> u64 {
    let mut staged = 0;
    while staged < batch && *seq < total {
        make_frame(salt, *seq, spread, buf);
        match tx.stage(buf.as_slice()) {
            Ok(()) => {
                *seq += 1;
                staged += 1;
            }
            Err(e) => {
                assert!(e.is_full(), "{e}");
                break;
            }
        }
    }
    staged
}
