//! POSIX: page size from `sysconf`, errno names and libuv-style descriptions.

use std::io;

/// The size of a memory page in bytes.
pub fn page_size() -> usize {
    use std::sync::OnceLock;
    static PAGE_SIZE: OnceLock<usize> = OnceLock::new();
    // SAFETY: `sysconf` reads a configuration value; `_SC_PAGESIZE` is valid on every POSIX
    // system and the call has no preconditions.
    *PAGE_SIZE.get_or_init(|| match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        size if size > 0 => size as usize,
        _ => 4096,
    })
}

/// The alignment a mapping's file offset must have: the page size on POSIX.
pub fn allocation_granularity() -> usize {
    page_size()
}

/// `errno` of `ENOMEM` as Node reports it.
pub const ENOMEM_ERRNO: i32 = -libc::ENOMEM;

/// `errno` as Node's `fs` reports it: negated, as libuv does on POSIX.
pub fn uv_errno(raw: i32) -> i32 {
    -raw
}

const NAMES: &[(i32, &str, &str)] = &[
    (libc::EPERM, "EPERM", "operation not permitted"),
    (libc::ENOENT, "ENOENT", "no such file or directory"),
    (libc::EIO, "EIO", "i/o error"),
    (libc::ENXIO, "ENXIO", "no such device or address"),
    (libc::EBADF, "EBADF", "bad file descriptor"),
    (libc::EAGAIN, "EAGAIN", "resource temporarily unavailable"),
    (libc::ENOMEM, "ENOMEM", "not enough memory"),
    (libc::EACCES, "EACCES", "permission denied"),
    (
        libc::EFAULT,
        "EFAULT",
        "bad address in system call argument",
    ),
    (libc::EBUSY, "EBUSY", "resource busy or locked"),
    (libc::EEXIST, "EEXIST", "file already exists"),
    (libc::ENODEV, "ENODEV", "no such device"),
    (libc::ENOTDIR, "ENOTDIR", "not a directory"),
    (libc::EISDIR, "EISDIR", "illegal operation on a directory"),
    (libc::EINVAL, "EINVAL", "invalid argument"),
    (libc::ENFILE, "ENFILE", "file table overflow"),
    (libc::EMFILE, "EMFILE", "too many open files"),
    (libc::ETXTBSY, "ETXTBSY", "text file is busy"),
    (libc::EFBIG, "EFBIG", "file too large"),
    (libc::ENOSPC, "ENOSPC", "no space left on device"),
    (libc::EROFS, "EROFS", "read-only file system"),
    (libc::ENAMETOOLONG, "ENAMETOOLONG", "name too long"),
    (libc::ELOOP, "ELOOP", "too many symbolic links encountered"),
    (
        libc::EOVERFLOW,
        "EOVERFLOW",
        "value too large for defined data type",
    ),
    (
        libc::ENOTSUP,
        "ENOTSUP",
        "operation not supported on socket",
    ),
    (libc::EINTR, "EINTR", "interrupted system call"),
];

fn lookup(error: &io::Error) -> Option<&'static (i32, &'static str, &'static str)> {
    let raw = error.raw_os_error()?;
    NAMES.iter().find(|(code, _, _)| *code == raw)
}

/// The errno name (`ENOENT`) for an error, as Node's `code` property gives it.
pub fn errno_name(error: &io::Error) -> &'static str {
    match lookup(error) {
        Some((_, name, _)) => name,
        None if error.raw_os_error().is_some() => "UNKNOWN",
        None => super::name_of_kind(error),
    }
}

/// The message libuv gives for an error ("no such file or directory").
pub fn describe(error: &io::Error) -> String {
    match lookup(error) {
        Some((_, _, text)) => (*text).to_owned(),
        None => super::plain_message(error),
    }
}

/// Asks for transparent huge pages over `region`; a hint that is silently dropped where the
/// kernel offers none.
pub fn advise_huge_pages(region: &memmap2::MmapMut) {
    #[cfg(target_os = "linux")]
    let _ = region.advise(memmap2::Advice::HugePage);
    #[cfg(not(target_os = "linux"))]
    let _ = region;
}
