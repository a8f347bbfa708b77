//! The io_uring baselines: NOP and READ at a batch, through the `io-uring`
//! crate. The only unsafe code of the crate (pushing SQEs) is here.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

use io_uring::{IoUring, opcode, squeue, types};

/// One io_uring instance, sized for batches of up to 64.
pub struct Uring {
    ring: IoUring,
}

impl Uring {
    /// A ring of 64 SQ entries (128 CQ entries).
    pub fn new() -> io::Result<Self> {
        Ok(Uring {
            ring: IoUring::new(64)?,
        })
    }

    /// Pushes `entries`, submits them in one `io_uring_enter`, waits for all
    /// their completions, and reaps them; returns the sum of the results.
    ///
    /// # Safety
    ///
    /// Every buffer an entry points to must stay valid, and not be accessed
    /// otherwise, until this function returns (it returns only after every
    /// completion has been reaped; on an io_uring error while entries are in
    /// flight it aborts the process rather than unwind).
    unsafe fn run(&mut self, entries: impl Iterator<Item = squeue::Entry>) -> i64 {
        let mut n = 0;
        {
            let mut sq = self.ring.submission();
            for e in entries {
                // Nothing is submitted before the loop ends, so a panic here
                // leaves no request in flight.
                assert!(n < 64, "batch larger than the ring");
                // SAFETY: the caller keeps every buffer `e` points to valid
                // until the completions are reaped below (this fn's contract).
                unsafe { sq.push(&e) }.expect("the submission queue has room for the batch");
                n += 1;
            }
        }
        let mut sum = 0i64;
        let mut reaped = 0;
        while reaped < n {
            // The first call submits and waits; later ones only wait.
            let want = n - reaped;
            match self.ring.submit_and_wait(want) {
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                Err(e) => {
                    // Entries may still be in flight: the buffers they point
                    // to must not be freed by unwinding.
                    eprintln!("io_uring_enter failed with requests in flight: {e}");
                    std::process::abort();
                }
            }
            for cqe in self.ring.completion() {
                sum += i64::from(cqe.result());
                reaped += 1;
            }
        }
        sum
    }

    /// `batch` × NOP: the floor of a kernel ring.
    pub fn nop_batch(&mut self, batch: u32) -> i64 {
        let entries = (0..batch).map(|i| opcode::Nop::new().build().user_data(u64::from(i)));
        // SAFETY: a NOP points to no memory.
        unsafe { self.run(entries) }
    }

    /// `batch` × READ of 4 KiB from `file` at `offset(i)` into `bufs[i]`;
    /// returns the bytes read.
    pub fn read_batch(
        &mut self,
        file: &File,
        bufs: &mut [[u8; 4096]],
        offset: impl Fn(u32) -> u64,
    ) -> i64 {
        assert!(bufs.len() <= 64, "batch larger than the ring");
        let fd = types::Fd(file.as_raw_fd());
        let entries = bufs.iter_mut().enumerate().map(|(i, b)| {
            opcode::Read::new(fd, b.as_mut_ptr(), 4096)
                .offset(offset(i as u32))
                .build()
                .user_data(i as u64)
        });
        // SAFETY: each READ points into `bufs`, which is mutably borrowed
        // (so neither freed nor otherwise accessed) for the whole call, and
        // `file` stays open for the whole call; `run` returns only after
        // every completion has been reaped.
        unsafe { self.run(entries) }
    }
}
