// A process of workload 9: `node mutex-child.mjs <mode> <shared name> ...`.
//
//   count <name> <n>            n critical sections, each a plain (not atomic) increment
//   serve <name> <n>            the same, once per round the parent starts (word 32 counts the
//                               rounds, -1 ends), adding 1 to word 36 when a round is done: the
//                               rounds are timed without the process start-up
//   handoff <name> <rounds> <first|second>
//                               the two processes hand one mutex back and forth: each unlocks
//                               only once the other is asleep in lock() (the waiters bit is set),
//                               and the one woken records how long after the unlock it woke
//   lockfile <path> <n>         n critical sections under proper-lockfile instead

import { createRequire } from 'node:module'

import { loadMemmap } from './subjects.mjs'

const [mode, target, count, role] = process.argv.slice(2)
const n = Number(count)
/** The hand-off's flag word of process `who` (1 or 2). */
const flag = (who) => 28 + 4 * who
/** Spins until `done()`; a partner that never answers (its process died) ends this one too. */
function spinUntil(done) {
  const deadline = Date.now() + 60_000
  for (let i = 0; !done(); i++) {
    if ((i & 0xffff) === 0 && Date.now() > deadline) {
      process.stderr.write('mutex-child: the other process stopped answering\n')
      process.exit(1)
    }
  }
}

if (mode === 'lockfile') {
  const lockfile = createRequire(import.meta.url)('proper-lockfile')
  const { readFileSync, writeFileSync } = await import('node:fs')
  for (let i = 0; i < n; i++) {
    let release
    for (;;) {
      try {
        release = lockfile.lockSync(target, { realpath: false })
        break
      } catch (error) {
        if (error.code !== 'ELOCKED') throw error
      }
    }
    writeFileSync(target, String(Number(readFileSync(target, 'utf8')) + 1))
    release()
  }
} else {
  const memmap = loadMemmap()
  const shared = memmap.openShared(target)
  const mutex = shared.mutex(0)
  if (mode === 'count') {
    const counter = shared.buffer
    for (let i = 0; i < n; i++) {
      const held = mutex.lock()
      counter.writeUInt32LE(counter.readUInt32LE(8) + 1, 8)
      held.unlock()
    }
  } else if (mode === 'serve') {
    const a = shared.atomics
    const counter = shared.buffer
    for (let round = 0; ; round++) {
      let seen
      while ((seen = a.load(32)) === round) a.wait(32, seen)
      if (seen < 0) break
      for (let i = 0; i < n; i++) {
        const held = mutex.lock()
        counter.writeUInt32LE(counter.readUInt32LE(8) + 1, 8)
        held.unlock()
      }
      a.add(36, 1)
      a.notify(36)
    }
  } else if (mode === 'handoff') {
    // Strict alternation, so that every unlock hands the mutex to a thread already inside
    // lock(): a holder unlocks only once the other has said it is about to lock (its flag), and
    // locks again only once the other has taken it (the turn). Words: 16 (BigInt64) the
    // monotonic time of the last unlock; 24 the start signal; 28 the turn (1 first, 2 second);
    // 32 and 36 the two flags. Latencies (µs, Float64) from byte 64, n per process.
    const a = shared.atomics
    const me = role === 'first' ? 1 : 2
    const other = 3 - me
    const latencies = new Float64Array(shared.buffer.buffer, shared.buffer.byteOffset + 64 + (me - 1) * n * 8, n)
    const handOver = (held) => {
      spinUntil(() => a.load(flag(other)) === 1)
      a.store(flag(other), 0)
      a.store64(16, process.hrtime.bigint())
      held.unlock()
    }
    let held = null
    if (me === 1) {
      held = mutex.lock()
      a.store(28, 1)
      a.store(24, 1)
    } else {
      spinUntil(() => a.load(24) === 1)
    }
    for (let round = 0; round < n; round++) {
      if (held) {
        handOver(held)
        spinUntil(() => a.load(28) === other)
      }
      a.store(flag(me), 1)
      held = mutex.lock()
      latencies[round] = Number(process.hrtime.bigint() - a.load64(16)) / 1000
      a.store(28, me)
    }
    // The first process's last lock() waits for the second's last unlock.
    if (me === 2) handOver(held)
    else held.unlock()
  }
  shared.close()
}
