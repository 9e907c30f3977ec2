//! Windows named shared memory: a section backed by the paging file (`CreateFileMappingW` on
//! `INVALID_HANDLE_VALUE`), named `Local\memmap.<name>` (this session's namespace), created with
//! a security descriptor whose only entry grants the current user full access.
//!
//! A section cannot grow, and it exists while some process holds a handle to it or a view of
//! it: each `Map` keeps its handle open, there is no unlink, and sizes are whole pages as far
//! as `openShared` can tell (`VirtualQuery` reports the view's pages).
//!
//! Not built on the development machine (Linux); reviewed by hand against the Win32
//! documentation of each function used, and built by the CI workflow.
//!
//! # Safety
//! Every handle and view is owned by a [`Section`] (`os/windows.rs`; or closed on the error path
//! right where it was made) and released once, in its `Drop`. Out-pointers passed to Win32 are live locals of the
//! right type; strings passed are NUL-terminated UTF-16 buffers that outlive the call.

use std::ffi::c_void;
use std::io;
use std::ptr::{self, NonNull};

use windows_sys::Win32::Foundation::{
    CloseHandle, LocalFree, ERROR_ALREADY_EXISTS, HANDLE, INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Security::Authorization::{
    ConvertSidToStringSidW, ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
};
use windows_sys::Win32::Security::{
    GetTokenInformation, TokenUser, PSECURITY_DESCRIPTOR, SECURITY_ATTRIBUTES, TOKEN_QUERY,
    TOKEN_USER,
};
use windows_sys::Win32::System::Memory::{
    CreateFileMappingW, MapViewOfFile, OpenFileMappingW, VirtualQuery, FILE_MAP_COPY,
    FILE_MAP_READ, FILE_MAP_WRITE, MEMORY_BASIC_INFORMATION, PAGE_READWRITE,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

use crate::budget::Reservation;
use crate::error::{Error, Result};
use crate::map::{Backing, Map};
use crate::options::{Kind, Mode};
use crate::os::Section;

/// The error `CreateFileMappingW` leaves when the name was taken, as `io::Error` reports it.
const ALREADY_EXISTS: i32 = ERROR_ALREADY_EXISTS as i32;

fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().chain(Some(0)).collect()
}

fn object_name(name: &str) -> Vec<u16> {
    wide(&format!("Local\\memmap.{name}"))
}

/// An owned Win32 handle, closed on drop (for the token).
struct Owned(HANDLE);

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: the handle is owned here and closed once.
        unsafe { CloseHandle(self.0) };
    }
}

/// A LocalAlloc'd block, freed on drop.
struct Local(*mut c_void);

impl Drop for Local {
    fn drop(&mut self) {
        // SAFETY: the block came from a Win32 function that allocates with LocalAlloc.
        unsafe { LocalFree(self.0) };
    }
}

/// `D:P(A;;GA;;;<user SID>)`: a protected DACL granting the current user, and nobody else, all
/// access.
fn owner_only(path: Option<&str>) -> Result<Local> {
    let mut token: HANDLE = ptr::null_mut();
    // SAFETY: GetCurrentProcess returns a pseudo-handle; `token` is a valid out-pointer.
    if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
        return Err(Error::last_os("OpenProcessToken", path));
    }
    let token = Owned(token);
    let mut needed = 0u32;
    // SAFETY: a size query: null buffer of length 0, `needed` receives the size.
    unsafe { GetTokenInformation(token.0, TokenUser, ptr::null_mut(), 0, &mut needed) };
    // u64s keep the TOKEN_USER structure (pointers first) aligned.
    let mut buffer = vec![0u64; (needed as usize).div_ceil(8).max(1)];
    // SAFETY: `buffer` holds at least `needed` bytes, suitably aligned for TOKEN_USER.
    let ok = unsafe {
        GetTokenInformation(
            token.0,
            TokenUser,
            buffer.as_mut_ptr().cast(),
            (buffer.len() * 8) as u32,
            &mut needed,
        )
    };
    if ok == 0 {
        return Err(Error::last_os("GetTokenInformation", path));
    }
    // SAFETY: GetTokenInformation filled a TOKEN_USER at the start of `buffer`, which is aligned
    // for it.
    let sid = unsafe { (*buffer.as_ptr().cast::<TOKEN_USER>()).User.Sid };
    let mut sid_text: *mut u16 = ptr::null_mut();
    // SAFETY: `sid` points into `buffer`, alive; `sid_text` is a valid out-pointer.
    if unsafe { ConvertSidToStringSidW(sid, &mut sid_text) } == 0 {
        return Err(Error::last_os("ConvertSidToStringSid", path));
    }
    let sid_text = Local(sid_text.cast());
    // SAFETY: ConvertSidToStringSidW returned a NUL-terminated UTF-16 string.
    let sid_string = unsafe {
        let start = sid_text.0.cast::<u16>();
        let mut len = 0;
        while *start.add(len) != 0 {
            len += 1;
        }
        String::from_utf16_lossy(std::slice::from_raw_parts(start, len))
    };
    let sddl = wide(&format!("D:P(A;;GA;;;{sid_string})"));
    let mut descriptor: PSECURITY_DESCRIPTOR = ptr::null_mut();
    // SAFETY: `sddl` is NUL-terminated; `descriptor` is a valid out-pointer; size is optional.
    let ok = unsafe {
        ConvertStringSecurityDescriptorToSecurityDescriptorW(
            sddl.as_ptr(),
            SDDL_REVISION_1,
            &mut descriptor,
            ptr::null_mut(),
        )
    };
    if ok == 0 {
        return Err(Error::last_os(
            "ConvertStringSecurityDescriptorToSecurityDescriptor",
            path,
        ));
    }
    Ok(Local(descriptor))
}

