//! POSIX named shared memory: `shm_open` with `O_CREAT | O_EXCL` and mode 0600, grown (never
//! shrunk) with `ftruncate`, mapped with `mmap`.
//!
//! # Safety
//! The descriptors come straight from `shm_open` and are owned by a `File` at once, so each is
//! closed exactly once. The pages are mapped through memmap2 and only ever reached through raw
//! pointers (see `Map`), so no Rust reference aliases bytes other processes write.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};

use memmap2::MmapOptions;

use crate::error::{Error, Result};
use crate::map::{Backing, Kind, Map, Mode};

/// Windows keeps named shared memory outside memmap2; POSIX never does, so this has no values.
#[derive(Debug)]
pub enum Section {}

impl Section {
    /// Never called: there is no `Section` on POSIX.
    pub fn as_ptr(&self) -> std::ptr::NonNull<u8> {
        match *self {}
    }
}

/// The object's name as `shm_open` takes it: `/name` (the name was checked by `check_name`).
fn object_name(name: &str) -> Result<CString> {
    CString::new(format!("/{name}")).map_err(|_| Error::InvalidArgument(format!("{name:?}")))
}

/// The mode argument as `shm_open` takes it. Apple declares `shm_open` variadic, so its 16-bit
/// `mode_t` travels as a C `unsigned int` (C's default argument promotions); everywhere else the
/// libc crate declares a plain `mode_t` parameter (32 bits on Linux, 16 on FreeBSD).
#[cfg(target_vendor = "apple")]
const OWNER_ONLY: libc::c_uint = 0o600;
#[cfg(not(target_vendor = "apple"))]
const OWNER_ONLY: libc::mode_t = 0o600;

fn shm_open(name: &CString, flags: libc::c_int) -> io::Result<File> {
    // SAFETY: `name` is NUL-terminated and `OWNER_ONLY` has the type this platform's
    // declaration takes (see there).
    let fd = unsafe { libc::shm_open(name.as_ptr(), flags, OWNER_ONLY) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by shm_open and nothing else owns it.
    let file = unsafe { File::from_raw_fd(fd) };
    // glibc sets FD_CLOEXEC itself; elsewhere set it so that a child process spawned by another
    // thread does not inherit the object. Failing only leaks the descriptor into such a child.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    // SAFETY: plain fcntl on a descriptor this function owns.
    unsafe {
        libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
    }
    Ok(file)
}

/// See [`Map::create_shared`].
pub fn create(name: &str, length: usize, exclusive: bool) -> Result<Map> {
    let object = object_name(name)?;
    let path = Some(name);
    let (file, created) = loop {
        match shm_open(&object, libc::O_RDWR | libc::O_CREAT | libc::O_EXCL) {
            Ok(file) => break (file, true),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) && !exclusive => {}
            Err(e) => return Err(Error::os(e, "shm_open", path)),
        }
        match shm_open(&object, libc::O_RDWR) {
            Ok(file) => break (file, false),
            // Unlinked between the two calls: try to create it again.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(Error::os(e, "shm_open", path)),
        }
    };
    let fd = file.as_raw_fd();
    if created {
        // The umask may have taken bits away from 0600; put exactly 0600 back. It can only
        // have narrowed the mode, so failing here (macOS may refuse fchmod on shm objects) leaves
        // the object no more open than asked.
        let mode = stat(&file, path)?.st_mode & 0o777;
        if mode != 0o600 {
            // SAFETY: plain fchmod on a descriptor `file` owns.
            let _ = unsafe { libc::fchmod(fd, 0o600) };
        }
    }
    // A failure from here on leaves the name as it was: gone again if this call created it,
    // at its old size if this call grew it.
    let mut undo = Undo {
        file: &file,
        object: &object,
        created,
        grown_from: None,
    };
    undo.grown_from = grow(&file, length as u64, path)?;
    if created || undo.grown_from.is_some() {
        reserve(&file, undo.grown_from.unwrap_or(0), length as u64, path)?;
    }
    let mut options = MmapOptions::new();
    options.len(length);
    // SAFETY: memmap2 asks that nobody change the object while a Rust reference to its bytes
    // lives; none ever does (raw pointers only). The object is at least `length` bytes (grow).
    let region = unsafe { options.map_mut(&file) }.map_err(|e| Error::os(e, "mmap", path))?;
    let map = shared_map(Some(region), Mode::ReadWrite, name, length)?;
    undo.created = false;
    undo.grown_from = None;
    Ok(map)
}

/// Puts a name back as it was when `create` fails after changing it (best effort: the error
/// reported is `create`'s).
struct Undo<'a> {
    file: &'a File,
    object: &'a CString,
    created: bool,
    /// The size before this call grew the object.
    grown_from: Option<u64>,
}

impl Drop for Undo<'_> {
    fn drop(&mut self) {
        if self.created {
            // SAFETY: `object` is NUL-terminated.
            unsafe { libc::shm_unlink(self.object.as_ptr()) };
        } else if let Some(size) = self.grown_from {
            // SAFETY: plain ftruncate on a descriptor the caller owns.
            unsafe { libc::ftruncate(self.file.as_raw_fd(), size as libc::off_t) };
        }
    }
}

/// Linux: allocates the object's pages in `[from, to)` now (`posix_fallocate`, as Chromium does
/// for its shared memory), so that an object larger than what `/dev/shm` can hold fails here with
/// `ENOSPC`, rather than each process that touches a page it cannot have being sent SIGBUS (which
/// the truncation guard would then mend with private zero pages nobody else sees).
fn reserve(file: &File, from: u64, to: u64, path: Option<&str>) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain posix_fallocate on a descriptor `file` owns; it returns the error
        // number instead of setting errno.
        let error = unsafe {
            libc::posix_fallocate(
                file.as_raw_fd(),
                from as libc::off_t,
                (to - from) as libc::off_t,
            )
        };
        if error != 0 {
            return Err(Error::os(
                io::Error::from_raw_os_error(error),
                "posix_fallocate",
                path,
            ));
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, from, to, path);
    Ok(())
}

