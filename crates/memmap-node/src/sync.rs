//! `mapping.mutex()` and `mapping.semaphore()`: the slow paths (sleeping, owner death, the
//! refused-Buffer mode). The uncontended paths, and the queue of one thread's own asynchronous
//! acquisitions, run in the facade (src/sync.ts).
//!
//! Two things only the binding can know reach the core here: whether this JavaScript thread is
//! being terminated (asked between sleeps, see [`stopping`]), and when its environment is torn
//! down ([`agent`], whose pending acquisitions are then cancelled).
//!
//! # Safety
//! [`stopping`] makes Node-API calls with the `napi_env` of the current call, on its thread,
//! inside a handle scope it opens and closes. The cleanup hook's data is a leaked `Box<Agent>`
//! that only the hook itself reclaims, once.

use std::cell::OnceCell;
use std::ffi::c_void;

use memmap_core::{Agent, Identity, Locked, Waiter};
use napi::{sys, Env, JsValue, Result};
use napi_derive::napi;

use crate::errors::to_js;
use crate::task::{promise_on_thread, settle, timeout_of};
use crate::{index, NativeMapping};

/// The calling thread as a lock word names it.
#[napi(object)]
pub struct NativeIdentity {
    /// What the lock word holds while this thread holds a mutex.
    pub token: u32,
    /// When the thread was born (0: unknown), stored next to the token.
    pub stamp: u32,
}

/// The calling (JavaScript) thread's identity, for the facade's uncontended paths.
#[napi]
pub fn thread_identity() -> NativeIdentity {
    let Identity { token, stamp } = memmap_core::thread_identity();
    NativeIdentity { token, stamp }
}

// Android and windows-gnu emulate thread locals, and clippy there asks for the `const` that is
// already here.
#[allow(
    clippy::missing_const_for_thread_local,
    reason = "a false positive where thread locals are emulated"
)]
mod local {
    use super::{Agent, OnceCell};

    thread_local! {
        /// This JavaScript thread's pending acquisitions (one environment per thread).
        pub(super) static AGENT: OnceCell<Agent> = const { OnceCell::new() };
    }
}
use local::AGENT;

/// This thread's [`Agent`], ended by a cleanup hook when its environment is torn down (a worker
/// terminated or ending, the process exiting), which cancels whatever it still waits for.
pub(crate) fn agent(env: &Env) -> Agent {
    AGENT.with(|cell| {
        cell.get_or_init(|| {
            let agent = Agent::default();
            let data = Box::into_raw(Box::new(agent.clone())).cast::<c_void>();
            // SAFETY: `end_agent` reclaims `data` once, when the hook runs. Should the hook not
            // be added, the box leaks (an `Arc` and a flag), which is harmless.
            unsafe { sys::napi_add_env_cleanup_hook(env.raw(), Some(end_agent), data) };
            agent
        })
        .clone()
    })
}

unsafe extern "C" fn end_agent(data: *mut c_void) {
    // SAFETY: `data` is the box leaked in `agent`, and this hook runs once.
    let agent = unsafe { Box::from_raw(data.cast::<Agent>()) };
    agent.end();
}

/// Whether this JavaScript thread is being stopped (`worker.terminate()`): Node then refuses any
/// Node-API call that could run JavaScript, such as defining a property.
pub(crate) fn stopping(env: &Env) -> bool {
    let raw = env.raw();
    let mut scope = std::ptr::null_mut();
    // SAFETY: this thread's env, during its call; the scope is closed below.
    if unsafe { sys::napi_open_handle_scope(raw, &mut scope) } != sys::Status::napi_ok {
        return true;
    }
    let mut object = std::ptr::null_mut();
    let mut value = std::ptr::null_mut();
    // Defined, not set: a setter that JavaScript put on Object.prototype is never run here.
    let mut probe = sys::napi_property_descriptor {
        utf8name: c"probe".as_ptr(),
        name: std::ptr::null_mut(),
        method: None,
        getter: None,
        setter: None,
        value: std::ptr::null_mut(),
        attributes: sys::PropertyAttributes::default,
        data: std::ptr::null_mut(),
    };
    // SAFETY: plain calls on this env, with valid out-pointers, one descriptor and a
    // NUL-terminated name; the values live in the scope opened above.
    let refused = unsafe {
        sys::napi_create_object(raw, &mut object) != sys::Status::napi_ok
            || sys::napi_get_boolean(raw, true, &mut value) != sys::Status::napi_ok
            || {
                probe.value = value;
                sys::napi_define_properties(raw, object, 1, &probe) != sys::Status::napi_ok
            }
    };
    // SAFETY: the scope opened above, closed once.
    unsafe { sys::napi_close_handle_scope(raw, scope) };
    refused
}

