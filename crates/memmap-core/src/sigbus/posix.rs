//! The SIGBUS handler and its registry of guarded mappings.
//!
//! About 530 lines, a quarter of them comments: the handler, the lock-free registry it reads and
//! the chaining to a previous handler share one async-signal-safety argument (below), which a
//! split would leave in two places.
//!
//! # Safety
//! The handler runs asynchronously, on whatever thread touched a lost page, possibly while that
//! thread is inside `malloc` or holds a lock. So it allocates nothing, takes no lock and calls
//! only `mmap`, `sigaction` and `raise`. `sigaction` and `raise` are on POSIX's list of
//! async-signal-safe functions; `mmap` is not, but glibc, musl and Apple's libSystem implement it
//! as a bare system call that touches no user-space state, which is what the list guards against.
//! The registry it reads is a chain of fixed-size chunks of atomics: chunks are leaked, never
//! freed, so a pointer the handler follows stays valid forever; each slot's range is published
//! under a sequence counter, so the handler never acts on a torn (half-written) range.
//!
//! Only ranges of our own mappings are ever replaced, and only after the kernel reported a fault
//! there (`BUS_ADRERR`), never for a signal another process sent. A range is registered after
//! its pages are mapped and unregistered before they are unmapped or moved, and unregistering
//! waits for every handler that is mending at that moment ([`MENDING`]): a handler that read a
//! range just before it was unregistered cannot map over addresses that have meanwhile been
//! unmapped and handed to someone else.

use std::ffi::c_void;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

const SLOTS_PER_CHUNK: usize = 1024;

/// One guarded range. `seq` is odd while `start`/`end`/`fd`/`offset` are being written.
///
/// `seq` is accessed `SeqCst` so that it is ordered with [`MENDING`]: see [`Registration`]'s
/// `Drop`.
struct Slot {
    seq: AtomicUsize,
    start: AtomicUsize,
    end: AtomicUsize,
    /// The mapped file's descriptor (-1: none kept, as for mode 'r' and shared memory), so that a
    /// fault can be told apart: past the file's end is truncation, inside it a full disk or an
    /// I/O error. Valid while the slot is published: the registration is dropped before the file.
    fd: AtomicI32,
    /// The file offset of `start`.
    offset: AtomicU64,
    lost: AtomicBool,
    /// Pages whose writes the file could not take (a full disk, an I/O error), each replaced by
    /// a private page; and the error, ENOSPC or EIO.
    lost_writes: AtomicUsize,
    write_errno: AtomicI32,
    /// The first page already replaced with zero pages (`usize::MAX`: none yet). A later fault
    /// below it replaces only up to it, so what was written to the pages mended before stays.
    mended_from: AtomicUsize,
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            seq: AtomicUsize::new(0),
            start: AtomicUsize::new(0),
            end: AtomicUsize::new(0),
            fd: AtomicI32::new(-1),
            offset: AtomicU64::new(0),
            lost: AtomicBool::new(false),
            lost_writes: AtomicUsize::new(0),
            write_errno: AtomicI32::new(0),
            mended_from: AtomicUsize::new(usize::MAX),
        }
    }

    fn publish(&self, start: usize, end: usize, fd: i32, offset: u64) {
        self.seq.fetch_add(1, Ordering::SeqCst);
        self.start.store(start, Ordering::Release);
        self.end.store(end, Ordering::Release);
        self.fd.store(fd, Ordering::Release);
        self.offset.store(offset, Ordering::Release);
        self.seq.fetch_add(1, Ordering::SeqCst);
    }

    /// The range, descriptor and file offset if they are stable and the range is non-empty
    /// (async-signal-safe).
    fn range(&self) -> Option<(usize, usize, i32, u64)> {
        let before = self.seq.load(Ordering::SeqCst);
        if before % 2 == 1 {
            return None;
        }
        let (start, end) = (
            self.start.load(Ordering::Acquire),
            self.end.load(Ordering::Acquire),
        );
        let (fd, offset) = (
            self.fd.load(Ordering::Acquire),
            self.offset.load(Ordering::Acquire),
        );
        (self.seq.load(Ordering::SeqCst) == before && start < end)
            .then_some((start, end, fd, offset))
    }
}

struct Chunk {
    slots: [Slot; SLOTS_PER_CHUNK],
    next: AtomicPtr<Chunk>,
}

