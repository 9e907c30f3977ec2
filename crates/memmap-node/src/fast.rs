//! The hot calls as plain Node-API functions that find their mapping's core handle by number.
//!
//! A `#[napi]` class method pays for napi-rs's checks before any of our code runs: the object's
//! type tag, `napi_unwrap`, and a borrow scope with an allocation of its own (perf on this
//! machine: about 85% of a 300 ns `atomicLoad`). The functions made here take a *slot* as their
//! first argument instead: the number under which the mapping registered its handle in this
//! thread's table ([`register`]). A call is `napi_get_cb_info`, the arguments' values, a table
//! lookup, the core's work and the result. These are what the refused-Buffer mode (Electron)
//! calls for every atomic and every lock, and what the zero-copy mode calls when a lock is
//! contended or bytes are copied.
//!
//! The functions are made once per JavaScript environment (the facade asks at load), not per
//! mapping: making 18 functions with finalizers cost ~75 µs, which an open + read + close paid.
//!
//! After the slot, the functions take the same arguments as the `NativeMapping` methods of the
//! same names (the facade has checked them); a value of another type is a `TypeError`, and a
//! slot that names no mapping an error, never undefined behaviour.
//!
//! # Safety
//! The functions have no data pointer: all they reach is the thread-local table, which holds
//! `Handle` clones (reference counts), so a handle outlives every call that looked it up.
//! `close()` makes calls fail with `ERR_MMAP_CLOSED` as for the methods. A mapping's slot is
//! freed when its `NativeMapping` is collected, and then reused; only the facade, which holds the
//! `NativeMapping` while it calls with the slot, knows the numbers. Every Node-API call is made on
//! the calling thread with the `napi_env` of the current call.

use std::cell::RefCell;
use std::ffi::CStr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use memmap_core::{Handle, Rmw, Waiter};
use napi::bindgen_prelude::JsError;
use napi::{sys, Env, Error, Result, Status};

use crate::errors::{check, to_js};
use crate::index;
use crate::sync::stopping;
use crate::task::timeout_of;

/// The most arguments any of these functions takes after its slot.
const MAX_ARGS: usize = 4;

/// The handles of this thread's mappings that asked for a slot, and the slots free for reuse.
#[derive(Default)]
struct Slots {
    handles: Vec<Option<Handle>>,
    free: Vec<u32>,
}

thread_local! {
    static SLOTS: RefCell<Slots> = RefCell::default();
}

/// Puts a clone of `handle` in this thread's table, under the number returned.
pub(crate) fn register(handle: &Handle) -> u32 {
    SLOTS.with_borrow_mut(|slots| match slots.free.pop() {
        Some(slot) => {
            slots.handles[slot as usize] = Some(handle.clone());
            slot
        }
        None => {
            slots.handles.push(Some(handle.clone()));
            (slots.handles.len() - 1) as u32
        }
    })
}

/// Frees `slot` for reuse. A thread already tearing its table down has nothing to free.
pub(crate) fn unregister(slot: u32) {
    let _ = SLOTS.try_with(|slots| {
        let mut slots = slots.borrow_mut();
        if let Some(entry @ Some(_)) = slots.handles.get_mut(slot as usize) {
            *entry = None;
            slots.free.push(slot);
        }
    });
}

/// The handle in `slot`, cloned: the table is not borrowed during the call, whose JavaScript
/// (a setter run while an error is made) may open or collect mappings.
fn lookup(slot: u32) -> Option<Handle> {
    SLOTS.with_borrow(|slots| slots.handles.get(slot as usize).cloned().flatten())
}

/// What a call receives: its environment, its mapping's handle and its arguments.
struct Call {
    env: Env,
    handle: Handle,
    args: [sys::napi_value; MAX_ARGS],
}

impl Call {
    fn raw(&self) -> sys::napi_env {
        self.env.raw()
    }

    fn number(&self, at: usize) -> Result<f64> {
        let mut value = 0.0;
        // SAFETY: `args[at]` is a value of this call (or null, which Node-API refuses with a
        // status); `value` is a valid out-pointer.
        check(unsafe { sys::napi_get_value_double(self.raw(), self.args[at], &mut value) })
            .map_err(|_| Error::new(Status::NumberExpected, "a number was expected"))?;
        Ok(value)
    }

