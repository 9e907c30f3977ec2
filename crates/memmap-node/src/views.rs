//! Buffers that are the mapped pages, and their detachment on `close()`.
//!
//! # Safety
//! A Buffer made here points into a live mapping. Three things keep that true:
//! - its backing store's finalizer owns a [`Handle`] clone, so the pages outlive every Buffer the
//!   garbage collector still reaches (the `Mapping` object may be dropped first);
//! - `close()` and `resize()` detach every Buffer made here (V8 then gives them length 0), so
//!   ordinary JavaScript sees length 0 from then on;
//! - the backing store's finalizer and a finalizer on the ArrayBuffer object each own an
//!   [`Exposed`] claim on the pages, which the core retires in place rather than unmapping
//!   while a claim lives (`memmap-core`'s `retire.rs` has the whole argument): an ArrayBuffer
//!   transferred away, or a native job still holding the object, never reaches unmapped memory.
//!
//! Everything here runs on the JavaScript thread that owns the `napi_env`.

use std::ffi::c_void;
use std::ptr;

use memmap_core::{Exposed, Handle};
use napi::{sys, Env};

use crate::errors::check;

/// Node-API's `napi_no_external_buffers_allowed` (Electron's V8 memory cage).
const NO_EXTERNAL_BUFFERS: sys::napi_status = 22;

/// Why no Buffer was made.
pub enum ViewError {
    /// The runtime refuses Buffers over memory V8 did not allocate.
    Refused,
    /// Any other Node-API failure.
    Napi(napi::Error),
}

impl From<napi::Error> for ViewError {
    fn from(error: napi::Error) -> Self {
        ViewError::Napi(error)
    }
}

/// The Buffers handed out over one mapping, held weakly so that `close()` can detach those the
/// program still reaches without keeping any alive.
#[derive(Default)]
pub struct Views {
    refs: Vec<sys::napi_ref>,
    prune_at: usize,
}

