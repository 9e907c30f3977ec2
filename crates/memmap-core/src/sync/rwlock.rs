//! The reader-writer lock: 256 bytes, 8-aligned, all zero when free. Readers have identities, so
//! that a reader that dies holding its share is found and its share recovered.
//!
//! One file of about 600 lines, on purpose: the words below, the reader slots, the writer's drain
//! and the recovery of dead readers are one state machine whose rules (a writer never enters while
//! a slot is taken; a share is recovered only from an ended thread) are read and checked together.
//! Split, each half would state the other's invariants again.
//!
//! # The words
//! | bytes | what |
//! |---|---|
//! | 0-3 | the writer word: 0, or the writer's token (bits 0-30) and [`WAITERS`] (bit 31: someone sleeps on it); [`ABANDONED`] as for a mutex |
//! | 4-7 | the writer's stamp (0 while not yet written) |
//! | 8-11 | the departures: bumped by every reader that leaves, the word a draining writer (or a reader waiting for a slot) sleeps on |
//! | 12-15 | how many sleep on the departures |
//! | 16-255 | 30 reader slots of 8 bytes: a reading thread's token (0: free; [`ABANDONED`]: left by a closed mapping), then its stamp |
//!
//! A slot is a thread's, not a call's: the facade counts one thread's read holds and gives the
//! slot back with the last. So at most [`SLOTS`] threads read at once; the next waits for a slot.
//!
//! # Transitions, and what a death at each leaves
//! - Read: while the writer word is 0, claim a free slot (compare-exchange its token from 0),
//!   stamp it, then look at the writer word again: not 0 means a writer came meanwhile, and the
//!   slot is given back (writers are not starved by a stream of readers). Sequentially
//!   consistent operations make the claim and the writer's scan see each other: either the
//!   reader sees the writer word or the writer sees the slot. Dead holding a slot: the next
//!   writer judges the slot's thread (as a mutex's holder) and clears it, with `owner_died`.
//! - Read release: clear the stamp and the token; then, if a writer holds or waits (its word is
//!   not 0) or someone is counted among the departures' sleepers, bump the departures and wake
//!   those sleepers. A reader waiting for a slot counts itself among the sleepers before it
//!   scans the slots again, and a writer sets its word before it scans them: either one sees the
//!   cleared slot, or the leaving reader sees it and bumps, so no wake-up is missed (a departure
//!   costs no write when nobody waits). Dead in between: the slot names a dead thread, recovered
//!   as above.
//! - Write: take the writer word as a mutex's lock word (which also stops new readers), then
//!   wait until every slot is free or names a thread that has ended (cleared, `owner_died`).
//!   Dead while draining: the writer word names a dead thread; readers and writers judge it and
//!   clear it (readers) or take it (writers), with `owner_died`.
//! - Write release: clear the stamp, swap the writer word to 0, and wake every sleeper on it if
//!   the bit was set (readers and writers alike).

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use super::{
    deadline_of, remaining, unsigned, verdict, Identity, Locked, Patience, Verdict, Waiter,
    ABANDONED, TOKEN, WAITERS,
};
use crate::error::{Error, Result};
use crate::handle::Handle;
use crate::map::Map;

/// The size of a reader-writer lock in bytes.
pub const SIZE: usize = 256;
/// Reader slots: threads that may read at once.
pub const SLOTS: usize = 30;
const DEPARTURES: usize = 8;
const FIRST_SLOT: usize = 16;

/// The lock's words, checked once.
struct Words<'a> {
    writer: &'a AtomicU32,
    stamp: &'a AtomicU32,
    departures: &'a AtomicU32,
    sleepers: &'a AtomicU32,
    map: &'a Map,
    offset: usize,
}

impl Map {
    /// The reader-writer lock at `offset` (8-aligned, [`SIZE`] bytes inside the mapping).
    fn rwlock(&self, offset: usize, write: bool) -> Result<Words<'_>> {
        let end = offset.checked_add(SIZE).filter(|&end| end <= self.len());
        if end.is_none() {
            return Err(Error::OutOfRange(format!(
                "A reader-writer lock takes {SIZE} bytes: byte offset {offset} leaves fewer in a \
                 mapping of {} bytes",
                self.len()
            )));
        }
        let (writer, stamp) = self.pair(offset, write)?;
        let (departures, sleepers) = self.pair(offset + DEPARTURES, write)?;
        Ok(Words {
            writer,
            stamp,
            departures,
            sleepers,
            map: self,
            offset,
        })
    }
}