/// Maps `bytes` (0: all) of the section `handle`, taking ownership of the handle.
fn view(handle: HANDLE, access: u32, bytes: usize, path: Option<&str>) -> Result<Section> {
    // SAFETY: `handle` is a live section handle.
    let base = unsafe { MapViewOfFile(handle, access, 0, 0, bytes) };
    match NonNull::new(base.Value.cast::<u8>()) {
        // SAFETY: `handle` is live and `view` was just mapped from it; both go to the Section,
        // which releases them once.
        Some(view) => Ok(unsafe { Section::adopt(handle, view) }),
        None => {
            let error = Error::last_os("MapViewOfFile", path);
            // SAFETY: the handle is still owned here and closed once.
            unsafe { CloseHandle(handle) };
            Err(error)
        }
    }
}

/// The size of a whole-section view, in whole pages.
fn view_size(section: &Section) -> usize {
    let mut info = MEMORY_BASIC_INFORMATION::default();
    // SAFETY: `info` is a valid out-pointer of the size passed; the address is a live view.
    let written = unsafe {
        VirtualQuery(
            section.as_ptr().as_ptr().cast_const().cast(),
            &mut info,
            std::mem::size_of::<MEMORY_BASIC_INFORMATION>(),
        )
    };
    if written == 0 {
        return 0;
    }
    info.RegionSize
}

/// The `Map` over a section's view, counted against the mapping budget. No truncation guard:
/// a section's size is fixed when it is created.
fn shared_map(section: Section, mode: Mode, name: &str, len: usize) -> Result<Map> {
    Ok(Map {
        sigbus: None,
        _budget: Some(Reservation::take(Some(name))?),
        region: None,
        section: Some(section),
        exposed: std::sync::OnceLock::new(),
        gaps: Default::default(),
        io: crate::io::Io::default(),
        kind: Kind::Shared,
        mode,
        path: Some(name.to_owned()),
        offset: 0,
        len,
        backing: Backing::None,
    })
}

/// See [`Map::create_shared`].
pub fn create(name: &str, length: usize, exclusive: bool) -> Result<Map> {
    let path = Some(name);
    let descriptor = owner_only(path)?;
    let attributes = SECURITY_ATTRIBUTES {
        nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: descriptor.0,
        bInheritHandle: 0,
    };
    let object = object_name(name);
    let size = length as u64;
    // SAFETY: INVALID_HANDLE_VALUE (-1) asks for a paging-file section; `attributes` and
    // `object` outlive the call.
    let handle = unsafe {
        CreateFileMappingW(
            INVALID_HANDLE_VALUE,
            &attributes,
            PAGE_READWRITE,
            (size >> 32) as u32,
            size as u32,
            object.as_ptr(),
        )
    };
    if handle.is_null() {
        return Err(Error::last_os("CreateFileMapping", path));
    }
    let existed = io::Error::last_os_error().raw_os_error() == Some(ALREADY_EXISTS);
    if existed && exclusive {
        // SAFETY: the handle is owned here and closed once.
        unsafe { CloseHandle(handle) };
        return Err(Error::os(
            io::Error::from_raw_os_error(ALREADY_EXISTS),
            "CreateFileMapping",
            path,
        ));
    }
    if existed {
        // The size arguments were ignored: a section keeps the size it was made with.
        let whole = view(handle, FILE_MAP_READ | FILE_MAP_WRITE, 0, path)?;
        let available = view_size(&whole);
        if available < length {
            return Err(Error::Unsupported(format!(
                "shared memory '{name}' has {available} bytes and cannot grow on Windows: \
                 ask for at most that, or use a new name"
            )));
        }
        return shared_map(whole, Mode::ReadWrite, name, length);
    }
    let section = view(handle, FILE_MAP_READ | FILE_MAP_WRITE, length, path)?;
    shared_map(section, Mode::ReadWrite, name, length)
}

/// See [`Map::open_shared`]. The length is the section's, rounded up to whole pages.
pub fn open(name: &str, read_only: bool) -> Result<Map> {
    let path = Some(name);
    let object = object_name(name);
    let (access, mode) = if read_only {
        (FILE_MAP_READ | FILE_MAP_COPY, Mode::Read)
    } else {
        (FILE_MAP_READ | FILE_MAP_WRITE, Mode::ReadWrite)
    };
    // SAFETY: `object` is NUL-terminated and outlives the call.
    let handle = unsafe { OpenFileMappingW(access, 0, object.as_ptr()) };
    if handle.is_null() {
        return Err(Error::last_os("OpenFileMapping", path));
    }
    // Copy-on-write for readOnly: written pages become private to this process.
    let view_access = if read_only { FILE_MAP_COPY } else { access };
    let section = view(handle, view_access, 0, path)?;
    let length = view_size(&section);
    shared_map(section, mode, name, length)
}

/// A section has no name to remove: it goes when the last handle and view do.
pub fn unlink(_name: &str) -> Result<bool> {
    Ok(false)
}
