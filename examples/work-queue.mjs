// A pool of worker processes fed by one queue: the parent puts 10,000 jobs on a channel in named
// shared memory, four worker processes take them as they come free and put their answers on a
// second channel, and the parent adds the answers up and checks the total exactly. No sockets,
// pipes or IPC: two channels in one piece of shared memory (docs/channels.md).
// Run with `node examples/work-queue.mjs` (it starts the workers itself).
//
// Kill-safety: a worker killed at any instant never tears a job or a result, never makes one
// arrive twice, and never wedges a channel (a lock it held is taken over within a second). The
// most it loses is the job in its hands: one it had received (the channel's head had moved past
// it) and not yet answered. Killed while still copying a job out, before that move, it loses
// nothing: the job stays queued for the next worker. Killed while sending a result, the result
// was either whole on the channel or not there at all. So a parent that must survive a worker's
// death re-queues the ids whose results never came (this one only reports them and fails).

import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { deserialize } from 'node:v8'

import { createShared, openShared, unlinkShared } from 'memmap'

const WORKERS = 4
const JOBS = 10_000
// Two channels side by side, 64-aligned. Every party passes the same byteLength. The jobs ring
// (64 KiB) holds about 2,700 jobs: the parent runs ahead of the workers until it fills, then waits.
const JOBS_AT = 0
const JOBS_BYTES = 64 * 1024
const RESULTS_AT = JOBS_AT + JOBS_BYTES
const RESULTS_BYTES = 64 * 1024
const BYTES = RESULTS_AT + RESULTS_BYTES

/** The work: something cheap whose total the parent knows in advance. */
const work = (n) => n * n

if (process.argv[2] === 'worker') {
  const shared = openShared(process.argv[3])
  const me = Number(process.argv[4])
  const jobs = shared.channel(JOBS_AT, JOBS_BYTES)
  const results = shared.channel(RESULTS_AT, RESULTS_BYTES)
  // Each job goes to exactly one worker; the loop ends once the parent has end()ed the jobs
  // channel and it is empty. receiveValue() is the blocking form of the same (deserialize(Buffer)).
  for await (const message of jobs) {
    const { id, n } = deserialize(message)
    results.sendValue({ id, worker: me, value: work(n) }) // waits while the results ring is full
  }
  shared.close()
} else {
  const shared = createShared(BYTES) // a new, unique name: shared.path, handed to the workers
  const jobs = shared.channel(JOBS_AT, JOBS_BYTES)
  const results = shared.channel(RESULTS_AT, RESULTS_BYTES)
  const started = performance.now()

  // Listen for 'exit' as each worker is started, not later: a worker may be done before we look.
  let failed = null
  const exits = Array.from({ length: WORKERS }, (_, i) => {
    const worker = spawn(process.execPath, [fileURLToPath(import.meta.url), 'worker', shared.path, String(i)], { stdio: 'inherit' })
    return new Promise((resolve) =>
      worker.on('exit', (code, signal) => {
        if (code !== 0) failed ??= `worker ${i} exited with ${signal ?? `code ${code}`}`
        resolve(code)
      }),
    )
  })

  try {
    // Send without blocking the event loop: a blocking sendValue() into a full jobs ring would
    // stop this process from draining the results, while the workers wait for room in the full
    // results ring, and nothing would move again.
    const sending = (async () => {
      for (let id = 0; id < JOBS; id++) await jobs.sendValueAsync({ id, n: id + 1 })
      jobs.end() // no more jobs: each worker finishes once the queue is empty
    })()
    sending.catch(() => {}) // if it fails, the await below throws it (unless another error came first)

    const seen = new Uint8Array(JOBS)
    const perWorker = Array.from({ length: WORKERS }, () => 0)
    let total = 0
    for (let received = 0; received < JOBS; ) {
      let result
      try {
        result = await results.receiveValueAsync(500)
      } catch (error) {
        if (error.code !== 'ERR_MMAP_TIMEOUT') throw error
        if (failed !== null) throw new Error(`${failed}; ${JOBS - received} results never came`, { cause: error })
        continue
      }
      if (seen[result.id]++ !== 0) throw new Error(`job ${result.id} was answered twice`)
      perWorker[result.worker]++
      total += result.value
      received++
    }
    await sending
    const ms = performance.now() - started
    const codes = await Promise.all(exits)
    if (failed !== null) throw new Error(`${failed} (exit codes ${codes.join(', ')})`)

    const expected = (JOBS * (JOBS + 1) * (2 * JOBS + 1)) / 6 // 1² + 2² + … + JOBS²
    const rate = Math.round((2 * JOBS) / (ms / 1000)) // a job and its result are two messages
    console.log(
      `${JOBS.toLocaleString('en')} jobs, ${WORKERS} workers (${perWorker.join(' / ')} each), ` +
        `${ms.toFixed(0)} ms including starting them, ${rate.toLocaleString('en')} msgs/s`,
    )
    console.log(`total ${total} ${total === expected ? 'ok' : `WRONG (expected ${expected})`}`)
    if (total !== expected) process.exitCode = 1
  } finally {
    jobs.end() // on an error too: the workers still running drain the queue and exit
    shared.close()
    unlinkShared(shared.path)
  }
}
