//! The reader-writer lock, the condition variable and the barrier in anonymous memory, between
//! threads of this process (the specs in `__test__/sync-primitives.spec.ts` cover processes and
//! workers): who gets in together, who waits, what a thread that ends holding leaves, timeouts.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use memmap_core::{thread_identity, AnonymousOptions, Error, Handle, Map, Waiter};

fn handle() -> Handle {
    Handle::new(Map::anonymous(8192, &AnonymousOptions::default()).unwrap())
}

/// A waiter for the calling thread that holds nothing of the lock (as the facade calls).
fn me() -> Waiter<'static> {
    Waiter {
        holds_none: true,
        ..Waiter::plain(thread_identity())
    }
}

const SECONDS: Option<Duration> = Some(Duration::from_secs(5));

/// Eight threads hold a read share at once (all inside together, at a std barrier), and a writer
/// cannot get in meanwhile; once they leave it can.
#[test]
fn readers_share_and_a_writer_waits_for_them() {
    let h = handle();
    let inside = Barrier::new(9);
    let leave = Barrier::new(9);
    thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                let w = me();
                h.rwlock_read_as(&w, 256, SECONDS).unwrap();
                inside.wait();
                leave.wait();
                h.rwlock_read_unlock(256, w.who, false).unwrap();
            });
        }
        inside.wait();
        assert_eq!(h.rwlock_state(256).unwrap(), (8, false));
        assert!(h.rwlock_try_write_as(&me(), 256).unwrap().is_none());
        assert!(matches!(
            h.rwlock_write_as(&me(), 256, Some(Duration::from_millis(50))),
            Err(Error::Timeout { what: "write", .. })
        ));
        leave.wait();
    });
    let w = me();
    let locked = h.rwlock_write_as(&w, 256, SECONDS).unwrap();
    assert!(!locked.owner_died);
    assert_eq!(h.rwlock_state(256).unwrap(), (0, true));
    let other = thread::scope(|s| s.spawn(|| h.rwlock_try_read_as(&me(), 256).unwrap()).join());
    assert!(
        other.unwrap().is_none(),
        "no reader while a writer holds it"
    );
    h.rwlock_write_unlock(256, w.who, false).unwrap();
    assert_eq!(h.rwlock_state(256).unwrap(), (0, false));
}

/// Writers exclude each other and readers: four threads add to a counter by load-then-store
/// under the write lock, four read it twice under a read share and see it unchanged.
#[test]
fn writers_exclude_everyone() {
    let h = handle();
    let counter = AtomicU32::new(0);
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let w = me();
                for _ in 0..2_000 {
                    h.rwlock_write_as(&w, 256, SECONDS).unwrap();
                    let seen = counter.load(SeqCst);
                    thread::yield_now();
                    counter.store(seen + 1, SeqCst);
                    h.rwlock_write_unlock(256, w.who, false).unwrap();
                }
            });
            s.spawn(|| {
                let w = me();
                for _ in 0..2_000 {
                    h.rwlock_read_as(&w, 256, SECONDS).unwrap();
                    let before = counter.load(SeqCst);
                    thread::yield_now();
                    assert_eq!(
                        counter.load(SeqCst),
                        before,
                        "a writer got in during a read"
                    );
                    h.rwlock_read_unlock(256, w.who, false).unwrap();
                }
            });
        }
    });
    assert_eq!(counter.load(SeqCst), 8_000);
}