static FIRST: Chunk = Chunk {
    slots: [const { Slot::new() }; SLOTS_PER_CHUNK],
    next: AtomicPtr::new(ptr::null_mut()),
};

/// Iterates over every chunk (async-signal-safe: atomic loads only).
fn chunks() -> impl Iterator<Item = &'static Chunk> {
    let mut next: Option<&'static Chunk> = Some(&FIRST);
    std::iter::from_fn(move || {
        let chunk = next?;
        let following = chunk.next.load(Ordering::Acquire);
        // SAFETY: `next` pointers are only ever set to chunks leaked by `claim_slot`, which are
        // never freed, so a non-null one points to a valid `Chunk` for the rest of the process.
        next = unsafe { following.as_ref() };
        Some(chunk)
    })
}

/// Slots not in use. Touched only when mappings are made and dropped, never by the handler, so a
/// lock is fine here and keeps both O(1).
static FREE: Mutex<Vec<&'static Slot>> = Mutex::new(Vec::new());
/// The last chunk of the chain, where a new one is linked.
static LAST: AtomicPtr<Chunk> = AtomicPtr::new(ptr::null_mut());

fn claim_slot() -> &'static Slot {
    let mut free = FREE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if free.is_empty() {
        let last = LAST.load(Ordering::Acquire);
        let chunk: &'static Chunk = if last.is_null() {
            &FIRST
        } else {
            // A new chunk, leaked: the handler may follow a pointer to it at any time, forever.
            let fresh: &'static Chunk = Box::leak(Box::new(Chunk {
                slots: [const { Slot::new() }; SLOTS_PER_CHUNK],
                next: AtomicPtr::new(ptr::null_mut()),
            }));
            // SAFETY: LAST only ever holds FIRST or a leaked chunk, valid forever.
            unsafe { &*last }
                .next
                .store(ptr::from_ref(fresh).cast_mut(), Ordering::Release);
            fresh
        };
        LAST.store(ptr::from_ref(chunk).cast_mut(), Ordering::Release);
        free.extend(chunk.slots.iter().rev());
    }
    free.pop().expect("a chunk was just added")
}

fn release_slot(slot: &'static Slot) {
    FREE.lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(slot);
}

/// A mapping's place in the registry; dropping it (before the pages are unmapped) removes it.
#[derive(Debug)]
pub struct Registration {
    slot: &'static Slot,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot")
            .field("range", &self.range())
            .finish()
    }
}

impl Registration {
    /// Guards the pages that hold `[start, start + len)`, installing the handler if needed.
    /// `file` is the mapped file, where one is kept open, and `offset` the file offset of
    /// `start`; the registration must be dropped before the file is closed.
    pub fn new(
        start: *const u8,
        len: usize,
        file: Option<&std::fs::File>,
        offset: u64,
    ) -> Registration {
        use std::os::fd::AsRawFd;
        install();
        let page = crate::os::page_size();
        let first = start as usize & !(page - 1);
        let end = (start as usize + len + page - 1) & !(page - 1);
        let fd = file.map_or(-1, AsRawFd::as_raw_fd);
        let slot = claim_slot();
        slot.lost.store(false, Ordering::Release);
        slot.lost_writes.store(0, Ordering::Release);
        slot.write_errno.store(0, Ordering::Release);
        slot.mended_from.store(usize::MAX, Ordering::Release);
        slot.publish(first, end, fd, offset - (start as usize - first) as u64);
        Registration { slot }
    }

    /// Whether a touch found pages the file had lost (they now read as zeros).
    pub fn lost_pages(&self) -> bool {
        self.slot.lost.load(Ordering::Acquire)
    }

    /// The error (`ENOSPC` or `EIO`) and the number of pages whose writes the file could not
    /// take, if any.
    pub fn lost_writes(&self) -> Option<(i32, usize)> {
        let pages = self.slot.lost_writes.load(Ordering::Acquire);
        (pages > 0).then(|| (self.slot.write_errno.load(Ordering::Acquire), pages))
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.slot.publish(0, 0, -1, 0);
        // A handler on another thread may have read this slot's range just before it was
        // cleared and be about to map over it. Wait for it: once MENDING reads 0, every handler
        // that comes later sees the cleared slot (both sides are SeqCst: the clearing `seq`
        // increment precedes this load, and a handler's increment of MENDING precedes its read
        // of `seq`). A handler holds MENDING for one `mmap` call only.
        while MENDING.load(Ordering::SeqCst) != 0 {
            std::hint::spin_loop();
        }
        release_slot(self.slot);
    }
}

