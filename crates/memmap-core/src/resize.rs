//! `resize()`: a new length for a live mapping, by kind.
//!
//! - File, `'r+'`/`'w+'`: the file's length becomes `offset + length`, and the mapping follows
//!   (`mremap` on Linux; elsewhere unmapped and mapped again).
//! - File, `'r'`: the path is opened again and `length` bytes from the same offset are mapped
//!   afresh, so a file that grew can be followed; past its end is [`Error::OutOfRange`] and
//!   changes nothing. Private changes made through Buffers are dropped with the old pages.
//! - Anonymous: grows or shrinks keeping the contents (`mremap` on Linux, a copy elsewhere).
//! - File, `'c'`: [`Error::Unsupported`]. Its private changes are the point of the mode, and
//!   mapping afresh would drop them without a word (which pages were written is not known).
//!
//! # Safety
//! Resizing may move or unmap the pages. The truncation guard's registration of the old pages is
//! dropped before that (the guard must never mend addresses that are no longer ours), and the
//! new pages are registered afterwards. The `&mut Map` borrow (the `Handle`'s write lock, taken
//! by `Handle::with_mut`, which first wakes every sleeper in `wait` and waits for it to leave)
//! keeps every Rust user of the old address out, and the caller's `detach` runs before any step
//! that may move or unmap them, so the binding can detach every Buffer over them first.
//! memmap2 asks of `map_mut`/`map_copy` that no Rust reference to the file's bytes lives while
//! others change them; none is ever formed (see [`Map`]).

use std::cell::Cell;
use std::fs::File;

use memmap2::{MmapMut, MmapOptions};

use crate::budget::Reservation;
use crate::error::{Error, Result};
use crate::map::{Backing, Map};
use crate::open::eisdir;
use crate::options::{Kind, Mode};
use crate::retire::Gaps;
use crate::sigbus::Registration;

/// A byte length that one mapping can have.
pub(crate) fn mappable(length: u64) -> Result<usize> {
    usize::try_from(length)
        .ok()
        .filter(|&len| len <= isize::MAX as usize)
        .ok_or_else(|| Error::OutOfRange(format!("length {length} is too large to map")))
}

impl Map {
    /// Gives the mapping a new length (see the module documentation for what that means for
    /// each kind). `detach` runs once every check has passed, before the pages may move or be
    /// unmapped. A failed resize leaves the mapping as it was and usable (its Buffers may have
    /// been detached); named shared memory is [`Error::Unsupported`].
    pub fn resize(&mut self, length: u64, detach: impl FnOnce()) -> Result<()> {
        let len = mappable(length)?;
        if self.mode == Mode::Private {
            return Err(Error::Unsupported(
                "resize() of a mode 'c' mapping would drop its private changes: map the file \
                 again with the length you need, after copying out what you changed"
                    .into(),
            ));
        }
        if len > 0 && self._budget.is_none() {
            self._budget = Some(Reservation::take(self.path.as_deref())?);
        }
        // The truncation guard must forget the old pages before they may move or be unmapped
        // (their addresses could be mapped by someone else next), and learn the new ones once
        // they exist. Exposed pages are retired in place instead (zero pages, still mapped), so
        // their registration may stand until they are. Until the point of no return the old
        // registration stands.
        let guarded = self.sigbus.is_some();
        let exposed = self.is_exposed();
        let registration = Cell::new(self.sigbus.take());
        let moved = Cell::new(false);
        let result = self.resize_kind(len, || {
            moved.set(true);
            if !exposed {
                // Dropping the old registration unregisters it (POSIX; nothing to do elsewhere).
                registration.set(None);
            }
            detach();
        });
        self.sigbus = match (moved.get(), registration.into_inner()) {
            (false, unchanged) => unchanged,
            (true, _replaced) => match &self.region {
                Some(region) if guarded => Some(Registration::new(
                    region.as_ptr(),
                    self.len,
                    self.backing.file(),
                    self.offset,
                )),
                _ => None,
            },
        };
        // The guard no longer lists the old pages: what their retirement left may go now.
        self.gaps = Gaps::default();
        result
    }

