//! The SIGBUS handler (the "truncation guard" of the docs): when another process truncates a
//! file under a live mapping, or the disk under a writable one is full, touching the pages the
//! file cannot back must not kill the process.
//!
//! On POSIX the kernel raises SIGBUS for such a touch. [`Registration`] records a mapping's
//! address range in a lock-free registry that the handler consults: a fault past the file's end
//! replaces everything from the faulting page to the end of that mapping with zero-filled private
//! memory and marks the mapping; a fault inside the file (a full disk, an I/O error) replaces
//! that page only and records the lost write; anything else goes to the handler that was there
//! before (V8's, libuv's, or the default action).
//!
//! Windows refuses to truncate a file that has a mapped view (`ERROR_USER_MAPPED_FILE`), so it
//! needs no guard: there a registration records nothing.

#[cfg(unix)]
mod posix;
#[cfg(unix)]
pub use posix::Registration;

#[cfg(not(unix))]
mod none;
#[cfg(not(unix))]
pub use none::Registration;
