//! One live mapping: what it holds, how it is made from a region, given up (`Drop`, retirement)
//! and described. Opening is `open.rs`, copies `copies.rs`, write-back `flush.rs`.
//!
//! # Safety
//! The pages are reached only through raw pointers derived from [`Map::as_ptr`], after a bounds
//! check against `len`, and never through Rust references: JavaScript and other processes change
//! the same bytes at any time, so the `&[u8]` that memmap2's `map_mut`/`map_copy` contracts are
//! about is never formed. The copies use `ptr::copy`, which allows the source and the target to
//! overlap (a JavaScript view of this very mapping).

use std::fs;
use std::path::PathBuf;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::OnceLock;

use memmap2::MmapMut;

use crate::budget::Reservation;
use crate::error::{Error, Result};
use crate::io::Io;
use crate::options::{Kind, Mode};
use crate::retire::{release, Exposed, Gaps};
use crate::sigbus::Registration;

/// One live mapping. Dropping it unmaps the pages and closes the file.
///
/// The pages are read and written through raw pointers only, never through Rust references:
/// JavaScript reads and writes the same bytes through Buffers at any time.
#[derive(Debug)]
pub struct Map {
    /// The truncation guard's record of the pages; declared before `region` so that it is
    /// dropped (unregistered) before the pages are unmapped.
    pub(crate) sigbus: Option<Registration>,
    /// This mapping's share of the process's map regions (see `budget.rs`).
    pub(crate) _budget: Option<Reservation>,
    /// `None` for a mapping of length 0, which maps nothing.
    pub(crate) region: Option<MmapMut>,
    /// Named shared memory on Windows: a view of a named section, which memmap2 cannot make;
    /// `region` is then `None`. Always `None` elsewhere (the type is empty there).
    pub(crate) section: Option<crate::os::Section>,
    pub(crate) kind: Kind,
    pub(crate) mode: Mode,
    pub(crate) path: Option<String>,
    pub(crate) offset: u64,
    pub(crate) len: usize,
    /// What `resize()` needs to map the source again.
    pub(crate) backing: Backing,
    /// Set once a Buffer is made over the current region: the region is then retired, not
    /// unmapped, when it is given up (see `retire.rs`).
    pub(crate) exposed: OnceLock<Exposed>,
    /// What a retirement left to unmap, held until the truncation guard forgot those pages
    /// (`retire.rs`, [`Gaps`]): `resize()` and `drop` clear it once the guard is updated.
    pub(crate) gaps: Gaps,
    /// Whether copies may go through the file instead of the pages (see `io.rs`).
    pub(crate) io: Io,
}

impl Drop for Map {
    fn drop(&mut self) {
        let exposed = self.exposed.take();
        if exposed.is_none() || cfg!(windows) {
            // Unmapped now: unregistered first, so that the guard never mends addresses that
            // someone else may map next.
            self.sigbus = None;
        }
        // Retired pages stay mapped (zero pages), so their registration may go after them: a
        // thread touching a lost page meanwhile is still mended.
        let mut gaps = std::mem::take(&mut self.gaps);
        if let Some(region) = self.region.take() {
            gaps.extend(release(region, exposed));
        }
        // A Windows section view is unmapped at once, exposed or not (`retire.rs`).
        self.section = None;
        self.sigbus = None;
        drop(gaps);
    }
}

impl Backing {
    /// The open file, for a writable file mapping.
    pub(crate) fn file(&self) -> Option<&fs::File> {
        match self {
            Backing::File(file) => Some(file),
            _ => None,
        }
    }
}

/// What a mapping keeps of its source, to map it again on `resize()`.
#[derive(Debug, Default)]
pub(crate) enum Backing {
    /// Nothing: anonymous memory, or a source that cannot be remapped.
    #[default]
    None,
    /// A read-only file mapping: the path to open again. No descriptor is held, so thousands of
    /// live read-only mappings stay within `ulimit -n`.
    Path(PathBuf),
    /// A writable file mapping: the open file, whose length `resize()` sets.
    File(fs::File),
    /// A read-only mapping of a caller's descriptor (a duplicate of it): what `resize()` maps
    /// again, and what copies may read through.
    Descriptor(fs::File),
}

