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
}

/// A claim on one generation of a mapping's pages: while any clone lives, those pages (or their
/// tombstone) stay mapped. The binding keeps one per ArrayBuffer finalizer.
#[derive(Clone, Debug, Default)]
pub struct Exposed(Arc<Generation>);

impl Exposed {
    /// Keeps `tombstone` until the last claim on this generation is dropped.
    fn bury(&self, tombstone: Tombstone) {
        self.0
            .tombstones
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(tombstone);
    }
}

/// A retired region, unmapped when dropped.
#[derive(Debug)]
#[cfg_attr(
    windows,
    allow(dead_code, reason = "Windows unmaps at once (module documentation)")
)]
enum Tombstone {
    /// The addresses `[start, start + len)`, now anonymous zero pages that this value owns.
    #[cfg(unix)]
    Zeroed { start: usize, len: usize },
    /// The region itself, left mapped where the replacement failed.
    Kept(#[allow(dead_code, reason = "held only to be dropped later")] MmapMut),
}

#[cfg(unix)]
impl Drop for Tombstone {
    fn drop(&mut self) {
        match self {
            Tombstone::Zeroed { start, len } => {
                // SAFETY: `[start, start + len)` are pages this tombstone owns (module safety
                // paragraph): no Rust value and, by now, no JavaScript value reaches them.
                unsafe { libc::munmap(*start as *mut libc::c_void, *len) };
                crate::budget::buried(*len);
            }
            // Unmapped as the region drops, right after this.
            Tombstone::Kept(region) => crate::budget::buried(region.len()),
        }
    }
}

/// Gives up `region`: unmapped now if `exposed` is `None` (no Buffer was ever made over it),
/// else retired into a tombstone that the last claim on `exposed` unmaps. On Windows it is
/// unmapped now either way (see the module documentation).
pub(crate) fn release(region: MmapMut, exposed: Option<Exposed>) {
    match exposed {
        #[cfg(unix)]
        Some(exposed) => exposed.bury(tombstone(region)),
        _ => drop(region),
    }
}

/// Gives up a Windows section view: unmapped as `section` goes out of scope here. (POSIX has no
/// sections; the type is empty there.)
pub(crate) fn release_section(section: crate::shm::Section, _exposed: Option<Exposed>) {
    let _unmapped_here = section;
}

#[cfg(unix)]
fn tombstone(region: MmapMut) -> Tombstone {
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
    // SAFETY: `[start, end)` is exactly the mapping `region` owns; MAP_FIXED replaces it in one
    // call, so another thread touching it sees either the old page or a zero page, never a hole.
    // From here the range belongs to the tombstone, and `region` is forgotten so that it does
    // not unmap it.
    let replaced = unsafe {
        libc::mmap(
            start as *mut libc::c_void,
            end - start,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED | no_reserve,
            -1,
            0,
        )
    };
    if replaced == libc::MAP_FAILED {
        // Out of map regions or memory: keep the pages as they are, still mapped.
        crate::budget::retired(region.len());
        return Tombstone::Kept(region);
    }
    std::mem::forget(region);
    crate::budget::retired(end - start);
    Tombstone::Zeroed {
        start,
        len: end - start,
    }
}
