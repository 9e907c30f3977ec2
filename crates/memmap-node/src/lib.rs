//! Node-API binding of `memmap-core`: converts arguments, maps errors, makes Buffers over the
//! pages and runs blocking work off the JavaScript thread. Decisions belong to the core;
//! argument checking with Node's error codes belongs to the TypeScript facade (`src/args.ts`),
//! and the core checks every range again.
//!
//! # Safety
//! The only unsafe code here hands raw pointers to the core: into the mapping (checked against its
//! length under the handle's lock) for `view()`, and to the bytes of a JavaScript typed array for
//! `read()`/`write()`, which stay attached for the whole call because JavaScript cannot run until
//! it returns. No Rust slice over either is formed (see `bytes_of`).

mod atomics;
pub mod control;
mod enums;
mod errors;
mod fast;
mod search;
mod shared;
mod sync;
mod task;
mod views;

use std::cell::{Cell, RefCell};
use std::path::PathBuf;

use memmap_core::{duplicate_descriptor, Error as CoreError, Handle, Map, OpenOptions};
use napi::bindgen_prelude::{AsyncTask, Buffer, ToNapiValue, TypeName, Uint8Array};
use napi::{sys, Env, Result, Task};
use napi_derive::napi;

pub use enums::{NativeAdvice, NativeKind, NativeMode};
use errors::{coded_error, to_js, ErrorClass};
pub use shared::{create_shared, open_shared, sweep_shared, unique_shared_name, unlink_shared};
pub use sync::{thread_identity, NativeIdentity};
use views::{ViewError, Views};

/// Options, already validated and defaulted by the facade.
#[napi(object)]
pub struct NativeOpenOptions {
    pub mode: NativeMode,
    pub offset: f64,
    pub length: Option<f64>,
    pub size: Option<f64>,
    pub populate: bool,
    pub huge_pages: bool,
    pub lock: bool,
}

/// What the facade reports as read-only properties.
/// What `handle()` carries: a [`memmap_core::Shared`], the token in hex (a `u64` does not fit a
/// JavaScript number).
#[napi(object)]
pub struct NativeShared {
    pub id: f64,
    pub token: String,
}

#[napi(object)]
pub struct NativeInfo {
    pub kind: NativeKind,
    pub mode: NativeMode,
    pub path: Option<String>,
    pub offset: f64,
    pub length: f64,
}

/// One mapping as JavaScript holds it.
#[napi(custom_finalize)]
pub struct NativeMapping {
    handle: Handle,
    // Interior mutability: napi-rs refuses `&mut self` calls while a `&self` call's promise
    // (flushAsync) is pending, and close() must work then.
    views: RefCell<Views>,
    /// Where `fast.rs`'s table holds a clone of `handle`, once asked for.
    slot: Cell<Option<u32>>,
}

#[napi]
impl NativeMapping {
    /// This mapping's number for the functions of [`fast_functions`], registered on the first
    /// call and freed when the mapping is collected.
    #[napi]
    pub fn fast_slot(&self) -> u32 {
        match self.slot.get() {
            Some(slot) => slot,
            None => {
                let slot = fast::register(&self.handle);
                self.slot.set(Some(slot));
                slot
            }
        }
    }

    /// This mapping's memory by name, for `fromHandle()` in another thread of the process.
    #[napi]
    pub fn share(&self, env: Env) -> Result<NativeShared> {
        let shared = self.handle.share().map_err(|e| to_js(&env, e))?;
        Ok(NativeShared {
            id: shared.id as f64,
            token: format!("{:016x}", shared.token),
        })
    }

    /// Kind, mode, path, offset and length (the length changes on resize).
    #[napi]
    pub fn info(&self, env: Env) -> Result<NativeInfo> {
        self.with(&env, |map| {
            Ok(NativeInfo {
                kind: map.kind().into(),
                mode: map.mode().into(),
                path: map.path().map(str::to_owned),
                offset: map.offset() as f64,
                length: map.len() as f64,
            })
        })
    }