#[napi]
impl NativeMapping {
    /// Locks the mutex at `offset` for this thread, which holds no acquisition of it (the facade
    /// keeps count), blocking; `true` if its holder had died.
    #[napi]
    pub fn mutex_lock(&self, env: Env, offset: f64, timeout: f64) -> Result<bool> {
        let stop = || stopping(&env);
        let waiter = Waiter {
            who: memmap_core::thread_identity(),
            stop: &stop,
            holds_none: true,
        };
        index(offset)
            .and_then(|offset| {
                self.handle
                    .mutex_lock_as(&waiter, offset, timeout_of(timeout))
            })
            .map(|locked| locked.owner_died)
            .map_err(|e| to_js(&env, e))
    }

    /// Takes the mutex if it is free (or its holder has ended): `null` if held, else whether the
    /// holder had died.
    #[napi]
    pub fn mutex_try_lock(&self, env: Env, offset: f64) -> Result<Option<bool>> {
        let waiter = Waiter {
            holds_none: true,
            ..Waiter::plain(memmap_core::thread_identity())
        };
        index(offset)
            .and_then(|offset| self.handle.mutex_try_lock_as(&waiter, offset))
            .map(|locked| locked.map(|locked| locked.owner_died))
            .map_err(|e| to_js(&env, e))
    }

