//! macOS and iOS: `os_sync_wait_on_address` with the shared flags where the system has it
//! (macOS 14.4, iOS 17.4), found at run time so older systems still load the addon; else
//! `__ulock_wait`/`__ulock_wake` with `UL_COMPARE_AND_WAIT_SHARED`, which libc++ and Rust's
//! standard library also use, present since macOS 10.12. The shared forms key a waiter by
//! the memory object, not by this process's address space, so a wake from any process that
//! maps the page reaches it.
//!
//! Not built on the development machine (Linux); reviewed against `<os/os_sync_wait_on_address.h>`
//! and XNU's `sys/ulock.h`.
//!
//! # Safety
//! The word is passed as the address of a live, 4-aligned `AtomicI32`; the kernel only reads it
//! and uses it as a key. The `os_sync` functions are looked up with `dlsym` and called with the
//! signatures their header declares.

use std::ffi::{c_int, c_void};
use std::sync::atomic::AtomicI32;
use std::sync::OnceLock;
use std::time::Duration;

use super::Wake;

const OS_SYNC_WAIT_ON_ADDRESS_SHARED: u32 = 1;
const OS_SYNC_WAKE_BY_ADDRESS_SHARED: u32 = 1;
const OS_CLOCK_MACH_ABSOLUTE_TIME: u32 = 32;
const UL_COMPARE_AND_WAIT_SHARED: u32 = 3;
const ULF_NO_ERRNO: u32 = 0x0100_0000;

type WaitFn = unsafe extern "C" fn(*mut c_void, u64, usize, u32) -> c_int;
type WaitTimeoutFn = unsafe extern "C" fn(*mut c_void, u64, usize, u32, u32, u64) -> c_int;
type WakeFn = unsafe extern "C" fn(*mut c_void, usize, u32) -> c_int;

struct OsSync {
    wait: WaitFn,
    wait_with_timeout: WaitTimeoutFn,
    wake_any: WakeFn,
}

extern "C" {
    fn __ulock_wait(operation: u32, address: *mut c_void, value: u64, timeout_us: u32) -> c_int;
    fn __ulock_wake(operation: u32, address: *mut c_void, wake_value: u64) -> c_int;
}

fn os_sync() -> Option<&'static OsSync> {
    static FUNCTIONS: OnceLock<Option<OsSync>> = OnceLock::new();
    FUNCTIONS
        .get_or_init(|| {
            let find = |name: &std::ffi::CStr| {
                // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name has no preconditions.
                let symbol = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
                (!symbol.is_null()).then_some(symbol)
            };
            let wait = find(c"os_sync_wait_on_address")?;
            let wait_with_timeout = find(c"os_sync_wait_on_address_with_timeout")?;
            let wake_any = find(c"os_sync_wake_by_address_any")?;
            // SAFETY: each symbol is the function of that name, whose C signature the type
            // repeats (void *, uint64_t, size_t, flags[, os_clockid_t, uint64_t]) -> int.
            Some(unsafe {
                OsSync {
                    wait: std::mem::transmute::<*mut c_void, WaitFn>(wait),
                    wait_with_timeout: std::mem::transmute::<*mut c_void, WaitTimeoutFn>(
                        wait_with_timeout,
                    ),
                    wake_any: std::mem::transmute::<*mut c_void, WakeFn>(wake_any),
                }
            })
        })
        .as_ref()
}

fn errno() -> Option<i32> {
    std::io::Error::last_os_error().raw_os_error()
}

/// Sleeps while `*word == expected`, at most `timeout` (`None`: no limit). May return early.
pub fn wait(word: &AtomicI32, expected: i32, timeout: Option<Duration>, _round: u32) -> Wake {
    let address = word.as_ptr().cast::<c_void>();
    let value = expected as u32 as u64;
    let result = match (os_sync(), timeout) {
        // SAFETY: a live, aligned 4-byte word; see the module's safety paragraph.
        (Some(f), None) => unsafe { (f.wait)(address, value, 4, OS_SYNC_WAIT_ON_ADDRESS_SHARED) },
        (Some(f), Some(t)) => {
            let nanos = u64::try_from(t.as_nanos()).unwrap_or(u64::MAX).max(1);
            // SAFETY: as above; the timeout is relative, in nanoseconds of the given clock.
            unsafe {
                (f.wait_with_timeout)(
                    address,
                    value,
                    4,
                    OS_SYNC_WAIT_ON_ADDRESS_SHARED,
                    OS_CLOCK_MACH_ABSOLUTE_TIME,
                    nanos,
                )
            }
        }
        (None, timeout) => {
            // 0 means no limit, so a positive timeout is at least 1 µs; a longer one than
            // u32 allows (71 minutes) returns early and the caller sleeps again.
            let micros = timeout.map_or(0, |t| {
                u32::try_from(t.as_micros()).unwrap_or(u32::MAX).max(1)
            });
            // SAFETY: as above.
            unsafe { __ulock_wait(UL_COMPARE_AND_WAIT_SHARED, address, value, micros) }
        }
    };
    if result >= 0 {
        // Woken, or the word already differed: the caller cannot tell which, nor need it.
        return Wake::Woken;
    }
    match errno() {
        Some(libc::ETIMEDOUT) => Wake::TimedOut,
        Some(libc::EINTR) => Wake::Interrupted,
        _ => Wake::Woken,
    }
}

/// Wakes up to `count` sleepers on `word`, in every process; returns how many woke. The system
/// wakes one at a time or all without a count, so this wakes one at a time until none is left.
pub fn wake(word: &AtomicI32, count: u32) -> u32 {
    let address = word.as_ptr().cast::<c_void>();
    let mut woken = 0;
    while woken < count {
        let result = match os_sync() {
            // SAFETY: a live, aligned 4-byte word.
            Some(f) => unsafe { (f.wake_any)(address, 4, OS_SYNC_WAKE_BY_ADDRESS_SHARED) },
            // SAFETY: as above. With ULF_NO_ERRNO the error comes back negated, not in errno.
            None => unsafe { __ulock_wake(UL_COMPARE_AND_WAIT_SHARED | ULF_NO_ERRNO, address, 0) },
        };
        if result != 0 {
            // ENOENT: nobody is waiting any more.
            break;
        }
        woken += 1;
    }
    woken
}
