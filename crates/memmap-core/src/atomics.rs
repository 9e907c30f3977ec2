//! Atomic operations on the mapped bytes, with the semantics of JavaScript's `Atomics` on an
//! `Int32Array` (32-bit forms) and a `BigInt64Array` (64-bit forms).
//!
//! They act on the memory itself, so they are atomic across every thread and every process
//! that maps the same pages: a shared file (`'r+'`, `'w+'`), named shared memory, or an
//! anonymous mapping shared by threads.
//!
//! # Safety
//! An `AtomicI32`/`AtomicI64` is formed from a raw pointer into the mapping only after checking
//! that the whole value lies inside it and that its address has the alignment the type needs;
//! the reference borrows the [`Map`], so it cannot outlive the pages. Other threads and
//! processes reach the same bytes through their own atomics (or through Buffers, which is the
//! caller's data race to avoid, as with a `SharedArrayBuffer`), never through Rust references
//! to plain integers.

use std::sync::atomic::{AtomicI32, AtomicI64, Ordering::SeqCst};

use crate::error::{Error, Result};
use crate::map::Map;

/// A 32-bit read-modify-write operation; each returns the value it replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rmw {
    Add,
    Sub,
    And,
    Or,
    Xor,
    Exchange,
}

impl Map {
    /// The address of the `size`-byte value at `offset`, checked to lie inside the mapping and to
    /// be aligned to `size` (relative to the mapping and in memory).
    fn atomic_address(&self, offset: usize, size: usize) -> Result<*mut u8> {
        if !offset.is_multiple_of(size) {
            return Err(Error::OutOfRange(format!(
                "byte offset {offset} is not a multiple of {size}"
            )));
        }
        if offset.checked_add(size).is_none_or(|end| end > self.len) {
            return Err(Error::OutOfRange(format!(
                "{size} bytes at byte offset {offset} do not fit in a mapping of {} bytes",
                self.len
            )));
        }
        // SAFETY: `offset + size <= len` was checked, so the mapping is not empty and the
        // pointer stays inside it.
        let address = unsafe { self.as_ptr().as_ptr().add(offset) };
        if !(address as usize).is_multiple_of(size) {
            // A file mapped at an offset that is not a multiple of `size` starts unaligned.
            return Err(Error::OutOfRange(format!(
                "the mapping starts at file offset {}, so byte offset {offset} is not {size}-byte \
                 aligned in memory: map the file at an aligned offset to use atomics",
                self.offset
            )));
        }
        Ok(address)
    }

    /// The 32-bit atomic at `offset` (4-aligned, inside the mapping).
    pub fn atomic_i32(&self, offset: usize) -> Result<&AtomicI32> {
        let address = self.atomic_address(offset, 4)?;
        // SAFETY: `address` is 4-aligned and its 4 bytes lie in the mapping, which stays mapped
        // while `self` is borrowed; the bytes are only ever accessed atomically from Rust.
        Ok(unsafe { AtomicI32::from_ptr(address.cast()) })
    }

    /// The 64-bit atomic at `offset` (8-aligned, inside the mapping).
    pub fn atomic_i64(&self, offset: usize) -> Result<&AtomicI64> {
        let address = self.atomic_address(offset, 8)?;
        // SAFETY: as in `atomic_i32`, with 8-byte alignment and size.
        Ok(unsafe { AtomicI64::from_ptr(address.cast()) })
    }

    /// Whether an explicit write may happen: not on mode `'r'` (private pages; `'c'`'s private
    /// pages may be written).
    fn check_writable(&self) -> Result<()> {
        if self.mode.is_writable() {
            Ok(())
        } else {
            Err(Error::ReadOnly)
        }
    }

    /// `Atomics.load` on the Int32 at `offset`.
    pub fn load_i32(&self, offset: usize) -> Result<i32> {
        Ok(self.atomic_i32(offset)?.load(SeqCst))
    }

    /// `Atomics.store` on the Int32 at `offset`.
    pub fn store_i32(&self, offset: usize, value: i32) -> Result<()> {
        self.check_writable()?;
        self.atomic_i32(offset)?.store(value, SeqCst);
        Ok(())
    }

    /// `Atomics.add`/`sub`/`and`/`or`/`xor`/`exchange` on the Int32 at `offset`: the old value.
    /// Arithmetic wraps, as on an `Int32Array`.
    pub fn rmw_i32(&self, op: Rmw, offset: usize, value: i32) -> Result<i32> {
        self.check_writable()?;
        let atomic = self.atomic_i32(offset)?;
        Ok(match op {
            Rmw::Add => atomic.fetch_add(value, SeqCst),
            Rmw::Sub => atomic.fetch_sub(value, SeqCst),
            Rmw::And => atomic.fetch_and(value, SeqCst),
            Rmw::Or => atomic.fetch_or(value, SeqCst),
            Rmw::Xor => atomic.fetch_xor(value, SeqCst),
            Rmw::Exchange => atomic.swap(value, SeqCst),
        })
    }

    /// `Atomics.compareExchange` on the Int32 at `offset`: the value found there.
    pub fn compare_exchange_i32(&self, offset: usize, expected: i32, value: i32) -> Result<i32> {
        self.check_writable()?;
        let atomic = self.atomic_i32(offset)?;
        Ok(
            match atomic.compare_exchange(expected, value, SeqCst, SeqCst) {
                Ok(old) | Err(old) => old,
            },
        )
    }

    /// `Atomics.load` on the BigInt64 at `offset`.
    pub fn load_i64(&self, offset: usize) -> Result<i64> {
        Ok(self.atomic_i64(offset)?.load(SeqCst))
    }

    /// `Atomics.store` on the BigInt64 at `offset`.
    pub fn store_i64(&self, offset: usize, value: i64) -> Result<()> {
        self.check_writable()?;
        self.atomic_i64(offset)?.store(value, SeqCst);
        Ok(())
    }

    /// `Atomics.add` on the BigInt64 at `offset` (wrapping): the old value.
    pub fn add_i64(&self, offset: usize, value: i64) -> Result<i64> {
        self.check_writable()?;
        Ok(self.atomic_i64(offset)?.fetch_add(value, SeqCst))
    }

    /// `Atomics.compareExchange` on the BigInt64 at `offset`: the value found there.
    pub fn compare_exchange_i64(&self, offset: usize, expected: i64, value: i64) -> Result<i64> {
        self.check_writable()?;
        let atomic = self.atomic_i64(offset)?;
        Ok(
            match atomic.compare_exchange(expected, value, SeqCst, SeqCst) {
                Ok(old) | Err(old) => old,
            },
        )
    }
}
