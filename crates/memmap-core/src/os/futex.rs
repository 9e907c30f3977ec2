//! Linux and Android: `futex(2)` without `FUTEX_PRIVATE_FLAG`, so that the kernel keys a waiter
//! by the page it waits on (the shared object and offset) rather than by this process's
//! address space, and a wake from any process that maps the page reaches it.
//!
//! # Safety
//! The futex word is passed as the address of a live `AtomicI32`; the kernel only reads it
//! (FUTEX_WAIT compares it) and uses it as a key.

use std::sync::atomic::AtomicI32;
use std::time::Duration;

use super::Wake;

/// Sleeps while `*word == expected`, at most `timeout` (`None`: no limit). May return early.
pub fn wait(word: &AtomicI32, expected: i32, timeout: Option<Duration>, _round: u32) -> Wake {
    let limit = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
        tv_nsec: t.subsec_nanos() as _,
    });
    let limit_ptr = limit
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: FUTEX_WAIT reads the aligned word `word` points to, which is live, and the
    // optional relative timeout, which lives on this stack frame for the call.
    let result = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            limit_ptr,
        )
    };
    if result == 0 {
        return Wake::Woken;
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::EAGAIN) => Wake::Changed,
        Some(libc::ETIMEDOUT) => Wake::TimedOut,
        Some(libc::EINTR) => Wake::Interrupted,
        // Nothing else is expected of a live, aligned word; report a wake rather than spin.
        _ => Wake::Woken,
    }
}

/// Wakes up to `count` sleepers on `word`, in every process; returns how many woke.
pub fn wake(word: &AtomicI32, count: u32) -> u32 {
    let count = count.min(i32::MAX as u32) as libc::c_int;
    // SAFETY: FUTEX_WAKE uses the address of the live word only as a key.
    let woken = unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, count) };
    woken.max(0) as u32
}
