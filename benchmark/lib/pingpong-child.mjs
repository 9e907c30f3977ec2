// The other end of workload 6: `node pingpong-child.mjs <shared memory name>`, forked with IPC.
// Echoes numbers sent over IPC, or answers each ping in shared memory with the same pong.

import { loadMemmap } from './subjects.mjs'

const PING = 0
const PONG = 64
const READY = 128
const WAIT_MS = 10_000

const memmap = loadMemmap()
const shared = memmap.openShared(process.argv[2])
const atomics = shared.atomics

function serve(rounds, block) {
  atomics.store(READY, 1)
  for (let i = 1; i <= rounds; i++) {
    const deadline = performance.now() + WAIT_MS
    for (let spins = 1; atomics.load(PING) !== i; spins++) {
      if (block) {
        if (atomics.wait(PING, i - 1, WAIT_MS) === 'timed-out') throw new Error('no ping from the parent')
      } else if ((spins & 0xfffff) === 0 && performance.now() > deadline) {
        throw new Error('no ping from the parent')
      }
    }
    atomics.store(PONG, i)
    if (block) atomics.notify(PONG)
  }
}

process.on('message', (message) => {
  if (typeof message === 'number') process.send(message)
  else if (message.mode === 'echo') process.send('echoing')
  else if (message.mode === 'block' || message.mode === 'spin') {
    serve(message.rounds, message.mode === 'block')
    process.send('done')
  } else if (message.mode === 'exit') {
    shared.close()
    process.disconnect()
  }
})
process.send('ready')
