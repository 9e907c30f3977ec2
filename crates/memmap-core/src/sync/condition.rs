//! The condition variable: 8 bytes, 8-aligned, all zero with no waiters. Used with a mutex, as
//! `pthread_cond_t` is.
//!
//! # The words
//! - Word 0, the sequence: bumped by every notify that wakes someone; waiters sleep on it.
//! - Word 1: how many wait (bits 0-15) and how many of them a notify has signalled but that have
//!   not yet taken their signal (bits 16-31). A notify that reads 0 here does nothing else, so a
//!   notify with no waiter costs one load (in JavaScript too).
//!
//! # Transitions, and what a death at each leaves
//! - Wait: count in (waiters + 1) and read the sequence, while holding the mutex; unlock the
//!   mutex; sleep while the sequence holds what was read. On waking, take a signal (signals - 1,
//!   waiters - 1): taken, the wait was notified; none left (another waiter took it, or the wake
//!   was spurious), read the sequence again and sleep on. Then lock the mutex again (without a
//!   timeout, as `pthread_cond_timedwait` does). A notify after the unlock changes the sequence,
//!   so the sleep ends at once if it had not begun: no wake-up is lost.
//! - Time out: count out without a signal, unless every waiter still counted has one (then one
//!   of them is this waiter's: it takes it and reports notified), so that signals never outnumber
//!   waiters.
//! - Notify: signal up to `count` of the waiters that have no signal yet (one compare-exchange),
//!   bump the sequence, wake as many sleepers. Waiters asleep in slices see the new sequence too,
//!   but only as many as were signalled take a signal: `notify(1)` returns one waiter.
//! - Dead asleep: the dead waiter stays counted; a notify may signal it, and that signal is
//!   taken by the next waiter to wake (one wake-up more than asked, which pthreads allows too).
//!   Callers wait in a loop on their own condition.

use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use super::{Locked, Waiter};
use crate::error::{Error, Result};
use crate::handle::Handle;

/// The size of a condition variable in bytes.
pub const SIZE: usize = 8;

const WAITERS: u32 = 0xffff;

/// Waiters and signals in word 1 (signals never counted above waiters, whatever the bytes say).
fn split(word: u32) -> (u32, u32) {
    let waiters = word & WAITERS;
    (waiters, (word >> 16).min(waiters))
}

/// What a waiter's look at its signal came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// It took a signal: notified, and counted out.
    Notified,
    /// Counted out without one (it timed out).
    TimedOut,
    /// No signal for it yet: it is still counted, and sleeps on the sequence it read here.
    Wait(u32),
}

impl Handle {
    /// Counts a waiter in and reads the sequence it will sleep on (the caller holds the mutex).
    pub fn condition_enter(&self, offset: usize) -> Result<u32> {
        self.with(|map| {
            let (sequence, counts) = map.pair(offset, true)?;
            let _ = counts.fetch_update(SeqCst, SeqCst, |word| {
                let (waiters, signals) = split(word);
                Some((waiters + 1).min(WAITERS) | (signals << 16))
            });
            Ok(sequence.load(SeqCst))
        })
    }

    /// A waiter woke (or, `timed_out`, ran out of time): takes its signal if there is one for it.
    pub fn condition_claim(&self, offset: usize, timed_out: bool) -> Result<Claim> {
        self.with(|map| {
            let (sequence, counts) = map.pair(offset, true)?;
            let mut claim = Claim::TimedOut;
            let _ = counts.fetch_update(SeqCst, SeqCst, |word| {
                let (waiters, signals) = split(word);
                let take = signals > 0 && (!timed_out || signals >= waiters);
                claim = match (take, timed_out) {
                    (true, _) => Claim::Notified,
                    (false, true) => Claim::TimedOut,
                    (false, false) => Claim::Wait(0),
                };
                match claim {
                    Claim::Notified => Some((waiters - 1) | ((signals - 1) << 16)),
                    Claim::TimedOut => Some(waiters.saturating_sub(1) | (signals << 16)),
                    Claim::Wait(_) => None,
                }
            });
            if let Claim::Wait(_) = claim {
                claim = Claim::Wait(sequence.load(SeqCst));
            }
            Ok(claim)
        })
    }

    /// Sleeps until this waiter takes a signal, at most `timeout`: `true` if notified, `false` if
    /// the time ran out. `seen` is the sequence [`Handle::condition_enter`] read.
    pub fn condition_sleep_as(
        &self,
        waiter: &Waiter<'_>,
        offset: usize,
        mut seen: u32,
        timeout: Option<Duration>,
    ) -> Result<bool> {
        let deadline = super::deadline_of(timeout);
        loop {
            let changed = self.with(|map| Ok(map.pair(offset, true)?.0.load(SeqCst) != seen))?;
            if changed {
                match self.condition_claim(offset, false)? {
                    Claim::Notified => return Ok(true),
                    Claim::TimedOut => return Ok(false),
                    Claim::Wait(now) => seen = now,
                }
                continue;
            }
            let Some(left) = super::remaining(deadline) else {
                return Ok(self.condition_claim(offset, true)? == Claim::Notified);
            };
            if let Err(error) = self.sleep_as(waiter, offset, seen, left) {
                let _ = self.condition_claim(offset, true);
                return Err(error);
            }
        }
    }

    /// The whole wait, as `pthread_cond_timedwait`: unlocks the mutex at `mutex_offset` of
    /// `mutex` (which `waiter` holds), sleeps until notified or `timeout`, then locks it again.
    /// Whether notified, and how the mutex was locked again.
    pub fn condition_wait_as(
        &self,
        waiter: &Waiter<'_>,
        offset: usize,
        mutex: &Handle,
        mutex_offset: usize,
        timeout: Option<Duration>,
    ) -> Result<(bool, Locked)> {
        let seen = self.condition_enter(offset)?;
        if let Err(error) = mutex.mutex_unlock(mutex_offset, waiter.who) {
            let _ = self.condition_claim(offset, true);
            return Err(error);
        }
        let slept = self.condition_sleep_as(waiter, offset, seen, timeout);
        // The mutex is locked again whatever the sleep came to, as pthreads does, except by a
        // thread being stopped: it takes nothing.
        if let Err(Error::Cancelled) = slept {
            return Err(Error::Cancelled);
        }
        let relocked = mutex.mutex_lock_as(waiter, mutex_offset, None)?;
        Ok((slept?, relocked))
    }

    /// Signals up to `count` waiters in any process and wakes them; how many were signalled.
    /// Nothing but a load when nobody waits.
    pub fn condition_notify(&self, offset: usize, count: u32) -> Result<u32> {
        self.with(|map| {
            let (sequence, counts) = map.pair(offset, true)?;
            let mut given = 0;
            let _ = counts.fetch_update(SeqCst, SeqCst, |word| {
                let (waiters, signals) = split(word);
                given = (waiters - signals).min(count);
                (given > 0).then_some(waiters | ((signals + given) << 16))
            });
            if given == 0 {
                return Ok(0);
            }
            sequence.fetch_add(1, SeqCst);
            crate::wait::address::wake(map.atomic_i32(offset)?, given);
            Ok(given)
        })
    }
}
