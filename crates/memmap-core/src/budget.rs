//! A cap on live mappings, so that mappings nobody closed cannot exhaust the process's map
//! regions and take V8 down with them.
//!
//! Linux gives a process at most `vm.max_map_count` (65,530 by default) map regions. Mappings
//! that are dropped without `close()` are released only when V8 collects them, and Node.js runs
//! those finalizers after the current task: a synchronous loop of opens reaches the limit, after
//! which V8's own allocations fail and the process aborts (mmap-io dies this way at 64,512). So
//! this library keeps half the regions for itself at most and fails the next open with a coded
//! `ENOMEM` that says what to do, leaving the rest for V8 and everything else.
//!
//! Retired regions (`retire.rs`: closed pages kept as zero pages until V8 collects the Buffers
//! over them) take regions too, but neighbours merge into one, and how many actually remain
//! depends on what else the allocator put between them: with glibc, 70,000 synchronous
//! open/close cycles leave about 30 regions; with musl, whose allocator maps its own small
//! regions in between, about 6,500. So they are not counted one by one: once there could be more
//! of them than the cap allows, the process's real count is read (`/proc/self/maps`) and an open
//! fails only if that leaves less than a quarter of `vm.max_map_count` for everything else.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use crate::error::{Error, Result};

static LIVE: AtomicUsize = AtomicUsize::new(0);
/// Retired regions alive, and how many of them the last real count covered.
static RETIRED: AtomicUsize = AtomicUsize::new(0);
static MEASURED: AtomicUsize = AtomicUsize::new(0);
/// The address space the retired regions hold.
static RETIRED_BYTES: AtomicUsize = AtomicUsize::new(0);

/// A region of `bytes` was retired (`retire.rs`).
#[cfg_attr(
    windows,
    allow(dead_code, reason = "Windows keeps retired views as they are")
)]
pub(crate) fn retired(bytes: usize) {
    RETIRED.fetch_add(1, Ordering::AcqRel);
    RETIRED_BYTES.fetch_add(bytes, Ordering::AcqRel);
}

/// A retired region of `bytes` was unmapped.
#[cfg_attr(
    windows,
    allow(dead_code, reason = "Windows keeps retired views as they are")
)]
pub(crate) fn buried(bytes: usize) {
    RETIRED.fetch_sub(1, Ordering::AcqRel);
    RETIRED_BYTES.fetch_sub(bytes, Ordering::AcqRel);
    // Keep the measured share no larger than what is left.
    let _ = MEASURED.fetch_update(Ordering::AcqRel, Ordering::Acquire, |measured| {
        Some(measured.min(RETIRED.load(Ordering::Acquire)))
    });
}

/// Whether the map regions the process really holds (read from `/proc/self/maps`) leave room
/// for `count` more and a quarter of `vm.max_map_count` for everything else. Called only when
/// the retired regions not yet measured could exceed the cap.
fn room_for(count: usize, limit: usize) -> bool {
    let retired = RETIRED.load(Ordering::Acquire);
    let Ok(maps) = std::fs::read("/proc/self/maps") else {
        return true;
    };
    let regions = maps.iter().filter(|&&b| b == b'\n').count();
    let max = limit.saturating_mul(2);
    if regions + count > max - max / 4 {
        return false;
    }
    MEASURED.store(retired, Ordering::Release);
    true
}

/// The map regions held against the budget now (live mappings, waiting threads' stacks) and the
/// retired regions (which neighbours may have merged, so an upper bound), and the bytes the
/// retired ones hold: three loads, no system call.
pub(crate) fn held() -> (usize, usize) {
    (
        LIVE.load(Ordering::Acquire) + RETIRED.load(Ordering::Acquire),
        RETIRED_BYTES.load(Ordering::Acquire),
    )
}

/// The most live mappings this process may hold.
pub fn limit() -> usize {
    static LIMIT: OnceLock<usize> = OnceLock::new();
    *LIMIT.get_or_init(|| {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            std::fs::read_to_string("/proc/sys/vm/max_map_count")
                .ok()
                .and_then(|text| text.trim().parse::<usize>().ok())
                .map_or(65_530 / 2, |max| max / 2)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            usize::MAX
        }
    })
}

/// Map regions held against the budget (one for a mapping, two for a thread's stack and its
/// guard page), returned on drop.
#[derive(Debug)]
pub struct Reservation(usize);

/// The map regions a waiting thread takes: its stack and the guard page below it.
pub const THREAD_REGIONS: usize = 2;

impl Reservation {
    /// Takes one mapping's share, or fails with [`Error::TooManyMappings`] naming `path`.
    pub fn take(path: Option<&str>) -> Result<Reservation> {
        Reservation::take_regions(1, path)
    }

    /// Takes `count` regions, or fails with [`Error::TooManyMappings`] naming `path`.
    pub fn take_regions(count: usize, path: Option<&str>) -> Result<Reservation> {
        let limit = limit();
        let live = LIVE.fetch_add(count, Ordering::AcqRel) + count;
        let unmeasured = RETIRED
            .load(Ordering::Acquire)
            .saturating_sub(MEASURED.load(Ordering::Acquire));
        if live > limit || (live + unmeasured > limit && !room_for(count, limit)) {
            LIVE.fetch_sub(count, Ordering::AcqRel);
            return Err(Error::TooManyMappings {
                limit,
                path: path.map(str::to_owned),
            });
        }
        Ok(Reservation(count))
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        LIVE.fetch_sub(self.0, Ordering::AcqRel);
    }
}
