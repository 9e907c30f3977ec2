//! Mutexes and semaphores in 8 bytes of a mapping, across threads and processes, with a mutex
//! that survives its holder's death.
//!
//! # The 8 bytes
//! All zero is an unlocked mutex and a semaphore at 0, so fresh shared memory needs no setup.
//!
//! - Mutex: word 0 is the lock word: 0 when unlocked, else the holder's *token* (bits 0-30, never
//!   0) and [`WAITERS`] (bit 31) once someone may be asleep on it. Word 1 is the holder's *stamp*,
//!   when it was born (0: unknown), written just after taking the lock and cleared just before
//!   releasing it.
//! - Semaphore: word 0 is the count of permits, word 1 how many are asleep waiting for one.
//!
//! # Owner death
//! A token names a thread (see the platform modules: the thread id on Linux and Windows, the
//! process id and a slot number elsewhere). Sleepers sleep in slices of [`SLICE`]; after each
//! slice that ends with the lock still held by the same token, they ask whether that thread has
//! ended ([`ended`]): its id no longer names a live thread, or names one born at another time
//! than the stamp says (the id was reused). Then the lock is taken over with `owner_died`. So a
//! holder killed with SIGKILL, crashed or terminated as a worker is replaced within a slice.
//! `try_lock` asks only the cheap half ([`gone`]: is the id still in use), never reading the
//! birth time.
//!
//! # Fairness
//! None is promised: a releasing thread wakes one sleeper, which competes with newcomers. In
//! the tests no thread starves.

use std::sync::atomic::{AtomicI32, AtomicU32, Ordering::SeqCst};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::handle::Handle;
use crate::map::Map;
use crate::wait::WaitResult;

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

/// Set in a mutex's lock word while someone may be asleep on it: the holder wakes one on unlock.
pub const WAITERS: u32 = 1 << 31;
/// The holder's token in a lock word.
const TOKEN: u32 = !WAITERS;
/// How long a mutex sleeper sleeps before it checks whether the holder still lives.
pub const SLICE: Duration = Duration::from_millis(250);
/// How long a contended `lock()` watches the word before it asks to be woken.
const WATCH: Duration = Duration::from_micros(20);

/// A thread as a lock word names it: a token (non-zero, below 2^31) and its birth stamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity {
    /// What the lock word holds while this thread holds the lock.
    pub token: u32,
    /// When the thread was born, in units of the system's choosing (0: unknown).
    pub stamp: u32,
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

/// Whether the thread `token` names, born at `stamp`, has ended. `stamp` 0 is unknown: then
/// only whether the token still names a live thread is asked.
pub(crate) fn ended(token: u32, stamp: u32) -> bool {
    owner::gone(token)
        || (stamp != 0 && owner::stamp_of(token).is_some_and(|now| !owner::same_birth(now, stamp)))
}

/// The cheap half of [`ended`]: the token no longer names a live thread.
fn gone(token: u32) -> bool {
    owner::gone(token)
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
    fn pair(&self, offset: usize, write: bool) -> Result<(&AtomicU32, &AtomicU32)> {
        // Checks alignment (8, in the mapping and in memory) and bounds for the pair.
        self.atomic_i64(offset)?;
        // Mode 'r' files and read-only shared memory: private pages, which no other process sees.
        if write && self.mode() == crate::map::Mode::Read {
            return Err(Error::ReadOnly);
        }
        Ok((
            unsigned(self.atomic_i32(offset)?),
            unsigned(self.atomic_i32(offset + 4)?),
        ))
    }
}

/// The same word as an `AtomicU32`.
fn unsigned(word: &AtomicI32) -> &AtomicU32 {
    // SAFETY: `AtomicI32` and `AtomicU32` have the same size and alignment, the pointer is valid
    // for the borrow's lifetime, and every access to the word is atomic.
    unsafe { AtomicU32::from_ptr(word.as_ptr().cast()) }
}

/// What is left of a deadline, or `None` when it has passed; `Some(None)`: no deadline.
fn remaining(deadline: Option<Instant>) -> Option<Option<Duration>> {
    match deadline {
        None => Some(None),
        Some(deadline) => deadline
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())
            .map(Some),
    }
}

