//! Memory control, `resize()` and `anonymous()`: argument conversion around the core's methods.

use memmap_core::{AnonymousOptions, Map};
use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Result};
use napi_derive::napi;

use crate::errors::to_js;
use crate::{index, u64_of, Blocking, NativeAdvice, NativeMapping};

/// `residency()`'s result.
#[napi(object)]
pub struct NativeResidency {
    pub pages: f64,
    pub resident: f64,
}

/// `anonymous()`'s options, already validated by the facade.
#[napi(object)]
pub struct NativeAnonymousOptions {
    pub populate: bool,
    pub huge_pages: bool,
    pub lock: bool,
}

#[napi]
impl NativeMapping {
    /// Passes an advice for `[start, end)` to the OS; `false` where it has no such advice.
    #[napi]
    pub fn advise(&self, env: Env, advice: NativeAdvice, start: f64, end: f64) -> Result<bool> {
        self.with(&env, |map| {
            map.advise(advice.into(), index(start)?, index(end)?)
        })
    }

    /// Locks the pages of `[start, end)` in RAM.
    #[napi]
    pub fn lock(&self, env: Env, start: f64, end: f64) -> Result<()> {
        self.with(&env, |map| map.lock(index(start)?, index(end)?))
    }

    /// Unlocks the pages of `[start, end)`.
    #[napi]
    pub fn unlock(&self, env: Env, start: f64, end: f64) -> Result<()> {
        self.with(&env, |map| map.unlock(index(start)?, index(end)?))
    }

    /// Pages overlapping `[start, end)` and how many are in RAM.
    #[napi]
    pub fn residency(&self, env: Env, start: f64, end: f64) -> Result<NativeResidency> {
        self.with(&env, |map| {
            let counts = map.residency(index(start)?, index(end)?)?;
            Ok(NativeResidency {
                pages: counts.pages as f64,
                resident: counts.resident as f64,
            })
        })
    }

    /// Faults `[start, end)` in on a thread-pool thread, holding the mapping open meanwhile
    /// (`close()` waits for it; a mapping closed first rejects with `ERR_MMAP_CLOSED`).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn prefetch(&self, start: f64, end: f64) -> AsyncTask<Blocking<(), ()>> {
        let handle = self.handle.clone();
        let work = move || handle.with(|map| map.prefetch(index(start)?, index(end)?));
        Blocking::spawn(work, |()| ())
    }

    /// Gives the mapping a new length. Every Buffer handed out is detached once the core has
    /// checked the request, before the pages move.
    #[napi]
    pub fn resize(&self, env: Env, length: f64) -> Result<()> {
        let views = &self.views;
        self.handle
            .with_mut(|map| {
                let length = u64_of(length)?;
                map.resize(length, || views.borrow_mut().detach_all(&env))
            })
            .map_err(|e| to_js(&env, e))
    }
}

/// Maps zero-filled memory owned by this process.
#[napi]
pub fn anonymous(env: Env, length: f64, options: NativeAnonymousOptions) -> Result<NativeMapping> {
    let options = AnonymousOptions {
        populate: options.populate,
        huge_pages: options.huge_pages,
        lock: options.lock,
    };
    u64_of(length)
        .and_then(|length| Map::anonymous(length, &options))
        .map(NativeMapping::new)
        .map_err(|e| to_js(&env, e))
}
