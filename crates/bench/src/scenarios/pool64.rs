//! The plain thread-pool baseline: N threads taking jobs off one
//! crossbeam channel and answering on another. No inline attempt, no
//! readiness: every job costs a hand-off to a worker and one back.

use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, unbounded};

/// One job: the same work the sysgate side submits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    /// `getppid()`.
    Getppid,
    /// `nanosleep` for this long (`std::thread::sleep`).
    Sleep(Duration),
}

impl Job {
    /// Does the job on this thread.
    pub fn run(self) -> u64 {
        match self {
            Job::Getppid => u64::from(std::os::unix::process::parent_id()),
            Job::Sleep(d) => {
                std::thread::sleep(d);
                0
            }
        }
    }
}

/// A fixed pool of worker threads.
pub struct ThreadPool {
    jobs: Option<Sender<Job>>,
    done: Receiver<u64>,
    threads: Vec<JoinHandle<()>>,
}

impl ThreadPool {
    /// Starts `n` workers (64 KiB stacks are plenty for a syscall).
    pub fn new(n: usize) -> Self {
        let (jobs, rx) = unbounded::<Job>();
        let (tx, done) = unbounded::<u64>();
        let threads = (0..n)
            .map(|i| {
                let (rx, tx) = (rx.clone(), tx.clone());
                std::thread::Builder::new()
                    .name(format!("pool64-{i}"))
                    .stack_size(64 * 1024)
                    .spawn(move || {
                        while let Ok(job) = rx.recv() {
                            if tx.send(job.run()).is_err() {
                                break;
                            }
                        }
                    })
                    .expect("spawning a pool thread")
            })
            .collect();
        ThreadPool {
            jobs: Some(jobs),
            done,
            threads,
        }
    }

    /// Runs `total` jobs `op(i)` keeping `inflight` outstanding; returns the
    /// jobs completed.
    pub fn run_stream(&self, total: u64, inflight: u32, mut op: impl FnMut(u64) -> Job) -> u64 {
        let jobs = self.jobs.as_ref().expect("pool running");
        let mut submitted = 0;
        while submitted < total.min(u64::from(inflight)) {
            jobs.send(op(submitted)).expect("pool running");
            submitted += 1;
        }
        let mut completed = 0;
        while completed < total {
            self.done.recv().expect("pool running");
            completed += 1;
            if submitted < total {
                jobs.send(op(submitted)).expect("pool running");
                submitted += 1;
            }
        }
        completed
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        drop(self.jobs.take());
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// `total` jobs through tokio's `spawn_blocking`, `inflight` outstanding
/// (a `JoinSet`); returns the jobs completed.
pub async fn tokio_stream(total: u64, inflight: u32, mut op: impl FnMut(u64) -> Job) -> u64 {
    let mut set = tokio::task::JoinSet::new();
    let mut submitted = 0;
    while submitted < total.min(u64::from(inflight)) {
        let job = op(submitted);
        set.spawn_blocking(move || job.run());
        submitted += 1;
    }
    let mut completed = 0;
    while let Some(r) = set.join_next().await {
        r.expect("a spawn_blocking job");
        completed += 1;
        if submitted < total {
            let job = op(submitted);
            set.spawn_blocking(move || job.run());
            submitted += 1;
        }
    }
    completed
}
