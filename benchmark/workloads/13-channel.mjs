// 13. Messages between two processes: one-way 64-byte messages, 1 → 1, through a memmap channel
// against process.send, a MessagePort to a worker thread and a Unix domain socket (net); round
// trips, 64 KiB messages, 4 → 3 processes and Python's multiprocessing.Queue in the extra figures.
//
// The sending side lives across runs (started once, untimed) and sends a run's messages when
// this process writes a line to it; a run ends when the last message has arrived here. The
// checksum is the count of messages and bytes received.

import { fork, spawn, spawnSync } from 'node:child_process'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Worker } from 'node:worker_threads'

import { log } from '../lib/harness.mjs'
import { benchDir } from '../lib/subjects.mjs'

const child = join(benchDir, 'lib', 'channel-child.mjs')
const LENGTH = 1 << 20

/** A process of channel-child.mjs; `lines` yields what it prints. */
function start(args, options = {}) {
  const proc = (options.ipc ? fork : spawn)(options.ipc ? child : process.execPath, options.ipc ? args : [child, ...args], {
    stdio: ['pipe', 'pipe', 'inherit', ...(options.ipc ? ['ipc'] : [])],
  })
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]()
  const closed = new Promise((resolve) => proc.on('exit', resolve))
  return { proc, lines, closed, stop: async () => { proc.stdin.end(); if (options.ipc) proc.disconnect(); await closed } }
}

