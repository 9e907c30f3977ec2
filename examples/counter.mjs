// Four processes add 1 to a plain (not atomic) counter in shared memory, 100,000 times each,
// each increment inside one mutex. Without the mutex, increments are lost; with it the total is
// exact. Run with `node examples/counter.mjs` (it starts the four processes itself).

import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

import { createShared, openShared, unlinkShared } from 'memmap'

const PROCESSES = 4
const TIMES = 100_000
const MUTEX = 0 // the mutex: 8 bytes at an 8-aligned offset, all zero = unlocked
const COUNTER = 8 // the counter: a plain 32-bit integer next to it

if (process.argv[2] === 'worker') {
  const shared = openShared(process.argv[3])
  const counter = shared.buffer
  const mutex = shared.mutex(MUTEX)
  for (let i = 0; i < TIMES; i++) {
    const held = mutex.lock()
    counter.writeUInt32LE(counter.readUInt32LE(COUNTER) + 1, COUNTER) // read, add, write: not atomic
    held.unlock()
  }
  shared.close()
} else {
  const name = `counter-${process.pid}`
  const shared = createShared(name, 4096, { exclusive: true })
  const started = performance.now()
  const workers = Array.from({ length: PROCESSES }, () =>
    spawn(process.execPath, [fileURLToPath(import.meta.url), 'worker', name], { stdio: 'inherit' }),
  )
  const codes = await Promise.all(workers.map((worker) => new Promise((resolve) => worker.on('exit', resolve))))
  const ms = performance.now() - started
  const total = shared.buffer.readUInt32LE(COUNTER)
  shared.close()
  unlinkShared(name)
  if (codes.some((code) => code !== 0)) throw new Error(`a worker failed: exit codes ${codes.join(', ')}`)
  console.log(`${PROCESSES} processes × ${TIMES.toLocaleString('en')} increments under one mutex: total ${total.toLocaleString('en')} (expected ${(PROCESSES * TIMES).toLocaleString('en')})`)
  console.log(`${ms.toFixed(0)} ms, including starting the processes`)
  if (total !== PROCESSES * TIMES) process.exitCode = 1
}