    fn int32(&self, at: usize) -> Result<i32> {
        let mut value = 0;
        // SAFETY: as in `number`.
        check(unsafe { sys::napi_get_value_int32(self.raw(), self.args[at], &mut value) })
            .map_err(|_| Error::new(Status::NumberExpected, "a number was expected"))?;
        Ok(value)
    }

    fn boolean(&self, at: usize) -> Result<bool> {
        let mut value = false;
        // SAFETY: as in `number`.
        check(unsafe { sys::napi_get_value_bool(self.raw(), self.args[at], &mut value) })
            .map_err(|_| Error::new(Status::BooleanExpected, "a boolean was expected"))?;
        Ok(value)
    }

    /// The `Atomics` operation named in argument `at` (`'add'`, …, `'exchange'`).
    fn rmw(&self, at: usize) -> Result<Rmw> {
        let mut name = [0u8; 16];
        let mut length = 0;
        // SAFETY: `name` is writable for its length, which is passed; `length` is a valid
        // out-pointer. A longer string is cut (and then names no operation).
        check(unsafe {
            sys::napi_get_value_string_utf8(
                self.raw(),
                self.args[at],
                name.as_mut_ptr().cast(),
                name.len(),
                &mut length,
            )
        })
        .map_err(|_| Error::new(Status::StringExpected, "a string was expected"))?;
        Ok(match &name[..length] {
            b"add" => Rmw::Add,
            b"sub" => Rmw::Sub,
            b"and" => Rmw::And,
            b"or" => Rmw::Or,
            b"xor" => Rmw::Xor,
            b"exchange" => Rmw::Exchange,
            _ => return Err(Error::new(Status::InvalidArg, "no such Atomics operation")),
        })
    }