/// Grows the object to at least `length` bytes, never shrinking it, even when several processes
/// create it at once. Returns the size it had if this call grew it.
fn grow(file: &File, length: u64, path: Option<&str>) -> Result<Option<u64>> {
    // Two creators must not interleave stat and ftruncate (one could shrink what the other
    // grew): hold an exclusive lock around them where the system locks shm objects (Linux's
    // tmpfs does). Elsewhere the re-check below still catches a lost race.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: plain flock on a descriptor `file` owns.
    unsafe {
        libc::flock(file.as_raw_fd(), libc::LOCK_EX);
    }
    let grown = grow_locked(file, length, path);
    // Unlocked explicitly: closing the descriptor would not do it, since the mapping made next
    // keeps the open file description (which owns the lock) alive.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: as above.
    unsafe {
        libc::flock(file.as_raw_fd(), libc::LOCK_UN);
    }
    grown
}

fn grow_locked(file: &File, length: u64, path: Option<&str>) -> Result<Option<u64>> {
    let fd = file.as_raw_fd();
    let size = stat(file, path)?.st_size as u64;
    if size >= length {
        return Ok(None);
    }
    // SAFETY: plain ftruncate on a descriptor `file` owns.
    if unsafe { libc::ftruncate(fd, length as libc::off_t) } != 0 {
        let error = io::Error::last_os_error();
        // macOS sizes an object once: another creator may have sized it first, big enough.
        if (stat(file, path)?.st_size as u64) < length {
            return Err(Error::os(error, "ftruncate", path));
        }
        return Ok(None);
    }
    Ok(Some(size))
}

fn stat(file: &File, path: Option<&str>) -> Result<libc::stat> {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `stat` is a valid out-pointer for one `struct stat`, filled on success.
    if unsafe { libc::fstat(file.as_raw_fd(), stat.as_mut_ptr()) } != 0 {
        return Err(Error::last_os("fstat", path));
    }
    // SAFETY: fstat succeeded and filled it.
    Ok(unsafe { stat.assume_init() })
}

/// See [`Map::open_shared`].
pub fn open(name: &str, read_only: bool) -> Result<Map> {
    let object = object_name(name)?;
    let path = Some(name);
    let flags = if read_only {
        libc::O_RDONLY
    } else {
        libc::O_RDWR
    };
    let file = shm_open(&object, flags).map_err(|e| Error::os(e, "shm_open", path))?;
    let size = stat(&file, path)?.st_size as u64;
    let length = usize::try_from(size)
        .ok()
        .filter(|&len| len <= isize::MAX as usize)
        .ok_or_else(|| Error::OutOfRange(format!("'{name}' is too large to map ({size} bytes)")))?;
    let mode = if read_only {
        Mode::Read
    } else {
        Mode::ReadWrite
    };
    if length == 0 {
        return shared_map(None, mode, name, 0);
    }
    let mut options = MmapOptions::new();
    options.len(length);
    let region = if read_only {
        // Private pages take no commit charge until written.
        options.no_reserve_swap();
        // SAFETY: as in `create`: the bytes are never borrowed as Rust slices.
        match unsafe { options.map_copy(&file) } {
            Ok(region) => region,
            // macOS maps shm objects MAP_SHARED only: take a private snapshot instead.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => snapshot(&file, length, path)?,
            Err(e) => return Err(Error::os(e, "mmap", path)),
        }
    } else {
        // SAFETY: as in `create`.
        unsafe { options.map_mut(&file) }.map_err(|e| Error::os(e, "mmap", path))?
    };
    shared_map(Some(region), mode, name, length)
}

/// A private, writable copy of the object's `length` bytes, for systems that cannot map shm
/// objects copy-on-write.
fn snapshot(file: &File, length: usize, path: Option<&str>) -> Result<memmap2::MmapMut> {
    let mut options = MmapOptions::new();
    options.len(length);
    // SAFETY: read-only shared mapping, dropped at the end of this function; only copied from.
    let source = unsafe { options.map(file) }.map_err(|e| Error::os(e, "mmap", path))?;
    let mut copy = MmapOptions::new()
        .len(length)
        .map_anon()
        .map_err(|e| Error::os(e, "mmap", path))?;
    // SAFETY: both regions are `length` bytes, live, and distinct mappings; `ptr::copy`
    // tolerates the source changing under it (bytes, no invariants).
    unsafe { std::ptr::copy(source.as_ptr(), copy.as_mut_ptr(), length) };
    Ok(copy)
}

fn shared_map(region: Option<memmap2::MmapMut>, mode: Mode, name: &str, len: usize) -> Result<Map> {
    Map::from_region(
        region,
        Kind::Shared,
        mode,
        Some(name.to_owned()),
        0,
        len,
        Backing::None,
    )
}

/// See [`crate::unlink_shared`].
pub fn unlink(name: &str) -> Result<bool> {
    let object = object_name(name)?;
    // SAFETY: `object` is NUL-terminated.
    if unsafe { libc::shm_unlink(object.as_ptr()) } == 0 {
        return Ok(true);
    }
    let error = io::Error::last_os_error();
    match error.raw_os_error() {
        Some(libc::ENOENT) => Ok(false),
        _ => Err(Error::os(error, "shm_unlink", Some(name))),
    }
}
