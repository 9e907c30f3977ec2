//! Linux and Android: a thread is its thread id (`gettid`) in its PID namespace, below 2^22
//! (`PID_MAX_LIMIT`). Its birth stamp is its start time in clock ticks since boot
//! (`/proc/<tid>/stat`, field 22), so a reused id is told apart from the thread that held the
//! lock. Robust futex lists would let the kernel mark a dead holder's lock, but a thread has only
//! one list and the C library owns it.
//!
//! # Namespaces
//! A thread id means something only inside its PID namespace: from another one, `kill(tid, 0)`
//! asks about whatever has that number there. So every identity carries a 17-bit *tag* of its
//! namespace, split over the two words: bits 22-30 of the token hold its low 9 bits, bits 24-31
//! of the stamp its high 8 (the start time keeps the stamp's low 24 bits). The tag is the
//! namespace's inode number less that of the initial namespace (`PROC_PID_INIT_INO`,
//! 0xEFFFFFFC, the same on every kernel): the kernel allocates namespace inodes as the lowest
//! free number from 0xF0000000 up, so two live namespaces never share a tag. Only a holder with
//! this thread's own tag is ever judged; any other may be alive where nobody here can look.

use std::fs;

use rustix::io::Errno;
use rustix::process::{test_kill_process, Pid};

use super::{Identity, Verdict, ABANDONED};

/// The thread id's bits in a token.
const TID: u32 = (1 << 22) - 1;
/// The tag of a namespace that cannot be named (its inode unreadable, or too far from the
/// initial one): a holder with it is never judged, not even by its own namespace.
const TAG_UNKNOWN: u32 = 0x1_fffe;
/// The inode number of the initial PID namespace (`PROC_PID_INIT_INO` in the kernel).
const INIT_NAMESPACE: u64 = 0xEFFF_FFFC;
/// The start time's bits in a stamp.
const START: u32 = (1 << 24) - 1;

/// This process's namespace tag (see the module documentation).
fn namespace_tag() -> u32 {
    match fs::read_link("/proc/self/ns/pid") {
        Ok(link) => link
            .to_str()
            .and_then(|link| link.strip_prefix("pid:["))
            .and_then(|link| link.strip_suffix(']'))
            .and_then(|inode| inode.parse::<u64>().ok())
            .and_then(|inode| inode.checked_sub(INIT_NAMESPACE))
            .filter(|&tag| tag < u64::from(TAG_UNKNOWN))
            .map_or(TAG_UNKNOWN, |tag| tag as u32),
        // A kernel without PID namespaces has no /proc/self/ns: there is only one.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(_) => TAG_UNKNOWN,
    }
}

/// The namespace tag an identity carries: the token's part, and the stamp's (`None` while the
/// stamp is 0, not yet written).
fn tag_of(token: u32, stamp: u32) -> (u32, Option<u32>) {
    let low = (token >> 22) & 0x1ff;
    (low, (stamp != 0).then_some(low | ((stamp >> 24) << 9)))
}

/// The calling thread's identity, worked out (the caller keeps it: `super::me`).
pub(super) fn identify() -> Identity {
    let tid = rustix::thread::gettid().as_raw_nonzero().get() as u32 & TID;
    let mut tag = namespace_tag();
    // The all-ones token marks an abandoned lock: the one identity that would spell it uses the
    // unknown tag instead (it is then never judged, which is safe).
    if tid | ((tag & 0x1ff) << 22) == ABANDONED {
        tag = TAG_UNKNOWN;
    }
    let start = read_stat(tid).map_or(0, |stat| stat.start);
    Identity {
        token: tid | ((tag & 0x1ff) << 22),
        stamp: ((tag >> 9) << 24 | (start & START)).max(1),
    }
}

/// This process's identity, for what outlives the thread that made it (the names of
/// `createShared(length)`, see `shared/auto.rs`): its main thread's, whose id is the process id, so a
/// name made in a worker names the process, and ends with it. `None` where it cannot be worked out
/// fully (no `/proc`, a namespace that cannot be named): such a process gets no identity rather
/// than one that could later be judged wrongly (a start time of 0 would not match its own).
#[cfg(target_os = "linux")]
pub(super) fn process_identity() -> Option<Identity> {
    let pid = rustix::process::getpid().as_raw_nonzero().get() as u32;
    let tag = namespace_tag();
    let token = (pid & TID) | ((tag & 0x1ff) << 22);
    if pid > TID || tag == TAG_UNKNOWN || token == ABANDONED {
        return None;
    }
    let start = read_stat(pid)?.start;
    Some(Identity {
        token,
        stamp: ((tag >> 9) << 24 | (start & START)).max(1),
    })
}

/// What `/proc/<tid>/stat` says of a thread.
struct Stat {
    /// Field 3: `R`, `S`, `D`, `T`, `Z` (a zombie), `X` (dead), ...
    state: u8,
    /// Field 22, the start time in clock ticks since boot (low 32 bits).
    start: u32,
}

