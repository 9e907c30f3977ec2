//! A closable, shareable owner of a [`Map`].
//!
//! About 570 lines, of which a fifth is this documentation and a tenth its tests: the handle
//! table, closing, the sleepers and the waits that must run on threads of their own are one
//! lifetime argument (the safety paragraph below), kept in one file so that it is read whole.
//!
//! # Handing a mapping to another thread
//! Each JavaScript `Mapping` owns one [`Handle`] family (the clones of one handle). Several
//! families may share one [`Map`]: [`Handle::share`] names it with a number and a random token
//! in a process-wide table that holds it *weakly*, and [`Handle::adopt`] (`fromHandle()`, in any
//! thread) makes a new family over the same `Map` from that name. The pages go when the last
//! family closes or is dropped. A family's `close()` ends only its own use: its sleepers are
//! evicted and its share dropped, and the other families go on over the same pages. Remapping
//! (`resize()`) needs the only share: while another family holds the `Map` it is refused.
//! Numbers are never reused, so a handle of memory that is gone names nothing, never other memory.
//!
//! # Safety
//! [`Handle::wait`] sleeps on a word of the mapping without holding the lock. The word stays
//! mapped meanwhile because the sleeper is registered in its family's [`Sleepers`] before the
//! lock is released, and [`Handle::close`] and [`Handle::with_mut`] of that family (the only
//! ways its share of the pages goes away while a clone lives, and a sleeper holds one) evict
//! every registered sleeper before they let the share go. Another family's `close()` drops only
//! that family's share: the sleeper's family still holds the pages. `with_mut` moves them only
//! when its family holds the one share left (`alone`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{
    Arc, LazyLock, Mutex, MutexGuard, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak,
};
use std::time::Duration;

use crate::agent::{Agent, Ticket, Undo};
use crate::budget::{Reservation, THREAD_REGIONS};
use crate::error::{Error, Result};
use crate::map::Map;
use crate::wait::{sleep, Sleepers, Slept, WaitResult};
use crate::waiter::{deadline_of, remaining, Waiter, STOP_SLICE};

/// Shared ownership of one mapping. Clones share it; the pages are unmapped when the last clone
/// is dropped or, earlier, by [`Handle::close`].
///
/// Calls on the JavaScript thread and on background threads (flushing, opening) take the lock
/// for the whole of their work, so `close` waits for them rather than pulling the pages away
/// under them. Sleepers in [`Handle::wait`] are the exception: they hold no lock, and `close`
/// wakes them instead.
#[derive(Clone, Debug)]
pub struct Handle(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    /// This family's share of the pages; `None` once closed.
    map: RwLock<Option<Arc<Memory>>>,
    sleepers: Sleepers,
    /// Set by `close()` before it waits for the lock, so that long work holding the lock (a
    /// search) can give up between steps instead of holding `close()` up.
    closing: AtomicBool,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Dropped (collected in JavaScript) without close(): it was open until now.
        let map = self.map.get_mut();
        if map
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .is_some()
        {
            OPEN.fetch_sub(1, SeqCst);
        }
    }
}

/// The pages of one mapping, shared by the handle families that reach them (see the module
/// documentation).
#[derive(Debug)]
struct Memory {
    map: Map,
    /// Its name in [`TABLE`], once [`Handle::share`] gave it one.
    shared: OnceLock<Shared>,
}

/// Open handle families (JavaScript `Mapping`s), and the bytes of the distinct memory they map.
static OPEN: AtomicUsize = AtomicUsize::new(0);
static MAPPED: AtomicUsize = AtomicUsize::new(0);

/// What memmap holds in this process, for `usage()`: a few loads, no system call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    /// Open mappings (handle families), in every thread.
    pub mappings: usize,
    /// Bytes they map, each memory once however many mappings share it.
    pub mapped_bytes: usize,
    /// Address space of closed mappings kept (as zero pages) for Buffers that escaped.
    pub retired_bytes: usize,
    /// Map regions held: one per mapping, two per waiting thread, and the retired ones.
    pub regions: usize,
    /// The count of live mappings past which opening fails with `ENOMEM`; `None` where none.
    pub region_limit: Option<usize>,
}

