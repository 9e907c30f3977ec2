//! Copies through the file instead of the pages: `pread`/`pwrite` on the mapping's descriptor.
//!
//! Why: a copy through the pages faults them in, and unmapping pages that were touched costs a
//! TLB shootdown, an interrupt to every other CPU the process has run on. Node.js always has
//! such threads, so for open + read 8 bytes + close, touching the page and unmapping it is 10 µs
//! of the cycle's 20, while `pread` costs under 1 µs. A large `write()` through the pages takes
//! a fault per page (and reads each page from disk first when it is not cached); `pwrite` takes
//! none.
//!
//! Why it gives the same bytes: on Linux, macOS and FreeBSD a shared file mapping *is* the page
//! cache that `pread` and `pwrite` read and change (one unified cache), so both paths see and
//! make the same bytes, at once, for every process. A private (mode `'r'`) mapping equals the
//! file until one of its pages is written; only JavaScript can write it (through a Buffer), so
//! the path is used there only while no Buffer was ever made over it. [`Map`] decides when the
//! path applies; this module only moves bytes.
//!
//! Windows keeps the copies through the pages: `ReadFile`/`WriteFile` are coherent with views
//! of local files too, but the path has not been measured there.
//!
//! # Safety
//! The callers pass raw pointers valid for the given counts, which must not lie inside the
//! mapping of the same file (the kernel copies forward, page by page: an overlapping copy would
//! not behave like `ptr::copy`). No Rust slice over them is formed: the memory is JavaScript's
//! and may change under us.

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

/// Reads up to `count` bytes at `offset` into `target`; returns how many were read, fewer only
/// at the end of the file.
///
/// # Safety
/// `target` must be valid for writes of `count` bytes.
#[cfg(unix)]
pub(crate) unsafe fn read_at(
    file: &File,
    target: *mut u8,
    count: usize,
    offset: u64,
) -> io::Result<usize> {
    use std::mem::MaybeUninit;
    let mut done = 0;
    while done < count {
        // SAFETY: the caller vouches for `target..target + count`, and `done < count`. The
        // slice (of `MaybeUninit`, which asks nothing of the bytes) only travels to the kernel:
        // no Rust code reads or writes through it, so JavaScript changing the memory meanwhile
        // is never observed by Rust code.
        let rest = unsafe {
            std::slice::from_raw_parts_mut(target.add(done).cast::<MaybeUninit<u8>>(), count - done)
        };
        match rustix::io::pread(file, rest, offset + done as u64) {
            Ok(([], _)) => break,
            Ok((read, _)) => done += read.len(),
            Err(rustix::io::Errno::INTR) => {}
            Err(errno) => return Err(errno.into()),
        }
    }
    Ok(done)
}

/// Writes all `count` bytes of `source` at `offset`.
///
/// # Safety
/// `source` must be valid for reads of `count` bytes.
#[cfg(unix)]
pub(crate) unsafe fn write_at(
    file: &File,
    source: *const u8,
    count: usize,
    offset: u64,
) -> io::Result<()> {
    let mut done = 0;
    while done < count {
        // SAFETY: as in `read_at`: valid for `count` bytes, handed to the kernel only.
        let rest = unsafe { std::slice::from_raw_parts(source.add(done), count - done) };
        match rustix::io::pwrite(file, rest, offset + done as u64) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => done += written,
            Err(rustix::io::Errno::INTR) => {}
            Err(errno) => return Err(errno.into()),
        }
    }
    Ok(())
}

/// Not used on this system: every copy goes through the pages.
///
/// # Safety
/// None needed; it touches nothing.
#[cfg(not(unix))]
pub(crate) unsafe fn read_at(_: &File, _: *mut u8, _: usize, _: u64) -> io::Result<usize> {
    Err(io::ErrorKind::Unsupported.into())
}

/// Not used on this system: every copy goes through the pages.
///
/// # Safety
/// None needed; it touches nothing.
#[cfg(not(unix))]
pub(crate) unsafe fn write_at(_: &File, _: *const u8, _: usize, _: u64) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

/// How many mode `'r'` mappings may keep their descriptor open for [`read_at`] at once: beyond
/// this, a read-only mapping closes it at open as before, so thousands of live mappings still
/// hold no descriptors.
pub(crate) const KEPT_READERS: usize = 256;

/// What a [`Map`](crate::Map) knows for choosing between the file and the pages.
#[derive(Debug, Default)]
pub(crate) struct Io {
    /// A mode `'r'` mapping's descriptor, kept (within [`KEPT_READERS`]) until a Buffer is made
    /// over the pages; writable mappings use the descriptor they keep anyway.
    pub(crate) reader: Option<Reader>,
    /// Set once anything reached the pages directly (a copy, a Buffer, an atomic): unmapping
    /// then costs the shootdown anyway, and only large copies still go through the file.
    pub(crate) touched: AtomicBool,
}

/// Copies at least this long go through the file even once the pages were touched: `pread`
/// and `pwrite` take no page faults, and the system call is noise next to the copy.
pub(crate) const LARGE: usize = 256 * 1024;

static KEPT: AtomicUsize = AtomicUsize::new(0);

/// A kept read-only descriptor, counted against [`KEPT_READERS`].
#[derive(Debug)]
pub(crate) struct Reader(pub(crate) File);

impl Reader {
    /// Keeps `file` if fewer than [`KEPT_READERS`] are kept; otherwise it is closed.
    pub(crate) fn keep(file: File) -> Option<Reader> {
        KEPT.fetch_update(Relaxed, Relaxed, |kept| {
            (kept < KEPT_READERS).then_some(kept + 1)
        })
        .ok()
        .map(|_| Reader(file))
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        KEPT.fetch_sub(1, Relaxed);
    }
}
