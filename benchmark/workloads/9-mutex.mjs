// 9. A mutex across processes: 4 processes × 100,000 critical sections on a plain counter,
// against Python's multiprocessing.Lock doing the same; the uncontended and hand-off costs, and a
// lock file (proper-lockfile), in the extra figures.

import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { log } from '../lib/harness.mjs'
import { benchDir } from '../lib/subjects.mjs'

const PROCESSES = 4
const SECTIONS = 100_000
const HANDOFFS = 10_000
const LOCKFILE_SECTIONS = 200
const child = join(benchDir, 'lib', 'mutex-child.mjs')
const pythonScript = join(benchDir, 'lib', 'pylock.py')

/** Runs `count` copies of a command at once; resolves when all exited, failing if one failed. */
function together(count, command, args) {
  return Promise.all(
    Array.from({ length: count }, () =>
      new Promise((resolve, reject) => {
        const proc = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] })
        let stderr = ''
        proc.stderr.on('data', (chunk) => (stderr += chunk))
        proc.on('error', reject)
        proc.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}: ${stderr.trim().split('\n').pop()}`))))
      }),
    ),
  )
}

function pythonJson(args) {
  const result = spawnSync('python3', [pythonScript, ...args], { encoding: 'utf8', timeout: 300_000 })
  if (result.status !== 0) throw new Error(`python3 ${args.join(' ')}: ${result.error?.message ?? result.stderr.trim().split('\n').pop()}`)
  return JSON.parse(result.stdout.trim().split('\n').pop())
}

const exact = (total) => (total === PROCESSES * SECTIONS ? 'exact' : `total ${total}, expected ${PROCESSES * SECTIONS}`)

export default {
  id: 9,
  title: `Mutex: ${PROCESSES} processes × ${SECTIONS.toLocaleString('en')} critical sections`,
  what:
    'Each process locks, adds 1 to a plain (not atomic) shared counter, unlocks. The processes live across ' +
    'runs (started once, untimed); a run starts them all and ends when the last is done. The total must be exact.',
  baseline: 'Python multiprocessing.Lock',

  skip() {
    const probe = spawnSync('python3', ['-c', 'import multiprocessing'], { encoding: 'utf8' })
    return probe.status === 0 ? null : 'python3 with multiprocessing is not available'
  },

  subjects({ memmap }) {
    const name = `memmap-bench-mutex-${process.pid}`
    let python
    let lines
    let shared
    let workers
    return {
      subjects: [
        {
          name: 'Python multiprocessing.Lock',
          group: 'peer',
          iterations: 6,
          warmup: 1,
          async: true,
          setup() {
            python = spawn('python3', [pythonScript, 'serve', String(PROCESSES), String(SECTIONS)], { stdio: ['pipe', 'pipe', 'inherit'] })
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
          name: 'memmap mutex',
          group: 'memmap',
          iterations: 6,
          warmup: 1,
          async: true,
          setup() {
            shared = memmap.createShared(name, 4096)
            workers = Array.from({ length: PROCESSES }, () =>
              spawn(process.execPath, [child, 'serve', name, String(SECTIONS)], { stdio: 'inherit' }),
            )
          },
          async run() {
            const a = shared.atomics
            shared.buffer.fill(0, 8, 12)
            a.store(36, 0)
            a.add(32, 1)
            a.notify(32)
            let done
            while ((done = a.load(36)) < PROCESSES) await a.waitAsync(36, done)
            return exact(shared.buffer.readUInt32LE(8))
          },
          async teardown() {
            shared.atomics.store(32, -1)
            shared.atomics.notify(32)
            await Promise.all(workers.map((worker) => new Promise((resolve) => worker.on('close', resolve))))
            shared.close()
            memmap.unlinkShared(name)
          },
        },
      ],
    }
  },

  /** Uncontended costs, the hand-off latency, and proper-lockfile, each measured once. */
  async extra({ memmap }) {
    const out = {}
    // Uncontended: this process, zero-copy (the refused-Buffer figure is workload 8's).
    const m = memmap.anonymous(4096)
    const mutex = m.mutex(0)
    for (let i = 0; i < 100_000; i++) mutex.lock().unlock()
    const start = process.hrtime.bigint()
    for (let i = 0; i < 1_000_000; i++) mutex.lock().unlock()
    out.uncontendedNs = Number(process.hrtime.bigint() - start) / 1_000_000
    m.close()
    out.pythonUncontendedNs = pythonJson(['uncontended', '1000000']).nsPerOp

    // Hand-off: two processes, each unlocking only to a sleeper; median of both directions.
    const name = `memmap-bench-hand-${process.pid}`
    const shared = memmap.createShared(name, 64 + HANDOFFS * 16 + 4096)
    try {
      await Promise.all(
        ['first', 'second'].map((role) => together(1, process.execPath, [child, 'handoff', name, String(HANDOFFS), role])),
      )
      const latencies = new Float64Array(shared.buffer.buffer, shared.buffer.byteOffset + 64, 2 * HANDOFFS).toSorted()
      out.handoffUs = { median: latencies[HANDOFFS], p10: latencies[Math.floor(0.1 * 2 * HANDOFFS)], p90: latencies[Math.floor(0.9 * 2 * HANDOFFS)] }
    } finally {
      shared.close()
      memmap.unlinkShared(name)
    }

    // proper-lockfile: uncontended lock + unlock, and 4 processes × LOCKFILE_SECTIONS.
    const lockfile = createRequire(join(benchDir, 'package.json'))('proper-lockfile')
    const dir = mkdtempSync(join(tmpdir(), 'memmap-lockfile-'))
    try {
      const file = join(dir, 'counter')
      writeFileSync(file, '0')
      const t0 = process.hrtime.bigint()
      for (let i = 0; i < 200; i++) lockfile.lockSync(file, { realpath: false })()
      out.lockfileUncontendedNs = Number(process.hrtime.bigint() - t0) / 200
      writeFileSync(file, '0')
      const t1 = process.hrtime.bigint()
      await together(PROCESSES, process.execPath, [child, 'lockfile', file, String(LOCKFILE_SECTIONS)])
      out.lockfile = { sections: PROCESSES * LOCKFILE_SECTIONS, total: Number(readFileSync(file, 'utf8')), ms: Number(process.hrtime.bigint() - t1) / 1e6 }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    log(
      `  uncontended lock + unlock: memmap ${out.uncontendedNs.toFixed(1)} ns, Python ${out.pythonUncontendedNs.toFixed(0)} ns, ` +
        `proper-lockfile ${(out.lockfileUncontendedNs / 1000).toFixed(0)} µs`,
    )
    log(`  hand-off between two processes: median ${out.handoffUs.median.toFixed(2)} µs (p10 ${out.handoffUs.p10.toFixed(2)}, p90 ${out.handoffUs.p90.toFixed(2)})`)
    log(`  proper-lockfile, ${PROCESSES} processes × ${LOCKFILE_SECTIONS}: ${out.lockfile.ms.toFixed(0)} ms, total ${out.lockfile.total}`)
    return { mutex: out }
  },
}