/// How many handlers are between reading the registry and finishing their `mmap`.
static MENDING: AtomicUsize = AtomicUsize::new(0);

/// The handler that was installed before ours, for faults that are not ours to mend: what
/// [`chain`] needs of its `sigaction`, the handler and its flags. A reinstall rewrites them while
/// a handler on another thread may be reading them, so they are atomics published under a
/// sequence counter (odd while being written), and the handler reads a consistent pair.
struct Previous {
    seq: AtomicUsize,
    handler: AtomicUsize,
    flags: AtomicUsize,
}

impl Previous {
    /// Under `INSTALL` only (one writer).
    fn store(&self, action: &libc::sigaction) {
        self.seq.fetch_add(1, Ordering::SeqCst);
        self.handler.store(action.sa_sigaction, Ordering::SeqCst);
        self.flags.store(action.sa_flags as usize, Ordering::SeqCst);
        self.seq.fetch_add(1, Ordering::SeqCst);
    }

    /// The handler and its flags (async-signal-safe: atomic loads only).
    fn load(&self) -> (libc::sighandler_t, libc::c_int) {
        loop {
            let before = self.seq.load(Ordering::SeqCst);
            let handler = self.handler.load(Ordering::SeqCst);
            let flags = self.flags.load(Ordering::SeqCst) as libc::c_int;
            if before.is_multiple_of(2) && self.seq.load(Ordering::SeqCst) == before {
                return (handler, flags);
            }
            std::hint::spin_loop();
        }
    }
}

static PREVIOUS: Previous = Previous {
    seq: AtomicUsize::new(0),
    // SIG_DFL until `install` saves the real one.
    handler: AtomicUsize::new(libc::SIG_DFL),
    flags: AtomicUsize::new(0),
};
static PAGE_MASK: AtomicUsize = AtomicUsize::new(0);
static INSTALL: Mutex<()> = Mutex::new(());

/// Installs the handler, or reinstalls it if something (such as `process.on('SIGBUS')`, which
/// installs libuv's) displaced it. The displaced handler becomes the one faults are chained to.
///
/// A displacing handler that takes `SA_SIGINFO` is left in place: such a handler (V8's, a
/// sanitizer's, another copy of this guard in a second addon) saved ours when it was installed
/// and chains to it, so installing ours over it, with it as our previous handler, would make
/// the two call each other forever on every fault that is neither's. libuv's handler is a plain
/// one, and removing the last `process.on('SIGBUS')` listener restores `SIG_DFL`.
fn install() {
    let _lock = INSTALL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    PAGE_MASK.store(!(crate::os::page_size() - 1), Ordering::Release);
    let mut current = MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: reads the current disposition into a valid out-pointer.
    if unsafe { libc::sigaction(libc::SIGBUS, ptr::null(), current.as_mut_ptr()) } != 0 {
        return;
    }
    // SAFETY: `sigaction` succeeded and filled `current`.
    let current = unsafe { current.assume_init() };
    if current.sa_sigaction == on_sigbus as *const () as usize {
        return;
    }
    if INSTALLED.load(Ordering::Acquire) && current.sa_flags & libc::SA_SIGINFO != 0 {
        return;
    }
    // SAFETY: a zeroed sigaction is a valid value of this plain C struct; every field that
    // matters is set below.
    let mut ours: libc::sigaction = unsafe { MaybeUninit::zeroed().assume_init() };
    ours.sa_sigaction = on_sigbus as *const () as usize;
    ours.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESTART;
    // SAFETY: `sa_mask` is a valid sigset_t to fill.
    unsafe { libc::sigemptyset(&mut ours.sa_mask) };
    // Saved before ours (which reads it) is installed. A signal arriving between the two calls
    // still runs `current`, the handler being saved; one of ours still running on another
    // thread from before it was displaced reads PREVIOUS consistently (see `Previous`).
    PREVIOUS.store(&current);
    // SAFETY: installs a handler with a valid, fully initialised sigaction.
    if unsafe { libc::sigaction(libc::SIGBUS, &ours, ptr::null_mut()) } == 0 {
        INSTALLED.store(true, Ordering::Release);
    }
}

