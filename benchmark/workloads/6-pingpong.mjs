// 6. Ping-pong between two processes: a counter passed back and forth through named shared
// memory (memmap's cross-process atomics, blocking in wait/notify or spinning on load), against
// process.send over Node's IPC channel. Needs createShared (API.md); skipped where it is missing.

import { fork } from 'node:child_process'
import { join } from 'node:path'

import { benchDir } from '../lib/subjects.mjs'

// Byte offsets in the shared block, each counter on its own cache line.
const PING = 0
const PONG = 64
const READY = 128
const LENGTH = 192
const WAIT_MS = 10_000

export default {
  id: 6,
  title: 'Ping-pong round trips between two processes',
  what:
    'A counter sent to a child process and back, 20,000 round trips a run: through named shared ' +
    'memory with memmap\'s atomics (blocking in wait/notify, or spinning on load), and with process.send.',
  baseline: 'process.send',

  skip({ memmap }) {
    return typeof memmap.createShared === 'function' ? null : 'shared memory not in this build'
  },

  async subjects({ memmap, quick }) {
    const rounds = quick ? 2000 : 20_000
    const name = `memmap-bench-${process.pid}`
    memmap.unlinkShared(name)
    const shared = memmap.createShared(name, LENGTH, { exclusive: true })
    const atomics = shared.atomics

    const child = fork(join(benchDir, 'lib', 'pingpong-child.mjs'), [name], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
    const inbox = []
    const waiting = []
    child.on('message', (message) => (waiting.length > 0 ? waiting.shift()(message) : inbox.push(message)))
    const receive = () => (inbox.length > 0 ? Promise.resolve(inbox.shift()) : new Promise((resolve) => waiting.push(resolve)))
    const died = new Promise((_, reject) => child.once('exit', (code, signal) => reject(new Error(`the child exited (${signal ?? code})`))))
    died.catch(() => {})
    const expect = async (wanted) => {
      const message = await Promise.race([receive(), died])
      if (message !== wanted) throw new Error(`the child said ${JSON.stringify(message)}, not ${wanted}`)
    }
    await expect('ready')

    // Hands the child a mode; it raises READY once it is in its loop, so no timed run waits for IPC.
    const start = async (mode) => {
      atomics.store(PING, 0)
      atomics.store(PONG, 0)
      atomics.store(READY, 0)
      child.send({ mode, rounds })
      const deadline = Date.now() + WAIT_MS
      while (atomics.load(READY) !== 1) {
        if (Date.now() > deadline) throw new Error('the child did not start its loop')
        await new Promise((resolve) => setTimeout(resolve, 1))
      }
    }
    const finished = () => expect('done')

    const checksum = (rounds * (rounds + 1)) / 2
    const cleanup = () => {
      if (child.connected) child.send({ mode: 'exit' })
      shared.close()
      memmap.unlinkShared(name)
    }
    const subjects = [
      {
        name: 'process.send round trip',
        group: 'node',
        async: true,
        iterations: 10,
        beforeEach: async () => {
          child.send({ mode: 'echo' })
          await expect('echoing')
        },
        async run() {
          let sum = 0
          for (let i = 1; i <= rounds; i++) {
            child.send(i)
            sum += await Promise.race([receive(), died])
          }
          return sum === checksum ? checksum : sum
        },
      },
      {
        name: 'memmap atomics, blocking (wait/notify)',
        group: 'memmap',
        iterations: 10,
        beforeEach: () => start('block'),
        run() {
          let sum = 0
          for (let i = 1; i <= rounds; i++) {
            atomics.store(PING, i)
            atomics.notify(PING)
            while (atomics.load(PONG) !== i) {
              if (atomics.wait(PONG, i - 1, WAIT_MS) === 'timed-out') throw new Error('no answer from the child')
            }
            sum += atomics.load(PONG)
          }
          return sum
        },
        afterEach: finished,
      },
      {
        name: 'memmap atomics, spinning (load/store)',
        group: 'memmap',
        iterations: 10,
        beforeEach: () => start('spin'),
        run() {
          let sum = 0
          const deadline = performance.now() + WAIT_MS
          for (let i = 1; i <= rounds; i++) {
            atomics.store(PING, i)
            for (let spins = 1; atomics.load(PONG) !== i; spins++) {
              if ((spins & 0xfffff) === 0 && performance.now() > deadline) throw new Error('no answer from the child')
            }
            sum += atomics.load(PONG)
          }
          return sum
        },
        afterEach: finished,
      },
    ]
    return { subjects, cleanup }
  },
}
