// 6. Ping-pong between two processes: a counter passed back and forth through named shared
// memory (memmap's cross-process atomics, blocking in wait/notify or spinning on load), against
// process.send over Node's IPC channel, with JavaScript's own Atomics.load spinning on the same
// mapping as the reference for the spinning subject. Needs createShared; skipped where it is missing.
//
// Every subject does the same work: `rounds` round trips in which the parent sends 1, 2, 3, …
// and the child answers each with the same number. Both sides count and sum what they saw, and
// the checksum (roundTripChecksum) holds both counts, both sums and the final counter values.

import { fork } from 'node:child_process'
import { join } from 'node:path'

import { roundTripChecksum } from '../lib/checksum.mjs'
import { log } from '../lib/harness.mjs'
import { formatUs as us } from '../lib/format.mjs'
import { benchDir } from '../lib/subjects.mjs'

// Byte offsets in the shared block, each word on its own cache line (pingpong-child.mjs agrees).
const PING = 0
const PONG = 64
const READY = 128
const SERVED = 192
const CHILD_SUM = 256
const LENGTH = 4096
const WAIT_MS = 10_000

const BLOCKING = 'memmap atomics, blocking (wait/notify)'
const SPINNING = 'memmap atomics, spinning (load/store)'
const PLAIN = 'Atomics.load on an Int32Array, spinning'
const IPC = 'process.send round trip'


/** Per-round-trip times (ms) of the subjects that record them, every run: name → Float64Array[]. */
const trips = new Map()
let roundsPerRun = 0

function record(name, times) {
  if (!trips.has(name)) trips.set(name, [])
  trips.get(name).push(times.slice())
}

/** Median and tail of one subject's recorded round trips, in µs. */
function distribution(runs) {
  const all = new Float64Array(runs.reduce((n, run) => n + run.length, 0))
  let at = 0
  for (const run of runs) {
    all.set(run, at)
    at += run.length
  }
  all.sort()
  const q = (p) => all[Math.min(all.length - 1, Math.floor(p * all.length))] * 1000
  return { count: all.length, medianUs: q(0.5), p10Us: q(0.1), p90Us: q(0.9), p99Us: q(0.99) }
}

