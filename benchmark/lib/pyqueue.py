# The outside reference of workload 13: multiprocessing.Queue, 1 -> 1 processes, `count` messages
# of 64 bytes. Prints {"count", "seconds"} as JSON.
import json
import multiprocessing as mp
import sys
import time


def produce(queue, count):
    message = b"m" * 64
    for _ in range(count):
        queue.put(message)


if __name__ == "__main__":
    count = int(sys.argv[1])
    queue = mp.Queue()
    producer = mp.Process(target=produce, args=(queue, count))
    start = time.perf_counter()
    producer.start()
    received = 0
    for _ in range(count):
        received += len(queue.get())
    seconds = time.perf_counter() - start
    producer.join()
    print(json.dumps({"count": count, "bytes": received, "seconds": seconds}))
