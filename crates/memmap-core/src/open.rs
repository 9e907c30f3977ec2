//! Opening a file as a [`Map`]: the path or descriptor, the mode's file operations (create,
//! truncate, grow), the mapping itself, and the undo that leaves a file exactly as it was when
//! any step fails.
//!
//! # Safety
//! As in `map.rs`: the pages are reached through raw pointers only.

use std::fs;
use std::path::Path;

use memmap2::MmapOptions;

use crate::error::{Error, Result};
use crate::io::Reader;
use crate::map::{Backing, Map};
use crate::options::{Kind, Mode, OpenOptions};

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
