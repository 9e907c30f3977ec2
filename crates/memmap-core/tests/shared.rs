#![cfg(unix)]
//! Named shared memory, atomics and wait/notify: names, permissions, exact errno values, and
//! wakes across threads and (Linux) processes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use memmap_core::{unlink_shared, Error, Handle, Kind, Map, Mode, Rmw, WaitResult};

mod common;
use common::errno;

/// A name no other test run uses; unlinked by the guard.
struct Name(String);

impl Name {
    fn new() -> Name {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        Name(format!("mmrs-{}-{n}", std::process::id()))
    }
}

impl Drop for Name {
    fn drop(&mut self) {
        let _ = unlink_shared(&self.0);
    }
}

#[test]
fn create_open_unlink() {
    let name = Name::new();
    let map = Map::create_shared(&name.0, 10_000, false).unwrap();
    assert_eq!(map.kind(), Kind::Shared);
    assert_eq!(map.mode(), Mode::ReadWrite);
    assert_eq!(map.path(), Some(name.0.as_str()));
    assert_eq!(map.len(), 10_000);
    map.write(9_990, b"0123456789").unwrap();

    let other = Map::open_shared(&name.0, false).unwrap();
    assert_eq!(other.len(), 10_000);
    let mut seen = [0; 10];
    assert_eq!(other.read(9_990, &mut seen), 10);
    assert_eq!(&seen, b"0123456789");

    assert!(unlink_shared(&name.0).unwrap());
    assert!(!unlink_shared(&name.0).unwrap());
    let gone = Map::open_shared(&name.0, false).unwrap_err();
    assert_eq!(errno(&gone), libc::ENOENT);
    assert_eq!(gone.code(), "ENOENT");
    assert_eq!(gone.syscall(), Some("shm_open"));
    assert_eq!(gone.path(), Some(name.0.as_str()));
    // Mappings outlive the name.
    assert_eq!(other.read(9_990, &mut seen), 10);
}

#[test]
fn exclusive_is_eexist() {
    let name = Name::new();
    let _map = Map::create_shared(&name.0, 4096, true).unwrap();
    let error = Map::create_shared(&name.0, 4096, true).unwrap_err();
    assert_eq!(errno(&error), libc::EEXIST);
    assert_eq!(error.code(), "EEXIST");
}

#[cfg(target_os = "linux")]
#[test]
fn owner_only_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let name = Name::new();
    // SAFETY: umask only changes this process's creation mask; restored below. Other tests
    // create nothing whose mode they check.
    let old = unsafe { libc::umask(0o277) };
    let created = Map::create_shared(&name.0, 4096, false);
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    created.unwrap();
    let mode = std::fs::metadata(format!("/dev/shm/{}", name.0))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn grows_but_never_shrinks() {
    let name = Name::new();
    let first = Map::create_shared(&name.0, 8192, false).unwrap();
    first.write(8000, b"kept").unwrap();
    let smaller = Map::create_shared(&name.0, 100, false).unwrap();
    assert_eq!(smaller.len(), 100);
    assert_eq!(Map::open_shared(&name.0, false).unwrap().len(), 8192);
    let mut kept = [0; 4];
    first.read(8000, &mut kept);
    assert_eq!(&kept, b"kept");
    #[cfg(target_os = "linux")]
    {
        let larger = Map::create_shared(&name.0, 20_000, false).unwrap();
        assert_eq!(larger.len(), 20_000);
        assert_eq!(Map::open_shared(&name.0, false).unwrap().len(), 20_000);
    }
}

#[test]
fn names_that_could_escape_are_refused() {
    let long = "a".repeat(31);
    for bad in ["", ".", "..", "a/b", "/a", "a\0b", "../x", long.as_str()] {
        let error = Map::create_shared(bad, 4096, false).unwrap_err();
        assert_eq!(error.code(), "ERR_INVALID_ARG_VALUE", "{bad:?}");
        assert!(error.is_type_error());
        assert_eq!(
            Map::open_shared(bad, false).unwrap_err().code(),
            "ERR_INVALID_ARG_VALUE"
        );
        assert_eq!(
            unlink_shared(bad).unwrap_err().code(),
            "ERR_INVALID_ARG_VALUE"
        );
    }
    assert!(Map::create_shared(&"a".repeat(30), 1, true).is_ok());
    let _ = unlink_shared(&"a".repeat(30));
}

