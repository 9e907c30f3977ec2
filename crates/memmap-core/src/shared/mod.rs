//! Named shared memory: the OS's own (POSIX `shm_open`, a named file mapping on Windows), so
//! every process that opens the same name sees the same bytes.
//!
//! Names are checked here, before any platform code sees them, so that no name can leave the
//! shared memory namespace (no `/`, no `..`, no NUL) or pass a platform's length limit (macOS
//! allows 31 bytes with the leading `/`).

use crate::error::{Error, Result};
use crate::map::Map;

// The names `createShared(length)` makes, and sweeping those whose creator has ended.
pub(crate) mod auto;

// The OS's named shared memory, one module per system.
#[cfg(all(unix, not(target_os = "android")))]
mod unix;
#[cfg(all(unix, not(target_os = "android")))]
use unix as sys;
#[cfg(target_os = "android")]
mod android;
#[cfg(target_os = "android")]
use android as sys;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as sys;

/// The longest name: 30 characters, so that `"/" + name` fits macOS's 31-byte limit.
pub const MAX_NAME_LEN: usize = 30;

/// Checks `name` against `^[A-Za-z0-9][A-Za-z0-9._-]{0,29}$`.
pub fn check_name(name: &str) -> Result<()> {
    let bytes = name.as_bytes();
    let valid = !bytes.is_empty()
        && bytes.len() <= MAX_NAME_LEN
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "The shared memory name {name:?} is invalid: it must be 1 to {MAX_NAME_LEN} \
             characters from A-Z, a-z, 0-9, '.', '_' and '-', starting with a letter or digit"
        )))
    }
}

impl Map {
    /// Opens the named shared memory object `name`, creating it (owner-only) if it does not
    /// exist, grows it to at least `length` bytes (never shrinks it) and maps `length` bytes of
    /// it, shared. With `exclusive`, an existing name is `EEXIST`.
    pub fn create_shared(name: &str, length: u64, exclusive: bool) -> Result<Map> {
        check_name(name)?;
        let length = usize::try_from(length)
            .ok()
            .filter(|&len| len > 0 && len <= isize::MAX as usize)
            .ok_or_else(|| {
                Error::OutOfRange(format!(
                    "length {length} is not a size shared memory can have (1 byte or more)"
                ))
            })?;
        sys::create(name, length, exclusive)
    }

    /// Maps the whole of the existing named shared memory object `name`: shared and writable,
    /// or, with `read_only`, private copy-on-write pages whose writes stay in this process.
    pub fn open_shared(name: &str, read_only: bool) -> Result<Map> {
        check_name(name)?;
        sys::open(name, read_only)
    }
}

/// Removes the name `name`; mappings of it stay valid. `false` if there was no such name
/// (and always on Windows, where an object lives exactly as long as some process has it open).
pub fn unlink_shared(name: &str) -> Result<bool> {
    check_name(name)?;
    sys::unlink(name)
}

/// A new name for an object made without one (`createShared(length)`): on Linux it carries
/// this process's identity, so that [`sweep_shared`] can tell when its creator has ended
/// (the form is in `shared/auto.rs`). The caller creates it exclusively and retries on `EEXIST`.
pub fn unique_name() -> String {
    auto::unique_name()
}

/// Removes the names [`unique_name`] made whose creating process has provably ended, and
/// returns them; names of living creators, of creators in another PID namespace, and every
/// name of another form are left alone. Linux only: elsewhere no system can list its names, or
/// (Windows) none outlives its last handle, and this returns an empty list.
pub fn sweep_shared() -> Result<Vec<String>> {
    auto::sweep()
}

#[cfg(test)]
mod tests {
    use super::check_name;

    #[test]
    fn names() {
        for good in ["a", "A0", "0", "a.b-c_d", "x".repeat(30).as_str(), "a.."] {
            assert!(check_name(good).is_ok(), "{good:?}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "/a",
            "a\0b",
            "-a",
            "_a",
            "a b",
            "é",
            &"x".repeat(31),
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
