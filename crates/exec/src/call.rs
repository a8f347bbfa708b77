//! Turning a validated [`SyscallOp`] into memory and argument words.
//!
//! All buffers of a call live in one arena of 16-byte chunks, each buffer
//! starting on a 16-byte boundary (SPEC.md promises that alignment, so
//! structs like `timespec` or `epoll_event` can be passed). A call whose
//! arguments are all immediate gets no arena and allocates nothing.

use sysgate_proto::{Arg, Buffer, Bytes, SyscallOp};

/// One 16-byte, 16-aligned unit of buffer memory.
#[derive(Clone, Copy)]
#[repr(C, align(16))]
struct Chunk([u8; 16]);

/// Where one buffer lives in the arena.
#[derive(Clone, Copy, Debug)]
struct Slot {
    offset: usize,
    len: usize,
    output: bool,
}

/// What a chain member may use of the members before it: their results
/// (`Arg::LinkResult`) and outputs (`Buffer::Linked`), by chain position.
#[derive(Clone, Copy, Default)]
pub(crate) struct ChainSoFar<'a> {
    pub(crate) results: &'a [i64],
    pub(crate) outputs: &'a [Vec<Bytes<'static>>],
}

impl<'a> ChainSoFar<'a> {
    /// The bytes of output `output` of member `member` (empty if it has
    /// none).
    fn output(&self, member: u16, output: u16) -> &'a [u8] {
        self.outputs
            .get(usize::from(member))
            .and_then(|o| o.get(usize::from(output)))
            .map_or(&[], |b| b)
    }
}

/// A call ready to run: its number, six argument words, and the memory the
/// pointer arguments refer to.
pub(crate) struct PreparedCall {
    pub(crate) nr: u32,
    pub(crate) args: [u64; 6],
    arena: Vec<Chunk>,
    slots: Vec<Slot>,
    /// For each argument, the buffer it points at, if any.
    arg_bufs: [Option<u16>; 6],
    /// Bytes a write- or send-like call has moved already, in attempts
    /// that could not finish (see [`PreparedCall::advance`]).
    moved: u64,
}

impl PreparedCall {
    /// Lays out `op`'s buffers, applies its relocations and resolves its
    /// arguments. `chain` holds the results and outputs of the earlier
    /// requests of this request's link chain.
    ///
    /// `op` must have passed `Submission::validate` with the matching chain
    /// position; indices are re-checked anyway and a bad one becomes 0
    /// rather than a panic.
    pub(crate) fn new(op: &SyscallOp<'_>, chain: ChainSoFar<'_>) -> Self {
        let mut call = PreparedCall {
            nr: op.nr,
            args: [0; 6],
            arena: Vec::new(),
            slots: Vec::new(),
            arg_bufs: [None; 6],
            moved: 0,
        };
        if !op.bufs.is_empty() {
            call.lay_out(&op.bufs, chain);
            for r in &op.relocs {
                call.relocate(r.buf, r.at, r.target, r.offset);
            }
        }
        for (n, arg) in op.args.as_slice().iter().take(6).enumerate() {
            call.args[n] = match *arg {
                Arg::Imm(v) => v,
                Arg::Buf(i) => match call.slots.get(usize::from(i)) {
                    Some(s) => {
                        call.arg_bufs[n] = Some(i);
                        base_addr(&call.arena) + s.offset as u64
                    }
                    None => 0,
                },
                Arg::LinkResult(i) => chain.results.get(usize::from(i)).map_or(0, |&r| r as u64),
            };
        }
        call
    }