    /// A new zero-copy Buffer over `[start, end)`, which the facade has clamped.
    #[napi(ts_return_type = "Buffer")]
    pub fn view(&self, env: Env, start: f64, end: f64) -> Result<sys::napi_value> {
        let (data, len, exposed) = self.with(&env, |map| {
            let (start, end) = (index(start)?, index(end)?);
            map.check_range(start, end)?;
            // SAFETY: `start <= len` was checked, so the pointer stays inside (or one past) the
            // mapping.
            let data = unsafe { map.as_ptr().as_ptr().add(start) };
            Ok((data, end - start, map.expose(start, end)))
        })?;
        match self
            .views
            .borrow_mut()
            .create(&env, &self.handle, exposed, data, len)
        {
            Ok(buffer) => Ok(buffer),
            Err(ViewError::Napi(error)) => Err(error),
            Err(ViewError::Refused) => Err(coded_error(
                &env,
                ErrorClass::Plain,
                "ERR_MMAP_EXTERNAL_BUFFER_REFUSED",
                // Word for word the facade's (src/args.ts, `refused`), which says it first.
                "This runtime refuses Buffers over memory it did not allocate (Electron's memory \
                 cage, or MEMMAP_NO_EXTERNAL_BUFFERS=1): use mapping.read() and mapping.write() \
                 to copy bytes out and in",
            )),
        }
    }

    /// Copies into `target` from `position`; returns the byte count.
    #[napi]
    pub fn read(&self, env: Env, target: Uint8Array, position: f64) -> Result<f64> {
        let (data, capacity) = bytes_of(&target);
        self.with(&env, |map| {
            // SAFETY: `data` is valid for `capacity` bytes: the Uint8Array is alive for this call,
            // and JavaScript cannot run (and detach it) until the call returns.
            Ok(unsafe { map.copy_out(index(position)? as u64, data, capacity) } as f64)
        })
    }

    /// Copies all of `source` to `position`, or fails having copied nothing.
    #[napi]
    pub fn write(&self, env: Env, source: Uint8Array, position: f64) -> Result<f64> {
        let (data, count) = bytes_of(&source);
        self.with(&env, |map| {
            // SAFETY: as in `read`: the Uint8Array is alive and attached for this call.
            unsafe { map.copy_in(index(position)? as u64, data, count) }?;
            Ok(count as f64)
        })
    }

    /// Makes `[start, end)` durable before returning, or (`durable` false) only starts writing
    /// it back.
    #[napi]
    pub fn flush(&self, env: Env, start: f64, end: f64, durable: bool) -> Result<()> {
        self.with(&env, |map| {
            let (start, end) = (index(start)?, index(end)?);
            if durable {
                map.flush(start, end)
            } else {
                map.schedule_flush(start, end)
            }
        })
    }

    /// `flush` on a thread-pool thread.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn flush_async(&self, start: f64, end: f64) -> AsyncTask<Blocking<(), ()>> {
        let handle = self.handle.clone();
        let work = move || handle.with(|map| map.flush(index(start)?, index(end)?));
        Blocking::spawn(work, |()| ())
    }

    /// Detaches every Buffer handed out, then unmaps. Idempotent.
    #[napi]
    pub fn close(&self, env: Env) {
        self.views.borrow_mut().detach_all(&env);
        self.handle.close();
    }

    /// Bytes mapped now (0 once closed): the one fact the facade cannot know (a file's length,
    /// a resize).
    #[napi(getter)]
    pub fn length(&self) -> f64 {
        self.handle.with(|map| Ok(map.len() as f64)).unwrap_or(0.0)
    }

    /// Whether `close()` ran.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.handle.is_closed()
    }
}

impl NativeMapping {
    fn new(map: Map) -> Self {
        NativeMapping::over(Handle::new(map))
    }

    fn over(handle: Handle) -> Self {
        NativeMapping {
            handle,
            views: RefCell::default(),
            slot: Cell::default(),
        }
    }

    fn with<T>(&self, env: &Env, f: impl FnOnce(&Map) -> memmap_core::Result<T>) -> Result<T> {
        self.handle.with(f).map_err(|e| to_js(env, e))
    }
}

