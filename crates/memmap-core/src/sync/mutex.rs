//! The mutex: 8 bytes, 8-aligned, all zero when unlocked.
//!
//! # The words
//! - Word 0, the lock word: 0 when free; else the holder's token (bits 0-30) and [`WAITERS`]
//!   (bit 31) once someone may be asleep on it. [`ABANDONED`] as the token: freed by a holder
//!   that closed its mapping, to be taken with `owner_died`.
//! - Word 1, the stamp: the holder's birth stamp, written just after the lock word is taken and
//!   cleared just before it is released (0 in between: not yet known).
//!
//! # Transitions, and what a death at each leaves
//! 1. Take: compare-exchange word 0 from 0 (or from an ended holder's value, or from
//!    [`ABANDONED`]) to the caller's token, then store the stamp. Dead after the exchange and
//!    before the stamp: the word names a dead thread with stamp 0; sleepers judge it once the
//!    stamp has stayed 0 for a whole [`SLICE`](super::SLICE).
//! 2. Wait: set [`WAITERS`] with a compare-exchange, then sleep on word 0 while it holds what
//!    was seen. Dead asleep: nothing of the sleeper is in the word but the bit, which costs the
//!    next unlock one wake call.
//! 3. Release: clear the stamp, swap word 0 to 0, wake one sleeper if [`WAITERS`] was set. Dead
//!    between the two stores: as in 1 (the token with stamp 0). Dead after the swap, before the
//!    wake: the sleepers wake within a [`SLICE`](super::SLICE) on their own and find the lock free.
//! 4. Abandon (the holder closes the mapping it locked through): clear the stamp, swap the token
//!    for [`ABANDONED`] keeping the bit, and wake one sleeper.
//! 5. Take over: a sleeper that finds the holder [`Verdict::Ended`] moves word 0 from exactly the
//!    value it saw to its own token with one compare-exchange, so of all who judged the same
//!    death one takes over. A holder that cannot be judged ([`Verdict::Unknown`]) is waited for.
//!
//! # Fairness
//! None is promised here: a release wakes one sleeper, which competes with newcomers. The
//! facade queues one thread's own asynchronous acquisitions first come first served.

use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

use super::{
    deadline_of, remaining, verdict, Identity, Locked, Patience, Verdict, Waiter, ABANDONED, TOKEN,
    WAITERS,
};
use crate::error::{Error, Result};
use crate::handle::Handle;

/// How long a contended `lock()` watches the word before it asks to be woken.
const WATCH: Duration = Duration::from_micros(20);

/// What one look at a held lock word decides.
enum Seen {
    /// Take it: moving the word from the value seen.
    Take { owner_died: bool },
    /// Held by someone who lives (or cannot be judged).
    Held,
    /// Held by the caller itself.
    Mine,
}