impl Words<'_> {
    /// Slot `i`'s token and stamp.
    fn slot(&self, i: usize) -> (&AtomicU32, &AtomicU32) {
        let at = self.offset + FIRST_SLOT + i * 8;
        // Inside the lock's checked bytes, and 4-aligned: these cannot fail.
        let word = |at| unsigned(self.map.atomic_i32(at).expect("inside the checked lock"));
        (word(at), word(at + 4))
    }

    /// Counts a departure and wakes who sleeps on it, after a slot was cleared. Only who may
    /// sleep on the departures needs one: a draining writer (its word is set before it scans the
    /// slots) or a reader waiting for a slot (counted among the sleepers before it scans); with
    /// neither there, nobody can have seen the slot taken and then sleep, and nothing is written.
    fn depart(&self) {
        if self.writer.load(SeqCst) == 0 && self.sleepers.load(SeqCst) == 0 {
            return;
        }
        self.departures.fetch_add(1, SeqCst);
        if self.sleepers.load(SeqCst) != 0 {
            let word = self
                .map
                .atomic_i32(self.offset + DEPARTURES)
                .expect("checked");
            crate::wait::address::wake(word, u32::MAX);
        }
    }

    /// Wakes every sleeper on the writer word.
    fn wake_writer_word(&self) {
        let word = self.map.atomic_i32(self.offset).expect("checked");
        crate::wait::address::wake(word, u32::MAX);
    }
}

/// The slot a thread tries first: spread so that threads rarely compete for one.
fn first_slot(token: u32) -> usize {
    token as usize % SLOTS
}

/// What a waiter found in the writer word.
enum Writer {
    /// Nobody writes or waits to.
    Free,
    /// The word was moved from a dead or abandoned writer: for a reader, cleared to 0.
    Recovered,
    /// Held (or being drained) by a writer that lives or cannot be judged.
    Held(u32),
    /// The caller itself.
    Mine,
}

impl Handle {
    /// Looks at the writer word for `waiter`: judged when `patience` says so; a dead or abandoned
    /// writer is cleared (a reader's move: a writer takes the word instead).
    fn rwlock_writer(
        &self,
        waiter: &Waiter<'_>,
        offset: usize,
        patience: &mut Patience,
    ) -> Result<Writer> {
        self.with(|map| {
            let words = map.rwlock(offset, true)?;
            let seen = words.writer.load(SeqCst);
            if seen == 0 {
                return Ok(Writer::Free);
            }
            let token = seen & TOKEN;
            let stamp = words.stamp.load(SeqCst);
            if token == waiter.who.token && !waiter.holds_none {
                return Ok(Writer::Mine);
            }
            let (judge, settled) = patience.judge(token, stamp);
            let ended = token == ABANDONED
                || token == waiter.who.token
                || (judge
                    && verdict(Identity { token, stamp }, waiter.who, settled) == Verdict::Ended);
            if ended
                && words
                    .writer
                    .compare_exchange(seen, 0, SeqCst, SeqCst)
                    .is_ok()
            {
                words.stamp.store(0, SeqCst);
                words.wake_writer_word();
                return Ok(Writer::Recovered);
            }
            Ok(if ended {
                Writer::Free
            } else {
                Writer::Held(seen)
            })
        })
    }

    /// Takes a read share of the lock at `offset` for `waiter`'s thread, sleeping while a writer
    /// holds or waits for it (or all slots are taken), at most `timeout`.
    pub fn rwlock_read_as(
        &self,
        waiter: &Waiter<'_>,
        offset: usize,
        timeout: Option<Duration>,
    ) -> Result<Locked> {
        let deadline = deadline_of(timeout);
        let mut owner_died = false;
        let mut patience = Patience::default();
        let mut slept = false;
        loop {
            if std::mem::replace(&mut slept, true) {
                waiter.check()?;
            }
            match self.rwlock_writer(waiter, offset, &mut patience)? {
                Writer::Mine => return Err(Error::Deadlock { offset }),
                Writer::Recovered => owner_died = true,
                Writer::Free => match self.rwlock_claim(waiter, offset)? {
                    Claim::Taken { owner_died: died } => {
                        return Ok(Locked {
                            owner_died: owner_died || died,
                        })
                    }
                    Claim::WriterCame => continue,
                    Claim::Recovered => owner_died = true,
                    Claim::Full(_) => {
                        let left = remaining(deadline).ok_or(Error::Timeout {
                            offset,
                            what: "read",
                        })?;
                        // Counted among the sleepers before the slots are looked at again, so
                        // that a reader leaving after this look counts a departure (`depart`).
                        self.rwlock_sleepers(offset, true)?;
                        let again =
                            self.rwlock_claim(waiter, offset)
                                .and_then(|claim| match claim {
                                    Claim::Full(seen) => {
                                        self.rwlock_sleep(waiter, offset, seen, left).map(|()| None)
                                    }
                                    other => Ok(Some(other)),
                                });
                        let _ = self.rwlock_sleepers(offset, false);
                        match again? {
                            Some(Claim::Taken { owner_died: died }) => {
                                return Ok(Locked {
                                    owner_died: owner_died || died,
                                })
                            }
                            Some(Claim::Recovered) => owner_died = true,
                            _ => {}
                        }
                        continue;
                    }
                },
                Writer::Held(seen) => {
                    let Some(left) = remaining(deadline) else {
                        return Err(Error::Timeout {
                            offset,
                            what: "read",
                        });
                    };
                    if !self.rwlock_mark(offset, seen)? {
                        continue;
                    }
                    let slice = patience.until_due();
                    self.sleep_as(
                        waiter,
                        offset,
                        seen | WAITERS,
                        Some(left.map_or(slice, |left| left.min(slice))),
                    )?;
                }
            }
        }
    }

