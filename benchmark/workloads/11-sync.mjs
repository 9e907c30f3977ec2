// 11. A barrier and a condition across processes: 4 processes × 5,000 rounds of barrier.wait()
// against Python's multiprocessing.Barrier(4) doing the same, and, in the extra figures, the
// hand-off through a condition variable to a process waiting on it, against Python's
// multiprocessing.Condition in the same way.

import { spawn, spawnSync } from 'node:child_process'
import { createInterface } from 'node:readline'
import { join } from 'node:path'

import { log } from '../lib/harness.mjs'
import { formatUs as us } from '../lib/format.mjs'
import { benchDir } from '../lib/subjects.mjs'

const PARTIES = 4
const ROUNDS = 5000
/** Hand-offs a turn, back to back and with the waiter asleep; each kind takes TURNS turns. */
const HANDOFFS = 3334
const ASLEEP = 334
const GAP_MS = 1
const TURNS = 3
const child = join(benchDir, 'lib', 'sync-child.mjs')
const pythonScript = join(benchDir, 'lib', 'pylock.py')
// Words of the shared memory, as in sync-child.mjs.
const ROUND = 32
const DONE = 36
const TOTAL = 40
const HANDLED = 20
const WOKEN = 44
const LATENCIES = 64

/** Every round releases each arrival index 0 .. PARTIES-1 once: what the indexes add up to. */
const expected = (rounds) => (rounds * PARTIES * (PARTIES - 1)) / 2

/** Runs the commands at once; resolves when all exited, failing if one failed. */
function together(commands) {
  return Promise.all(
    commands.map(
      ([command, args]) =>
        new Promise((resolve, reject) => {
          const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
          let stdout = ''
          let stderr = ''
          proc.stdout.on('data', (chunk) => (stdout += chunk))
          proc.stderr.on('data', (chunk) => (stderr += chunk))
          proc.on('error', reject)
          proc.on('close', (code) =>
            code === 0 ? resolve(stdout) : reject(new Error(`${command} exited ${code}: ${stderr.trim().split('\n').pop()}`)),
          )
        }),
    ),
  )
}

/** Median and tail of hand-off latencies (µs). */
function distribution(latencies) {
  const all = Float64Array.from(latencies).toSorted()
  const q = (p) => all[Math.min(all.length - 1, Math.floor(p * all.length))]
  return { count: all.length, medianUs: q(0.5), p10Us: q(0.1), p90Us: q(0.9), p99Us: q(0.99) }
}

/** One turn of memmap's hand-off: `n` notifies, each to the waiter inside wait(). */
async function memmapHandoff(memmap, n, gapMs) {
  const name = `memmap-bench-cond-${process.pid}`
  const shared = memmap.createShared(name, LATENCIES + n * 8 + 4096)
  try {
    await together([
      [process.execPath, [child, 'waiter', name, String(n)]],
      [process.execPath, [child, 'notifier', name, String(n), String(gapMs)]],
    ])
    const a = shared.atomics
    if (a.load(HANDLED) !== n || a.load(WOKEN) !== n) {
      throw new Error(`handled ${a.load(HANDLED)} and notify() woke ${a.load(WOKEN)}, expected ${n} each`)
    }
    return Array.from(new Float64Array(shared.buffer.buffer, shared.buffer.byteOffset + LATENCIES, n))
  } finally {
    shared.close()
    memmap.unlinkShared(name)
  }
}

/** One turn of Python's: the same protocol with multiprocessing.Condition(Lock()). */
async function pythonHandoff(n, gapMs) {
  const [stdout] = await together([['python3', [pythonScript, 'handoff', String(n), String(gapMs)]]])
  const out = JSON.parse(stdout.trim().split('\n').pop())
  if (out.handled !== n || out.notified !== n) throw new Error(`handled ${out.handled} of ${n}`)
  return out.latenciesUs
}

