//! What the calls that finish off the JavaScript thread share: timeouts from JavaScript numbers,
//! and promises settled by work on a thread of its own (locks, waits, searches).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use napi::bindgen_prelude::ToNapiValue;
use napi::{sys, Env, JsValue, Result};

use crate::errors::to_js;

/// A timeout in milliseconds (`Infinity` for none, never negative or NaN: the facade sees to it).
pub(crate) fn timeout_of(milliseconds: f64) -> Option<Duration> {
    (milliseconds.is_finite() && milliseconds >= 0.0)
        .then(|| Duration::try_from_secs_f64(milliseconds / 1000.0).ok())
        .flatten()
}

/// What settles a promise on the JavaScript thread: the value, or the coded error.
pub(crate) fn settle<T: ToNapiValue + 'static>(
    result: memmap_core::Result<T>,
) -> impl FnOnce(Env) -> Result<T> {
    move |env| result.map_err(|e| to_js(&env, e))
}

/// What settles a promise on the JavaScript thread, made off it.
pub(crate) type Settle<T> = Box<dyn FnOnce(Env) -> Result<T> + Send>;

/// A promise settled by work on a thread of its own: `start` starts it with the function that
/// settles the promise. If no thread starts, the promise is rejected with the coded error.
pub(crate) fn promise_on_thread<T: ToNapiValue + Send + 'static>(
    env: &Env,
    start: impl FnOnce(Box<dyn FnOnce(Settle<T>) + Send>) -> memmap_core::Result<()>,
) -> Result<sys::napi_value> {
    let (deferred, promise) = env.create_deferred()?;
    // Kept here too, so that the promise is rejected with the coded error if no thread starts.
    let slot = Arc::new(Mutex::new(Some(deferred)));
    let theirs = slot.clone();
    let started = start(Box::new(move |settle_with: Settle<T>| {
        if let Some(deferred) = theirs.lock().ok().and_then(|mut d| d.take()) {
            deferred.resolve(settle_with);
        }
    }));
    if let Err(error) = started {
        if let Some(deferred) = slot.lock().ok().and_then(|mut d| d.take()) {
            deferred.resolve(Box::new(settle::<T>(Err(error))) as Settle<T>);
        }
    }
    Ok(promise.raw())
}
