//! Windows: allocation granularity from `GetSystemInfo`, Win32 errors named as libuv names them.
//!
//! Not built on the development machine (Linux); reviewed by hand and built by the CI workflow.
//!
//! # Safety
//! The memory control functions are `unsafe fn`s over a range `[addr, addr + len)` that the
//! caller guarantees is whole pages of a live view of this process (`Map::pages` computes it);
//! the Win32 calls here change only the working set and lock state of those pages.

use std::io;

use std::ptr::NonNull;

use windows_sys::Win32::Foundation::{
    CloseHandle, ERROR_NOT_LOCKED, ERROR_WORKING_SET_QUOTA, HANDLE,
};
use windows_sys::Win32::System::Memory::{
    PrefetchVirtualMemory, UnmapViewOfFile, VirtualLock, VirtualUnlock, MEMORY_MAPPED_VIEW_ADDRESS,
    WIN32_MEMORY_RANGE_ENTRY,
};
use windows_sys::Win32::System::ProcessStatus::{
    K32QueryWorkingSetEx, PSAPI_WORKING_SET_EX_INFORMATION,
};
use windows_sys::Win32::System::SystemInformation::{GetSystemInfo, SYSTEM_INFO};
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, GetProcessWorkingSetSize, SetProcessWorkingSetSize,
};

use super::Advice;

// From <winerror.h>; the subset a mapping can meet, translated as libuv's v1.x branch translates
// them (`uv_translate_sys_error`, src/win/error.c), except the last three, which libuv calls
// UNKNOWN and which are named here for what they mean to a mapping.
const NAMES: &[(i32, &str, i32, &str)] = &[
    (2, "ENOENT", -4058, "no such file or directory"), // ERROR_FILE_NOT_FOUND
    (3, "ENOENT", -4058, "no such file or directory"), // ERROR_PATH_NOT_FOUND
    // libuv v1.x, which Node.js uses, keeps EPERM here on purpose (libuv PR 3565 reverted the
    // remap to EACCES); only libuv's master branch says EACCES.
    (5, "EPERM", -4048, "operation not permitted"), // ERROR_ACCESS_DENIED
    (6, "EBADF", -4083, "bad file descriptor"),     // ERROR_INVALID_HANDLE
    (8, "ENOMEM", -4057, "not enough memory"),      // ERROR_NOT_ENOUGH_MEMORY
    (14, "ENOMEM", -4057, "not enough memory"),     // ERROR_OUTOFMEMORY
    (32, "EBUSY", -4082, "resource busy or locked"), // ERROR_SHARING_VIOLATION
    (33, "EBUSY", -4082, "resource busy or locked"), // ERROR_LOCK_VIOLATION
    (80, "EEXIST", -4075, "file already exists"),   // ERROR_FILE_EXISTS
    (87, "EINVAL", -4071, "invalid argument"),      // ERROR_INVALID_PARAMETER
    (112, "ENOSPC", -4055, "no space left on device"), // ERROR_DISK_FULL
    (123, "ENOENT", -4058, "no such file or directory"), // ERROR_INVALID_NAME
    (183, "EEXIST", -4075, "file already exists"),  // ERROR_ALREADY_EXISTS
    (206, "ENAMETOOLONG", -4064, "name too long"),  // ERROR_FILENAME_EXCED_RANGE
    (267, "ENOENT", -4058, "no such file or directory"), // ERROR_DIRECTORY, as libuv has it
    (336, "EISDIR", -4068, "illegal operation on a directory"), // ERROR_DIRECTORY_NOT_SUPPORTED
    (1314, "EPERM", -4048, "operation not permitted"), // ERROR_PRIVILEGE_NOT_HELD
    (1224, "EBUSY", -4082, "resource busy or locked"), // ERROR_USER_MAPPED_FILE
    (1200, "ENODEV", -4052, "no such device"),      // ERROR_BAD_DEVICE (descriptor.rs)
    (1453, "ENOMEM", -4057, "not enough memory"),   // ERROR_WORKING_SET_QUOTA
    (1920, "EACCES", -4092, "permission denied"),   // ERROR_CANT_ACCESS_FILE (descriptor.rs)
    (1455, "ENOMEM", -4057, "not enough memory"),   // ERROR_COMMITMENT_LIMIT
];

