//! Turning a validated [`SyscallOp`] into memory and argument words.
//!
//! All buffers a call carries in its frame live in one block of 16-byte
//! chunks, each buffer starting on a 16-byte boundary (SPEC.md promises
//! that alignment, so structs like `timespec` or `epoll_event` can be
//! passed). Arena buffers stay where they are: the call gets their address
//! in the submitter's arena (whose offsets validation keeps 16-aligned). A
//! call whose arguments are all immediate gets no memory and allocates
//! nothing.

use std::borrow::Cow;

use sysgate_proto::{ArenaRange, Arg, Buffer, Bytes, SyscallOp};
use sysgate_ring::Arena;

/// `PATH_MAX`: the longest string a call reads.
const PATH_MAX: u64 = 4096;

/// One 16-byte, 16-aligned unit of buffer memory.
#[derive(Clone, Copy)]
#[repr(C, align(16))]
struct Chunk([u8; 16]);

/// Where one buffer's memory is.
#[derive(Clone, Copy, Debug)]
enum Place {
    /// In the call's own chunks, at this byte offset.
    Local(usize),
    /// In the submitter's arena: its offset there, and its address.
    Arena { offset: u64, addr: u64 },
}

/// One buffer of the call.
#[derive(Clone, Copy, Debug)]
struct Slot {
    place: Place,
    len: usize,
    output: bool,
}

/// The memory of calls that ended on this thread, kept for the next ones:
/// in steady state laying out a call's buffers allocates nothing.
struct Spare {
    local: Vec<Vec<Chunk>>,
    slots: Vec<Vec<Slot>>,
}

/// How many of each [`Spare`] keeps, and the largest buffer memory it
/// keeps (a call of more allocates its own and frees it after).
const SPARE_COUNT: usize = 8;
const SPARE_CHUNKS: usize = (64 << 10) / 16;

thread_local! {
    static SPARE: std::cell::RefCell<Spare> = const {
        std::cell::RefCell::new(Spare { local: Vec::new(), slots: Vec::new() })
    };
}

/// The outputs of a request that ran, as later members of its link chain
/// see them (`Buffer::Linked`): its completion's outputs, and which of
/// them live in the arena.
#[derive(Default)]
pub(crate) struct Outputs {
    /// The completion's outputs (an arena output is an empty placeholder).
    pub(crate) bytes: Vec<Bytes<'static>>,
    /// For each arena output: its index among the outputs, and the arena
    /// bytes holding what the call wrote there.
    pub(crate) arena: Vec<(usize, ArenaRange)>,
}

/// What a `Buffer::Linked` copies, or reads in place.
enum LinkedBytes<'a> {
    Bytes(&'a [u8]),
    Arena(ArenaRange),
}

/// What a chain member may use of the members before it: their results
/// (`Arg::LinkResult`) and outputs (`Buffer::Linked`), by chain position.
#[derive(Clone, Copy, Default)]
pub(crate) struct ChainSoFar<'a> {
    pub(crate) results: &'a [i64],
    pub(crate) outputs: &'a [Outputs],
}

impl<'a> ChainSoFar<'a> {
    /// Output `output` of member `member` (empty bytes if it has none).
    fn output(&self, member: u16, output: u16) -> LinkedBytes<'a> {
        let Some(o) = self.outputs.get(usize::from(member)) else {
            return LinkedBytes::Bytes(&[]);
        };
        let output = usize::from(output);
        match o.arena.iter().find(|(i, _)| *i == output) {
            Some(&(_, range)) => LinkedBytes::Arena(range),
            None => LinkedBytes::Bytes(o.bytes.get(output).map_or(&[], |b| b)),
        }
    }
}

/// A call ready to run: its number, six argument words, and the memory the
/// pointer arguments refer to.
pub(crate) struct PreparedCall {
    pub(crate) nr: u32,
    pub(crate) args: [u64; 6],
    local: Vec<Chunk>,
    slots: Vec<Slot>,
    /// The submitter's arena, held while the call may use it.
    arena: Option<Arena>,
    /// For each argument, the buffer it points at, if any.
    arg_bufs: [Option<u16>; 6],
    /// Bytes a write- or send-like call has moved already, in attempts
    /// that could not finish (see [`PreparedCall::advance`]).
    moved: u64,
}

