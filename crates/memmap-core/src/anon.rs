//! Anonymous mappings: zero-filled memory owned by this process, with no file.

use memmap2::MmapOptions;

use crate::error::{Error, Result};
use crate::map::{Backing, Map};
use crate::options::{Kind, Mode};

/// Options of [`Map::anonymous`], as in the public API.
#[derive(Clone, Debug, Default)]
pub struct AnonymousOptions {
    /// Fault every page in (writable, so that each is allocated) before returning.
    pub populate: bool,
    /// Ask for transparent huge pages (`MADV_HUGEPAGE`); a hint, never an error.
    pub huge_pages: bool,
    /// Lock the pages in RAM.
    pub lock: bool,
}

impl Map {
    /// Maps `length` bytes of zero-filled memory: kind anonymous, mode `'r+'`, no path.
    ///
    /// Huge pages are asked for before the pages are populated, so that they are faulted in
    /// huge rather than collapsed later.
    pub fn anonymous(length: u64, options: &AnonymousOptions) -> Result<Map> {
        let len = crate::resize::mappable(length)?;
        let region = if len == 0 {
            None
        } else {
            let region = MmapOptions::new()
                .len(len)
                .map_anon()
                .map_err(|e| Error::os(e, "mmap", None))?;
            if options.huge_pages {
                crate::os::advise_huge_pages(&region);
            }
            Some(region)
        };
        let map = Map::from_region(
            region,
            Kind::Anonymous,
            Mode::ReadWrite,
            None,
            0,
            len,
            Backing::None,
        )?;
        if options.populate {
            map.populate_write();
        }
        map.apply(false, options.lock)?;
        Ok(map)
    }
}
