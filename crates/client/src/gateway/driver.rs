//! The driver thread, which waits in the executor while futures sleep,
//! and the completion side's part in the waiting protocol
//! ([`crate::handoff`]).

use std::sync::{Arc, Condvar, Mutex};
use std::task::Waker;
use std::thread::JoinHandle;

use sysgate_exec::{CompletionWaiter, WaitInterrupter, Waited};

use crate::handoff::{self, CompletionSide, Handoff};

use super::Inner;
use super::slots::{Core, State};

impl handoff::ExecutorWaiter for CompletionWaiter {
    fn wait(&mut self) -> bool {
        CompletionWaiter::wait(self, 1, None) != Waited::Closed
    }
}

impl handoff::Interrupt for WaitInterrupter {
    fn interrupt(&self) {
        WaitInterrupter::interrupt(self);
    }
}

impl CompletionSide for Core {
    type Waiter = CompletionWaiter;
    type Interrupter = WaitInterrupter;
    type State = State;

    fn state(&self) -> &Mutex<State> {
        &self.state
    }

    fn handoff(state: &mut State) -> &mut Handoff<CompletionWaiter> {
        &mut state.handoff
    }

    fn driver_wake(&self) -> &Condvar {
        &self.driver_wake
    }

    fn interrupter(&self) -> &WaitInterrupter {
        &self.interrupter
    }

    /// Reaps the completion ring and wakes whoever it completes.
    fn reap_and_wake(&self) {
        let mut wake = Vec::new();
        // A ring error cannot be acted on here; the submitter sees it.
        let _ = self.lock().reap(&mut wake);
        wake.into_iter().for_each(Waker::wake);
    }
}

/// The driver thread, started when a future first sleeps.
pub(super) enum Driver {
    NotStarted,
    Running(JoinHandle<()>),
    Gone,
}

impl Inner {
    pub(super) fn start_driver(&self) {
        let mut driver = self.driver.lock().unwrap_or_else(|e| e.into_inner());
        if let Driver::NotStarted = &*driver {
            let core = Arc::clone(&self.core);
            *driver = match std::thread::Builder::new()
                .name("sysgate-driver".into())
                .spawn(move || handoff::drive(&*core))
            {
                Ok(thread) => Driver::Running(thread),
                // No thread: futures that sleep are woken only when another
                // submission reaps their completion, or a blocking wait
                // takes the executor's waiter. The start is not retried.
                Err(_) => Driver::Gone,
            };
        }
    }
}