    fn lay_out(&mut self, bufs: &[Buffer<'_>], chain: ChainSoFar<'_>) {
        // The bytes a buffer starts with, if any.
        fn data<'b>(b: &'b Buffer<'_>, chain: ChainSoFar<'b>) -> Option<&'b [u8]> {
            match b {
                Buffer::In(d) | Buffer::InOut(d) => Some(&d.0),
                Buffer::Linked(l) => Some(chain.output(l.member, l.output)),
                Buffer::Out(_) => None,
            }
        }
        let mut offset = 0;
        self.slots.reserve_exact(bufs.len());
        for b in bufs {
            let len = data(b, chain).map_or(b.len(), <[u8]>::len);
            self.slots.push(Slot {
                offset,
                len,
                output: b.is_output(),
            });
            offset += len.div_ceil(16) * 16;
        }
        self.arena = vec![Chunk([0; 16]); offset / 16];
        let bytes = arena_bytes_mut(&mut self.arena);
        for (b, s) in bufs.iter().zip(&self.slots) {
            if let Some(d) = data(b, chain) {
                bytes[s.offset..s.offset + s.len].copy_from_slice(d);
            }
        }
    }

    fn relocate(&mut self, buf: u16, at: u32, target: u16, offset: u32) {
        let (Some(dst), Some(src)) = (
            self.slots.get(usize::from(buf)),
            self.slots.get(usize::from(target)),
        ) else {
            return;
        };
        let at = at as usize;
        if at + 8 > dst.len || offset as usize > src.len {
            return;
        }
        let addr = base_addr(&self.arena) + (src.offset + offset as usize) as u64;
        let pos = dst.offset + at;
        arena_bytes_mut(&mut self.arena)[pos..pos + 8].copy_from_slice(&addr.to_ne_bytes());
    }

    /// Whether no argument points into memory this call owns.
    pub(crate) fn is_immediate(&self) -> bool {
        self.slots.is_empty()
    }

    /// Runs the call on this thread and returns the raw result (`-errno` on
    /// failure).
    pub(crate) fn run(&mut self) -> i64 {
        // SAFETY: every argument that names one of this call's buffers points
        // into `self.arena`, which is alive and exclusively borrowed for the
        // duration of the call and as large as validation allowed. Immediate
        // words are the submitter's: submitting a call is the same contract
        // as calling syscall(2) with those words, which the submitter accepted
        // when it handed us the call (see the crate docs).
        unsafe { sysgate_sys::raw_syscall(self.nr, self.args) }
    }

    /// Records that an attempt of a `write(fd, buf, count)`-shaped call
    /// (`write`, `pwrite64`, `sendto`) moved `n` bytes of `count`: the
    /// next attempt sends the rest (and, for `pwrite64`, at the offset
    /// after them).
    pub(crate) fn advance(&mut self, n: u64, positioned: bool) {
        self.args[1] += n;
        self.args[2] -= n;
        if positioned {
            self.args[3] += n;
        }
        self.moved += n;
    }

    /// The call's result given its last attempt's `r`: with bytes moved by
    /// earlier attempts, their sum — or those bytes alone if the last
    /// attempt failed, as a blocking write interrupted midway reports.
    pub(crate) fn total(&self, r: i64) -> i64 {
        match self.moved {
            0 => r,
            moved if r < 0 => moved as i64,
            moved => moved as i64 + r,
        }
    }

    /// The bytes of buffer `i`.
    pub(crate) fn buffer_bytes(&self, i: usize) -> Option<&[u8]> {
        let s = self.slots.get(i)?;
        Some(&arena_bytes(&self.arena)[s.offset..s.offset + s.len])
    }

    /// The bytes of the buffer argument `arg` points at, if it points at one
    /// of this call's buffers.
    pub(crate) fn arg_buffer(&self, arg: usize) -> Option<&[u8]> {
        self.buffer_bytes(usize::from((*self.arg_bufs.get(arg)?)?))
    }

    /// The bytes at `ptr..ptr + len`, if that range lies inside this
    /// call's buffers (an empty range anywhere is `Some(&[])`).
    pub(crate) fn bytes_at(&self, ptr: u64, len: u64) -> Option<&[u8]> {
        if len == 0 {
            return Some(&[]);
        }
        let bytes = arena_bytes(&self.arena);
        let start = ptr.checked_sub(base_addr(&self.arena))?;
        let end = start.checked_add(len)?;
        if end > bytes.len() as u64 {
            return None;
        }
        Some(&bytes[start as usize..end as usize])
    }

    /// The bytes of buffer argument `arg` as mutable, if it points at one of
    /// this call's buffers.
    pub(crate) fn arg_buffer_mut(&mut self, arg: usize) -> Option<&mut [u8]> {
        let s = *self.slots.get(usize::from((*self.arg_bufs.get(arg)?)?))?;
        Some(&mut arena_bytes_mut(&mut self.arena)[s.offset..s.offset + s.len])
    }

    /// The index of the buffer argument `arg` points at, if any.
    pub(crate) fn arg_buffer_index(&self, arg: usize) -> Option<usize> {
        self.arg_bufs.get(arg).copied().flatten().map(usize::from)
    }

    /// The contents of the output and in/out buffers, in order.
    /// `filled` is the buffer (by index) whose useful length is the call's
    /// result, for calls like `read` that return how much they wrote.
    pub(crate) fn outputs(&self, result: i64, filled: Option<usize>) -> Vec<Bytes<'static>> {
        let bytes = arena_bytes(&self.arena);
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.output)
            .map(|(i, s)| {
                let len = match filled {
                    Some(f) if f == i => usize::try_from(result).unwrap_or(0).min(s.len),
                    _ => s.len,
                };
                Bytes::from(bytes[s.offset..s.offset + len].to_vec())
            })
            .collect()
    }
}

