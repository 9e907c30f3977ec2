//! Pages that were handed to JavaScript are never unmapped while JavaScript could still reach
//! them.
//!
//! `close()` and `resize()` detach every Buffer the binding made, but detaching is not enough:
//! - `ArrayBuffer#transfer()` moves the backing store into an ArrayBuffer the binding never saw,
//!   which keeps the same address and is not detached;
//! - a native job (zlib, crypto, fs on the libuv pool) reads or writes through the raw pointer it
//!   took when it started, whatever happens to the ArrayBuffer afterwards.
//!
//! So a region over which any Buffer was made is *retired*, not unmapped: its pages are replaced
//! in place by private zero pages, and the address range goes back to the OS only once nothing in
//! JavaScript can reach it any more.
//!
//! # Safety: why no address handed to JavaScript ever faults
//! An address handed to JavaScript lies in a region for which [`Map::expose`] was called. That
//! region stays mapped, readable and writable, until the last [`Exposed`] of it is dropped:
//! - while the `Map` holds it, the region is the mapping itself;
//! - once retired, it is a [`Tombstone`]: the same addresses, replaced with `MAP_FIXED` by
//!   anonymous zero pages in one `mmap` call (atomic for every other thread: there is no instant
//!   at which the range is unmapped), or, if that call fails, the region itself, kept mapped.
//!
//! The binding gives every external ArrayBuffer it makes two owners of an [`Exposed`]: the
//! backing store's finalizer, which V8 runs only when no ArrayBuffer holds the backing store
//! (a transferred one included), and a finalizer on the ArrayBuffer object, which runs only when
//! the object is collected. Node's native jobs hold the Buffer (or its ArrayBuffer) object for as
//! long as they use its memory, as they must, since the garbage collector would otherwise free an
//! ordinary Buffer under them. Hence the tombstone is dropped (unmapped) only after every
//! ArrayBuffer and every job that could use one of its addresses is gone.
//!
//! Late readers of a retired region read zeros; late writers write into memory nobody else sees.
//!
//! A large region keeps only the pages a Buffer covered. Each [`Map::expose`] records its page
//! range (a short sorted list; past [`MAX_RANGES`] the closest neighbours are joined, which only
//! retires more). When what no Buffer covered is at least [`PARTIAL_FROM`] bytes, only the covered
//! pages are retired and the rest is unmapped at once ([`Gaps`]), since no address in it was ever
//! handed out: a 1 GiB file read through two 1-byte views keeps two pages of address space after
//! `close()`, not 1 GiB, which matters most to 32-bit processes (3 GiB in all) and to
//! `usage().retiredBytes`. Below that, the whole region is replaced in one call: each piece and
//! each gap is a system call that splits the kernel's region, and measured here (Linux 6, x86_64)
//! one `mmap(MAP_FIXED)` over a 64 KiB region costs less than two calls over its parts (the
//! open + view + close cycle of a 64 KiB file was 20% slower when split). The gaps are unmapped
//! only after the truncation guard has forgotten the region ([`Gaps`]), as any unmapping must be.
//!
//! **Windows is not covered.** A view there cannot be swapped for other memory without a moment
//! in which its range is unmapped (`VirtualAlloc2` placeholders narrow that moment but keep it),
//! and keeping the view mapped until the Buffers are collected keeps the file in use: it could
//! not be shrunk, rewritten or deleted after `close()`, which ordinary programs do. So Windows
//! unmaps at `close()`/`resize()` as before, and a transferred ArrayBuffer or a pool job still
//! running there can fault (README, Safety).

#![cfg_attr(
    windows,
    allow(
        dead_code,
        reason = "Windows unmaps at once: nothing is ever buried there"
    )
)]

use std::sync::{Arc, Mutex};

use memmap2::MmapMut;

/// The regions, once retired, that Buffers over one generation of a mapping's pages may still
/// reach. Dropped, and its tombstones unmapped, with the last [`Exposed`].
#[derive(Debug, Default)]
struct Generation {
    tombstones: Mutex<Vec<Tombstone>>,
    /// The page ranges Buffers were made over: sorted, disjoint `[start, end)` addresses, at
    /// most [`MAX_RANGES`] of them.
    pages: Mutex<Vec<(usize, usize)>>,
}

/// The most page ranges a generation records; one more joins the two closest. It bounds the
/// system calls of a retirement (one per range, one per gap between them) and the work of a
/// view (a scan of this list under a lock nobody else holds in the usual case).
pub(crate) const MAX_RANGES: usize = 16;