impl napi::bindgen_prelude::ObjectFinalize for NativeMapping {
    fn finalize(self, env: Env) -> Result<()> {
        // The Buffers are not detached (they keep the pages alive on their own); only the weak
        // references are deleted.
        self.views.borrow_mut().forget(&env);
        if let Some(slot) = self.slot.get() {
            fast::unregister(slot);
        }
        Ok(())
    }
}

/// A pointer and a length for a Uint8Array's bytes, without forming a Rust slice (the bytes may
/// be this very mapping's, which Rust references must not alias).
fn bytes_of(array: &Uint8Array) -> (*mut u8, usize) {
    (array.as_ptr().cast_mut(), array.len())
}

/// A byte index from JavaScript: a non-negative integer that fits in memory.
fn index(value: f64) -> memmap_core::Result<usize> {
    if value >= 0.0 && value.fract() == 0.0 && value <= usize::MAX as f64 {
        Ok(value as usize)
    } else {
        Err(CoreError::OutOfRange(format!(
            "{value} is not a valid byte index"
        )))
    }
}

/// A file offset or length from JavaScript: a non-negative safe integer, whatever the pointer
/// width (a 32-bit process maps windows of files far larger than 4 GiB).
fn u64_of(value: f64) -> memmap_core::Result<u64> {
    const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;
    if value >= 0.0 && value.fract() == 0.0 && value <= MAX_SAFE_INTEGER {
        Ok(value as u64)
    } else {
        Err(CoreError::OutOfRange(format!(
            "{value} is not a valid file offset or length"
        )))
    }
}

/// The facade's path (UTF-8 on Windows, any bytes on POSIX) as an OS path.
fn path_of(bytes: &[u8]) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
    }
}

fn options_of(options: &NativeOpenOptions) -> memmap_core::Result<OpenOptions> {
    Ok(OpenOptions {
        mode: options.mode.into(),
        offset: u64_of(options.offset)?,
        length: options.length.map(u64_of).transpose()?,
        size: options.size.map(u64_of).transpose()?,
        populate: options.populate,
        huge_pages: options.huge_pages,
        lock: options.lock,
    })
}

/// Maps a file on the calling thread.
#[napi]
pub fn open_sync(env: Env, path: Buffer, options: NativeOpenOptions) -> Result<NativeMapping> {
    options_of(&options)
        .and_then(|options| Map::open(&path_of(&path), &options))
        .map(NativeMapping::new)
        .map_err(|e| to_js(&env, e))
}

/// Maps the file open as the caller's descriptor `fd` (duplicated: the caller keeps its own).
#[napi]
pub fn open_descriptor_sync(
    env: Env,
    fd: i32,
    options: NativeOpenOptions,
) -> Result<NativeMapping> {
    options_of(&options)
        .and_then(|options| Map::open_descriptor(duplicate_descriptor(fd)?, &options))
        .map(NativeMapping::new)
        .map_err(|e| to_js(&env, e))
}

/// Maps the file open as `fd` on a thread-pool thread. The descriptor is duplicated before this
/// returns, so the caller may close its own at once.
#[napi(ts_return_type = "Promise<NativeMapping>")]
pub fn open_descriptor(
    env: Env,
    fd: i32,
    options: NativeOpenOptions,
) -> Result<AsyncTask<Blocking<Map, NativeMapping>>> {
    let request = options_of(&options);
    let file = duplicate_descriptor(fd).map_err(|e| to_js(&env, e))?;
    Ok(Blocking::spawn(
        move || Map::open_descriptor(file, &request?),
        NativeMapping::new,
    ))
}

/// Maps a file on a thread-pool thread.
#[napi(ts_return_type = "Promise<NativeMapping>")]
pub fn open(path: Buffer, options: NativeOpenOptions) -> AsyncTask<Blocking<Map, NativeMapping>> {
    let request = options_of(&options);
    let path = path_of(&path);
    Blocking::spawn(move || Map::open(&path, &request?), NativeMapping::new)
}

/// Core work run on a thread-pool thread, its result turned into `J` (or a JavaScript error)
/// back on the JavaScript thread.
pub struct Blocking<T, J> {
    work: Option<Box<dyn FnOnce() -> memmap_core::Result<T> + Send>>,
    outcome: Option<memmap_core::Result<T>>,
    finish: fn(T) -> J,
}

