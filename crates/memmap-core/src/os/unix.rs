//! POSIX: page size from `sysconf`, errno names and libuv-style descriptions, and the memory
//! control calls (`madvise`, `mlock`, `mincore`).
//!
//! `mlock`/`munlock` (and Linux's `mlock2`) and `getrlimit` go through rustix. The rest stays on
//! libc, for want of a rustix call that fits: rustix has no `mincore`; its `madvise` advice
//! values differ by platform (its `DontNeed` is `POSIX_MADV_DONTNEED`, a no-op in glibc, not
//! `MADV_DONTNEED`) and would be `unsafe` all the same; and its Linux `page_size` reads the aux
//! vector through `prctl`/`/proc/self/auxv`, where `sysconf` reads the C library's copy.
//!
//! # Safety
//! The memory control functions are `unsafe fn`s over a range `[addr, addr + len)` that the
//! caller guarantees is whole pages of a live mapping of this process (`Map::pages` computes it).
//! Inside such a range the calls here change only residency, advice and lock state, never which
//! memory is mapped, except `MADV_DONTNEED`, which drops private pages as its contract says.

use std::io;

use super::Advice;

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

/// The system calls named in errors from the memory control functions.
pub const SYSCALL_ADVISE: &str = "madvise";
/// The call that starts a thread.
pub const SYSCALL_THREAD: &str = "pthread_create";
pub const SYSCALL_LOCK: &str = "mlock";
pub const SYSCALL_UNLOCK: &str = "munlock";
pub const SYSCALL_RESIDENCY: &str = "mincore";
pub const SYSCALL_PREFETCH: &str = "madvise";

/// The `madvise` flag for `advice`, or `None` where this OS has no such advice.
fn advice_flag(advice: Advice) -> Option<libc::c_int> {
    Some(match advice {
        Advice::Normal => libc::MADV_NORMAL,
        Advice::Random => libc::MADV_RANDOM,
        Advice::Sequential => libc::MADV_SEQUENTIAL,
        Advice::WillNeed => libc::MADV_WILLNEED,
        Advice::DontNeed => libc::MADV_DONTNEED,
        #[cfg(any(target_os = "linux", target_os = "android"))]
        Advice::HugePage => libc::MADV_HUGEPAGE,
        #[cfg(any(target_os = "linux", target_os = "android"))]
        Advice::NoHugePage => libc::MADV_NOHUGEPAGE,
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        Advice::HugePage | Advice::NoHugePage => return None,
    })
}

/// Whether this OS has `advice` at all.
pub fn has_advice(advice: Advice) -> bool {
    advice_flag(advice).is_some()
}

/// Passes `advice` on to the kernel. `Ok(false)` where the OS has no such advice or declines it
/// for these pages (`EINVAL`: a kernel without transparent huge pages, `'dontneed'` on locked
/// pages).
///
/// # Safety
/// `[addr, addr + len)` must be whole pages of a live mapping of this process. With
/// [`Advice::DontNeed`], private pages lose their contents (they read as the file's, or as zeros).
pub unsafe fn advise(addr: *mut u8, len: usize, advice: Advice) -> io::Result<bool> {
    let Some(flag) = advice_flag(advice) else {
        return Ok(false);
    };
    // SAFETY: the caller vouches that the range is whole pages of a live mapping; madvise
    // changes no mapping, only how the kernel treats (or, for MADV_DONTNEED, drops) its pages.
    if unsafe { libc::madvise(addr.cast(), len, flag) } == 0 {
        return Ok(true);
    }
    let error = io::Error::last_os_error();
    match error.raw_os_error() {
        Some(libc::EINVAL | libc::ENOSYS | libc::ENOTSUP) => Ok(false),
        _ => Err(error),
    }
}

/// Locks the pages in RAM, faulting them in.
///
/// `private` says the pages are private copy-on-write pages of a file (mode `'r'`). Plain
/// `mlock` write-faults such pages and so copies every one of them into anonymous memory; on
/// Linux they are read in instead (`MADV_POPULATE_READ`) and locked as they are
/// (`mlock2(MLOCK_ONFAULT)` locks the resident pages, and any page evicted in between as it
/// faults back in).
///
/// # Safety
/// `[addr, addr + len)` must be whole pages of a live mapping of this process.
pub unsafe fn lock(addr: *mut u8, len: usize, private: bool) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    if private {
        // SAFETY: the caller's range, passed on.
        unsafe { prefetch(addr, len) }?;
        // SAFETY: as for mlock below. rustix makes the system call itself, so glibc 2.27's
        // wrapper is not needed.
        match unsafe { rustix::mm::mlock_with(addr.cast(), len, rustix::mm::MlockFlags::ONFAULT) } {
            Ok(()) => return Ok(()),
            // A kernel older than 4.4: lock the plain way.
            Err(rustix::io::Errno::NOSYS) => {}
            Err(error) => return Err(error.into()),
        }
    }
    let _ = private;
    // SAFETY: the caller vouches for the range; mlock only faults pages in and pins them.
    Ok(unsafe { rustix::mm::mlock(addr.cast(), len) }?)
}

/// Unlocks the pages (unlocking pages that are not locked is no error).
///
/// # Safety
/// `[addr, addr + len)` must be whole pages of a live mapping of this process.
pub unsafe fn unlock(addr: *mut u8, len: usize) -> io::Result<()> {
    // SAFETY: the caller vouches for the range; munlock only unpins pages.
    Ok(unsafe { rustix::mm::munlock(addr.cast(), len) }?)
}

