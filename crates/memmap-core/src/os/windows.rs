//! Windows: allocation granularity from `GetSystemInfo`, Win32 errors named as libuv names them.
//!
//! Not built on the development machine (Linux); reviewed by hand and built by the CI workflow.

use std::io;

// From <winerror.h>; the subset a mapping can meet, with libuv's translation (src/win/error.c).
const NAMES: &[(i32, &str, i32, &str)] = &[
    (2, "ENOENT", -4058, "no such file or directory"), // ERROR_FILE_NOT_FOUND
    (3, "ENOENT", -4058, "no such file or directory"), // ERROR_PATH_NOT_FOUND
    (5, "EPERM", -4048, "operation not permitted"),    // ERROR_ACCESS_DENIED, as libuv maps it
    (8, "ENOMEM", -4057, "not enough memory"),         // ERROR_NOT_ENOUGH_MEMORY
    (14, "ENOMEM", -4057, "not enough memory"),        // ERROR_OUTOFMEMORY
    (32, "EBUSY", -4082, "resource busy or locked"),   // ERROR_SHARING_VIOLATION
    (33, "EBUSY", -4082, "resource busy or locked"),   // ERROR_LOCK_VIOLATION
    (80, "EEXIST", -4075, "file already exists"),      // ERROR_FILE_EXISTS
    (87, "EINVAL", -4071, "invalid argument"),         // ERROR_INVALID_PARAMETER
    (112, "ENOSPC", -4055, "no space left on device"), // ERROR_DISK_FULL
    (123, "ENOENT", -4058, "no such file or directory"), // ERROR_INVALID_NAME
    (183, "EEXIST", -4075, "file already exists"),     // ERROR_ALREADY_EXISTS
    (206, "ENAMETOOLONG", -4064, "name too long"),     // ERROR_FILENAME_EXCED_RANGE
    (267, "ENOTDIR", -4052, "not a directory"),        // ERROR_DIRECTORY
    (1224, "EBUSY", -4082, "resource busy or locked"), // ERROR_USER_MAPPED_FILE
    (1314, "EPERM", -4048, "operation not permitted"), // ERROR_PRIVILEGE_NOT_HELD
    (1453, "ENOMEM", -4057, "not enough memory"),      // ERROR_WORKING_SET_QUOTA
    (1455, "ENOMEM", -4057, "not enough memory"),      // ERROR_COMMITMENT_LIMIT
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
        #[repr(C)]
        struct SystemInfo {
            processor_architecture: u16,
            reserved: u16,
            page_size: u32,
            minimum_application_address: *mut core::ffi::c_void,
            maximum_application_address: *mut core::ffi::c_void,
            active_processor_mask: usize,
            number_of_processors: u32,
            processor_type: u32,
            allocation_granularity: u32,
            processor_level: u16,
            processor_revision: u16,
        }
        extern "system" {
            fn GetSystemInfo(info: *mut SystemInfo);
        }
        let mut info = core::mem::MaybeUninit::<SystemInfo>::zeroed();
        // SAFETY: GetSystemInfo fills the whole SYSTEM_INFO structure, whose layout `SystemInfo`
        // repeats field for field; it cannot fail.
        let info = unsafe {
            GetSystemInfo(info.as_mut_ptr());
            info.assume_init()
        };
        (
            info.page_size as usize,
            info.allocation_granularity as usize,
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
