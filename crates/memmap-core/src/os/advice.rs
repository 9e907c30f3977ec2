//! The advice `advise()` takes: a portable value that each platform module turns into its own
//! call (`madvise` flags on POSIX, `PrefetchVirtualMemory` for `'willneed'` on Windows).

/// What `advise()` tells the OS about how a range will be used (`madvise` on POSIX).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advice {
    /// `'normal'`: no special treatment (undoes `'random'` and `'sequential'`).
    Normal,
    /// `'random'`: expect random access; read ahead little.
    Random,
    /// `'sequential'`: expect sequential access; read ahead aggressively.
    Sequential,
    /// `'willneed'`: start reading the range in now.
    WillNeed,
    /// `'dontneed'`: the range will not be needed soon; on Linux private pages lose their changes.
    DontNeed,
    /// `'hugepage'`: back the range with transparent huge pages where possible.
    HugePage,
    /// `'nohugepage'`: never back the range with transparent huge pages.
    NoHugePage,
}

impl Advice {
    /// Every advice, in the contract's order.
    pub const ALL: [Advice; 7] = [
        Advice::Normal,
        Advice::Random,
        Advice::Sequential,
        Advice::WillNeed,
        Advice::DontNeed,
        Advice::HugePage,
        Advice::NoHugePage,
    ];

    /// Parses the JavaScript spelling.
    pub fn parse(text: &str) -> Option<Advice> {
        Advice::ALL
            .into_iter()
            .find(|advice| advice.as_str() == text)
    }

    /// The JavaScript spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Advice::Normal => "normal",
            Advice::Random => "random",
            Advice::Sequential => "sequential",
            Advice::WillNeed => "willneed",
            Advice::DontNeed => "dontneed",
            Advice::HugePage => "hugepage",
            Advice::NoHugePage => "nohugepage",
        }
    }
}