impl<T: Send + 'static, J> Blocking<T, J> {
    fn spawn(
        work: impl FnOnce() -> memmap_core::Result<T> + Send + 'static,
        finish: fn(T) -> J,
    ) -> AsyncTask<Self>
    where
        Self: Task,
    {
        AsyncTask::new(Blocking {
            work: Some(Box::new(work)),
            outcome: None,
            finish,
        })
    }
}

impl<T: Send + 'static, J: ToNapiValue + TypeName> Task for Blocking<T, J> {
    type Output = ();
    type JsValue = J;

    fn compute(&mut self) -> Result<()> {
        self.outcome = self.work.take().map(|work| work());
        Ok(())
    }

    fn resolve(&mut self, env: Env, _: ()) -> Result<J> {
        match self.outcome.take() {
            Some(Ok(value)) => Ok((self.finish)(value)),
            Some(Err(e)) => Err(to_js(&env, e)),
            None => Err(to_js(&env, CoreError::Closed)),
        }
    }
}

/// The size of a memory page in bytes.
#[napi]
pub fn page_size() -> u32 {
    memmap_core::page_size() as u32
}

/// The alignment of a mapping's file offset (64 KiB on Windows, the page size elsewhere).
#[napi]
pub fn allocation_granularity() -> u32 {
    memmap_core::allocation_granularity() as u32
}

/// Whether this runtime accepts Buffers over memory V8 did not allocate.
#[napi]
pub fn external_buffers_allowed(env: Env) -> bool {
    views::external_buffers_allowed(&env)
}

/// The hot calls as plain functions (see `fast.rs`), made once per JavaScript environment: each
/// takes a mapping's `fastSlot()` first, then the arguments of the `NativeMapping` method of the
/// same name, and answers as it does, without a class method's checks.
#[napi(
    ts_return_type = "{ [K in 'read' | 'write' | 'mutexLock' | 'mutexTryLock' | 'mutexUnlock' | 'rwlockRead' | 'rwlockWrite' | 'rwlockUnlock' | 'semaphoreAcquire' | 'semaphoreRelease' | 'semaphoreTryAcquire' | 'conditionNotify' | 'atomicLoad' | 'atomicStore' | 'atomicRmw' | 'atomicCompareExchange' | 'atomicNotify']: (slot: number, ...args: Parameters<NativeMapping[K]>) => ReturnType<NativeMapping[K]> } & { separators(slot: number, separator: Uint8Array, from: number, to: number, out: Float64Array): number }"
)]
pub fn fast_functions(env: Env) -> Result<sys::napi_value> {
    fast::functions(&env)
}

/// A mapping over the memory a `share()` named, in this thread (the facade has checked the
/// handle's shape and process).
#[napi]
pub fn from_handle(env: Env, id: f64, token: String) -> Result<NativeMapping> {
    let shared = u64::from_str_radix(&token, 16)
        .ok()
        .filter(|_| id.fract() == 0.0 && id >= 1.0 && id <= 2f64.powi(53))
        .map(|token| memmap_core::Shared {
            id: id as u64,
            token,
        });
    let handle = match shared {
        Some(shared) => Handle::adopt(shared),
        None => Err(CoreError::InvalidArgument(
            "The handle is not one mapping.handle() made".into(),
        )),
    };
    handle.map(NativeMapping::over).map_err(|e| to_js(&env, e))
}

/// What `usage()` reports: counters the core keeps, read without a system call.
#[napi(object)]
pub struct NativeUsage {
    pub mappings: f64,
    pub mapped_bytes: f64,
    pub retired_bytes: f64,
    pub regions: f64,
    /// `Infinity` where there is no cap.
    pub region_limit: f64,
}

#[napi]
pub fn usage() -> NativeUsage {
    let usage = memmap_core::usage();
    NativeUsage {
        mappings: usage.mappings as f64,
        mapped_bytes: usage.mapped_bytes as f64,
        retired_bytes: usage.retired_bytes as f64,
        regions: usage.regions as f64,
        region_limit: usage
            .region_limit
            .map_or(f64::INFINITY, |limit| limit as f64),
    }
}