/// Whether our handler has been installed once (reinstalls follow the rule in [`install`]).
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Whether the kernel raised the signal for the instruction that was running (a fault that
/// repeats if the handler returns), rather than a process sending it or an asynchronous
/// hardware report.
fn is_synchronous_fault(code: libc::c_int) -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if code == libc::BUS_MCEERR_AR {
        return true;
    }
    matches!(code, libc::BUS_ADRALN | libc::BUS_ADRERR | libc::BUS_OBJERR)
}

/// Whether the kernel reports a touch of a page the file no longer backs (as opposed to a
/// hardware error, or a signal sent with `kill`/`sigqueue`, whose codes differ).
fn is_lost_page(code: libc::c_int) -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    return code == libc::BUS_ADRERR;
    // macOS and the BSDs report a touch past the end of a mapped file as BUS_OBJERR or
    // BUS_ADRERR depending on version.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    return code == libc::BUS_ADRERR || code == libc::BUS_OBJERR;
}

extern "C" fn on_sigbus(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    // The interrupted code may be between a failed call and its read of errno: give it back
    // the value it had, whatever `mmap` or `sigaction` here set.
    let saved = Errno::save();
    // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler.
    let (code, address) = unsafe { ((*info).si_code, (*info).si_addr() as usize) };
    if is_lost_page(code) {
        MENDING.fetch_add(1, Ordering::SeqCst);
        let mended = mend(address);
        MENDING.fetch_sub(1, Ordering::SeqCst);
        if mended {
            saved.restore();
            return;
        }
    }
    // SAFETY: forwarding to the handler saved by `install` with the arguments we were given.
    unsafe { chain(signal, info, context) };
    saved.restore();
}

/// This thread's `errno`, saved on entry to the handler and restored on the way out.
struct Errno(libc::c_int);

impl Errno {
    fn location() -> *mut libc::c_int {
        // SAFETY: each returns this thread's errno location, valid for the thread's lifetime.
        unsafe {
            #[cfg(any(target_os = "linux", target_os = "emscripten", target_os = "hurd"))]
            return libc::__errno_location();
            #[cfg(target_os = "android")]
            return libc::__errno();
            #[cfg(any(
                target_vendor = "apple",
                target_os = "freebsd",
                target_os = "dragonfly"
            ))]
            return libc::__error();
            #[cfg(any(target_os = "netbsd", target_os = "openbsd"))]
            return libc::__errno();
        }
    }

    fn save() -> Errno {
        // SAFETY: a valid, aligned int of this thread (see `location`).
        Errno(unsafe { *Errno::location() })
    }

    fn restore(self) {
        // SAFETY: as in `save`.
        unsafe { *Errno::location() = self.0 };
    }
}

/// Mends a fault in a registered mapping: past the file's end (truncation), by replacing the
/// faulting page and the rest of its mapping with zero pages; inside the file (a full disk or
/// an I/O error), by replacing just that page. False if the address is not in a registered
/// mapping or the kernel refused.
fn mend(address: usize) -> bool {
    for chunk in chunks() {
        for slot in &chunk.slots {
            let Some((start, end, fd, offset)) = slot.range() else {
                continue;
            };
            if address < start || address >= end {
                continue;
            }
            let page = address & PAGE_MASK.load(Ordering::Acquire);
            if fd >= 0 {
                if let Some(errno) = inside_the_file(fd, offset + (page - start) as u64) {
                    return mend_write(slot, page, errno);
                }
            }
            let upto = slot.mended_from.load(Ordering::Acquire).min(end);
            if page >= upto {
                // Another thread mended this page between the fault and now: retry the access.
                return true;
            }
            // SAFETY: `[page, upto)` lies inside one of our registered mappings, which stays
            // mapped until this handler leaves MENDING (the registration is dropped before the
            // pages are unmapped, and its `Drop` waits for MENDING), so MAP_FIXED replaces only
            // pages this library owns. The kernel reported the faulting page past the file's end,
            // and so is every later page of the mapping: nothing that still reaches the file is
            // replaced. From the faulting page to the end (or to the pages mended before, which
            // keep what was written to them), in one call, so repeated faults cannot fragment the
            // mapping past vm.max_map_count.
            if !unsafe { zero_pages(page, upto - page) } {
                return false;
            }
            slot.mended_from.fetch_min(page, Ordering::AcqRel);
            slot.lost.store(true, Ordering::Release);
            return true;
        }
    }
    false
}

