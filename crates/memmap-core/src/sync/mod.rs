//! Locks in bytes of a mapping, across threads and processes, that survive their holders' death:
//! the mutex ([`mutex`]) and the semaphore ([`semaphore`]). This module holds what they share:
//! who a thread is, whether a holder has ended, and sleeping so that a terminating thread and a
//! closing mapping are never held up.
//!
//! # Identities
//! A lock word names its holder by a *token* (bits 0-30, never 0) and, in the next word, a
//! *stamp* (when the thread was born; 0 while not yet written). The platform modules work them
//! out: the thread id and its start time on Linux and Windows (with the PID namespace on Linux),
//! the process id and a slot number elsewhere. One token value, [`ABANDONED`], names no thread:
//! a holder that closed the mapping it held a lock through leaves it there, and the next
//! acquirer takes the lock with `owner_died`.
//!
//! # Judging a holder
//! [`verdict`] says whether the thread a word names has [`Verdict::Ended`], is
//! [`Verdict::Alive`], or cannot be judged from here ([`Verdict::Unknown`]: another PID
//! namespace). Only an ended holder is taken over, so two threads never both hold a lock: safety
//! comes before liveness.
//!
//! # Who asks to stop
//! Every sleep takes a [`Waiter`], whose `stop` is asked between sleeps of at most
//! [`STOP_SLICE`]: a JavaScript thread being terminated answers `true`, and the wait ends with
//! [`Error::Cancelled`] without taking anything.

use std::sync::atomic::{AtomicI32, AtomicU32};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::handle::Handle;
use crate::map::Map;
use crate::wait::WaitResult;

pub(crate) mod barrier;
pub(crate) mod condition;
pub(crate) mod mutex;
pub(crate) mod rwlock;
pub(crate) mod semaphore;

// Who this thread is, and whether another one has ended: one module per system.
#[cfg(any(target_os = "linux", target_os = "android"))]
mod linux;
#[cfg(any(target_os = "linux", target_os = "android"))]
use linux as owner;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as owner;
#[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
mod slots;
#[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
use slots as owner;

/// Set in a lock word while someone may be asleep on it: the holder wakes one on unlock.
pub const WAITERS: u32 = 1 << 31;
/// The holder's token in a lock word.
pub(crate) const TOKEN: u32 = !WAITERS;
/// The token of a lock whose holder closed the mapping it held it through (no thread has it).
pub const ABANDONED: u32 = TOKEN;
/// How long a sleeper sleeps on a held lock, in all, before it asks again whether the holder
/// still lives.
pub const SLICE: Duration = Duration::from_millis(250);
/// The longest single sleep of a waiter that may be asked to stop: a terminated worker ends its
/// wait within it.
pub const STOP_SLICE: Duration = Duration::from_millis(20);

/// A thread as a lock word names it: a token (non-zero, below 2^31) and its birth stamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity {
    /// What the lock word holds while this thread holds the lock.
    pub token: u32,
    /// When the thread was born, in units of the system's choosing (0: unknown).
    pub stamp: u32,
}

/// What can be said of a lock's holder from here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The thread lives (or may: a stamp not yet written).
    Alive,
    /// The thread has ended: its lock may be taken over.
    Ended,
    /// The thread cannot be judged from here (another PID namespace): never taken over.
    Unknown,
}

// Android and windows-gnu emulate thread locals, and clippy there asks for the `const` that is
// already here.
#[allow(
    clippy::missing_const_for_thread_local,
    reason = "a false positive where thread locals are emulated"
)]
mod local {
    use super::Identity;
    use std::cell::Cell;

    thread_local! {
        pub(super) static ME: Cell<Option<Identity>> = const { Cell::new(None) };
    }
}

/// The calling thread's identity (worked out once per thread).
pub fn me() -> Identity {
    local::ME.with(|cell| {
        cell.get().unwrap_or_else(|| {
            let me = owner::identify();
            cell.set(Some(me));
            me
        })
    })
}

/// This process's identity (its main thread's, whichever thread asks), for what it makes that
/// outlives threads; `None` where it cannot be worked out fully. Linux only: the names it goes
/// into are swept only there (`shm/auto.rs`).
#[cfg(target_os = "linux")]
pub(crate) fn process_identity() -> Option<Identity> {
    linux::process_identity()
}