/// Whether a failed `lock` hit a limit on locked memory rather than something else: `EPERM` (no
/// right to lock at all: `RLIMIT_MEMLOCK` is 0), `ENOMEM` while `RLIMIT_MEMLOCK` is finite (Linux
/// also says `ENOMEM` for pages it could not fault in), and on the BSDs and macOS `EAGAIN`.
pub fn is_lock_limit(error: &io::Error) -> bool {
    match error.raw_os_error() {
        Some(libc::EPERM) => true,
        Some(libc::ENOMEM) => memlock_limit().is_some(),
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        Some(libc::EAGAIN) => true,
        _ => false,
    }
}

/// The soft `RLIMIT_MEMLOCK` in bytes; `None` when unlimited.
fn memlock_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Memlock).current
}

/// What to raise when locking `bytes` failed on a limit.
pub fn lock_limit_hint(bytes: usize) -> String {
    let current = match memlock_limit() {
        Some(limit) => format!("{limit} bytes"),
        None => "unlimited".to_owned(),
    };
    format!(
        "locking {bytes} bytes passes this process's limit on locked memory (RLIMIT_MEMLOCK, \
         now {current}, counting pages already locked): raise it with `ulimit -l` (LimitMEMLOCK= \
         for a systemd service, memlock in /etc/security/limits.conf) or grant CAP_IPC_LOCK"
    )
}

/// How many of the pages in `[addr, addr + len)` are in RAM (`mincore`).
///
/// # Safety
/// `[addr, addr + len)` must be whole pages of a live mapping of this process.
pub unsafe fn resident_pages(addr: *mut u8, len: usize) -> io::Result<usize> {
    // One mincore call per 64 Ki pages keeps the vector small for a 64 GiB mapping.
    const CHUNK_PAGES: usize = 1 << 16;
    let page = page_size();
    let mut vector = vec![0u8; CHUNK_PAGES.min(len.div_ceil(page))];
    let mut resident = 0;
    let mut done = 0;
    while done < len {
        let bytes = (len - done).min(CHUNK_PAGES * page);
        let pages = bytes.div_ceil(page);
        // SAFETY: `addr + done` is a page of the caller's range and `bytes` stays inside it; the
        // vector holds one byte for each of its `pages` pages.
        let status =
            unsafe { libc::mincore(addr.add(done).cast(), bytes, vector.as_mut_ptr().cast()) };
        if status != 0 {
            return Err(io::Error::last_os_error());
        }
        resident += vector[..pages].iter().filter(|&&v| v & 1 != 0).count();
        done += bytes;
    }
    Ok(resident)
}

/// Faults the pages in for reading and returns when they are resident: `MADV_POPULATE_READ`
/// where the kernel has it (Linux 5.14), else a read of one byte in each page. Private pages are
/// not copied.
///
/// # Safety
/// `[addr, addr + len)` must be whole pages of a live mapping of this process.
pub unsafe fn prefetch(addr: *mut u8, len: usize) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: the caller vouches for the range; MADV_POPULATE_READ faults its pages in
        // read-only, as reads would.
        if unsafe { libc::madvise(addr.cast(), len, libc::MADV_POPULATE_READ) } == 0 {
            return Ok(());
        }
        let error = io::Error::last_os_error();
        // EINVAL: a kernel older than 5.14; touch the pages instead.
        if error.raw_os_error() != Some(libc::EINVAL) {
            return Err(error);
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        // SAFETY: the caller vouches for the range; WILLNEED starts reading ahead.
        unsafe { libc::madvise(addr.cast(), len, libc::MADV_WILLNEED) };
    }
    // SAFETY: the caller's range, passed on.
    unsafe { super::touch_pages(addr, len, false) };
    Ok(())
}

/// Faults the pages in for writing (anonymous memory made resident at once):
/// `MADV_POPULATE_WRITE` where the kernel has it, else a write of each page's first byte.
///
/// # Safety
/// `[addr, addr + len)` must be whole writable pages of a live mapping of this process that
/// nothing else writes yet (a fresh anonymous mapping): the fallback writes back each first byte.
pub unsafe fn populate_write(addr: *mut u8, len: usize) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: the caller vouches for the range; MADV_POPULATE_WRITE faults its pages in
        // writable without changing a byte.
        if unsafe { libc::madvise(addr.cast(), len, libc::MADV_POPULATE_WRITE) } == 0 {
            return;
        }
    }
    // SAFETY: the caller's range and promise, passed on.
    unsafe { super::touch_pages(addr, len, true) };
}

/// What names a file's bytes whichever path or descriptor maps them: its device and inode.
pub fn file_identity(file: &std::fs::File) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = file.metadata().ok()?;
    Some(format!("{}:{}", meta.dev(), meta.ino()))
}

/// A view of a Windows named section, which memmap2 cannot make; POSIX has none (named shared
/// memory is a descriptor that memmap2 maps), so this has no values.
#[derive(Debug)]
pub enum Section {}

impl Section {
    /// Never called: there is no `Section` on POSIX.
    pub fn as_ptr(&self) -> std::ptr::NonNull<u8> {
        match *self {}
    }
}