    /// Sets the waiters bit on the writer word that read `seen`; `false` if it changed.
    fn rwlock_mark(&self, offset: usize, seen: u32) -> Result<bool> {
        self.with(|map| {
            let words = map.rwlock(offset, true)?;
            Ok(seen & WAITERS != 0
                || words
                    .writer
                    .compare_exchange(seen, seen | WAITERS, SeqCst, SeqCst)
                    .is_ok())
        })
    }

    /// Sleeps on the departures while they hold `seen`, counted among their sleepers.
    fn rwlock_sleep_departures(
        &self,
        waiter: &Waiter<'_>,
        offset: usize,
        seen: u32,
        left: Option<Duration>,
    ) -> Result<()> {
        self.rwlock_sleepers(offset, true)?;
        let slept = self.rwlock_sleep(waiter, offset, seen, left);
        let _ = self.rwlock_sleepers(offset, false);
        slept
    }

    /// Counts this thread in (`true`) or out of the departures' sleepers.
    fn rwlock_sleepers(&self, offset: usize, join: bool) -> Result<()> {
        self.with(|map| {
            let sleepers = map.rwlock(offset, true)?.sleepers;
            match join {
                true => sleepers.fetch_add(1, SeqCst),
                false => sleepers.fetch_sub(1, SeqCst),
            };
            Ok(())
        })
    }

    /// Sleeps on the departures while they hold `seen` (a slice at most), already counted.
    fn rwlock_sleep(
        &self,
        waiter: &Waiter<'_>,
        offset: usize,
        seen: u32,
        left: Option<Duration>,
    ) -> Result<()> {
        let slice = left.map_or(super::SLICE, |left| left.min(super::SLICE));
        self.sleep_as(waiter, offset + DEPARTURES, seen, Some(slice))
            .map(drop)
    }

    /// Claims a slot while the writer word is 0.
    fn rwlock_claim(&self, waiter: &Waiter<'_>, offset: usize) -> Result<Claim> {
        self.with(|map| {
            let words = map.rwlock(offset, true)?;
            let who = waiter.who;
            let seen = words.departures.load(SeqCst);
            let start = first_slot(who.token);
            for step in 0..SLOTS {
                let (token, stamp) = words.slot((start + step) % SLOTS);
                let held = token.load(SeqCst);
                // A slot of this thread's is a share it holds, unless it says it holds none.
                if held == who.token && !waiter.holds_none {
                    return Err(Error::Deadlock { offset });
                }
                let owner_died = held == ABANDONED || held == who.token;
                if (held == 0 || owner_died)
                    && token
                        .compare_exchange(held, who.token, SeqCst, SeqCst)
                        .is_ok()
                {
                    stamp.store(who.stamp, SeqCst);
                    if words.writer.load(SeqCst) != 0 {
                        // A writer came meanwhile: it goes first.
                        stamp.store(0, SeqCst);
                        token.store(0, SeqCst);
                        words.depart();
                        return Ok(Claim::WriterCame);
                    }
                    return Ok(Claim::Taken { owner_died });
                }
            }
            // Full: recover the slots of readers that have ended, else wait for a departure.
            if recover_readers(&words, waiter, Some(&mut ReaderPatience::default())) {
                return Ok(Claim::Recovered);
            }
            Ok(Claim::Full(seen))
        })
    }

