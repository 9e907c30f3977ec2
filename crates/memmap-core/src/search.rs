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
            self.find_forward(needle, start, self.len, false, stop)
        } else {
            self.find_backward(needle, 0, start.min(last), false, stop)
        }
    }

    /// [`Map::search`] as `Buffer#indexOf` answers for the UTF-16 encodings (`'ucs2'`,
    /// `'utf16le'`): in 16-bit code units, so only at even offsets, over the mapping's whole
    /// units, with a needle of whole units (a trailing odd byte of a Buffer needle is dropped, as
    /// Node does). `string`: the needle came from a string, for which Node also counts where
    /// the search starts (and an empty needle's answer) in the mapping's whole units; for bytes
    /// it counts them in the mapping's length.
    pub fn search_utf16(
        &self,
        needle: &[u8],
        offset: i64,
        direction: Direction,
        string: bool,
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<usize>> {
        let forward = direction == Direction::Forward;
        let len = if string { self.len / 2 * 2 } else { self.len };
        let Some(start) = start_of(len, needle.len(), offset, forward) else {
            return Ok(None);
        };
        if needle.is_empty() {
            return Ok(Some(start));
        }
        if self.len < 2 || needle.len() < 2 || needle.len() > self.len {
            return Ok(None);
        }
        // Node checks that the needle fits after the start before it rounds the start down to a
        // whole unit (`IndexOfString`/`IndexOfBuffer`): a negative offset can leave it odd.
        if forward && start + needle.len() > len {
            return Ok(None);
        }
        let needle = &needle[..needle.len() / 2 * 2];
        let whole = self.len / 2 * 2;
        let last = whole - needle.len();
        let first = start / 2 * 2;
        if forward {
            if first > last {
                return Ok(None);
            }
            self.find_forward(needle, first, self.len, true, stop)
        } else {
            self.find_backward(needle, 0, first.min(last), true, stop)
        }
    }

    /// The first match that starts at `from` or later and ends by `end` (at most the length).
    /// `even`: only matches at even offsets count.
    fn find_forward(
        &self,
        needle: &[u8],
        from: usize,
        end: usize,
        even: bool,
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<usize>> {
        let finder = Finder::new(needle);
        let overlap = needle.len() - 1;
        let mut scratch = Vec::new();
        let mut at = from;
        while at + needle.len() <= end {
            if at != from && stop() {
                return Err(Error::Closed);
            }
            let to = (at + CHUNK + overlap).min(end);
            let chunk = self.copy_range(at, to, &mut scratch);
            let mut within = 0;
            while let Some(found) = finder.find(&chunk[within..]) {
                let found = within + found;
                if !even || (at + found).is_multiple_of(2) {
                    return Ok(Some(at + found));
                }
                within = found + 1;
            }
            at += CHUNK;
        }
        Ok(None)
    }

    /// The last match starting in `[first, last]` (its end inside the mapping).
    /// `even`: only matches at even offsets count.
    fn find_backward(
        &self,
        needle: &[u8],
        first: usize,
        last: usize,
        even: bool,
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<usize>> {
        let finder = FinderRev::new(needle);
        // memchr's reverse searcher has no SIMD prefilter; the forward one does. A chunk without
        // a match (the common case) is passed over at forward speed, and only the chunk that has
        // one is searched backward for the last.
        let any = Finder::new(needle);
        let mut scratch = Vec::new();
        // Starts in `[low, high)` are searched per round, reading `[low, high + len - 1)`.
        let mut high = last + 1;
        while high > first {
            if high != last + 1 && stop() {
                return Err(Error::Closed);
            }
            let low = high.saturating_sub(CHUNK).max(first);
            let chunk = self.copy_range(low, high + needle.len() - 1, &mut scratch);
            if any.find(chunk).is_none() {
                high = low;
                continue;
            }
            let mut within = chunk.len();
            while let Some(found) = finder.rfind(&chunk[..within]) {
                if !even || (low + found).is_multiple_of(2) {
                    return Ok(Some(low + found));
                }
                // Next, the matches that start before this one.
                within = found + needle.len() - 1;
            }
            high = low;
        }
        Ok(None)
    }

    /// Where `needle` occurs wholly inside `[start, end)` (clamped to the mapping): the first
    /// match (`Forward`) or the last (`Backward`); an empty needle is found at `start`
    /// (`Backward`: at `end`). `even`: only matches at even offsets count (the UTF-16 searches).
    /// Python's `find(sub, start, end)` and `rfind`; `stop` as for [`Map::search`].
    pub fn search_range(
        &self,
        needle: &[u8],
        start: usize,
        end: usize,
        direction: Direction,
        even: bool,
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<usize>> {
        let end = end.min(self.len);
        if start > end {
            return Ok(None);
        }
        if needle.is_empty() {
            return Ok(Some(if direction == Direction::Forward {
                start
            } else {
                end
            }));
        }
        if end - start < needle.len() {
            return Ok(None);
        }
        match direction {
            Direction::Forward => self.find_forward(needle, start, end, even, stop),
            Direction::Backward => {
                self.find_backward(needle, start, end - needle.len(), even, stop)
            }
        }
    }

    /// The starts of the successive, non-overlapping occurrences of `separator` from `from` up
    /// to `to` (clamped to the mapping), in order, handed to `found` until it returns `false`
    /// (its batch is full); returns how many it took. `lines()` cuts records at them: a batch
    /// per call, so that a record costs no call of its own.
    pub fn separators(
        &self,
        separator: &[u8],
        from: usize,
        to: usize,
        found: &mut dyn FnMut(usize) -> bool,
    ) -> Result<usize> {
        if separator.is_empty() {
            return Err(Error::InvalidArgument("an empty separator".into()));
        }
        let to = to.min(self.len);
        let width = separator.len();
        let finder = Finder::new(separator);
        let mut scratch = Vec::new();
        let mut count = 0;
        let mut at = from;
        while at + width <= to {
            // Starts in `[at, at + CHUNK)`, read with the bytes a match there may run into.
            let end = (at + CHUNK + width - 1).min(to);
            let chunk = self.copy_range(at, end, &mut scratch);
            let mut within = 0;
            if let [byte] = *separator {
                // One byte (a newline): memchr's iterator, which finds many per vector load.
                for next in memchr::memchr_iter(byte, chunk) {
                    if !found(at + next) {
                        return Ok(count);
                    }
                    count += 1;
                }
                within = chunk.len();
            } else {
                while let Some(next) = finder.find(&chunk[within..]) {
                    if !found(at + within + next) {
                        return Ok(count);
                    }
                    count += 1;
                    within += next + width;
                }
            }
            // A match that ran past the seam is not looked into again.
            at = (at + CHUNK).max(at + within);
        }
        Ok(count)
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
