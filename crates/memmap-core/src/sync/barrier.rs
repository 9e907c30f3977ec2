//! The barrier: 16 bytes, 8-aligned, all zero before first use. `parties` threads or processes
//! meet at it; each round releases them together.
//!
//! # The words
//! - Word 0: how many have arrived in this round.
//! - Word 1, the round: its number (bits 0-29), [`RESET`] (bit 30: the last round ended by
//!   `reset()`) and [`BROKEN`] (bit 31). Waiters sleep on it.
//! - Word 2: the number of parties, written by the first wait (0: not yet). A wait that names
//!   another number is refused, so that processes that disagree fail instead of hanging.
//! - Word 3: reserved, 0.
//!
//! # Transitions, and what a death at each leaves
//! - Arrive: read the round, add 1 to word 0; the value before is the arrival index. The last
//!   party sets word 0 back to 0 and moves the round from the value read to the next number
//!   with one compare-exchange (clearing [`RESET`]), then wakes everyone. Others sleep while
//!   the round holds the value they read.
//! - Time out: a waiter whose time runs out sets [`BROKEN`] on the round it read with one
//!   compare-exchange and wakes everyone: all of that round's waiters, and every later wait until
//!   `reset()`, fail with [`Error::BarrierBroken`]. The same compare-exchange decides a race with
//!   the last arrival: either the round moved on (everyone, the late one included, is released)
//!   or it broke (everyone fails).
//! - Reset: word 0 to 0, and the round to the next number with [`RESET`]: waiters of the round
//!   that was reset fail as broken; the next round starts clean.
//! - A party that dies before arriving leaves the others waiting until one of them times out;
//!   one that dies after arriving has been counted and changes nothing.
//! - Garbage (an arrival count at or past `parties`) breaks the barrier rather than releasing a
//!   wrong number of parties.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use super::Waiter;
use crate::error::{Error, Result};
use crate::handle::Handle;
use crate::map::Map;

/// The size of a barrier in bytes.
pub const SIZE: usize = 16;
/// Set in the round word when the round ended by `reset()`.
pub const RESET: u32 = 1 << 30;
/// Set in the round word when a waiter timed out: every wait fails until `reset()`.
pub const BROKEN: u32 = 1 << 31;
const ROUND: u32 = RESET - 1;

/// What an arrival came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// The last party: everyone is released. Its arrival index.
    Released(u32),
    /// Waiting for the others: its arrival index and the round word it read.
    Waiting { index: u32, round: u32 },
}

struct Words<'a> {
    arrived: &'a AtomicU32,
    round: &'a AtomicU32,
    parties: &'a AtomicU32,
}

impl Map {
    fn barrier(&self, offset: usize) -> Result<Words<'_>> {
        if offset.checked_add(SIZE).is_none_or(|end| end > self.len()) {
            return Err(Error::OutOfRange(format!(
                "A barrier takes {SIZE} bytes: byte offset {offset} leaves fewer in a mapping of \
                 {} bytes",
                self.len()
            )));
        }
        let (arrived, round) = self.pair(offset, true)?;
        let (parties, _) = self.pair(offset + 8, true)?;
        Ok(Words {
            arrived,
            round,
            parties,
        })
    }
}

impl Handle {
    /// Arrives at the barrier at `offset` of `parties` parties.
    pub fn barrier_arrive(&self, offset: usize, parties: u32) -> Result<Arrival> {
        self.with(|map| {
            let words = map.barrier(offset)?;
            match words.parties.compare_exchange(0, parties, SeqCst, SeqCst) {
                Ok(_) => {}
                Err(same) if same == parties => {}
                Err(other) => {
                    return Err(Error::InvalidArgument(format!(
                        "The barrier at byte offset {offset} is for {other} parties, not \
                         {parties}: every party must name the same number"
                    )))
                }
            }
            let round = words.round.load(SeqCst);
            if round & BROKEN != 0 {
                return Err(Error::BarrierBroken { offset });
            }
            let index = words.arrived.fetch_add(1, SeqCst);
            if index >= parties {
                // Garbage, or arrivals of a round that is being reset: break rather than release a
                // wrong number.
                let _ = words
                    .round
                    .compare_exchange(round, round | BROKEN, SeqCst, SeqCst);
                wake_all(map, offset)?;
                return Err(Error::BarrierBroken { offset });
            }
            if index + 1 < parties {
                return Ok(Arrival::Waiting { index, round });
            }
            // The last one: the count goes back to 0 before the round moves on, so that nobody
            // released can arrive in the next round before it is empty.
            words.arrived.store(0, SeqCst);
            let next = (round & ROUND).wrapping_add(1) & ROUND;
            let moved = words
                .round
                .compare_exchange(round, next, SeqCst, SeqCst)
                .is_ok();
            wake_all(map, offset)?;
            if moved {
                Ok(Arrival::Released(index))
            } else {
                Err(Error::BarrierBroken { offset })
            }
        })
    }

