// indexOf / lastIndexOf / includes / indexOfAsync: Buffer#indexOf's answers over the whole
// mapping. Checked against Buffer#indexOf on a copy of the same bytes for arbitrary values and
// offsets, past 4 GiB on a sparse file, where zero-copy Buffers are refused, and around close().

import test from 'ava'
import fc from 'fast-check'
import { readFileSync, rmSync } from 'node:fs'

import { anonymous, openSync } from '../index.js'
import { emulator, lastJson, pattern, runChild, tempFile, testIf, underQemu, windows } from './helpers.js'

// Few distinct bytes, so that needles cut from elsewhere in the haystack also match.
const haystackBytes = fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a.map((x) => 0x61 + (x % 4))))
const needles = fc.oneof(
  fc.string({ maxLength: 4 }).map((s) => s.replace(/[^abcd]/g, 'a')),
  fc.string({ unit: 'grapheme', maxLength: 3 }),
  fc.uint8Array({ maxLength: 4 }).map((a) => Buffer.from(a.map((x) => 0x61 + (x % 4)))),
  fc.uint8Array({ maxLength: 3 }),
  fc.integer({ min: -1000, max: 1000 }),
  fc.double(),
)
const offsets = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: -700, max: 700 }),
  fc.double({ min: -700, max: 700 }),
  fc.constantFrom(null, Number.NaN, Infinity, -Infinity, '', 0, -0),
)

/** The answer, or the code of what was thrown (an unknown encoding in the offset's place). */
function answer(f: () => unknown): unknown {
  try {
    return f()
  } catch (error) {
    return { code: (error as NodeJS.ErrnoException).code }
  }
}

test('indexOf, lastIndexOf and includes give Buffer#indexOf\'s answers for any value and offset', (t) => {
  fc.assert(
    fc.property(haystackBytes, needles, offsets, (bytes, needle, offset) => {
      if (bytes.length === 0) return // a mapping of nothing is still made, but compare non-empty ones
      const path = tempFile(bytes)
      const m = openSync(path)
      try {
        const o = offset as number
        const label = JSON.stringify({ needle: typeof needle === 'object' ? [...needle] : needle, offset })
        t.deepEqual(answer(() => m.indexOf(needle, o)), answer(() => bytes.indexOf(needle, o)), `indexOf ${label}`)
        t.deepEqual(answer(() => m.lastIndexOf(needle, o)), answer(() => bytes.lastIndexOf(needle, o)), `lastIndexOf ${label}`)
        t.deepEqual(answer(() => m.includes(needle, o)), answer(() => bytes.includes(needle as string, o)), `includes ${label}`)
      } finally {
        m.close()
        rmSync(path)
      }
    }),
    { numRuns: underQemu ? 150 : 600 },
  )
})

test('strings are UTF-8 unless an encoding is given, also in the byte offset\'s place', (t) => {
  const bytes = Buffer.concat([Buffer.from('zzz€uro '), Buffer.from('hex', 'utf16le'), Buffer.from('€')])
  const m = anonymous(bytes.length)
  m.write(bytes)
  t.is(m.indexOf('€'), bytes.indexOf('€'))
  t.is(m.lastIndexOf('€'), bytes.lastIndexOf('€'))
  t.is(m.indexOf('hex', 'utf16le'), bytes.indexOf('hex', 'utf16le'))
  t.is(m.indexOf('686578', 0, 'hex'), bytes.indexOf('686578', 0, 'hex'))
  t.is(m.indexOf('a', 0, 'hex'), bytes.indexOf('a', 0, 'hex'))
  t.throws(() => m.indexOf('x', 0, 'nope' as BufferEncoding), { code: 'ERR_UNKNOWN_ENCODING', instanceOf: TypeError })
  m.close()
})

test('a value that is no string, number or Uint8Array is ERR_INVALID_ARG_TYPE', (t) => {
  const m = anonymous(64)
  for (const bad of [undefined, null, {}, [1], 1n, Symbol('x'), new Uint16Array(2)]) {
    t.throws(() => m.indexOf(bad as never), { code: 'ERR_INVALID_ARG_TYPE', instanceOf: TypeError })
  }
  m.close()
})

