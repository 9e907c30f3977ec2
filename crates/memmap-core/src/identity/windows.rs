//! Windows: a thread is its thread id, unique among the live threads of the system; ids are
//! multiples of 4, so the token is the id / 4 (below 2^30). The birth stamp is the thread's
//! creation time in milliseconds (low 32 bits), which tells a reused id apart. Handles are opened
//! and closed for each question: holding one would keep a dead thread's id from being reused,
//! but also keep its kernel object alive in a process that may run for months.

use windows_sys::Win32::Foundation::{
    CloseHandle, GetLastError, ERROR_INVALID_PARAMETER, FILETIME, HANDLE,
};
use windows_sys::Win32::System::Threading::{
    GetCurrentThread, GetCurrentThreadId, GetExitCodeThread, GetThreadTimes, OpenThread,
    THREAD_QUERY_LIMITED_INFORMATION,
};

use super::{Identity, Verdict};

/// `GetExitCodeThread`'s answer for a thread that still runs.
const STILL_ACTIVE: u32 = 259;

/// The calling thread's identity, worked out (the caller keeps it: `super::me`).
pub(super) fn identify() -> Identity {
    // SAFETY: no arguments; returns this thread's id.
    let id = unsafe { GetCurrentThreadId() };
    // SAFETY: the pseudo handle of this thread needs no closing.
    let stamp = created(unsafe { GetCurrentThread() }).unwrap_or(0);
    Identity {
        token: (id >> 2).max(1),
        stamp,
    }
}

/// A thread's creation time in milliseconds (low 32 bits, never 0).
fn created(thread: HANDLE) -> Option<u32> {
    let zero = FILETIME {
        dwLowDateTime: 0,
        dwHighDateTime: 0,
    };
    let (mut creation, mut exit, mut kernel, mut user) = (zero, zero, zero, zero);
    // SAFETY: `thread` is a valid handle with query rights; the out-pointers are valid.
    let ok = unsafe { GetThreadTimes(thread, &mut creation, &mut exit, &mut kernel, &mut user) };
    let ticks = (u64::from(creation.dwHighDateTime) << 32) | u64::from(creation.dwLowDateTime);
    (ok != 0).then(|| ((ticks / 10_000) as u32).max(1))
}

/// Runs `f` on an open handle of thread `token`, or says why there is none: `Err(true)` when no
/// thread has that id, `Err(false)` when it exists but cannot be opened (another user's).
fn with_thread<T>(token: u32, f: impl FnOnce(HANDLE) -> T) -> Result<T, bool> {
    // SAFETY: plain call; a null result is checked.
    let thread = unsafe { OpenThread(THREAD_QUERY_LIMITED_INFORMATION, 0, token << 2) };
    if thread.is_null() {
        // SAFETY: plain call, right after the failed one.
        return Err(unsafe { GetLastError() } == ERROR_INVALID_PARAMETER);
    }
    let result = f(thread);
    // SAFETY: `thread` was opened above and is closed once.
    unsafe { CloseHandle(thread) };
    Ok(result)
}

/// Whether the thread `holder` names has ended: no live thread has its id, or the one that has
/// it was created at another time than the stamp says (the id was reused). Stamp 0 (not yet
/// written) is judged on the id alone once it has stayed 0 for a slice. Windows has no PID
/// namespaces: thread ids are the system's.
pub(super) fn verdict(holder: Identity, _me: Identity, settled: bool) -> Verdict {
    if holder.stamp == 0 && !settled {
        return Verdict::Alive;
    }
    let ended = gone(holder.token)
        || (holder.stamp != 0 && stamp_of(holder.token).is_some_and(|now| now != holder.stamp));
    if ended {
        Verdict::Ended
    } else {
        Verdict::Alive
    }
}

/// Whether no live thread has this id.
fn gone(token: u32) -> bool {
    match with_thread(token, |thread| {
        let mut code = 0u32;
        // SAFETY: `thread` is open with query rights; `code` is a valid out-pointer.
        let ok = unsafe { GetExitCodeThread(thread, &mut code) };
        ok != 0 && code != STILL_ACTIVE
    }) {
        Ok(exited) => exited,
        Err(no_such_thread) => no_such_thread,
    }
}

/// The creation time of thread `token`, if it lives (Windows reuses ids quickly, and answers
/// every reader alike: a reading is compared exactly).
fn stamp_of(token: u32) -> Option<u32> {
    with_thread(token, created).ok().flatten()
}