/// Whether the thread `holder` names has ended, as `me` sees it. `settled`: the holder's stamp
/// has read 0 for a whole [`SLICE`] (killed between taking the lock and stamping it).
pub fn verdict(holder: Identity, me: Identity, settled: bool) -> Verdict {
    owner::verdict(holder, me, settled)
}

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

/// When a waiter asks again whether a holder lives: at first sight, then after each whole
/// [`SLICE`] that it has seen the same holder (token and stamp) in the word.
#[derive(Default)]
pub(crate) struct Patience {
    seen: Option<(u32, u32, Instant)>,
    asked: bool,
}

impl Patience {
    /// Whether to judge the holder `(token, stamp)` now, and whether a stamp of 0 has stayed 0
    /// for a whole slice (`settled`).
    pub(crate) fn judge(&mut self, token: u32, stamp: u32) -> (bool, bool) {
        match self.seen {
            Some((was, was_stamp, since)) if was == token && was_stamp == stamp => {
                if since.elapsed() >= SLICE {
                    self.seen = Some((token, stamp, Instant::now()));
                    return (true, stamp == 0);
                }
                (!std::mem::replace(&mut self.asked, true), false)
            }
            _ => {
                self.seen = Some((token, stamp, Instant::now()));
                self.asked = true;
                (true, false)
            }
        }
    }

    /// How long to sleep before the next judgement is due (at least 1 ms).
    pub(crate) fn until_due(&self) -> Duration {
        self.seen.map_or(SLICE, |(_, _, since)| {
            SLICE
                .saturating_sub(since.elapsed())
                .max(Duration::from_millis(1))
        })
    }
}

/// What a successful lock reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Locked {
    /// The previous holder ended without unlocking; the lock was taken over from it.
    pub owner_died: bool,
}

impl Map {
    /// The two words at `offset`, which must be 8-aligned and inside the mapping; `write`: the
    /// caller changes them, so a mode 'r' mapping is refused.
    pub(crate) fn pair(&self, offset: usize, write: bool) -> Result<(&AtomicU32, &AtomicU32)> {
        // Checks alignment (8, in the mapping and in memory) and bounds for the pair.
        self.atomic_i64(offset)?;
        // Mode 'r' files and read-only shared memory: private pages, which no other process sees.
        if write && !self.mode().is_writable() {
            return Err(Error::ReadOnly);
        }
        Ok((
            unsigned(self.atomic_i32(offset)?),
            unsigned(self.atomic_i32(offset + 4)?),
        ))
    }
}

/// The same word as an `AtomicU32`.
pub(crate) fn unsigned(word: &AtomicI32) -> &AtomicU32 {
    // SAFETY: `AtomicI32` and `AtomicU32` have the same size and alignment, the pointer is valid
    // for the borrow's lifetime, and every access to the word is atomic.
    unsafe { AtomicU32::from_ptr(word.as_ptr().cast()) }
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

impl Handle {
    /// Sleeps on the word at `offset` while it holds `expected`, at most `limit` (`None`: no
    /// limit), in sleeps of at most [`STOP_SLICE`] between which `waiter` is asked to stop.
    /// Whether the sleep ran out its whole limit (`true`) or ended early (a wake, a change).
    pub(crate) fn sleep_as(
        &self,
        waiter: &Waiter<'_>,
        offset: usize,
        expected: u32,
        limit: Option<Duration>,
    ) -> Result<bool> {
        let deadline = deadline_of(limit);
        loop {
            let Some(left) = remaining(deadline) else {
                return Ok(true);
            };
            let slice = left.map_or(STOP_SLICE, |left| left.min(STOP_SLICE));
            match self.wait(offset, expected as i32, Some(slice))? {
                // Asked between sleeps only: the probe is a Node-API call, and a wait that ends
                // at once (the common hand-off) should not pay for it.
                WaitResult::TimedOut => waiter.check()?,
                WaitResult::Ok | WaitResult::NotEqual => return Ok(false),
            }
        }
    }
}