#[test]
fn read_only_writes_stay_private() {
    let name = Name::new();
    let shared = Map::create_shared(&name.0, 4096, false).unwrap();
    shared.store_i32(0, 7).unwrap();
    let private = Map::open_shared(&name.0, true).unwrap();
    assert_eq!(private.mode(), Mode::Read);
    assert_eq!(private.load_i32(0).unwrap(), 7);
    assert!(matches!(private.write(0, b"x"), Err(Error::ReadOnly)));
    assert!(matches!(private.store_i32(0, 1), Err(Error::ReadOnly)));
    assert!(matches!(
        private.rmw_i32(Rmw::Add, 0, 1),
        Err(Error::ReadOnly)
    ));
    assert!(matches!(private.add_i64(8, 1), Err(Error::ReadOnly)));
    // A raw write, as a stray Buffer write would do, lands in a private page.
    // SAFETY: offset 100 is inside the 4096-byte private mapping.
    unsafe { private.as_ptr().as_ptr().add(100).write(42) };
    let mut byte = [0];
    shared.read(100, &mut byte);
    assert_eq!(byte, [0]);
    private.read(100, &mut byte);
    assert_eq!(byte, [42]);
}

#[test]
fn atomics_check_alignment_and_bounds() {
    let name = Name::new();
    let map = Map::create_shared(&name.0, 64, false).unwrap();
    assert_eq!(map.rmw_i32(Rmw::Add, 60, 5).unwrap(), 0);
    assert_eq!(map.rmw_i32(Rmw::Sub, 60, 7).unwrap(), 5);
    assert_eq!(map.load_i32(60).unwrap(), -2);
    assert_eq!(map.rmw_i32(Rmw::Exchange, 60, i32::MAX).unwrap(), -2);
    assert_eq!(map.rmw_i32(Rmw::Add, 60, 1).unwrap(), i32::MAX);
    assert_eq!(map.load_i32(60).unwrap(), i32::MIN); // wraps like Int32Array
    assert_eq!(map.rmw_i32(Rmw::And, 60, 0).unwrap(), i32::MIN);
    assert_eq!(map.rmw_i32(Rmw::Or, 60, 0b1010).unwrap(), 0);
    assert_eq!(map.rmw_i32(Rmw::Xor, 60, 0b0110).unwrap(), 0b1010);
    assert_eq!(map.compare_exchange_i32(60, 1, 2).unwrap(), 0b1100);
    assert_eq!(map.compare_exchange_i32(60, 0b1100, 2).unwrap(), 0b1100);
    assert_eq!(map.load_i32(60).unwrap(), 2);
    map.store_i64(56, i64::MAX).unwrap();
    assert_eq!(map.add_i64(56, 1).unwrap(), i64::MAX);
    assert_eq!(map.load_i64(56).unwrap(), i64::MIN);
    assert_eq!(map.compare_exchange_i64(56, i64::MIN, 3).unwrap(), i64::MIN);
    assert_eq!(map.load_i64(56).unwrap(), 3);
    for bad in [2, 61, 64, usize::MAX - 1] {
        assert_eq!(
            map.load_i32(bad).unwrap_err().code(),
            "ERR_MMAP_OUT_OF_RANGE",
            "{bad}"
        );
    }
    for bad in [4, 60, 64] {
        assert_eq!(
            map.load_i64(bad).unwrap_err().code(),
            "ERR_MMAP_OUT_OF_RANGE",
            "{bad}"
        );
    }
}

#[test]
fn wait_and_notify_across_threads() {
    let name = Name::new();
    let handle = Handle::new(Map::create_shared(&name.0, 4096, false).unwrap());
    assert_eq!(handle.wait(0, 1, None).unwrap(), WaitResult::NotEqual);
    assert_eq!(
        handle.wait(0, 0, Some(Duration::from_millis(5))).unwrap(),
        WaitResult::TimedOut
    );
    assert_eq!(
        handle.wait(0, 0, Some(Duration::ZERO)).unwrap(),
        WaitResult::TimedOut
    );
    let sleeper = {
        let handle = handle.clone();
        std::thread::spawn(move || handle.wait(0, 0, None))
    };
    // Notify until the sleeper has been woken: it may not be asleep yet.
    let mut woken = 0;
    while woken == 0 {
        handle.with(|map| map.store_i32(0, 0)).unwrap();
        woken = handle.notify(0, 1).unwrap();
        std::thread::yield_now();
    }
    assert_eq!(woken, 1);
    assert_eq!(sleeper.join().unwrap().unwrap(), WaitResult::Ok);
}

