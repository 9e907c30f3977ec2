//! Writing a [`Map`]'s pages back to its file (`flush()`, `flushAsync()`), and the truncation
//! checks that make a flush of lost pages an error instead of a silent loss.

use crate::error::{Error, Result};
use crate::map::{Backing, Map};
use crate::options::Mode;
use crate::sigbus::Registration;

impl Map {
    /// Writes `[start, end)` back to the file and waits until it is durable (msync `MS_SYNC`,
    /// or `FlushViewOfFile` + `FlushFileBuffers`). Nothing to write back for private pages.
    ///
    /// Fails with [`Error::Truncated`] whenever the file is shorter than the mapped range: the
    /// lost pages' contents can no longer reach it.
    pub fn flush(&self, start: usize, end: usize) -> Result<()> {
        self.write_back(start, end, true)
    }

    /// Starts writing `[start, end)` back to the file and returns at once (msync `MS_ASYNC`, or
    /// `FlushViewOfFile` without `FlushFileBuffers`): nothing is durable yet, but the kernel
    /// need not wait for memory pressure or its writeback timer. Fails as [`Map::flush`] does
    /// on a file cut short under the mapping.
    pub fn schedule_flush(&self, start: usize, end: usize) -> Result<()> {
        self.write_back(start, end, false)
    }

    fn write_back(&self, start: usize, end: usize, durable: bool) -> Result<()> {
        self.check_range(start, end)?;
        let Some(region) = &self.region else {
            return Ok(());
        };
        // 'c' promises that nothing ever reaches the file: there is nothing to write back, and
        // nothing to report (its pages are private, whatever the file does).
        if self.mode == Mode::Private {
            return Ok(());
        }
        if let Some((errno, pages)) = self.sigbus.as_ref().and_then(Registration::lost_writes) {
            return Err(Error::LostWrites {
                source: std::io::Error::from_raw_os_error(errno),
                path: self.path.clone(),
                pages,
            });
        }
        self.check_not_truncated()?;
        if start == end || !self.mode.is_shared() {
            return Ok(());
        }
        let flushed = if durable {
            region.flush_range(start, end - start)
        } else {
            region.flush_async_range(start, end - start)
        };
        flushed.map_err(|e| Error::os(e, "msync", self.path.as_deref()))
    }

    /// Whether a touch found pages that the file lost under the mapping (they now read as zeros).
    pub fn lost_pages(&self) -> bool {
        self.sigbus.as_ref().is_some_and(Registration::lost_pages)
    }

    /// [`Error::Truncated`] if the file is now shorter than the mapped range.
    ///
    /// A writable mapping, and a private one of a caller's descriptor, ask the open file they
    /// keep. A private (`'r'`) one opened by path holds no descriptor and writes nothing back, so
    /// it goes only by what the truncation guard saw: its path may have been unlinked or replaced
    /// by another file since, which says nothing about the pages.
    fn check_not_truncated(&self) -> Result<()> {
        let mapped_end = self.offset + self.len as u64;
        let file_len = match &self.backing {
            Backing::File(file) | Backing::Descriptor(file) => {
                Some(file.metadata().map(|meta| meta.len()).unwrap_or(0))
            }
            Backing::Path(_) | Backing::None => None,
        };
        if self.lost_pages() || file_len.is_some_and(|len| len < mapped_end) {
            return Err(Error::Truncated {
                file_len,
                mapped_end,
            });
        }
        Ok(())
    }
}
