//! Systems without a cross-process wait on an address (Windows, and Unix systems other than
//! Linux, Android, macOS and iOS): sleepers poll the word with a bounded exponential backoff,
//! from a spin to at most 1 ms between looks. A notify therefore takes effect when the value it
//! follows is seen to change: within about a millisecond (on Windows, within one scheduler
//! tick, 1 to 15.6 ms, as `Sleep` rounds up to it). On Windows, sleepers in the same process
//! also wait in `WaitOnAddress`, so a notify from another thread wakes them at once.
//!
//! # Safety
//! The word is a live, aligned `AtomicI32`; `WaitOnAddress` only reads it and its comparand.

use std::sync::atomic::{AtomicI32, Ordering::SeqCst};
use std::time::Duration;

use super::Wake;

/// The longest sleep between two looks at the word.
const MAX_SLEEP: Duration = Duration::from_millis(1);

/// Looks at the word once more after a pause that grows with `round`, never longer than
/// `timeout`.
pub fn wait(word: &AtomicI32, expected: i32, timeout: Option<Duration>, round: u32) -> Wake {
    if word.load(SeqCst) != expected {
        return Wake::Changed;
    }
    let pause = Duration::from_micros(1u64 << round.min(10)).min(MAX_SLEEP);
    let pause = timeout.map_or(pause, |t| t.min(pause));
    if round < 4 {
        std::thread::yield_now();
    } else {
        sleep(word, expected, pause);
    }
    if word.load(SeqCst) != expected {
        Wake::Changed
    } else {
        Wake::TimedOut
    }
}

#[cfg(windows)]
use windows_sys::Win32::System::Threading::{WaitOnAddress, WakeByAddressAll};

#[cfg(windows)]
fn sleep(word: &AtomicI32, expected: i32, pause: Duration) {
    let milliseconds = pause.as_millis().clamp(1, u32::MAX as u128) as u32;
    // SAFETY: `word` is a live 4-byte word and `expected` a 4-byte comparand on this stack.
    unsafe {
        WaitOnAddress(
            word.as_ptr().cast(),
            (&expected as *const i32).cast(),
            4,
            milliseconds,
        );
    }
}

#[cfg(not(windows))]
fn sleep(_word: &AtomicI32, _expected: i32, pause: Duration) {
    std::thread::sleep(pause);
}

/// Wakes the sleepers of this process (Windows); those of other processes see the new value at
/// their next look. How many woke is not known: 0.
pub fn wake(word: &AtomicI32, _count: u32) -> u32 {
    #[cfg(windows)]
    // SAFETY: `word` is a live address; WakeByAddressAll only uses it as a key.
    unsafe {
        WakeByAddressAll(word.as_ptr().cast());
    }
    #[cfg(not(windows))]
    let _ = word;
    0
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI32, Ordering::SeqCst};
    use std::time::Duration;

    use super::{wait, Wake};

    #[test]
    fn sees_a_change_and_times_out() {
        let word = AtomicI32::new(1);
        assert_eq!(super::wake(&word, 1), 0);
        assert_eq!(wait(&word, 0, None, 0), Wake::Changed);
        assert_eq!(
            wait(&word, 1, Some(Duration::from_micros(50)), 9),
            Wake::TimedOut
        );
        std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(Duration::from_millis(5));
                word.store(2, SeqCst);
            });
            let mut round = 0;
            while wait(&word, 1, None, round) != Wake::Changed {
                round += 1;
            }
        });
    }
}
