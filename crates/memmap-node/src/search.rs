//! `indexOf`/`lastIndexOf` over the whole mapping, on the JavaScript thread or off it. The
//! facade applies `Buffer#indexOf`'s argument rules; the core finds the bytes.

use memmap_core::Direction;
use napi::bindgen_prelude::{AsyncTask, Uint8Array};
use napi::{Env, Result};
use napi_derive::napi;

use crate::{bytes_of, Blocking, NativeMapping};

#[napi]
impl NativeMapping {
    /// Where `needle` occurs from `offset` (a safe integer, negative from the end), or −1.
    #[napi]
    pub fn index_of(
        &self,
        env: Env,
        needle: Uint8Array,
        offset: f64,
        forward: bool,
    ) -> Result<f64> {
        let needle = owned(&needle);
        self.with(&env, |map| {
            map.search(&needle, offset as i64, direction(forward), &|| false)
        })
        .map(found)
    }

    /// `indexOf` on a thread-pool thread. `close()` makes it give up at the next chunk (it then
    /// rejects with `ERR_MMAP_CLOSED`) rather than wait for the whole search.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn index_of_async(
        &self,
        needle: Uint8Array,
        offset: f64,
        forward: bool,
    ) -> AsyncTask<Blocking<Option<usize>, f64>> {
        let needle = owned(&needle);
        let handle = self.handle.clone();
        let work = move || {
            let closing = || handle.closing();
            handle.with(|map| map.search(&needle, offset as i64, direction(forward), &closing))
        };
        Blocking::spawn(work, found)
    }
}

fn direction(forward: bool) -> Direction {
    if forward {
        Direction::Forward
    } else {
        Direction::Backward
    }
}

fn found(at: Option<usize>) -> f64 {
    at.map_or(-1.0, |at| at as f64)
}

/// A copy of the needle's bytes: they may be this very mapping's (a view of it), and an async
/// search outlives the call.
fn owned(array: &Uint8Array) -> Vec<u8> {
    let (data, len) = bytes_of(array);
    let mut copy = vec![0; len];
    if len > 0 {
        // SAFETY: the Uint8Array is alive and attached for this call (JavaScript cannot run
        // until it returns) and holds `len` bytes; `copy` is ours, so they do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(data, copy.as_mut_ptr(), len) };
    }
    copy
}
