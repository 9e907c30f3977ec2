// createReadStream(): a Readable over a range of the mapping, of views where zero-copy Buffers
// are allowed and copies where they are refused, that ends cleanly or errors with
// ERR_MMAP_CLOSED when the mapping closes under it.

import test from 'ava'
import { createWriteStream, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'

import { anonymous, openSync } from '../index.js'
import { lastJson, pattern, runChild, tempDir, tempFile } from './helpers.js'

/** The chunks as pushed ('data' events: async iteration may join queued chunks). */
function collect(stream: NodeJS.ReadableStream): Promise<Buffer[]> {
  const chunks: Buffer[] = []
  return new Promise((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.on('end', () => resolve(chunks))
    stream.on('error', reject)
  })
}

test('the whole mapping in 64 KiB views by default, equal to the file', async (t) => {
  const bytes = pattern(300_000, 21)
  const path = tempFile(bytes)
  const m = openSync(path)
  const chunks = await collect(m.createReadStream())
  t.deepEqual(
    chunks.map((c) => c.length),
    [65536, 65536, 65536, 65536, 300_000 - 4 * 65536],
  )
  t.deepEqual(Buffer.concat(chunks), bytes)
  // Views: they share the mapping's memory (a write through the mapping shows in them).
  m.close()
  t.true(chunks.every((c) => c.byteLength === 0), 'views are detached by close()')
  rmSync(path)
})

test('start, end (exclusive) and highWaterMark; end past the mapping is clamped; start == end is empty', async (t) => {
  const bytes = pattern(10_000, 22)
  const m = anonymous(bytes.length)
  m.write(bytes)
  t.deepEqual(Buffer.concat(await collect(m.createReadStream({ start: 100, end: 1100, highWaterMark: 300 }))), bytes.subarray(100, 1100))
  const sizes = (await collect(m.createReadStream({ start: 100, end: 1100, highWaterMark: 300 }))).map((c) => c.length)
  t.deepEqual(sizes, [300, 300, 300, 100])
  t.deepEqual(Buffer.concat(await collect(m.createReadStream({ start: 9000, end: 1e9 }))), bytes.subarray(9000))
  t.deepEqual(await collect(m.createReadStream({ start: 500, end: 500 })), [])
  m.close()
})

test('bad options are TypeError/RangeError; a closed mapping is ERR_MMAP_CLOSED', (t) => {
  const m = anonymous(4096)
  t.throws(() => m.createReadStream({ start: -1 }), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => m.createReadStream({ start: 10, end: 5 }), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => m.createReadStream({ highWaterMark: 0 }), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => m.createReadStream({ end: '5' as never }), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => m.createReadStream(7 as never), { code: 'ERR_INVALID_ARG_TYPE' })
  m.close()
  t.throws(() => m.createReadStream(), { code: 'ERR_MMAP_CLOSED' })
})

test('close() mid-stream: the stream errors with ERR_MMAP_CLOSED and delivers no detached chunk', async (t) => {
  const m = anonymous(4 * 1024 * 1024)
  m.write(Buffer.alloc(4 * 1024 * 1024, 1))
  const stream = m.createReadStream({ highWaterMark: 4096 })
  const seen: number[] = []
  const error = await t.throwsAsync(async () => {
    for await (const chunk of stream) {
      // Every chunk handed over is whole and readable when it arrives.
      seen.push(chunk.length)
      if (chunk.length !== 4096 || chunk[0] !== 1) throw new Error(`bad chunk ${chunk.length}`)
      if (seen.length === 10) m.close()
    }
  })
  t.is((error as NodeJS.ErrnoException).code, 'ERR_MMAP_CLOSED')
  t.is(seen.length, 10)
  t.true(stream.destroyed)
})

test('a stream that has ended is not disturbed by close()', async (t) => {
  const m = anonymous(1000)
  const stream = m.createReadStream()
  const chunks = await collect(stream)
  t.is(Buffer.concat(chunks).length, 1000)
  let errored = false
  stream.on('error', () => (errored = true))
  m.close()
  await new Promise((resolve) => setImmediate(resolve))
  t.false(errored)
})

test('pipeline() into a file writes the same bytes', async (t) => {
  const bytes = pattern(1_000_000, 23)
  const path = tempFile(bytes)
  const out = join(tempDir(), 'copy.bin')
  const m = openSync(path)
  await pipeline(m.createReadStream({ highWaterMark: 100_000 }), createWriteStream(out))
  m.close()
  t.deepEqual(readFileSync(out), bytes)
  rmSync(path)
  rmSync(out)
})

test('where zero-copy Buffers are refused the chunks are copies, the same bytes, and survive close()', async (t) => {
  const bytes = pattern(200_000, 24)
  const path = tempFile(bytes)
  const result = runChild(
    `(async () => {
      const m = memmap.openSync(${JSON.stringify(path)})
      const chunks = []
      await new Promise((resolve) => m.createReadStream({ highWaterMark: 50000 }).on('data', (c) => chunks.push(c)).on('end', resolve))
      m.close()
      const all = Buffer.concat(chunks)
      console.log(JSON.stringify([m.zeroCopy, chunks.length, all.length, require('crypto').createHash('sha1').update(all).digest('hex')]))
    })()`,
    { env: { MEMMAP_NO_EXTERNAL_BUFFERS: '1' } },
  )
  t.is(result.status, 0, result.stderr)
  const digest = (await import('node:crypto')).createHash('sha1').update(bytes).digest('hex')
  t.deepEqual(lastJson(result), [false, 4, bytes.length, digest])
  rmSync(path)
})

test('a resize that shortens the mapping mid-stream ends the stream at the new length', async (t) => {
  const m = anonymous(64 * 1024)
  m.write(Buffer.alloc(64 * 1024, 7))
  const stream = m.createReadStream({ highWaterMark: 4096 })
  let total = 0
  for await (const chunk of stream) {
    total += chunk.length
    if (total === 8192) m.resize(16 * 1024)
  }
  t.true(total >= 16 * 1024 && total <= 16 * 1024 + 2 * 4096, `read ${total}`)
  m.close()
})

/**
 * What a stream paused with a chunk queued does after `resize(length)`, once resumed: its
 * chunks, how it settled, and the error's code and position. Settling is bounded: a stall is a
 * `'stalled'` outcome, not a hang.
 */
async function resizedWhilePaused(length: number): Promise<{ bytes: Buffer; outcome: string; code?: string; position?: number }> {
  const m = anonymous(64 * 1024)
  m.write(pattern(64 * 1024, 31))
  const stream = m.createReadStream({ highWaterMark: 4096 })
  const chunks: Buffer[] = []
  // The first chunk arrives, then the stream pauses with the next one queued.
  await new Promise<void>((resolve) => {
    stream.once('data', (chunk: Buffer) => {
      chunks.push(Buffer.from(chunk))
      stream.pause()
      resolve()
    })
  })
  await new Promise((resolve) => setImmediate(resolve))
  assertQueued(stream)
  m.resize(length)
  const settled = new Promise<{ outcome: string; code?: string; position?: number }>((resolve) => {
    stream.on('data', (chunk: Buffer) => chunks.push(Buffer.from(chunk)))
    stream.on('end', () => resolve({ outcome: 'end' }))
    stream.on('error', (error: NodeJS.ErrnoException & { position?: number }) => resolve({ outcome: 'error', code: error.code, position: error.position }))
    setTimeout(() => resolve({ outcome: 'stalled' }), 2000)
  })
  stream.resume()
  const result = await settled
  m.close()
  return { bytes: Buffer.concat(chunks), ...result }
}

function assertQueued(stream: NodeJS.ReadableStream & { readableLength?: number }): void {
  if (!(stream.readableLength! > 0)) throw new Error('the probe needs a chunk queued while paused')
}

for (const [what, length] of [['shrink', 16 * 1024], ['grow', 128 * 1024], ['same length', 64 * 1024]] as const) {
  test(`resize() (${what}) with a chunk queued in a paused stream: it ends or errors ERR_MMAP_RESIZED with where to go on, never stalls or gives wrong bytes`, async (t) => {
    const expected = pattern(64 * 1024, 31)
    const { bytes, outcome, code, position } = await resizedWhilePaused(length)
    t.not(outcome, 'stalled', 'no data, end, error or close ever came')
    // Whatever came is the file's bytes from the start, in order.
    t.deepEqual(bytes, expected.subarray(0, bytes.length))
    if (outcome === 'error') {
      t.is(code, 'ERR_MMAP_RESIZED')
      t.is(position, bytes.length, 'position is where the delivered bytes end')
    } else {
      t.is(bytes.length, Math.min(length, 64 * 1024))
    }
  })
}

test('end: Infinity is the whole mapping, as fs.createReadStream takes it; encoding gives strings that resize() cannot detach', async (t) => {
  const text = 'héllo wörld, '.repeat(2000)
  const m = anonymous(Buffer.byteLength(text))
  m.write(Buffer.from(text))
  t.is(Buffer.concat(await collect(m.createReadStream({ end: Infinity }))).toString(), text)
  // 4096-byte chunks cut multi-byte characters: the decoder joins them, as fs's streams do.
  const strings = m.createReadStream({ encoding: 'utf8', highWaterMark: 4096 })
  const parts: string[] = []
  for await (const part of strings) {
    t.is(typeof part, 'string')
    parts.push(part as string)
    // The queued strings are copies: a remap cannot take them back.
    if (parts.length === 1) m.resize(m.length)
  }
  t.is(parts.join(''), text)
  t.throws(() => m.createReadStream({ encoding: 'klingon' as BufferEncoding }), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => m.createReadStream({ end: -Infinity }), { code: 'ERR_OUT_OF_RANGE' })
  m.close()
})