impl Handle {
    /// Locks the mutex at `offset` for `who`, sleeping while another thread holds it, at most
    /// `timeout` (`None`: no limit). The caller's own lock is [`Error::Deadlock`]; a timeout is
    /// [`Error::Timeout`]; closing the mapping meanwhile is [`Error::Closed`].
    pub fn mutex_lock(
        &self,
        offset: usize,
        who: Identity,
        timeout: Option<Duration>,
    ) -> Result<Locked> {
        // Free: taken at once, under one look at the mapping.
        if self.mutex_take(offset, 0, who.token, who)? {
            return Ok(Locked { owner_died: false });
        }
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        // After a sleep others may sleep too: the lock is then taken with WAITERS set, so that
        // its unlock wakes the next one.
        let mut take = who.token;
        let mut asked = false;
        let mut watched = false;
        let mut slept_out = false;
        loop {
            let (seen, stamp) = self.with(|map| {
                let (word, stamped) = map.pair(offset, true)?;
                Ok((word.load(SeqCst), stamped.load(SeqCst)))
            })?;
            if seen == 0 {
                if self.mutex_take(offset, 0, take, who)? {
                    return Ok(Locked { owner_died: false });
                }
                continue;
            }
            let holder = seen & TOKEN;
            // Our own token with another birth stamp is a thread that had our id before us.
            if holder == who.token && (stamp == who.stamp || stamp == 0 || who.stamp == 0) {
                return Err(Error::Deadlock { offset });
            }
            // A holder gone before we ever slept is seen at once; after a whole slice, its birth
            // time is checked too (its id may have been reused).
            let dead = holder == who.token
                || if slept_out {
                    ended(holder, stamp)
                } else {
                    !asked && gone(holder)
                };
            asked = true;
            if dead {
                if self.mutex_take(offset, seen, who.token | WAITERS, who)? {
                    return Ok(Locked { owner_died: true });
                }
                continue;
            }
            let Some(left) = remaining(deadline) else {
                return Err(Error::Timeout {
                    offset,
                    what: "lock",
                });
            };
            // Before asking to be woken, watch the word for a few microseconds: a holder in a
            // short critical section on another core lets go within them, and a waiter that
            // never set WAITERS costs that holder's unlock no system call.
            if !watched {
                watched = true;
                if self.mutex_watch(offset, left.map_or(WATCH, |left| left.min(WATCH)))? {
                    continue;
                }
            }
            let expected = seen | WAITERS;
            if seen & WAITERS == 0 && !self.mutex_cas(offset, seen, expected)? {
                continue;
            }
            take = who.token | WAITERS;
            let slice = left.map_or(SLICE, |left| left.min(SLICE));
            slept_out = self.wait(offset, expected as i32, Some(slice))? == WaitResult::TimedOut
                && slice == SLICE;
        }
    }

    /// Takes the mutex at `offset` if it is free, or held by a thread that is gone; `None` if it
    /// is held. Never sleeps. The caller's own lock is [`Error::Deadlock`].
    pub fn mutex_try_lock(&self, offset: usize, who: Identity) -> Result<Option<Locked>> {
        loop {
            let seen = self.with(|map| Ok(map.pair(offset, true)?.0.load(SeqCst)))?;
            if seen == 0 {
                if self.mutex_take(offset, 0, who.token, who)? {
                    return Ok(Some(Locked { owner_died: false }));
                }
                continue;
            }
            if seen & TOKEN == who.token {
                return Err(Error::Deadlock { offset });
            }
            if !gone(seen & TOKEN) {
                return Ok(None);
            }
            if self.mutex_take(offset, seen, who.token | (seen & WAITERS), who)? {
                return Ok(Some(Locked { owner_died: true }));
            }
        }
    }

    /// Unlocks the mutex at `offset`, which `who` must hold ([`Error::NotOwner`] otherwise), and
    /// wakes one sleeper if any may sleep.
    pub fn mutex_unlock(&self, offset: usize, who: Identity) -> Result<()> {
        self.with(|map| {
            let (word, stamp) = map.pair(offset, true)?;
            let seen = word.load(SeqCst);
            if seen & TOKEN != who.token {
                return Err(Error::NotOwner {
                    offset,
                    holder: seen & TOKEN,
                });
            }
            stamp.store(0, SeqCst);
            let was = word.swap(0, SeqCst);
            if was & WAITERS != 0 {
                crate::wait::address::wake(map.atomic_i32(offset)?, 1);
            }
            Ok(())
        })
    }