/// Reads what `/proc` says of thread `tid`, or `None` if there is no such thread (or no /proc).
/// A thread of this process is read as `/proc/self/task/<tid>/stat`: qemu-user answers reads of
/// `/proc/<its own pid>/stat` itself, with the *calling* thread's start time and state `R`, so a
/// worker asking about the main thread would see another thread's birth. Other threads are read
/// as `/proc/<tid>/stat`, which exists for every thread of the system, listed or not.
fn read_stat(tid: u32) -> Option<Stat> {
    let stat = fs::read_to_string(format!("/proc/self/task/{tid}/stat"))
        .or_else(|_| fs::read_to_string(format!("/proc/{tid}/stat")))
        .ok()?;
    // The command name (field 2) may hold spaces and parentheses: the fields after it follow
    // the last ')'. After it, field 3 (state) is the first and field 22 (starttime) the 20th.
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = *fields.next()?.as_bytes().first()?;
    let start: u64 = fields.nth(18)?.parse().ok()?;
    Some(Stat {
        state,
        start: start as u32,
    })
}

/// How far apart (in clock ticks, 1/100 s) two readings of one thread's start time may be (the
/// kernel's own readings agree exactly; this is a margin, not a need). A thread id
/// reused within a quarter of a second would need the whole id space (4,194,304 ids, or 32,768
/// where `kernel.pid_max` is the old default) to wrap around in that time.
const SAME_BIRTH_TICKS: u32 = 25;

/// Whether two start times (the stamp's 24 bits) read for a thread id are the same thread's.
fn same_birth(now: u32, stamp: u32) -> bool {
    let apart = now.wrapping_sub(stamp) & START;
    apart.min(START + 1 - apart) <= SAME_BIRTH_TICKS
}

/// Whether the thread `holder` names has ended, as seen by `me`. `settled`: the holder's stamp
/// has read 0 for a whole slice (it was killed between taking the lock and stamping it).
pub(super) fn verdict(holder: Identity, me: Identity, settled: bool) -> Verdict {
    let (mine, my_tag) = tag_of(me.token, me.stamp);
    let my_tag = my_tag.unwrap_or(TAG_UNKNOWN);
    let (low, full) = tag_of(holder.token, holder.stamp);
    if my_tag == TAG_UNKNOWN || low != mine {
        return Verdict::Unknown;
    }
    match full {
        Some(tag) if tag != my_tag => return Verdict::Unknown,
        // The stamp's half of the tag is not written yet: wait until it has stayed unwritten for
        // a slice, then judge on the token's half alone.
        None if !settled => return Verdict::Alive,
        _ => {}
    }
    let tid = holder.token & TID;
    let Some(pid) = i32::try_from(tid).ok().and_then(Pid::from_raw) else {
        return Verdict::Ended;
    };
    // A signal 0 to a thread id reaches its process (or says `EPERM` for another user's): only
    // `ESRCH` means the thread is gone.
    if matches!(test_kill_process(pid), Err(Errno::SRCH)) {
        return Verdict::Ended;
    }
    match read_stat(tid) {
        // Killed but not yet reaped by its parent (which may be the very process asking, blocked
        // in lock()): `kill` still finds a zombie, its state tells.
        Some(stat) if matches!(stat.state, b'Z' | b'X') => Verdict::Ended,
        Some(stat)
            if holder.stamp != 0 && !same_birth(stat.start & START, holder.stamp & START) =>
        {
            Verdict::Ended
        }
        Some(_) => Verdict::Alive,
        // Gone between the two questions.
        None if matches!(test_kill_process(pid), Err(Errno::SRCH)) => Verdict::Ended,
        None => Verdict::Alive,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{me, Identity, Verdict};
    use super::{read_stat, same_birth, tag_of, verdict, START};

    #[test]
    fn own_stamp_and_close_readings_match() {
        let me = me();
        let stat = read_stat(me.token & super::TID).unwrap();
        assert!(same_birth(stat.start & START, me.stamp & START));
        assert_eq!(verdict(me, me, false), Verdict::Alive);
        assert!(same_birth(1000, 1001) && same_birth(1001, 1000) && same_birth(START, 3));
        assert!(!same_birth(1000, 2000));
    }

    #[test]
    fn another_namespace_is_never_judged() {
        let me = me();
        // The same thread id, in a namespace whose tag differs in either half.
        let low = Identity {
            token: me.token ^ (1 << 22),
            stamp: me.stamp,
        };
        let high = Identity {
            token: me.token,
            stamp: me.stamp ^ (1 << 24),
        };
        assert_eq!(verdict(low, me, true), Verdict::Unknown);
        assert_eq!(verdict(high, me, true), Verdict::Unknown);
        // A thread id nobody has, in this namespace: ended.
        let nobody = Identity {
            token: (me.token & !super::TID) | 0x3f_fff0,
            stamp: me.stamp,
        };
        assert_eq!(verdict(nobody, me, false), Verdict::Ended);
        assert_eq!(tag_of(me.token, 0).1, None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_process_is_its_main_thread_from_any_thread() {
        // Tests run on threads of their own: this one is not the main thread.
        let process = super::process_identity().expect("Linux with /proc");
        let thread = me();
        assert_eq!(process.token & super::TID, std::process::id());
        assert_ne!(process.token, thread.token);
        assert_eq!(
            tag_of(process.token, process.stamp),
            tag_of(thread.token, thread.stamp)
        );
        let other = std::thread::spawn(super::process_identity).join().unwrap();
        assert_eq!(other, Some(process));
        assert_eq!(verdict(process, thread, true), Verdict::Alive);
    }
}
