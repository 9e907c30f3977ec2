//! One live mapping and the ways to open it.
//!
//! # Safety
//! The pages are reached only through raw pointers derived from [`Map::as_ptr`], after a bounds
//! check against `len`, and never through Rust references: JavaScript and other processes change
//! the same bytes at any time, so the `&[u8]` that memmap2's `map_mut`/`map_copy` contracts are
//! about is never formed. The copies use `ptr::copy`, which allows the source and the target to
//! overlap (a JavaScript view of this very mapping).

use std::fs;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::OnceLock;

use memmap2::{MmapMut, MmapOptions};

use crate::budget::Reservation;
use crate::error::{Error, Result};
use crate::io::{self, Io, Reader, LARGE};
use crate::options::{Kind, Mode, OpenOptions};
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
    /// Maps `path` (already resolved by the caller) as `options` say.
    ///
    /// A directory is `EISDIR`; a range past the end of the file (modes `'r'` and `'r+'`) is
    /// [`Error::OutOfRange`] and maps nothing. `'w+'` without a size is
    /// [`Error::InvalidArgument`] and leaves the file untouched.
    pub fn open(path: &Path, options: &OpenOptions) -> Result<Map> {
        let shown = path.to_string_lossy().into_owned();
        let name = Some(shown.as_str());
        check_size(options)?;
        // A directory is EISDIR before anything is mapped. POSIX says so itself when writing is
        // asked for, and a read-only open of one is caught by the fstat below; Windows would say
        // "access denied", so there it is checked first.
        #[cfg(windows)]
        if fs::metadata(path).is_ok_and(|meta| meta.is_dir()) {
            return Err(eisdir(name));
        }
        let (file, created) =
            open_file(path, options.mode).map_err(|e| Error::os(e, "open", name))?;
        Map::map_file(file, Some(path), created, options)
    }

    /// Maps the file open as `file`, a descriptor of the caller's that this mapping now owns
    /// (see `descriptor.rs`, which duplicates one). As [`Map::open`], with no path: `'w+'`
    /// empties the file and sets its length, and a descriptor not opened for what `mode` does
    /// is `EACCES`.
    pub fn open_descriptor(file: fs::File, options: &OpenOptions) -> Result<Map> {
        check_size(options)?;
        crate::descriptor::check_access(&file, options.mode)?;
        Map::map_file(file, None, false, options)
    }

    /// The part of opening shared by paths and descriptors: `path` is `None` for a descriptor;
    /// `created`: this call created the file.
    fn map_file(
        file: fs::File,
        path: Option<&Path>,
        created: bool,
        options: &OpenOptions,
    ) -> Result<Map> {
        // Whatever fails from here on leaves the file as it was: removed if this call created
        // it, its old length back if this call changed it (see `Undo`).
        let mut undo = Undo {
            path,
            created,
            old_len: None,
            file: None,
        };
        let mode = options.mode;
        let shown = path.map(|path| path.to_string_lossy().into_owned());
        let name = shown.as_deref();
        let what = match name {
            Some(name) => format!("'{name}'"),
            None => "the file".to_owned(),
        };
        let meta = file.metadata().map_err(|e| Error::os(e, "fstat", name))?;
        if meta.is_dir() {
            return Err(eisdir(name));
        }
        let old_len = meta.len();
        // Every argument is checked against the length the file will have before the file is
        // touched.
        let file_len = match (mode, options.size) {
            (Mode::Create, Some(size)) => size,
            (Mode::ReadWrite, Some(size)) => size.max(old_len),
            _ => old_len,
        };
        let offset = options.offset;
        if offset > file_len {
            return Err(Error::OutOfRange(format!(
                "offset {offset} is past the end of {what} ({file_len} bytes)"
            )));
        }
        let length = options.length.unwrap_or(file_len - offset);
        if length > file_len - offset {
            return Err(Error::OutOfRange(format!(
                "offset {offset} + length {length} is past the end of {what} ({file_len} bytes)"
            )));
        }
        let len = usize::try_from(length)
            .ok()
            .filter(|&len| len <= isize::MAX as usize)
            .ok_or_else(|| Error::OutOfRange(format!("length {length} is too large to map")))?;
        // The new length in one step: a length the file system refuses (EFBIG, ENOSPC) fails
        // here with the file unchanged. A 'w+' that shrinks the file waits until the mapping
        // exists (the range it maps lies inside the old length): shrinking first would lose the
        // bytes past the new end if mmap then failed (a sealed memfd, `ulimit -v`, the region
        // cap), which no restored length brings back. Windows empties the file before mapping
        // (below), so it shrinks here.
        let shrink_after = cfg!(not(windows)) && mode == Mode::Create && file_len < old_len;
        if file_len != old_len {
            undo.old_len = Some(old_len);
            if path.is_none() {
                // No path to open again: the length is put back through a copy of the descriptor.
                undo.file = file.try_clone().ok();
            }
            if !shrink_after {
                file.set_len(file_len)
                    .map_err(|e| Error::os(e, "ftruncate", name))?;
            }
        }
        // Windows cannot empty a file while a view of it exists: 'w+' zeroes it before mapping.
        #[cfg(windows)]
        if mode == Mode::Create && old_len > 0 {
            zero_fill(&file, file_len).map_err(|e| Error::os(e, "ftruncate", name))?;
        }
        let region = if len == 0 {
            None
        } else {
            let mut map_options = MmapOptions::new();
            // `populate` is done below by reading the pages in: MAP_POPULATE would write-fault
            // private pages and so copy the whole file into anonymous memory.
            map_options.offset(offset).len(len);
            let mapped = if mode.is_shared() {
                // SAFETY: memmap2 asks that nobody change the file while a Rust reference to its
                // bytes lives. None ever does: the pages are only reached through raw pointers
                // (here and in JavaScript), which tolerate other writers.
                unsafe { map_options.map_mut(&file) }
            } else {
                // Private pages take no commit charge until written, so 'r' maps files larger
                // than RAM + swap (MAP_NORESERVE).
                map_options.no_reserve_swap();
                // SAFETY: as for `map_mut` above: the bytes are never borrowed as Rust slices.
                unsafe { map_options.map_copy(&file) }
            };
            let region = mapped.map_err(|e| Error::os(e, "mmap", name))?;
            if options.huge_pages {
                crate::os::advise_huge_pages(&region);
            }
            Some(region)
        };
        // A read-only mapping's descriptor is closed here: the pages stay mapped without it, and
        // thousands of live mappings then hold no descriptors. A writable one keeps its file
        // for `resize()`.
        // A few of them keep it until a Buffer is made over the pages, to read through it
        // (io.rs; POSIX only: elsewhere it would only hold the file open).
        // One mapped from a caller's descriptor keeps it: there is no path to open again.
        let (backing, reader) = match path {
            _ if mode.is_shared() => (Backing::File(file), None),
            None => (Backing::Descriptor(file), None),
            // 'c' pages part from the file at the first write(), which no Buffer need see: its
            // copies always go through the pages.
            Some(path) if cfg!(unix) && mode == Mode::Read => {
                (Backing::Path(path.to_path_buf()), Reader::keep(file))
            }
            Some(path) => (Backing::Path(path.to_path_buf()), None),
        };
        let mut map = Map::from_region(
            region,
            Kind::File,
            mode,
            shown.clone(),
            offset,
            len,
            backing,
        )?;
        map.io.reader = reader;
        // Every step that can fail for want of a resource (the mapping, the region cap, locking
        // the pages) is behind us: only now is anything of the old contents given up.
        if options.lock {
            map.lock(0, map.len)?;
        }
        // "Created or truncated, then set to size bytes": zero-filled, nothing kept (and the
        // file shrunk, if it is). The shared pages follow the file: no one else has them yet.
        #[cfg(not(windows))]
        if mode == Mode::Create && old_len > 0 {
            if let Some(file) = map.backing.file() {
                zero_fill(file, file_len)
                    .map_err(|e| Error::os(e, "ftruncate", shown.as_deref()))?;
            }
        }
        if options.populate {
            let _ = map.prefetch(0, map.len);
        }
        undo.disarm();
        Ok(map)
    }

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
    fn base(&self) -> NonNull<u8> {
        match (&self.region, &self.section) {
            (Some(region), _) => {
                NonNull::new(region.as_ptr().cast_mut()).unwrap_or(NonNull::dangling())
            }
            (None, Some(section)) => section.as_ptr(),
            (None, None) => NonNull::dangling(),
        }
    }

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

    /// Writes `[start, end)` back to the file and waits until it is durable (msync `MS_SYNC`,
    /// or `FlushViewOfFile` + `FlushFileBuffers`). Nothing to write back for private pages.
    ///
    /// Fails with [`Error::Truncated`] whenever the file is shorter than the mapped range: the
    /// lost pages' contents can no longer reach it.
    pub fn flush(&self, start: usize, end: usize) -> Result<()> {
        self.write_back(start, end, true)
    }

    /// Starts writing `[start, end)` back to the file and returns at once (msync `MS_ASYNC`, or
    /// `FlushViewOfFile` without `FlushFileBuffers`): nothing is durable yet, but the kernel
    /// need not wait for memory pressure or its writeback timer. Fails as [`Map::flush`] does
    /// on a file cut short under the mapping.
    pub fn schedule_flush(&self, start: usize, end: usize) -> Result<()> {
        self.write_back(start, end, false)
    }

    fn write_back(&self, start: usize, end: usize, durable: bool) -> Result<()> {
        self.check_range(start, end)?;
        let Some(region) = &self.region else {
            return Ok(());
        };
        // 'c' promises that nothing ever reaches the file: there is nothing to write back, and
        // nothing to report (its pages are private, whatever the file does).
        if self.mode == Mode::Private {
            return Ok(());
        }
        if let Some((errno, pages)) = self.sigbus.as_ref().and_then(Registration::lost_writes) {
            return Err(Error::LostWrites {
                source: std::io::Error::from_raw_os_error(errno),
                path: self.path.clone(),
                pages,
            });
        }
        self.check_not_truncated()?;
        if start == end || !self.mode.is_shared() {
            return Ok(());
        }
        let flushed = if durable {
            region.flush_range(start, end - start)
        } else {
            region.flush_async_range(start, end - start)
        };
        flushed.map_err(|e| Error::os(e, "msync", self.path.as_deref()))
    }

    /// Whether a touch found pages that the file lost under the mapping (they now read as zeros).
    pub fn lost_pages(&self) -> bool {
        self.sigbus.as_ref().is_some_and(Registration::lost_pages)
    }

    /// [`Error::Truncated`] if the file is now shorter than the mapped range.
    ///
    /// A writable mapping, and a private one of a caller's descriptor, ask the open file they
    /// keep. A private (`'r'`) one opened by path holds no descriptor and writes nothing back, so
    /// it goes only by what the truncation guard saw: its path may have been unlinked or replaced
    /// by another file since, which says nothing about the pages.
    fn check_not_truncated(&self) -> Result<()> {
        let mapped_end = self.offset + self.len as u64;
        let file_len = match &self.backing {
            Backing::File(file) | Backing::Descriptor(file) => {
                Some(file.metadata().map(|meta| meta.len()).unwrap_or(0))
            }
            Backing::Path(_) | Backing::None => None,
        };
        if self.lost_pages() || file_len.is_some_and(|len| len < mapped_end) {
            return Err(Error::Truncated {
                file_len,
                mapped_end,
            });
        }
        Ok(())
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

/// `'w+'` needs a size: checked before the file is touched.
fn check_size(options: &OpenOptions) -> Result<()> {
    if options.mode == Mode::Create && options.size.is_none() {
        return Err(Error::InvalidArgument(
            "mode 'w+' needs options.size, the new file's length in bytes".into(),
        ));
    }
    Ok(())
}

/// Opens `path` for `mode` without changing it ('w+' creates it if missing, but does not
/// truncate it: see [`Map::open`]); says whether this call created it.
fn open_file(path: &Path, mode: Mode) -> std::io::Result<(fs::File, bool)> {
    let mut options = fs::OpenOptions::new();
    options.read(true).write(mode.is_shared());
    if mode == Mode::Create {
        match fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(file) => return Ok((file, true)),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(error),
        }
    }
    options.open(path).map(|file| (file, false))
}

