//! Copies in and out of a [`Map`]: `read()` and `write()` (the refused-Buffer mode's only way to
//! the bytes), bounds-checked, through the pages or, where that is cheaper and says the same,
//! through the file (`io.rs`).
//!
//! # Safety
//! As in `map.rs`: the pages are reached only through raw pointers derived from
//! [`Map::as_ptr`], after a bounds check against `len`; the copies use `ptr::copy`, which
//! allows the source and the target to overlap (a JavaScript view of this very mapping).

use std::fs;
use std::sync::atomic::Ordering::Relaxed;

use crate::error::{Error, Result};
use crate::io::{self, LARGE};
use crate::map::{Backing, Map};
use crate::options::{Kind, Mode};
use crate::sigbus::Registration;

impl Map {
    /// Copies `min(target.len(), len - position)` bytes from `position` into `target`; returns
    /// the count (0 at or past the end).
    pub fn read(&self, position: u64, target: &mut [u8]) -> usize {
        // SAFETY: a slice is valid for writes of its whole length.
        unsafe { self.copy_out(position, target.as_mut_ptr(), target.len()) }
    }

    /// Like [`Map::read`], into raw memory that may overlap this mapping (a JavaScript view of
    /// it, say), where no Rust reference may be formed.
    ///
    /// # Safety
    /// `target` must be valid for writes of `capacity` bytes.
    pub unsafe fn copy_out(&self, position: u64, target: *mut u8, capacity: usize) -> usize {
        let Some(start) = usize::try_from(position).ok().filter(|&p| p < self.len) else {
            return 0;
        };
        let count = capacity.min(self.len - start);
        if let Some(file) = self.through_file(target, count) {
            // SAFETY: the caller vouches for `target..target + capacity`, and `count <=
            // capacity`; `through_file` checked that it does not overlap this mapping.
            let read = unsafe { io::read_at(file, target, count, self.offset + start as u64) };
            if read.is_ok_and(|read| read == count) {
                return count;
            }
            // The file ends early (cut short: the pages read as the guard's zeros) or the read
            // failed: copy through the pages, as always.
        }
        if count > 0 {
            // SAFETY: `start + count <= self.len`, so the source lies inside the live mapping
            // (a non-empty one, since start < len); the caller vouches for the target, which is
            // non-null since `count > 0` (a zero-length target may be a null pointer, which
            // `ptr::copy` does not allow even for 0 bytes). `ptr::copy` allows overlap.
            unsafe { std::ptr::copy(self.as_ptr().as_ptr().add(start), target, count) };
        }
        count
    }

    /// Copies all of `source` to `position`, or nothing if it does not fit.
    pub fn write(&self, position: u64, source: &[u8]) -> Result<()> {
        // SAFETY: a slice is valid for reads of its whole length.
        unsafe { self.copy_in(position, source.as_ptr(), source.len()) }
    }

    /// Like [`Map::write`], from raw memory that may overlap this mapping.
    ///
    /// # Safety
    /// `source` must be valid for reads of `count` bytes.
    pub unsafe fn copy_in(&self, position: u64, source: *const u8, count: usize) -> Result<()> {
        if !self.mode.is_writable() {
            return Err(Error::ReadOnly);
        }
        let fits = position
            .checked_add(count as u64)
            .is_some_and(|end| end <= self.len as u64);
        if !fits {
            return Err(Error::OutOfRange(format!(
                "{count} bytes at position {position} do not fit in a mapping of {} bytes",
                self.len
            )));
        }
        if let Some(file) = self.through_file(source, count) {
            // Only inside the file's length now: a file cut short under the mapping must not
            // grow back through this write (the pages past its end read as zeros and a flush
            // reports them lost).
            let at = self.offset + position;
            let inside = file
                .metadata()
                .is_ok_and(|meta| meta.len() >= at + count as u64);
            // SAFETY: the caller vouches for the source; `through_file` checked that it does not
            // overlap this mapping.
            if inside && unsafe { io::write_at(file, source, count, at) }.is_ok() {
                return Ok(());
            }
            // A failed or partial write (ENOSPC, EIO) is written again through the pages, whose
            // loss a flush reports, as for any write to the mapping.
        }
        if count > 0 {
            // SAFETY: `position + count <= self.len` was checked above (so the mapping is not
            // empty), its pages are writable (shared or anonymous: mode is not 'r'), and the
            // caller vouches for the source. `ptr::copy` allows the two to overlap.
            unsafe { std::ptr::copy(source, self.as_ptr().as_ptr().add(position as usize), count) };
        }
        Ok(())
    }

    /// The descriptor a copy of `count` bytes to or from `memory` may go through instead of the
    /// pages (see `io.rs`), or `None`: copy through the pages.
    fn through_file(&self, memory: *const u8, count: usize) -> Option<&fs::File> {
        // 'c': written pages no longer equal the file, and writes must never reach it.
        if !cfg!(unix) || count == 0 || self.mode == Mode::Private {
            return None;
        }
        let file = match (&self.backing, &self.io.reader) {
            // Shared pages are the page cache itself.
            (Backing::File(file), _) if self.kind == Kind::File => file,
            // Private pages equal the file until JavaScript writes one, through a Buffer.
            (_, Some(reader)) if !self.is_exposed() => &reader.0,
            (Backing::Descriptor(file), _) if !self.is_exposed() => file,
            _ => return None,
        };
        if self.io.touched.load(Relaxed) && count < LARGE {
            return None;
        }
        // Pages the guard replaced no longer follow the file.
        if self.sigbus.as_ref().is_some_and(Registration::lost_pages) {
            return None;
        }
        // The kernel copies forward: a range inside this very mapping goes through the pages,
        // where `ptr::copy` allows the overlap.
        let (base, memory) = (self.base().as_ptr() as usize, memory as usize);
        if memory < base + self.len && base < memory.saturating_add(count) {
            return None;
        }
        Some(file)
    }
}
