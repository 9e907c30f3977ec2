//! Linux and Android: a thread is its thread id (`gettid`), unique among the live threads of
//! the whole system (of one PID namespace), and below 2^22. Its birth stamp is its start time in
//! clock ticks since boot (`/proc/<tid>/stat`, field 22), so a reused id is told apart from the
//! thread that held the lock. Robust futex lists would let the kernel mark a dead holder's lock,
//! but a thread has only one list and the C library owns it.

use std::fs;

use rustix::io::Errno;
use rustix::process::{test_kill_process, Pid};

use super::Identity;

/// The calling thread's identity, worked out (the caller keeps it: `super::me`).
pub(super) fn identify() -> Identity {
    let token = rustix::thread::gettid().as_raw_nonzero().get() as u32;
    Identity {
        token,
        stamp: stamp_of(token).unwrap_or(0),
    }
}

/// Whether no live thread has this id. A signal 0 to a thread id reaches its process (or says
/// `EPERM` for another user's): only `ESRCH` means the thread is gone.
pub(super) fn gone(token: u32) -> bool {
    let Some(pid) = i32::try_from(token).ok().and_then(Pid::from_raw) else {
        return true;
    };
    matches!(test_kill_process(pid), Err(Errno::SRCH))
}

/// The start time of thread `token` (low 32 bits), if it lives and /proc tells.
pub(super) fn stamp_of(token: u32) -> Option<u32> {
    // /proc/<tid> exists for every thread, listed or not. The command name (field 2) may hold
    // spaces and parentheses: the fields after it follow the last ')'.
    let stat = fs::read_to_string(format!("/proc/{token}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    // After ')': field 3 (state) is the first; field 22 (starttime) is the 20th.
    let start: u64 = after.split_whitespace().nth(19)?.parse().ok()?;
    Some((start as u32).max(1))
}

/// How far apart (in clock ticks, 1/100 s) two readings of one thread's start time may be.
/// qemu-user answers a process's reads of its own `/proc/<pid>/stat` itself, with its own idea of
/// the start time (one tick off, measured), while other processes read the kernel's. A thread id
/// reused within a quarter of a second would need the whole id space (4,194,304 ids, or 32,768
/// where `kernel.pid_max` is the old default) to wrap around in that time.
const SAME_BIRTH_TICKS: u32 = 25;

/// Whether two start times read for a thread id are the same thread's.
pub(super) fn same_birth(now: u32, stamp: u32) -> bool {
    now.wrapping_sub(stamp).min(stamp.wrapping_sub(now)) <= SAME_BIRTH_TICKS
}

#[cfg(test)]
mod tests {
    use super::super::me;
    use super::{same_birth, stamp_of};

    #[test]
    fn own_stamp_and_close_readings_match() {
        let me = me();
        assert_eq!(stamp_of(me.token), Some(me.stamp));
        assert!(same_birth(1000, 1001) && same_birth(1001, 1000) && same_birth(u32::MAX, 3));
        assert!(!same_birth(1000, 2000));
    }
}
