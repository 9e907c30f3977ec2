//! The core of the `memmap` Node.js package: memory mappings of files with `fs`-style errors.
//!
//! This crate knows nothing of Node-API. It owns every decision about what is mapped, how, and
//! when it is released; the binding crate only converts values. The pieces:
//!
//! - [`Map`]: one live mapping (a file's pages or, later, anonymous and shared memory), with
//!   bounds-checked copies in and out, page-rounded flushes, and the metadata a caller reports.
//! - [`Handle`]: a shareable, closable owner of a [`Map`]. Every JavaScript object that points
//!   into the mapping holds a clone; `close()` unmaps at once and later calls fail with
//!   [`Error::Closed`] instead of touching freed memory.
//! - Memory control ([`Map::advise`], [`Map::lock`], [`Map::residency`], [`Map::prefetch`]),
//!   [`Map::resize`] and [`Map::anonymous`], each in its own module.
//! - [`Error`]: errors that carry what Node's `fs` errors carry (`code`, `errno`, `syscall`, `path`).
//! - Named shared memory ([`Map::create_shared`], [`Map::open_shared`], [`unlink_shared`],
//!   [`sweep_shared`]) and
//!   atomics on mapped words that work across processes ([`Map::load_i32`] and friends,
//!   [`Handle::wait`], [`Handle::notify`]).
//! - `os`: the few platform facts and conversions, one small module per platform.

mod agent;
mod anon;
mod atomics;
mod budget;
mod control;
mod copies;
mod descriptor;
mod error;
mod flush;
mod handle;
mod identity;
mod io;
mod map;
mod open;
mod options;
mod os;
mod range;
mod resize;
mod retire;
mod search;
mod shared;
mod sigbus;
mod sync;
mod wait;
mod waiter;

pub mod channel;

pub use agent::{Agent, Ticket};
pub use anon::AnonymousOptions;
pub use budget::limit as mapping_limit;
pub use control::{Advice, Residency};
pub use descriptor::duplicate as duplicate_descriptor;
pub use error::{Error, Result};
pub use handle::{usage, Handle, Shared, Usage};
pub use map::Map;
pub use options::{Kind, Mode, OpenOptions};
pub use os::{allocation_granularity, page_size};
pub use range::page_range;
pub use retire::Exposed;
pub use search::Direction;

pub use atomics::Rmw;
pub use identity::{me as thread_identity, verdict, Identity, Verdict, ABANDONED};
pub use shared::{
    check_name as check_shared_name, sweep_shared, unique_name as unique_shared_name, unlink_shared,
};
pub use sync::barrier::{Arrival, SIZE as BARRIER_SIZE};
pub use sync::condition::{Claim as ConditionClaim, SIZE as CONDITION_SIZE};
pub use sync::rwlock::{SIZE as RWLOCK_SIZE, SLOTS as RWLOCK_SLOTS};
pub use sync::WAITERS;
pub use wait::WaitResult;
pub use waiter::{Locked, Waiter, STOP_SLICE};