fn base_addr(arena: &[Chunk]) -> u64 {
    arena.as_ptr() as u64
}

fn arena_bytes(arena: &[Chunk]) -> &[u8] {
    // SAFETY: `Chunk` is `repr(C)` over `[u8; 16]` with no padding, so a
    // slice of n chunks is exactly 16·n initialised bytes at the same address.
    unsafe { std::slice::from_raw_parts(arena.as_ptr().cast::<u8>(), arena.len() * 16) }
}

fn arena_bytes_mut(arena: &mut [Chunk]) -> &mut [u8] {
    // SAFETY: as in `arena_bytes`; the exclusive borrow of the chunks carries
    // over to the bytes.
    unsafe { std::slice::from_raw_parts_mut(arena.as_mut_ptr().cast::<u8>(), arena.len() * 16) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sysgate_proto::Reloc;

    #[test]
    fn immediate_calls_have_no_arena() {
        let op = SyscallOp::immediate(8, &[3, 0, 2]);
        let call = PreparedCall::new(&op, ChainSoFar::default());
        assert!(call.is_immediate());
        assert_eq!(call.args, [3, 0, 2, 0, 0, 0]);
    }

    #[test]
    fn buffers_are_aligned_and_relocated() {
        let op = SyscallOp {
            nr: 19,
            args: [Arg::Imm(3), Arg::Buf(0), Arg::Imm(2)]
                .into_iter()
                .collect(),
            bufs: vec![
                Buffer::In(vec![7u8; 32].into()),
                Buffer::Out(5),
                Buffer::Out(8),
            ],
            relocs: vec![
                Reloc {
                    buf: 0,
                    at: 0,
                    target: 1,
                    offset: 0,
                },
                Reloc {
                    buf: 0,
                    at: 16,
                    target: 2,
                    offset: 3,
                },
            ],
        };
        let call = PreparedCall::new(&op, ChainSoFar::default());
        let iov = call.buffer_bytes(0).unwrap();
        let b1 = call.buffer_bytes(1).unwrap().as_ptr() as u64;
        let b2 = call.buffer_bytes(2).unwrap().as_ptr() as u64;
        assert_eq!(call.args[1], iov.as_ptr() as u64);
        for addr in [call.args[1], b1, b2] {
            assert_eq!(addr % 16, 0);
        }
        assert_eq!(u64::from_ne_bytes(iov[0..8].try_into().unwrap()), b1);
        assert_eq!(u64::from_ne_bytes(iov[16..24].try_into().unwrap()), b2 + 3);
        assert_eq!(
            &iov[8..16],
            &[7; 8],
            "bytes around the relocations are kept"
        );
        let outs = call.outputs(2, Some(1));
        assert_eq!(outs.len(), 2);
        assert_eq!(outs[0].len(), 2, "buffer 1 trimmed to the result");
        assert_eq!(outs[1].len(), 8);
    }

    #[test]
    fn link_results_become_words() {
        let op = SyscallOp {
            nr: 0,
            args: [Arg::LinkResult(1), Arg::LinkResult(0)]
                .into_iter()
                .collect(),
            bufs: vec![],
            relocs: vec![],
        };
        let results = [5, -2];
        let chain = ChainSoFar {
            results: &results,
            outputs: &[],
        };
        let call = PreparedCall::new(&op, chain);
        assert_eq!(call.args[..2], [-2i64 as u64, 5]);
    }
}
