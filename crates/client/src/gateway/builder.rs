//! The options of a gateway, and the building of its rings, executor and
//! state.

use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

use sysgate_exec::{Executor, PoolConfig, ReadinessBackend, WorkerPool};
use sysgate_ring::{Region, RegionSizes};

use crate::error::Error;
use crate::handoff::Handoff;

use super::slots::{Core, State};
use super::submit::SubmitSide;
use super::{Driver, Gateway, Inner};

/// The buffer arena a gateway has unless told otherwise
/// ([`GatewayBuilder::arena_bytes`]): 256 MiB of address space, created
/// when a request first needs it, which costs memory only while big
/// requests use it. The most one request moves through it.
pub const DEFAULT_ARENA_BYTES: usize = 256 << 20;

/// Options for a [`Gateway`].
#[derive(Clone)]
pub struct GatewayBuilder {
    pub(super) sq_bytes: u32,
    pub(super) cq_bytes: u32,
    pub(super) pool: Option<WorkerPool>,
    pub(super) max_bounded: Option<usize>,
    pub(super) max_unbounded: Option<usize>,
    pub(super) idle_timeout: Option<Duration>,
    pub(super) sq_poll: Option<Duration>,
    pub(super) arena_bytes: usize,
    pub(super) readiness: Option<ReadinessBackend>,
}

impl GatewayBuilder {
    /// Bytes of the submission ring (a power of two, 4 KiB to 1 GiB).
    /// Default 4 MiB: the frame limit is half the smaller ring, and from 4
    /// MiB up a frame holds the protocol's full 1 MiB of buffers. With
    /// smaller rings, buffers that do not fit a frame go through the
    /// arena ([`GatewayBuilder::arena_bytes`]).
    pub fn sq_bytes(mut self, bytes: u32) -> Self {
        self.sq_bytes = bytes;
        self
    }

    /// Bytes of the completion ring (a power of two, 4 KiB to 1 GiB).
    /// Completions that do not fit wait in an ordered backlog, never
    /// dropped. Default 4 MiB (see [`GatewayBuilder::sq_bytes`]).
    pub fn cq_bytes(mut self, bytes: u32) -> Self {
        self.cq_bytes = bytes;
        self
    }

    /// Most workers for calls on regular files and block devices. Default
    /// `min(ring entries, 4 × CPUs)`.
    pub fn max_bounded(mut self, n: usize) -> Self {
        self.max_bounded = Some(n);
        self
    }

    /// Most workers for calls that may block indefinitely. Default
    /// `RLIMIT_NPROC`, at most 1,024.
    pub fn max_unbounded(mut self, n: usize) -> Self {
        self.max_unbounded = Some(n);
        self
    }

    /// How long an idle worker waits for work before it exits. Default 5 s.
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = Some(idle);
        self
    }

    /// Polling-thread mode: a thread takes submissions off the ring (spinning
    /// for `idle` after the last one, then sleeping) instead of the
    /// submitting thread. Off by default: inline calls then run on the
    /// submitting thread with no hand-off at all.
    pub fn sq_poll(mut self, idle: Option<Duration>) -> Self {
        self.sq_poll = idle;
        self
    }

    /// Bytes of the buffer arena (rounded up to whole 4 KiB pages; 0: none),
    /// through which requests whose buffers do not fit a frame — more than
    /// 1 MiB in all by default — move their big buffers: the most one
    /// request can read or write at once. Default [`DEFAULT_ARENA_BYTES`]
    /// (256 MiB). It is address space, mapped when a request first needs
    /// it: pages cost memory only while requests use them, and are given
    /// back after each. A request needing more fails with
    /// [`Error::BuffersTooLarge`]; one that finds the arena held by
    /// requests in flight with [`Error::ArenaFull`]; if the arena cannot
    /// be created (more than [`sysgate_ring::MAX_ARENA_BYTES`], or the
    /// system refuses), with [`Error::Region`].
    pub fn arena_bytes(mut self, bytes: usize) -> Self {
        self.arena_bytes = bytes.div_ceil(4096).saturating_mul(4096);
        self
    }

    /// Forces how parked requests wait for readiness (default:
    /// `SYSGATE_READINESS` if set, else io_uring where the kernel allows it
    /// and epoll otherwise; [`Gateway::stats`] says which runs).
    pub fn readiness(mut self, backend: ReadinessBackend) -> Self {
        self.readiness = Some(backend);
        self
    }

    /// Shares the worker pool of `other` (one gateway per submitting thread,
    /// one pool). The pool options of this builder are then ignored.
    pub fn share_pool(mut self, other: &Gateway) -> Self {
        self.pool = Some(other.inner.pool.clone());
        self
    }

    /// Creates the rings and starts the executor.
    pub fn build(self) -> Result<Gateway, Error> {
        let max_frame = sysgate_ring::layout::max_frame_for(self.sq_bytes.min(self.cq_bytes))
            .min(sysgate_proto::MAX_MESSAGE_LEN as u32);
        let region = Region::create(RegionSizes {
            sq_bytes: self.sq_bytes,
            cq_bytes: self.cq_bytes,
            max_frame,
        })
        .map_err(Error::Region)?;
        let pool = self.pool.unwrap_or_else(|| {
            let mut config = PoolConfig::for_entries(self.sq_bytes as usize / 128);
            if let Some(n) = self.max_bounded {
                config.max_bounded = n.max(1);
            }
            if let Some(n) = self.max_unbounded {
                config.max_unbounded = n.max(1);
            }
            if let Some(idle) = self.idle_timeout {
                config.idle_timeout = idle;
            }
            WorkerPool::new(config)
        });
        let mut exec = Executor::builder().pool(pool.clone());
        if let Some(idle) = self.sq_poll {
            exec = exec.sq_poll(idle);
        }
        if let Some(backend) = self.readiness {
            exec = exec.readiness(backend);
        }
        let exec = exec.build(
            region.sq_consumer().map_err(Error::Region)?,
            region.cq_producer().map_err(Error::Region)?,
        );
        let waiter = exec.waiter();
        let core = Arc::new(Core {
            interrupter: waiter.interrupter(),
            state: Mutex::new(State {
                cq: region.cq_consumer().map_err(Error::Region)?,
                frame: Vec::new(),
                slots: Vec::new(),
                free: Vec::new(),
                handoff: Handoff::new(waiter),
                unmatched: 0,
            }),
            driver_wake: Condvar::new(),
        });
        Ok(Gateway {
            inner: Arc::new(Inner {
                core,
                submit: Mutex::new(SubmitSide {
                    exec: Some(exec),
                    sq: region.sq_producer().map_err(Error::Region)?,
                    frames: Vec::new(),
                    ends: Vec::new(),
                    _held: sysgate_exec::hold_fd(region.fd()),
                    _region: region,
                }),
                driver: Mutex::new(Driver::NotStarted),
                pool,
                arena: OnceLock::new(),
                arena_bytes: self.arena_bytes,
                max_frame: max_frame as usize,
            }),
        })
    }
}
