// Two processes take turns on one word of named shared memory, sleeping in wait() until the
// other notify()s them: a round trip costs a few microseconds, no sockets or pipes involved.
// Run with `node examples/ping-pong.mjs` (it starts the second process itself).

import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

import { createShared, openShared, unlinkShared } from 'memmap'

const ROUNDS = 10_000
const TURN = 0 // byte offset of the word both sides take turns on

if (process.argv[2] === 'pong') {
  // The second process: answer every odd turn with the next even one.
  const a = openShared(process.argv[3]).atomics
  for (let turn = 1; turn < 2 * ROUNDS; turn += 2) {
    let seen
    while ((seen = a.load(TURN)) !== turn) a.wait(TURN, seen)
    a.store(TURN, turn + 1)
    a.notify(TURN)
  }
} else {
  const name = `ping-pong-${process.pid}`
  const shared = createShared(name, 4096, { exclusive: true })
  const a = shared.atomics
  const pong = spawn(process.execPath, [fileURLToPath(import.meta.url), 'pong', name], { stdio: 'inherit' })

  const times = new Float64Array(ROUNDS)
  for (let round = 0; round < ROUNDS; round++) {
    const turn = 2 * round
    const start = process.hrtime.bigint()
    a.store(TURN, turn + 1) // ping
    a.notify(TURN)
    let seen
    while ((seen = a.load(TURN)) !== turn + 2) a.wait(TURN, seen) // until pong
    times[round] = Number(process.hrtime.bigint() - start) / 1000
  }
  await new Promise((resolve) => pong.on('exit', resolve))
  unlinkShared(name)
  shared.close()

  times.sort()
  const at = (q) => times[Math.floor(q * (ROUNDS - 1))].toFixed(1)
  console.log(`${ROUNDS} round trips between two processes through shared memory '${name}'`)
  console.log(`round trip: median ${at(0.5)} µs, p90 ${at(0.9)} µs, p99 ${at(0.99)} µs`)
}
