// 7. What one small call costs: read/write of 8 bytes, the atomics, the uncontended locks, notify
// with nobody waiting (atomics.notify and a condition's notify()).
//
// Each subject makes 1,000,000 calls a run over shared memory (createShared, the mapping the
// atomics are for), next to what the same call costs on memory JavaScript owns. The locks' rows
// have theirs: the same Atomics operations their uncontended paths make (src/sync.ts), on an
// Int32Array over a SharedArrayBuffer, without the facade's bookkeeping. Checksums: each run
// checks its own outcome (the bytes read, the counter's total, the lock left free) and reports
// 'ok', so every subject is verified against what it must have done rather than against the
// baseline's bytes.

import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

import { log } from '../lib/harness.mjs'
import { benchDir } from '../lib/subjects.mjs'

export const CALLS = 1_000_000
/** Fresh processes timed for the first calls. */
const FRESH = 21

/** Positions walk the first 4 KiB in 8-byte steps: what a reader of records does. */
const at = (i) => (i & 511) * 8
const counted = (got, want) => (got === want ? 'ok' : `counted ${got}, expected ${want}`)

/** The subjects for one memmap module; `label` tells the refused-Buffer run (workload 8) apart. */
export function callSubjects(memmap, label = '') {
  const name = `memmap-bench-calls-${process.pid}`
  const m = memmap.createShared(name, 1 << 16)
  const source = Buffer.alloc(1 << 16)
  for (let i = 0; i < source.length; i++) source[i] = (i * 31 + 7) & 0xff
  m.write(source, 0)
  // The locks (from byte 28672) start free, as in fresh memory: the pattern's bytes there would
  // name a holder the core cannot judge (another PID namespace), which it waits for for ever.
  m.write(Buffer.alloc(12288), 28672)
  const eight = Buffer.alloc(8)
  const words = new Int32Array(16)
  const wide = new BigInt64Array(8)
  // A lock's words in memory JavaScript owns: a mutex at 0, a reader-writer lock at word 8 (its
  // writer word, its stamp, departures, sleepers, then 30 slots of a token and a stamp).
  const lockWords = new Int32Array(new SharedArrayBuffer(512))
  const token = 0x1234
  const free = (from, to) => (lockWords.subarray(from, to).every((word) => word === 0) ? 'ok' : 'left locked')
  const a = m.atomics
  let expectSum = 0
  for (let i = 0; i < CALLS; i++) expectSum = (expectSum + source[at(i)] + source[at(i) + 7]) | 0
  const same = (sum) => (sum === expectSum ? 'ok' : `sum ${sum}, expected ${expectSum}`)
  const subject = (title, group, run, extra = {}) => ({ name: `${title}${label}`, group, iterations: 15, warmup: 2, settle: false, run, ...extra })
  const subjects = [
    subject('Buffer#copy of 8 bytes (in-heap)', 'node', () => {
      let sum = 0
      for (let i = 0; i < CALLS; i++) {
        source.copy(eight, 0, at(i), at(i) + 8)
        sum = (sum + eight[0] + eight[7]) | 0
      }
      return same(sum)
    }),
    subject('memmap read() of 8 bytes', 'memmap', () => {
      let sum = 0
      for (let i = 0; i < CALLS; i++) {
        m.read(eight, at(i))
        sum = (sum + eight[0] + eight[7]) | 0
      }
      return same(sum)
    }),
    subject('memmap write() of 8 bytes', 'memmap', () => {
      const page = Buffer.alloc(8)
      for (let i = 0; i < CALLS; i++) {
        page[0] = i
        m.write(page, 8192 + at(i))
      }
      m.read(page, 8192 + at(CALLS - 1))
      return counted(page[0], (CALLS - 1) & 0xff)
    }),
    subject('Atomics.add on an Int32Array (in-heap)', 'node', () => {
      words[0] = 0
      for (let i = 0; i < CALLS; i++) Atomics.add(words, i & 7, 1)
      return counted(words[0], CALLS / 8)
    }),
    subject('memmap atomics.add', 'memmap', () => {
      a.store(16384, 0)
      for (let i = 0; i < CALLS; i++) a.add(16384 + (i & 7) * 4, 1)
      return 'ok'
    }),
    subject('memmap atomics.compareExchange', 'memmap', () => {
      a.store(16384, 0)
      for (let i = 0; i < CALLS; i++) a.compareExchange(16384, i, i + 1)
      return counted(a.load(16384), CALLS)
    }),
    subject('Atomics.add on a BigInt64Array (in-heap)', 'node', () => {
      wide[0] = 0n
      for (let i = 0; i < CALLS; i++) Atomics.add(wide, i & 7, 1n)
      return counted(wide[0], BigInt(CALLS / 8))
    }),
    subject('memmap atomics.add64', 'memmap', () => {
      a.store64(20480, 0n)
      for (let i = 0; i < CALLS; i++) a.add64(20480, 1n)
      return counted(a.load64(20480), BigInt(CALLS))
    }),
    subject('memmap atomics.compareExchange64', 'memmap', () => {
      a.store64(20480, 0n)
      let v = 0n
      for (let i = 0; i < CALLS; i++) v = a.compareExchange64(20480, v, v + 1n) + 1n
      return counted(a.load64(20480), BigInt(CALLS))
    }),
    subject('memmap atomics.load', 'memmap', () => {
      let sum = 0
      for (let i = 0; i < CALLS; i++) sum = (sum + a.load(16384)) | 0
      return counted(sum, (CALLS * a.load(16384)) | 0)
    }),
    subject('memmap mutex lock() + unlock(), uncontended', 'memmap', () => {
      const mutex = m.mutex(28672)
      for (let i = 0; i < CALLS; i++) mutex.lock().unlock()
      return mutex.locked ? 'left locked' : 'ok'
    }),
    subject('Atomics: a mutex lock + unlock on a SharedArrayBuffer (in-heap)', 'node', () => {
      // #take and #unlock: compare-exchange the word from 0, stamp; clear the stamp, compare-exchange back.
      for (let i = 0; i < CALLS; i++) {
        if (Atomics.compareExchange(lockWords, 0, 0, token) !== 0) return 'taken'
        lockWords[1] = 1
        if (lockWords[0] === token) {
          lockWords[1] = 0
          Atomics.compareExchange(lockWords, 0, token, 0)
        }
      }
      return free(0, 2)
    }),
    subject('memmap atomics.notify, nobody waiting', 'memmap', () => {
      let woken = 0
      for (let i = 0; i < CALLS; i++) woken += a.notify(24576, 1)
      return counted(woken, 0)
    }),
    subject('memmap rwlock read() + unlock(), uncontended', 'memmap', () => {
      const rw = m.rwlock(32768)
      for (let i = 0; i < CALLS; i++) rw.read().unlock()
      return rw.readers === 0 && !rw.writing ? 'ok' : 'left locked'
    }),
    subject('Atomics: a rwlock read + unlock on a SharedArrayBuffer (in-heap)', 'node', () => {
      // #takeRead and #leaveSlot: the writer word, a slot from 0, its stamp, the writer word again;
      // the stamp cleared, the slot back to 0, departures + 1, the sleepers looked at.
      const slot = 8 + 4 + (token % 30) * 2
      let woke = 0
      for (let i = 0; i < CALLS; i++) {
        if (Atomics.load(lockWords, 8) !== 0) return 'writer'
        if (Atomics.compareExchange(lockWords, slot, 0, token) !== 0) return 'taken'
        lockWords[slot + 1] = 1
        if (Atomics.load(lockWords, 8) !== 0) return 'writer'
        lockWords[slot + 1] = 0
        Atomics.compareExchange(lockWords, slot, token, 0)
        Atomics.add(lockWords, 10, 1)
        if (Atomics.load(lockWords, 11) !== 0) woke++
      }
      lockWords[10] = 0
      return woke === 0 ? free(8, 72) : 'woke'
    }),
    subject('memmap rwlock write() + unlock(), uncontended', 'memmap', () => {
      const rw = m.rwlock(32768)
      for (let i = 0; i < CALLS; i++) rw.write().unlock()
      return rw.readers === 0 && !rw.writing ? 'ok' : 'left locked'
    }),
    subject('Atomics: a rwlock write + unlock on a SharedArrayBuffer (in-heap)', 'node', () => {
      // #takeWrite and #unlockWrite: the writer word from 0, its stamp, all 30 slots looked at;
      // the stamp cleared, the writer word back to 0.
      for (let i = 0; i < CALLS; i++) {
        if (Atomics.compareExchange(lockWords, 8, 0, token) !== 0) return 'taken'
        lockWords[9] = 1
        for (let slot = 12; slot < 72; slot += 2) if (Atomics.load(lockWords, slot) !== 0) return 'reader'
        if (lockWords[8] === token) {
          lockWords[9] = 0
          Atomics.compareExchange(lockWords, 8, token, 0)
        }
      }
      return free(8, 72)
    }),
    subject('memmap condition notify(), no waiter', 'memmap', () => {
      const condition = m.condition(36864)
      let woken = 0
      for (let i = 0; i < CALLS; i++) woken += condition.notify()
      return counted(woken, 0)
    }),
  ]
  return {
    subjects,
    cleanup() {
      m.close()
      memmap.unlinkShared(name)
    },
  }
}