fn lookup(error: &io::Error) -> Option<&'static (i32, &'static str, i32, &'static str)> {
    let raw = error.raw_os_error()?;
    NAMES.iter().find(|(code, ..)| *code == raw)
}

/// The size of a memory page in bytes.
pub fn page_size() -> usize {
    system_info().0
}

/// The alignment a view's file offset must have: 64 KiB on Windows.
pub fn allocation_granularity() -> usize {
    system_info().1
}

fn system_info() -> (usize, usize) {
    use std::sync::OnceLock;
    static INFO: OnceLock<(usize, usize)> = OnceLock::new();
    *INFO.get_or_init(|| {
        let mut info = SYSTEM_INFO::default();
        // SAFETY: `info` is a live SYSTEM_INFO for GetSystemInfo to fill; it cannot fail.
        unsafe { GetSystemInfo(&mut info) };
        (
            info.dwPageSize as usize,
            info.dwAllocationGranularity as usize,
        )
    })
}

/// `errno` of `ENOMEM` as libuv reports it on Windows.
pub const ENOMEM_ERRNO: i32 = -4057;

/// `errno` as Node's `fs` reports it on Windows: libuv's negative code.
pub fn uv_errno(raw: i32) -> i32 {
    NAMES
        .iter()
        .find(|(code, ..)| *code == raw)
        .map_or(-4094, |entry| entry.2)
}

/// The errno name libuv gives a Win32 error.
pub fn errno_name(error: &io::Error) -> &'static str {
    match lookup(error) {
        Some(entry) => entry.1,
        None if error.raw_os_error().is_some() => "UNKNOWN",
        None => super::name_of_kind(error),
    }
}

/// The message libuv gives for an error.
pub fn describe(error: &io::Error) -> String {
    match lookup(error) {
        Some(entry) => entry.3.to_owned(),
        None => super::plain_message(error),
    }
}

/// Windows offers large pages only to processes holding SeLockMemoryPrivilege, for anonymous
/// memory: for file mappings the hint has nothing to ask for.
pub fn advise_huge_pages(_region: &memmap2::MmapMut) {}

/// The system calls named in errors from the memory control functions.
pub const SYSCALL_ADVISE: &str = "PrefetchVirtualMemory";
/// The call that starts a thread.
pub const SYSCALL_THREAD: &str = "CreateThread";
pub const SYSCALL_LOCK: &str = "VirtualLock";
pub const SYSCALL_UNLOCK: &str = "VirtualUnlock";
pub const SYSCALL_RESIDENCY: &str = "QueryWorkingSetEx";
pub const SYSCALL_PREFETCH: &str = "PrefetchVirtualMemory";

/// From VirtualUnlock on pages that were not locked.
const NOT_LOCKED: i32 = ERROR_NOT_LOCKED as i32;
/// From VirtualLock past the minimum working set.
const WORKING_SET_QUOTA: i32 = ERROR_WORKING_SET_QUOTA as i32;

/// Whether Windows has `advice`: only `'willneed'` (PrefetchVirtualMemory).
pub fn has_advice(advice: Advice) -> bool {
    advice == Advice::WillNeed
}

/// `'willneed'` starts reading the pages in (PrefetchVirtualMemory); every other advice has no
/// Windows counterpart and returns `Ok(false)`.
///
/// # Safety
/// `[addr, addr + len)` must be whole pages of a live view of this process.
pub unsafe fn advise(addr: *mut u8, len: usize, advice: Advice) -> io::Result<bool> {
    if advice != Advice::WillNeed {
        return Ok(false);
    }
    // SAFETY: the caller's range, passed on.
    unsafe { prefetch_start(addr, len) }?;
    Ok(true)
}

