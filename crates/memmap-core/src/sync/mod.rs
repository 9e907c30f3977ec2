//! Locks in bytes of a mapping, across threads and processes, that survive their holders' death:
//! the mutex ([`mutex`]), the semaphore ([`semaphore`]), the rwlock, the condition and the barrier.
//! This module holds what they share: the lock word's bits and when a sleeper asks again whether a
//! holder lives. Who a thread is and whether it has ended is [`crate::identity`]'s; who waits and
//! for how long, [`crate::waiter`]'s.

use std::sync::atomic::{AtomicI32, AtomicU32};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::map::Map;

// What the locks take from the layers below, under the names they have always used here.
pub(crate) use crate::identity::{me, verdict, Identity, Verdict, ABANDONED};
pub(crate) use crate::waiter::{deadline_of, remaining, Locked, Waiter};

pub(crate) mod barrier;
pub(crate) mod condition;
pub(crate) mod mutex;
pub(crate) mod rwlock;
pub(crate) mod semaphore;

/// Set in a lock word while someone may be asleep on it: the holder wakes one on unlock.
pub const WAITERS: u32 = 1 << 31;
/// The holder's token in a lock word.
pub(crate) const TOKEN: u32 = !WAITERS;
const _: () = assert!(
    ABANDONED == TOKEN,
    "the token that names no thread is the largest one"
);
/// How long a sleeper sleeps on a held lock, in all, before it asks again whether the holder
/// still lives.
pub const SLICE: Duration = Duration::from_millis(250);
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