export default {
  id: 13,
  title: 'Channel: 64-byte messages from one process to another',
  what:
    'A child process sends a run\'s messages of 64 bytes (100,000; 20,000 with --quick) and this process ' +
    'receives them: through a memmap channel of 1 MiB in named shared memory, with receive() or with ' +
    'for await; with process.send over Node\'s IPC channel; with a Unix domain socket (net, one write per ' +
    'message); and, between threads only, with a MessagePort to a worker thread.',
  baseline: 'process.send',

  skip({ memmap }) {
    return typeof memmap.createShared === 'function' && typeof memmap.anonymous(4096).channel === 'function' ? null : 'channels not in this build'
  },

  subjects({ memmap, quick }) {
    const count = quick ? 20_000 : 100_000
    const checksum = `${count} messages, ${count * 64} bytes`
    const name = `memmap-bench-chan-${process.pid}`
    let ipc, sender, worker, server, socketChild, shared, channel
    const socketPath = process.platform === 'win32' ? `\\\\.\\pipe\\memmap-bench-${process.pid}` : join(tmpdir(), `memmap-bench-${process.pid}.sock`)
    let onData = null
    const channelSubject = (title, receive) => ({
      name: title,
      group: 'memmap',
      iterations: 9,
      warmup: 1,
      async: true,
      setup() {
        shared = memmap.createShared(name, LENGTH)
        channel = shared.channel(0, LENGTH)
        sender = start(['send', name, String(LENGTH), String(count), '64'])
      },
      async run() {
        sender.proc.stdin.write('go\n')
        let bytes = 0
        for (let i = 0; i < count; i++) bytes += (await receive()).length
        return `${count} messages, ${bytes} bytes`
      },
      async teardown() {
        await sender.stop()
        shared.close()
        memmap.unlinkShared(name)
      },
    })
    return [
      {
        name: 'process.send',
        group: 'node',
        iterations: 9,
        warmup: 1,
        async: true,
        setup() {
          ipc = start(['ipc', String(count)], { ipc: true })
        },
        run() {
          return new Promise((resolve) => {
            let n = 0
            let bytes = 0
            const take = (message) => {
              bytes += message.length
              if (++n === count) {
                ipc.proc.off('message', take)
                resolve(`${n} messages, ${bytes} bytes`)
              }
            }
            ipc.proc.on('message', take)
            ipc.proc.send('go')
          })
        },
        teardown: () => ipc.stop(),
      },
      {
        name: 'Unix domain socket (net)',
        group: 'node',
        iterations: 9,
        warmup: 1,
        async: true,
        async setup() {
          server = createServer((socket) => socket.on('data', (chunk) => onData?.(chunk.length)))
          await new Promise((resolve) => server.listen(socketPath, resolve))
          socketChild = start(['socket', socketPath, String(count)])
          await new Promise((resolve) => server.once('connection', resolve))
        },
        run() {
          return new Promise((resolve) => {
            let bytes = 0
            onData = (n) => {
              bytes += n
              if (bytes === count * 64) resolve(checksum)
            }
            socketChild.proc.stdin.write('go\n')
          })
        },
        async teardown() {
          onData = null
          await socketChild.stop()
          await new Promise((resolve) => server.close(resolve))
        },
      },
      {
        name: 'MessagePort to a worker thread',
        group: 'node',
        note: 'threads, not processes',
        iterations: 9,
        warmup: 1,
        async: true,
        setup() {
          worker = new Worker(
            `const { parentPort } = require('node:worker_threads')
             const message = 'm'.repeat(64)
             parentPort.on('message', (n) => { for (let i = 0; i < n; i++) parentPort.postMessage(message) })`,
            { eval: true },
          )
        },
        run() {
          return new Promise((resolve) => {
            let n = 0
            let bytes = 0
            const take = (message) => {
              bytes += message.length
              if (++n === count) {
                worker.off('message', take)
                resolve(`${n} messages, ${bytes} bytes`)
              }
            }
            worker.on('message', take)
            worker.postMessage(count) // oxlint-disable-line unicorn/require-post-message-target-origin
          })
        },
        teardown: () => worker.terminate(),
      },
      channelSubject('memmap channel, receive()', () => channel.receive(10_000)),
      channelSubject('memmap channel, receiveAsync()', () => channel.receiveAsync(10_000)),
    ]
  },

  /** Round trips, 64 KiB messages, 4 → 3 processes and Python's Queue, each measured once. */
  async extra({ memmap, quick }) {
    const out = { oneWayCount: quick ? 20_000 : 100_000 }
    const name = `memmap-bench-chan-x-${process.pid}`

    // Round trips of 64 bytes: to a child that answers on a second channel, against process.send.
    const rounds = quick ? 5_000 : 20_000
    const message = Buffer.alloc(64, 2)
    for (const mode of ['blocking', 'async']) {
      const shared = memmap.createShared(name, 2 * LENGTH)
      const requests = shared.channel(0, LENGTH)
      const replies = shared.channel(LENGTH, LENGTH)
      const echo = start(['echo', name, String(LENGTH), mode])
      for (let i = 0; i < 1000; i++) {
        requests.send(message)
        if (mode === 'async') await replies.receiveAsync(10_000)
        else replies.receive(10_000)
      }
      const t0 = process.hrtime.bigint()
      for (let i = 0; i < rounds; i++) {
        requests.send(message)
        if (mode === 'async') await replies.receiveAsync(10_000)
        else replies.receive(10_000)
      }
      out[`roundTrip${mode === 'async' ? 'Async' : ''}Us`] = Number(process.hrtime.bigint() - t0) / rounds / 1000
      requests.end()
      await echo.closed
      shared.close()
      memmap.unlinkShared(name)
    }
    {
      const ipc = fork(child, ['ipc-echo'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
      const trip = () => new Promise((resolve) => { ipc.once('message', resolve); ipc.send('m'.repeat(64)) })
      await new Promise((resolve) => ipc.once('message', resolve)) // ready
      for (let i = 0; i < 1000; i++) await trip()
      const t0 = process.hrtime.bigint()
      for (let i = 0; i < rounds; i++) await trip()
      out.ipcRoundTripUs = Number(process.hrtime.bigint() - t0) / rounds / 1000
      ipc.disconnect()
    }

    // 64 KiB messages, 1 → 1, through a 4 MiB channel.
    {
      const big = 4 << 20
      const n = quick ? 2_000 : 10_000
      const shared = memmap.createShared(name, big)
      const channel = shared.channel(0, big)
      const sender = start(['send', name, String(big), String(n), String(64 << 10)])
      sender.proc.stdin.write('go\n')
      channel.receive(10_000)
      const t0 = process.hrtime.bigint()
      let bytes = 0
      for (let i = 1; i < n; i++) bytes += channel.receive(10_000).length
      out.bigGBps = bytes / Number(process.hrtime.bigint() - t0)
      await sender.stop()
      shared.close()
      memmap.unlinkShared(name)
    }

    // 4 → 3 processes, 64-byte messages.
    {
      const per = quick ? 15_000 : 75_000
      const shared = memmap.createShared(name, LENGTH)
      shared.channel(0, LENGTH)
      const senders = Array.from({ length: 4 }, () => start(['send', name, String(LENGTH), String(per), '64']))
      const receivers = Array.from({ length: 3 }, () => start(['receive', name, String(LENGTH), String((4 * per) / 3)]))
      await new Promise((resolve) => setTimeout(resolve, 300)) // all mapped and waiting for 'go'
      const t0 = process.hrtime.bigint()
      for (const p of [...receivers, ...senders]) p.proc.stdin.write('go\n')
      const reports = await Promise.all(receivers.map(async (r) => (await r.lines.next()).value))
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9
      const received = reports.reduce((n, line) => n + Number(line.split(' ')[0]), 0)
      out.manyToMany = { senders: 4, receivers: 3, messages: received, perSecond: received / seconds }
      await Promise.all([...senders, ...receivers].map((p) => p.stop()))
      shared.close()
      memmap.unlinkShared(name)
    }

    // Python's multiprocessing.Queue, 1 → 1, 64-byte messages.
    const python = spawnSync('python3', [join(benchDir, 'lib', 'pyqueue.py'), String(quick ? 20_000 : 100_000)], { encoding: 'utf8', timeout: 300_000 })
    if (python.status === 0) {
      const { count, seconds } = JSON.parse(python.stdout.trim().split('\n').pop())
      out.pythonQueuePerSecond = count / seconds
    }

    log(
      `  round trip of 64 bytes: memmap receive() ${out.roundTripUs.toFixed(2)} µs, receiveAsync() ${out.roundTripAsyncUs.toFixed(2)} µs, ` +
        `process.send ${out.ipcRoundTripUs.toFixed(2)} µs`,
    )
    log(`  64 KiB messages: ${out.bigGBps.toFixed(2)} GB/s; 4 → 3 processes: ${(out.manyToMany.perSecond / 1e6).toFixed(2)} M messages/s`)
    if (out.pythonQueuePerSecond) log(`  Python multiprocessing.Queue 1 → 1: ${(out.pythonQueuePerSecond / 1e6).toFixed(3)} M messages/s`)
    return { channel: out }
  },
}
