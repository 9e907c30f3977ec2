"""Python's multiprocessing doing what workloads 9 and 11 ask of memmap's primitives.

    python3 pylock.py uncontended N   -> {"nsPerOp": ...}  acquire + release, one process
    python3 pylock.py serve P N       -> P worker processes; each line "go" on stdin runs one
                                         round (every worker does N critical sections, each a
                                         plain += on a shared integer) and answers
                                         {"ms": ..., "total": ...}; end of input stops them
    python3 pylock.py barrier P N     -> the same with a Barrier(P): each line "go" makes every
                                         worker wait at it N times and answers {"ms": ...,
                                         "total": ...}, total the sum of the arrival indexes
                                         wait() returned (N * P * (P - 1) / 2 when every round
                                         released each index once)
    python3 pylock.py handoff N GAP   -> a Condition hand-off between two processes, N times:
                                         the waiter holds the lock and waits; the notifier
                                         (GAP ms after the waiter's last return, 0 for none)
                                         acquires, sets a flag, stamps the time, notifies,
                                         releases. Answers {"latenciesUs": [...], "handled": n},
                                         each latency from the stamp to the waiter's return

The shared integer is a RawValue (no lock of its own): only the Lock makes the total exact, as
with memmap. The workers live across rounds, so a round is timed without process start-up. The
hand-off's stamps are time.monotonic_ns(), CLOCK_MONOTONIC, the clock of every process.
"""

import json
import multiprocessing
import sys
import time


def work(lock, counter, n, start, done):
    while True:
        start.acquire()
        if counter.value < 0:
            return
        for _ in range(n):
            lock.acquire()
            counter.value += 1
            lock.release()
        done.release()


def barrier_work(barrier, n, start, done, total):
    while True:
        start.acquire()
        if total.value < 0:
            return
        arrived = 0
        for _ in range(n):
            arrived += barrier.wait()
        with total.get_lock():
            total.value += arrived
        done.release()


def waiter(condition, flag, stamp, handled, latencies, n, started):
    """Holds the lock and waits; times each return from the notifier's stamp."""
    condition.acquire()
    started.release()
    for i in range(n):
        while flag.value == 0:
            condition.wait()
        latencies[i] = (time.monotonic_ns() - stamp.value) / 1000
        flag.value = 0
        handled.value = i + 1
    condition.release()


def notifier(condition, flag, stamp, handled, woken, n, started, gap):
    """Notifies once the waiter has handled the last one and waits again (it holds the lock until then)."""
    started.acquire()
    for i in range(n):
        while handled.value != i:
            pass
        if gap:
            time.sleep(gap)
        condition.acquire()
        flag.value = 1
        stamp.value = time.monotonic_ns()
        condition.notify()
        condition.release()
        woken.value += 1


def main():
    mode = sys.argv[1]
    if mode == "uncontended":
        n = int(sys.argv[2])
        lock = multiprocessing.Lock()
        begin = time.perf_counter_ns()
        for _ in range(n):
            lock.acquire()
            lock.release()
        print(json.dumps({"nsPerOp": (time.perf_counter_ns() - begin) / n}), flush=True)
    elif mode == "serve":
        processes, n = int(sys.argv[2]), int(sys.argv[3])
        lock = multiprocessing.Lock()
        counter = multiprocessing.RawValue("i", 0)
        start, done = multiprocessing.Semaphore(0), multiprocessing.Semaphore(0)
        workers = [
            multiprocessing.Process(target=work, args=(lock, counter, n, start, done))
            for _ in range(processes)
        ]
        for worker in workers:
            worker.start()
        for line in sys.stdin:
            if line.strip() != "go":
                continue
            counter.value = 0
            begin = time.perf_counter_ns()
            for _ in workers:
                start.release()
            for _ in workers:
                done.acquire()
            ms = (time.perf_counter_ns() - begin) / 1e6
            print(json.dumps({"ms": ms, "total": counter.value}), flush=True)
        counter.value = -1
        for _ in workers:
            start.release()
        for worker in workers:
            worker.join()
    elif mode == "barrier":
        processes, n = int(sys.argv[2]), int(sys.argv[3])
        barrier = multiprocessing.Barrier(processes)
        total = multiprocessing.Value("q", 0)
        start, done = multiprocessing.Semaphore(0), multiprocessing.Semaphore(0)
        workers = [
            multiprocessing.Process(target=barrier_work, args=(barrier, n, start, done, total))
            for _ in range(processes)
        ]
        for worker in workers:
            worker.start()
        for line in sys.stdin:
            if line.strip() != "go":
                continue
            total.value = 0
            begin = time.perf_counter_ns()
            for _ in workers:
                start.release()
            for _ in workers:
                done.acquire()
            ms = (time.perf_counter_ns() - begin) / 1e6
            print(json.dumps({"ms": ms, "total": total.value}), flush=True)
        total.value = -1
        for _ in workers:
            start.release()
        for worker in workers:
            worker.join()
    elif mode == "handoff":
        n, gap = int(sys.argv[2]), float(sys.argv[3]) / 1000
        # A Lock, not the default RLock: memmap's mutex is not recursive either.
        condition = multiprocessing.Condition(multiprocessing.Lock())
        flag, handled = multiprocessing.RawValue("i", 0), multiprocessing.RawValue("i", 0)
        stamp, woken = multiprocessing.RawValue("q", 0), multiprocessing.RawValue("i", 0)
        latencies = multiprocessing.RawArray("d", n)
        started = multiprocessing.Semaphore(0)
        sides = [
            multiprocessing.Process(target=waiter, args=(condition, flag, stamp, handled, latencies, n, started)),
            multiprocessing.Process(target=notifier, args=(condition, flag, stamp, handled, woken, n, started, gap)),
        ]
        for side in sides:
            side.start()
        for side in sides:
            side.join()
            if side.exitcode != 0:
                raise SystemExit(f"a hand-off process exited {side.exitcode}")
        print(json.dumps({"latenciesUs": list(latencies), "handled": handled.value, "notified": woken.value}), flush=True)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
