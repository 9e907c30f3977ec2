//! Errors shaped like Node.js `fs` errors.

use std::fmt;
use std::io;

/// A failed operation. OS failures keep the `errno`, the failing system call and the path, so
/// the binding can build the same error object Node's `fs` would.
#[derive(Debug)]
pub enum Error {
    /// The operating system refused: `open`, `mmap`, `msync`, `ftruncate`, ...
    Os {
        /// The underlying error, with its raw OS code.
        source: io::Error,
        /// The system call that failed, as Node names it (`open`, `mmap`, ...).
        syscall: &'static str,
        /// The resolved path, or the shared memory name.
        path: Option<String>,
    },
    /// A range or offset outside the file or the mapping (`ERR_MMAP_OUT_OF_RANGE`).
    OutOfRange(String),
    /// An argument value no mapping can take (`ERR_INVALID_ARG_VALUE`).
    InvalidArgument(String),
    /// The mapping was closed (`ERR_MMAP_CLOSED`).
    Closed,
    /// A handle ([`crate::Handle::share`]) whose memory is gone: every mapping of it was closed
    /// or collected (`ERR_MMAP_CLOSED`).
    Gone,
    /// An explicit write to a mapping opened read-only (`ERR_MMAP_READ_ONLY`).
    ReadOnly,
    /// The file is shorter than the mapped range: another process truncated it
    /// (`ERR_MMAP_TRUNCATED`).
    /// `file_len` is `None` where it is not known (a private mapping keeps no descriptor).
    Truncated {
        file_len: Option<u64>,
        mapped_end: u64,
    },
    /// Writes through the mapping that the file could not take (a full disk: `ENOSPC`; an I/O
    /// error: `EIO`): an OS error like [`Error::Os`] from `msync`, whose message says how many
    /// pages were lost.
    LostWrites {
        /// `ENOSPC` or `EIO`.
        source: io::Error,
        /// The resolved path.
        path: Option<String>,
        /// How many pages the file could not take.
        pages: usize,
    },
    /// This process holds as many live mappings as it may (`ENOMEM`, see `budget.rs`).
    TooManyMappings { limit: usize, path: Option<String> },
    /// The operation does not exist for this kind of mapping or platform (`ERR_MMAP_UNSUPPORTED`).
    Unsupported(String),
    /// Locking `bytes` bytes hit a limit on locked memory (`RLIMIT_MEMLOCK`, the working-set
    /// size): an OS error like [`Error::Os`] whose message says which limit to raise.
    LockLimit {
        /// The underlying error (`EPERM`, `ENOMEM`, ...), with its raw OS code.
        source: io::Error,
        /// `mlock` or `VirtualLock`.
        syscall: &'static str,
        /// The resolved path, or the shared memory name.
        path: Option<String>,
        /// The size of the page-rounded range that was to be locked.
        bytes: usize,
    },
    /// An OS error about a descriptor the caller handed in (no path is known), with what to do
    /// about it: a descriptor that is not open, or not open for what the mode asks.
    Descriptor {
        /// `EBADF`, `EACCES`, ...
        source: io::Error,
        /// `dup`, `mmap`, ...
        syscall: &'static str,
        /// What the caller can do.
        hint: &'static str,
    },
    /// A mutex `lock()` or a semaphore `acquire()` that ran out of time (`ERR_MMAP_TIMEOUT`).
    Timeout {
        /// Where the mutex or semaphore is.
        offset: usize,
        /// `"lock"`, `"acquire"`, `"read"` or `"write"`.
        what: &'static str,
    },
    /// Unlocking a mutex that this thread does not hold (`ERR_MMAP_NOT_OWNER`).
    NotOwner {
        /// Where the mutex is.
        offset: usize,
        /// The token of the thread that holds it; 0: nobody.
        holder: u32,
    },
    /// Locking a mutex that this thread already holds (`ERR_MMAP_DEADLOCK`).
    Deadlock {
        /// Where the mutex is.
        offset: usize,
    },
    /// A barrier that a party's timeout (or garbage in its bytes) broke, or whose round was
    /// ended by `reset()` (`ERR_MMAP_BARRIER_BROKEN`).
    BarrierBroken {
        /// Where the barrier is.
        offset: usize,
    },
    /// An argument past what the call takes, as Node's own range checks say it
    /// (`ERR_OUT_OF_RANGE`, a `RangeError`).
    ArgumentRange(String),
    /// A send on a channel after `end()` (`ERR_MMAP_CHANNEL_ENDED`).
    ChannelEnded {
        /// Where the channel is.
        offset: usize,
    },
    /// A channel's bytes that no channel could have left: something else wrote over them
    /// (`ERR_MMAP_CHANNEL_CORRUPT`).
    ChannelCorrupt(String),
    /// A message larger than the channel's `maxMessage` (`ERR_MMAP_TOO_LARGE`, a `RangeError`).
    TooLarge(String),
    /// A wait given up because the thread that asked for it is ending (a terminated worker):
    /// nothing was taken. JavaScript never sees it; it is `ERR_MMAP_CLOSED` if it ever does.
    Cancelled,
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An OS error from `source`, raised by `syscall` on `path`.
    pub fn os(source: io::Error, syscall: &'static str, path: Option<&str>) -> Self {
        Error::Os {
            source,
            syscall,
            path: path.map(str::to_owned),
        }
    }