    fn resize_kind(&mut self, len: usize, detach: impl FnOnce()) -> Result<()> {
        match (self.kind, std::mem::take(&mut self.backing)) {
            (Kind::Anonymous, backing) => {
                self.backing = backing;
                self.resize_anonymous(len, detach)
            }
            (Kind::File, Backing::File(file)) => {
                let result = self.resize_writable(&file, len, detach);
                self.backing = Backing::File(file);
                result
            }
            (Kind::File, Backing::Path(path)) => {
                let name = self.path.clone();
                let result = File::open(&path)
                    .map_err(|e| Error::os(e, "open", name.as_deref()))
                    .and_then(|file| self.resize_read_only(&file, len, detach));
                self.backing = Backing::Path(path);
                result
            }
            (Kind::File, Backing::Descriptor(file)) => {
                let result = self.resize_read_only(&file, len, detach);
                self.backing = Backing::Descriptor(file);
                result
            }
            (_, backing) => {
                self.backing = backing;
                Err(Error::Unsupported(format!(
                    "resize() is not supported for a mapping of kind '{}'",
                    self.kind.as_str()
                )))
            }
        }
    }

    /// Mode `'r'`: maps `len` bytes of `file` (the file now at the path, or the caller's
    /// descriptor), if it holds them.
    fn resize_read_only(&mut self, file: &File, len: usize, detach: impl FnOnce()) -> Result<()> {
        debug_assert_eq!(self.mode, Mode::Read);
        let shown = self.path.clone();
        let name = shown.as_deref();
        let meta = file.metadata().map_err(|e| Error::os(e, "fstat", name))?;
        if meta.is_dir() {
            return Err(eisdir(name));
        }
        let file_len = meta.len();
        let fits = self
            .offset
            .checked_add(len as u64)
            .is_some_and(|end| end <= file_len);
        if !fits {
            return Err(Error::OutOfRange(format!(
                "offset {} + length {len} is past the end of {} ({file_len} bytes)",
                self.offset,
                name.map_or_else(|| "the file".to_owned(), |name| format!("'{name}'"))
            )));
        }
        let region =
            map_file(file, self.offset, len, self.mode).map_err(|e| Error::os(e, "mmap", name))?;
        detach();
        self.replace_region(region);
        self.len = len;
        Ok(())
    }

    /// The file's length now, and the length `len` bytes of mapping ask for (`offset + len`).
    fn file_sizes(&self, file: &File, len: usize) -> Result<(u64, u64)> {
        let new_size = self.file_end(len)?;
        let old_size = file
            .metadata()
            .map_err(|e| Error::os(e, "fstat", self.path.as_deref()))?
            .len();
        Ok((old_size, new_size))
    }

    /// Modes `'r+'`/`'w+'`: sets the file's length to `offset + len` and maps that much.
    ///
    /// The order keeps failures harmless: a file that grows is extended before the mapping
    /// follows (and cut back if it cannot); a file that shrinks is cut only after the mapping has
    /// shrunk (and the mapping grown back if the file cannot be cut).
    #[cfg(not(windows))]
    fn resize_writable(&mut self, file: &File, len: usize, detach: impl FnOnce()) -> Result<()> {
        let (old_size, new_size) = self.file_sizes(file, len)?;
        let shown = self.path.clone();
        let name = shown.as_deref();
        let old_len = self.len;
        if new_size >= old_size {
            file.set_len(new_size)
                .map_err(|e| Error::os(e, "ftruncate", name))?;
            detach();
            if let Err(error) = self.remap_file(file, len) {
                let _ = file.set_len(old_size);
                return Err(error);
            }
        } else {
            detach();
            self.remap_file(file, len)?;
            if let Err(error) = file.set_len(new_size) {
                // The file is intact: map all of the old range again (if even that fails, the
                // mapping stays shorter but consistent).
                let _ = self.remap_file(file, old_len);
                return Err(Error::os(error, "ftruncate", name));
            }
        }
        Ok(())
    }

    /// Modes `'r+'`/`'w+'` on Windows, where a file cannot be cut below a view of it
    /// (`ERROR_USER_MAPPED_FILE`) but may grow under one. A file that grows is extended first,
    /// with the view still in place, so that a length the file system refuses fails before any
    /// Buffer is detached. Then: unmap, set the length, map again; on failure restore what it can.
    #[cfg(windows)]
    fn resize_writable(&mut self, file: &File, len: usize, detach: impl FnOnce()) -> Result<()> {
        let (old_size, new_size) = self.file_sizes(file, len)?;
        let shown = self.path.clone();
        let name = shown.as_deref();
        if new_size > old_size {
            file.set_len(new_size)
                .map_err(|e| Error::os(e, "ftruncate", name))?;
        }
        detach();
        let old_len = std::mem::replace(&mut self.len, 0);
        self.replace_region(None);
        let result = file
            .set_len(new_size)
            .map_err(|e| Error::os(e, "ftruncate", name))
            .and_then(|()| self.remap_file(file, len));
        if let Err(error) = result {
            if new_size >= old_size {
                let _ = file.set_len(old_size);
            }
            // If even this fails the mapping stays empty (length 0) but consistent.
            let _ = self.remap_file(file, old_len);
            return Err(error);
        }
        Ok(())
    }