    /// A read share if one can be had now, else `None`.
    pub fn rwlock_try_read_as(&self, waiter: &Waiter<'_>, offset: usize) -> Result<Option<Locked>> {
        let mut patience = Patience::default();
        let mut owner_died = false;
        for _ in 0..4 {
            match self.rwlock_writer(waiter, offset, &mut patience)? {
                Writer::Held(_) | Writer::Mine => return Ok(None),
                Writer::Recovered => owner_died = true,
                Writer::Free => match self.rwlock_claim(waiter, offset)? {
                    Claim::Taken { owner_died: died } => {
                        return Ok(Some(Locked {
                            owner_died: owner_died || died,
                        }))
                    }
                    Claim::Full(_) => return Ok(None),
                    Claim::WriterCame => {}
                    Claim::Recovered => owner_died = true,
                },
            }
        }
        Ok(None)
    }

    /// Gives back `who`'s read share (its slot); [`Error::NotOwner`] if it has none.
    /// `abandon`: leave the slot marked [`ABANDONED`] (`close()`), so that the next writer sees
    /// `owner_died`.
    pub fn rwlock_read_unlock(&self, offset: usize, who: Identity, abandon: bool) -> Result<()> {
        self.with(|map| {
            let words = map.rwlock(offset, true)?;
            let start = first_slot(who.token);
            for step in 0..SLOTS {
                let (token, stamp) = words.slot((start + step) % SLOTS);
                if token.load(SeqCst) == who.token {
                    stamp.store(0, SeqCst);
                    token.store(if abandon { ABANDONED } else { 0 }, SeqCst);
                    words.depart();
                    return Ok(());
                }
            }
            Err(Error::NotOwner { offset, holder: 0 })
        })
    }

    /// Takes the lock at `offset` for writing for `waiter`, sleeping while another writer holds
    /// it or readers read, at most `timeout`.
    pub fn rwlock_write_as(
        &self,
        waiter: &Waiter<'_>,
        offset: usize,
        timeout: Option<Duration>,
    ) -> Result<Locked> {
        let deadline = deadline_of(timeout);
        let mutex_like = self.rwlock_take_writer(waiter, offset, timeout)?;
        let mut owner_died = mutex_like.owner_died;
        let mut patience = ReaderPatience::default();
        loop {
            let drained = self.with(|map| {
                let words = map.rwlock(offset, true)?;
                let seen = words.departures.load(SeqCst);
                owner_died |= recover_readers(&words, waiter, Some(&mut patience));
                Ok(readers_left(&words, waiter, offset)?.then_some(seen))
            });
            let seen = match drained {
                Ok(None) => return Ok(Locked { owner_died }),
                Ok(Some(seen)) => seen,
                Err(error) => return Err(self.rwlock_give_up(offset, waiter.who, error)),
            };
            let Some(left) = remaining(deadline) else {
                let error = Error::Timeout {
                    offset,
                    what: "write",
                };
                return Err(self.rwlock_give_up(offset, waiter.who, error));
            };
            if let Err(error) = self.rwlock_sleep_departures(waiter, offset, seen, left) {
                return Err(self.rwlock_give_up(offset, waiter.who, error));
            }
        }
    }

    /// A writer that gave up draining lets the writer word go again, and returns `error`.
    fn rwlock_give_up(&self, offset: usize, who: Identity, error: Error) -> Error {
        let _ = self.rwlock_write_unlock(offset, who, false);
        error
    }

    /// The writer word, taken as a mutex's lock word (see `mutex.rs`), with the rwlock's sizes.
    fn rwlock_take_writer(
        &self,
        waiter: &Waiter<'_>,
        offset: usize,
        timeout: Option<Duration>,
    ) -> Result<Locked> {
        // The words are checked as a whole first, so that a mutex-sized check cannot pass for
        // a lock that does not fit.
        self.with(|map| map.rwlock(offset, true).map(drop))?;
        self.mutex_lock_as(waiter, offset, timeout)
            .map_err(|error| match error {
                Error::Timeout { offset, .. } => Error::Timeout {
                    offset,
                    what: "write",
                },
                other => other,
            })
    }

    /// The lock for writing if it can be had now, else `None`.
    pub fn rwlock_try_write_as(
        &self,
        waiter: &Waiter<'_>,
        offset: usize,
    ) -> Result<Option<Locked>> {
        self.with(|map| map.rwlock(offset, true).map(drop))?;
        let Some(taken) = self.mutex_try_lock_as(waiter, offset)? else {
            return Ok(None);
        };
        let drained = self.with(|map| {
            let words = map.rwlock(offset, true)?;
            let died = recover_readers(&words, waiter, Some(&mut ReaderPatience::default()));
            Ok((readers_left(&words, waiter, offset)?, died))
        });
        match drained {
            Ok((false, died)) => Ok(Some(Locked {
                owner_died: taken.owner_died || died,
            })),
            Ok((true, _)) => {
                self.rwlock_write_unlock(offset, waiter.who, false)?;
                Ok(None)
            }
            Err(error) => Err(self.rwlock_give_up(offset, waiter.who, error)),
        }
    }

