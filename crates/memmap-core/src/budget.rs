//! A cap on live mappings, so that mappings nobody closed cannot exhaust the process's map
//! regions and take V8 down with them.
//!
//! Linux gives a process at most `vm.max_map_count` (65,530 by default) map regions. Mappings
//! that are dropped without `close()` are released only when V8 collects them, and Node.js runs
//! those finalizers after the current task: a synchronous loop of opens reaches the limit, after
//! which V8's own allocations fail and the process aborts (mmap-io dies this way at 64,512). So
//! this library keeps half the regions for itself at most and fails the next open with a coded
//! `ENOMEM` that says what to do, leaving the rest for V8 and everything else.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use crate::error::{Error, Result};

static LIVE: AtomicUsize = AtomicUsize::new(0);

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
        if LIVE.fetch_add(count, Ordering::AcqRel) + count > limit {
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
