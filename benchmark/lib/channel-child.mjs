// A process of workload 13: `node channel-child.mjs <mode> ...`. Each mode waits for a line
// on stdin per run ('go'), does the run's work, and answers on stdout when it is the receiving
// side; it ends at the end of stdin.
//
//   ipc <count>                        (forked) count process.send messages of 64 characters
//   ipc-echo                           (forked) says 'ready', then sends back each message
//   socket <path> <count>              count writes of 64 bytes on a Unix domain socket
//   send <name> <length> <count> <size>  count messages of `size` bytes on the channel at 0
//   receive <name> <length> <count>    receives count messages; prints the count and the bytes
//   echo <name> <length> <blocking|async>  answers each message on the channel at 0 on the
//                                      channel at `length` (round trips), until the first ends

import { connect } from 'node:net'
import { createInterface } from 'node:readline'

import { loadMemmap } from './subjects.mjs'

const [mode, ...args] = process.argv.slice(2)
const lines = createInterface({ input: process.stdin })
const message64 = 'm'.repeat(64)

if (mode === 'ipc') {
  const count = Number(args[0])
  process.on('message', () => {
    for (let i = 0; i < count; i++) process.send(message64)
  })
  process.on('disconnect', () => process.exit(0))
} else if (mode === 'ipc-echo') {
  process.on('message', (message) => process.send(message))
  process.on('disconnect', () => process.exit(0))
  process.send('ready')
} else if (mode === 'socket') {
  const [path, count] = [args[0], Number(args[1])]
  const socket = connect(path)
  const chunk = Buffer.alloc(64, 1)
  lines.on('line', () => {
    for (let i = 0; i < count; i++) socket.write(chunk)
  })
  lines.on('close', () => socket.end())
} else {
  const memmap = loadMemmap()
  const [name, length] = [args[0], Number(args[1])]
  const shared = memmap.openShared(name)
  const channel = shared.channel(0, length)
  if (mode === 'send') {
    const [count, size] = [Number(args[2]), Number(args[3])]
    const message = Buffer.alloc(size, 1)
    lines.on('line', () => {
      for (let i = 0; i < count; i++) channel.send(message)
    })
  } else if (mode === 'receive') {
    const count = Number(args[2])
    lines.on('line', () => {
      let bytes = 0
      for (let i = 0; i < count; i++) bytes += channel.receive().length
      process.stdout.write(`${count} ${bytes}\n`)
    })
  } else if (mode === 'echo') {
    const replies = shared.channel(length, length)
    if (args[2] === 'async') {
      for await (const message of channel) await replies.sendAsync(message)
    } else {
      for (;;) {
        let message
        try {
          message = channel.receive()
        } catch (error) {
          if (error.code === 'ERR_MMAP_CHANNEL_ENDED') break
          throw error
        }
        replies.send(message)
      }
    }
    process.exit(0)
  }
}