/// Asks the memory manager to read the pages in, without waiting.
///
/// # Safety
/// `[addr, addr + len)` must be whole pages of a live view of this process.
unsafe fn prefetch_start(addr: *mut u8, len: usize) -> io::Result<()> {
    let range = WIN32_MEMORY_RANGE_ENTRY {
        VirtualAddress: addr.cast(),
        NumberOfBytes: len,
    };
    // SAFETY: one valid range entry for the current process (a pseudo-handle that needs no
    // closing); the call only schedules reads of those pages.
    if unsafe { PrefetchVirtualMemory(GetCurrentProcess(), 1, &range, 0) } != 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Locks the pages in the working set. VirtualLock allows only what fits in the process's minimum
/// working set (about 200 KiB by default), so on ERROR_WORKING_SET_QUOTA the minimum and maximum
/// are raised by the range's size and the lock tried once more.
///
/// # Safety
/// `[addr, addr + len)` must be whole pages of a live view of this process.
pub unsafe fn lock(addr: *mut u8, len: usize, _private: bool) -> io::Result<()> {
    // SAFETY: the caller vouches for the range; VirtualLock only pins its pages.
    if unsafe { VirtualLock(addr.cast_const().cast(), len) } != 0 {
        return Ok(());
    }
    let error = io::Error::last_os_error();
    if error.raw_os_error() != Some(WORKING_SET_QUOTA) {
        return Err(error);
    }
    let (mut min, mut max) = (0usize, 0usize);
    // SAFETY: the current process's pseudo-handle and two valid out-pointers; then a plain
    // request to change this process's working-set bounds, and the same lock again.
    let retried = unsafe {
        let process = GetCurrentProcess();
        GetProcessWorkingSetSize(process, &mut min, &mut max) != 0
            && SetProcessWorkingSetSize(process, min.saturating_add(len), max.saturating_add(len))
                != 0
            && VirtualLock(addr.cast_const().cast(), len) != 0
    };
    if retried {
        Ok(())
    } else {
        Err(error)
    }
}

/// Unlocks the pages; pages that were not locked are no error (Windows then only trims them from
/// the working set).
///
/// # Safety
/// `[addr, addr + len)` must be whole pages of a live view of this process.
pub unsafe fn unlock(addr: *mut u8, len: usize) -> io::Result<()> {
    // SAFETY: the caller vouches for the range; VirtualUnlock only unpins its pages.
    if unsafe { VirtualUnlock(addr.cast_const().cast(), len) } != 0 {
        return Ok(());
    }
    let error = io::Error::last_os_error();
    if error.raw_os_error() == Some(NOT_LOCKED) {
        Ok(())
    } else {
        Err(error)
    }
}

/// Whether a failed `lock` hit the working-set limit.
pub fn is_lock_limit(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(WORKING_SET_QUOTA | 8 | 14 | 1455)
    )
}

/// What to raise when locking `bytes` failed on a limit.
pub fn lock_limit_hint(bytes: usize) -> String {
    format!(
        "locking {bytes} bytes needs a minimum working-set size that large, and Windows refused \
         to raise this process's (SetProcessWorkingSetSize): free memory, or lock a smaller range"
    )
}