export default {
  id: 6,
  title: 'Ping-pong round trips between two processes',
  what:
    'A counter sent to a child process and back, 20,000 round trips a run: with process.send; through ' +
    'named shared memory with memmap\'s atomics, blocking in wait/notify or spinning on atomics.load; ' +
    'and, as the reference for the spinning one, the same spin with JavaScript\'s Atomics.load on an ' +
    'Int32Array over the same mapping (stores go through atomics.store in all three).',
  baseline: 'process.send',

  skip({ memmap }) {
    return typeof memmap.createShared === 'function' ? null : 'shared memory not in this build'
  },

  async subjects({ memmap, quick }) {
    const rounds = quick ? 2000 : 20_000
    roundsPerRun = rounds
    const name = `memmap-bench-${process.pid}`
    memmap.unlinkShared(name)
    const shared = memmap.createShared(name, LENGTH, { exclusive: true })
    const atomics = shared.atomics
    // The reference's view: an Int32Array over the same mapped bytes, read with JavaScript's Atomics
    // (none where zero-copy Buffers are refused: then the reference is left out, and says so).
    let words = null
    try {
      const view = shared.view(0, LENGTH)
      words = new Int32Array(view.buffer, view.byteOffset, LENGTH >>> 2)
    } catch (error) {
      log(`  (no zero-copy view of the shared memory, so no Atomics.load reference: ${error.code ?? error.message})`)
    }

    const child = fork(join(benchDir, 'lib', 'pingpong-child.mjs'), [name], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
    const inbox = []
    const waiting = []
    child.on('message', (message) => (waiting.length > 0 ? waiting.shift()(message) : inbox.push(message)))
    const receive = () => (inbox.length > 0 ? Promise.resolve(inbox.shift()) : new Promise((resolve) => waiting.push(resolve)))
    const died = new Promise((_, reject) => child.once('exit', (code, signal) => reject(new Error(`the child exited (${signal ?? code})`))))
    died.catch(() => {})
    // A send to a child that is gone fails through `died` and `send`, not as an unhandled 'error'.
    child.on('error', () => {})
    const send = (message) => {
      if (!child.connected) throw new Error('the child is gone')
      child.send(message)
    }
    const next = () => Promise.race([receive(), died])
    const expect = async (wanted) => {
      const message = await next()
      if (message !== wanted) throw new Error(`the child said ${JSON.stringify(message)}, not ${wanted}`)
    }
    try {
      await expect('ready')
    } finally {
      // Both processes have it mapped now (or the child failed): the name can go, so that none is
      // left behind if this process is killed. The memory lives while either process maps it.
      memmap.unlinkShared(name)
    }

    // Before each run: a token the child echoes, and every message before it dropped. A run that
    // failed leaves the child's answer to it ('stopped', 'failed: …') behind; the next run skips it.
    let syncs = 0
    const sync = async () => {
      const token = `sync ${++syncs}`
      send({ mode: 'sync', token })
      while ((await next()) !== token);
    }
    // A run that gives up tells the child to stop too (a negative ping), so that the child goes
    // back to its messages instead of waiting out its own timeout.
    const giveUp = () => {
      atomics.store(PING, -1)
      atomics.notify(PING)
      return new Error(`no answer from the child within ${WAIT_MS / 1000} s`)
    }

    // Hands the child a mode; it raises READY once it is in its loop, so no timed run waits for IPC.
    const start = async (mode) => {
      await sync()
      for (const word of [PING, PONG, READY, SERVED, CHILD_SUM]) atomics.store(word, 0)
      send({ mode, rounds })
      const deadline = Date.now() + WAIT_MS
      while (atomics.load(READY) !== 1) {
        if (Date.now() > deadline) throw new Error('the child did not start its loop')
        await new Promise((resolve) => setTimeout(resolve, 1))
      }
    }
    const finished = () => expect('done')

    // After the last round trip: the child's count and sum (it stores them, then SERVED, and
    // notifies), and the final counters. One wait per run, so it costs every subject the same.
    const tally = (done, sum) => {
      let served
      while ((served = atomics.load(SERVED)) === 0) {
        if (atomics.wait(SERVED, 0, WAIT_MS) === 'timed-out') throw giveUp()
      }
      return roundTripChecksum({
        rounds: done,
        sum,
        served,
        childSum: atomics.load(CHILD_SUM),
        ping: atomics.load(PING),
        pong: atomics.load(PONG),
      })
    }
    const cleanup = () => {
      if (child.connected) child.send({ mode: 'exit' })
      shared.close()
    }
    const times = new Float64Array(rounds)
    const subjects = [
      {
        name: IPC,
        group: 'node',
        async: true,
        iterations: 9,
        beforeEach: async () => {
          await sync()
          send({ mode: 'echo' })
          await expect('echoing')
        },
        async run() {
          let sum = 0
          let done = 0
          let answer = 0
          let then = performance.now()
          for (let i = 1; i <= rounds; i++) {
            send(i)
            answer = await next()
            sum = (sum + answer) | 0
            done++
            const now = performance.now()
            times[i - 1] = now - then
            then = now
          }
          record(IPC, times)
          send({ mode: 'count' })
          const count = await next()
          return roundTripChecksum({ rounds: done, sum, served: count.served, childSum: count.sum, ping: count.last, pong: answer })
        },
      },
      {
        name: BLOCKING,
        group: 'memmap',
        iterations: 9,
        beforeEach: () => start('block'),
        run() {
          let sum = 0
          let done = 0
          let then = performance.now()
          for (let i = 1; i <= rounds; i++) {
            atomics.store(PING, i)
            atomics.notify(PING)
            let seen
            while ((seen = atomics.load(PONG)) !== i) {
              if (atomics.wait(PONG, seen, WAIT_MS) === 'timed-out') throw giveUp()
            }
            sum = (sum + seen) | 0
            done++
            const now = performance.now()
            times[i - 1] = now - then
            then = now
          }
          record(BLOCKING, times)
          return tally(done, sum)
        },
        afterEach: finished,
      },
      {
        name: SPINNING,
        group: 'memmap',
        iterations: 9,
        beforeEach: () => start('spin'),
        run() {
          let sum = 0
          let done = 0
          const deadline = performance.now() + WAIT_MS
          for (let i = 1; i <= rounds; i++) {
            atomics.store(PING, i)
            let seen
            for (let spins = 1; (seen = atomics.load(PONG)) !== i; spins++) {
              if ((spins & 0xfffff) === 0 && performance.now() > deadline) throw giveUp()
            }
            sum = (sum + seen) | 0
            done++
          }
          return tally(done, sum)
        },
        afterEach: finished,
      },
      {
        name: PLAIN,
        group: 'ceiling',
        note: 'the reference for the spinning subject: the same loop, with Atomics.load instead of atomics.load, on both sides',
        iterations: 9,
        beforeEach: () => start('plain'),
        run() {
          let sum = 0
          let done = 0
          const deadline = performance.now() + WAIT_MS
          const pong = PONG >>> 2
          for (let i = 1; i <= rounds; i++) {
            atomics.store(PING, i)
            let seen
            for (let spins = 1; (seen = Atomics.load(words, pong)) !== i; spins++) {
              if ((spins & 0xfffff) === 0 && performance.now() > deadline) throw giveUp()
            }
            sum = (sum + seen) | 0
            done++
          }
          return tally(done, sum)
        },
        afterEach: finished,
      },
    ]
    return { subjects: words ? subjects : subjects.filter((s) => s.name !== PLAIN), cleanup }
  },

  extra() {
    if (roundsPerRun === 0) return null
    const latency = []
    log(`  each round trip timed on its own (performance.now() between round trips, every run):`)
    for (const [name, runs] of trips) {
      const row = { name, ...distribution(runs) }
      latency.push(row)
      log(`    ${name.padEnd(42)} median ${us(row.medianUs)}, p10 ${us(row.p10Us)}, p90 ${us(row.p90Us)}, p99 ${us(row.p99Us)} (${row.count})`)
    }
    return { rounds: roundsPerRun, latency }
  },
}