/// Empties `file` and gives it `len` zero bytes again (what 'w+' promises).
fn zero_fill(file: &fs::File, len: u64) -> std::io::Result<()> {
    file.set_len(0)?;
    file.set_len(len)
}

/// Puts a file back as it was when an open fails after touching it: removes it if the open
/// created it, else restores its old length if the open changed it (reopening the path, since
/// the open's own descriptor may have moved into the mapping by then). Best effort: the error
/// being reported is the open's.
struct Undo<'a> {
    /// `None` for a caller's descriptor, which this call never creates.
    path: Option<&'a Path>,
    created: bool,
    old_len: Option<u64>,
    /// A copy of a caller's descriptor, to put the old length back through.
    file: Option<fs::File>,
}

impl Undo<'_> {
    /// The open succeeded: leave the file as it now is.
    fn disarm(&mut self) {
        self.created = false;
        self.old_len = None;
    }
}

impl Drop for Undo<'_> {
    fn drop(&mut self) {
        if self.created {
            if let Some(path) = self.path {
                let _ = fs::remove_file(path);
            }
        } else if let (Some(len), Some(file)) = (self.old_len, &self.file) {
            let _ = file.set_len(len);
        } else if let (Some(len), Some(path)) = (self.old_len, self.path) {
            if let Ok(file) = fs::OpenOptions::new().write(true).open(path) {
                let _ = file.set_len(len);
            }
        }
    }
}

pub(crate) fn eisdir(path: Option<&str>) -> Error {
    #[cfg(unix)]
    let source = std::io::Error::from_raw_os_error(libc::EISDIR);
    // ERROR_DIRECTORY_NOT_SUPPORTED: what libuv reports as EISDIR, so the error has its errno.
    #[cfg(windows)]
    let source = std::io::Error::from_raw_os_error(336);
    Error::os(source, "open", path)
}
