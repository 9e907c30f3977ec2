//! Searching a mapping for bytes: `indexOf`, `lastIndexOf` and `includes` with
//! `Buffer#indexOf`'s rules, over the whole mapping (past what one Buffer can cover, and where
//! zero-copy Buffers are refused).
//!
//! The pages are copied a chunk at a time into memory of our own, and the chunk is searched
//! there with `memchr`'s SIMD searchers: the pages are never borrowed as a Rust slice (other
//! threads and processes may write them meanwhile; see [`Map`]). A chunk fits in the L2 cache,
//! so the copy costs far less than reading the pages from memory does, which both ways pay.
//! Consecutive chunks overlap by `needle.len() - 1` bytes, so no match straddles a seam.
//!
//! # Safety
//! Each copy reads a range checked against the live mapping's length into a buffer of at
//! least that length.

use memchr::memmem::{Finder, FinderRev};

use crate::error::{Error, Result};
use crate::map::Map;

/// Bytes searched per copy: small enough to stay in the L2 cache, large enough that a call per
/// chunk is noise.
const CHUNK: usize = 128 * 1024;

/// Which way a search goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `indexOf`: the first match at or after the offset.
    Forward,
    /// `lastIndexOf`: the last match that starts at or before the offset.
    Backward,
}

impl Map {
    /// Where `needle` occurs, as `Buffer#indexOf` (`Forward`) or `Buffer#lastIndexOf`
    /// (`Backward`) would answer over the same bytes given `offset`: negative counts from the
    /// end; an empty needle is found at the clamped offset. `stop` is asked between chunks; when
    /// it says so the search ends with [`Error::Closed`] (a mapping closing under a search that
    /// runs off the JavaScript thread).
    pub fn search(
        &self,
        needle: &[u8],
        offset: i64,
        direction: Direction,
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<usize>> {
        let forward = direction == Direction::Forward;
        let Some(start) = start_of(self.len, needle.len(), offset, forward) else {
            return Ok(None);
        };
        if needle.is_empty() {
            return Ok(Some(start));
        }
        if self.len < needle.len() {
            return Ok(None);
        }
        let last = self.len - needle.len();
        if forward {
            if start > last {
                return Ok(None);
            }
            self.find_forward(needle, start, stop)
        } else {
            self.find_backward(needle, start.min(last), stop)
        }
    }

    /// The first match starting in `[from, len - needle.len()]`.
    fn find_forward(
        &self,
        needle: &[u8],
        from: usize,
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<usize>> {
        let finder = Finder::new(needle);
        let overlap = needle.len() - 1;
        let mut scratch = Vec::new();
        let mut at = from;
        while at + needle.len() <= self.len {
            if at != from && stop() {
                return Err(Error::Closed);
            }
            let end = (at + CHUNK + overlap).min(self.len);
            let chunk = self.copy_range(at, end, &mut scratch);
            if let Some(found) = finder.find(chunk) {
                return Ok(Some(at + found));
            }
            at += CHUNK;
        }
        Ok(None)
    }

    /// The last match starting in `[0, last]`.
    fn find_backward(
        &self,
        needle: &[u8],
        last: usize,
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<usize>> {
        let finder = FinderRev::new(needle);
        let mut scratch = Vec::new();
        // Starts in `[low, high)` are searched per round, reading `[low, high + len - 1)`.
        let mut high = last + 1;
        while high > 0 {
            if high != last + 1 && stop() {
                return Err(Error::Closed);
            }
            let low = high.saturating_sub(CHUNK);
            let chunk = self.copy_range(low, high + needle.len() - 1, &mut scratch);
            if let Some(found) = finder.rfind(chunk) {
                return Ok(Some(low + found));
            }
            high = low;
        }
        Ok(None)
    }

    /// Copies `[start, end)` of the pages into `scratch` and returns it.
    fn copy_range<'a>(&self, start: usize, end: usize, scratch: &'a mut Vec<u8>) -> &'a [u8] {
        debug_assert!(start < end && end <= self.len);
        scratch.resize(end - start, 0);
        // SAFETY: `start < end <= self.len`, so the source lies inside the live (non-empty)
        // mapping; `scratch` holds `end - start` bytes of our own, which the pages cannot
        // overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.as_ptr().as_ptr().add(start),
                scratch.as_mut_ptr(),
                end - start,
            );
        }
        scratch
    }
}

/// Node's rule for where a search starts (`IndexOfOffset` in `node_buffer.cc`), for a mapping
/// of `len` bytes and a needle of `needle` bytes; `None`: nothing can match.
fn start_of(len: usize, needle: usize, offset: i64, forward: bool) -> Option<usize> {
    let (len, needle) = (len as i128, needle as i128);
    let offset = i128::from(offset);
    let start = if offset < 0 {
        if offset + len >= 0 {
            len + offset
        } else if forward || needle == 0 {
            0
        } else {
            return None;
        }
    } else if offset + needle <= len {
        offset
    } else if needle == 0 {
        len
    } else if forward {
        return None;
    } else {
        len - 1
    };
    usize::try_from(start).ok()
}

#[cfg(test)]
mod tests {
    use super::start_of;

    #[test]
    fn starts_where_node_starts() {
        assert_eq!(start_of(10, 2, 0, true), Some(0));
        assert_eq!(start_of(10, 2, -3, true), Some(7));
        assert_eq!(start_of(10, 2, -30, true), Some(0));
        assert_eq!(start_of(10, 2, -30, false), None);
        assert_eq!(start_of(10, 2, 9, true), None);
        assert_eq!(start_of(10, 2, 9, false), Some(9));
        assert_eq!(start_of(10, 0, 99, true), Some(10));
        assert_eq!(start_of(0, 1, 0, false), None);
    }
}