/// What memmap holds in this process now.
pub fn usage() -> Usage {
    let (regions, retired_bytes) = crate::budget::held();
    let limit = crate::budget::limit();
    Usage {
        mappings: OPEN.load(SeqCst),
        mapped_bytes: MAPPED.load(SeqCst),
        retired_bytes,
        regions,
        region_limit: (limit != usize::MAX).then_some(limit),
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        MAPPED.fetch_sub(self.map.len(), SeqCst);
        // Never dropped while the table is locked: the table holds only weak references, and
        // every strong one it hands out leaves the lock with its taker.
        if let Some(shared) = self.shared.get() {
            table().remove(&shared.id);
        }
    }
}

/// The name [`Handle::share`] gives a mapping's memory, for [`Handle::adopt`] in another thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shared {
    /// Its number in this process, from 1; never reused.
    pub id: u64,
    /// Random bits that a forged or altered name does not have.
    pub token: u64,
}

/// Shared memory by number: the token it was given, and the memory while someone holds it.
type Table = HashMap<u64, (u64, Weak<Memory>)>;

static TABLE: LazyLock<Mutex<Table>> = LazyLock::new(Mutex::default);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn table() -> MutexGuard<'static, Table> {
    TABLE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Handle {
    /// Takes ownership of `map`.
    pub fn new(map: Map) -> Self {
        MAPPED.fetch_add(map.len(), SeqCst);
        Handle::over(Arc::new(Memory {
            map,
            shared: OnceLock::new(),
        }))
    }

    fn over(memory: Arc<Memory>) -> Self {
        OPEN.fetch_add(1, SeqCst);
        Handle(Arc::new(Inner {
            map: RwLock::new(Some(memory)),
            sleepers: Sleepers::default(),
            closing: AtomicBool::new(false),
        }))
    }

    /// Names this mapping's memory for [`Handle::adopt`] in any thread of this process (the same
    /// name each time). The name keeps nothing alive: it reaches the memory while some family
    /// holds it. [`Error::Closed`] if this family is closed.
    pub fn share(&self) -> Result<Shared> {
        let guard = self.read();
        let memory = guard.as_ref().ok_or(Error::Closed)?;
        let mut table = table();
        Ok(*memory.shared.get_or_init(|| {
            let id = NEXT_ID.fetch_add(1, SeqCst);
            let token = crate::shared::auto::random_u64();
            table.insert(id, (token, Arc::downgrade(memory)));
            Shared { id, token }
        }))
    }

    /// A new family over the memory `shared` names. A name this process never gave, or one whose
    /// token differs, is [`Error::InvalidArgument`]; memory that is gone (every family closed or
    /// dropped, or remapped alone since) is [`Error::Gone`].
    pub fn adopt(shared: Shared) -> Result<Handle> {
        let memory = match table().get(&shared.id) {
            Some((token, memory)) if *token == shared.token => memory.upgrade(),
            Some(_) => return Err(forged()),
            None if shared.id == 0 || shared.id >= NEXT_ID.load(SeqCst) => return Err(forged()),
            None => None,
        };
        memory.map(Handle::over).ok_or(Error::Gone)
    }

    /// Runs `f` on the live mapping, or fails with [`Error::Closed`].
    pub fn with<T>(&self, f: impl FnOnce(&Map) -> Result<T>) -> Result<T> {
        match self.read().as_ref() {
            Some(memory) => f(&memory.map),
            None => Err(Error::Closed),
        }
    }

    /// Runs `f` with the mapping borrowed mutably (remapping), or fails with [`Error::Closed`].
    /// Sleepers in [`Handle::wait`] are woken first (they return `Ok`), since `f` may move the
    /// pages they sleep on. While another family shares the memory this is
    /// [`Error::Unsupported`]; once this family alone has it, its name is withdrawn (the pages may
    /// move), so later [`Handle::adopt`]s of it are [`Error::Gone`].
    pub fn with_mut<T>(&self, f: impl FnOnce(&mut Map) -> Result<T>) -> Result<T> {
        let mut guard = self.write();
        let Some(memory) = guard.as_mut() else {
            return Err(Error::Closed);
        };
        let Some(memory) = alone(memory) else {
            return Err(Error::Unsupported(
                "resize() of memory that another Mapping shares (through handle() and \
                 fromHandle()) would move its pages under it: close the others first"
                    .into(),
            ));
        };
        self.0.sleepers.evict();
        let before = memory.map.len();
        let result = f(&mut memory.map);
        // A remap changes what is mapped (a failed one may have changed nothing).
        MAPPED.fetch_add(memory.map.len(), SeqCst);
        MAPPED.fetch_sub(before, SeqCst);
        result
    }

    /// Unmaps now, after waking every sleeper in [`Handle::wait`] (they fail with
    /// [`Error::Closed`]). Returns whether the mapping was still open. Idempotent.
    pub fn close(&self) -> bool {
        self.0.closing.store(true, SeqCst);
        let mut guard = self.write();
        let map = guard.take();
        if map.is_some() {
            OPEN.fetch_sub(1, SeqCst);
            self.0.sleepers.evict();
        }
        drop(guard);
        // Unmapped here, outside the lock.
        map.is_some()
    }

    /// Whether [`Handle::close`] was called (it may still be waiting for the lock): work that
    /// holds the lock for long asks this between steps and gives up.
    pub fn closing(&self) -> bool {
        self.0.closing.load(SeqCst)
    }

    /// Whether [`Handle::close`] ran.
    pub fn is_closed(&self) -> bool {
        self.read().is_none()
    }

    /// `Atomics.wait` on the Int32 at `offset`: sleeps while it holds `expected`, until a
    /// [`Handle::notify`] from any thread or process, or `timeout` (`None`: no limit).
    ///
    /// Holds no lock while it sleeps. Fails with [`Error::Closed`] if the mapping is closed,
    /// before or during the wait.
    pub fn wait(
        &self,
        offset: usize,
        expected: i32,
        timeout: Option<Duration>,
    ) -> Result<WaitResult> {
        let (word, generation) = {
            let guard = self.read();
            let map = &guard.as_ref().ok_or(Error::Closed)?.map;
            let word = map.atomic_i32(offset)?;
            if word.load(SeqCst) != expected {
                return Ok(WaitResult::NotEqual);
            }
            if timeout.is_some_and(|t| t.is_zero()) {
                return Ok(WaitResult::TimedOut);
            }
            (word.as_ptr(), self.0.sleepers.enter(word))
        };
        // SAFETY: `word` was checked by `atomic_i32` to be an aligned word of the mapping, and
        // it stays mapped until this sleeper leaves `sleepers` (module safety paragraph).
        let word = unsafe { AtomicI32::from_ptr(word) };
        let slept = sleep(word, expected, timeout, &self.0.sleepers, generation);
        self.0.sleepers.leave(word);
        match slept {
            Slept::Done(result) => Ok(result),
            // Remapped: woken as by a notify if the word is still there, as a lock would go on;
            // a word the new length cut off is the error a lock gets for it.
            Slept::Evicted => self.with(|map| map.atomic_i32(offset).map(|_| WaitResult::Ok)),
        }
    }

    /// [`Handle::wait`] in sleeps of at most [`STOP_SLICE`], between which `waiter` is asked to
    /// stop ([`Error::Cancelled`]): for a thread that can be terminated while it waits. A notify
    /// that lands in the microsecond between two sleeps, on a word it leaves unchanged, is missed.
    pub fn wait_as(
        &self,
        waiter: &Waiter<'_>,
        offset: usize,
        expected: i32,
        timeout: Option<Duration>,
    ) -> Result<WaitResult> {
        let deadline = deadline_of(timeout);
        let mut first = true;
        loop {
            let Some(left) = remaining(deadline) else {
                return Ok(WaitResult::TimedOut);
            };
            let slice = left.map_or(STOP_SLICE, |left| left.min(STOP_SLICE));
            match self.wait(offset, expected, Some(slice))? {
                WaitResult::TimedOut => {
                    first = false;
                    waiter.check()?;
                }
                // A change seen on waking from an earlier sleep came with a notify.
                WaitResult::NotEqual if !first => return Ok(WaitResult::Ok),
                result => return Ok(result),
            }
        }
    }

    /// [`Handle::wait`] on a thread of its own, which hands the result to `done`: a sleeper holds
    /// no thread of any pool. The thread's stack is mapped memory, so it takes its share of the
    /// mapping budget while it lives (see `budget.rs`): past the cap this fails with the coded
    /// `ENOMEM` of [`Error::TooManyMappings`], and a thread the OS will not start is an OS error
    /// (`EAGAIN`), never an abort. On failure `done` is dropped without being called.
    pub fn wait_on_thread(
        &self,
        offset: usize,
        expected: i32,
        timeout: Option<Duration>,
        done: impl FnOnce(Result<WaitResult>) + Send + 'static,
    ) -> Result<()> {
        self.on_thread(move |handle| done(handle.wait(offset, expected, timeout)))
    }

    /// Runs an acquisition (`work`, for `who`) on a thread of its own, as
    /// [`Handle::wait_on_thread`] does a wait: closing the mapping ends it with
    /// [`Error::Closed`]. The result goes to a ticket of `agent`, and `done` is called once it is
    /// there. When `agent` ends first, the wait stops and takes nothing, and what was taken but not
    /// yet [taken from the ticket](Ticket::take) is given back with `undo`.
    pub fn acquire_on_thread<T: Send + 'static>(
        &self,
        agent: &Agent,
        who: crate::identity::Identity,
        work: impl FnOnce(&Handle, &Waiter<'_>) -> Result<T> + Send + 'static,
        undo: impl FnOnce(&Handle) + Send + 'static,
        done: impl FnOnce(Arc<Ticket<T>>) + Send + 'static,
    ) -> Result<()> {
        let (agent, ticket) = (agent.clone(), agent.ticket());
        self.on_thread(move |handle| {
            let stop = || agent.ended();
            let waiter = Waiter {
                who,
                stop: &stop,
                holds_none: true,
            };
            let result = work(handle, &waiter);
            let undo: Option<Undo> = result.is_ok().then(|| {
                let handle = handle.clone();
                Box::new(move || undo(&handle)) as Undo
            });
            ticket.finish(result, undo);
            done(ticket);
        })
    }

    /// [`Handle::mutex_lock_as`] for `who` on a thread of its own ([`Handle::acquire_on_thread`]):
    /// the lock is taken in `who`'s name (the JavaScript thread that asked).
    pub fn mutex_lock_on_thread(
        &self,
        offset: usize,
        who: crate::identity::Identity,
        timeout: Option<Duration>,
        agent: &Agent,
        done: impl FnOnce(Arc<Ticket<crate::waiter::Locked>>) + Send + 'static,
    ) -> Result<()> {
        self.acquire_on_thread(
            agent,
            who,
            move |handle, waiter| handle.mutex_lock_as(waiter, offset, timeout),
            move |handle| drop(handle.mutex_unlock(offset, who)),
            done,
        )
    }

    /// [`Handle::semaphore_acquire_as`] on a thread of its own ([`Handle::acquire_on_thread`]): a
    /// permit taken but never taken from the ticket is released again.
    pub fn semaphore_acquire_on_thread(
        &self,
        offset: usize,
        timeout: Option<Duration>,
        agent: &Agent,
        done: impl FnOnce(Arc<Ticket<()>>) + Send + 'static,
    ) -> Result<()> {
        self.acquire_on_thread(
            agent,
            crate::identity::me(),
            move |handle, waiter| handle.semaphore_acquire_as(waiter, offset, timeout),
            move |handle| drop(handle.semaphore_release(offset, 1)),
            done,
        )
    }

    /// What names the memory at `offset` for every mapping of it in this process (see
    /// [`Map::memory_source`] and the byte's offset in it); memory only this handle reaches is
    /// named by the handle.
    pub fn memory_key(&self, offset: usize) -> Result<String> {
        let guard = self.read();
        let memory = guard.as_ref().ok_or(Error::Closed)?;
        let map = &memory.map;
        Ok(match map.memory_source() {
            Some(source) => format!("{source}@{}", map.offset() + offset as u64),
            // Memory only these families reach (anonymous, say) is named by its address.
            None => format!("memory:{:p}@{offset}", Arc::as_ptr(memory)),
        })
    }

    /// `search` (a whole-mapping search, say) on a thread of its own, handing its result to
    /// `done` there: a long search holds no thread of a shared pool (libuv's four), so the
    /// file system calls queued behind it are not delayed. `search` should ask
    /// [`Handle::closing`] between chunks, so that `close()` ends it early.
    pub fn search_on_thread<T: Send + 'static>(
        &self,
        search: impl FnOnce(&Map) -> Result<T> + Send + 'static,
        done: impl FnOnce(Result<T>) + Send + 'static,
    ) -> Result<()> {
        self.on_thread(move |handle| done(handle.with(search)))
    }

    /// Runs `work` on a new thread of its own: it sleeps in the kernel (see
    /// [`Handle::wait_on_thread`]) or searches, and so holds no pool thread.
    fn on_thread(&self, work: impl FnOnce(&Handle) + Send + 'static) -> Result<()> {
        let path = self.with(|map| Ok(map.path().map(str::to_owned)))?;
        let regions = Reservation::take_regions(THREAD_REGIONS, path.as_deref())?;
        let handle = self.clone();
        std::thread::Builder::new()
            .name("memmap-wait".into())
            // The thread sleeps in the kernel or searches with memchr: a few frames.
            .stack_size(64 * 1024)
            .spawn(move || {
                let _regions = regions;
                work(&handle);
            })
            .map(drop)
            .map_err(|e| Error::os(e, crate::os::SYSCALL_THREAD, path.as_deref()))
    }

    /// `Atomics.notify` on the Int32 at `offset`: wakes up to `count` sleepers in every thread
    /// and process. Returns how many woke where the system says (0 where sleepers poll).
    pub fn notify(&self, offset: usize, count: u32) -> Result<u32> {
        self.with(|map| Ok(crate::wait::address::wake(map.atomic_i32(offset)?, count)))
    }

    fn read(&self) -> RwLockReadGuard<'_, Option<Arc<Memory>>> {
        // A panic while holding the lock leaves the map itself intact; keep using it.
        self.0
            .map
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Option<Arc<Memory>>> {
        self.0
            .map
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The memory, borrowed mutably, if no other family shares it; its name is withdrawn first.
///
/// Only [`Handle::adopt`] makes new strong references (under the table's lock, from the weak
/// one there) and only family owners hold them: with the table locked and this family's write
/// lock held, a count of 1 stays 1, and once the weak reference is removed `Arc::get_mut` holds.
fn alone(memory: &mut Arc<Memory>) -> Option<&mut Memory> {
    if let Some(shared) = memory.shared.get() {
        let mut table = table();
        if Arc::strong_count(memory) > 1 {
            return None;
        }
        table.remove(&shared.id);
    }
    let memory = Arc::get_mut(memory)?;
    memory.shared.take();
    Some(memory)
}

fn forged() -> Error {
    Error::InvalidArgument(
        "The handle names no memory this process shared: pass the object mapping.handle() gave, \
         unchanged"
            .into(),
    )
}

impl Handle {
    /// Sleeps on the word at `offset` while it holds `expected`, at most `limit` (`None`: no
    /// limit), as [`Handle::wait_as`] does. Whether the sleep ran out its whole limit (`true`) or
    /// ended early (a wake, a change).
    pub(crate) fn sleep_as(
        &self,
        waiter: &Waiter<'_>,
        offset: usize,
        expected: u32,
        limit: Option<Duration>,
    ) -> Result<bool> {
        let slept = self.wait_as(waiter, offset, expected as i32, limit)?;
        Ok(slept == WaitResult::TimedOut)
    }
}

#[cfg(test)]
mod tests {
    use super::{Handle, Shared};
    use crate::anon::AnonymousOptions;
    use crate::error::Error;
    use crate::map::Map;

    fn anonymous() -> Handle {
        Handle::new(Map::anonymous(4096, &AnonymousOptions::default()).unwrap())
    }

    #[test]
    fn an_adopted_family_reaches_the_same_pages_and_outlives_the_first() {
        let first = anonymous();
        let shared = first.share().unwrap();
        assert_eq!(first.share().unwrap(), shared, "one name per memory");
        let second = Handle::adopt(shared).unwrap();
        first.with(|map| map.store_i32(0, 7)).unwrap();
        assert_eq!(second.with(|map| map.load_i32(0)).unwrap(), 7);
        assert!(matches!(
            first.with_mut(|_| Ok(())),
            Err(Error::Unsupported(_))
        ));
        first.close();
        assert_eq!(second.with(|map| map.load_i32(0)).unwrap(), 7);
        // Alone now: it may remap, and its name is withdrawn.
        second.with_mut(|_| Ok(())).unwrap();
        assert!(matches!(Handle::adopt(shared), Err(Error::Gone)));
        second.close();
    }

    #[test]
    fn forged_and_stale_names_are_refused() {
        let handle = anonymous();
        let shared = handle.share().unwrap();
        let altered = Shared {
            token: shared.token ^ 1,
            ..shared
        };
        assert!(matches!(
            Handle::adopt(altered),
            Err(Error::InvalidArgument(_))
        ));
        let never = Shared {
            id: u64::MAX,
            ..shared
        };
        assert!(matches!(
            Handle::adopt(never),
            Err(Error::InvalidArgument(_))
        ));
        drop(handle);
        assert!(matches!(Handle::adopt(shared), Err(Error::Gone)));
    }
}
