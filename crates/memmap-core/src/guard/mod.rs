//! The truncation guard: when another process truncates a file under a live mapping, touching
//! the lost pages must not kill the process.
//!
//! On POSIX the kernel raises SIGBUS for such a touch. [`Registration`] records a mapping's
//! address range in a lock-free registry that a SIGBUS handler consults: a fault inside a
//! registered range replaces everything from the faulting page to the end of that mapping with
//! zero-filled private memory and marks the mapping; anything else goes to the handler that was
//! there before (V8's, libuv's, or the default action).
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
