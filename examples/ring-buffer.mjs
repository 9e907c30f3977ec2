// A single-producer, single-consumer ring buffer of variable-length messages in named shared
// memory. The producer runs in a second process; each side sleeps in waitAsync() (without
// blocking its event loop) when the ring is full or empty, and notify()s the other when it moves
// its index. Run with `node examples/ring-buffer.mjs`.
//
// Layout: [0] head (bytes written, total) · [4] tail (bytes read, total) · [64..] the ring.
// Each message is a 4-byte length and its bytes, wrapping around the ring's end. The indices
// only grow (wrapping at 2^32 is harmless: only their difference is used), and each side is the
// only writer of its own index, so the two never race.

import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

import { createShared, openShared, unlinkShared } from 'memmap'

const HEAD = 0
const TAIL = 4
const DATA = 64
const RING = 4096
const MESSAGES = 20_000

/** Copies `bytes` into the ring at `index`, wrapping at its end. */
function put(ring, index, bytes) {
  const at = index % RING
  const first = Math.min(bytes.length, RING - at)
  ring.set(bytes.subarray(0, first), at)
  ring.set(bytes.subarray(first), 0)
}

/** Copies `length` bytes out of the ring at `index`, wrapping at its end. */
function take(ring, index, length) {
  const at = index % RING
  const first = Math.min(length, RING - at)
  return Buffer.concat([ring.subarray(at, at + first), ring.subarray(0, length - first)])
}

async function produce(name) {
  const shared = openShared(name)
  const a = shared.atomics
  const ring = shared.view(DATA, DATA + RING)
  let head = a.load(HEAD) >>> 0
  for (let i = 0; i < MESSAGES; i++) {
    const body = Buffer.from(`message ${i} ${'·'.repeat(i % 50)}`)
    const frame = Buffer.alloc(4 + body.length)
    frame.writeUInt32LE(body.length, 0)
    body.copy(frame, 4)
    // Wait for room: the consumer moves TAIL and notifies.
    let tail
    while (RING - ((head - (tail = a.load(TAIL) >>> 0)) >>> 0) < frame.length) {
      await a.waitAsync(TAIL, tail | 0)
    }
    put(ring, head, frame)
    head = (head + frame.length) >>> 0
    a.store(HEAD, head | 0) // publish after the bytes (the store is sequentially consistent)
    a.notify(HEAD)
  }
  shared.close()
}

async function consume(name) {
  const shared = openShared(name)
  const a = shared.atomics
  const ring = shared.view(DATA, DATA + RING)
  let tail = 0
  let received = 0
  let bytes = 0
  while (received < MESSAGES) {
    let head
    while ((head = a.load(HEAD) >>> 0) === tail) await a.waitAsync(HEAD, head | 0)
    while (tail !== head) {
      const length = take(ring, tail, 4).readUInt32LE(0)
      const body = take(ring, tail + 4, length).toString()
      if (!body.startsWith(`message ${received} `)) throw new Error(`out of order: ${body}`)
      tail = (tail + 4 + length) >>> 0
      received++
      bytes += length
    }
    a.store(TAIL, tail | 0)
    a.notify(TAIL)
  }
  shared.close()
  return { received, bytes }
}

if (process.argv[2] === 'producer') {
  await produce(process.argv[3])
} else {
  const name = `ring-${process.pid}`
  createShared(name, DATA + RING, { exclusive: true }).close()
  const start = process.hrtime.bigint()
  const producer = spawn(process.execPath, [fileURLToPath(import.meta.url), 'producer', name], { stdio: 'inherit' })
  const { received, bytes } = await consume(name)
  await new Promise((resolve) => producer.on('exit', resolve))
  unlinkShared(name)
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  console.log(`received ${received} messages (${bytes} bytes) in order through a ${RING}-byte ring in ${ms.toFixed(0)} ms`)
}
