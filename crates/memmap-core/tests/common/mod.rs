//! Helpers shared by the integration tests (`mod common;` in each test file that needs them).

use memmap_core::Error;

/// The OS error number of an `Error::Os`; panics on any other error, which is then a test failure.
pub fn errno(error: &Error) -> i32 {
    match error {
        Error::Os { source, .. } => source.raw_os_error().unwrap(),
        other => panic!("expected an OS error, got {other:?}"),
    }
}
