//! The session: variables, settings, background requests, and what one
//! line of input does.
//!
//! [`Session::run_line`] parses a line, lowers its calls, submits them
//! through the gateway and hands every finished call's strace-form line to
//! a [`Sink`]; whatever goes wrong becomes a [`Diagnostic`]. The front ends
//! (`repl::script`, `repl::interactive`) only read lines and print.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use sysgate::proto::{Completion, CompletionFlags, Op, codes};
use sysgate::{
    Batch, BatchFuture, BatchResults, Errno, Error, ExecStats, Gateway, InvalidRequest, Operation,
    Posted, Request, RequestId, Submitted, ops,
};

use super::help;
use crate::strace::{
    CallPlan, Command, Expr, FormatOptions, Line, LowerContext, Setting, Step, Tag, Value, VarRef,
    format_completion, lower, parse_line,
};

/// Whether a person is typing or a script is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A terminal: background submissions print their tag, finished
    /// background requests are reported before the next prompt, notes are
    /// shown.
    Interactive,
    /// A script (a file, or stdin that is not a terminal): exactly one
    /// output line per call, nothing else on stdout but `:help` and
    /// `:stats`.
    Script,
}

/// What to do after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Read the next line.
    Continue,
    /// `:quit`: stop reading.
    Quit,
}

/// How serious a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The line's text is wrong: it does not parse, or a call in it cannot
    /// be built (unknown variable, forbidden syscall, a value of the wrong
    /// shape). A script with such a line exits 1.
    Input,
    /// The line was fine but could not be carried out: the client refused
    /// a request (a raw pointer, a syscall without a signature), the
    /// executor rejected it, a tag names no background request. Does not
    /// change the exit status — neither does a syscall returning an error,
    /// which is an ordinary output line.
    Runtime,
    /// Information for a person at the terminal (`[1] already completed`);
    /// scripts do not print notes.
    Note,
}

/// A message about a line of input, for stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The input line it is about when that is not the line being run: a
    /// background request reports at `:wait` the line that submitted it.
    pub line: Option<usize>,
    /// The 1-based character column, when one thing in the line is at
    /// fault.
    pub col: Option<usize>,
    /// What went wrong.
    pub message: String,
    /// How serious it is.
    pub severity: Severity,
}

impl Diagnostic {
    fn new(severity: Severity, col: Option<usize>, message: impl Into<String>) -> Self {
        Diagnostic {
            line: None,
            col,
            message: message.into(),
            severity,
        }
    }
}

/// Where a session's output goes.
pub trait Sink {
    /// One line of output (stdout), without its newline.
    ///
    /// # Errors
    /// Writing failed; the session stops.
    fn line(&mut self, text: &str) -> io::Result<()>;

    /// A diagnostic (stderr).
    fn diagnostic(&mut self, diagnostic: Diagnostic);
}

/// One call ready to submit, and what printing its completion needs.
struct Prepared {
    /// The request (taken when submitted).
    request: Option<Request>,
    /// How to print the completion; its call has named variables and `$_`
    /// replaced by the values used.
    plan: CallPlan,
    /// `$name = ` in front of the call.
    var: Option<String>,
    /// The call's position in its link chain.
    chain_position: Option<usize>,
    /// The result strace printed, for a pasted strace line.
    traced: Option<crate::strace::Outcome>,
    /// Column of the call's name.
    col: usize,
    /// The input line it came from.
    line: usize,
}

/// How the calls of a line are submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// One call.
    Single,
    /// `{ a; b }`: independent calls, submitted at once.
    Batch,
    /// `a -> b`: a link chain.
    Chain,
}

/// Records when a background request's future was woken: it has (probably)
/// completed then.
#[derive(Default)]
struct JobWaker {
    woken: Mutex<Option<Instant>>,
}

impl Wake for JobWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        *self.woken.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }
}

