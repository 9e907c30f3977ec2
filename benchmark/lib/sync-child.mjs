// A process of workload 11: `node sync-child.mjs <mode> <shared name> ...`.
//
//   barrier <name> <parties> <n>
//                               n waits at the barrier at byte 0, once per round the parent starts
//                               (word 32 counts the rounds, -1 ends); each adds the sum of the
//                               arrival indexes wait() returned to word 40 and 1 to word 36 when
//                               its round is done: the rounds are timed without the process
//                               start-up
//   waiter <name> <n>           holds the mutex at byte 0 and waits on the condition at byte 8
//                               until the flag (word 16) is set, n times; each time records how
//                               long after the notifier's stamp (BigInt64 at byte 24) wait()
//                               returned, clears the flag and says so (word 20 counts them)
//   notifier <name> <n> <gapMs> once the waiter has handled the last one (and, `gapMs` later, is
//                               surely asleep), locks (which succeeds only once the waiter is
//                               inside wait(): it holds the mutex otherwise), sets the flag, stamps
//                               the time, notifies, unlocks; word 44 counts the waiters notify()
//                               said it woke
//
// The hand-off's latencies (µs, Float64) start at byte 64; word 48 is the waiter's start signal.
// The stamps are process.hrtime.bigint(), CLOCK_MONOTONIC, the clock of every process.

import { loadMemmap } from './subjects.mjs'

const [mode, target, ...rest] = process.argv.slice(2)
const ROUND = 32
const DONE = 36
const TOTAL = 40
const FLAG = 16
const HANDLED = 20
const STAMP = 24
const WOKEN = 44
const STARTED = 48
const LATENCIES = 64
const WAIT_MS = 60_000

/** Spins until `done()`; a partner that never answers (its process died) ends this one too. */
function spinUntil(done) {
  const deadline = Date.now() + WAIT_MS
  for (let i = 0; !done(); i++) {
    if ((i & 0xffff) === 0 && Date.now() > deadline) {
      process.stderr.write('sync-child: the other process stopped answering\n')
      process.exit(1)
    }
  }
}

const memmap = loadMemmap()
const shared = memmap.openShared(target)
const a = shared.atomics

if (mode === 'barrier') {
  const [parties, n] = rest.map(Number)
  const barrier = shared.barrier(0, parties)
  for (let round = 0; ; round++) {
    let seen
    while ((seen = a.load(ROUND)) === round) a.wait(ROUND, seen)
    if (seen < 0) break
    let arrived = 0
    for (let i = 0; i < n; i++) arrived += barrier.wait(WAIT_MS)
    a.add(TOTAL, arrived)
    a.add(DONE, 1)
    a.notify(DONE)
  }
} else if (mode === 'waiter') {
  const n = Number(rest[0])
  const latencies = new Float64Array(shared.buffer.buffer, shared.buffer.byteOffset + LATENCIES, n)
  const mutex = shared.mutex(0)
  const condition = shared.condition(8)
  const held = mutex.lock()
  a.store(STARTED, 1)
  for (let i = 0; i < n; i++) {
    while (a.load(FLAG) === 0) {
      if (!condition.wait(held, WAIT_MS)) {
        process.stderr.write('sync-child: no notify within a minute\n')
        process.exit(1)
      }
    }
    latencies[i] = Number(process.hrtime.bigint() - a.load64(STAMP)) / 1000
    a.store(FLAG, 0)
    a.store(HANDLED, i + 1)
  }
  held.unlock()
} else if (mode === 'notifier') {
  const [n, gapMs] = rest.map(Number)
  const mutex = shared.mutex(0)
  const condition = shared.condition(8)
  const pause = new Int32Array(new SharedArrayBuffer(4))
  let woken = 0
  spinUntil(() => a.load(STARTED) === 1)
  for (let i = 0; i < n; i++) {
    spinUntil(() => a.load(HANDLED) === i)
    if (gapMs > 0) Atomics.wait(pause, 0, 0, gapMs)
    const held = mutex.lock(WAIT_MS)
    a.store(FLAG, 1)
    a.store64(STAMP, process.hrtime.bigint())
    woken += condition.notify()
    held.unlock()
  }
  a.store(WOKEN, woken)
} else {
  process.stderr.write(`sync-child: unknown mode ${mode}\n`)
  process.exitCode = 1
}
shared.close()
