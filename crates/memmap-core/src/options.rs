//! What a mapping is opened with and what it maps: the mode, the kind and the open options, as
//! the public API names them. The binding converts JavaScript values to these and nothing else.

/// How a file is opened and what a write to its pages does (the `fs` flags a Node.js user knows).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// `'r'`: the file opened read-only, private copy-on-write pages.
    #[default]
    Read,
    /// `'r+'`: the file opened read-write, shared pages.
    ReadWrite,
    /// `'w+'`: the file created or truncated, set to `size` bytes, shared pages.
    Create,
    /// `'c'`: the file opened read-only, private copy-on-write pages that `write()`, the
    /// atomics and the locks may change too (numpy's mode `'c'`). Nothing reaches the file.
    Private,
}

impl Mode {
    /// The JavaScript spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Read => "r",
            Mode::ReadWrite => "r+",
            Mode::Create => "w+",
            Mode::Private => "c",
        }
    }

    /// Whether writes through the mapping reach the file (or the shared object).
    pub fn is_shared(self) -> bool {
        matches!(self, Mode::ReadWrite | Mode::Create)
    }

    /// Whether explicit writes (`write()`, the atomics, the locks) may change the pages: every
    /// mode but `'r'`, where one would be a bug (a stray Buffer write there is merely private).
    pub fn is_writable(self) -> bool {
        self != Mode::Read
    }
}

/// What a mapping maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A file's pages.
    File,
    /// Zero-filled memory owned by this process.
    Anonymous,
    /// Named shared memory.
    Shared,
}

impl Kind {
    /// The JavaScript spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Anonymous => "anonymous",
            Kind::Shared => "shared",
        }
    }
}

/// Options of [`Map::open`], as `OpenOptions` in the public API.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// How the file is opened.
    pub mode: Mode,
    /// Byte offset into the file; any value, no alignment asked.
    pub offset: u64,
    /// Bytes to map; `None` maps to the end of the file.
    pub length: Option<u64>,
    /// `'w+'`: the new file's length (required). `'r+'`: grow the file to at least this first.
    pub size: Option<u64>,
    /// Fault every page in at map time.
    pub populate: bool,
    /// Ask for transparent huge pages where the OS offers them; a hint.
    pub huge_pages: bool,
    /// Lock the pages in RAM after mapping.
    pub lock: bool,
}
