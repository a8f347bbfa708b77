//! The io-wq-style worker pool.
//!
//! Two accounts: *bounded* for work that always finishes (regular files,
//! block devices, path lookups) and *unbounded* for work that may block
//! indefinitely (sockets, pipes, sleeps, locks, unknown calls), so that the
//! latter can never starve the former. A worker is started only when a job
//! arrives that no idle worker can take and the account is under its
//! maximum. Idle workers sleep in the channel (a futex, no spinning loop)
//! and leave after the idle timeout, keeping one per account. Jobs that
//! write the same regular file (same device and inode) run one after
//! another, in submission order, while other files proceed in parallel.

use std::collections::{HashMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

/// Which of the pool's two accounts a job is charged to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Account {
    /// Work that always finishes: regular files, block devices, lookups.
    Bounded,
    /// Work that may block indefinitely: sockets, pipes, sleeps, locks.
    Unbounded,
}

impl Account {
    fn index(self) -> usize {
        match self {
            Account::Bounded => 0,
            Account::Unbounded => 1,
        }
    }
}

/// A file, as the kernel identifies it: writes to one file are serialized.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct FileKey {
    pub(crate) dev: u64,
    pub(crate) ino: u64,
}

/// What the pool runs. Implemented by the executor's punted requests.
pub(crate) trait Job: Send + 'static {
    /// Does the work on worker thread `tid` and posts its completion.
    fn run(&mut self, tid: i32);
    /// `run` panicked: post the error completion instead.
    fn panicked(&mut self);
}

struct Queued {
    job: Box<dyn Job>,
    key: Option<FileKey>,
}

enum Msg {
    Work(Queued),
    Stop,
}

/// Worker counts of one account, as [`WorkerPool::stats`] reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccountStats {
    /// The most workers this account may have.
    pub max: usize,
    /// Workers alive now.
    pub workers: usize,
    /// Workers running a job now.
    pub busy: usize,
    /// Jobs waiting for a worker.
    pub queued: usize,
    /// The most workers alive at once since the pool started.
    pub peak: usize,
    /// Workers started since the pool started.
    pub started: u64,
}

/// Counters of the whole pool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// The bounded account.
    pub bounded: AccountStats,
    /// The unbounded account.
    pub unbounded: AccountStats,
    /// Jobs that had to wait because an earlier write to the same file was
    /// still queued or running.
    pub hashed_waits: u64,
    /// Jobs whose run panicked.
    pub panics: u64,
}

#[derive(Default)]
struct Counts {
    max: usize,
    workers: usize,
    busy: usize,
    queued: usize,
    peak: usize,
    started: u64,
    stopping: bool,
}

struct AccountQueue {
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
    counts: Mutex<Counts>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

struct Shared {
    accounts: [AccountQueue; 2],
    /// Files with a write queued or running, and the writes waiting behind it.
    hashed: Mutex<HashMap<FileKey, VecDeque<Box<dyn Job>>>>,
    idle_timeout: Duration,
    /// The signal whose (empty, non-restarting) handler is installed, if any.
    interrupt_signal: Option<i32>,
    hashed_waits: AtomicU64,
    panics: AtomicU64,
}

/// Builds a [`WorkerPool`].
#[derive(Clone, Debug)]
pub struct PoolConfig {
    /// Most bounded workers.
    pub max_bounded: usize,
    /// Most unbounded workers.
    pub max_unbounded: usize,
    /// How long an idle worker waits for work before it leaves (one worker
    /// per account always stays).
    pub idle_timeout: Duration,
    /// The signal that interrupts a worker blocked in a call (see
    /// [`crate::default_signal`]); `None` never interrupts.
    pub interrupt_signal: Option<i32>,
}

impl PoolConfig {
    /// The defaults for a ring of `entries` submissions: bounded max
    /// `min(entries, 4 × CPUs)`, unbounded max `RLIMIT_NPROC` (capped at
    /// 1,024 — the pool is not a fork bomb), idle timeout 5 s.
    pub fn for_entries(entries: usize) -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        PoolConfig {
            max_bounded: entries.min(4 * cpus).max(1),
            max_unbounded: nproc_limit().clamp(1, 1024),
            idle_timeout: Duration::from_secs(5),
            interrupt_signal: Some(crate::interrupt::default_signal()),
        }
    }
}

