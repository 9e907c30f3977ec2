//! The atomics of `mapping.atomics` and wait/notify: argument conversion only, as in the core's
//! `atomics.rs` and the facade's `atomics.ts`. Values arrive checked and converted by the facade
//! (Int32 wrapping, BigInt64 wrapping, aligned offsets); the core checks offsets again.

use std::time::Duration;

use napi::bindgen_prelude::{i64n, BigInt};
use napi::{sys, Env, JsValue, Result};
use napi_derive::napi;

use crate::enums::NativeRmw;
use crate::errors::to_js;
use crate::task::{promise_on_thread, settle, timeout_of};
use crate::{index, NativeMapping};

#[napi]
impl NativeMapping {
    /// `Atomics.load` on the Int32 at `offset`.
    #[napi]
    pub fn atomic_load(&self, env: Env, offset: f64) -> Result<i32> {
        self.with(&env, |map| map.load_i32(index(offset)?))
    }

    /// `Atomics.store` on the Int32 at `offset`.
    #[napi]
    pub fn atomic_store(&self, env: Env, offset: f64, value: i32) -> Result<()> {
        self.with(&env, |map| map.store_i32(index(offset)?, value))
    }

    /// `Atomics.add`, `sub`, `and`, `or`, `xor` or `exchange` on the Int32 at `offset`: the old
    /// value.
    #[napi]
    pub fn atomic_rmw(&self, env: Env, op: NativeRmw, offset: f64, value: i32) -> Result<i32> {
        self.with(&env, |map| map.rmw_i32(op.into(), index(offset)?, value))
    }

    /// `Atomics.compareExchange` on the Int32 at `offset`.
    #[napi]
    pub fn atomic_compare_exchange(
        &self,
        env: Env,
        offset: f64,
        expected: i32,
        replacement: i32,
    ) -> Result<i32> {
        self.with(&env, |map| {
            map.compare_exchange_i32(index(offset)?, expected, replacement)
        })
    }

    /// `Atomics.load` on the BigInt64 at `offset`.
    #[napi(ts_return_type = "bigint")]
    pub fn atomic_load64(&self, env: Env, offset: f64) -> Result<i64n> {
        self.with(&env, |map| map.load_i64(index(offset)?))
            .map(i64n)
    }

    /// `Atomics.store` on the BigInt64 at `offset`.
    #[napi]
    pub fn atomic_store64(&self, env: Env, offset: f64, value: BigInt) -> Result<()> {
        self.with(&env, |map| map.store_i64(index(offset)?, value.get_i64().0))
    }

    /// `Atomics.add` on the BigInt64 at `offset`: the old value.
    #[napi(ts_return_type = "bigint")]
    pub fn atomic_add64(&self, env: Env, offset: f64, value: BigInt) -> Result<i64n> {
        self.with(&env, |map| map.add_i64(index(offset)?, value.get_i64().0))
            .map(i64n)
    }

    /// `Atomics.compareExchange` on the BigInt64 at `offset`.
    #[napi(ts_return_type = "bigint")]
    pub fn atomic_compare_exchange64(
        &self,
        env: Env,
        offset: f64,
        expected: BigInt,
        replacement: BigInt,
    ) -> Result<i64n> {
        self.with(&env, |map| {
            map.compare_exchange_i64(
                index(offset)?,
                expected.get_i64().0,
                replacement.get_i64().0,
            )
        })
        .map(i64n)
    }

    /// `Atomics.wait` on the Int32 at `offset`, blocking this thread (holding no lock).
    /// `stoppable`: a worker thread, which `terminate()` must be able to end (it then sleeps in
    /// slices, asking between them).
    #[napi(ts_return_type = "'ok' | 'not-equal' | 'timed-out'")]
    pub fn atomic_wait(
        &self,
        env: Env,
        offset: f64,
        expected: i32,
        timeout: f64,
        stoppable: bool,
    ) -> Result<&'static str> {
        let stop = || crate::sync::stopping(&env);
        let waiter = memmap_core::Waiter {
            stop: &stop,
            ..memmap_core::Waiter::plain(memmap_core::thread_identity())
        };
        index(offset)
            .and_then(|offset| match stoppable {
                true => self
                    .handle
                    .wait_as(&waiter, offset, expected, timeout_of(timeout)),
                false => self.handle.wait(offset, expected, timeout_of(timeout)),
            })
            .map(|result| result.as_str())
            .map_err(|e| to_js(&env, e))
    }

    /// `wait` on a thread of its own (not the libuv pool, which it would hold for as long as it
    /// sleeps), settling the promise on this thread. `close()` rejects it with ERR_MMAP_CLOSED.
    #[napi(ts_return_type = "Promise<'ok' | 'not-equal' | 'timed-out'>")]
    pub fn atomic_wait_async(
        &self,
        env: Env,
        offset: f64,
        expected: i32,
        timeout: f64,
    ) -> Result<sys::napi_value> {
        let offset = index(offset).map_err(|e| to_js(&env, e))?;
        let timeout = timeout_of(timeout);
        // Settled at once, without a thread, when there is nothing to wait for.
        let now = self.handle.wait(offset, expected, Some(Duration::ZERO));
        if !matches!(now, Ok(memmap_core::WaitResult::TimedOut)) || timeout == Some(Duration::ZERO)
        {
            let (deferred, promise) = env.create_deferred()?;
            deferred.resolve(settle(now.map(|r| r.as_str())));
            return Ok(promise.raw());
        }
        promise_on_thread(&env, |done| {
            self.handle
                .wait_on_thread(offset, expected, timeout, move |result| {
                    done(Box::new(settle(result.map(|r| r.as_str()))))
                })
        })
    }

    /// `Atomics.notify` on the Int32 at `offset`: how many sleepers woke (0 where they poll).
    #[napi]
    pub fn atomic_notify(&self, env: Env, offset: f64, count: f64) -> Result<u32> {
        let count = if count >= u32::MAX as f64 {
            u32::MAX
        } else {
            count as u32
        };
        index(offset)
            .and_then(|offset| self.handle.notify(offset, count))
            .map_err(|e| to_js(&env, e))
    }
}
