//! Deadlines and completion counts an executor waits on: `Timeout` and
//! `LinkTimeout` requests, and re-sending interrupts to a cancelled call
//! that has not returned yet. One thread per executor serves them, started
//! when the first one is armed; it sleeps on a condition variable until the
//! earliest deadline.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

/// What happens when a timer fires. Whoever takes an event out of
/// [`Timers`] (the timer thread, or the request it bounds) answers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimerEvent {
    /// A `Timeout` request: -ETIME at its deadline, 0 when its count is
    /// reached.
    Timeout { user_data: u64 },
    /// A `LinkTimeout` bounding pool job `job`: at the deadline the job is
    /// cancelled and the link timeout completes -ETIME.
    LinkTimeout { user_data: u64, job: u64 },
    /// Re-send interrupts to cancelled calls still running.
    Reinterrupt,
}

#[derive(Default)]
pub(crate) struct TimerState {
    next_id: u64,
    by_deadline: BTreeMap<(Instant, u64), TimerEvent>,
    deadline_of: HashMap<u64, Instant>,
    /// `Timeout`s with a count: (completions total to reach, id).
    by_count: BTreeMap<(u64, u64), ()>,
    count_of: HashMap<u64, u64>,
    pub(crate) stop: bool,
    pub(crate) thread: Option<JoinHandle<()>>,
}

/// The timer table of one executor.
pub(crate) struct Timers {
    state: Mutex<TimerState>,
    pub(crate) changed: Condvar,
    /// The smallest completion count a `Timeout` waits for (`u64::MAX`:
    /// none), so posting checks one atomic instead of taking the lock.
    next_count: AtomicU64,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            state: Mutex::default(),
            changed: Condvar::new(),
            next_count: AtomicU64::new(u64::MAX),
        }
    }
}

impl Timers {
    pub(crate) fn lock(&self) -> MutexGuard<'_, TimerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Arms `event` for `at`, and (for a `Timeout` with a count) for the
    /// moment `count_target` completions have been posted. Returns its id.
    pub(crate) fn add(&self, at: Instant, count_target: Option<u64>, event: TimerEvent) -> u64 {
        let mut s = self.lock();
        s.next_id += 1;
        let id = s.next_id;
        s.by_deadline.insert((at, id), event);
        s.deadline_of.insert(id, at);
        if let Some(target) = count_target {
            s.by_count.insert((target, id), ());
            s.count_of.insert(id, target);
            self.refresh_next_count(&s);
        }
        drop(s);
        self.changed.notify_all();
        id
    }

    /// Takes timer `id` out if it has not fired; the caller answers it.
    pub(crate) fn remove(&self, id: u64) -> Option<TimerEvent> {
        let mut s = self.lock();
        let event = take(&mut s, id);
        self.refresh_next_count(&s);
        event
    }

    /// Takes every event due at `now`, and the next deadline after them.
    pub(crate) fn take_due(
        &self,
        s: &mut TimerState,
        now: Instant,
    ) -> (Vec<TimerEvent>, Option<Instant>) {
        let mut due = Vec::new();
        while let Some((&(at, id), _)) = s.by_deadline.first_key_value() {
            if at > now {
                break;
            }
            due.extend(take(s, id));
        }
        self.refresh_next_count(s);
        (due, s.by_deadline.first_key_value().map(|(&(at, _), _)| at))
    }

    /// `Timeout`s whose count `completed` has reached, taken out.
    pub(crate) fn take_counted(&self, completed: u64) -> Vec<TimerEvent> {
        if completed < self.next_count.load(Ordering::Relaxed) {
            return Vec::new();
        }
        let mut s = self.lock();
        let mut due = Vec::new();
        while let Some((&(target, id), _)) = s.by_count.first_key_value() {
            if target > completed {
                break;
            }
            due.extend(take(&mut s, id));
        }
        self.refresh_next_count(&s);
        due
    }

    /// Every event still armed, taken out (the executor is stopping).
    pub(crate) fn take_all(&self, s: &mut TimerState) -> Vec<TimerEvent> {
        let ids: Vec<u64> = s.deadline_of.keys().copied().collect();
        let all = ids.into_iter().filter_map(|id| take(s, id)).collect();
        self.refresh_next_count(s);
        all
    }

    fn refresh_next_count(&self, s: &TimerState) {
        let next = s
            .by_count
            .first_key_value()
            .map_or(u64::MAX, |(&(t, _), _)| t);
        self.next_count.store(next, Ordering::Relaxed);
    }
}

fn take(s: &mut TimerState, id: u64) -> Option<TimerEvent> {
    let at = s.deadline_of.remove(&id)?;
    if let Some(target) = s.count_of.remove(&id) {
        s.by_count.remove(&(target, id));
    }
    s.by_deadline.remove(&(at, id))
}
