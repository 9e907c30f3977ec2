//! The semaphore: 8 bytes, 8-aligned, all zero at 0 permits.
//!
//! # The words
//! - Word 0: the count of permits, a signed 32-bit value. Anything at or below 0 (garbage from
//!   another program included) is no permit; a release counts from 0.
//! - Word 1: how many may be asleep waiting for a permit; a release wakes only when it is not 0.
//!
//! # Transitions, and what a death at each leaves
//! - Acquire: compare-exchange the count down by one while it is positive. A permit taken by a
//!   process that dies is not given back (a semaphore has no owner).
//! - Wait: add 1 to word 1, look at the count again (the kernel does, under its own lock, as it
//!   puts the sleeper to sleep on exactly the value seen), sleep, then take 1 from word 1. Dead
//!   asleep: word 1 stays 1 too high, which costs each release one wake call.
//! - Release: add to the count with a compare-exchange (refused past 2^31 - 1: nothing added),
//!   then wake as many sleepers as permits added if word 1 is not 0.
//!
//! A sleeper sleeps on the value it saw, whatever it is, so a garbage count never makes it spin.

use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use super::{deadline_of, remaining, Waiter};
use crate::error::{Error, Result};
use crate::handle::Handle;

/// The most permits a semaphore holds.
pub const MAX_PERMITS: u32 = i32::MAX as u32;

impl Handle {
    /// Takes one permit of the semaphore at `offset`, sleeping while there is none, at most
    /// `timeout` ([`Error::Timeout`]).
    pub fn semaphore_acquire(&self, offset: usize, timeout: Option<Duration>) -> Result<()> {
        self.semaphore_acquire_as(&Waiter::plain(crate::sync::me()), offset, timeout)
    }

    /// [`Handle::semaphore_acquire`] for `waiter`, who may be asked to stop
    /// ([`Error::Cancelled`]).
    pub fn semaphore_acquire_as(
        &self,
        waiter: &Waiter<'_>,
        offset: usize,
        timeout: Option<Duration>,
    ) -> Result<()> {
        let deadline = deadline_of(timeout);
        let mut slept = false;
        loop {
            if std::mem::replace(&mut slept, true) {
                waiter.check()?;
            }
            let seen = match self.semaphore_take(offset)? {
                None => return Ok(()),
                Some(seen) => seen,
            };
            let Some(left) = remaining(deadline) else {
                return Err(Error::Timeout {
                    offset,
                    what: "acquire",
                });
            };
            // Counted as asleep before the count is looked at again (by the kernel, under its
            // own lock): a release that adds a permit after we saw none then sees us and wakes us.
            self.with(|map| Ok(map.pair(offset, true)?.1.fetch_add(1, SeqCst)))?;
            let slept = self.sleep_as(waiter, offset, seen, left);
            let _ = self.with(|map| Ok(map.pair(offset, true)?.1.fetch_sub(1, SeqCst)));
            slept?;
        }
    }

    /// Takes one permit if there is one. Never sleeps.
    pub fn semaphore_try_acquire(&self, offset: usize) -> Result<bool> {
        Ok(self.semaphore_take(offset)?.is_none())
    }

    /// Takes one permit: `None` when taken, else the count seen (no permit).
    fn semaphore_take(&self, offset: usize) -> Result<Option<u32>> {
        self.with(|map| {
            let (count, _) = map.pair(offset, true)?;
            let mut seen = count.load(SeqCst);
            while (seen as i32) > 0 {
                match count.compare_exchange(seen, seen - 1, SeqCst, SeqCst) {
                    Ok(_) => return Ok(None),
                    Err(now) => seen = now,
                }
            }
            Ok(Some(seen))
        })
    }

    /// Adds `count` permits and wakes as many sleepers; past [`MAX_PERMITS`] is
    /// [`Error::ArgumentRange`] and adds none.
    pub fn semaphore_release(&self, offset: usize, count: u32) -> Result<()> {
        self.with(|map| {
            let (permits, sleepers) = map.pair(offset, true)?;
            let mut seen = permits.load(SeqCst);
            loop {
                let held = (seen as i32).max(0) as u32;
                let next = held.checked_add(count).filter(|&n| n <= MAX_PERMITS);
                let Some(next) = next else {
                    return Err(Error::ArgumentRange(format!(
                        "The value of \"count\" is out of range. It must be <= {} (the semaphore \
                         at byte offset {offset} holds {held} of at most {MAX_PERMITS} permits). \
                         Received {count}",
                        MAX_PERMITS - held
                    )));
                };
                match permits.compare_exchange(seen, next, SeqCst, SeqCst) {
                    Ok(_) => break,
                    Err(now) => seen = now,
                }
            }
            if sleepers.load(SeqCst) != 0 {
                crate::wait::address::wake(map.atomic_i32(offset)?, count);
            }
            Ok(())
        })
    }

    /// The count of permits (a snapshot).
    pub fn semaphore_value(&self, offset: usize) -> Result<u32> {
        self.with(|map| Ok((map.pair(offset, false)?.0.load(SeqCst) as i32).max(0) as u32))
    }
}
