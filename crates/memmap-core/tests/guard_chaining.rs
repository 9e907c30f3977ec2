#![cfg(unix)]
//! The truncation guard's chaining: a SIGBUS that is not for one of our mappings goes on to the
//! handler that was there before ours, and ends the process as it would have without us.
//!
//! The expected outcome is death by a signal, so each test runs its body in a child process: this
//! test binary again, running only that test, with `MEMMAP_GUARD_CHILD` set.

use std::fs;
use std::io::Read;
use std::mem::MaybeUninit;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::time::{Duration, Instant};

use memmap_core::{page_size, Map, Mode, OpenOptions};

const CHILD: &str = "MEMMAP_GUARD_CHILD";

/// Whether this process is the child that runs `name`'s body.
fn is_child(name: &str) -> bool {
    std::env::var(CHILD).is_ok_and(|value| value == name)
}

/// Runs test `name` in a child process; returns how it ended and what it printed.
fn in_child(name: &str) -> (ExitStatus, String) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, name)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Not a measurement: a fault that repeats forever is one of the failures looked for here,
    // and it must fail the test rather than hang the suite. Two minutes is ample.
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child never ended: a fault outside our mappings repeated forever");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    (status, out)
}

/// A file of `pages` pages and our (guarded) shared mapping of it.
fn guarded(dir: &tempfile::TempDir, name: &str, pages: usize) -> (std::path::PathBuf, Map) {
    let path = dir.path().join(name);
    fs::write(&path, vec![0x5a; pages * page_size()]).unwrap();
    let options = OpenOptions {
        mode: Mode::ReadWrite,
        ..Default::default()
    };
    let map = Map::open(&path, &options).unwrap();
    (path, map)
}

/// A mapping this library knows nothing of (another addon's, say), whose file is then cut to
/// zero: touching its second page is a SIGBUS that is not ours to mend.
fn foreign_lost_page(dir: &tempfile::TempDir) -> (memmap2::Mmap, *const u8) {
    let path = dir.path().join("foreign.bin");
    fs::write(&path, vec![1; 2 * page_size()]).unwrap();
    let file = fs::File::open(&path).unwrap();
    // SAFETY: the test reads the pages through a raw pointer only.
    let map = unsafe { memmap2::MmapOptions::new().map(&file) }.unwrap();
    cut_to_zero(&path);
    // SAFETY: one page into a two-page mapping.
    let lost = unsafe { map.as_ptr().add(page_size()) };
    (map, lost)
}

/// Truncates the file at `path` to nothing, as another process would.
fn cut_to_zero(path: &std::path::Path) {
    fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(0)
        .unwrap();
}

fn say(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout();
    writeln!(out, "{text}").unwrap();
    out.flush().unwrap();
}

#[test]
fn a_fault_outside_our_mappings_kills_even_when_sigbus_was_ignored() {
    const NAME: &str = "a_fault_outside_our_mappings_kills_even_when_sigbus_was_ignored";
    if is_child(NAME) {
        // SAFETY: a zeroed sigaction with SIG_IGN is a valid disposition.
        unsafe {
            let mut ignore: libc::sigaction = MaybeUninit::zeroed().assume_init();
            ignore.sa_sigaction = libc::SIG_IGN;
            assert_eq!(libc::sigaction(libc::SIGBUS, &ignore, ptr::null_mut()), 0);
        }
        let dir = tempfile::tempdir().unwrap();
        // Installs the guard over SIG_IGN.
        let (_path, _ours) = guarded(&dir, "ours.bin", 2);
        // A SIGBUS that a process sends stays ignored, as it was asked to be.
        // SAFETY: raising a signal has no memory-safety preconditions.
        unsafe { libc::raise(libc::SIGBUS) };
        say("survived a sent SIGBUS");
        // A fault cannot be ignored: without the guard the kernel kills the process here, and
        // returning from the handler would only run the faulting read again, forever.
        touch_foreign_lost_page(&dir);
    }
    let (status, out) = in_child(NAME);
    assert!(out.contains("survived a sent SIGBUS"), "{out}");
    assert_eq!(status.signal(), Some(libc::SIGBUS), "{status:?}\n{out}");
}

/// Reads a lost page of a mapping the guard does not know (which should kill the process), and
/// exits 0 if the read returns.
fn touch_foreign_lost_page(dir: &tempfile::TempDir) -> ! {
    let (_foreign, lost) = foreign_lost_page(dir);
    // SAFETY: the address is mapped; reading it faults because its file is gone.
    let byte = unsafe { lost.read_volatile() };
    say(&format!(
        "read {byte} from a lost page of a mapping that is not ours"
    ));
    std::process::exit(0);
}

/// The action our handler displaced, saved by `chaining_handler`'s installer.
static SAVED: AtomicPtr<libc::sigaction> = AtomicPtr::new(ptr::null_mut());

/// What another library's SIGBUS handler does when the fault is not its own (a second copy of
/// this guard in another addon, a sanitizer): it calls the handler it displaced.
extern "C" fn chaining_handler(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    // SAFETY: SAVED was set, before this handler was installed, to a leaked sigaction whose
    // handler (ours) takes SA_SIGINFO arguments.
    unsafe {
        let saved = &*SAVED.load(Ordering::Acquire);
        let previous: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            std::mem::transmute(saved.sa_sigaction);
        previous(signal, info, context);
    }
}

#[test]
fn a_chaining_handler_installed_after_ours_is_kept_and_faults_still_end_right() {
    const NAME: &str = "a_chaining_handler_installed_after_ours_is_kept_and_faults_still_end_right";
    if is_child(NAME) {
        let dir = tempfile::tempdir().unwrap();
        // Installs ours.
        let (path, first) = guarded(&dir, "first.bin", 4);
        // SAFETY: plain sigaction calls with valid structures; the saved one is leaked so the
        // handler can read it for the rest of the process.
        unsafe {
            let saved: &'static mut libc::sigaction =
                Box::leak(Box::new(MaybeUninit::zeroed().assume_init()));
            let mut other: libc::sigaction = MaybeUninit::zeroed().assume_init();
            other.sa_sigaction = chaining_handler as *const () as usize;
            other.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            assert_eq!(libc::sigaction(libc::SIGBUS, ptr::null(), saved), 0);
            SAVED.store(saved, Ordering::Release);
            assert_eq!(libc::sigaction(libc::SIGBUS, &other, ptr::null_mut()), 0);
        }
        // A new mapping must not install ours over the chaining handler: ours would then chain
        // to it, and it back to ours, forever.
        let (_path2, _second) = guarded(&dir, "second.bin", 1);
        // Our mapping is still mended through the other handler.
        cut_to_zero(&path);
        let mut byte = [0xff];
        first.read(2 * page_size() as u64, &mut byte);
        assert_eq!(byte[0], 0);
        assert!(first.lost_pages());
        say("mended through the other handler");
        touch_foreign_lost_page(&dir);
    }
    let (status, out) = in_child(NAME);
    assert!(out.contains("mended through the other handler"), "{out}");
    // Death by SIGBUS, as without us; a loop between the two handlers dies of stack overflow.
    assert_eq!(status.signal(), Some(libc::SIGBUS), "{status:?}\n{out}");
}