impl PreparedCall {
    /// Lays out `op`'s buffers, applies its relocations and resolves its
    /// arguments. `chain` holds the results and outputs of the earlier
    /// requests of this request's link chain; `arena` is the submitter's.
    ///
    /// `op` must have passed `Submission::validate` with the matching chain
    /// position, and `validate_arena` against `arena`; indices and arena
    /// ranges are re-checked anyway, and a bad one becomes a 0 word (or
    /// relocation not written) rather than a panic or a stray access.
    pub(crate) fn new(op: &SyscallOp<'_>, chain: ChainSoFar<'_>, arena: Option<&Arena>) -> Self {
        let mut call = PreparedCall {
            nr: op.nr,
            args: [0; 6],
            local: Vec::new(),
            slots: Vec::new(),
            arena: None,
            arg_bufs: [None; 6],
            moved: 0,
        };
        if !op.bufs.is_empty() {
            call.lay_out(&op.bufs, chain, arena);
            for r in &op.relocs {
                call.relocate(r.buf, r.at, r.target, r.offset);
            }
        }
        for (n, arg) in op.args.as_slice().iter().take(6).enumerate() {
            call.args[n] = match *arg {
                Arg::Imm(v) => v,
                Arg::Buf(i) => match call.slots.get(usize::from(i)) {
                    Some(&s) => {
                        call.arg_bufs[n] = Some(i);
                        call.addr(s)
                    }
                    None => 0,
                },
                Arg::LinkResult(i) => chain.results.get(usize::from(i)).map_or(0, |&r| r as u64),
            };
        }
        call
    }

    /// A call whose arguments are all words: nothing to lay out.
    pub(crate) fn immediate(nr: u32, args: [u64; 6]) -> Self {
        PreparedCall {
            nr,
            args,
            local: Vec::new(),
            slots: Vec::new(),
            arena: None,
            arg_bufs: [None; 6],
            moved: 0,
        }
    }