    /// `mutex_lock` on a thread of its own, in this thread's name; settles with `ownerDied`. Never
    /// takes the lock once this thread's environment is torn down.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn mutex_lock_async(&self, env: Env, offset: f64, timeout: f64) -> Result<sys::napi_value> {
        let who = memmap_core::thread_identity();
        let offset = index(offset).map_err(|e| to_js(&env, e))?;
        let agent = agent(&env);
        promise_on_thread(&env, |done| {
            self.handle.mutex_lock_on_thread(
                offset,
                who,
                timeout_of(timeout),
                &agent,
                move |ticket| {
                    done(Box::new(move |env| {
                        settle(ticket.take().map(owner_died))(env)
                    }))
                },
            )
        })
    }

    /// Unlocks the mutex, which this thread must hold, waking one sleeper.
    #[napi]
    pub fn mutex_unlock(&self, env: Env, offset: f64) -> Result<()> {
        let who = memmap_core::thread_identity();
        index(offset)
            .and_then(|offset| self.handle.mutex_unlock(offset, who))
            .map_err(|e| to_js(&env, e))
    }

    /// Gives up the mutex this thread holds without unlocking it: the next holder sees
    /// `ownerDied` (what closing the mapping it was locked through does).
    #[napi]
    pub fn mutex_abandon(&self, env: Env, offset: f64) -> Result<()> {
        let who = memmap_core::thread_identity();
        index(offset)
            .and_then(|offset| self.handle.mutex_abandon(offset, who))
            .map_err(|e| to_js(&env, e))
    }

    /// Whether the mutex is held (a snapshot).
    #[napi]
    pub fn mutex_locked(&self, env: Env, offset: f64) -> Result<bool> {
        index(offset)
            .and_then(|offset| self.handle.mutex_locked(offset))
            .map_err(|e| to_js(&env, e))
    }

    /// What names the memory at `offset` for every mapping of it in this process: the key of the
    /// facade's per-thread queue of acquisitions.
    #[napi]
    pub fn memory_key(&self, env: Env, offset: f64) -> Result<String> {
        index(offset)
            .and_then(|offset| self.handle.memory_key(offset))
            .map_err(|e| to_js(&env, e))
    }

    /// Takes a permit, blocking.
    #[napi]
    pub fn semaphore_acquire(&self, env: Env, offset: f64, timeout: f64) -> Result<()> {
        let stop = || stopping(&env);
        let waiter = Waiter {
            stop: &stop,
            ..Waiter::plain(memmap_core::thread_identity())
        };
        index(offset)
            .and_then(|offset| {
                self.handle
                    .semaphore_acquire_as(&waiter, offset, timeout_of(timeout))
            })
            .map_err(|e| to_js(&env, e))
    }

    /// Takes a permit if there is one.
    #[napi]
    pub fn semaphore_try_acquire(&self, env: Env, offset: f64) -> Result<bool> {
        index(offset)
            .and_then(|offset| self.handle.semaphore_try_acquire(offset))
            .map_err(|e| to_js(&env, e))
    }

    /// `semaphore_acquire` on a thread of its own. Never takes a permit once this thread's
    /// environment is torn down.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn semaphore_acquire_async(
        &self,
        env: Env,
        offset: f64,
        timeout: f64,
    ) -> Result<sys::napi_value> {
        let offset = index(offset).map_err(|e| to_js(&env, e))?;
        let agent = agent(&env);
        promise_on_thread(&env, |done| {
            self.handle.semaphore_acquire_on_thread(
                offset,
                timeout_of(timeout),
                &agent,
                move |ticket| done(Box::new(move |env| settle(ticket.take())(env))),
            )
        })
    }

    /// Adds `count` permits, waking as many sleepers.
    #[napi]
    pub fn semaphore_release(&self, env: Env, offset: f64, count: u32) -> Result<()> {
        index(offset)
            .and_then(|offset| self.handle.semaphore_release(offset, count))
            .map_err(|e| to_js(&env, e))
    }

    /// The count of permits (a snapshot).
    #[napi]
    pub fn semaphore_value(&self, env: Env, offset: f64) -> Result<u32> {
        index(offset)
            .and_then(|offset| self.handle.semaphore_value(offset))
            .map_err(|e| to_js(&env, e))
    }
}

fn owner_died(locked: Locked) -> bool {
    locked.owner_died
}

