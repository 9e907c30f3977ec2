//! The one place core errors become JavaScript errors.
//!
//! # Safety
//! Every call here runs on the JavaScript thread with the `napi_env` of the current call; values
//! created are only used inside that call, in the same handle scope.

use memmap_core::Error as CoreError;
use napi::bindgen_prelude::{FromNapiValue, Unknown};
use napi::{sys, Env, Error, JsValue, Status};

/// A JavaScript error with the `fs` properties (`code`, `errno`, `syscall`, `path`), as a
/// `napi::Error` that throws or rejects with exactly that object.
pub fn to_js(env: &Env, error: CoreError) -> Error {
    let kind = if error.is_range_error() {
        ErrorClass::Range
    } else if error.is_type_error() {
        ErrorClass::Type
    } else {
        ErrorClass::Plain
    };
    let mut object = coded(env, kind, error.code(), &error.to_string());
    if let Some(errno) = error.errno() {
        object = object.and_then(|o| set(env, o, "errno", env.create_int32(errno)?.raw()));
    }
    if let Some(syscall) = error.syscall() {
        object = object.and_then(|o| set(env, o, "syscall", env.create_string(syscall)?.raw()));
    }
    if let Some(path) = error.path() {
        object = object.and_then(|o| set(env, o, "path", env.create_string(path)?.raw()));
    }
    carrying(env, object)
}

/// Which constructor a coded error gets.
#[derive(Clone, Copy)]
pub enum ErrorClass {
    Plain,
    Type,
    Range,
}

/// A coded error (`new TypeError(message)` with `code`), as a raw value.
pub fn coded(
    env: &Env,
    kind: ErrorClass,
    code: &str,
    message: &str,
) -> napi::Result<sys::napi_value> {
    let code = env.create_string(code)?.raw();
    let message = env.create_string(message)?.raw();
    let mut value = std::ptr::null_mut();
    let create = match kind {
        ErrorClass::Plain => sys::napi_create_error,
        ErrorClass::Type => sys::napi_create_type_error,
        ErrorClass::Range => sys::napi_create_range_error,
    };
    // SAFETY: both strings are live values of this env; `value` is a valid out-pointer.
    let status = unsafe { create(env.raw(), code, message, &mut value) };
    check(status)?;
    Ok(value)
}

/// Throws a coded error built by [`coded`] as a `napi::Error` carrying that object.
pub fn coded_error(env: &Env, kind: ErrorClass, code: &str, message: &str) -> Error {
    carrying(env, coded(env, kind, code, message))
}

/// A `napi::Error` that throws (or rejects with) exactly `object`.
fn carrying(env: &Env, object: napi::Result<sys::napi_value>) -> Error {
    match object {
        // SAFETY: `value` was just created in this env and scope.
        Ok(value) => match unsafe { Unknown::from_napi_value(env.raw(), value) } {
            Ok(unknown) => Error::from(unknown),
            Err(failure) => failure,
        },
        Err(failure) => failure,
    }
}

fn set(
    env: &Env,
    object: sys::napi_value,
    name: &str,
    value: sys::napi_value,
) -> napi::Result<sys::napi_value> {
    let name = std::ffi::CString::new(name).map_err(|e| Error::from_reason(e.to_string()))?;
    // SAFETY: `object` and `value` are live values of this env; `name` is NUL-terminated.
    check(unsafe { sys::napi_set_named_property(env.raw(), object, name.as_ptr(), value) })?;
    Ok(object)
}

/// Turns a Node-API status into a `napi::Result`.
pub fn check(status: sys::napi_status) -> napi::Result<()> {
    match status {
        sys::Status::napi_ok => Ok(()),
        other => Err(Error::new(
            Status::from(other),
            "Node-API call failed".to_owned(),
        )),
    }
}