test('matches across the core\'s chunk seams, in a file of several MiB', async (t) => {
  const bytes = pattern(5 * 1024 * 1024, 7)
  const needle = Buffer.from('the needle, spanning a seam')
  for (const at of [128 * 1024 - 3, 3 * 128 * 1024 - 1, bytes.length - needle.length]) needle.copy(bytes, at)
  const path = tempFile(bytes)
  const m = openSync(path)
  t.teardown(() => {
    m.close()
    rmSync(path)
  })
  for (const from of [0, 128 * 1024 - 2, 3 * 128 * 1024, -needle.length, -needle.length - 1]) {
    t.is(m.indexOf(needle, from), bytes.indexOf(needle, from), `indexOf from ${from}`)
    t.is(m.lastIndexOf(needle, from), bytes.lastIndexOf(needle, from), `lastIndexOf from ${from}`)
    t.is(await m.indexOfAsync(needle, from), bytes.indexOf(needle, from), `indexOfAsync from ${from}`)
  }
  t.is(m.indexOf(Buffer.from('absent: no such bytes anywhere here')), -1)
})

test('a needle that is a view of the mapping itself', (t) => {
  const path = tempFile(Buffer.from('abcdefabcdef'))
  const m = openSync(path)
  t.is(m.indexOf(m.view(6, 9), 1), 6)
  t.is(m.lastIndexOf(m.view(0, 3)), 6)
  m.close()
  rmSync(path)
})

test('after close(): ERR_MMAP_CLOSED from every search', async (t) => {
  const m = anonymous(4096)
  m.close()
  t.throws(() => m.indexOf(1), { code: 'ERR_MMAP_CLOSED' })
  t.throws(() => m.lastIndexOf('a'), { code: 'ERR_MMAP_CLOSED' })
  t.throws(() => m.includes('a'), { code: 'ERR_MMAP_CLOSED' })
  await t.throwsAsync(m.indexOfAsync('a'), { code: 'ERR_MMAP_CLOSED' })
})

test('close() during indexOfAsync over 256 MiB: it rejects with ERR_MMAP_CLOSED, and close() does not wait for the whole search', async (t) => {
  const m = anonymous(256 * 1024 * 1024, { populate: true })
  const pending = m.indexOfAsync('not in zeros')
  await new Promise((resolve) => setTimeout(resolve, 5))
  const started = process.hrtime.bigint()
  m.close()
  const closeMs = Number(process.hrtime.bigint() - started) / 1e6
  const outcome = await pending.then(
    (at) => ({ at }),
    (error: NodeJS.ErrnoException) => ({ code: error.code }),
  )
  // Either it had finished (-1) before close(), or it gave up: never a wrong answer, never a fault.
  t.true('code' in outcome ? outcome.code === 'ERR_MMAP_CLOSED' : outcome.at === -1, JSON.stringify(outcome))
  t.log(`close() took ${closeMs.toFixed(2)} ms`)
})

test('where zero-copy Buffers are refused, the searches answer the same', (t) => {
  const bytes = pattern(300_000, 3)
  Buffer.from('refused-mode').copy(bytes, 250_000)
  const path = tempFile(bytes)
  const result = runChild(
    `const m = memmap.openSync(${JSON.stringify(path)})
     console.log(JSON.stringify([m.zeroCopy, m.indexOf('refused-mode'), m.lastIndexOf(0, -1), m.includes(0x41, -100)]))
     m.close()`,
    { env: { MEMMAP_NO_EXTERNAL_BUFFERS: '1' } },
  )
  t.is(result.status, 0, result.stderr)
  const [zeroCopy, found, last, includes] = lastJson<[boolean, number, number, boolean]>(result)
  t.false(zeroCopy)
  t.is(found, 250_000)
  t.is(last, bytes.lastIndexOf(0, -1))
  t.is(includes, bytes.includes(0x41, -100))
  rmSync(path)
})

