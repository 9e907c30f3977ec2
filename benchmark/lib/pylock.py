"""Python's multiprocessing.Lock doing what workload 9 asks of memmap's mutex.

    python3 pylock.py uncontended N   -> {"nsPerOp": ...}  acquire + release, one process
    python3 pylock.py serve P N       -> P worker processes; each line "go" on stdin runs one
                                         round (every worker does N critical sections, each a
                                         plain += on a shared integer) and answers
                                         {"ms": ..., "total": ...}; end of input stops them

The shared integer is a RawValue (no lock of its own): only the Lock makes the total exact, as
with memmap. The workers live across rounds, so a round is timed without process start-up.
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
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
