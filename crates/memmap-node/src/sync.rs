//! `mapping.mutex()` and `mapping.semaphore()`: the slow paths (sleeping, owner death, the
//! refused-Buffer mode). The uncontended paths run in the facade (src/sync.ts) over the window.

use memmap_core::Identity;
use napi::{sys, Env, Result};
use napi_derive::napi;

use crate::errors::to_js;
use crate::shared::{promise_on_thread, timeout_of};
use crate::{index, NativeMapping};

/// The calling thread as a lock word names it.
#[napi(object)]
pub struct NativeIdentity {
    /// What the lock word holds while this thread holds a mutex.
    pub token: u32,
    /// When the thread was born (0: unknown), stored next to the token.
    pub stamp: u32,
}

/// The calling (JavaScript) thread's identity, for the facade's uncontended paths.
#[napi]
pub fn thread_identity() -> NativeIdentity {
    let Identity { token, stamp } = memmap_core::thread_identity();
    NativeIdentity { token, stamp }
}

#[napi]
impl NativeMapping {
    /// Locks the mutex at `offset` for this thread, blocking; `true` if its holder had died.
    #[napi]
    pub fn mutex_lock(&self, env: Env, offset: f64, timeout: f64) -> Result<bool> {
        let who = memmap_core::thread_identity();
        index(offset)
            .and_then(|offset| self.handle.mutex_lock(offset, who, timeout_of(timeout)))
            .map(|locked| locked.owner_died)
            .map_err(|e| to_js(&env, e))
    }

    /// Takes the mutex if it is free (or its holder is gone): `null` if held, else whether the
    /// holder had died.
    #[napi]
    pub fn mutex_try_lock(&self, env: Env, offset: f64) -> Result<Option<bool>> {
        let who = memmap_core::thread_identity();
        index(offset)
            .and_then(|offset| self.handle.mutex_try_lock(offset, who))
            .map(|locked| locked.map(|locked| locked.owner_died))
            .map_err(|e| to_js(&env, e))
    }

    /// `mutex_lock` on a thread of its own, in this thread's name; settles with `ownerDied`.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn mutex_lock_async(&self, env: Env, offset: f64, timeout: f64) -> Result<sys::napi_value> {
        let who = memmap_core::thread_identity();
        let offset = index(offset).map_err(|e| to_js(&env, e))?;
        promise_on_thread(&env, |done| {
            self.handle
                .mutex_lock_on_thread(offset, who, timeout_of(timeout), move |result| {
                    done(result.map(|locked| locked.owner_died))
                })
        })
    }

    /// Unlocks the mutex, which this thread must hold, waking one sleeper.
    #[napi]
    pub fn mutex_unlock(&self, env: Env, offset: f64) -> Result<()> {
        let who = memmap_core::thread_identity();
        index(offset)
            .and_then(|offset| self.handle.mutex_unlock(offset, who))
            .map_err(|e| to_js(&env, e))
    }

    /// Whether the mutex is held (a snapshot).
    #[napi]
    pub fn mutex_locked(&self, env: Env, offset: f64) -> Result<bool> {
        index(offset)
            .and_then(|offset| self.handle.mutex_locked(offset))
            .map_err(|e| to_js(&env, e))
    }

    /// Takes a permit, blocking.
    #[napi]
    pub fn semaphore_acquire(&self, env: Env, offset: f64, timeout: f64) -> Result<()> {
        index(offset)
            .and_then(|offset| self.handle.semaphore_acquire(offset, timeout_of(timeout)))
            .map_err(|e| to_js(&env, e))
    }

    /// Takes a permit if there is one.
    #[napi]
    pub fn semaphore_try_acquire(&self, env: Env, offset: f64) -> Result<bool> {
        index(offset)
            .and_then(|offset| self.handle.semaphore_try_acquire(offset))
            .map_err(|e| to_js(&env, e))
    }

    /// `semaphore_acquire` on a thread of its own.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn semaphore_acquire_async(
        &self,
        env: Env,
        offset: f64,
        timeout: f64,
    ) -> Result<sys::napi_value> {
        let offset = index(offset).map_err(|e| to_js(&env, e))?;
        promise_on_thread(&env, |done| {
            self.handle
                .semaphore_acquire_on_thread(offset, timeout_of(timeout), done)
        })
    }

    /// Adds `count` permits, waking as many sleepers.
    #[napi]
    pub fn semaphore_release(&self, env: Env, offset: f64, count: u32) -> Result<()> {
        index(offset)
            .and_then(|offset| self.handle.semaphore_release(offset, count))
            .map_err(|e| to_js(&env, e))
    }

    /// The count of permits (a snapshot).
    #[napi]
    pub fn semaphore_value(&self, env: Env, offset: f64) -> Result<u32> {
        index(offset)
            .and_then(|offset| self.handle.semaphore_value(offset))
            .map_err(|e| to_js(&env, e))
    }
}
