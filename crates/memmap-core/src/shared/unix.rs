//! POSIX named shared memory: `shm_open` with `O_CREAT | O_EXCL` and mode 0600, grown (never
//! shrunk) with `ftruncate`, mapped with `mmap`.
//!
//! The descriptor calls go through rustix, which owns the descriptors (`OwnedFd`) and needs no
//! `unsafe` for them. On Linux rustix's `shm::open` opens `/dev/shm/<name>` itself, as glibc
//! (2.34 on) and musl do; elsewhere it calls the C library's `shm_open`. Only `posix_fallocate`
//! stays on libc (see `reserve`).
//!
//! # Safety
//! The pages are mapped through memmap2 and only ever reached through raw pointers (see `Map`),
//! so no Rust reference aliases bytes other processes write.

use std::ffi::{CStr, CString};
use std::fs::File;

use memmap2::MmapOptions;
use rustix::fs::{Mode as FileMode, Stat};
use rustix::io::Errno;
use rustix::shm;

use crate::error::{Error, Result};
use crate::map::{Backing, Map};
use crate::options::{Kind, Mode};

/// The object's name as `shm_open` takes it: `/name` (the name was checked by `check_name`).
fn object_name(name: &str) -> Result<CString> {
    CString::new(format!("/{name}")).map_err(|_| Error::InvalidArgument(format!("{name:?}")))
}

/// Mode 0600. rustix passes it the way each platform's `shm_open` takes it (on Apple, whose
/// `shm_open` is variadic, as a C `unsigned int`).
const OWNER_ONLY: FileMode = FileMode::RUSR.union(FileMode::WUSR);

/// `O_NOFOLLOW`, which glibc's and musl's `shm_open` add to every open of `/dev/shm/<name>`;
/// rustix's own Linux `shm::open` does not, so it is added here to keep their behaviour. Other
/// systems' `shm_open` opens no path (FreeBSD refuses flags it does not know with `EINVAL`).
#[cfg(target_os = "linux")]
fn no_follow() -> shm::OFlags {
    shm::OFlags::from_bits_retain(rustix::fs::OFlags::NOFOLLOW.bits())
}
#[cfg(not(target_os = "linux"))]
fn no_follow() -> shm::OFlags {
    shm::OFlags::empty()
}

fn shm_open(name: &CStr, flags: shm::OFlags) -> rustix::io::Result<File> {
    let fd = shm::open(name, flags | no_follow(), OWNER_ONLY)?;
    // On Linux the descriptor is close-on-exec already (rustix, like glibc, opens it with
    // O_CLOEXEC); elsewhere set it so that a child process spawned by another thread does not
    // inherit the object. Failing only leaks the descriptor into such a child.
    #[cfg(not(target_os = "linux"))]
    let _ = rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::CLOEXEC);
    Ok(File::from(fd))
}

/// See [`Map::create_shared`].
pub fn create(name: &str, length: usize, exclusive: bool) -> Result<Map> {
    let object = object_name(name)?;
    let path = Some(name);
    let create = shm::OFlags::RDWR | shm::OFlags::CREATE | shm::OFlags::EXCL;
    let (file, created) = loop {
        match shm_open(&object, create) {
            Ok(file) => break (file, true),
            Err(Errno::EXIST) if !exclusive => {}
            Err(e) => return Err(Error::os(e.into(), "shm_open", path)),
        }
        match shm_open(&object, shm::OFlags::RDWR) {
            Ok(file) => break (file, false),
            // Unlinked between the two calls: try to create it again.
            Err(Errno::NOENT) => continue,
            Err(e) => return Err(Error::os(e.into(), "shm_open", path)),
        }
    };
    if created {
        // The umask may have taken bits away from 0600; put exactly 0600 back. It can only
        // have narrowed the mode, so failing here (macOS may refuse fchmod on shm objects) leaves
        // the object no more open than asked.
        let mode = stat(&file, path)?.st_mode & 0o777;
        if mode != 0o600 {
            let _ = rustix::fs::fchmod(&file, OWNER_ONLY);
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
            let _ = shm::unlink(self.object.as_c_str());
        } else if let Some(size) = self.grown_from {
            let _ = rustix::fs::ftruncate(self.file, size);
        }
    }
}

/// Linux: allocates the object's pages in `[from, to)` now (`posix_fallocate`, as Chromium does
/// for its shared memory), so that an object larger than what `/dev/shm` can hold fails here with
/// `ENOSPC`, rather than each process that touches a page it cannot have being sent SIGBUS (which
/// the truncation guard would then mend with private zero pages nobody else sees).
///
/// This stays on libc: rustix offers only Linux's `fallocate(2)` system call, whereas glibc's
/// `posix_fallocate` also writes the blocks itself where a file system lacks `fallocate`.
fn reserve(file: &File, from: u64, to: u64, path: Option<&str>) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
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
                std::io::Error::from_raw_os_error(error),
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
    #[cfg(target_os = "linux")]
    let _ = rustix::fs::flock(file, rustix::fs::FlockOperation::LockExclusive);
    let grown = grow_locked(file, length, path);
    // Unlocked explicitly: closing the descriptor would not do it, since the mapping made next
    // keeps the open file description (which owns the lock) alive.
    #[cfg(target_os = "linux")]
    let _ = rustix::fs::flock(file, rustix::fs::FlockOperation::Unlock);
    grown
}

fn grow_locked(file: &File, length: u64, path: Option<&str>) -> Result<Option<u64>> {
    let size = stat(file, path)?.st_size as u64;
    if size >= length {
        return Ok(None);
    }
    if let Err(error) = rustix::fs::ftruncate(file, length) {
        // macOS sizes an object once: another creator may have sized it first, big enough.
        if (stat(file, path)?.st_size as u64) < length {
            return Err(Error::os(error.into(), "ftruncate", path));
        }
        return Ok(None);
    }
    Ok(Some(size))
}

fn stat(file: &File, path: Option<&str>) -> Result<Stat> {
    rustix::fs::fstat(file).map_err(|e| Error::os(e.into(), "fstat", path))
}

/// See [`Map::open_shared`].
pub fn open(name: &str, read_only: bool) -> Result<Map> {
    let object = object_name(name)?;
    let path = Some(name);
    let flags = if read_only {
        shm::OFlags::RDONLY
    } else {
        shm::OFlags::RDWR
    };
    let file = shm_open(&object, flags).map_err(|e| Error::os(e.into(), "shm_open", path))?;
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
    match shm::unlink(object.as_c_str()) {
        Ok(()) => Ok(true),
        Err(Errno::NOENT) => Ok(false),
        Err(error) => Err(Error::os(error.into(), "shm_unlink", Some(name))),
    }
}