testIf(!windows && !underQemu, 'a sparse 8 GiB file and an emulator-free POSIX system')(
  'past 4 GiB: a needle at 6 GiB is found forward and backward, on a sparse 8 GiB file',
  (t) => {
    const result = runChild(`
      const fs = require('fs'), path = require('path'), os = require('os')
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'memmap-')), 'sparse.bin')
      fs.writeFileSync(file, '')
      fs.truncateSync(file, 8 * 2 ** 30)
      const fd = fs.openSync(file, 'r+')
      fs.writeSync(fd, Buffer.from('far away'), 0, 8, 6 * 2 ** 30 + 5)
      fs.closeSync(fd)
      const m = memmap.openSync(file)
      const out = [m.length, m.lastIndexOf('far away'), m.indexOf('far away', 6 * 2 ** 30), m.indexOf('far', -(2 * 2 ** 30))]
      m.close()
      fs.rmSync(path.dirname(file), { recursive: true })
      console.log(JSON.stringify(out))
    `)
    t.is(result.status, 0, result.stderr)
    const at = 6 * 2 ** 30 + 5
    t.deepEqual(lastJson(result), [8 * 2 ** 30, at, at, at])
  },
)

test('the file is not changed by a search', (t) => {
  const bytes = pattern(10_000, 9)
  const path = tempFile(bytes)
  const m = openSync(path, { mode: 'r+' })
  m.indexOf('abc')
  m.lastIndexOf(7)
  m.close()
  t.deepEqual(readFileSync(path), bytes)
  rmSync(path)
})

// Every encoding Buffer takes, the UTF-16 ones above all: Buffer#indexOf searches those in 16-bit
// code units, so only at even offsets (bytes 62 61 00 62: 'a' in ucs2 is -1, not 1).
const encodings = fc.constantFrom<BufferEncoding | undefined>(
  undefined, 'utf8', 'utf-8', 'ascii', 'latin1', 'binary', 'hex', 'base64', 'base64url',
  'ucs2', 'ucs-2', 'utf16le', 'utf-16le', 'UCS2' as BufferEncoding, 'UTF16LE' as BufferEncoding,
)
const unitHaystack = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a.map((x) => [0x00, 0x61, 0x62, 0x63][x % 4])))
const unitNeedles = fc.oneof(
  fc.string({ maxLength: 3 }).map((s) => s.replace(/[^abc\0]/g, 'a')),
  fc.uint8Array({ maxLength: 5 }).map((a) => Buffer.from(a.map((x) => [0x00, 0x61, 0x62, 0x63][x % 4]))),
)

/**
 * Buffer's answer, but -1 where Node's UTF-16 search for a Buffer needle reports a miss in an
 * odd-length buffer as `length - 1` (its not-found value is counted in code units, then doubled,
 * and so never equals the byte length it is compared with; string needles count the buffer in
 * whole units and are right): no match of a non-empty needle can start at that last, lone byte.
 * README says memmap answers -1 there. A string offset is the encoding, as Buffer takes it.
 */
function reference(hay: Buffer, needle: string | Uint8Array, offset: unknown, encoding: BufferEncoding | undefined, f: () => number): unknown {
  const found = answer(f)
  const effective = typeof offset === 'string' ? offset : encoding
  const utf16 = ['ucs2', 'ucs-2', 'utf16le', 'utf-16le'].includes(String(effective).toLowerCase())
  const bytes = typeof needle !== 'string' && needle.length > 0
  return utf16 && bytes && hay.length % 2 === 1 && found === hay.length - 1 ? -1 : found
}

test('with every encoding, UTF-16 ones included, the searches give Buffer#indexOf\'s answers', (t) => {
  const bytes = Buffer.from([0x62, 0x61, 0x00, 0x62])
  const path = tempFile(bytes)
  const m = openSync(path)
  t.is(m.indexOf('a', 'ucs2'), -1, 'the probe: no UTF-16 unit of these bytes is "a"')
  t.is(m.indexOf('a', 'ucs2'), bytes.indexOf('a', 'ucs2'))
  m.close()
  rmSync(path)
  fc.assert(
    fc.property(unitHaystack, unitNeedles, offsets, encodings, (hay, needle, offset, encoding) => {
      if (hay.length === 0) return
      const file = tempFile(hay)
      const mapped = openSync(file)
      try {
        const o = offset as number
        const label = JSON.stringify({ hay: [...hay], needle: typeof needle === 'object' ? [...needle] : needle, offset, encoding })
        t.deepEqual(answer(() => mapped.indexOf(needle, o, encoding)), reference(hay, needle, offset, encoding, () => hay.indexOf(needle, o, encoding)), `indexOf ${label}`)
        t.deepEqual(answer(() => mapped.lastIndexOf(needle, o, encoding)), reference(hay, needle, offset, encoding, () => hay.lastIndexOf(needle, o, encoding)), `lastIndexOf ${label}`)
      } finally {
        mapped.close()
        rmSync(file)
      }
    }),
    { numRuns: underQemu ? 150 : 1500 },
  )
})

