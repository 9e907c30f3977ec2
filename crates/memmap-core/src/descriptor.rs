//! Mapping a file the caller opened: `openSync(fd | FileHandle)`.
//!
//! The caller keeps its descriptor. The mapping keeps a duplicate of its own (a writable
//! mapping for `resize()` and the truncation check, a read-only one to follow the file on
//! `resize()`), so closing either never affects the other.
//!
//! Descriptors are Node.js's: a POSIX file descriptor, or on Windows a C runtime descriptor of
//! the Node.js executable, which only its own `uv_get_osfhandle` can turn into a handle (this
//! library's C runtime, if it has one, keeps a different table).
//!
//! # Safety
//! A descriptor number from JavaScript may name anything or nothing. It is only ever passed to
//! the calls that duplicate it (`fcntl(F_DUPFD_CLOEXEC)`, `DuplicateHandle`), which fail cleanly
//! on a number that names nothing; what they return is a new descriptor that this module owns.

use std::fs::File;
use std::io;

use crate::error::{Error, Result};
use crate::options::Mode;

const NOT_OPEN: &str = "the descriptor is not an open file (it was closed, or never opened)";

/// Duplicates the caller's descriptor `fd` into a [`File`] of our own.
#[cfg(unix)]
pub fn duplicate(fd: i32) -> Result<File> {
    use std::os::fd::FromRawFd;
    if fd < 0 {
        return Err(bad_descriptor());
    }
    // SAFETY: F_DUPFD_CLOEXEC only reads the descriptor table; a number that names no open
    // descriptor fails with EBADF (see the module's safety paragraph).
    let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if copy < 0 {
        return Err(Error::Descriptor {
            source: io::Error::last_os_error(),
            syscall: "dup",
            hint: NOT_OPEN,
        });
    }
    // SAFETY: `copy` is a new descriptor that nothing else owns.
    Ok(unsafe { File::from_raw_fd(copy) })
}

/// Duplicates the Node.js descriptor `fd` into a [`File`] of our own.
#[cfg(windows)]
pub fn duplicate(fd: i32) -> Result<File> {
    use std::os::windows::io::FromRawHandle;
    use windows_sys::Win32::Foundation::{
        DuplicateHandle, DUPLICATE_SAME_ACCESS, HANDLE, INVALID_HANDLE_VALUE,
    };
    use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
    use windows_sys::Win32::System::Threading::GetCurrentProcess;

    type OsHandleOf = unsafe extern "C" fn(fd: i32) -> HANDLE;
    // SAFETY: a null name asks for the executable's own module, which lives as long as the
    // process; the name passed to GetProcAddress is a NUL-terminated string.
    let found = unsafe {
        GetProcAddress(
            GetModuleHandleW(std::ptr::null()),
            c"uv_get_osfhandle".as_ptr().cast(),
        )
    };
    let Some(found) = found else {
        return Err(Error::Unsupported(
            "mapping a file descriptor needs the host's libuv (uv_get_osfhandle), which this \
             process does not export: pass a path instead"
                .into(),
        ));
    };
    // SAFETY: libuv declares `uv_os_fd_t uv_get_osfhandle(int fd)`, and uv_os_fd_t is a HANDLE
    // on Windows; the function returns INVALID_HANDLE_VALUE for a number that is not open.
    let of: OsHandleOf = unsafe { std::mem::transmute(found) };
    if fd < 0 {
        return Err(bad_descriptor());
    }
    // SAFETY: see above; any int is a valid argument.
    let handle = unsafe { of(fd) };
    if handle == INVALID_HANDLE_VALUE || handle.is_null() {
        return Err(bad_descriptor());
    }
    let mut copy: HANDLE = std::ptr::null_mut();
    // SAFETY: both process handles are the current-process pseudo handle; `copy` is a live
    // HANDLE for the call to fill. A stale `handle` fails with ERROR_INVALID_HANDLE.
    let ok = unsafe {
        DuplicateHandle(
            GetCurrentProcess(),
            handle,
            GetCurrentProcess(),
            &mut copy,
            0,
            0,
            DUPLICATE_SAME_ACCESS,
        )
    };
    if ok == 0 {
        return Err(Error::Descriptor {
            source: io::Error::last_os_error(),
            syscall: "dup",
            hint: NOT_OPEN,
        });
    }
    // SAFETY: `copy` is a new handle that nothing else owns.
    Ok(unsafe { File::from_raw_handle(copy) })
}