/// Decides what a waiter does about the lock word `seen` with stamp `stamp`. `judge`: ask
/// whether the holder lives (else it is assumed to); `settled`: the stamp has read 0 for a slice.
fn decide(seen: u32, stamp: u32, waiter: &Waiter<'_>, judge: bool, settled: bool) -> Seen {
    let token = seen & TOKEN;
    if seen == 0 {
        return Seen::Take { owner_died: false };
    }
    if token == ABANDONED {
        return Seen::Take { owner_died: true };
    }
    let who = waiter.who;
    if token == who.token {
        // The caller's own token with its own stamp is its own hold, unless it says it has none;
        // with another stamp it was a thread that had this id before.
        return if !waiter.holds_none && (stamp == who.stamp || stamp == 0) {
            Seen::Mine
        } else {
            Seen::Take { owner_died: true }
        };
    }
    if !judge {
        return Seen::Held;
    }
    match verdict(Identity { token, stamp }, who, settled) {
        Verdict::Ended => Seen::Take { owner_died: true },
        Verdict::Alive | Verdict::Unknown => Seen::Held,
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
        self.mutex_lock_as(&Waiter::plain(who), offset, timeout)
    }

    /// [`Handle::mutex_lock`] for `waiter`, who may be asked to stop ([`Error::Cancelled`]).
    pub fn mutex_lock_as(
        &self,
        waiter: &Waiter<'_>,
        offset: usize,
        timeout: Option<Duration>,
    ) -> Result<Locked> {
        let who = waiter.who;
        let deadline = deadline_of(timeout);
        // After a sleep others may sleep too: the lock is then taken with WAITERS set, so that
        // its unlock wakes the next one.
        let mut bit = 0;
        let mut watched = false;
        // The holder is judged at first sight, then after each SLICE asleep on the same value.
        let mut patience = Patience::default();
        loop {
            // Once it has slept: a thread being stopped takes nothing after that.
            if bit != 0 {
                waiter.check()?;
            }
            let (seen, stamp) = self.mutex_read(offset, true)?;
            let (judge, settled) = match seen & TOKEN {
                0 | ABANDONED => (false, false),
                token => patience.judge(token, stamp),
            };
            match decide(seen, stamp, waiter, judge, settled) {
                Seen::Take { owner_died } => {
                    let to = who.token | if owner_died { WAITERS } else { bit } | (seen & WAITERS);
                    if self.mutex_take(offset, seen, to, who)? {
                        return Ok(Locked { owner_died });
                    }
                    continue;
                }
                Seen::Mine => return Err(Error::Deadlock { offset }),
                Seen::Held => {}
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
            bit = WAITERS;
            let until_judged = patience.until_due();
            let slice = left.map_or(until_judged, |left| left.min(until_judged));
            self.sleep_as(waiter, offset, expected, Some(slice))?;
        }
    }

    /// Takes the mutex at `offset` if it is free, abandoned, or held by a thread that has ended;
    /// `None` if it is held, by the caller included. Never sleeps.
    pub fn mutex_try_lock(&self, offset: usize, who: Identity) -> Result<Option<Locked>> {
        self.mutex_try_lock_as(&Waiter::plain(who), offset)
    }

    /// [`Handle::mutex_try_lock`] for `waiter` (whose `holds_none` counts; `stop` is not asked).
    pub fn mutex_try_lock_as(&self, waiter: &Waiter<'_>, offset: usize) -> Result<Option<Locked>> {
        loop {
            let (seen, stamp) = self.mutex_read(offset, true)?;
            match decide(seen, stamp, waiter, true, false) {
                Seen::Take { owner_died } => {
                    let to = waiter.who.token | (seen & WAITERS);
                    if self.mutex_take(offset, seen, to, waiter.who)? {
                        return Ok(Some(Locked { owner_died }));
                    }
                }
                Seen::Held | Seen::Mine => return Ok(None),
            }
        }
    }

    /// Unlocks the mutex at `offset`, which `who` must hold ([`Error::NotOwner`] otherwise), and
    /// wakes one sleeper if any may sleep.
    pub fn mutex_unlock(&self, offset: usize, who: Identity) -> Result<()> {
        self.mutex_release(offset, who, 0)
    }

    /// Gives up the mutex at `offset` that `who` holds without unlocking it: the next acquirer
    /// takes it with `owner_died`, as from a holder that ended. What `close()` does with the
    /// locks held through the mapping. A lock `who` no longer holds is left alone.
    pub fn mutex_abandon(&self, offset: usize, who: Identity) -> Result<()> {
        match self.mutex_release(offset, who, ABANDONED) {
            Err(Error::NotOwner { .. }) => Ok(()),
            other => other,
        }
    }

    /// Moves the lock word from `who`'s token to `to` (0: unlocked; [`ABANDONED`]), keeping
    /// nothing of the waiters bit but the wake it asks for.
    fn mutex_release(&self, offset: usize, who: Identity, to: u32) -> Result<()> {
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
            // An abandoned lock keeps the bit: whoever takes it over wakes the next sleeper.
            let was = word.swap(if to == 0 { 0 } else { to | WAITERS }, SeqCst);
            if was & WAITERS != 0 {
                crate::wait::address::wake(map.atomic_i32(offset)?, 1);
            }
            Ok(())
        })
    }

    /// Whether the mutex at `offset` is held (a snapshot; an abandoned one is free).
    pub fn mutex_locked(&self, offset: usize) -> Result<bool> {
        let (word, _) = self.mutex_read(offset, false)?;
        Ok(word != 0 && word & TOKEN != ABANDONED)
    }

    /// The lock word and the stamp.
    fn mutex_read(&self, offset: usize, write: bool) -> Result<(u32, u32)> {
        self.with(|map| {
            let (word, stamp) = map.pair(offset, write)?;
            Ok((word.load(SeqCst), stamp.load(SeqCst)))
        })
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
}
