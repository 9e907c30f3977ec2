//! Platform facts, memory control and error names, one module per platform family. Named shared
//! memory (`shared/`) and waiting on a word (`wait/`) keep their platform parts beside them.
//!
//! # Safety
//! [`touch_pages`] reads (and may write back) one byte per page of a range its caller
//! guarantees is whole pages of a live mapping; the platform modules say the same of theirs.

mod advice;
pub use advice::Advice;

// The same names from each platform family's module, listed rather than globbed.
#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as sys;
#[cfg(windows)]
mod windows;
pub use sys::{
    advise, advise_huge_pages, allocation_granularity, describe, errno_name, file_identity,
    has_advice, is_lock_limit, lock, lock_limit_hint, page_size, populate_write, prefetch,
    resident_pages, unlock, uv_errno, ENOMEM_ERRNO, SYSCALL_ADVISE, SYSCALL_LOCK, SYSCALL_PREFETCH,
    SYSCALL_RESIDENCY, SYSCALL_THREAD, SYSCALL_UNLOCK,
};
#[cfg(windows)]
use windows as sys;

/// A view of a Windows named section (an empty type elsewhere).
pub(crate) use sys::Section;

use std::io;

/// The error name for an `io::Error` that carries no OS code (raised by a library, not the OS).
fn name_of_kind(error: &io::Error) -> &'static str {
    match error.kind() {
        io::ErrorKind::NotFound => "ENOENT",
        io::ErrorKind::PermissionDenied => "EACCES",
        io::ErrorKind::AlreadyExists => "EEXIST",
        io::ErrorKind::IsADirectory => "EISDIR",
        io::ErrorKind::OutOfMemory => "ENOMEM",
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => "EINVAL",
        io::ErrorKind::Unsupported => "ENOTSUP",
        _ => "UNKNOWN",
    }
}

/// The human part of the message, without Rust's " (os error N)" suffix.
fn plain_message(error: &io::Error) -> String {
    let text = error.to_string();
    let text = match text.find(" (os error ") {
        Some(at) => &text[..at],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Reads the first byte of every page in `[addr, addr + len)` so that the OS faults each one in;
/// with `write`, writes the same byte back so that each page is faulted in writable.
///
/// # Safety
/// `[addr, addr + len)` must be whole pages of a live mapping of this process, writable if
/// `write`; with `write`, nothing else may write those bytes meanwhile.
pub(crate) unsafe fn touch_pages(addr: *mut u8, len: usize, write: bool) {
    let page = page_size();
    let mut at = 0;
    while at < len {
        // SAFETY: `at < len`, so the byte lies inside the caller's range; volatile, so that the
        // compiler keeps every access.
        unsafe {
            let byte = addr.add(at);
            let value = byte.read_volatile();
            if write {
                byte.write_volatile(value);
            }
        }
        at += page;
    }
}
