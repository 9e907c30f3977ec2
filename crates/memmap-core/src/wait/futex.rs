//! Linux and Android: `futex(2)` without `FUTEX_PRIVATE_FLAG`, so that the kernel keys a waiter
//! by the page it waits on (the shared object and offset) rather than by this process's
//! address space, and a wake from any process that maps the page reaches it. The calls go
//! through rustix, whose 64-bit `Timespec` (with `futex_time64` on 32-bit systems) spares us
//! each C library's idea of `time_t`.
//!
//! # Safety
//! The futex word is a live `AtomicI32`, viewed as the `AtomicU32` rustix takes (see `unsigned`);
//! the kernel only reads it (FUTEX_WAIT compares it) and uses its address as a key.

use std::sync::atomic::{AtomicI32, AtomicU32};
use std::time::Duration;

use rustix::io::Errno;
use rustix::thread::futex;

use super::Wake;

/// The same word as the `AtomicU32` rustix's futex calls take.
fn unsigned(word: &AtomicI32) -> &AtomicU32 {
    // SAFETY: `AtomicI32` and `AtomicU32` have the same size and alignment, the pointer is valid
    // for the borrow's lifetime, and every access to the word is atomic.
    unsafe { AtomicU32::from_ptr(word.as_ptr().cast()) }
}

/// Sleeps while `*word == expected`, at most `timeout` (`None`: no limit). May return early.
pub fn wait(word: &AtomicI32, expected: i32, timeout: Option<Duration>, _round: u32) -> Wake {
    let limit = timeout.map(|t| futex::Timespec {
        tv_sec: t.as_secs().min(i64::MAX as u64) as i64,
        tv_nsec: t.subsec_nanos().into(),
    });
    match futex::wait(
        unsigned(word),
        futex::Flags::empty(),
        expected as u32,
        limit.as_ref(),
    ) {
        Ok(()) => Wake::Woken,
        Err(Errno::AGAIN) => Wake::Changed,
        Err(Errno::TIMEDOUT) => Wake::TimedOut,
        Err(Errno::INTR) => Wake::Interrupted,
        // Nothing else is expected of a live, aligned word; report a wake rather than spin.
        Err(_) => Wake::Woken,
    }
}

/// Wakes up to `count` sleepers on `word`, in every process; returns how many woke.
pub fn wake(word: &AtomicI32, count: u32) -> u32 {
    let count = count.min(i32::MAX as u32);
    futex::wake(unsigned(word), futex::Flags::empty(), count).map_or(0, |woken| woken as u32)
}
