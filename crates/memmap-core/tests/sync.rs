//! Mutexes and semaphores in 8 bytes of anonymous memory, between threads of this process (the
//! specs in `__test__/sync.spec.ts` cover processes): ownership, errors, owner death, and that
//! a contended mutex excludes.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use memmap_core::{thread_identity, Agent, AnonymousOptions, Error, Handle, Locked, Map};

fn handle() -> Handle {
    Handle::new(Map::anonymous(4096, &AnonymousOptions::default()).unwrap())
}

#[test]
fn lock_unlock_deadlock_and_not_owner() {
    let h = handle();
    let me = thread_identity();
    assert_ne!(me.token, 0);
    assert!(!h.mutex_locked(8).unwrap());
    assert_eq!(
        h.mutex_lock(8, me, None).unwrap(),
        Locked { owner_died: false }
    );
    assert!(h.mutex_locked(8).unwrap());
    assert!(matches!(
        h.mutex_lock(8, me, None),
        Err(Error::Deadlock { offset: 8 })
    ));
    // Busy, as for any other caller: it never blocks.
    assert_eq!(h.mutex_try_lock(8, me).unwrap(), None);
    let other = thread::scope(|s| s.spawn(thread_identity).join().unwrap());
    assert!(matches!(
        h.mutex_unlock(8, other),
        Err(Error::NotOwner { .. })
    ));
    h.mutex_unlock(8, me).unwrap();
    assert!(!h.mutex_locked(8).unwrap());
    assert!(matches!(
        h.mutex_unlock(8, me),
        Err(Error::NotOwner { holder: 0, .. })
    ));
    assert!(matches!(
        h.mutex_lock(4, me, None),
        Err(Error::OutOfRange(_))
    ));
    assert!(matches!(
        h.mutex_lock(4096, me, None),
        Err(Error::OutOfRange(_))
    ));
}

#[test]
fn a_held_mutex_times_out_and_try_lock_says_none() {
    let h = Arc::new(handle());
    let holder = h.clone();
    let (locked, release) = (std::sync::Barrier::new(2), std::sync::Barrier::new(2));
    thread::scope(|s| {
        s.spawn(|| {
            holder.mutex_lock(0, thread_identity(), None).unwrap();
            locked.wait();
            release.wait();
            holder.mutex_unlock(0, thread_identity()).unwrap();
        });
        locked.wait();
        let me = thread_identity();
        assert_eq!(h.mutex_try_lock(0, me).unwrap(), None);
        let started = Instant::now();
        assert!(matches!(
            h.mutex_lock(0, me, Some(Duration::from_millis(50))),
            Err(Error::Timeout { what: "lock", .. })
        ));
        assert!(started.elapsed() >= Duration::from_millis(50));
        release.wait();
        // The holder unlocks: a waiting lock gets it.
        assert_eq!(
            h.mutex_lock(0, me, Some(Duration::from_secs(5))).unwrap(),
            Locked { owner_died: false }
        );
        h.mutex_unlock(0, me).unwrap();
    });
}

#[test]
fn a_thread_that_ends_holding_the_mutex_is_replaced_with_owner_died() {
    let h = Arc::new(handle());
    let dying = h.clone();
    thread::spawn(move || {
        dying.mutex_lock(16, thread_identity(), None).unwrap();
    })
    .join()
    .unwrap();
    let me = thread_identity();
    let started = Instant::now();
    assert_eq!(
        h.mutex_lock(16, me, None).unwrap(),
        Locked { owner_died: true }
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    h.mutex_unlock(16, me).unwrap();
    // And try_lock sees it too.
    let dying = h.clone();
    thread::spawn(move || {
        dying.mutex_lock(16, thread_identity(), None).unwrap();
    })
    .join()
    .unwrap();
    assert_eq!(
        h.mutex_try_lock(16, me).unwrap(),
        Some(Locked { owner_died: true })
    );
}

#[test]
fn four_threads_increment_a_plain_counter_under_the_mutex() {
    let h = Arc::new(handle());
    thread::scope(|s| {
        for _ in 0..4 {
            let h = h.clone();
            s.spawn(move || {
                let me = thread_identity();
                for _ in 0..20_000 {
                    h.mutex_lock(0, me, None).unwrap();
                    // A plain read-modify-write: only the mutex keeps it exact.
                    let value = h.with(|map| map.load_i32(64)).unwrap();
                    h.with(|map| map.store_i32(64, value + 1)).unwrap();
                    h.mutex_unlock(0, me).unwrap();
                }
            });
        }
    });
    assert_eq!(h.with(|map| map.load_i32(64)).unwrap(), 80_000);
}

#[test]
fn semaphore_counts_sleeps_and_wakes() {
    let h = Arc::new(handle());
    assert_eq!(h.semaphore_value(24).unwrap(), 0);
    assert!(!h.semaphore_try_acquire(24).unwrap());
    assert!(matches!(
        h.semaphore_acquire(24, Some(Duration::from_millis(20))),
        Err(Error::Timeout {
            what: "acquire",
            ..
        })
    ));
    h.semaphore_release(24, 2).unwrap();
    assert_eq!(h.semaphore_value(24).unwrap(), 2);
    assert!(h.semaphore_try_acquire(24).unwrap());
    h.semaphore_acquire(24, None).unwrap();
    assert_eq!(h.semaphore_value(24).unwrap(), 0);
    let releaser = h.clone();
    thread::scope(|s| {
        s.spawn(move || {
            thread::sleep(Duration::from_millis(30));
            releaser.semaphore_release(24, 1).unwrap();
        });
        h.semaphore_acquire(24, Some(Duration::from_secs(5)))
            .unwrap();
    });
    h.semaphore_release(24, i32::MAX as u32).unwrap();
    assert!(matches!(
        h.semaphore_release(24, 1),
        Err(Error::ArgumentRange(_))
    ));
    assert_eq!(h.semaphore_value(24).unwrap(), i32::MAX as u32);
}

#[test]
fn closing_ends_a_sleeping_lock_with_closed() {
    let h = handle();
    let me = thread_identity();
    let (sender, receiver) = std::sync::mpsc::channel();
    let agent = Agent::default();
    h.semaphore_acquire_on_thread(8, None, &agent, move |ticket| {
        sender.send(ticket.take()).unwrap()
    })
    .unwrap();
    thread::sleep(Duration::from_millis(20));
    h.close();
    assert!(matches!(
        receiver.recv_timeout(Duration::from_secs(5)).unwrap(),
        Err(Error::Closed)
    ));
    assert!(matches!(h.mutex_lock(0, me, None), Err(Error::Closed)));
}