fn nproc_limit() -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` into the valid, exclusively
    // borrowed `lim`.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NPROC, &mut lim) };
    if rc != 0 || lim.rlim_cur == libc::RLIM_INFINITY {
        usize::MAX
    } else {
        usize::try_from(lim.rlim_cur).unwrap_or(usize::MAX)
    }
}

/// A pool of worker threads for calls that block. Clones share the pool;
/// it stops (finishing queued work, then joining its threads) when the last
/// clone is dropped. Several executors may share one.
#[derive(Clone)]
pub struct WorkerPool {
    owner: Arc<Owner>,
}

/// Stops the workers when the last [`WorkerPool`] goes; workers themselves
/// hold only `Shared`.
struct Owner {
    shared: Arc<Shared>,
}

impl WorkerPool {
    /// A pool with no workers yet.
    pub fn new(config: PoolConfig) -> Self {
        let account = |max: usize| {
            let (tx, rx) = crossbeam_channel::unbounded();
            AccountQueue {
                tx,
                rx,
                counts: Mutex::new(Counts {
                    max: max.max(1),
                    ..Counts::default()
                }),
                threads: Mutex::new(Vec::new()),
            }
        };
        WorkerPool {
            owner: Arc::new(Owner {
                shared: Arc::new(Shared {
                    accounts: [account(config.max_bounded), account(config.max_unbounded)],
                    hashed: Mutex::new(HashMap::new()),
                    idle_timeout: config.idle_timeout,
                    interrupt_signal: config
                        .interrupt_signal
                        .filter(|&s| crate::interrupt::install(s)),
                    hashed_waits: AtomicU64::new(0),
                    panics: AtomicU64::new(0),
                }),
            }),
        }
    }

    /// The most workers `account` may have.
    pub fn max_workers(&self, account: Account) -> usize {
        lock(&self.owner.shared.accounts[account.index()].counts).max
    }

    /// Changes the most workers `account` may have (at least 1), like
    /// `IORING_REGISTER_IOWQ_MAX_WORKERS`; returns the old value. Workers
    /// over a lowered maximum leave when they finish their current job.
    pub fn set_max_workers(&self, account: Account, max: usize) -> usize {
        let q = &self.owner.shared.accounts[account.index()];
        let mut c = lock(&q.counts);
        let old = c.max;
        c.max = max.max(1);
        // Raising the maximum may let queued work start now.
        while c.queued > c.workers - c.busy && c.workers < c.max {
            spawn_worker(&self.owner.shared, account, &mut c);
        }
        old
    }

    /// The signal that interrupts a blocked worker, if interruption is
    /// available (it is not when the host program handles that signal).
    pub fn interrupt_signal(&self) -> Option<i32> {
        self.owner.shared.interrupt_signal
    }

    /// A snapshot of the pool's counters.
    pub fn stats(&self) -> PoolStats {
        let s = &self.owner.shared;
        let account = |a: Account| {
            let c = lock(&s.accounts[a.index()].counts);
            AccountStats {
                max: c.max,
                workers: c.workers,
                busy: c.busy,
                queued: c.queued,
                peak: c.peak,
                started: c.started,
            }
        };
        PoolStats {
            bounded: account(Account::Bounded),
            unbounded: account(Account::Unbounded),
            hashed_waits: s.hashed_waits.load(Ordering::Relaxed),
            panics: s.panics.load(Ordering::Relaxed),
        }
    }

    /// A handle that can queue work but does not keep the pool alive: what
    /// a job holds to queue follow-up work (a job owning a `WorkerPool`
    /// could end up dropping the last one on a worker, which would then
    /// join itself).
    pub(crate) fn handle(&self) -> PoolHandle {
        PoolHandle {
            shared: Arc::clone(&self.owner.shared),
        }
    }

    /// Queues `job` on `account`; see [`PoolHandle::submit`].
    #[cfg(test)]
    pub(crate) fn submit(&self, account: Account, key: Option<FileKey>, job: Box<dyn Job>) {
        self.handle().submit(account, key, job);
    }
}

/// Queues work on a [`WorkerPool`] without owning it.
#[derive(Clone)]
pub(crate) struct PoolHandle {
    shared: Arc<Shared>,
}

impl PoolHandle {
    /// Queues `job` on `account`. With a `key`, the job waits until every
    /// earlier job with the same key has finished. If the pool has stopped,
    /// the job is dropped, which completes it (see the `Job` impls).
    pub(crate) fn submit(&self, account: Account, key: Option<FileKey>, job: Box<dyn Job>) {
        let shared = &self.shared;
        if let Some(key) = key {
            let mut hashed = lock(&shared.hashed);
            match hashed.get_mut(&key) {
                Some(waiting) => {
                    // An earlier write to this file is queued or running; its
                    // worker runs this one next.
                    waiting.push_back(job);
                    shared.hashed_waits.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                None => {
                    hashed.insert(key, VecDeque::new());
                }
            }
        }
        enqueue(shared, account, Queued { job, key });
    }
}

fn enqueue(shared: &Arc<Shared>, account: Account, work: Queued) {
    let q = &shared.accounts[account.index()];
    let mut c = lock(&q.counts);
    if c.stopping {
        // No worker will take it: dropping the job completes it.
        drop(c);
        drop(work);
        return;
    }
    c.queued += 1;
    if c.queued > c.workers - c.busy && c.workers < c.max && !c.stopping {
        spawn_worker(shared, account, &mut c);
    }
    // Sent under the counts lock so that an idle worker deciding to leave
    // sees `queued` and the channel agree.
    q.tx.send(Msg::Work(work))
        .expect("the pool holds its own receiver");
}

fn spawn_worker(shared: &Arc<Shared>, account: Account, c: &mut MutexGuard<'_, Counts>) {
    let name = match account {
        Account::Bounded => "sysgate-wq-b",
        Account::Unbounded => "sysgate-wq-u",
    };
    let worker_shared = Arc::clone(shared);
    let spawned = std::thread::Builder::new()
        .name(name.into())
        .stack_size(256 * 1024)
        .spawn(move || worker_main(&worker_shared, account));
    // Out of threads: the job stays queued for an existing worker; an
    // account with no worker at all retries on its next submission.
    if let Ok(handle) = spawned {
        c.workers += 1;
        c.started += 1;
        c.peak = c.peak.max(c.workers);
        let q = &shared.accounts[account.index()];
        let mut threads = lock(&q.threads);
        threads.retain(|h| !h.is_finished());
        threads.push(handle);
    }
}

fn worker_main(shared: &Shared, account: Account) {
    set_min_timer_slack();
    if let Some(sig) = shared.interrupt_signal {
        crate::interrupt::unblock_on_this_thread(sig);
    }
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let q = &shared.accounts[account.index()];
    loop {
        // The one worker an account keeps sleeps until there is work: an
        // idle pool wakes no thread. Others leave after the idle timeout.
        let last = lock(&q.counts).workers == 1;
        let received = if last {
            q.rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
        } else {
            q.rx.recv_timeout(shared.idle_timeout)
        };
        let msg = match received {
            Ok(msg) => msg,
            Err(RecvTimeoutError::Timeout) => {
                let mut c = lock(&q.counts);
                if c.workers > 1 && c.queued == 0 {
                    c.workers -= 1;
                    return;
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let Msg::Work(mut work) = msg else {
            lock(&q.counts).workers -= 1;
            return;
        };
        {
            let mut c = lock(&q.counts);
            c.queued -= 1;
            c.busy += 1;
        }
        loop {
            run_job(shared, &mut *work.job, tid);
            // Writes waiting on the same file run next, on this worker.
            let Some(key) = work.key else { break };
            let mut hashed = lock(&shared.hashed);
            match hashed.get_mut(&key).and_then(VecDeque::pop_front) {
                Some(next) => work.job = next,
                None => {
                    hashed.remove(&key);
                    break;
                }
            }
        }
        let mut c = lock(&q.counts);
        c.busy -= 1;
        if c.workers > c.max {
            c.workers -= 1;
            return;
        }
    }
}

fn run_job(shared: &Shared, job: &mut dyn Job, tid: i32) {
    if catch_unwind(AssertUnwindSafe(|| job.run(tid))).is_err() {
        shared.panics.fetch_add(1, Ordering::Relaxed);
        // A second panic would lose the completion; there is nothing left
        // to do for it but count it.
        let _ = catch_unwind(AssertUnwindSafe(|| job.panicked()));
    }
}

/// A punted 100 µs sleep must not become 150 µs: the default timer slack of
/// 50 µs is for background threads, not for work someone waits on.
fn set_min_timer_slack() {
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument and changes only
    // this thread's timer slack.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0) };
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Counters stay consistent even if a holder panicked: every critical
    // section above is a few integer updates that cannot unwind midway.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Drop for Owner {
    fn drop(&mut self) {
        for q in &self.shared.accounts {
            let workers = {
                let mut c = lock(&q.counts);
                c.stopping = true;
                c.workers
            };
            // Queued work is ahead of the stop messages and still runs.
            for _ in 0..workers {
                let _ = q.tx.send(Msg::Stop);
            }
            let threads = std::mem::take(&mut *lock(&q.threads));
            for t in threads {
                let _ = t.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::mpsc;
    use std::time::Instant;

    struct FnJob<F: FnMut(i32) + Send + 'static> {
        f: F,
        done: mpsc::Sender<&'static str>,
    }
    impl<F: FnMut(i32) + Send + 'static> Job for FnJob<F> {
        fn run(&mut self, tid: i32) {
            (self.f)(tid);
            let _ = self.done.send("ran");
        }
        fn panicked(&mut self) {
            let _ = self.done.send("panicked");
        }
    }

    fn config(max_b: usize, max_u: usize, idle: Duration) -> PoolConfig {
        PoolConfig {
            max_bounded: max_b,
            max_unbounded: max_u,
            idle_timeout: idle,
            interrupt_signal: None,
        }
    }

    #[test]
    fn workers_never_exceed_the_maximum() {
        let pool = WorkerPool::new(config(2, 16, Duration::from_secs(5)));
        let (tx, rx) = mpsc::channel();
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        for _ in 0..200 {
            let (running, most) = (Arc::clone(&running), Arc::clone(&most));
            let f = move |_| {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
                running.fetch_sub(1, Ordering::SeqCst);
            };
            pool.submit(
                Account::Unbounded,
                None,
                Box::new(FnJob {
                    f,
                    done: tx.clone(),
                }),
            );
        }
        for _ in 0..200 {
            assert_eq!(rx.recv().unwrap(), "ran");
        }
        let stats = pool.stats();
        assert_eq!(stats.unbounded.peak, 16);
        assert_eq!(most.load(Ordering::SeqCst), 16);
        assert_eq!(
            stats.bounded.started, 0,
            "no bounded worker without bounded work"
        );
    }

    #[test]
    fn idle_workers_leave_but_one_stays() {
        let pool = WorkerPool::new(config(4, 4, Duration::from_millis(50)));
        let (tx, rx) = mpsc::channel();
        for _ in 0..4 {
            let f = |_| std::thread::sleep(Duration::from_millis(30));
            pool.submit(
                Account::Bounded,
                None,
                Box::new(FnJob {
                    f,
                    done: tx.clone(),
                }),
            );
        }
        for _ in 0..4 {
            rx.recv().unwrap();
        }
        assert_eq!(pool.stats().bounded.peak, 4);
        let deadline = Instant::now() + Duration::from_secs(10);
        while pool.stats().bounded.workers > 1 {
            assert!(Instant::now() < deadline, "idle workers did not leave");
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(pool.stats().bounded.workers, 1, "the last worker stays");
    }

    #[test]
    fn same_key_runs_in_order_one_at_a_time() {
        let pool = WorkerPool::new(config(8, 8, Duration::from_secs(5)));
        let (tx, rx) = mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let in_a = Arc::new(AtomicUsize::new(0));
        for i in 0..200 {
            let key = FileKey { dev: 1, ino: i % 2 };
            let (log, in_a) = (Arc::clone(&log), Arc::clone(&in_a));
            let f = move |_| {
                if key.ino == 0 {
                    assert_eq!(
                        in_a.fetch_add(1, Ordering::SeqCst),
                        0,
                        "two writers at once"
                    );
                    std::thread::sleep(Duration::from_micros(200));
                    in_a.fetch_sub(1, Ordering::SeqCst);
                }
                log.lock().unwrap().push((key.ino, i));
            };
            pool.submit(
                Account::Bounded,
                Some(key),
                Box::new(FnJob {
                    f,
                    done: tx.clone(),
                }),
            );
        }
        for _ in 0..200 {
            assert_eq!(rx.recv().unwrap(), "ran");
        }
        let log = log.lock().unwrap();
        for file in 0..2 {
            let order: Vec<u64> = log.iter().filter(|e| e.0 == file).map(|e| e.1).collect();
            assert!(
                order.windows(2).all(|w| w[0] < w[1]),
                "file {file} out of order"
            );
            assert_eq!(order.len(), 100);
        }
        assert!(pool.stats().hashed_waits > 0);
    }

    #[test]
    fn a_panicking_job_is_reported_and_the_pool_goes_on() {
        let pool = WorkerPool::new(config(1, 1, Duration::from_secs(5)));
        let (tx, rx) = mpsc::channel();
        let f = |_| panic!("injected");
        pool.submit(
            Account::Unbounded,
            None,
            Box::new(FnJob {
                f,
                done: tx.clone(),
            }),
        );
        assert_eq!(rx.recv().unwrap(), "panicked");
        pool.submit(
            Account::Unbounded,
            None,
            Box::new(FnJob {
                f: |_| {},
                done: tx,
            }),
        );
        assert_eq!(rx.recv().unwrap(), "ran");
        assert_eq!(pool.stats().panics, 1);
    }

    #[test]
    fn raising_the_maximum_starts_queued_work() {
        let pool = WorkerPool::new(config(1, 1, Duration::from_secs(5)));
        let (tx, rx) = mpsc::channel();
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate_rx));
        for _ in 0..2 {
            let gate = Arc::clone(&gate);
            let f = move |_| {
                let _ = gate.lock().unwrap().recv_timeout(Duration::from_secs(10));
            };
            pool.submit(
                Account::Bounded,
                None,
                Box::new(FnJob {
                    f,
                    done: tx.clone(),
                }),
            );
        }
        // One worker holds the gate; the second job waits for a worker.
        let until = |what: &str, ok: &dyn Fn(AccountStats) -> bool| {
            let deadline = Instant::now() + Duration::from_secs(10);
            while !ok(pool.stats().bounded) {
                assert!(
                    Instant::now() < deadline,
                    "{what}: {:?}",
                    pool.stats().bounded
                );
                std::thread::sleep(Duration::from_millis(5));
            }
        };
        until("one running, one queued", &|a| a.busy == 1 && a.queued == 1);
        assert_eq!(pool.set_max_workers(Account::Bounded, 2), 1);
        assert_eq!(pool.max_workers(Account::Bounded), 2);
        until("a second worker took it", &|a| {
            a.workers == 2 && a.queued == 0
        });
        gate_tx.send(()).unwrap();
        gate_tx.send(()).unwrap();
        rx.recv().unwrap();
        rx.recv().unwrap();
    }
}
