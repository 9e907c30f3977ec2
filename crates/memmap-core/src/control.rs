//! Memory control: advice, locking, residency and prefetching over a range of a mapping.
//!
//! Ranges arrive clamped the way `Buffer#subarray` clamps them and are rounded outward to whole
//! pages here, the library's business rather than the caller's.
//!
//! # Safety
//! Every OS call here gets its range from [`Map::pages`]: whole pages inside the live mapping.
//! A mapping at an unaligned file offset begins inside its first page, but the OS mapped that
//! page whole (memmap2 maps from the page-aligned offset below), and the last page is mapped
//! whole too, so the rounded range never reaches memory this mapping does not own.

use crate::error::{Error, Result};
use crate::map::Map;
use crate::os;
pub use crate::os::Advice;
use crate::range::page_range;

/// What `residency()` reports: the pages that overlap the range and how many are in RAM.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Residency {
    /// Pages overlapping the range.
    pub pages: usize,
    /// Those of them that are resident.
    pub resident: usize,
}

impl Map {
    /// Passes `advice` for `[start, end)`, rounded outward to pages, to the OS. Returns `false`
    /// where the OS has no such advice (or declines it for these pages): it is a hint.
    pub fn advise(&self, advice: Advice, start: usize, end: usize) -> Result<bool> {
        let Some((addr, len)) = self.pages(start, end)? else {
            return Ok(os::has_advice(advice));
        };
        // SAFETY: `pages` gives whole pages of this live mapping.
        unsafe { os::advise(addr, len, advice) }
            .map_err(|e| Error::os(e, os::SYSCALL_ADVISE, self.path()))
    }

    /// Locks the pages of `[start, end)` in RAM. A resource limit is [`Error::LockLimit`], whose
    /// message says which limit to raise.
    pub fn lock(&self, start: usize, end: usize) -> Result<()> {
        let Some((addr, len)) = self.pages(start, end)? else {
            return Ok(());
        };
        // Private copies of a file's pages ('r', 'c') are locked without being copied.
        let private = !self.mode.is_shared();
        // SAFETY: `pages` gives whole pages of this live mapping.
        unsafe { os::lock(addr, len, private) }.map_err(|source| {
            if os::is_lock_limit(&source) {
                Error::LockLimit {
                    source,
                    syscall: os::SYSCALL_LOCK,
                    path: self.path.clone(),
                    bytes: len,
                }
            } else {
                Error::os(source, os::SYSCALL_LOCK, self.path())
            }
        })
    }

    /// Unlocks the pages of `[start, end)`; unlocking pages that are not locked is no error.
    pub fn unlock(&self, start: usize, end: usize) -> Result<()> {
        let Some((addr, len)) = self.pages(start, end)? else {
            return Ok(());
        };
        // SAFETY: `pages` gives whole pages of this live mapping.
        unsafe { os::unlock(addr, len) }.map_err(|e| Error::os(e, os::SYSCALL_UNLOCK, self.path()))
    }

    /// Counts the pages overlapping `[start, end)` and those of them in RAM.
    pub fn residency(&self, start: usize, end: usize) -> Result<Residency> {
        let Some((addr, len)) = self.pages(start, end)? else {
            return Ok(Residency::default());
        };
        // SAFETY: `pages` gives whole pages of this live mapping.
        let resident = unsafe { os::resident_pages(addr, len) }
            .map_err(|e| Error::os(e, os::SYSCALL_RESIDENCY, self.path()))?;
        Ok(Residency {
            pages: len / os::page_size(),
            resident,
        })
    }

    /// Faults the pages of `[start, end)` in and returns when they are resident. Blocks: the
    /// binding runs it on a thread-pool thread. Private pages are read, never copied.
    pub fn prefetch(&self, start: usize, end: usize) -> Result<()> {
        let Some((addr, len)) = self.pages(start, end)? else {
            return Ok(());
        };
        // SAFETY: `pages` gives whole pages of this live mapping.
        unsafe { os::prefetch(addr, len) }
            .map_err(|e| Error::os(e, os::SYSCALL_PREFETCH, self.path()))
    }

    /// Faults every page in writable: `populate` for anonymous memory, which has nothing to read.
    pub(crate) fn populate_write(&self) {
        if let Ok(Some((addr, len))) = self.pages(0, self.len) {
            // SAFETY: whole pages of this live mapping, which the caller (`anonymous`) has just
            // made and handed to no one, and whose pages are writable.
            unsafe { os::populate_write(addr, len) };
        }
    }

    /// `[start, end)` (checked) rounded outward to whole pages: the first page's address and the
    /// length in bytes, or `None` when there is nothing to act on.
    pub(crate) fn pages(&self, start: usize, end: usize) -> Result<Option<(*mut u8, usize)>> {
        self.check_range(start, end)?;
        if self.region.is_none() || start == end {
            return Ok(None);
        }
        let base = self.as_ptr().as_ptr();
        let (offset, len) = page_range(base as usize, start, end, os::page_size());
        // The offset is at most one page back, to the start of the page that holds `base`, which
        // the OS mapped whole; `wrapping_offset` since that byte precedes the caller's range.
        Ok(Some((base.wrapping_offset(offset), len)))
    }
}