/// Fails unless `file` is a regular file opened for what `mode` does with it: reading always,
/// writing for the shared modes. The OS would refuse at `mmap` or `ftruncate` with less telling errors.
#[cfg(unix)]
pub(crate) fn check_access(file: &File, mode: Mode) -> Result<()> {
    use rustix::fs::OFlags;
    if file.metadata().is_ok_and(|meta| !meta.is_file()) {
        return Err(not_a_file(io::Error::from_raw_os_error(libc::ENODEV)));
    }
    let flags = rustix::fs::fcntl_getfl(file).map_err(|e| Error::Descriptor {
        source: e.into(),
        syscall: "fcntl",
        hint: NOT_OPEN,
    })?;
    let access = flags & OFlags::RWMODE;
    let readable = access != OFlags::WRONLY;
    let writable = access != OFlags::RDONLY;
    let hint = if !readable {
        "the descriptor was opened write-only, and a mapping reads: open it with 'r' or 'r+'"
    } else if mode.is_shared() && !writable {
        "the descriptor was opened read-only, and mode 'r+'/'w+' writes through the mapping: \
         open the file with 'r+', or map it with mode 'r'"
    } else if mode.is_shared() && flags.contains(OFlags::APPEND) {
        "the descriptor was opened for appending ('a'), which cannot write at any offset: open \
         the file with 'r+'"
    } else {
        return Ok(());
    };
    Err(Error::Descriptor {
        source: io::Error::from_raw_os_error(libc::EACCES),
        syscall: "mmap",
        hint,
    })
}

/// The same question on Windows: the access the handle was granted (`NtQueryObject`), so that a
/// handle opened without `FILE_WRITE_DATA` is `EACCES` as on POSIX, not the mapping call's
/// "access denied" or "invalid parameter".
#[cfg(windows)]
pub(crate) fn check_access(file: &File, mode: Mode) -> Result<()> {
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Wdk::Foundation::{NtQueryObject, ObjectBasicInformation};
    use windows_sys::Win32::System::WindowsProgramming::PUBLIC_OBJECT_BASIC_INFORMATION;
    // From <winnt.h>: the specific rights of a file object.
    const FILE_READ_DATA: u32 = 0x1;
    const FILE_WRITE_DATA: u32 = 0x2;
    const FILE_APPEND_DATA: u32 = 0x4;

    // SAFETY: the handle is the live file's; GetFileType only reads its type.
    if unsafe { windows_sys::Win32::Storage::FileSystem::GetFileType(file.as_raw_handle()) }
        != windows_sys::Win32::Storage::FileSystem::FILE_TYPE_DISK
    {
        // ERROR_BAD_DEVICE, which the error table names ENODEV, as POSIX's mmap says it.
        return Err(not_a_file(io::Error::from_raw_os_error(1200)));
    }
    let mut info = PUBLIC_OBJECT_BASIC_INFORMATION::default();
    // SAFETY: the handle is the live file's; `info` is a writable structure of the size passed.
    let status = unsafe {
        NtQueryObject(
            file.as_raw_handle(),
            ObjectBasicInformation,
            (&mut info as *mut PUBLIC_OBJECT_BASIC_INFORMATION).cast(),
            std::mem::size_of::<PUBLIC_OBJECT_BASIC_INFORMATION>() as u32,
            std::ptr::null_mut(),
        )
    };
    if status < 0 {
        // Nothing learned: let the mapping call answer for itself.
        return Ok(());
    }
    let access = info.GrantedAccess;
    let hint = if access & FILE_READ_DATA == 0 {
        "the descriptor was opened write-only, and a mapping reads: open it with 'r' or 'r+'"
    } else if mode.is_shared() && access & FILE_WRITE_DATA == 0 && access & FILE_APPEND_DATA != 0 {
        "the descriptor was opened for appending ('a'), which cannot write at any offset: open \
         the file with 'r+'"
    } else if mode.is_shared() && access & FILE_WRITE_DATA == 0 {
        "the descriptor was opened read-only, and mode 'r+'/'w+' writes through the mapping: \
         open the file with 'r+', or map it with mode 'r'"
    } else {
        return Ok(());
    };
    Err(Error::Descriptor {
        // ERROR_ACCESS_DENIED would read as EPERM (libuv v1.x's name for it); libuv names
        // ERROR_CANT_ACCESS_FILE EACCES, the answer POSIX gives.
        source: io::Error::from_raw_os_error(1920), // ERROR_CANT_ACCESS_FILE
        syscall: "mmap",
        hint,
    })
}

/// A pipe, a terminal, a socket or a directory: nothing that can be mapped.
fn not_a_file(source: io::Error) -> Error {
    Error::Descriptor {
        source,
        syscall: "mmap",
        hint: "the descriptor is not a regular file (a pipe, a terminal, a socket or a \
               directory): only files can be mapped",
    }
}

fn bad_descriptor() -> Error {
    #[cfg(unix)]
    let source = io::Error::from_raw_os_error(libc::EBADF);
    // ERROR_INVALID_HANDLE: what libuv reports as EBADF.
    #[cfg(windows)]
    let source = io::Error::from_raw_os_error(6);
    Error::Descriptor {
        source,
        syscall: "dup",
        hint: NOT_OPEN,
    }
}