/// A reader thread that ends holding its share: the next writer gets the lock within about a
/// second, told `owner_died`; so does a reader after a writer that ended holding.
#[test]
fn a_reader_or_writer_that_ended_holding_is_recovered() {
    let h = Arc::new(handle());
    let reader = h.clone();
    thread::spawn(move || reader.rwlock_read_as(&me(), 256, SECONDS).unwrap())
        .join()
        .unwrap();
    let started = Instant::now();
    let w = me();
    assert!(h.rwlock_write_as(&w, 256, SECONDS).unwrap().owner_died);
    assert!(started.elapsed() < Duration::from_millis(1500));
    h.rwlock_write_unlock(256, w.who, false).unwrap();

    let writer = h.clone();
    thread::spawn(move || writer.rwlock_write_as(&me(), 256, SECONDS).unwrap())
        .join()
        .unwrap();
    let r = me();
    assert!(h.rwlock_read_as(&r, 256, SECONDS).unwrap().owner_died);
    h.rwlock_read_unlock(256, r.who, false).unwrap();
    // Abandoned (what close() does) is owner_died too, for the next holder.
    h.rwlock_read_as(&r, 256, SECONDS).unwrap();
    h.rwlock_read_unlock(256, r.who, true).unwrap();
    assert!(h.rwlock_write_as(&w, 256, SECONDS).unwrap().owner_died);
    h.rwlock_write_unlock(256, w.who, false).unwrap();
}

/// The lock's 256 bytes must fit, 8-aligned.
#[test]
fn a_rwlock_that_does_not_fit_is_refused() {
    let h = handle();
    assert!(matches!(
        h.rwlock_read_as(&me(), 8192 - 128, SECONDS),
        Err(Error::OutOfRange(_))
    ));
    assert!(h.rwlock_read_as(&me(), 260, SECONDS).is_err());
}

/// notify(1) returns one waiter of three asleep (their sleeps are sliced, and each slice sees
/// the sequence move: only the signalled one returns); notify(all) returns the rest.
#[test]
fn notify_one_returns_one_waiter() {
    let h = handle();
    let woken = AtomicU32::new(0);
    let stop = || false;
    thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                let w = Waiter {
                    stop: &stop,
                    ..me()
                };
                h.mutex_lock_as(&w, 0, SECONDS).unwrap();
                let (notified, _) = h.condition_wait_as(&w, 8, &h, 0, SECONDS).unwrap();
                assert!(notified);
                woken.fetch_add(1, SeqCst);
                h.mutex_unlock(0, w.who).unwrap();
            });
        }
        // All three asleep for a few slices.
        while h.condition_notify(8, 0).unwrap() == 0 && !three_waiting(&h) {
            thread::sleep(Duration::from_millis(5));
        }
        thread::sleep(Duration::from_millis(100));
        assert_eq!(h.condition_notify(8, 1).unwrap(), 1);
        thread::sleep(Duration::from_millis(150));
        assert_eq!(woken.load(SeqCst), 1, "notify(1) returned one waiter");
        assert_eq!(h.condition_notify(8, u32::MAX).unwrap(), 2);
    });
    assert_eq!(woken.load(SeqCst), 3);
    assert_eq!(h.condition_notify(8, 1).unwrap(), 0, "nobody waits now");
}

fn three_waiting(h: &Handle) -> bool {
    h.with(|map| map.load_i32(12)).unwrap() & 0xffff == 3
}

/// A wait that nobody notifies times out after about its timeout, holding the mutex again.
#[test]
fn a_condition_wait_times_out_holding_the_mutex() {
    let h = handle();
    let w = me();
    h.mutex_lock_as(&w, 0, SECONDS).unwrap();
    let started = Instant::now();
    let (notified, _) = h
        .condition_wait_as(&w, 8, &h, 0, Some(Duration::from_millis(80)))
        .unwrap();
    assert!(!notified);
    assert!(started.elapsed() >= Duration::from_millis(75));
    assert!(h.mutex_locked(0).unwrap());
    h.mutex_unlock(0, w.who).unwrap();
    assert_eq!(
        h.condition_notify(8, 1).unwrap(),
        0,
        "the timed-out waiter counted itself out"
    );
}

/// Four threads × 100 rounds: each round hands out the indexes 0..4 once, and nobody starts a
/// round before everyone finished the one before.
#[test]
fn a_barrier_holds_four_threads_together_for_100_rounds() {
    let h = handle();
    let done = AtomicU32::new(0);
    thread::scope(|s| {
        let seen: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let mut indexes = Vec::new();
                    for round in 0..100 {
                        indexes.push(h.barrier_wait_as(&me(), 32, 4, SECONDS).unwrap());
                        // Released from round `round`: everyone finished the one before.
                        assert!(done.load(SeqCst) >= 4 * round);
                        done.fetch_add(1, SeqCst);
                    }
                    indexes
                })
            })
            .collect();
        let seen: Vec<Vec<u32>> = seen.into_iter().map(|t| t.join().unwrap()).collect();
        for round in 0..100 {
            let mut indexes: Vec<u32> = seen.iter().map(|of| of[round]).collect();
            indexes.sort_unstable();
            assert_eq!(indexes, [0, 1, 2, 3], "round {round}");
        }
    });
}