    /// Whether the mutex at `offset` is held (a snapshot).
    pub fn mutex_locked(&self, offset: usize) -> Result<bool> {
        self.with(|map| Ok(map.pair(offset, false)?.0.load(SeqCst) != 0))
    }

    /// Watches the lock word at `offset` for at most `limit`, yielding the core between short
    /// bursts of looks; `true` as soon as it reads 0 (free).
    fn mutex_watch(&self, offset: usize, limit: Duration) -> Result<bool> {
        self.with(|map| {
            let (word, _) = map.pair(offset, false)?;
            let started = Instant::now();
            loop {
                for _ in 0..64 {
                    if word.load(SeqCst) == 0 {
                        return Ok(true);
                    }
                    std::hint::spin_loop();
                }
                if started.elapsed() >= limit {
                    return Ok(false);
                }
                std::thread::yield_now();
            }
        })
    }

    /// One compare-exchange on a lock word.
    fn mutex_cas(&self, offset: usize, from: u32, to: u32) -> Result<bool> {
        self.with(|map| {
            let (word, _) = map.pair(offset, true)?;
            Ok(word.compare_exchange(from, to, SeqCst, SeqCst).is_ok())
        })
    }

    /// Moves a lock word from `from` to `to` (which names `who`) and stamps it.
    fn mutex_take(&self, offset: usize, from: u32, to: u32, who: Identity) -> Result<bool> {
        self.with(|map| {
            let (word, stamp) = map.pair(offset, true)?;
            let taken = word.compare_exchange(from, to, SeqCst, SeqCst).is_ok();
            if taken {
                stamp.store(who.stamp, SeqCst);
            }
            Ok(taken)
        })
    }

    /// Takes one permit of the semaphore at `offset`, sleeping while there is none, at most
    /// `timeout` ([`Error::Timeout`]).
    pub fn semaphore_acquire(&self, offset: usize, timeout: Option<Duration>) -> Result<()> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        loop {
            if self.semaphore_try_acquire(offset)? {
                return Ok(());
            }
            let Some(left) = remaining(deadline) else {
                return Err(Error::Timeout {
                    offset,
                    what: "acquire",
                });
            };
            // Counted as asleep before the count is looked at again (by the kernel, under its
            // own lock): a release that adds a permit after we saw none then sees us and wakes us.
            self.with(|map| Ok(map.pair(offset, true)?.1.fetch_add(1, SeqCst)))?;
            let slept = self.wait(offset, 0, left);
            let _ = self.with(|map| Ok(map.pair(offset, true)?.1.fetch_sub(1, SeqCst)));
            slept?;
        }
    }

    /// Takes one permit if there is one. Never sleeps.
    pub fn semaphore_try_acquire(&self, offset: usize) -> Result<bool> {
        self.with(|map| {
            let (count, _) = map.pair(offset, true)?;
            let mut seen = count.load(SeqCst) as i32;
            while seen > 0 {
                match count.compare_exchange(seen as u32, (seen - 1) as u32, SeqCst, SeqCst) {
                    Ok(_) => return Ok(true),
                    Err(now) => seen = now as i32,
                }
            }
            Ok(false)
        })
    }

    /// Adds `count` permits and wakes as many sleepers; past 2^31 - 1 permits is
    /// [`Error::OutOfRange`] and adds none.
    pub fn semaphore_release(&self, offset: usize, count: u32) -> Result<()> {
        self.with(|map| {
            let (permits, sleepers) = map.pair(offset, true)?;
            let mut seen = permits.load(SeqCst);
            loop {
                let Some(next) = (seen as i32).max(0).checked_add_unsigned(count) else {
                    return Err(Error::OutOfRange(format!(
                        "releasing {count} permits would take the semaphore at byte offset \
                         {offset} past 2147483647"
                    )));
                };
                match permits.compare_exchange(seen, next as u32, SeqCst, SeqCst) {
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