/// How many uncovered bytes make a retirement keep only the covered pages (module documentation).
pub(crate) const PARTIAL_FROM: usize = 64 << 20;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A claim on one generation of a mapping's pages: while any clone lives, those pages (or their
/// tombstone) stay mapped. The binding keeps one per ArrayBuffer finalizer.
#[derive(Clone, Debug, Default)]
pub struct Exposed(Arc<Generation>);

impl Exposed {
    /// Keeps `tombstone` until the last claim on this generation is dropped.
    fn bury(&self, tombstone: Tombstone) {
        lock(&self.0.tombstones).push(tombstone);
    }

    /// Records that the addresses `[start, end)` are handed to JavaScript: the pages holding
    /// them are retired, not unmapped, when the region is given up.
    pub(crate) fn cover(&self, start: usize, end: usize) {
        if start == end {
            return; // An empty Buffer reaches no byte.
        }
        let page = crate::os::page_size();
        let (mut from, mut to) = (start & !(page - 1), (end + page - 1) & !(page - 1));
        let mut pages = lock(&self.0.pages);
        // The ranges that touch [from, to) are pages[at..until]: joined into one.
        let at = pages.partition_point(|&(_, range_end)| range_end < from);
        let mut until = at;
        while until < pages.len() && pages[until].0 <= to {
            from = from.min(pages[until].0);
            to = to.max(pages[until].1);
            until += 1;
        }
        pages.splice(at..until, [(from, to)]);
        if pages.len() > MAX_RANGES {
            let closest = (0..pages.len() - 1)
                .min_by_key(|&i| pages[i + 1].0 - pages[i].1)
                .unwrap_or(0);
            pages[closest].1 = pages[closest + 1].1;
            pages.remove(closest + 1);
        }
    }

    fn pages(&self) -> Vec<(usize, usize)> {
        lock(&self.0.pages).clone()
    }
}

/// The parts of a retired region that no Buffer covered, unmapped when this is dropped. The
/// owner drops it only once the truncation guard no longer lists the region: an address the
/// guard lists must stay ours, or it could mend a page someone else maps there next.
#[derive(Debug, Default)]
#[must_use = "dropping unmaps the gaps: do it after the truncation guard forgot them"]
pub(crate) struct Gaps(Vec<(usize, usize)>);

impl Gaps {
    /// Takes `other`'s gaps too.
    pub(crate) fn extend(&mut self, mut other: Gaps) {
        self.0.append(&mut other.0);
    }
}

impl Drop for Gaps {
    fn drop(&mut self) {
        for &(start, end) in &self.0 {
            // SAFETY: `[start, end)` is a part of a region this value alone owns (`tombstone`
            // forgot the region): no Buffer was made over it and no Rust value reaches it.
            #[cfg(unix)]
            unsafe {
                libc::munmap(start as *mut libc::c_void, end - start)
            };
            #[cfg(not(unix))]
            let _ = (start, end);
        }
    }
}