#[test]
fn close_wakes_sleepers_before_unmapping() {
    let name = Name::new();
    let handle = Handle::new(Map::create_shared(&name.0, 4096, false).unwrap());
    let sleepers: Vec<_> = (0..4)
        .map(|i| {
            let handle = handle.clone();
            std::thread::spawn(move || handle.wait(i * 4, 0, None))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(20));
    assert!(handle.close());
    for sleeper in sleepers {
        assert!(matches!(sleeper.join().unwrap(), Err(Error::Closed)));
    }
    assert!(matches!(handle.wait(0, 0, None), Err(Error::Closed)));
    assert!(matches!(handle.notify(0, 1), Err(Error::Closed)));
}

/// A shared (not private) futex: a child process made by fork wakes this one.
#[cfg(target_os = "linux")]
#[test]
fn notify_reaches_another_process() {
    let name = Name::new();
    let handle = Handle::new(Map::create_shared(&name.0, 4096, false).unwrap());
    // The child only makes raw syscalls (no allocation, no locks) before _exit, as is safe after
    // fork in a multi-threaded process, and exits soon: it inherits every descriptor other
    // test threads hold open at the fork (and with them any flock).
    let word = handle.with(|map| Ok(map.atomic_i32(0)?.as_ptr())).unwrap();
    // SAFETY: fork; the child below calls only async-signal-safe functions.
    let child = unsafe { libc::fork() };
    assert!(child >= 0);
    if child == 0 {
        // SAFETY: `word` is an aligned word of a MAP_SHARED mapping inherited by the child.
        unsafe {
            libc::usleep(20_000);
            std::ptr::write_volatile(word, 1);
            for _ in 0..2_000 {
                if libc::syscall(libc::SYS_futex, word, libc::FUTEX_WAKE, 1) == 1 {
                    libc::_exit(0);
                }
                libc::usleep(1_000);
            }
            // The parent saw the new value before it slept: fine too.
            libc::_exit(1);
        }
    }
    let result = handle.wait(0, 0, Some(Duration::from_secs(60))).unwrap();
    let mut status = 0;
    // SAFETY: waits for the child made above.
    unsafe { libc::waitpid(child, &mut status, 0) };
    assert_eq!(result, WaitResult::Ok);
    assert!(libc::WIFEXITED(status));
}

#[cfg(target_os = "linux")]
#[test]
fn a_create_too_large_to_reserve_leaves_the_object_as_it_was() {
    let name = Name::new();
    let existing = Map::create_shared(&name.0, 4096, false).unwrap();
    existing.write(0, b"kept").unwrap();
    // 1 PiB: tmpfs takes the length, but cannot reserve the pages.
    let error = Map::create_shared(&name.0, 1 << 50, false).unwrap_err();
    assert_eq!(error.syscall(), Some("posix_fallocate"));
    assert_eq!(error.code(), "ENOSPC");
    let again = Map::open_shared(&name.0, false).unwrap();
    assert_eq!(again.len(), 4096, "the object is back at its size");
    let mut seen = [0; 4];
    again.read(0, &mut seen);
    assert_eq!(&seen, b"kept");

    let fresh = Name::new();
    assert!(Map::create_shared(&fresh.0, 1 << 50, false).is_err());
    assert_eq!(
        errno(&Map::open_shared(&fresh.0, false).unwrap_err()),
        libc::ENOENT,
        "a name this call created is gone again"
    );
}

/// A name of `createShared(length)`'s form for `pid`, in this process's namespace (its tag taken
/// from a name this process made), with the random tail `tail`.
#[cfg(target_os = "linux")]
fn auto_name_for(pid: u32, tail: &str) -> String {
    let mine = memmap_core::unique_shared_name();
    let mut parts = mine.strip_prefix("mm").unwrap().split('-');
    let token = u32::from_str_radix(parts.next().unwrap(), 36).unwrap();
    let stamp = parts.next().unwrap();
    assert_eq!(token & 0x3f_ffff, std::process::id());
    let token = (token & !0x3f_ffff) | pid;
    let mut digits = Vec::new();
    let mut rest = token;
    while rest > 0 {
        digits.push(char::from_digit(rest % 36, 36).unwrap());
        rest /= 36;
    }
    let prefix = format!("mm{}-{stamp}-", digits.iter().rev().collect::<String>());
    let name = format!("{prefix}{}", &tail.repeat(30)[..30 - prefix.len()]);
    assert_eq!(name.len(), 30);
    name
}

#[cfg(target_os = "linux")]
#[test]
fn sweep_removes_only_auto_names_of_ended_processes() {
    // A process that has ended and been reaped: its id names nobody (or, reused, someone born
    // at another time).
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    let dead = Name(auto_name_for(gone.id(), "0a"));
    let alive = Name(auto_name_for(std::process::id(), "0b"));
    let mine = Name(memmap_core::unique_shared_name());
    let other = Name::new();
    for name in [&dead, &alive, &mine, &other] {
        drop(Map::create_shared(&name.0, 4096, true).unwrap());
    }
    let swept = memmap_core::sweep_shared().unwrap();
    assert!(swept.contains(&dead.0), "{swept:?}");
    for kept in [&alive, &mine, &other] {
        assert!(!swept.contains(&kept.0), "{swept:?}");
        drop(Map::open_shared(&kept.0, true).unwrap());
    }
    assert_eq!(
        errno(&Map::open_shared(&dead.0, true).unwrap_err()),
        libc::ENOENT
    );
}
