//! Completions between the ring and the op that takes them.
//!
//! A completion that carries only a result word is kept as its three
//! words; one with outputs as its frame, copied off the ring into a byte
//! buffer that is reused (a few per thread), and read in place when its op
//! completes. Steady state, neither allocates.

use std::cell::RefCell;

use sysgate_proto::{Completion, CompletionFlags, CompletionView, PlainCompletion, codes};

use crate::error::Error;

/// A request's completion as the executor posted it, borrowed: its result
/// word, where it ran, and the bytes the kernel wrote into its output and
/// in/out buffers (in buffer order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Completed<'a>(Form<'a>);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form<'a> {
    /// Read in place from its frame.
    View(CompletionView<'a>),
    /// Built by the client: a completion whose outputs came back through
    /// the arena (they may be larger than any frame).
    Built(&'a Completion<'static>),
}

impl<'a> Completed<'a> {
    /// The `user_data` the request carried.
    pub fn user_data(&self) -> u64 {
        match self.0 {
            Form::View(v) => v.user_data,
            Form::Built(c) => c.user_data,
        }
    }

    /// The call's return value, or `-errno` (or a code of
    /// [`sysgate_proto::codes`] with [`CompletionFlags::REFUSED`] or
    /// [`CompletionFlags::PROTOCOL_ERROR`]).
    pub fn result(&self) -> i64 {
        match self.0 {
            Form::View(v) => v.result,
            Form::Built(c) => c.result,
        }
    }

    /// Where it ran and how it ended.
    pub fn flags(&self) -> CompletionFlags {
        match self.0 {
            Form::View(v) => v.flags,
            Form::Built(c) => c.flags,
        }
    }

    /// How many outputs it carries.
    pub fn output_count(&self) -> usize {
        match self.0 {
            Form::View(v) => v.output_count(),
            Form::Built(c) => c.outputs.len(),
        }
    }

    /// Output `i`, if there is one.
    pub fn output(&self, i: usize) -> Option<&'a [u8]> {
        match self.0 {
            Form::View(v) => v.output(i),
            Form::Built(c) => c.outputs.get(i).map(|b| &b[..]),
        }
    }

    /// The outputs, in buffer order.
    pub fn outputs(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        let (view, built) = match self.0 {
            Form::View(v) => (Some(v.outputs()), None),
            Form::Built(c) => (None, Some(c.outputs.iter().map(|b| &b[..]))),
        };
        view.into_iter()
            .flatten()
            .chain(built.into_iter().flatten())
    }

    /// An owned copy, in the wire format's type.
    pub fn to_completion(&self) -> Completion<'static> {
        match self.0 {
            Form::View(v) => v.to_completion().into_owned(),
            Form::Built(c) => c.clone(),
        }
    }
}

/// A completion waiting to be taken.
#[derive(Debug)]
pub(crate) enum Done {
    /// Without outputs.
    Plain(PlainCompletion),
    /// With outputs: its frame (checked by [`Done::from_frame`]).
    Frame(Vec<u8>),
    /// Built by the client (see [`Form::Built`]).
    Built(Completion<'static>),
}

impl Done {
    /// The completion a frame of the completion ring carries, if it is
    /// one: the frame is copied into a spare buffer.
    pub(crate) fn from_frame(frame: &[u8]) -> Option<Done> {
        if let Some(p) = PlainCompletion::decode(frame) {
            return Some(Done::Plain(p));
        }
        CompletionView::parse(frame)?;
        let mut bytes = SPARE.with_borrow_mut(Vec::pop).unwrap_or_default();
        bytes.extend_from_slice(frame);
        Some(Done::Frame(bytes))
    }

    /// What a request gets whose completion frame could not be read.
    pub(crate) fn undecodable(user_data: u64) -> Done {
        Done::Plain(PlainCompletion {
            user_data,
            result: codes::UNDECODABLE,
            flags: CompletionFlags::PROTOCOL_ERROR,
        })
    }

    /// Its `user_data`.
    pub(crate) fn user_data(&self) -> u64 {
        match self {
            Done::Plain(p) => p.user_data,
            Done::Frame(f) => {
                CompletionView::parse(f).map_or(codes::UNKNOWN_USER_DATA, |v| v.user_data)
            }
            Done::Built(c) => c.user_data,
        }
    }

    /// Read in place.
    pub(crate) fn completed(&self) -> Result<Completed<'_>, Error> {
        match self {
            Done::Plain(p) => Ok(Completed(Form::View(CompletionView::from(*p)))),
            // Checked when it was made: cannot fail.
            Done::Frame(f) => CompletionView::parse(f)
                .map(|v| Completed(Form::View(v)))
                .ok_or(Error::Protocol(codes::UNDECODABLE)),
            Done::Built(c) => Ok(Completed(Form::Built(c))),
        }
    }
}

impl Drop for Done {
    fn drop(&mut self) {
        if let Done::Frame(bytes) = self {
            let mut bytes = std::mem::take(bytes);
            if bytes.capacity() <= SPARE_BYTES {
                bytes.clear();
                // A thread being torn down keeps nothing.
                let _ = SPARE.try_with(|s| {
                    let mut s = s.borrow_mut();
                    if s.len() < SPARE_COUNT {
                        s.push(bytes);
                    }
                });
            }
        }
    }
}

/// How many frame buffers a thread keeps, and the largest it keeps.
const SPARE_COUNT: usize = 64;
const SPARE_BYTES: usize = 64 << 10;

thread_local! {
    static SPARE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}