/// A waiter for this JavaScript thread's blocking calls: it holds no acquisition of the lock
/// (the facade keeps count), and stops when the thread is terminated.
fn blocking(
    env: &Env,
    f: impl FnOnce(&Waiter<'_>) -> memmap_core::Result<bool>,
) -> memmap_core::Result<bool> {
    let stop = || stopping(env);
    f(&Waiter {
        who: memmap_core::thread_identity(),
        stop: &stop,
        holds_none: true,
    })
}

/// Runs `work` on a thread of its own in this JavaScript thread's name, settling with its
/// `ownerDied`; `undo` gives back what it took if this thread's environment ends first.
fn acquire_async(
    env: &Env,
    handle: &memmap_core::Handle,
    work: impl FnOnce(&memmap_core::Handle, &Waiter<'_>) -> memmap_core::Result<Locked> + Send + 'static,
    undo: impl FnOnce(&memmap_core::Handle) + Send + 'static,
) -> Result<sys::napi_value> {
    let who = memmap_core::thread_identity();
    let agent = agent(env);
    promise_on_thread(env, |done| {
        handle.acquire_on_thread(&agent, who, work, undo, move |ticket| {
            done(Box::new(move |env| {
                settle(ticket.take().map(owner_died))(env)
            }))
        })
    })
}

/// `rwlock()`, `condition()` and `barrier()`: the slow paths, as for the mutex.
#[napi]
impl NativeMapping {
    /// A read share of the reader-writer lock at `offset`, blocking; `true` if a holder had died.
    #[napi]
    pub fn rwlock_read(&self, env: Env, offset: f64, timeout: f64) -> Result<bool> {
        index(offset)
            .and_then(|offset| {
                blocking(&env, |waiter| {
                    self.handle
                        .rwlock_read_as(waiter, offset, timeout_of(timeout))
                        .map(owner_died)
                })
            })
            .map_err(|e| to_js(&env, e))
    }

    /// The lock for writing, blocking; `true` if a holder had died.
    #[napi]
    pub fn rwlock_write(&self, env: Env, offset: f64, timeout: f64) -> Result<bool> {
        index(offset)
            .and_then(|offset| {
                blocking(&env, |waiter| {
                    self.handle
                        .rwlock_write_as(waiter, offset, timeout_of(timeout))
                        .map(owner_died)
                })
            })
            .map_err(|e| to_js(&env, e))
    }

    /// A read share (`write`: the write lock) if it can be had now: `null` if not, else whether a
    /// holder had died.
    #[napi]
    pub fn rwlock_try(&self, env: Env, offset: f64, write: bool) -> Result<Option<bool>> {
        let waiter = Waiter {
            holds_none: true,
            ..Waiter::plain(memmap_core::thread_identity())
        };
        index(offset)
            .and_then(|offset| match write {
                true => self.handle.rwlock_try_write_as(&waiter, offset),
                false => self.handle.rwlock_try_read_as(&waiter, offset),
            })
            .map(|locked| locked.map(owner_died))
            .map_err(|e| to_js(&env, e))
    }

    /// `rwlock_read` (`write`: `rwlock_write`) on a thread of its own, in this thread's name.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn rwlock_async(
        &self,
        env: Env,
        offset: f64,
        write: bool,
        timeout: f64,
    ) -> Result<sys::napi_value> {
        let offset = index(offset).map_err(|e| to_js(&env, e))?;
        let (timeout, who) = (timeout_of(timeout), memmap_core::thread_identity());
        acquire_async(
            &env,
            &self.handle,
            move |handle, waiter| match write {
                true => handle.rwlock_write_as(waiter, offset, timeout),
                false => handle.rwlock_read_as(waiter, offset, timeout),
            },
            move |handle| {
                let _ = match write {
                    true => handle.rwlock_write_unlock(offset, who, false),
                    false => handle.rwlock_read_unlock(offset, who, false),
                };
            },
        )
    }

    /// Gives back this thread's read share (`write`: its write lock); `abandon`: as `close()`
    /// does, so that the next holder sees `ownerDied`.
    #[napi]
    pub fn rwlock_unlock(&self, env: Env, offset: f64, write: bool, abandon: bool) -> Result<()> {
        let who = memmap_core::thread_identity();
        index(offset)
            .and_then(|offset| match write {
                true => self.handle.rwlock_write_unlock(offset, who, abandon),
                false => self.handle.rwlock_read_unlock(offset, who, abandon),
            })
            .map_err(|e| to_js(&env, e))
    }

    /// How many threads read, and whether a writer holds the lock or waits for it (a snapshot).
    #[napi(ts_return_type = "[number, boolean]")]
    pub fn rwlock_state(&self, env: Env, offset: f64) -> Result<(u32, bool)> {
        index(offset)
            .and_then(|offset| self.handle.rwlock_state(offset))
            .map_err(|e| to_js(&env, e))
    }

    /// The condition variable's whole blocking wait: unlocks the mutex at `mutex_offset` of
    /// `mutex` (which this thread holds), sleeps until notified or the timeout, locks it again.
    /// `[notified, ownerDied]`.
    #[napi(ts_return_type = "[boolean, boolean]")]
    pub fn condition_wait(
        &self,
        env: Env,
        offset: f64,
        mutex: &NativeMapping,
        mutex_offset: f64,
        timeout: f64,
    ) -> Result<(bool, bool)> {
        let stop = || stopping(&env);
        let waiter = Waiter {
            who: memmap_core::thread_identity(),
            stop: &stop,
            holds_none: true,
        };
        index(offset)
            .and_then(|offset| Ok((offset, index(mutex_offset)?)))
            .and_then(|(offset, at)| {
                self.handle.condition_wait_as(
                    &waiter,
                    offset,
                    &mutex.handle,
                    at,
                    timeout_of(timeout),
                )
            })
            .map(|(notified, locked)| (notified, locked.owner_died))
            .map_err(|e| to_js(&env, e))
    }

    /// Counts a waiter in: the sequence to sleep on.
    #[napi]
    pub fn condition_enter(&self, env: Env, offset: f64) -> Result<u32> {
        index(offset)
            .and_then(|offset| self.handle.condition_enter(offset))
            .map_err(|e| to_js(&env, e))
    }

    /// A waiter woke (`timed_out`: ran out of time): `[1, _]` it took a signal (notified),
    /// `[0, _]` it counted out without one, `[2, sequence]` no signal yet: sleep on `sequence`.
    #[napi(ts_return_type = "[0 | 1 | 2, number]")]
    pub fn condition_claim(&self, env: Env, offset: f64, timed_out: bool) -> Result<(u32, u32)> {
        use memmap_core::ConditionClaim as Claim;
        index(offset)
            .and_then(|offset| self.handle.condition_claim(offset, timed_out))
            .map(|claim| match claim {
                Claim::TimedOut => (0, 0),
                Claim::Notified => (1, 0),
                Claim::Wait(sequence) => (2, sequence),
            })
            .map_err(|e| to_js(&env, e))
    }

    /// Signals and wakes up to `count` waiters; how many were signalled.
    #[napi]
    pub fn condition_notify(&self, env: Env, offset: f64, count: f64) -> Result<u32> {
        let count = count.clamp(0.0, u32::MAX as f64) as u32;
        index(offset)
            .and_then(|offset| self.handle.condition_notify(offset, count))
            .map_err(|e| to_js(&env, e))
    }

    /// Arrives at the barrier and waits for the round to end: this party's arrival index.
    #[napi]
    pub fn barrier_wait(&self, env: Env, offset: f64, parties: u32, timeout: f64) -> Result<u32> {
        let stop = || stopping(&env);
        let waiter = Waiter {
            stop: &stop,
            ..Waiter::plain(memmap_core::thread_identity())
        };
        index(offset)
            .and_then(|offset| {
                self.handle
                    .barrier_wait_as(&waiter, offset, parties, timeout_of(timeout))
            })
            .map_err(|e| to_js(&env, e))
    }

    /// Arrives now (so arrival order is call order), then waits on a thread of its own.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn barrier_wait_async(
        &self,
        env: Env,
        offset: f64,
        parties: u32,
        timeout: f64,
    ) -> Result<sys::napi_value> {
        let (offset, arrival) = index(offset)
            .and_then(|offset| Ok((offset, self.handle.barrier_arrive(offset, parties)?)))
            .map_err(|e| to_js(&env, e))?;
        // The last to arrive is released at once: no thread to wait on.
        if let memmap_core::Arrival::Released(index) = arrival {
            let (deferred, promise) = env.create_deferred()?;
            deferred.resolve(settle(Ok(index)));
            return Ok(promise.raw());
        }
        let timeout = timeout_of(timeout);
        let agent = agent(&env);
        promise_on_thread(&env, |done| {
            self.handle.acquire_on_thread(
                &agent,
                memmap_core::thread_identity(),
                move |handle, waiter| handle.barrier_await_as(waiter, offset, arrival, timeout),
                |_| {},
                move |ticket| done(Box::new(move |env| settle(ticket.take())(env))),
            )
        })
    }

    /// Ends the round as broken for its waiters and starts a clean one.
    #[napi]
    pub fn barrier_reset(&self, env: Env, offset: f64) -> Result<()> {
        index(offset)
            .and_then(|offset| self.handle.barrier_reset(offset))
            .map_err(|e| to_js(&env, e))
    }
}