/// A party that times out breaks the barrier for the one waiting with it and for later waits,
/// until reset(); parties that disagree with the bytes are refused; garbage breaks it.
#[test]
fn a_timeout_breaks_the_barrier_until_reset() {
    let h = handle();
    thread::scope(|s| {
        let other = s.spawn(|| h.barrier_wait_as(&me(), 32, 3, SECONDS));
        thread::sleep(Duration::from_millis(30));
        assert!(matches!(
            h.barrier_wait_as(&me(), 32, 3, Some(Duration::from_millis(50))),
            Err(Error::BarrierBroken { .. })
        ));
        assert!(matches!(
            other.join().unwrap(),
            Err(Error::BarrierBroken { .. })
        ));
    });
    assert!(matches!(
        h.barrier_wait_as(&me(), 32, 3, SECONDS),
        Err(Error::BarrierBroken { .. })
    ));
    assert!(matches!(
        h.barrier_wait_as(&me(), 32, 4, SECONDS),
        Err(Error::InvalidArgument(_))
    ));
    h.barrier_reset(32).unwrap();
    thread::scope(|s| {
        let a = s.spawn(|| h.barrier_wait_as(&me(), 32, 3, SECONDS).unwrap());
        let b = s.spawn(|| h.barrier_wait_as(&me(), 32, 3, SECONDS).unwrap());
        let c = h.barrier_wait_as(&me(), 32, 3, SECONDS).unwrap();
        let mut all = [a.join().unwrap(), b.join().unwrap(), c];
        all.sort_unstable();
        assert_eq!(all, [0, 1, 2]);
    });
    h.with(|map| map.store_i32(64, 1000)).unwrap();
    assert!(matches!(
        h.barrier_wait_as(&me(), 64, 2, SECONDS),
        Err(Error::BarrierBroken { .. })
    ));
}

/// With all 30 slots taken, a 31st reader waits for one; each time a reader leaves, the waiter
/// gets in at once, not a 250 ms slice later: a departure is counted whenever someone may sleep
/// on it, however the leave and the waiter's look at the slots interleave (20 rounds, the leave
/// at a different moment in each).
#[test]
fn a_reader_waiting_for_a_slot_is_woken_by_the_first_to_leave() {
    let h = handle();
    for round in 0..20u64 {
        let inside = Barrier::new(31);
        let leave = Barrier::new(31);
        let waited = thread::scope(|s| {
            let readers: Vec<_> = (0..30)
                .map(|i| {
                    let (h, inside, leave) = (&h, &inside, &leave);
                    s.spawn(move || {
                        let w = me();
                        h.rwlock_read_as(&w, 256, SECONDS).unwrap();
                        inside.wait();
                        if i == 0 {
                            // The first leaves while the 31st is looking or about to sleep.
                            thread::sleep(Duration::from_micros(round * 150));
                            h.rwlock_read_unlock(256, w.who, false).unwrap();
                        }
                        leave.wait();
                        if i != 0 {
                            h.rwlock_read_unlock(256, w.who, false).unwrap();
                        }
                    })
                })
                .collect();
            inside.wait();
            let started = Instant::now();
            let w = me();
            h.rwlock_read_as(&w, 256, SECONDS).unwrap();
            let waited = started.elapsed();
            h.rwlock_read_unlock(256, w.who, false).unwrap();
            leave.wait();
            readers.into_iter().for_each(|r| r.join().unwrap());
            waited
        });
        assert!(
            waited < Duration::from_millis(150),
            "round {round}: the 31st reader waited {waited:?} for the slot given back"
        );
    }
    assert_eq!(h.rwlock_state(256).unwrap(), (0, false));
}
