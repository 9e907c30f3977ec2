//! Who waits, and for how long: the waiter that the calls which may sleep take (whose `stop` is
//! asked between sleeps, so that a terminating thread and a closing mapping are never held up),
//! and deadline arithmetic.
//!
//! # Who asks to stop
//! Every sleep takes a [`Waiter`], whose `stop` is asked between sleeps of at most
//! [`STOP_SLICE`]: a JavaScript thread being terminated answers `true`, and the wait ends with
//! [`Error::Cancelled`] without taking anything.

use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::identity::Identity;

/// The longest single sleep of a waiter that may be asked to stop: a terminated worker ends its
/// wait within it.
pub const STOP_SLICE: Duration = Duration::from_millis(20);

/// Who waits, for the calls that may sleep.
#[derive(Clone, Copy)]
pub struct Waiter<'a> {
    /// In whose name a lock is taken (the JavaScript thread that asked, also for the threads
    /// that wait on its behalf).
    pub who: Identity,
    /// Asked between sleeps: `true` ends the wait with [`Error::Cancelled`], taking nothing.
    pub stop: &'a dyn Fn() -> bool,
    /// The caller knows it holds no acquisition of the lock (the facade keeps count): its own
    /// token in the word is then left over from a thread that had its id, or from a Mapping that
    /// was never closed, and is taken over. `false`: its own token is its own hold
    /// ([`Error::Deadlock`] for a blocking lock).
    pub holds_none: bool,
}

/// Never asked to stop.
pub fn never() -> bool {
    false
}

impl<'a> Waiter<'a> {
    /// A waiter for `who` that is never asked to stop and may hold the lock itself.
    pub fn plain(who: Identity) -> Waiter<'static> {
        Waiter {
            who,
            stop: &never,
            holds_none: false,
        }
    }

    /// [`Error::Cancelled`] if the waiter has been asked to stop.
    pub(crate) fn check(&self) -> Result<()> {
        if (self.stop)() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// What is left of a deadline, or `None` when it has passed; `Some(None)`: no deadline.
pub(crate) fn remaining(deadline: Option<Instant>) -> Option<Option<Duration>> {
    match deadline {
        None => Some(None),
        Some(deadline) => deadline
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())
            .map(Some),
    }
}

/// A deadline `timeout` from now (`None`: none, also for a timeout too large to add).
pub(crate) fn deadline_of(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|t| Instant::now().checked_add(t))
}

/// What a successful lock reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Locked {
    /// The previous holder ended without unlocking; the lock was taken over from it.
    pub owner_died: bool,
}
