//! `indexOf`/`lastIndexOf` over the whole mapping, on the JavaScript thread or off it. The
//! facade applies `Buffer#indexOf`'s argument rules; the core finds the bytes.

use memmap_core::Direction;
use napi::bindgen_prelude::Uint8Array;
use napi::{sys, Env, Result};
use napi_derive::napi;

use crate::task::{promise_on_thread, settle};
use crate::{bytes_of, NativeMapping};

#[napi]
impl NativeMapping {
    /// Where `needle` occurs from `offset` (a safe integer, negative from the end), or −1;
    /// `utf16`: in 16-bit code units, as `Buffer#indexOf` searches `'ucs2'`/`'utf16le'` (1: a
    /// string's, 2: bytes'; 0: bytes anywhere). With `end`, only matches wholly inside
    /// `[offset, end)` count (both resolved by the facade: in the mapping, `offset <= end`).
    #[napi]
    pub fn index_of(
        &self,
        env: Env,
        needle: Uint8Array,
        offset: f64,
        forward: bool,
        utf16: u32,
        end: Option<f64>,
    ) -> Result<f64> {
        let needle = owned(&needle);
        self.with(&env, |map| {
            search(map, &needle, offset, forward, utf16, end, &|| false)
        })
        .map(found)
    }

    /// `indexOf` on a thread of its own, not libuv's pool: eight searches of 512 MiB would hold
    /// all four pool threads, and every `fs` call would wait behind them. `close()` makes it
    /// give up at the next chunk (it then rejects with `ERR_MMAP_CLOSED`) rather than wait for
    /// the whole search.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn index_of_async(
        &self,
        env: Env,
        needle: Uint8Array,
        offset: f64,
        forward: bool,
        utf16: u32,
        end: Option<f64>,
    ) -> Result<sys::napi_value> {
        let needle = owned(&needle);
        let handle = self.handle.clone();
        promise_on_thread(&env, move |done| {
            let closing = handle.clone();
            self.handle.search_on_thread(
                move |map| {
                    search(map, &needle, offset, forward, utf16, end, &|| {
                        closing.closing()
                    })
                },
                move |result| done(Box::new(move |env| settle(result.map(found))(env))),
            )
        })
    }
}

fn search(
    map: &memmap_core::Map,
    needle: &[u8],
    offset: f64,
    forward: bool,
    utf16: u32,
    end: Option<f64>,
    stop: &dyn Fn() -> bool,
) -> memmap_core::Result<Option<usize>> {
    let direction = direction(forward);
    if let Some(end) = end {
        // A range: whole UTF-16 units of the needle (Node drops a trailing odd byte; a needle
        // of one byte, or longer than the range, is never found).
        let needle = match utf16 {
            0 => needle,
            // Whole units must fit, and so must the needle's every byte, as Node asks.
            _ if needle.len() == 1 || needle.len() as f64 > end - offset => return Ok(None),
            _ => &needle[..needle.len() / 2 * 2],
        };
        return map.search_range(
            needle,
            offset as usize,
            end as usize,
            direction,
            utf16 != 0,
            stop,
        );
    }
    let offset = offset as i64;
    match utf16 {
        0 => map.search(needle, offset, direction, stop),
        units => map.search_utf16(needle, offset, direction, units == 1, stop),
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