impl Views {
    /// A Buffer over `len` bytes at `data`, which `handle` keeps mapped and `exposed` keeps
    /// from being unmapped while the Buffer or its ArrayBuffer lives.
    pub fn create(
        &mut self,
        env: &Env,
        handle: &Handle,
        exposed: Exposed,
        data: *mut u8,
        len: usize,
    ) -> Result<sys::napi_value, ViewError> {
        let raw = env.raw();
        let mut buffer = ptr::null_mut();
        if len == 0 {
            let mut unused = ptr::null_mut();
            // SAFETY: an ordinary (V8-owned) empty Buffer; out-pointers are valid.
            check(unsafe { sys::napi_create_buffer(raw, 0, &mut unused, &mut buffer) })?;
            return Ok(buffer);
        }
        let hint = Box::into_raw(Box::new((handle.clone(), exposed.clone())));
        // SAFETY: `data..data + len` is mapped and stays mapped while `hint` (a Handle clone and
        // a claim on the pages) lives, which the backing store's finalizer drops.
        let status = unsafe {
            sys::napi_create_external_buffer(
                raw,
                len,
                data.cast(),
                Some(release),
                hint.cast(),
                &mut buffer,
            )
        };
        if status != sys::Status::napi_ok {
            // Node runs the finalizer itself on some failures and not on others, so `hint` is
            // deliberately leaked here: a few bytes, while freeing it could free it twice. The
            // pages do not leak: `close()` unmaps whatever Handle clones remain.
            return Err(match status {
                NO_EXTERNAL_BUFFERS => ViewError::Refused,
                other => ViewError::Napi(check(other).unwrap_err()),
            });
        }
        let mut array_buffer = ptr::null_mut();
        // SAFETY: `buffer` is the Uint8Array just created; only its ArrayBuffer is asked for.
        check(unsafe {
            sys::napi_get_typedarray_info(
                raw,
                buffer,
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
                &mut array_buffer,
                ptr::null_mut(),
            )
        })?;
        let claim = Box::into_raw(Box::new(exposed));
        // SAFETY: `array_buffer` is a live object of this env; `claim` is handed over to the
        // finalizer, which runs once, when the object is collected.
        let status = unsafe {
            sys::napi_add_finalizer(
                raw,
                array_buffer,
                claim.cast(),
                Some(release_claim),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if status != sys::Status::napi_ok {
            // Without the object's claim the pages would have one owner fewer than the proof
            // needs: keep them for the rest of the process instead (the claim leaks, a few bytes).
            return Ok(buffer);
        }
        let mut weak = ptr::null_mut();
        // SAFETY: a weak (count 0) reference to a live value of this env.
        check(unsafe { sys::napi_create_reference(raw, array_buffer, 0, &mut weak) })?;
        self.refs.push(weak);
        if self.refs.len() >= self.prune_at {
            self.prune(raw);
        }
        Ok(buffer)
    }

    /// Detaches every Buffer still reachable (each reads as length 0 from now on) and forgets them.
    pub fn detach_all(&mut self, env: &Env) {
        for weak in self.refs.drain(..) {
            // SAFETY: `weak` was made by `create` in this env and not yet deleted.
            unsafe {
                if let Some(array_buffer) = target(env.raw(), weak) {
                    sys::napi_detach_arraybuffer(env.raw(), array_buffer);
                }
                sys::napi_delete_reference(env.raw(), weak);
            }
        }
        self.prune_at = 0;
    }

    /// Deletes every reference without detaching (the `Mapping` object was collected; its
    /// Buffers keep the pages alive on their own).
    pub fn forget(&mut self, env: &Env) {
        for weak in self.refs.drain(..) {
            // SAFETY: `weak` was made by `create` in this env and not yet deleted.
            unsafe { sys::napi_delete_reference(env.raw(), weak) };
        }
    }

    /// Deletes the references whose Buffers were collected, so a long-lived mapping that hands
    /// out millions of views keeps a list proportional to the live ones (amortised O(1)).
    fn prune(&mut self, env: sys::napi_env) {
        self.refs.retain(|&weak| {
            // SAFETY: `weak` was made by `create` in this env and not yet deleted.
            unsafe {
                let live = target(env, weak).is_some();
                if !live {
                    sys::napi_delete_reference(env, weak);
                }
                live
            }
        });
        self.prune_at = (self.refs.len() * 2).max(64);
    }
}

/// The value a weak reference still reaches, if any.
///
/// # Safety
/// `weak` must be a live reference of `env`.
unsafe fn target(env: sys::napi_env, weak: sys::napi_ref) -> Option<sys::napi_value> {
    let mut value = ptr::null_mut();
    // SAFETY: the caller vouches for `weak`; `value` is a valid out-pointer.
    let status = unsafe { sys::napi_get_reference_value(env, weak, &mut value) };
    (status == sys::Status::napi_ok && !value.is_null()).then_some(value)
}

/// Finalizer of an external Buffer's backing store: releases its hold on the mapping.
unsafe extern "C" fn release(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the `Box<(Handle, Exposed)>` leaked by `create` for this Buffer; V8 runs
    // each finalizer once.
    drop(unsafe { Box::from_raw(hint.cast::<(Handle, Exposed)>()) });
}

/// Finalizer of an external Buffer's ArrayBuffer object: releases its claim on the pages.
unsafe extern "C" fn release_claim(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the `Box<Exposed>` leaked by `create` for this object; each finalizer
    // runs once.
    drop(unsafe { Box::from_raw(data.cast::<Exposed>()) });
}

/// Whether this runtime makes Buffers over memory V8 did not allocate (Electron's memory cage
/// does not). Tried once on a static byte.
pub fn external_buffers_allowed(env: &Env) -> bool {
    static PROBE: [u8; 1] = [0];
    let mut value = ptr::null_mut();
    // SAFETY: the static byte lives forever and is never written (the probe value is dropped
    // at once, unread), so no finalizer is needed.
    let status = unsafe {
        sys::napi_create_external_arraybuffer(
            env.raw(),
            PROBE.as_ptr().cast_mut().cast(),
            1,
            None,
            ptr::null_mut(),
            &mut value,
        )
    };
    status == sys::Status::napi_ok
}
