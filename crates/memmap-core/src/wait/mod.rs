//! `wait` and `notify` on a 32-bit word of a mapping, across threads and processes, and the
//! bookkeeping that lets `close()` wake this process's sleepers before it unmaps their pages.
//!
//! A sleeper registers the word's address while it holds the [`Handle`](crate::Handle)'s read
//! lock, then sleeps without any lock (so `close()` is never held up by a sleeper). Closing
//! (and remapping) takes the write lock, bumps the generation and wakes every registered
//! address until each sleeper has left; only then are the pages unmapped. So a sleeper's word is
//! mapped for as long as it sleeps on it.
//!
//! # Safety
//! [`Sleepers::evict`] forms `AtomicI32`s from registered addresses. It runs only while the
//! caller still owns the [`Map`](crate::Map) those addresses point into, and a registered
//! address was checked (`Map::atomic_i32`) to be an aligned word inside that map.

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering::SeqCst};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

// Waiting on a 32-bit word until another thread or process wakes it, one module per system.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) mod futex;
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) use futex as address;
#[cfg(any(target_os = "macos", target_os = "ios"))]
pub(crate) mod ulock;
#[cfg(any(target_os = "macos", target_os = "ios"))]
pub(crate) use ulock as address;
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios"
)))]
pub(crate) mod poll;
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios"
)))]
pub(crate) use poll as address;

// The polling fallback is compiled and tested on Linux too, so that this machine covers it.
#[cfg(all(test, target_os = "linux"))]
#[path = "poll.rs"]
mod poll_on_linux;

/// How one sleep on a word ended. Callers loop: any of these may come early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    not(any(target_os = "linux", target_os = "android")),
    allow(
        dead_code,
        reason = "each platform's wait reports only the outcomes its system call can tell apart"
    )
)]
pub(crate) enum Wake {
    /// A wake reached the sleeper (or the system cannot say why it returned).
    Woken,
    /// The word no longer held the expected value.
    Changed,
    /// The timeout (or a polling slice) ran out.
    TimedOut,
    /// A signal interrupted the sleep.
    Interrupted,
}

/// What `wait` returned, as JavaScript's `Atomics.wait` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitResult {
    /// Woken by a notify (`'ok'`).
    Ok,
    /// The word did not hold the expected value (`'not-equal'`).
    NotEqual,
    /// The timeout ran out (`'timed-out'`).
    TimedOut,
}

impl WaitResult {
    /// The JavaScript spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            WaitResult::Ok => "ok",
            WaitResult::NotEqual => "not-equal",
            WaitResult::TimedOut => "timed-out",
        }
    }
}

/// The sleepers of one mapping (in this process).
#[derive(Debug, Default)]
pub(crate) struct Sleepers {
    /// The address each sleeper sleeps on (one entry per sleeper).
    addresses: Mutex<Vec<usize>>,
    /// Signalled each time a sleeper leaves.
    left: Condvar,
    /// Bumped by every eviction; a sleeper that sees it change stops sleeping.
    generation: AtomicU64,
}

impl Sleepers {
    fn lock(&self) -> MutexGuard<'_, Vec<usize>> {
        self.addresses
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a sleeper on `word`; the caller holds the handle's read lock. Returns the
    /// generation to watch.
    pub(crate) fn enter(&self, word: &AtomicI32) -> u64 {
        let mut addresses = self.lock();
        addresses.push(word.as_ptr() as usize);
        self.generation.load(SeqCst)
    }

    /// Unregisters a sleeper on `word` (which it must not touch afterwards).
    pub(crate) fn leave(&self, word: &AtomicI32) {
        let mut addresses = self.lock();
        if let Some(at) = addresses.iter().position(|&a| a == word.as_ptr() as usize) {
            addresses.swap_remove(at);
        }
        drop(addresses);
        self.left.notify_all();
    }

    /// Whether an eviction happened since `generation`.
    pub(crate) fn evicted(&self, generation: u64) -> bool {
        self.generation.load(SeqCst) != generation
    }

    /// Wakes every sleeper and returns once all have left. The caller holds the handle's write
    /// lock (so no sleeper can register meanwhile) and still owns the mapped pages.
    pub(crate) fn evict(&self) {
        self.generation.fetch_add(1, SeqCst);
        let mut addresses = self.lock();
        while !addresses.is_empty() {
            let mut distinct = addresses.clone();
            distinct.sort_unstable();
            distinct.dedup();
            for word in distinct {
                // SAFETY: a registered address is an aligned word inside the map the caller
                // still owns (module safety paragraph), so it is mapped.
                address::wake(unsafe { AtomicI32::from_ptr(word as *mut i32) }, u32::MAX);
            }
            // A sleeper may have registered but not yet be asleep when the wake went out: it
            // sees the new generation before sleeping, or is woken by the next round.
            addresses = self
                .left
                .wait_timeout(addresses, Duration::from_millis(1))
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }
}

/// How a sleep ended, for [`Handle::wait`](crate::Handle::wait).
pub(crate) enum Slept {
    Done(WaitResult),
    /// `close()` or a remap woke the sleeper.
    Evicted,
}

/// How long [`sleep`] watches the word before it sleeps (never longer than the timeout).
const SPIN_FOR: Duration = Duration::from_micros(20);

/// Sleeps on `word` while it holds `expected`, until woken, the timeout, or an eviction.
pub(crate) fn sleep(
    word: &AtomicI32,
    expected: i32,
    timeout: Option<Duration>,
    sleepers: &Sleepers,
    generation: u64,
) -> Slept {
    // Watch the word for a few microseconds first: a peer that answers within them (a ping-pong
    // partner) is seen without the cost of sleeping and being woken, tens of microseconds on a
    // busy machine. Bounded by time, not by a count of PAUSE instructions (whose cost varies
    // from 1 to 140 cycles between CPUs), and yielding between short bursts, so that a partner
    // waiting for this very core gets it instead of watching this thread spin.
    let spin_for = timeout.map_or(SPIN_FOR, |timeout| timeout.min(SPIN_FOR));
    let spinning = Instant::now();
    while !spin_for.is_zero() {
        for _ in 0..16 {
            if word.load(SeqCst) != expected {
                return Slept::Done(WaitResult::Ok);
            }
            std::hint::spin_loop();
        }
        if spinning.elapsed() >= spin_for {
            break;
        }
        std::thread::yield_now();
    }
    // A timeout too large to add is no timeout.
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let mut round = 0u32;
    loop {
        if sleepers.evicted(generation) {
            return Slept::Evicted;
        }
        let remaining = match deadline {
            None => None,
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return Slept::Done(WaitResult::TimedOut),
            },
        };
        match address::wait(word, expected, remaining, round) {
            // The word changed after the caller saw it hold `expected`: whoever changed it is
            // about to notify (or did), which is what this sleeper waits for.
            Wake::Woken | Wake::Changed => {
                if sleepers.evicted(generation) {
                    return Slept::Evicted;
                }
                return Slept::Done(WaitResult::Ok);
            }
            Wake::TimedOut | Wake::Interrupted => round = round.saturating_add(1),
        }
    }
}