export default {
  id: 7,
  title: '1,000,000 small calls: read/write of 8 bytes, atomics, locks, notify',
  what:
    'The cost of one call, over shared memory, next to the same operation on memory JavaScript owns ' +
    '(for the locks, the same Atomics operations on a SharedArrayBuffer). ' +
    'Each run makes 1,000,000 calls; divide the figures by 10^6 for one call.',
  baseline: 'Buffer#copy of 8 bytes (in-heap)',
  subjects: ({ memmap }) => callSubjects(memmap),

  /** The first view() and read() in a fresh process, next to its first fs.readSync (medians). */
  extra({ small }) {
    const runs = []
    for (let i = 0; i < FRESH; i++) {
      const child = spawnSync(process.execPath, [join(benchDir, 'lib', 'first-call-child.mjs'), small], { encoding: 'utf8', timeout: 60_000 })
      try {
        runs.push(JSON.parse(child.stdout.trim().split('\n').pop()))
      } catch {
        log(`  first calls: a child failed (${child.signal ?? child.status}): ${child.stderr.trim().split('\n').pop()}`)
      }
    }
    if (runs.length === 0) return undefined
    const median = (key) => runs.map((run) => run[key]).toSorted((a, b) => a - b)[runs.length >> 1]
    const first = { processes: runs.length, viewUs: median('view'), readUs: median('read'), fsReadUs: median('fsRead') }
    log(`  first calls in a fresh process (median of ${runs.length}): view() ${first.viewUs.toFixed(1)} µs, read() ${first.readUs.toFixed(1)} µs, fs.readSync ${first.fsReadUs.toFixed(1)} µs`)
    return { first }
  },
}
