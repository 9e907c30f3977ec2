//! A closable, shareable owner of a [`Map`].

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::error::{Error, Result};
use crate::map::Map;

/// Shared ownership of one mapping. Clones share it; the pages are unmapped when the last clone
/// is dropped or, earlier, by [`Handle::close`].
///
/// Calls on the JavaScript thread and on background threads (flushing, opening) take the lock
/// for the whole of their work, so `close` waits for them rather than pulling the pages away
/// under them.
#[derive(Clone, Debug)]
pub struct Handle(Arc<RwLock<Option<Map>>>);

impl Handle {
    /// Takes ownership of `map`.
    pub fn new(map: Map) -> Self {
        Handle(Arc::new(RwLock::new(Some(map))))
    }

    /// Runs `f` on the live mapping, or fails with [`Error::Closed`].
    pub fn with<T>(&self, f: impl FnOnce(&Map) -> Result<T>) -> Result<T> {
        match self.read().as_ref() {
            Some(map) => f(map),
            None => Err(Error::Closed),
        }
    }

    /// Runs `f` with the mapping borrowed mutably (remapping), or fails with [`Error::Closed`].
    pub fn with_mut<T>(&self, f: impl FnOnce(&mut Map) -> Result<T>) -> Result<T> {
        match self.write().as_mut() {
            Some(map) => f(map),
            None => Err(Error::Closed),
        }
    }

    /// Unmaps now. Returns whether the mapping was still open. Idempotent.
    pub fn close(&self) -> bool {
        // Dropped outside the lock would be nicer for waiters, but unmapping is quick.
        self.write().take().is_some()
    }

    /// Whether [`Handle::close`] ran.
    pub fn is_closed(&self) -> bool {
        self.read().is_none()
    }

    fn read(&self) -> RwLockReadGuard<'_, Option<Map>> {
        // A panic while holding the lock leaves the map itself intact; keep using it.
        self.0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Option<Map>> {
        self.0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
