// Runs one workload's subjects with tinybench, in this process.
//
// The subjects take turns: three rounds, each running every subject (setup, one verification
// run, warm-up, its share of the timed runs, teardown) before the next round starts, and each
// median is taken over the samples of all rounds. The machine is shared, so a build that starts
// halfway through a workload slows every subject a little instead of the last ones a lot.
//
// The verification run's checksum must equal the baseline's (the first subject's) in every round
// before anything is timed, and every timed run must give it again. Before every timed run the
// heap is settled (a full GC and one turn of the event loop, untimed), so each sample starts from
// the same state and the peers' mappings, which only the GC can free, do not pile up. A forced GC
// leaves caches and heap pages cold, which inflates operations of a few microseconds several
// times over: subjects that time one short operation say `settle: false` and are warmed up
// instead, so they see the GC work their own allocations cause, as a program that repeats them
// would. Results go to stdout as JSON lines for run.mjs; progress goes to stderr for people.

import { Bench } from 'tinybench'

import { formatMs } from './format.mjs'

export const ROUNDS = 3

export function emit(record) {
  process.stdout.write(`${JSON.stringify(record)}\n`)
}

export function log(text) {
  process.stderr.write(`${text}\n`)
}

export async function settle() {
  globalThis.gc?.()
  await new Promise((resolve) => setImmediate(resolve))
}

const message = (error) => String(error?.message ?? error).split('\n')[0]

/** The median of sorted numbers. */
function median(sorted) {
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** One round of one subject: setup, verification, warm-up, `iterations` timed runs, teardown. */
async function round(subject, iterations, expected) {
  try {
    await subject.setup?.()
    await settle()
    await subject.beforeEach?.()
    const first = await subject.run()
    const checksum = String(subject.check ? await subject.check(first) : first)
    await subject.afterEach?.()
    if (expected !== undefined && expected !== null && checksum !== expected) {
      throw new Error(`checksum ${checksum} differs from the baseline's ${expected}: not timed`)
    }
    let drift = 0
    for (let i = 0; i < (subject.warmup ?? 0); i++) {
      if ((await subject.run()) !== first) drift++
    }
    const bench = new Bench({ iterations, time: 0, warmup: false, throws: true, retainSamples: true })
    const timed = subject.async
      ? async () => {
          if ((await subject.run()) !== first) drift++
        }
      : () => {
          if (subject.run() !== first) drift++
        }
    bench.add(subject.name, timed, {
      async: Boolean(subject.async),
      beforeEach: async () => {
        if (subject.settle !== false) await settle()
        await subject.beforeEach?.()
      },
      afterEach: subject.afterEach,
    })
    await bench.run()
    const result = bench.tasks[0].result
    if (result.state !== 'completed') throw result.error ?? new Error(`tinybench: ${result.state}`)
    if (drift > 0) throw new Error(`${drift} of the timed runs gave a different checksum`)
    return { checksum, samples: [...result.latency.samples] }
  } finally {
    await subject.teardown?.()
  }
}

/**
 * A subject: `{ name, group: 'fs' | 'memmap' | 'peer' | 'ceiling' | 'node', note?, iterations,
 * warmup?, settle?, setup?, run, check?, beforeEach?, afterEach?, teardown?, async? }`. `run()`
 * does the work once and returns a checksum; `check(result)`, when given, turns the result into
 * the checksum compared across subjects (a file digest, say) and runs only on the verification
 * run. `warmup` more untimed runs follow it; `settle: false` skips the GC before each timed run.
 * `iterations` is the number of timed runs over all rounds.
 */
export async function measure(workload, subjects, { quick = false } = {}) {
  const state = subjects.map((subject) => ({ subject, samples: [], checksum: undefined, error: undefined }))
  let expected
  for (let r = 0; r < ROUNDS; r++) {
    log(`  round ${r + 1} of ${ROUNDS}`)
    for (const s of state) {
      if (s.error) continue
      const total = quick ? Math.min(s.subject.iterations, ROUNDS) : s.subject.iterations
      const iterations = Math.max(1, Math.ceil(total / ROUNDS))
      try {
        const { checksum, samples } = await round(s.subject, iterations, expected)
        if (expected === undefined) expected = checksum
        s.checksum = checksum
        s.samples.push(...samples)
      } catch (error) {
        s.error = message(error)
        // Without the baseline's checksum there is nothing to compare with (null: not checked).
        if (expected === undefined) expected = null
      }
      await settle()
    }
  }
  for (const { subject, samples, checksum, error } of state) {
    const record = { type: 'subject', workload, name: subject.name, group: subject.group }
    if (subject.note) record.note = subject.note
    if (checksum !== undefined) record.checksum = checksum
    if (error) record.error = error
    if (!error && samples.length > 0) {
      const sorted = samples.toSorted((a, b) => a - b)
      Object.assign(record, {
        median: median(sorted),
        mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
        min: sorted[0],
        max: sorted[sorted.length - 1],
        samples: sorted.length,
      })
    }
    emit(record)
    const figure = record.median === undefined ? '' : `${formatMs(record.median).padStart(10)} median of ${record.samples}`
    log(`  ${subject.name.padEnd(44)} ${figure}${record.error ? `  ✗ ${record.error}` : ''}`)
  }
}