    fn lay_out(&mut self, bufs: &[Buffer<'_>], chain: ChainSoFar<'_>, arena: Option<&Arena>) {
        // The bytes a buffer starts with (if any), or the arena bytes it is.
        enum Source<'b> {
            Local(Option<&'b [u8]>, usize),
            Arena(ArenaRange),
        }
        fn source<'b>(b: &'b Buffer<'_>, chain: ChainSoFar<'b>) -> Source<'b> {
            match b {
                Buffer::In(d) | Buffer::InOut(d) => Source::Local(Some(&d.0), d.len()),
                Buffer::Out(n) => Source::Local(None, *n as usize),
                Buffer::Linked(l) => match chain.output(l.member, l.output) {
                    LinkedBytes::Bytes(d) => Source::Local(Some(d), d.len()),
                    LinkedBytes::Arena(r) => Source::Arena(r),
                },
                Buffer::ArenaIn(r) | Buffer::ArenaOut(r) | Buffer::ArenaInOut(r) => {
                    Source::Arena(*r)
                }
            }
        }
        let mut offset = 0;
        if let Some(spare) = SPARE.with_borrow_mut(|s| s.slots.pop()) {
            self.slots = spare;
        }
        self.slots.reserve(bufs.len());
        for b in bufs {
            let output = b.is_output();
            let slot = match source(b, chain) {
                Source::Local(_, len) => {
                    let place = Place::Local(offset);
                    offset += len.div_ceil(16) * 16;
                    Slot { place, len, output }
                }
                Source::Arena(r) => {
                    let len = u64::from(r.len);
                    // Validated; a range outside the arena gets address 0.
                    let addr = arena.and_then(|a| a.address(r.offset, len)).unwrap_or(0);
                    if self.arena.is_none() {
                        self.arena = arena.cloned();
                    }
                    let place = Place::Arena {
                        offset: r.offset,
                        addr,
                    };
                    Slot {
                        place,
                        len: r.len as usize,
                        output,
                    }
                }
            };
            self.slots.push(slot);
        }
        if offset == 0 {
            return;
        }
        if let Some(spare) = SPARE.with_borrow_mut(|s| s.local.pop()) {
            self.local = spare;
        }
        // Zeroed: an output buffer the kernel fills only in part must not
        // carry an earlier call's bytes back.
        self.local.resize(offset / 16, Chunk([0; 16]));
        let bytes = chunk_bytes_mut(&mut self.local);
        for (b, s) in bufs.iter().zip(&self.slots) {
            if let (Source::Local(Some(d), _), Place::Local(at)) = (source(b, chain), s.place) {
                bytes[at..at + s.len].copy_from_slice(d);
            }
        }
    }

    /// The bytes of the output and in/out buffers, in order (see
    /// [`PreparedCall::outputs`]), borrowed.
    pub(crate) fn output_slices(
        &self,
        result: i64,
        filled: Option<usize>,
    ) -> impl Iterator<Item = &[u8]> + Clone {
        let bytes = chunk_bytes(&self.local);
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.output)
            .map(move |(i, s)| match s.place {
                Place::Local(at) => &bytes[at..at + Self::output_len(i, s, result, filled)],
                Place::Arena { .. } => &[][..],
            })
    }

    /// The address of a slot's memory.
    fn addr(&self, slot: Slot) -> u64 {
        match slot.place {
            Place::Local(at) => self.local.as_ptr() as u64 + at as u64,
            Place::Arena { addr, .. } => addr,
        }
    }

    fn relocate(&mut self, buf: u16, at: u32, target: u16, offset: u32) {
        let (Some(&dst), Some(&src)) = (
            self.slots.get(usize::from(buf)),
            self.slots.get(usize::from(target)),
        ) else {
            return;
        };
        let at = at as usize;
        if at + 8 > dst.len || offset as usize > src.len {
            return;
        }
        let word = (self.addr(src) + u64::from(offset)).to_ne_bytes();
        match dst.place {
            Place::Local(start) => {
                let pos = start + at;
                chunk_bytes_mut(&mut self.local)[pos..pos + 8].copy_from_slice(&word);
            }
            Place::Arena { offset: start, .. } => {
                // Inside the validated range; the arena checks it again.
                if let Some(arena) = &self.arena {
                    let _ = arena.write(start + at as u64, &word);
                }
            }
        }
    }

    /// Whether the call has no buffers at all.
    pub(crate) fn is_immediate(&self) -> bool {
        self.slots.is_empty()
    }

    /// Runs the call on this thread and returns the raw result (`-errno` on
    /// failure).
    pub(crate) fn run(&mut self) -> i64 {
        // `close_range` runs around the gateway's descriptors on whichever
        // thread runs it (inline, a worker, a chain's continuation).
        if self.nr == libc::SYS_close_range as u32 {
            let [first, last, flags, ..] = self.args;
            if let Some(r) = crate::held::close_range_sparing_held(first, last, flags) {
                return r;
            }
        }
        // SAFETY: every argument that names one of this call's buffers points
        // into `self.local`, which is alive and exclusively borrowed for the
        // duration of the call and as large as validation allowed, or into
        // the submitter's arena: a range checked against the mapping that
        // `self.arena` keeps alive, shared memory no reference of this
        // process points into (the kernel's writes there touch nothing Rust
        // relies on). Immediate words are the submitter's: submitting a call
        // is the same contract as calling syscall(2) with those words, which
        // the submitter accepted when it handed us the call (see the crate
        // docs).
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

    /// The bytes of buffer `i`, if it is one of the call's own (not in
    /// the arena, which only the kernel reads on the executor's side).
    pub(crate) fn buffer_bytes(&self, i: usize) -> Option<&[u8]> {
        let s = self.slots.get(i)?;
        let Place::Local(at) = s.place else {
            return None;
        };
        Some(&chunk_bytes(&self.local)[at..at + s.len])
    }

    /// The bytes of the buffer argument `arg` points at, if it points at one
    /// of this call's own buffers.
    pub(crate) fn arg_buffer(&self, arg: usize) -> Option<&[u8]> {
        self.buffer_bytes(usize::from((*self.arg_bufs.get(arg)?)?))
    }

    /// The length of the buffer argument `arg` points at (one of the
    /// call's own or an arena range), if it points at one.
    pub(crate) fn arg_len(&self, arg: usize) -> Option<usize> {
        let i = usize::from((*self.arg_bufs.get(arg)?)?);
        self.slots.get(i).map(|s| s.len)
    }

    /// The first `len` bytes of the buffer argument `arg` points at: its
    /// own memory, or a copy of its arena range. `None` if it is not a
    /// buffer or is shorter.
    pub(crate) fn arg_bytes(&self, arg: usize, len: usize) -> Option<Cow<'_, [u8]>> {
        let s = *self.slots.get(usize::from((*self.arg_bufs.get(arg)?)?))?;
        if len > s.len {
            return None;
        }
        self.bytes_at(self.addr(s), len as u64)
    }

    /// The bytes at `ptr..ptr + len`, if that range lies inside the call's
    /// own memory or inside the arena (then a copy); an empty range
    /// anywhere is `Some(&[])`.
    pub(crate) fn bytes_at(&self, ptr: u64, len: u64) -> Option<Cow<'_, [u8]>> {
        if len == 0 {
            return Some(Cow::Borrowed(&[]));
        }
        let local = chunk_bytes(&self.local);
        if let Some(start) = ptr.checked_sub(self.local.as_ptr() as u64)
            && start
                .checked_add(len)
                .is_some_and(|end| end <= local.len() as u64)
        {
            return Some(Cow::Borrowed(
                &local[start as usize..(start + len) as usize],
            ));
        }
        let arena = self.arena.as_ref()?;
        let offset = ptr.checked_sub(arena.address(0, 0)?)?;
        arena.read_to_vec(offset, len).ok().map(Cow::Owned)
    }

    /// Whether a NUL-terminated string starting at `ptr` ends inside the
    /// call's memory: its own buffers, or the arena (read up to
    /// `PATH_MAX` bytes, the longest string a call takes).
    pub(crate) fn c_str_at(&self, ptr: u64) -> bool {
        let local = chunk_bytes(&self.local);
        if let Some(start) = ptr.checked_sub(self.local.as_ptr() as u64)
            && start < local.len() as u64
        {
            return local[start as usize..].contains(&0);
        }
        let Some(arena) = &self.arena else {
            return false;
        };
        let Some(offset) = arena.address(0, 0).and_then(|base| ptr.checked_sub(base)) else {
            return false;
        };
        let len = (arena.len() as u64).saturating_sub(offset).min(PATH_MAX);
        arena
            .read_to_vec(offset, len)
            .is_ok_and(|bytes| bytes.contains(&0))
    }

    /// Lets `edit` change the first bytes of buffer argument `arg` (at most
    /// `len`): in place in the call's own memory, read and written back in
    /// the arena. Nothing happens if `arg` is no buffer of at least `len`
    /// bytes.
    pub(crate) fn edit_arg(&mut self, arg: usize, len: usize, edit: impl FnOnce(&mut [u8])) {
        let Some(&s) = self.arg_bufs[arg].and_then(|i| self.slots.get(usize::from(i))) else {
            return;
        };
        if len > s.len {
            return;
        }
        match s.place {
            Place::Local(at) => edit(&mut chunk_bytes_mut(&mut self.local)[at..at + len]),
            Place::Arena { offset, .. } => {
                let Some(arena) = &self.arena else { return };
                if let Ok(mut bytes) = arena.read_to_vec(offset, len as u64) {
                    edit(&mut bytes);
                    let _ = arena.write(offset, &bytes);
                }
            }
        }
    }

    /// The index of the buffer argument `arg` points at, if any.
    pub(crate) fn arg_buffer_index(&self, arg: usize) -> Option<usize> {
        self.arg_bufs.get(arg).copied().flatten().map(usize::from)
    }

    /// The useful length of output buffer `i`: `result` bytes (at most its
    /// length) for `filled`, the buffer whose useful length is the call's
    /// result (`read`'s), its whole length for the others.
    fn output_len(i: usize, s: &Slot, result: i64, filled: Option<usize>) -> usize {
        match filled {
            Some(f) if f == i => usize::try_from(result).unwrap_or(0).min(s.len),
            _ => s.len,
        }
    }

    /// The contents of the output and in/out buffers, in order; an arena
    /// buffer's is an empty placeholder (its bytes stay in the arena).
    /// `filled` is the buffer (by index) whose useful length is the call's
    /// result, for calls like `read` that return how much they wrote.
    pub(crate) fn outputs(&self, result: i64, filled: Option<usize>) -> Vec<Bytes<'static>> {
        let bytes = chunk_bytes(&self.local);
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.output)
            .map(|(i, s)| match s.place {
                Place::Local(at) => {
                    let len = Self::output_len(i, s, result, filled);
                    Bytes::from(bytes[at..at + len].to_vec())
                }
                Place::Arena { .. } => Bytes::default(),
            })
            .collect()
    }

    /// The arena outputs (see [`Outputs::arena`]) given the call's result;
    /// empty, without allocating, for a call without arena buffers.
    pub(crate) fn arena_outputs(
        &self,
        result: i64,
        filled: Option<usize>,
    ) -> Vec<(usize, ArenaRange)> {
        if self.arena.is_none() {
            return Vec::new();
        }
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.output)
            .enumerate()
            .filter_map(|(k, (i, s))| match s.place {
                Place::Arena { offset, .. } => {
                    let len = Self::output_len(i, s, result, filled) as u32; // ≤ its u32 length
                    Some((k, ArenaRange { offset, len }))
                }
                Place::Local(_) => None,
            })
            .collect()
    }
}

