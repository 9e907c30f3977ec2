// The other end of workload 6: `node pingpong-child.mjs <shared memory name>`, forked with IPC.
// Echoes numbers sent over IPC, or answers each ping in shared memory with the same pong, and
// counts and sums what it served so the parent can check that both sides did the same work.
// A negative ping means the parent gave up on the run: the loop stops and says so.

import { loadMemmap } from './subjects.mjs'

// Byte offsets, as in workloads/6-pingpong.mjs.
const PING = 0
const PONG = 64
const READY = 128
const SERVED = 192
const CHILD_SUM = 256
const WAIT_MS = 10_000

const memmap = loadMemmap()
const shared = memmap.openShared(process.argv[2])
const atomics = shared.atomics
let words = null
try {
  const view = shared.view(0, shared.length)
  words = new Int32Array(view.buffer, view.byteOffset, shared.length >>> 2)
} catch {
  // No zero-copy views here: the parent leaves the Atomics.load reference out too.
}

const tooSlow = () => new Error(`no ping from the parent within ${WAIT_MS / 1000} s`)

/** Sleeps in wait() until each ping arrives, answers with store() + notify(). */
function block(rounds) {
  let sum = 0
  let served = 0
  atomics.store(READY, 1)
  for (let i = 1; i <= rounds; i++) {
    let seen
    while ((seen = atomics.load(PING)) !== i) {
      if (seen < 0) return null
      if (atomics.wait(PING, seen, WAIT_MS) === 'timed-out') throw tooSlow()
    }
    sum = (sum + seen) | 0
    served++
    atomics.store(PONG, i)
    atomics.notify(PONG)
  }
  return [served, sum]
}

/** Spins on memmap's atomics.load until each ping arrives, answers with store(). */
function spin(rounds) {
  let sum = 0
  let served = 0
  atomics.store(READY, 1)
  for (let i = 1; i <= rounds; i++) {
    const deadline = performance.now() + WAIT_MS
    let seen
    for (let spins = 1; (seen = atomics.load(PING)) !== i; spins++) {
      if ((spins & 0xfffff) === 0) {
        if (seen < 0) return null
        if (performance.now() > deadline) throw tooSlow()
      }
    }
    sum = (sum + seen) | 0
    served++
    atomics.store(PONG, i)
  }
  return [served, sum]
}

/** The same spin with JavaScript's Atomics.load on an Int32Array over the same mapping. */
function plain(rounds) {
  let sum = 0
  let served = 0
  const ping = PING >>> 2
  atomics.store(READY, 1)
  for (let i = 1; i <= rounds; i++) {
    const deadline = performance.now() + WAIT_MS
    let seen
    for (let spins = 1; (seen = Atomics.load(words, ping)) !== i; spins++) {
      if ((spins & 0xfffff) === 0) {
        if (seen < 0) return null
        if (performance.now() > deadline) throw tooSlow()
      }
    }
    sum = (sum + seen) | 0
    served++
    atomics.store(PONG, i)
  }
  return [served, sum]
}

const serve = { block, spin, plain }
let echoed = { served: 0, sum: 0, last: 0 }

process.on('message', (message) => {
  if (typeof message === 'number') {
    echoed.served++
    echoed.sum = (echoed.sum + message) | 0
    echoed.last = message
    process.send(message)
  } else if (message.mode === 'echo') {
    echoed = { served: 0, sum: 0, last: 0 }
    process.send('echoing')
  } else if (message.mode === 'count') {
    process.send(echoed)
  } else if (message.mode === 'sync') {
    process.send(message.token)
  } else if (serve[message.mode]) {
    let result
    try {
      result = serve[message.mode](message.rounds)
    } catch (error) {
      process.send(`failed: ${error.message}`)
      return
    }
    if (result === null) {
      process.send('stopped')
      return
    }
    const [served, sum] = result
    // The sum first, then the count the parent waits for.
    atomics.store(CHILD_SUM, sum)
    atomics.store(SERVED, served)
    atomics.notify(SERVED)
    process.send('done')
  } else if (message.mode === 'exit') {
    shared.close()
    process.disconnect()
  }
})
process.send('ready')