// libuv has four pool threads by default: searches that held them would hold every fs call
// queued behind them. In a child, so that the pool is the default one and no other test's work
// is in it.
// Natively each search covers 4 GiB of holes (about a second), so that no search can end in the
// instant a stat takes, whatever the scheduler does; emulators keep 1 GiB, to stay in time.
const SEARCHED = emulator === null ? 2 ** 32 : 2 ** 30
test('8 indexOfAsync searches of 1-4 GiB hold no thread-pool thread: fs.promises.stat answers while all 8 are pending', (t) => {
  const child = runChild(`
    const fs = require('fs')
    const path = require('path')
    const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'memmap-search-'))
    const file = path.join(dir, 'sparse.bin')
    fs.closeSync(fs.openSync(file, 'w'))
    fs.truncateSync(file, ${SEARCHED})
    const m = memmap.openSync(file)
    let settled = 0
    const searches = Array.from({ length: 8 }, () => m.indexOfAsync('absent').then((at) => { settled++; return at }))
    ;(async () => {
      await fs.promises.stat(file)
      const whileSearching = settled
      const found = await Promise.all(searches)
      m.close()
      fs.rmSync(dir, { recursive: true })
      console.log(JSON.stringify({ whileSearching, found }))
    })()
  `)
  t.is(child.status, 0, child.stderr)
  t.deepEqual(lastJson(child), { whileSearching: 0, found: Array(8).fill(-1) }, child.stdout + child.stderr)
})

test('{ start, end } in the offset place bounds the search to matches wholly inside, as Python\'s find(sub, start, end) and rfind do', (t) => {
  fc.assert(
    fc.property(unitHaystack, unitNeedles, fc.integer({ min: -310, max: 310 }), fc.integer({ min: -310, max: 310 }), fc.constantFrom<BufferEncoding | undefined>(undefined, 'latin1', 'hex', 'ucs2'), (hay, needle, a, b, encoding) => {
      if (hay.length === 0) return
      const file = tempFile(hay)
      const mapped = openSync(file)
      try {
        // Buffer#subarray's rules for the bounds, then a search of the slice.
        const slice = hay.subarray(a, b)
        const start = hay.length - hay.subarray(a).length
        // UTF-16 units count from the mapping's start: the reference slice must start even.
        if (encoding === 'ucs2' && start % 2 === 1) return
        const shift = (at: number): number => (at === -1 ? -1 : at + start)
        const label = JSON.stringify({ hay: [...hay], needle: typeof needle === 'object' ? [...needle] : needle, a, b, encoding })
        const empty = typeof needle === 'string' ? needle.length === 0 : needle.length === 0
        const utf16Odd = encoding === 'ucs2' && typeof needle !== 'string' && slice.length % 2 === 1
        // Node.js 20 and 22 report a UTF-16 miss in an odd-length buffer as length - 1 (see `reference`).
        const miss = (at: number): number => (utf16Odd && at === slice.length - 1 ? -1 : at)
        const forward = empty ? start : shift(miss(slice.indexOf(needle, 0, encoding)))
        const backward = empty ? start + slice.length : shift(slice.lastIndexOf(needle, slice.length, encoding))
        t.is(mapped.indexOf(needle, { start: a, end: b, encoding }), forward, `indexOf ${label}`)
        if (!utf16Odd) t.is(mapped.lastIndexOf(needle, { start: a, end: b, encoding }), backward, `lastIndexOf ${label}`)
        t.is(mapped.includes(needle, { start: a, end: b, encoding }), forward !== -1, `includes ${label}`)
      } finally {
        mapped.close()
        rmSync(file)
      }
    }),
    { numRuns: underQemu ? 100 : 1000 },
  )
})