    /// Waits, after `arrival`, until the round ends or `timeout` (which breaks the barrier).
    pub fn barrier_await_as(
        &self,
        waiter: &Waiter<'_>,
        offset: usize,
        arrival: Arrival,
        timeout: Option<Duration>,
    ) -> Result<u32> {
        let (index, round) = match arrival {
            Arrival::Released(index) => return Ok(index),
            Arrival::Waiting { index, round } => (index, round),
        };
        let deadline = super::deadline_of(timeout);
        loop {
            let now = self.with(|map| Ok(map.barrier(offset)?.round.load(SeqCst)))?;
            if now != round {
                return ended(now, round, index, offset);
            }
            let Some(left) = super::remaining(deadline) else {
                // Out of time: break this round, unless it ended just now.
                let broke = self.with(|map| {
                    let words = map.barrier(offset)?;
                    let result =
                        words
                            .round
                            .compare_exchange(round, round | BROKEN, SeqCst, SeqCst);
                    wake_all(map, offset)?;
                    Ok(result)
                })?;
                return match broke {
                    Ok(_) => Err(Error::BarrierBroken { offset }),
                    Err(now) => ended(now, round, index, offset),
                };
            };
            self.sleep_as(waiter, offset + 4, round, left)?;
        }
    }

    /// Arrives and waits: this party's arrival index.
    pub fn barrier_wait_as(
        &self,
        waiter: &Waiter<'_>,
        offset: usize,
        parties: u32,
        timeout: Option<Duration>,
    ) -> Result<u32> {
        let arrival = self.barrier_arrive(offset, parties)?;
        self.barrier_await_as(waiter, offset, arrival, timeout)
    }

    /// Ends the round as broken for whoever waits in it, and starts a clean one.
    pub fn barrier_reset(&self, offset: usize) -> Result<()> {
        self.with(|map| {
            let words = map.barrier(offset)?;
            words.arrived.store(0, SeqCst);
            let _ = words.round.fetch_update(SeqCst, SeqCst, |round| {
                Some(((round & ROUND).wrapping_add(1) & ROUND) | RESET)
            });
            wake_all(map, offset)
        })
    }

    /// The parties the bytes name (0: not used yet) and whether the barrier is broken.
    pub fn barrier_state(&self, offset: usize) -> Result<(u32, bool)> {
        self.with(|map| {
            let words = map.barrier(offset)?;
            Ok((
                words.parties.load(SeqCst),
                words.round.load(SeqCst) & BROKEN != 0,
            ))
        })
    }
}

/// The round word moved from `round` to `now`: released, or broken (or reset).
/// The round that ended by `reset()` is the one after it, numbered with [`RESET`]; a round that
/// moved on further was released first.
fn ended(now: u32, round: u32, index: u32, offset: usize) -> Result<u32> {
    let next = (round & ROUND).wrapping_add(1) & ROUND;
    let broken = now & ROUND == round & ROUND || (now & RESET != 0 && now & ROUND == next);
    if broken {
        Err(Error::BarrierBroken { offset })
    } else {
        Ok(index)
    }
}

fn wake_all(map: &Map, offset: usize) -> Result<()> {
    crate::wait::address::wake(map.atomic_i32(offset + 4)?, u32::MAX);
    Ok(())
}
