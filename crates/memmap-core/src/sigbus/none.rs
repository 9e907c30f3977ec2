//! No guard: Windows refuses to truncate a file while a view of it is mapped.

/// A mapping's place in the (absent) registry.
#[derive(Debug)]
pub struct Registration;

impl Registration {
    /// Nothing to record.
    pub fn new(
        _start: *const u8,
        _len: usize,
        _file: Option<&std::fs::File>,
        _offset: u64,
    ) -> Registration {
        Registration
    }

    /// Never: the file cannot be cut short under the mapping.
    pub fn lost_pages(&self) -> bool {
        false
    }

    /// Never recorded: Windows raises an in-page error that is not handled (README).
    pub fn lost_writes(&self) -> Option<(i32, usize)> {
        None
    }
}
