//! macOS, FreeBSD and other Unix systems: thread ids there are not usable by another process
//! (macOS's are 64-bit and cannot be asked about from outside), so a token is the process id
//! (bits 13-30; process ids stay below 2^17 on macOS and FreeBSD) and a slot number for the
//! thread within it (bits 0-12, from 1). A slot is taken by a thread's first lock and given back
//! when the thread ends, which is how a worker thread that ended holding a lock is seen by the
//! other threads of its process. Another process's holder is gone when its process is (`kill(pid,
//! 0)` says `ESRCH`). The birth stamp is 0 (unknown): a process id reused while a lock stays held
//! is not told apart from the holder, a gap that Linux and Windows do not have. A FreeBSD jail sees
//! only its own processes, so a holder outside it looks gone from inside: do not share a mutex
//! between jails (macOS has no PID namespaces).

use std::sync::Mutex;

use rustix::io::Errno;
use rustix::process::{getpid, test_kill_process, Pid};

use super::{Identity, Verdict};

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

/// Whether the thread `holder` names has ended (see [`gone`]). There are no stamps here, and no
/// PID namespaces on macOS; a FreeBSD jail cannot see the processes outside it, which is why
/// the module documentation says not to share a mutex across jails.
pub(super) fn verdict(holder: Identity, _me: Identity, _settled: bool) -> Verdict {
    if gone(holder.token) {
        Verdict::Ended
    } else {
        Verdict::Alive
    }
}

/// Whether the thread this token names has ended: its process is gone, or it is a thread of
/// this process whose slot was given back.
fn gone(token: u32) -> bool {
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