/// How many of the pages in `[addr, addr + len)` are in this process's working set
/// (QueryWorkingSetEx). Pages Windows keeps in its standby list count as not resident.
///
/// # Safety
/// `[addr, addr + len)` must be whole pages of a live view of this process.
pub unsafe fn resident_pages(addr: *mut u8, len: usize) -> io::Result<usize> {
    const CHUNK_PAGES: usize = 1 << 14;
    let page = page_size();
    let pages = len.div_ceil(page);
    let mut entries = vec![PSAPI_WORKING_SET_EX_INFORMATION::default(); CHUNK_PAGES.min(pages)];
    let mut resident = 0;
    let mut first = 0;
    while first < pages {
        let count = (pages - first).min(CHUNK_PAGES);
        for (i, entry) in entries[..count].iter_mut().enumerate() {
            *entry = PSAPI_WORKING_SET_EX_INFORMATION {
                VirtualAddress: addr.wrapping_add((first + i) * page).cast(),
                ..Default::default()
            };
        }
        let size = (count * std::mem::size_of::<PSAPI_WORKING_SET_EX_INFORMATION>()) as u32;
        // SAFETY: `entries` holds `count` initialised entries, `size` bytes; the call only
        // fills in their attributes.
        let ok =
            unsafe { K32QueryWorkingSetEx(GetCurrentProcess(), entries.as_mut_ptr().cast(), size) };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        resident += entries[..count]
            .iter()
            // Bit 0 of the attributes is `Valid`: the page is in the working set.
            // SAFETY: `Flags` is the whole union as one `usize`, and every bit pattern is a
            // valid `usize`.
            .filter(|entry| unsafe { entry.VirtualAttributes.Flags } & 1 != 0)
            .count();
        first += count;
    }
    Ok(resident)
}

/// Reads the pages in (PrefetchVirtualMemory, which only schedules the reads) and returns once
/// each is resident, by reading one byte of each.
///
/// # Safety
/// `[addr, addr + len)` must be whole pages of a live view of this process.
pub unsafe fn prefetch(addr: *mut u8, len: usize) -> io::Result<()> {
    // SAFETY: the caller's range, passed on. A failure to schedule is no failure to prefetch:
    // the reads below fault the pages in anyway.
    let _ = unsafe { prefetch_start(addr, len) };
    // SAFETY: the caller's range, passed on.
    unsafe { super::touch_pages(addr, len, false) };
    Ok(())
}

/// Faults fresh anonymous pages in, writable.
///
/// # Safety
/// `[addr, addr + len)` must be whole writable pages of a live view of this process that nothing
/// else writes yet.
pub unsafe fn populate_write(addr: *mut u8, len: usize) {
    // SAFETY: the caller's range and promise, passed on.
    unsafe { super::touch_pages(addr, len, true) };
}

/// What names a file's bytes whichever path or handle maps them: its volume's serial number and
/// its file index.
pub fn file_identity(file: &std::fs::File) -> Option<String> {
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::Storage::FileSystem::{
        GetFileInformationByHandle, BY_HANDLE_FILE_INFORMATION,
    };
    // SAFETY: a plain-data structure, all zero is a valid value.
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: the handle is the open file's, alive for the call; `info` is a valid out-pointer.
    let ok = unsafe { GetFileInformationByHandle(file.as_raw_handle(), &mut info) };
    (ok != 0).then(|| {
        format!(
            "{}:{}",
            info.dwVolumeSerialNumber,
            (u64::from(info.nFileIndexHigh) << 32) | u64::from(info.nFileIndexLow)
        )
    })
}

/// A view of a named section, and the handle that keeps the name alive.
#[derive(Debug)]
pub struct Section {
    handle: HANDLE,
    view: NonNull<u8>,
}

// SAFETY: a section handle and a view address may be used and released from any thread; the
// bytes behind the view are reached through raw pointers only (see `Map`).
unsafe impl Send for Section {}
// SAFETY: as above; `&Section` only hands out the view's address.
unsafe impl Sync for Section {}

impl Section {
    /// Takes ownership of a section `handle` and a `view` mapped from it.
    ///
    /// # Safety
    /// `handle` must be a live section handle and `view` the base of a live view of it, neither
    /// owned by anything else: the Section unmaps and closes them once, when dropped.
    pub(crate) unsafe fn adopt(handle: HANDLE, view: NonNull<u8>) -> Section {
        Section { handle, view }
    }

    /// The first byte of the view.
    pub fn as_ptr(&self) -> NonNull<u8> {
        self.view
    }
}

impl Drop for Section {
    fn drop(&mut self) {
        // SAFETY: the view and the handle are owned by this Section and released once, here.
        unsafe {
            UnmapViewOfFile(MEMORY_MAPPED_VIEW_ADDRESS {
                Value: self.view.as_ptr().cast(),
            });
            CloseHandle(self.handle);
        }
    }
}
