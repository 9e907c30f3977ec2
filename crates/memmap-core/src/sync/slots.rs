//! macOS, FreeBSD and other Unix systems: thread ids there are not usable by another process
//! (macOS's are 64-bit and cannot be asked about from outside), so a token is the process id
//! (bits 13-30; process ids stay below 2^17 on macOS and FreeBSD) and a slot number for the
//! thread within it (bits 0-12, from 1). A slot is taken by a thread's first lock and given back
//! when the thread ends, which is how a worker thread that ended holding a lock is seen by the
//! other threads of its process. Another process's holder is gone when its process is (`kill(pid,
//! 0)` says `ESRCH`). The birth stamp is 0 (unknown): a process id reused while a lock stays held
//! is not told apart from the holder, a gap that Linux and Windows do not have.

use std::sync::Mutex;

use rustix::io::Errno;
use rustix::process::{getpid, test_kill_process, Pid};

use super::Identity;

/// Slots per process: slot 0 is never used, so a token is never 0.
const SLOTS: usize = 1 << 13;

/// Which slots belong to a live thread of this process.
static TAKEN: Mutex<Vec<bool>> = Mutex::new(Vec::new());

/// A thread's slot, given back when the thread ends.
struct Slot(usize);

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut taken) = TAKEN.lock() {
            taken[self.0] = false;
        }
    }
}

thread_local! {
    static OWNED: std::cell::RefCell<Option<Slot>> = const { std::cell::RefCell::new(None) };
}

fn pid() -> u32 {
    getpid().as_raw_nonzero().get() as u32
}

/// The calling thread's identity, worked out once per thread (the caller keeps it: `super::me`):
/// takes a slot, given back when the thread ends.
pub(super) fn identify() -> Identity {
    let slot = {
        let mut taken = TAKEN
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if taken.is_empty() {
            taken.resize(SLOTS, false);
            taken[0] = true;
        }
        // The last slot is shared by any threads past 8,190: it is never seen as ended.
        let free = taken.iter().position(|used| !used).unwrap_or(SLOTS - 1);
        taken[free] = true;
        free
    };
    if slot != SLOTS - 1 {
        OWNED.with(|owned| *owned.borrow_mut() = Some(Slot(slot)));
    }
    Identity {
        token: ((pid() & 0x3_ffff) << 13) | slot as u32,
        stamp: 0,
    }
}

/// Whether the thread this token names has ended: its process is gone, or it is a thread of
/// this process whose slot was given back.
pub(super) fn gone(token: u32) -> bool {
    let (process, slot) = (token >> 13, (token as usize) & (SLOTS - 1));
    if process == pid() & 0x3_ffff {
        let taken = TAKEN
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        return slot != SLOTS - 1 && !taken.get(slot).copied().unwrap_or(false);
    }
    let Some(pid) = i32::try_from(process).ok().and_then(Pid::from_raw) else {
        return true;
    };
    matches!(test_kill_process(pid), Err(Errno::SRCH))
}

/// Not known here (see the module documentation).
pub(super) fn stamp_of(_token: u32) -> Option<u32> {
    None
}

/// Never asked: there are no stamps here.
pub(super) fn same_birth(now: u32, stamp: u32) -> bool {
    now == stamp
}