    /// Lets the write lock `who` holds go (`abandon`: as `close()` does, so that the next holder
    /// sees `owner_died`), waking every sleeper on it.
    pub fn rwlock_write_unlock(&self, offset: usize, who: Identity, abandon: bool) -> Result<()> {
        self.with(|map| map.rwlock(offset, true).map(drop))?;
        if abandon {
            self.mutex_abandon(offset, who)?;
        } else {
            self.mutex_unlock(offset, who)?;
        }
        // Readers sleep on the word too: all of them may go now (the mutex woke only one).
        self.with(|map| {
            map.rwlock(offset, true)?.wake_writer_word();
            Ok(())
        })
    }

    /// How many threads hold a read share, and whether a writer holds (or is draining) the lock:
    /// a snapshot.
    pub fn rwlock_state(&self, offset: usize) -> Result<(u32, bool)> {
        self.with(|map| {
            let words = map.rwlock(offset, false)?;
            let readers = (0..SLOTS)
                .filter(|&i| !matches!(words.slot(i).0.load(SeqCst), 0 | ABANDONED))
                .count() as u32;
            let writer = words.writer.load(SeqCst) & TOKEN;
            Ok((readers, writer != 0 && writer != ABANDONED))
        })
    }
}

/// What claiming a slot came to.
enum Claim {
    Taken {
        owner_died: bool,
    },
    /// A writer came: look again.
    WriterCame,
    /// Slots of readers that had ended were cleared: look again, and report `owner_died`.
    Recovered,
    /// Every slot is taken; the departures read this.
    Full(u32),
}

/// When a writer asks about the readers in the slots: at once, then every [`super::SLICE`].
/// A slot whose stamp read 0 at one judgement and still does at the next is judged on its token
/// alone (its reader died between claiming it and stamping it).
#[derive(Default)]
struct ReaderPatience {
    last: Option<std::time::Instant>,
    unstamped: u32,
}

impl ReaderPatience {
    /// Whether a judgement is due now.
    fn due(&mut self) -> bool {
        let due = self.last.is_none_or(|last| last.elapsed() >= super::SLICE);
        if due {
            self.last = Some(std::time::Instant::now());
        }
        due
    }
}

/// Clears the slots that are abandoned or, when `patience` says a judgement is due (`None`:
/// never), whose readers have ended; whether any was. A slot of the waiter's own that it says it
/// does not hold is left over, and cleared too.
fn recover_readers(
    words: &Words<'_>,
    waiter: &Waiter<'_>,
    patience: Option<&mut ReaderPatience>,
) -> bool {
    let me = waiter.who;
    let (judge, mut patience) = match patience {
        Some(patience) => (patience.due(), Some(patience)),
        None => (false, None),
    };
    let mut recovered = false;
    for i in 0..SLOTS {
        let (token, stamp) = words.slot(i);
        let held = token.load(SeqCst);
        if held == 0 || (held == me.token && !waiter.holds_none) {
            continue;
        }
        let stamped = stamp.load(SeqCst);
        let bit = 1u32 << i;
        let ended = held == ABANDONED
            || held == me.token
            || (judge && {
                let settled =
                    stamped == 0 && patience.as_ref().is_some_and(|p| p.unstamped & bit != 0);
                let holder = Identity {
                    token: held,
                    stamp: stamped,
                };
                verdict(holder, me, settled) == Verdict::Ended
            });
        if judge {
            if let Some(patience) = patience.as_deref_mut() {
                patience.unstamped =
                    (patience.unstamped & !bit) | if stamped == 0 { bit } else { 0 };
            }
        }
        if ended && token.compare_exchange(held, 0, SeqCst, SeqCst).is_ok() {
            stamp.store(0, SeqCst);
            recovered = true;
        }
    }
    if recovered {
        words.depart();
    }
    recovered
}

/// Whether any slot is still taken (by a reader that lives or cannot be judged). The writer's own
/// slot is a read share it holds: [`Error::Deadlock`].
fn readers_left(words: &Words<'_>, waiter: &Waiter<'_>, offset: usize) -> Result<bool> {
    let mut left = false;
    for i in 0..SLOTS {
        let held = words.slot(i).0.load(SeqCst);
        if held == waiter.who.token && !waiter.holds_none {
            return Err(Error::Deadlock { offset });
        }
        left |= held != 0 && held != waiter.who.token;
    }
    Ok(left)
}