    /// The typed array of `kind` in argument `at`, as a pointer to its data and its length in
    /// elements (no Rust slice: a Uint8Array may be over this very mapping). A detached or empty
    /// array may have no data pointer; its length is then taken as 0.
    fn typed<T>(
        &self,
        at: usize,
        kind: sys::napi_typedarray_type,
        what: &str,
    ) -> Result<(*mut T, usize)> {
        let mut found = 0;
        let mut length = 0;
        let mut data = ptr::null_mut();
        // SAFETY: valid out-pointers; the buffer and byte offset are not asked for (null).
        check(unsafe {
            sys::napi_get_typedarray_info(
                self.raw(),
                self.args[at],
                &mut found,
                &mut length,
                &mut data,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        })
        .ok()
        .filter(|()| found == kind)
        .ok_or_else(|| Error::new(Status::InvalidArg, format!("a {what} was expected")))?;
        Ok((data.cast::<T>(), if data.is_null() { 0 } else { length }))
    }

    /// The bytes of the `Uint8Array` in argument `at`.
    fn bytes(&self, at: usize) -> Result<(*mut u8, usize)> {
        self.typed(at, sys::TypedarrayType::uint8_array, "Uint8Array")
    }

    /// The `Float64Array` in argument `at`.
    fn doubles(&self, at: usize) -> Result<(*mut f64, usize)> {
        self.typed(at, sys::TypedarrayType::float64_array, "Float64Array")
    }

    fn of_f64(&self, answer: f64) -> Result<sys::napi_value> {
        let mut value = ptr::null_mut();
        // SAFETY: a plain call on this env with a valid out-pointer.
        check(unsafe { sys::napi_create_double(self.raw(), answer, &mut value) })?;
        Ok(value)
    }

    /// The byte offset in argument `at`.
    fn offset(&self, at: usize) -> Result<usize> {
        index(self.number(at)?).map_err(|e| to_js(&self.env, e))
    }

    /// The core's answer, or its coded error.
    fn core<T>(&self, result: memmap_core::Result<T>) -> Result<T> {
        result.map_err(|e| to_js(&self.env, e))
    }

    fn undefined(&self) -> Result<sys::napi_value> {
        let mut value = ptr::null_mut();
        // SAFETY: a plain call on this env with a valid out-pointer.
        check(unsafe { sys::napi_get_undefined(self.raw(), &mut value) })?;
        Ok(value)
    }

    fn null(&self) -> Result<sys::napi_value> {
        let mut value = ptr::null_mut();
        // SAFETY: as in `undefined`.
        check(unsafe { sys::napi_get_null(self.raw(), &mut value) })?;
        Ok(value)
    }

    fn of_bool(&self, answer: bool) -> Result<sys::napi_value> {
        let mut value = ptr::null_mut();
        // SAFETY: as in `undefined`.
        check(unsafe { sys::napi_get_boolean(self.raw(), answer, &mut value) })?;
        Ok(value)
    }

    fn of_i32(&self, answer: i32) -> Result<sys::napi_value> {
        let mut value = ptr::null_mut();
        // SAFETY: as in `undefined`.
        check(unsafe { sys::napi_create_int32(self.raw(), answer, &mut value) })?;
        Ok(value)
    }

    fn of_u32(&self, answer: u32) -> Result<sys::napi_value> {
        let mut value = ptr::null_mut();
        // SAFETY: as in `undefined`.
        check(unsafe { sys::napi_create_uint32(self.raw(), answer, &mut value) })?;
        Ok(value)
    }

    /// A blocking waiter for this JavaScript thread, stopped when the thread is terminated.
    fn blocking<T>(&self, f: impl FnOnce(&Waiter<'_>) -> memmap_core::Result<T>) -> Result<T> {
        let stop = || stopping(&self.env);
        let waiter = Waiter {
            who: memmap_core::thread_identity(),
            stop: &stop,
            holds_none: true,
        };
        self.core(f(&waiter))
    }

    /// A waiter that never sleeps (a try): it holds no acquisition, as the facade knows.
    fn trying<T>(&self, f: impl FnOnce(&Waiter<'_>) -> memmap_core::Result<T>) -> Result<T> {
        let waiter = Waiter {
            holds_none: true,
            ..Waiter::plain(memmap_core::thread_identity())
        };
        self.core(f(&waiter))
    }
}

type Body = fn(&Call) -> Result<sys::napi_value>;

/// Runs `body` for one call of a function made by [`functions`]; its error is thrown. A panic
/// (there should be none) is thrown as an error too: it must not unwind into Node.
fn run(env: sys::napi_env, info: sys::napi_callback_info, body: Body) -> sys::napi_value {
    let mut argc = MAX_ARGS + 1;
    // Arguments not passed stay null: reading them is a refused status, not a crash.
    let mut args = [ptr::null_mut(); MAX_ARGS + 1];
    // SAFETY: `info` is this callback's; the out-pointers are valid, `args` holds `argc` values.
    let status = unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            args.as_mut_ptr(),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    let mut slot = 0;
    let outcome = if status != sys::Status::napi_ok {
        Err(Error::from_reason("Node-API call failed"))
    } else if {
        // SAFETY: `args[0]` is a value of this call, or null, which Node-API refuses.
        unsafe { sys::napi_get_value_uint32(env, args[0], &mut slot) }
    } != sys::Status::napi_ok
    {
        Err(Error::new(
            Status::NumberExpected,
            "a mapping's slot was expected",
        ))
    } else if let Some(handle) = lookup(slot) {
        let mut rest = [ptr::null_mut(); MAX_ARGS];
        rest.copy_from_slice(&args[1..]);
        let call = Call {
            env: Env::from_raw(env),
            handle,
            args: rest,
        };
        catch_unwind(AssertUnwindSafe(|| body(&call)))
            .unwrap_or_else(|_| Err(Error::from_reason("memmap: internal error (panic)")))
    } else {
        Err(Error::from_reason(format!(
            "memmap: slot {slot} names no mapping"
        )))
    };
    match outcome {
        Ok(value) => value,
        Err(error) => {
            // SAFETY: `env` is this call's.
            unsafe { JsError::from(error).throw_into(env) };
            ptr::null_mut()
        }
    }
}

/// Defines one callback per body, as `extern "C"` trampolines that Node-API can call.
macro_rules! callbacks {
    ($($name:ident => $body:expr;)*) => {
        $(
            unsafe extern "C" fn $name(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
                run(env, info, $body)
            }
        )*
    };
}

callbacks! {
    read => |c| {
        let ((data, capacity), position) = (c.bytes(0)?, c.offset(1)?);
        // SAFETY: `data` is valid for `capacity` bytes: the array is alive for this call, and no
        // JavaScript runs (to detach it) until the call returns.
        let count = c.core(c.handle.with(|map| Ok(unsafe { map.copy_out(position as u64, data, capacity) })))?;
        c.of_f64(count as f64)
    };
    write => |c| {
        let ((data, count), position) = (c.bytes(0)?, c.offset(1)?);
        // SAFETY: as in `read`.
        c.core(c.handle.with(|map| unsafe { map.copy_in(position as u64, data, count) }))?;
        c.of_f64(count as f64)
    };
    separators => |c| {
        let (needle, count) = c.bytes(0)?;
        let separator = match count {
            0 => Vec::new(),
            // SAFETY: as in `read`: the array is alive and attached for this call, and its
            // pointer is not null when it has bytes. Copied at once (a few bytes), so no slice
            // over JavaScript memory outlives this arm.
            _ => unsafe { std::slice::from_raw_parts(needle, count) }.to_vec(),
        };
        let (from, to, (out, capacity)) = (c.offset(1)?, c.offset(2)?, c.doubles(3)?);
        let mut taken = 0;
        let mut keep = |at: usize| {
            if taken == capacity {
                return false;
            }
            // SAFETY: `taken < capacity`, the Float64Array's length, and it stays attached for
            // this call; an element is written through the pointer, never a slice.
            unsafe { out.add(taken).write(at as f64) };
            taken += 1;
            true
        };
        let found = c.core(c.handle.with(|map| map.separators(&separator, from, to, &mut keep)))?;
        c.of_u32(found as u32)
    };
    mutex_lock => |c| {
        let (offset, timeout) = (c.offset(0)?, timeout_of(c.number(1)?));
        let locked = c.blocking(|w| c.handle.mutex_lock_as(w, offset, timeout))?;
        c.of_bool(locked.owner_died)
    };
    mutex_try_lock => |c| {
        let offset = c.offset(0)?;
        match c.trying(|w| c.handle.mutex_try_lock_as(w, offset))? {
            Some(locked) => c.of_bool(locked.owner_died),
            None => c.null(),
        }
    };
    mutex_unlock => |c| {
        let offset = c.offset(0)?;
        c.core(c.handle.mutex_unlock(offset, memmap_core::thread_identity()))?;
        c.undefined()
    };
    rwlock_read => |c| {
        let (offset, timeout) = (c.offset(0)?, timeout_of(c.number(1)?));
        let locked = c.blocking(|w| c.handle.rwlock_read_as(w, offset, timeout))?;
        c.of_bool(locked.owner_died)
    };
    rwlock_write => |c| {
        let (offset, timeout) = (c.offset(0)?, timeout_of(c.number(1)?));
        let locked = c.blocking(|w| c.handle.rwlock_write_as(w, offset, timeout))?;
        c.of_bool(locked.owner_died)
    };
    rwlock_unlock => |c| {
        let (offset, write, abandon) = (c.offset(0)?, c.boolean(1)?, c.boolean(2)?);
        let who = memmap_core::thread_identity();
        c.core(match write {
            true => c.handle.rwlock_write_unlock(offset, who, abandon),
            false => c.handle.rwlock_read_unlock(offset, who, abandon),
        })?;
        c.undefined()
    };
    semaphore_acquire => |c| {
        let (offset, timeout) = (c.offset(0)?, timeout_of(c.number(1)?));
        let stop = || stopping(&c.env);
        let waiter = Waiter { stop: &stop, ..Waiter::plain(memmap_core::thread_identity()) };
        c.core(c.handle.semaphore_acquire_as(&waiter, offset, timeout))?;
        c.undefined()
    };
    semaphore_release => |c| {
        let (offset, count) = (c.offset(0)?, c.number(1)?);
        // The facade passes a whole count in 1..=2^32-1.
        c.core(c.handle.semaphore_release(offset, count as u32))?;
        c.undefined()
    };
    semaphore_try_acquire => |c| {
        let offset = c.offset(0)?;
        let taken = c.core(c.handle.semaphore_try_acquire(offset))?;
        c.of_bool(taken)
    };
    condition_notify => |c| {
        let (offset, count) = (c.offset(0)?, c.number(1)?);
        let count = count.clamp(0.0, u32::MAX as f64) as u32;
        let signalled = c.core(c.handle.condition_notify(offset, count))?;
        c.of_u32(signalled)
    };
    atomic_load => |c| {
        let offset = c.offset(0)?;
        let value = c.core(c.handle.with(|map| map.load_i32(offset)))?;
        c.of_i32(value)
    };
    atomic_store => |c| {
        let (offset, value) = (c.offset(0)?, c.int32(1)?);
        c.core(c.handle.with(|map| map.store_i32(offset, value)))?;
        c.undefined()
    };
    atomic_rmw => |c| {
        let (op, offset, value) = (c.rmw(0)?, c.offset(1)?, c.int32(2)?);
        let old = c.core(c.handle.with(|map| map.rmw_i32(op, offset, value)))?;
        c.of_i32(old)
    };
    atomic_compare_exchange => |c| {
        let (offset, expected, replacement) = (c.offset(0)?, c.int32(1)?, c.int32(2)?);
        let old = c.core(c.handle.with(|map| map.compare_exchange_i32(offset, expected, replacement)))?;
        c.of_i32(old)
    };
    atomic_notify => |c| {
        let (offset, count) = (c.offset(0)?, c.number(1)?);
        let count = if count >= u32::MAX as f64 { u32::MAX } else { count as u32 };
        let woken = c.core(c.handle.notify(offset, count))?;
        c.of_u32(woken)
    };
}

type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

/// Every fast function, by the name the facade calls it.
const FUNCTIONS: [(&CStr, Callback); 18] = [
    (c"separators", separators),
    (c"read", read),
    (c"write", write),
    (c"mutexLock", mutex_lock),
    (c"mutexTryLock", mutex_try_lock),
    (c"mutexUnlock", mutex_unlock),
    (c"rwlockRead", rwlock_read),
    (c"rwlockWrite", rwlock_write),
    (c"rwlockUnlock", rwlock_unlock),
    (c"semaphoreAcquire", semaphore_acquire),
    (c"semaphoreRelease", semaphore_release),
    (c"semaphoreTryAcquire", semaphore_try_acquire),
    (c"conditionNotify", condition_notify),
    (c"atomicLoad", atomic_load),
    (c"atomicStore", atomic_store),
    (c"atomicRmw", atomic_rmw),
    (c"atomicCompareExchange", atomic_compare_exchange),
    (c"atomicNotify", atomic_notify),
];

/// A new object whose properties are the [`FUNCTIONS`]. They are defined, not set: a setter
/// JavaScript put on `Object.prototype` never sees them.
pub(crate) fn functions(env: &Env) -> Result<sys::napi_value> {
    let raw = env.raw();
    let mut properties = Vec::with_capacity(FUNCTIONS.len());
    for (name, callback) in FUNCTIONS {
        let mut function = ptr::null_mut();
        // SAFETY: `name` is NUL-terminated (length -1 says so); `callback` has Node-API's
        // signature and reads no data (null).
        check(unsafe {
            sys::napi_create_function(
                raw,
                name.as_ptr(),
                -1,
                Some(callback),
                ptr::null_mut(),
                &mut function,
            )
        })?;
        properties.push(sys::napi_property_descriptor {
            utf8name: name.as_ptr(),
            name: ptr::null_mut(),
            method: None,
            getter: None,
            setter: None,
            value: function,
            attributes: sys::PropertyAttributes::enumerable,
            data: ptr::null_mut(),
        });
    }
    let mut object = ptr::null_mut();
    // SAFETY: plain calls on this env with a valid out-pointer, and descriptors whose names are
    // NUL-terminated and whose values are live functions of this env.
    check(unsafe { sys::napi_create_object(raw, &mut object) })?;
    // SAFETY: as above.
    check(unsafe {
        sys::napi_define_properties(raw, object, properties.len(), properties.as_ptr())
    })?;
    Ok(object)
}