/// A retired region, unmapped when dropped.
#[derive(Debug)]
#[cfg_attr(
    windows,
    allow(dead_code, reason = "Windows unmaps at once (module documentation)")
)]
enum Tombstone {
    /// The page ranges `[start, end)` a Buffer covered, now anonymous zero pages that this value
    /// owns.
    #[cfg(unix)]
    Zeroed(Vec<(usize, usize)>),
    /// The region itself, left mapped where the replacement failed.
    Kept(#[allow(dead_code, reason = "held only to be dropped later")] MmapMut),
}

#[cfg(unix)]
impl Drop for Tombstone {
    fn drop(&mut self) {
        match self {
            Tombstone::Zeroed(ranges) => {
                for &(start, end) in ranges.iter() {
                    // SAFETY: `[start, end)` are pages this tombstone owns (module safety
                    // paragraph): no Rust value and, by now, no JavaScript value reaches them.
                    unsafe { libc::munmap(start as *mut libc::c_void, end - start) };
                    crate::budget::buried(end - start);
                }
            }
            // Unmapped as the region drops, right after this.
            Tombstone::Kept(region) => crate::budget::buried(region.len()),
        }
    }
}

/// Gives up `region`: unmapped now if `exposed` is `None` (no Buffer was ever made over it),
/// else its covered pages are retired into a tombstone that the last claim on `exposed` unmaps,
/// and the rest is returned as [`Gaps`] for the caller to drop once the truncation guard forgot
/// the region. On Windows it is unmapped now either way (see the module documentation).
pub(crate) fn release(region: MmapMut, exposed: Option<Exposed>) -> Gaps {
    match exposed {
        #[cfg(unix)]
        Some(exposed) => {
            let (tombstone, gaps) = tombstone(region, &exposed.pages());
            exposed.bury(tombstone);
            gaps
        }
        _ => {
            drop(region);
            Gaps::default()
        }
    }
}

/// Replaces the pages of `region` that `covered` lists with zero pages, in place; returns them
/// as a tombstone and the rest as gaps. If a replacement fails (out of map regions or memory),
/// the whole region is kept mapped as it is, the pieces already replaced included.
#[cfg(unix)]
fn tombstone(region: MmapMut, covered: &[(usize, usize)]) -> (Tombstone, Gaps) {
    // memmap2 maps from the page below the pointer it reports (file offsets need not be
    // aligned), and the kernel to the end of the last page.
    let page = crate::os::page_size();
    let ptr = region.as_ptr() as usize;
    let start = ptr & !(page - 1);
    let end = (ptr + region.len() + page - 1) & !(page - 1);
    #[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
    let no_reserve = libc::MAP_NORESERVE;
    #[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
    let no_reserve = 0;
    let mut pieces: Vec<(usize, usize)> = covered
        .iter()
        .map(|&(from, to)| (from.max(start), to.min(end)))
        .filter(|&(from, to)| from < to)
        .collect();
    let covered_bytes: usize = pieces.iter().map(|&(from, to)| to - from).sum();
    if (end - start) - covered_bytes < PARTIAL_FROM {
        // Cheaper in one call than in parts, and the address space kept is small.
        pieces = vec![(start, end)];
    }
    for &(from, to) in &pieces {
        // SAFETY: `[from, to)` lies in the mapping `region` owns; MAP_FIXED replaces it in one
        // call, so another thread touching it sees either the old page or a zero page, never a
        // hole.
        let replaced = unsafe {
            libc::mmap(
                from as *mut libc::c_void,
                to - from,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED | no_reserve,
                -1,
                0,
            )
        };
        if replaced == libc::MAP_FAILED {
            // Keep the pages as they are, still mapped: the region unmaps all of its range,
            // pieces replaced so far included, when the tombstone drops.
            crate::budget::retired(region.len());
            return (Tombstone::Kept(region), Gaps::default());
        }
    }
    // From here the range belongs to the tombstone (the pieces) and the gaps (the rest), and
    // `region` is forgotten so that it does not unmap it.
    std::mem::forget(region);
    let mut gaps = Vec::with_capacity(pieces.len() + 1);
    let mut at = start;
    for &(from, to) in &pieces {
        crate::budget::retired(to - from);
        if at < from {
            gaps.push((at, from));
        }
        at = to;
    }
    if at < end {
        gaps.push((at, end));
    }
    (Tombstone::Zeroed(pieces), Gaps(gaps))
}

#[cfg(test)]
mod tests {
    use super::{Exposed, MAX_RANGES};

    #[test]
    fn covered_pages_are_recorded_as_sorted_disjoint_page_ranges() {
        let page = crate::os::page_size();
        let exposed = Exposed::default();
        exposed.cover(5 * page + 1, 5 * page + 2);
        exposed.cover(page - 1, page + 1); // straddles pages 0 and 1
        exposed.cover(9 * page, 9 * page); // empty: reaches no byte
        assert_eq!(
            exposed.pages(),
            [(0, 2 * page), (5 * page, 6 * page)],
            "in order, each rounded out to whole pages"
        );
        exposed.cover(2 * page, 5 * page); // touches both neighbours: one range
        assert_eq!(exposed.pages(), [(0, 6 * page)]);
        exposed.cover(3 * page, 4 * page); // already covered
        assert_eq!(exposed.pages(), [(0, 6 * page)]);
    }

    #[test]
    fn past_the_limit_the_closest_neighbours_are_joined() {
        let page = crate::os::page_size();
        let exposed = Exposed::default();
        // One page in every four (gaps of three pages), then one more two pages after the last.
        for i in 0..MAX_RANGES {
            exposed.cover(i * 4 * page, i * 4 * page + 1);
        }
        exposed.cover(63 * page, 63 * page + 1);
        let pages = exposed.pages();
        assert_eq!(pages.len(), MAX_RANGES);
        assert_eq!(pages[0], (0, page), "{pages:?}");
        assert_eq!(pages[MAX_RANGES - 1], (60 * page, 64 * page), "{pages:?}");
        assert!(pages.windows(2).all(|pair| pair[0].1 < pair[1].0));
    }
}
