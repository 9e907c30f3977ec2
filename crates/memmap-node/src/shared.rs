//! Named shared memory (`createShared`, `openShared`, `unlinkShared`, `sweepShared`): argument
//! conversion only, as in the core's `shared/` and the facade's `shared.ts`.

use memmap_core::Map;
use napi::{Env, Result};
use napi_derive::napi;

use crate::errors::to_js;
use crate::{index, NativeMapping};

/// Creates (owner-only) or opens the named object, grown to at least `length`, mapped shared.
#[napi]
pub fn create_shared(
    env: Env,
    name: String,
    length: f64,
    exclusive: bool,
) -> Result<NativeMapping> {
    index(length)
        .and_then(|length| Map::create_shared(&name, length as u64, exclusive))
        .map(NativeMapping::new)
        .map_err(|e| to_js(&env, e))
}

/// Maps the whole existing object: shared, or private copy-on-write with `read_only`.
#[napi]
pub fn open_shared(env: Env, name: String, read_only: bool) -> Result<NativeMapping> {
    Map::open_shared(&name, read_only)
        .map(NativeMapping::new)
        .map_err(|e| to_js(&env, e))
}

/// Removes the name; `false` if there was none.
#[napi]
pub fn unlink_shared(env: Env, name: String) -> Result<bool> {
    memmap_core::unlink_shared(&name).map_err(|e| to_js(&env, e))
}

/// A new name for `createShared(length)` (the core's form; the facade creates it exclusively).
#[napi]
pub fn unique_shared_name() -> String {
    memmap_core::unique_shared_name()
}

/// Removes the names `createShared(length)` made whose creator has ended; returns them.
#[napi]
pub fn sweep_shared(env: Env) -> Result<Vec<String>> {
    memmap_core::sweep_shared().map_err(|e| to_js(&env, e))
}