/// Whether the page at file offset `at` is inside the file `fd` (async-signal-safe: `fstat` and
/// `fstatfs` are bare system calls): then the fault was not a truncation, and the error to report
/// is `ENOSPC` if the file system has no block left, else `EIO`.
fn inside_the_file(fd: i32, at: u64) -> Option<i32> {
    let mut stat = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `stat` is a valid out-pointer; `fd` is the mapping's open descriptor (see `Slot`).
    if unsafe { libc::fstat(fd, stat.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: fstat succeeded and filled it.
    let size = unsafe { stat.assume_init() }.st_size as u64;
    if at >= size {
        return None;
    }
    let mut fs = MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: as above, for `fstatfs`.
    let full = unsafe { libc::fstatfs(fd, fs.as_mut_ptr()) } == 0
        // SAFETY: fstatfs succeeded and filled it.
        && unsafe { fs.assume_init() }.f_bavail == 0;
    Some(if full { libc::ENOSPC } else { libc::EIO })
}

/// Replaces the one page at `page`, whose write the file could not take, with a private page
/// (writes to it stay in memory) and records the loss for `flush()`. Pages written in order are
/// mended next to each other, and the kernel merges such neighbours into one region.
fn mend_write(slot: &Slot, page: usize, errno: i32) -> bool {
    let size = !PAGE_MASK.load(Ordering::Acquire) + 1;
    // SAFETY: `[page, page + size)` is one page of a registered mapping, which stays mapped while
    // this handler is in MENDING (see `mend`); the kernel just refused to back it with the file.
    if !unsafe { zero_pages(page, size) } {
        return false;
    }
    slot.write_errno.store(errno, Ordering::Release);
    slot.lost_writes.fetch_add(1, Ordering::AcqRel);
    true
}

/// Replaces `[start, start + len)` with private zero pages in one `mmap(MAP_FIXED)` call (a
/// bare system call: async-signal-safe); false if the kernel refused.
///
/// # Safety
/// The range must be whole pages of one of this library's registered mappings, which stays
/// mapped for the duration of the call (the caller is in [`MENDING`]).
unsafe fn zero_pages(start: usize, len: usize) -> bool {
    // SAFETY: the caller vouches that the range is ours; MAP_FIXED replaces only it.
    let replaced = unsafe {
        libc::mmap(
            start as *mut c_void,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
            -1,
            0,
        )
    };
    replaced != libc::MAP_FAILED
}

/// Hands a signal that is not ours to the handler installed before ours.
///
/// # Safety
/// Must be called from the SIGBUS handler with the arguments it received.
unsafe fn chain(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    // `install` stored PREVIOUS before installing the handler that calls this.
    let (previous, previous_flags) = PREVIOUS.load();
    // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler.
    let code = unsafe { (*info).si_code };
    match previous {
        // An ignored SIGBUS that a process sent stays ignored. A fault cannot be ignored: the
        // instruction would fault again as soon as this handler returned, forever. The kernel
        // kills the process in that case, so do the same.
        libc::SIG_IGN if !is_synchronous_fault(code) => {}
        libc::SIG_DFL | libc::SIG_IGN => {
            // Restore the default action and re-raise: the signal is delivered (and kills, as
            // it would have without us) as soon as this handler returns and unblocks it.
            // SAFETY: sigaction and raise are async-signal-safe; the struct is valid.
            unsafe {
                let mut default: libc::sigaction = MaybeUninit::zeroed().assume_init();
                default.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(signal, &default, ptr::null_mut());
                libc::raise(signal);
            }
        }
        handler if previous_flags & libc::SA_SIGINFO != 0 => {
            // SAFETY: an SA_SIGINFO handler has this signature.
            let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut c_void) =
                unsafe { std::mem::transmute(handler) };
            handler(signal, info, context);
        }
        handler => {
            // SAFETY: a plain handler takes the signal number only.
            let handler: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(handler) };
            handler(signal);
        }
    }
}