impl Drop for PreparedCall {
    fn drop(&mut self) {
        if self.slots.capacity() == 0 {
            return;
        }
        let (mut local, mut slots) = (
            std::mem::take(&mut self.local),
            std::mem::take(&mut self.slots),
        );
        local.clear();
        slots.clear();
        // A thread being torn down has no spares any more: the memory is
        // freed.
        let _ = SPARE.try_with(|s| {
            let mut s = s.borrow_mut();
            if local.capacity() > 0
                && local.capacity() <= SPARE_CHUNKS
                && s.local.len() < SPARE_COUNT
            {
                s.local.push(local);
            }
            if s.slots.len() < SPARE_COUNT {
                s.slots.push(slots);
            }
        });
    }
}

fn chunk_bytes(chunks: &[Chunk]) -> &[u8] {
    // SAFETY: `Chunk` is `repr(C)` over `[u8; 16]` with no padding, so a
    // slice of n chunks is exactly 16·n initialised bytes at the same address.
    unsafe { std::slice::from_raw_parts(chunks.as_ptr().cast::<u8>(), chunks.len() * 16) }
}

fn chunk_bytes_mut(chunks: &mut [Chunk]) -> &mut [u8] {
    // SAFETY: as in `chunk_bytes`; the exclusive borrow of the chunks carries
    // over to the bytes.
    unsafe { std::slice::from_raw_parts_mut(chunks.as_mut_ptr().cast::<u8>(), chunks.len() * 16) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sysgate_proto::Reloc;

    #[test]
    fn immediate_calls_have_no_memory() {
        let op = SyscallOp::immediate(8, &[3, 0, 2]);
        let call = PreparedCall::new(&op, ChainSoFar::default(), None);
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
        let call = PreparedCall::new(&op, ChainSoFar::default(), None);
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
        let call = PreparedCall::new(&op, chain, None);
        assert_eq!(call.args[..2], [-2i64 as u64, 5]);
    }
}