    /// The last OS error (`errno` / `GetLastError`), raised by `syscall` on `path`.
    pub fn last_os(syscall: &'static str, path: Option<&str>) -> Self {
        Self::os(io::Error::last_os_error(), syscall, path)
    }

    /// The `code` property JavaScript sees: an errno name (`ENOENT`) or an `ERR_*` code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Os { source, .. }
            | Error::LockLimit { source, .. }
            | Error::Descriptor { source, .. }
            | Error::LostWrites { source, .. } => crate::os::errno_name(source),
            Error::OutOfRange(_) => "ERR_MMAP_OUT_OF_RANGE",
            Error::InvalidArgument(_) => "ERR_INVALID_ARG_VALUE",
            Error::Closed | Error::Gone => "ERR_MMAP_CLOSED",
            Error::ReadOnly => "ERR_MMAP_READ_ONLY",
            Error::Truncated { .. } => "ERR_MMAP_TRUNCATED",
            Error::TooManyMappings { .. } => "ENOMEM",
            Error::Unsupported(_) => "ERR_MMAP_UNSUPPORTED",
            Error::Timeout { .. } => "ERR_MMAP_TIMEOUT",
            Error::NotOwner { .. } => "ERR_MMAP_NOT_OWNER",
            Error::Deadlock { .. } => "ERR_MMAP_DEADLOCK",
            Error::ArgumentRange(_) => "ERR_OUT_OF_RANGE",
            Error::BarrierBroken { .. } => "ERR_MMAP_BARRIER_BROKEN",
            Error::ChannelEnded { .. } => "ERR_MMAP_CHANNEL_ENDED",
            Error::ChannelCorrupt(_) => "ERR_MMAP_CHANNEL_CORRUPT",
            Error::TooLarge(_) => "ERR_MMAP_TOO_LARGE",
            Error::Cancelled => "ERR_MMAP_CLOSED",
        }
    }

    /// The `errno` property: negative, as libuv and Node's `fs` report it. `None` for non-OS errors.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Os { source, .. }
            | Error::LockLimit { source, .. }
            | Error::Descriptor { source, .. }
            | Error::LostWrites { source, .. } => source.raw_os_error().map(crate::os::uv_errno),
            Error::TooManyMappings { .. } => Some(crate::os::ENOMEM_ERRNO),
            _ => None,
        }
    }

    /// The system call that failed, for OS errors.
    pub fn syscall(&self) -> Option<&'static str> {
        match self {
            Error::Os { syscall, .. }
            | Error::LockLimit { syscall, .. }
            | Error::Descriptor { syscall, .. } => Some(syscall),
            Error::TooManyMappings { .. } => Some("mmap"),
            Error::LostWrites { .. } => Some("msync"),
            _ => None,
        }
    }

    /// The path or name the error concerns, for OS errors.
    pub fn path(&self) -> Option<&str> {
        match self {
            Error::Os { path, .. }
            | Error::LockLimit { path, .. }
            | Error::LostWrites { path, .. }
            | Error::TooManyMappings { path, .. } => path.as_deref(),
            _ => None,
        }
    }

    /// Whether JavaScript should see a `RangeError` rather than an `Error`.
    pub fn is_range_error(&self) -> bool {
        matches!(
            self,
            Error::OutOfRange(_) | Error::ArgumentRange(_) | Error::TooLarge(_)
        )
    }

    /// Whether JavaScript should see a `TypeError` rather than an `Error`.
    pub fn is_type_error(&self) -> bool {
        matches!(self, Error::InvalidArgument(_))
    }
}