    /// The file length that a mapping of `len` bytes at this offset ends at.
    fn file_end(&self, len: usize) -> Result<u64> {
        self.offset.checked_add(len as u64).ok_or_else(|| {
            Error::OutOfRange(format!(
                "offset {} + length {len} is too large for a file",
                self.offset
            ))
        })
    }

    /// Maps `len` bytes of `file` from the offset in place of the current pages; changes
    /// nothing on failure.
    fn remap_file(&mut self, file: &File, len: usize) -> Result<()> {
        let name = self.path.clone();
        #[cfg(target_os = "linux")]
        match self.mremap(len) {
            Some(Ok(())) => return Ok(()),
            Some(Err(error)) => return Err(Error::os(error, "mremap", name.as_deref())),
            None => {}
        }
        let region = map_file(file, self.offset, len, self.mode)
            .map_err(|e| Error::os(e, "mmap", name.as_deref()))?;
        self.replace_region(region);
        self.len = len;
        Ok(())
    }

    /// Moves the pages to a mapping of `len` bytes with `mremap`, or `None` when it cannot apply
    /// and the pages must be mapped anew: nothing mapped yet, a new length of 0, or a mapping
    /// split into several kernel regions (by advice or locks on part of it), which mremap refuses
    /// with `EFAULT`. On failure the mapping is as it was.
    #[cfg(target_os = "linux")]
    fn mremap(&mut self, len: usize) -> Option<std::io::Result<()>> {
        // mremap unmaps the old addresses, which JavaScript may still reach once exposed.
        if self.is_exposed() {
            return None;
        }
        let region = self.region.as_mut().filter(|_| len > 0)?;
        // SAFETY: see the module documentation: no reference into the pages lives, and the
        // caller has detached every Buffer over them.
        let moved = unsafe { region.remap(len, memmap2::RemapOptions::new().may_move(true)) };
        match moved {
            Ok(()) => {
                self.len = len;
                Some(Ok(()))
            }
            Err(error) if error.raw_os_error() == Some(libc::EFAULT) => None,
            Err(error) => Some(Err(error)),
        }
    }

    /// Anonymous memory: grows or shrinks keeping the contents (the first `min(old, new)` bytes).
    fn resize_anonymous(&mut self, len: usize, detach: impl FnOnce()) -> Result<()> {
        // mremap moves the pages themselves, so the contents go with them. The Buffers over the
        // old pages are detached once it has succeeded, so a failed resize leaves them attached
        // (the caller is the JavaScript thread, so no JavaScript runs in between).
        #[cfg(target_os = "linux")]
        let detach = match self.mremap(len) {
            Some(Ok(())) => {
                detach();
                return Ok(());
            }
            Some(Err(error)) => return Err(Error::os(error, "mremap", None)),
            None => detach,
        };
        let region = if len == 0 {
            None
        } else {
            let fresh = MmapOptions::new()
                .len(len)
                .map_anon()
                .map_err(|e| Error::os(e, "mmap", None))?;
            let kept = len.min(self.len);
            if kept > 0 {
                // SAFETY: both regions are live and at least `kept` bytes long, and distinct
                // mappings, so they do not overlap; the new one is ours alone.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        self.as_ptr().as_ptr(),
                        fresh.as_ptr().cast_mut(),
                        kept,
                    )
                };
            }
            Some(fresh)
        };
        detach();
        self.replace_region(region);
        self.len = len;
        Ok(())
    }
}

/// Maps `len` bytes of `file` at `offset` the way `mode` maps files; nothing for `len` 0.
fn map_file(file: &File, offset: u64, len: usize, mode: Mode) -> std::io::Result<Option<MmapMut>> {
    if len == 0 {
        return Ok(None);
    }
    let mut options = MmapOptions::new();
    options.offset(offset).len(len);
    let region = if mode.is_shared() {
        // SAFETY: see the module documentation.
        unsafe { options.map_mut(file) }?
    } else {
        options.no_reserve_swap();
        // SAFETY: see the module documentation.
        unsafe { options.map_copy(file) }?
    };
    Ok(Some(region))
}