impl Map {
    /// The one way a `Map` over `region` is made: it takes its share of the mapping budget
    /// (failing with `ENOMEM` past it, which unmaps `region` again) and, for files and shared
    /// memory, registers its pages with the truncation guard, since another process can cut
    /// either short. Anonymous memory has nothing to truncate.
    pub(crate) fn from_region(
        region: Option<MmapMut>,
        kind: Kind,
        mode: Mode,
        path: Option<String>,
        offset: u64,
        len: usize,
        backing: Backing,
    ) -> Result<Map> {
        let budget = match region {
            Some(_) => Some(Reservation::take(path.as_deref())?),
            None => None,
        };
        let guard = match (&region, kind) {
            (Some(region), Kind::File | Kind::Shared) => Some(Registration::new(
                region.as_ptr(),
                len,
                backing.file(),
                offset,
            )),
            _ => None,
        };
        Ok(Map {
            sigbus: guard,
            _budget: budget,
            region,
            section: None,
            kind,
            mode,
            path,
            offset,
            len,
            backing,
            exposed: OnceLock::new(),
            gaps: Gaps::default(),
            io: Io::default(),
        })
    }

    /// What names the memory this mapping shows, the same for every mapping of it in this
    /// process (whatever path, descriptor or name opened it): the file's identity or the shared
    /// memory's name. `None` for memory only this mapping reaches (anonymous memory, a read-only
    /// file's private pages).
    pub fn memory_source(&self) -> Option<String> {
        let source = match (&self.backing, self.kind) {
            (Backing::File(file), _) => format!("file:{}", crate::os::file_identity(file)?),
            (_, Kind::Shared) => format!("shm:{}", self.path.as_ref()?),
            _ => return None,
        };
        Some(source)
    }

    /// Marks the bytes `[start, end)` of the current region as handed to JavaScript (a Buffer is
    /// being made over them) and returns a claim that keeps their pages, or their tombstone,
    /// mapped while the claim lives. See `retire.rs`. The caller has checked the range.
    pub fn expose(&self, start: usize, end: usize) -> Exposed {
        let exposed = self.exposed.get_or_init(Exposed::default);
        let base = self.base().as_ptr() as usize;
        exposed.cover(base + start, base + end);
        exposed.clone()
    }

    /// Puts `region` in place of the current one, which is unmapped, or retired if it was
    /// exposed. The caller deals with the truncation guard's registration.
    pub(crate) fn replace_region(&mut self, region: Option<MmapMut>) {
        let exposed = self.exposed.take();
        if let Some(old) = std::mem::replace(&mut self.region, region) {
            let gaps = release(old, exposed);
            self.gaps.extend(gaps);
        }
        // A read-only mapping is remapped from its path, which may name another file by now.
        self.io.reader = None;
    }

    /// Whether a Buffer was made over the current region (which must then not move or vanish).
    pub(crate) fn is_exposed(&self) -> bool {
        self.exposed.get().is_some()
    }

    /// The `populate` and `lock` options, once mapped. Populating is best effort, as
    /// `MAP_POPULATE` is; a failed lock fails the open.
    pub(crate) fn apply(&self, populate: bool, lock: bool) -> Result<()> {
        if populate {
            let _ = self.prefetch(0, self.len);
        }
        if lock {
            self.lock(0, self.len)?;
        }
        Ok(())
    }

    /// What this mapping maps.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// How it was opened.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The resolved path (files) or the name (shared memory).
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// The caller's offset into the file.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes mapped.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first mapped byte; dangling (but non-null and aligned) for an empty mapping.
    pub fn as_ptr(&self) -> NonNull<u8> {
        self.io.touched.store(true, Relaxed);
        self.base()
    }

    /// [`Map::as_ptr`] for address arithmetic only: nothing is reached through it.
    pub(crate) fn base(&self) -> NonNull<u8> {
        match (&self.region, &self.section) {
            (Some(region), _) => {
                NonNull::new(region.as_ptr().cast_mut()).unwrap_or(NonNull::dangling())
            }
            (None, Some(section)) => section.as_ptr(),
            (None, None) => NonNull::dangling(),
        }
    }

    /// Checks a range the caller has already clamped the way `Buffer#subarray` does.
    pub fn check_range(&self, start: usize, end: usize) -> Result<()> {
        if start > end || end > self.len {
            return Err(Error::OutOfRange(format!(
                "range [{start}, {end}) is outside the mapping of {} bytes",
                self.len
            )));
        }
        Ok(())
    }
}