impl Error {
    /// Node's shape for an OS error: "ENOENT: no such file or directory, open '/x'".
    fn write_os(
        &self,
        f: &mut fmt::Formatter<'_>,
        source: &io::Error,
        syscall: &str,
        path: Option<&str>,
    ) -> fmt::Result {
        write!(
            f,
            "{}: {}, {syscall}",
            self.code(),
            crate::os::describe(source)
        )?;
        match path {
            Some(path) => write!(f, " '{path}'"),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Os {
                source,
                syscall,
                path,
            } => self.write_os(f, source, syscall, path.as_deref()),
            Error::OutOfRange(message)
            | Error::InvalidArgument(message)
            | Error::ArgumentRange(message)
            | Error::TooLarge(message) => f.write_str(message),
            Error::ChannelEnded { offset } => write!(
                f,
                "The channel at byte offset {offset} has ended: no more messages can be sent on it"
            ),
            Error::ChannelCorrupt(what) => write!(
                f,
                "The channel's bytes are not a channel ({what}): something other than a channel \
                 wrote over them"
            ),
            Error::BarrierBroken { offset } => write!(
                f,
                "The barrier at byte offset {offset} is broken: a party timed out (or reset() \
                 ended the round) before all arrived. Call reset() to use it again"
            ),
            Error::Cancelled => f.write_str(
                "The wait was given up: the thread that asked for it is ending, and nothing was \
                 taken",
            ),
            Error::Closed => f.write_str("The mapping is closed: open it again to use it"),
            Error::Gone => f.write_str(
                "The memory this handle names is gone: every Mapping of it was closed or \
                 collected. Keep one open until fromHandle() has run where the handle was sent",
            ),
            Error::ReadOnly => f.write_str(
                "The mapping was opened with mode 'r': open it with mode 'r+' to write to the file, or \
                 'c' to write private copies that never reach it",
            ),
            Error::Truncated {
                file_len,
                mapped_end,
            } => {
                match file_len {
                    Some(end) => write!(
                        f,
                        "The file was truncated under the mapping: it ends at byte {end}, the \
                         mapping at {mapped_end}. "
                    )?,
                    None => f.write_str("The file was truncated under the mapping. ")?,
                }
                f.write_str(
                    "The lost pages read as zeros and writes to them cannot reach the file; \
                     map it again to follow its new length",
                )
            }
            Error::TooManyMappings { limit, path } => {
                write!(f, "ENOMEM: too many live mappings ({limit}), mmap")?;
                if let Some(path) = path {
                    write!(f, " '{path}'")?;
                }
                f.write_str(
                    ": close() the mappings you no longer use; a Mapping that is merely \
                     unreferenced is released only when V8 collects it, after the current task. \
                     Each pending waitAsync() counts too (its thread's stack is mapped memory)",
                )
            }
            Error::Unsupported(message) => f.write_str(message),
            Error::Timeout { offset, what } => write!(
                f,
                "{what}() timed out: the {} at byte offset {offset} was not available in time",
                match *what {
                    "lock" => "mutex",
                    "acquire" => "semaphore",
                    _ => "reader-writer lock",
                }
            ),
            Error::NotOwner { offset, holder: 0 } => write!(
                f,
                "The mutex at byte offset {offset} is not locked: unlock() only what this thread \
                 locked, once"
            ),
            Error::NotOwner { offset, .. } => write!(
                f,
                "The mutex at byte offset {offset} is held by another thread: only the thread \
                 that locked it may unlock it"
            ),
            Error::Deadlock { offset } => write!(
                f,
                "This thread already holds the mutex at byte offset {offset}: locking it again \
                 would wait for ever (mutexes are not recursive)"
            ),
            Error::LostWrites {
                source,
                path,
                pages,
            } => {
                write!(f, "{}: {}, msync", self.code(), crate::os::describe(source))?;
                if let Some(path) = path {
                    write!(f, " '{path}'")?;
                }
                write!(
                    f,
                    ": writes to {pages} page(s) of the mapping were lost, the file could not \
                     take them (they stay in this process's memory only; the file keeps holes \
                     there). Make room or fix the device, then write those bytes again"
                )
            }
            Error::LockLimit {
                source,
                syscall,
                path,
                bytes,
            } => {
                self.write_os(f, source, syscall, path.as_deref())?;
                write!(f, ": {}", crate::os::lock_limit_hint(*bytes))
            }
            Error::Descriptor {
                source,
                syscall,
                hint,
            } => {
                self.write_os(f, source, syscall, None)?;
                write!(f, ": {hint}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Os { source, .. }
            | Error::LockLimit { source, .. }
            | Error::Descriptor { source, .. }
            | Error::LostWrites { source, .. } => Some(source),
            _ => None,
        }
    }
}