export default {
  id: 11,
  title: `Barrier: ${PARTIES} processes × ${ROUNDS.toLocaleString('en')} rounds; condition hand-off`,
  what:
    `Each of ${PARTIES} processes waits at one barrier ${ROUNDS.toLocaleString('en')} times a run and adds up the arrival ` +
    'indexes wait() returned; the sum must be exact. The processes live across runs (started once, untimed); a ' +
    'run starts them all and ends when the last is done. Divide by the rounds for one round. Then, in the extra ' +
    'figures, the hand-off through a condition: one process holds a mutex and waits on the condition, another ' +
    'locks, sets a flag, notifies and unlocks; each hand-off is timed from just before notify() to the return ' +
    'of wait(), back to back and with the waiter asleep for 1 ms first.',
  baseline: 'Python multiprocessing.Barrier',

  skip() {
    const probe = spawnSync('python3', ['-c', 'import multiprocessing'], { encoding: 'utf8' })
    return probe.status === 0 ? null : 'python3 with multiprocessing is not available'
  },

  subjects({ memmap, quick }) {
    const rounds = quick ? ROUNDS / 10 : ROUNDS
    const exact = (total) => (total === expected(rounds) ? 'exact' : `total ${total}, expected ${expected(rounds)}`)
    const name = `memmap-bench-barrier-${process.pid}`
    let python
    let lines
    let shared
    let workers
    return {
      subjects: [
        {
          name: 'Python multiprocessing.Barrier',
          group: 'peer',
          iterations: 6,
          warmup: 1,
          async: true,
          setup() {
            python = spawn('python3', [pythonScript, 'barrier', String(PARTIES), String(rounds)], { stdio: ['pipe', 'pipe', 'inherit'] })
            lines = createInterface({ input: python.stdout })[Symbol.asyncIterator]()
          },
          async run() {
            python.stdin.write('go\n')
            const { value } = await lines.next()
            return exact(JSON.parse(value).total)
          },
          async teardown() {
            python.stdin.end()
            await new Promise((resolve) => python.on('close', resolve))
          },
        },
        {
          name: 'memmap barrier',
          group: 'memmap',
          iterations: 6,
          warmup: 1,
          async: true,
          setup() {
            shared = memmap.createShared(name, 4096)
            workers = Array.from({ length: PARTIES }, () =>
              spawn(process.execPath, [child, 'barrier', name, String(PARTIES), String(rounds)], { stdio: 'inherit' }),
            )
          },
          async run() {
            const a = shared.atomics
            a.store(TOTAL, 0)
            a.store(DONE, 0)
            a.add(ROUND, 1)
            a.notify(ROUND)
            let done
            while ((done = a.load(DONE)) < PARTIES) await a.waitAsync(DONE, done)
            return exact(a.load(TOTAL))
          },
          async teardown() {
            shared.atomics.store(ROUND, -1)
            shared.atomics.notify(ROUND)
            await Promise.all(workers.map((worker) => new Promise((resolve) => worker.on('close', resolve))))
            shared.close()
            memmap.unlinkShared(name)
          },
        },
      ],
    }
  },

  /** The condition hand-off, memmap's and Python's taking turns, back to back and asleep. */
  async extra({ memmap, quick }) {
    const kinds = [
      { name: 'memmap condition', n: HANDOFFS, gap: 0, run: (n, gap) => memmapHandoff(memmap, n, gap) },
      { name: 'Python multiprocessing.Condition', n: HANDOFFS, gap: 0, run: pythonHandoff },
      { name: `memmap condition, waiter asleep ${GAP_MS} ms`, n: ASLEEP, gap: GAP_MS, run: (n, gap) => memmapHandoff(memmap, n, gap) },
      { name: `Python multiprocessing.Condition, waiter asleep ${GAP_MS} ms`, n: ASLEEP, gap: GAP_MS, run: pythonHandoff },
    ]
    const times = new Map(kinds.map((kind) => [kind.name, []]))
    const errors = new Map()
    for (let turn = 0; turn < TURNS; turn++) {
      for (const kind of kinds) {
        if (errors.has(kind.name)) continue
        try {
          times.get(kind.name).push(...(await kind.run(quick ? Math.ceil(kind.n / 10) : kind.n, kind.gap)))
        } catch (error) {
          errors.set(kind.name, String(error?.message ?? error).split('\n')[0])
        }
      }
    }
    log(`  condition hand-off, notify() to the waiter's return (${TURNS} turns each, taking turns):`)
    const handoff = kinds.map(({ name }) => {
      if (errors.has(name)) {
        log(`    ${name.padEnd(52)} ✗ ${errors.get(name)}`)
        return { name, error: errors.get(name) }
      }
      const row = { name, ...distribution(times.get(name)) }
      log(`    ${name.padEnd(52)} median ${us(row.medianUs)}, p10 ${us(row.p10Us)}, p90 ${us(row.p90Us)}, p99 ${us(row.p99Us)} (${row.count})`)
      return row
    })
    return { rounds: quick ? ROUNDS / 10 : ROUNDS, parties: PARTIES, handoff }
  },
}
