//! Who a thread is, as a lock word names it, and whether the thread a word names has ended: one
//! module per system, picked here. The locks (`sync/`) and the sweeping of auto-named shared
//! memory (`shared/auto.rs`) both judge holders through it.
//!
//! # Identities
//! A lock word names its holder by a *token* (bits 0-30, never 0) and, in the next word, a
//! *stamp* (when the thread was born; 0 while not yet written). The platform modules work them
//! out: the thread id and its start time on Linux and Windows (with the PID namespace on Linux),
//! the process id and a slot number elsewhere. One token value, [`ABANDONED`], names no thread:
//! a holder that closed the mapping it held a lock through leaves it there, and the next
//! acquirer takes the lock with `owner_died`.
//!
//! # Judging a holder
//! [`verdict`] says whether the thread a word names has [`Verdict::Ended`], is
//! [`Verdict::Alive`], or cannot be judged from here ([`Verdict::Unknown`]: another PID
//! namespace). Only an ended holder is taken over, so two threads never both hold a lock: safety
//! comes before liveness.
//!

// Who this thread is, and whether another one has ended: one module per system.
#[cfg(any(target_os = "linux", target_os = "android"))]
mod linux;
#[cfg(any(target_os = "linux", target_os = "android"))]
use linux as owner;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as owner;
#[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
mod slots;
#[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
use slots as owner;

/// The token of a lock whose holder closed the mapping it held it through (no thread has it).
pub const ABANDONED: u32 = !(1 << 31);

/// A thread as a lock word names it: a token (non-zero, below 2^31) and its birth stamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity {
    /// What the lock word holds while this thread holds the lock.
    pub token: u32,
    /// When the thread was born, in units of the system's choosing (0: unknown).
    pub stamp: u32,
}

/// What can be said of a lock's holder from here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The thread lives (or may: a stamp not yet written).
    Alive,
    /// The thread has ended: its lock may be taken over.
    Ended,
    /// The thread cannot be judged from here (another PID namespace): never taken over.
    Unknown,
}

// Android and windows-gnu emulate thread locals, and clippy there asks for the `const` that is
// already here.
#[allow(
    clippy::missing_const_for_thread_local,
    reason = "a false positive where thread locals are emulated"
)]
mod local {
    use super::Identity;
    use std::cell::Cell;

    thread_local! {
        pub(super) static ME: Cell<Option<Identity>> = const { Cell::new(None) };
    }
}

/// The calling thread's identity (worked out once per thread).
pub fn me() -> Identity {
    local::ME.with(|cell| {
        cell.get().unwrap_or_else(|| {
            let me = owner::identify();
            cell.set(Some(me));
            me
        })
    })
}

/// This process's identity (its main thread's, whichever thread asks), for what it makes that
/// outlives threads; `None` where it cannot be worked out fully. Linux only: the names it goes
/// into are swept only there (`shared/auto.rs`).
#[cfg(target_os = "linux")]
pub(crate) fn process_identity() -> Option<Identity> {
    linux::process_identity()
}

/// Whether the thread `holder` names has ended, as `me` sees it. `settled`: the holder's stamp
/// has read 0 for a whole slice of the locks' patience (killed between taking the lock and stamping it).
pub fn verdict(holder: Identity, me: Identity, settled: bool) -> Verdict {
    owner::verdict(holder, me, settled)
}