impl JobWaker {
    fn woken(&self) -> Option<Instant> {
        *self.woken.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where a background request is.
enum JobState {
    /// One call in flight.
    Single(Submitted<Request>, RequestId),
    /// A batch or chain in flight.
    Batch(BatchFuture),
    /// One call, completed.
    SingleDone(Posted),
    /// A batch or chain, completed.
    BatchDone(BatchResults),
}

/// A background request: `line &`.
struct Job {
    calls: Vec<Prepared>,
    state: JobState,
    submitted: Instant,
    /// When it was seen complete.
    done: Option<Instant>,
    waker: Arc<JobWaker>,
}

impl Job {
    /// Polls once with the job's own waker; true when complete.
    fn poll(&mut self) -> bool {
        let waker = Waker::from(Arc::clone(&self.waker));
        let mut cx = Context::from_waker(&waker);
        let done = match &mut self.state {
            JobState::Single(fut, _) => match Pin::new(fut).poll(&mut cx) {
                Poll::Ready(outcome) => Some(JobState::SingleDone(outcome)),
                Poll::Pending => None,
            },
            JobState::Batch(fut) => match Pin::new(fut).poll(&mut cx) {
                Poll::Ready(results) => Some(JobState::BatchDone(results)),
                Poll::Pending => None,
            },
            JobState::SingleDone(_) | JobState::BatchDone(_) => return true,
        };
        match done {
            Some(state) => {
                self.state = state;
                self.done = Some(self.waker.woken().unwrap_or_else(Instant::now));
                true
            }
            None => false,
        }
    }

    /// Blocks until complete.
    fn wait(&mut self) {
        let state = match &mut self.state {
            JobState::Single(fut, _) => JobState::SingleDone(sysgate::block_on(fut)),
            JobState::Batch(fut) => JobState::BatchDone(sysgate::block_on(fut)),
            JobState::SingleDone(_) | JobState::BatchDone(_) => return,
        };
        self.state = state;
        // Woken before this wait began: that is when it completed.
        self.done = Some(self.waker.woken().unwrap_or_else(Instant::now));
    }

    fn is_done(&self) -> bool {
        matches!(self.state, JobState::SingleDone(_) | JobState::BatchDone(_))
    }
}

/// A REPL session on one gateway.
pub struct Session {
    gw: Gateway,
    mode: Mode,
    vars: BTreeMap<String, i64>,
    /// `$_`.
    last: Option<i64>,
    format: FormatOptions,
    timing: bool,
    jobs: BTreeMap<u64, Job>,
    next_tag: u64,
}

impl Session {
    /// A session submitting through `gw`.
    pub fn new(gw: Gateway, mode: Mode) -> Self {
        Session {
            gw,
            mode,
            vars: BTreeMap::new(),
            last: None,
            format: FormatOptions::default(),
            timing: false,
            jobs: BTreeMap::new(),
            next_tag: 1,
        }
    }

    /// The names of the session's variables, without `$`.
    pub fn var_names(&self) -> impl Iterator<Item = &str> {
        self.vars.keys().map(String::as_str)
    }

    /// Whether `$_` has a value.
    pub fn has_last(&self) -> bool {
        self.last.is_some()
    }

    /// The executor's counters.
    pub fn stats(&self) -> ExecStats {
        self.gw.stats()
    }

    /// Runs one line of input (line number `line`, 1-based, for
    /// diagnostics of background requests reported later).
    ///
    /// # Errors
    /// Only when the sink fails to write output.
    pub fn run_line(&mut self, text: &str, line: usize, sink: &mut dyn Sink) -> io::Result<Flow> {
        let parsed = match parse_line(text) {
            Ok(parsed) => parsed,
            Err(e) => {
                sink.diagnostic(Diagnostic::new(
                    Severity::Input,
                    Some(e.col),
                    e.kind.to_string(),
                ));
                return Ok(Flow::Continue);
            }
        };
        match parsed {
            Line::Blank | Line::Comment(_) => {}
            Line::NotACall(_) => sink.diagnostic(Diagnostic::new(
                Severity::Note,
                None,
                "not a call: nothing to run",
            )),
            Line::Command(command) => return self.command(command, sink),
            Line::Background(inner) => {
                // The parser puts `&` after statements only.
                if let Some((steps, shape, traced)) = statement(*inner) {
                    self.background(steps, shape, traced, line, sink)?;
                }
            }
            statement_line => {
                if let Some((steps, shape, traced)) = statement(statement_line) {
                    self.foreground(steps, shape, traced, line, sink)?;
                }
            }
        }
        Ok(Flow::Continue)
    }

    /// Lowers every call of a line; `None` (after reporting why) if any
    /// cannot be built or would be refused by the client: then nothing of
    /// the line is submitted.
    fn prepare(
        &self,
        steps: Calls,
        shape: Shape,
        traced: Option<crate::strace::Outcome>,
        line: usize,
        sink: &mut dyn Sink,
    ) -> Option<Vec<Prepared>> {
        let vars = |name: &str| -> Option<u64> {
            match name {
                "_" => self.last.map(|v| v as u64),
                _ => self.vars.get(name).map(|&v| v as u64),
            }
        };
        let mut prepared = Vec::with_capacity(steps.len());
        for (k, (var, call)) in steps.into_iter().enumerate() {
            let chain_position = (shape == Shape::Chain).then_some(k);
            let ctx = LowerContext {
                vars: &vars,
                chain_position: chain_position.map(|k| u16::try_from(k).unwrap_or(u16::MAX)),
            };
            let lowered = match lower(&call, &ctx) {
                Ok(l) => l,
                Err(e) => {
                    // A forbidden call's message carries the table's reason.
                    let message = e.kind.to_string();
                    sink.diagnostic(Diagnostic::new(Severity::Input, Some(e.col), message));
                    return None;
                }
            };
            let request = Request::new(Op::Syscall(lowered.op));
            if let Err(e) = request.request() {
                sink.diagnostic(Diagnostic::new(
                    Severity::Runtime,
                    Some(call.col),
                    client_error(&e, &call.name),
                ));
                return None;
            }
            let mut plan = lowered.plan;
            for arg in &mut plan.call.args {
                substitute(arg, &|v| match v {
                    VarRef::Named(name) => self.vars.get(name).copied(),
                    VarRef::Last => self.last,
                    VarRef::Prev | VarRef::Chain(_) => None,
                });
            }
            prepared.push(Prepared {
                request: Some(request),
                plan,
                var,
                chain_position,
                traced: if shape == Shape::Single {
                    traced.clone()
                } else {
                    None
                },
                col: call.col,
                line,
            });
        }
        Some(prepared)
    }

    /// Submits the calls of a line and prints each result in order.
    fn foreground(
        &mut self,
        steps: Calls,
        shape: Shape,
        traced: Option<crate::strace::Outcome>,
        line: usize,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        let Some(mut calls) = self.prepare(steps, shape, traced, line, sink) else {
            return Ok(());
        };
        let start = Instant::now();
        if shape == Shape::Single {
            let Some(request) = calls[0].request.take() else {
                return Ok(());
            };
            let outcome = self.gw.call(request);
            let elapsed = start.elapsed();
            return self.report(&calls[0], &outcome, elapsed, None, &[], sink);
        }
        let batch = build_batch(&mut calls, shape);
        let results = self.gw.run(batch);
        let elapsed = start.elapsed();
        self.report_batch(&calls, &results, elapsed, None, sink)
    }

    /// Submits the calls of a line without waiting; the line's tag goes to
    /// `$_`.
    fn background(
        &mut self,
        steps: Calls,
        shape: Shape,
        traced: Option<crate::strace::Outcome>,
        line: usize,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        let Some(mut calls) = self.prepare(steps, shape, traced, line, sink) else {
            return Ok(());
        };
        let submitted = Instant::now();
        let state = if shape == Shape::Single {
            let Some(request) = calls[0].request.take() else {
                return Ok(());
            };
            let fut = self.gw.submit(request);
            let id = fut.id();
            JobState::Single(fut, id)
        } else {
            JobState::Batch(self.gw.submit_batch(build_batch(&mut calls, shape)))
        };
        let tag = self.next_tag;
        self.next_tag += 1;
        let mut job = Job {
            calls,
            state,
            submitted,
            done: None,
            waker: Arc::new(JobWaker::default()),
        };
        // Registers the waker (and so has the driver deliver the
        // completion); a call that ran inline is complete already.
        job.poll();
        self.jobs.insert(tag, job);
        self.last = Some(tag as i64);
        if self.mode == Mode::Interactive {
            sink.line(&format!("[{tag}]"))?;
        }
        Ok(())
    }

    /// Prints the calls of a completed batch or chain.
    fn report_batch(
        &mut self,
        calls: &[Prepared],
        results: &BatchResults,
        elapsed: Duration,
        tag: Option<u64>,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        let mut links: Vec<Option<i64>> = Vec::with_capacity(calls.len());
        for (k, call) in calls.iter().enumerate() {
            let missing = Err(Error::Protocol(codes::INVALID));
            let outcome = results
                .completion(k)
                .map_or(missing, |o| o.map(|c| c.to_completion()));
            let outcome = &outcome;
            self.report(call, outcome, elapsed, tag, &links, sink)?;
            links.push(match outcome {
                Ok(c) if c.result >= 0 && !c.flags.contains(CompletionFlags::PROTOCOL_ERROR) => {
                    Some(c.result)
                }
                _ => None,
            });
        }
        Ok(())
    }

    /// Prints one completed call (or why it has no completion), and sets
    /// `$_` and its variable.
    fn report(
        &mut self,
        call: &Prepared,
        outcome: &Posted,
        elapsed: Duration,
        tag: Option<u64>,
        links: &[Option<i64>],
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        let tag_prefix = tag.map(|t| format!("[{t}] ")).unwrap_or_default();
        let c = match outcome {
            Ok(c) if !c.flags.contains(CompletionFlags::PROTOCOL_ERROR) => c,
            Ok(c) => {
                let mut d = Diagnostic::new(
                    Severity::Runtime,
                    Some(call.col),
                    format!(
                        "{tag_prefix}the executor rejected the request (protocol code {})",
                        c.result
                    ),
                );
                d.line = tag.map(|_| call.line);
                sink.diagnostic(d);
                return Ok(());
            }
            Err(e) => {
                let mut d = Diagnostic::new(
                    Severity::Runtime,
                    Some(call.col),
                    format!("{tag_prefix}{}", client_error(e, &call.plan.call.name)),
                );
                d.line = tag.map(|_| call.line);
                sink.diagnostic(d);
                return Ok(());
            }
        };
        self.last = Some(c.result);
        if let Some(var) = &call.var {
            self.vars.insert(var.clone(), c.result);
        }
        let text = self.completion_line(call, c, elapsed, links, &tag_prefix);
        sink.line(&text)
    }

    /// `[tag] call(args) = result <where time> (traced: result)`.
    fn completion_line(
        &self,
        call: &Prepared,
        c: &Completion<'_>,
        elapsed: Duration,
        links: &[Option<i64>],
        tag_prefix: &str,
    ) -> String {
        let mut plan = call.plan.clone();
        if let Some(position) = call.chain_position {
            for arg in &mut plan.call.args {
                substitute(arg, &|v| {
                    let k = match v {
                        VarRef::Prev => position.checked_sub(1)?,
                        VarRef::Chain(n) => usize::from(*n).checked_sub(1)?,
                        _ => return None,
                    };
                    links.get(k).copied().flatten()
                });
            }
        }
        let mut text = String::from(tag_prefix);
        text.push_str(&format_completion(&plan, c, &self.format));
        if c.flags.contains(CompletionFlags::REFUSED) {
            let args: Vec<_> = call.plan.args.iter().map(|a| a.word).collect();
            let reason = sysgate::refusal_reason(Some(call.plan.nr), &args, c.result);
            let _ = write!(text, " (refused by the executor: {reason})");
        }
        if self.timing {
            let _ = write!(
                text,
                " <{} {:.6}>",
                where_it_ran(c.flags),
                elapsed.as_secs_f64()
            );
        }
        if let Some(traced) = &call.traced {
            let _ = write!(text, " (traced: {}", traced.result);
            if let Some(d) = traced.duration {
                let _ = write!(text, " <{:.6}>", d.as_secs_f64());
            }
            text.push(')');
        }
        text
    }

    /// `:wait`, `:cancel`, `:set`, `:help`, `:stats`, `:quit`.
    fn command(&mut self, command: Command, sink: &mut dyn Sink) -> io::Result<Flow> {
        match command {
            Command::Quit => return Ok(Flow::Quit),
            Command::Set(Setting::Strsize(n)) => self.format.strsize = n,
            Command::Set(Setting::Verbose(on)) => self.format.verbose = on,
            Command::Set(Setting::Timing(on)) => self.timing = on,
            Command::Stats => sink.line(&stats_line(&self.gw.stats()))?,
            Command::Help(None) => {
                for line in help::GENERAL.lines() {
                    sink.line(line)?;
                }
            }
            Command::Help(Some(name)) => match help::syscall(&name) {
                Some(lines) => {
                    for line in lines {
                        sink.line(&line)?;
                    }
                }
                None => sink.diagnostic(Diagnostic::new(
                    Severity::Runtime,
                    None,
                    format!("unknown syscall `{name}`"),
                )),
            },
            Command::Wait(None) => {
                let tags: Vec<u64> = self.jobs.keys().copied().collect();
                if tags.is_empty() {
                    sink.diagnostic(Diagnostic::new(
                        Severity::Note,
                        None,
                        "no background requests",
                    ));
                }
                for tag in tags {
                    self.collect(tag, sink)?;
                }
            }
            Command::Wait(Some(tag)) => {
                if let Some(tag) = self.tag(&tag, sink) {
                    self.collect(tag, sink)?;
                }
            }
            Command::Cancel(tag) => {
                let tag = match tag {
                    Some(tag) => self.tag(&tag, sink),
                    None => {
                        let last = self
                            .jobs
                            .iter()
                            .rev()
                            .find(|(_, j)| !j.is_done())
                            .map(|(&t, _)| t);
                        if last.is_none() {
                            sink.diagnostic(Diagnostic::new(
                                Severity::Runtime,
                                None,
                                "no background request in flight to cancel",
                            ));
                        }
                        last
                    }
                };
                if let Some(tag) = tag {
                    self.cancel(tag, sink);
                }
            }
        }
        Ok(Flow::Continue)
    }

    /// The background request a tag names, if it is known.
    fn tag(&self, tag: &Tag, sink: &mut dyn Sink) -> Option<u64> {
        let n = match tag {
            Tag::Num(n) => Some(*n),
            Tag::Var(VarRef::Last) => self.last.and_then(|v| u64::try_from(v).ok()),
            Tag::Var(VarRef::Named(name)) => {
                self.vars.get(name).and_then(|&v| u64::try_from(v).ok())
            }
            Tag::Var(v) => {
                sink.diagnostic(Diagnostic::new(
                    Severity::Runtime,
                    None,
                    format!("`{v}` only means something inside a chain (a -> b)"),
                ));
                return None;
            }
        };
        match n {
            Some(n) if self.jobs.contains_key(&n) => Some(n),
            Some(n) => {
                sink.diagnostic(Diagnostic::new(
                    Severity::Runtime,
                    None,
                    format!("no background request [{n}] (finished ones are reported once)"),
                ));
                None
            }
            None => {
                sink.diagnostic(Diagnostic::new(
                    Severity::Runtime,
                    None,
                    format!("`{tag_text}` holds no tag", tag_text = tag_text(tag)),
                ));
                None
            }
        }
    }

    /// Waits for background request `tag` and prints its calls.
    fn collect(&mut self, tag: u64, sink: &mut dyn Sink) -> io::Result<()> {
        let Some(mut job) = self.jobs.remove(&tag) else {
            return Ok(());
        };
        job.wait();
        self.print_job(tag, job, sink)
    }

    fn print_job(&mut self, tag: u64, job: Job, sink: &mut dyn Sink) -> io::Result<()> {
        let elapsed = job
            .done
            .unwrap_or_else(Instant::now)
            .saturating_duration_since(job.submitted);
        match &job.state {
            JobState::SingleDone(outcome) => {
                self.report(&job.calls[0], outcome, elapsed, Some(tag), &[], sink)
            }
            JobState::BatchDone(results) => {
                self.report_batch(&job.calls, results, elapsed, Some(tag), sink)
            }
            // `wait` and `poll` leave a finished job done.
            JobState::Single(..) | JobState::Batch(_) => Ok(()),
        }
    }

    /// Cancels background request `tag`. A single call gets an executor
    /// cancel and completes with `ECANCELED` (reported at `:wait`); a batch
    /// or chain can only be dropped, which cancels what is in flight and
    /// discards its results.
    fn cancel(&mut self, tag: u64, sink: &mut dyn Sink) {
        let Some(job) = self.jobs.get_mut(&tag) else {
            return;
        };
        if job.poll() {
            sink.diagnostic(Diagnostic::new(
                Severity::Note,
                None,
                format!("[{tag}] has already completed"),
            ));
            return;
        }
        match &job.state {
            JobState::Single(_, id) => match self.gw.call(ops::Cancel::request(*id)) {
                Ok(_) => sink.diagnostic(Diagnostic::new(
                    Severity::Note,
                    None,
                    format!("[{tag}] cancelled"),
                )),
                Err(e) if e.errno() == Some(Errno::ENOENT) => sink.diagnostic(Diagnostic::new(
                    Severity::Note,
                    None,
                    format!("[{tag}] has already completed"),
                )),
                Err(e) => sink.diagnostic(Diagnostic::new(
                    Severity::Runtime,
                    None,
                    format!("[{tag}] cannot be cancelled: {e}"),
                )),
            },
            JobState::Batch(_) => {
                let line = job.calls.first().map(|c| c.line);
                self.jobs.remove(&tag);
                // A person asked for it; a script loses lines by it.
                let severity = match self.mode {
                    Mode::Interactive => Severity::Note,
                    Mode::Script => Severity::Runtime,
                };
                let mut d = Diagnostic::new(
                    severity,
                    None,
                    format!(
                        "[{tag}] cancelled: the results of a background batch or chain \
                         are discarded when it is cancelled"
                    ),
                );
                d.line = line;
                sink.diagnostic(d);
            }
            JobState::SingleDone(_) | JobState::BatchDone(_) => {}
        }
    }

    /// Prints the background requests that have completed (interactive
    /// mode, before each prompt).
    ///
    /// # Errors
    /// Only when the sink fails to write output.
    pub fn report_finished(&mut self, sink: &mut dyn Sink) -> io::Result<()> {
        let done: Vec<u64> = self
            .jobs
            .iter_mut()
            .filter_map(|(&tag, job)| job.poll().then_some(tag))
            .collect();
        for tag in done {
            if let Some(job) = self.jobs.remove(&tag) {
                self.print_job(tag, job, sink)?;
            }
        }
        Ok(())
    }

    /// The end of input: background requests still in flight are
    /// cancelled, and every background call is reported (a cancelled one
    /// with `ECANCELED`, unless it completed first).
    ///
    /// # Errors
    /// Only when the sink fails to write output.
    pub fn finish(&mut self, sink: &mut dyn Sink) -> io::Result<()> {
        let tags: Vec<u64> = self.jobs.keys().copied().collect();
        for &tag in &tags {
            let pending = self.jobs.get_mut(&tag).is_some_and(|j| !j.poll());
            if pending {
                self.cancel(tag, sink);
            }
        }
        for tag in tags {
            self.collect(tag, sink)?;
        }
        Ok(())
    }
}

/// The calls of a line, each with the variable its result is bound to.
type Calls = Vec<(Option<String>, crate::strace::Call)>;

fn steps_of(steps: Vec<Step>) -> Calls {
    steps.into_iter().map(|s| (s.var, s.call)).collect()
}

/// The calls a statement line submits, their shape, and the traced result
/// of a pasted strace line; `None` for lines that submit nothing.
fn statement(line: Line) -> Option<(Calls, Shape, Option<crate::strace::Outcome>)> {
    Some(match line {
        Line::Call(cl) => (vec![(None, cl.call)], Shape::Single, cl.outcome),
        Line::Assign { var, line: cl } => (vec![(Some(var), cl.call)], Shape::Single, cl.outcome),
        Line::Batch(steps) => (steps_of(steps), Shape::Batch, None),
        Line::Chain(steps) => (steps_of(steps), Shape::Chain, None),
        _ => return None,
    })
}

/// A batch of the prepared calls: independent (`{ a; b }`) or linked
/// (`a -> b`). In a batch holding one chain that starts at position 0, a
/// call's batch position is its chain position, which is what `lower`
/// wrote into `$prev`/`$N`.
fn build_batch(calls: &mut [Prepared], shape: Shape) -> Batch {
    let mut batch = Batch::new();
    for (k, call) in calls.iter_mut().enumerate() {
        let Some(request) = call.request.take() else {
            continue;
        };
        if shape == Shape::Chain && k > 0 {
            batch.then(request);
        } else {
            batch.push(request);
        }
    }
    batch
}

/// Replaces the variables `value` knows in `e` by their numbers, so the
/// printed call shows what was passed.
fn substitute(e: &mut Expr, value: &dyn Fn(&VarRef) -> Option<i64>) {
    if let Value::Var(v) = &e.value {
        if let Some(n) = value(v) {
            e.value = Value::Num(i128::from(n));
        }
        return;
    }
    match &mut e.value {
        Value::Flags(parts) | Value::Array(parts) | Value::Apply { args: parts, .. } => {
            parts.iter_mut().for_each(|p| substitute(p, value));
        }
        Value::Binary { lhs, rhs, .. } => {
            substitute(lhs, value);
            substitute(rhs, value);
        }
        Value::Changed { before, after } => {
            substitute(before, value);
            substitute(after, value);
        }
        Value::Unary { operand, .. } => substitute(operand, value),
        Value::Annotated { value: inner, .. } => substitute(inner, value),
        Value::Struct(fields) => fields
            .iter_mut()
            .for_each(|f| substitute(&mut f.value, value)),
        _ => {}
    }
}

fn tag_text(tag: &Tag) -> String {
    match tag {
        Tag::Num(n) => n.to_string(),
        Tag::Var(v) => v.to_string(),
    }
}

/// `inline`, `polled` or `pool`, from the completion's flags.
fn where_it_ran(flags: CompletionFlags) -> &'static str {
    if flags.contains(CompletionFlags::REFUSED) {
        "refused"
    } else if flags.contains(CompletionFlags::POLLED) {
        "polled"
    } else if flags.contains(CompletionFlags::POOL) {
        "pool"
    } else if flags.contains(CompletionFlags::INLINE) {
        "inline"
    } else {
        // Cancelled before it ran (a broken link, `:cancel` on a queued
        // request).
        "not run"
    }
}

/// Why the client did not submit a request, in the REPL's terms.
fn client_error(e: &Error, name: &str) -> String {
    match e {
        Error::Invalid(InvalidRequest::NoSignature(_)) => format!(
            "sysgate has no signature for {name}, so it cannot tell which arguments are \
             pointers; the REPL does not run it"
        ),
        Error::Invalid(InvalidRequest::PointerImmediate { syscall, arg }) => {
            let arg_name = sysgate_sys::signature_by_name(syscall)
                .and_then(|s| s.arg(*arg))
                .map_or("?", |a| a.name);
            format!(
                "argument {} (`{arg_name}`) of {syscall} is an address in this program's \
                 memory: the REPL passes no raw pointers (write NULL, or a buffer where the \
                 call takes one)",
                arg + 1
            )
        }
        Error::Invalid(InvalidRequest::ChangesMappings { syscall, arg }) => {
            let arg_name = sysgate_sys::signature_by_name(syscall)
                .and_then(|s| s.arg(*arg))
                .map_or("?", |a| a.name);
            format!(
                "{syscall} changes this program's memory mappings at argument {} (`{arg_name}`), \
                 whatever its value, and the REPL cannot tell them from memory in use: it does not \
                 run it",
                arg + 1
            )
        }
        Error::Invalid(other) => format!("{name}: invalid request: {other}"),
        other => format!("{name}: {other}"),
    }
}

/// `:stats` — the executor's counters on one line.
fn stats_line(s: &ExecStats) -> String {
    let b = &s.pool.bounded;
    let u = &s.pool.unbounded;
    format!(
        "submitted {}, inline {}, polled {}, punted {} (bounded {}, unbounded {}), \
         parked {} now ({} in all), refused {}, protocol errors {}, completed {}, lost {}, \
         in pool {}; workers: bounded {} of {} (peak {}), unbounded {} of {} (peak {}); \
         readiness: {}",
        s.submitted,
        s.inline,
        s.polled,
        s.punted_bounded + s.punted_unbounded,
        s.punted_bounded,
        s.punted_unbounded,
        s.parked,
        s.parked_total,
        s.refused,
        s.protocol_errors,
        s.completed,
        s.lost,
        s.in_pool,
        b.workers,
        b.max,
        b.peak,
        u.workers,
        u.max,
        u.peak,
        s.readiness.map_or("none", |r| r.name()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects output and diagnostics.
    #[derive(Default)]
    struct Collect {
        lines: Vec<String>,
        diags: Vec<Diagnostic>,
    }

    impl Sink for Collect {
        fn line(&mut self, text: &str) -> io::Result<()> {
            self.lines.push(text.to_owned());
            Ok(())
        }
        fn diagnostic(&mut self, d: Diagnostic) {
            self.diags.push(d);
        }
    }

    fn session() -> Session {
        Session::new(Gateway::new().expect("gateway"), Mode::Script)
    }

    fn run(s: &mut Session, lines: &[&str]) -> Collect {
        let mut c = Collect::default();
        for (i, l) in lines.iter().enumerate() {
            s.run_line(l, i + 1, &mut c).expect("sink");
        }
        c
    }

    #[test]
    fn variables_and_last_result_print_as_values() {
        let mut s = session();
        let c = run(
            &mut s,
            &[
                "$p = getpid()",
                "kill($p, 0)",
                "getppid()",
                "$q = getpid()",
                "kill($_, 0)",
            ],
        );
        assert!(c.diags.is_empty(), "{:?}", c.diags);
        let pid = std::process::id();
        assert_eq!(
            c.lines,
            [
                format!("getpid() = {pid}"),
                format!("kill({pid}, 0) = 0"),
                format!("getppid() = {}", std::os::unix::process::parent_id()),
                format!("getpid() = {pid}"),
                format!("kill({pid}, 0) = 0"),
            ]
        );
        assert_eq!(s.var_names().collect::<Vec<_>>(), ["p", "q"]);
    }

    #[test]
    fn chains_show_resolved_links_and_cancelled_rest() {
        let mut s = session();
        let c = run(
            &mut s,
            &[
                r#"openat(AT_FDCWD, "/proc/self/comm", O_RDONLY) -> fstat($prev, {}) -> close($1)"#,
                r#"openat(AT_FDCWD, "/nonexistent/x", O_RDONLY) -> close($prev)"#,
            ],
        );
        assert!(c.diags.is_empty(), "{:?}", c.diags);
        assert_eq!(c.lines.len(), 5, "{:?}", c.lines);
        let fd: i64 = c.lines[0].rsplit(" = ").next().unwrap().parse().unwrap();
        assert_eq!(
            c.lines[1],
            format!("fstat({fd}, {{st_mode=S_IFREG|0644, st_size=0, ...}}) = 0")
        );
        assert_eq!(c.lines[2], format!("close({fd}) = 0"));
        assert!(c.lines[3].ends_with("ENOENT (No such file or directory)"));
        assert_eq!(
            c.lines[4],
            "close($prev) = -1 ECANCELED (Operation canceled)"
        );
    }

    #[test]
    fn errors_are_diagnostics_with_columns() {
        let mut s = session();
        let c = run(
            &mut s,
            &[
                "opnat(1)",
                "close($nope)",
                "exit_group(0)",
                "munmap(0x1000, 4096)",
                ":wait 9",
                "getpid(",
            ],
        );
        assert!(c.lines.is_empty(), "{:?}", c.lines);
        let summary: Vec<(Severity, Option<usize>)> =
            c.diags.iter().map(|d| (d.severity, d.col)).collect();
        assert_eq!(
            summary,
            [
                (Severity::Input, Some(1)),
                (Severity::Input, Some(7)),
                (Severity::Input, Some(1)),
                (Severity::Runtime, Some(1)),
                (Severity::Runtime, None),
                (Severity::Input, Some(8)),
            ]
        );
        assert_eq!(
            c.diags[2].message,
            "exit_group is refused by the gateway: would end the whole process, the submitter with it"
        );
    }

    #[test]
    fn cancel_interrupts_a_call_running_on_a_worker() {
        let mut s = session();
        let c = run(&mut s, &["nanosleep({tv_sec=3600, tv_nsec=0}, NULL) &"]);
        assert!(c.diags.is_empty(), "{:?}", c.diags);
        // Running, not queued: cancelling it must interrupt the worker.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !(s.gw.stats().pool.unbounded.busy == 1 && s.gw.stats().pool.unbounded.queued == 0) {
            assert!(std::time::Instant::now() < deadline, "{:?}", s.gw.stats());
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let c = run(&mut s, &[":cancel", ":wait"]);
        assert_eq!(c.lines.len(), 1, "{:?}", c.lines);
        assert!(
            c.lines[0].ends_with("= -1 ECANCELED (Operation canceled)"),
            "{:?}",
            c.lines
        );
        assert_eq!(s.gw.stats().pool.unbounded.busy, 0, "the worker is free");
    }

    #[test]
    fn background_requests_wait_and_cancel() {
        let mut s = session();
        let c = run(
            &mut s,
            &[
                "pipe2([0, 0], O_CLOEXEC)",
                "getpid() &",
                ":wait $_",
                "read(999, \"\", 8) &",
                ":wait",
            ],
        );
        assert!(c.diags.is_empty(), "{:?}", c.diags);
        assert_eq!(c.lines.len(), 3, "{:?}", c.lines);
        assert_eq!(c.lines[1], format!("[1] getpid() = {}", std::process::id()));
        assert_eq!(
            c.lines[2],
            "[2] read(999, \"\", 8) = -1 EBADF (Bad file descriptor)"
        );
        // A read on an empty pipe parks until cancelled.
        let fds = &c.lines[0];
        let rd: String = fds
            .trim_start_matches("pipe2([")
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let c = run(
            &mut s,
            &[&format!("read({rd}, \"\", 8) &"), ":cancel", ":wait"],
        );
        assert_eq!(
            c.lines,
            [format!(
                "[3] read({rd}, \"\", 8) = -1 ECANCELED (Operation canceled)"
            )]
        );
    }

    #[test]
    fn substitute_reaches_nested_values() {
        let Ok(Line::Call(cl)) =
            parse_line("clock_nanosleep($a, 0, {tv_sec=$a, tv_nsec=[$a|1]}, NULL)")
        else {
            panic!()
        };
        let mut args = cl.call.args;
        for a in &mut args {
            substitute(a, &|_| Some(7));
        }
        let printed: Vec<String> = args.iter().map(crate::strace::format_expr).collect();
        assert_eq!(printed, ["7", "0", "{tv_sec=7, tv_nsec=[7|1]}", "NULL"]);
    }
}
