// Datasets as users hold them: lines() against a reference split, in every mode and past 4 GiB;
// array() with the contract's alignment, size and detach rules.

import test from 'ava'
import fc from 'fast-check'
import { closeSync, ftruncateSync, openSync as fsOpen, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'

import { anonymous, maxViewLength, openSync } from '../index.js'
import { lastJson, runChild, tempDir, tempFile, underQemu } from './helpers.js'

interface Split {
  start: number
  end: number
  separator: Buffer
}

/** The records a plain split gives: what lines() must yield, as byte ranges of `bytes`. */
function reference(bytes: Buffer, { start, end, separator }: Split): Buffer[] {
  const records: Buffer[] = []
  const crlf = separator.length === 1 && separator[0] === 10
  let at = start
  while (at < end) {
    const found = bytes.indexOf(separator, at)
    if (found === -1 || found + separator.length > end) {
      records.push(bytes.subarray(at, end))
      break
    }
    const cut = crlf && found > at && bytes[found - 1] === 13 ? found - 1 : found
    records.push(bytes.subarray(at, cut))
    at = found + separator.length
  }
  return records
}

/** Files of lines: random lengths (empty ones, ones past the core's 128 KiB chunk), CRLF or LF, with or without a last separator. */
const files = fc
  .record({
    lengths: fc.array(fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constantFrom(0, 1, 131_071, 131_072, 131_073, 300_000)), { maxLength: 60 }),
    crlf: fc.boolean(),
    last: fc.boolean(),
    seed: fc.integer({ min: 1, max: 255 }),
  })
  .map(({ lengths, crlf, last, seed }) => {
    const parts: Buffer[] = []
    lengths.forEach((n, i) => {
      // Letters, with a stray '\r' inside some records (only one before the '\n' is dropped).
      const record = Buffer.alloc(n, 97 + ((seed + i) % 26))
      if (n > 3 && i % 3 === 0) record[1] = 13
      parts.push(record)
      if (i < lengths.length - 1 || last) parts.push(Buffer.from(crlf ? '\r\n' : '\n'))
    })
    return Buffer.concat(parts)
  })

test('lines() equals a reference split on random files: CRLF, empty lines, records past the core chunk, ranges, separators', (t) => {
  fc.assert(
    fc.property(
      files,
      fc.constantFrom<string | number | Uint8Array | undefined>(undefined, '\n', 10, '\r\n', Buffer.from('aa'), 'é'),
      fc.nat(),
      fc.nat(),
      (bytes, separator, a, b) => {
        const path = tempFile(bytes)
        const m = openSync(path)
        try {
          const sep = separator === undefined ? Buffer.from('\n') : typeof separator === 'number' ? Buffer.from([separator]) : Buffer.from(separator)
          const [start, end] = bytes.length === 0 ? [0, 0] : [a % (bytes.length + 1), b % (bytes.length + 1)].toSorted((x, y) => x - y)
          const expected = reference(bytes, { start, end, separator: sep })
          const label = JSON.stringify({ length: bytes.length, separator: sep.toString('hex'), start, end })
          const views = [...m.lines({ start, end, separator })]
          t.deepEqual(
            views.map((v) => Buffer.from(v)),
            expected.map((v) => Buffer.from(v)),
            label,
          )
          t.true(views.every((v) => Buffer.isBuffer(v)), label)
          t.deepEqual([...m.lines({ start, end, separator, encoding: 'latin1' })], expected.map((v) => v.toString('latin1')), label)
          // The defaults: the whole mapping.
          if (start === 0 && end === bytes.length) t.is([...m.lines({ separator })].length, expected.length, label)
        } finally {
          m.close()
          rmSync(path)
        }
      },
    ),
    { numRuns: underQemu ? 40 : 200 },
  )
})

test('lines() yields zero-copy views of the pages, detached by close(); strings are copies', (t) => {
  const m = anonymous(64)
  m.write(Buffer.from('one\ntwo\r\nthree'))
  const [first, second, third] = m.lines()
  // The last record has no separator: it runs to the end, through the zeros after 'three'.
  t.deepEqual([String(first), String(second), String(third)], ['one', 'two', m.view(9).toString()])
  // A write through the mapping shows in the view: the same memory.
  m.write(Buffer.from('O'), 0)
  t.is(String(first), 'One')
  const strings = [...m.lines({ encoding: 'utf8' })]
  m.close()
  t.is(first.length, 0, 'detached by close()')
  t.is(strings[0], 'One')
})

test('lines() edge cases: an empty range yields nothing, a trailing separator no empty record, bad options are coded', (t) => {
  const m = anonymous(8)
  m.write(Buffer.from('a\n\nb\n'))
  t.deepEqual([...m.lines({ end: 5, encoding: 'utf8' })], ['a', '', 'b'])
  t.deepEqual([...m.lines({ start: 3, end: 3 })], [])
  t.deepEqual([...m.lines({ start: 5, end: Infinity, encoding: 'latin1' })], ['\0\0\0'])
  t.throws(() => m.lines({ separator: '' }), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => m.lines({ separator: 256 }), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => m.lines({ separator: {} as never }), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => m.lines({ encoding: 'nope' as BufferEncoding }), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => m.lines({ start: 6, end: 5 }), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => m.lines({ start: -1 }), { code: 'ERR_OUT_OF_RANGE' })
  const iterator = m.lines()
  t.is(String(iterator.next().value), 'a')
  m.close()
  t.throws(() => iterator.next(), { code: 'ERR_MMAP_CLOSED' })
  t.throws(() => m.lines(), { code: 'ERR_MMAP_CLOSED' })
})

test('where zero-copy Buffers are refused, lines() yields copies with the same records', (t) => {
  const bytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => `${'x'.repeat(i % 50)}${i % 7 === 0 ? '\r' : ''}\n`).join('') + 'tail')
  const path = tempFile(bytes)
  const expected = reference(bytes, { start: 0, end: bytes.length, separator: Buffer.from('\n') })
  const child = runChild(
    `
    const m = memmap.openSync(${JSON.stringify(path)})
    const views = [...m.lines()]
    const strings = [...m.lines({ encoding: 'utf8' })]
    m.close()
    console.log(JSON.stringify({ zeroCopy: m.zeroCopy, views: views.map(String), strings, buffers: views.every(Buffer.isBuffer) }))
  `,
    { env: { MEMMAP_NO_EXTERNAL_BUFFERS: '1' } },
  )
  t.is(child.status, 0, child.stderr)
  const out = lastJson<{ zeroCopy: boolean; views: string[]; strings: string[]; buffers: boolean }>(child)
  t.false(out.zeroCopy)
  t.true(out.buffers)
  t.deepEqual(out.views, expected.map(String), 'copies survive close()')
  t.deepEqual(out.strings, expected.map(String))
})

test('lines() past 4 GiB in a 5 GiB sparse file, on this Node.js (windows of the mapping where one Buffer cannot cover it)', (t) => {
  const GiB = 2 ** 30
  const dir = tempDir()
  const path = join(dir, 'sparse.txt')
  const fd = fsOpen(path, 'w')
  const marks = [4 * GiB - 3, 4 * GiB + 7, 5 * GiB - 10]
  try {
    ftruncateSync(fd, 5 * GiB)
    for (const at of marks) writeSync(fd, Buffer.from('\nrecord\n'), 0, 8, at)
  } finally {
    closeSync(fd)
  }
  const m = openSync(path)
  try {
    const start = 4 * GiB - 16
    // Views: one record is the 1 GiB of zeros between two marks, more than a string can hold.
    const lengths = [...m.lines({ start })].map((r) => r.length)
    t.deepEqual(lengths, [13, 6, 2, 6, 5 * GiB - 10 - (4 * GiB + 15), 6, 2])
    t.deepEqual([...m.lines({ start: 5 * GiB - 20, encoding: 'latin1' })], ['\0'.repeat(10), 'record', '\0\0'])
    t.deepEqual([...m.lines({ start: 4 * GiB - 3, end: 4 * GiB + 20, encoding: 'latin1' })], ['', 'record', '\0\0', 'record', '\0'.repeat(5)])
  } finally {
    m.close()
    rmSync(path)
  }
})

test('array(): a typed array over the pages, alignment and range errors, detached by close()', (t) => {
  const m = anonymous(64)
  const doubles = m.array(Float64Array, 8)
  t.is(doubles.length, 7)
  doubles[0] = 1.5
  t.is(m.buffer.readDoubleLE(8), 1.5, 'the same memory')
  m.buffer.writeInt32LE(-2, 60)
  t.is(m.array(Int32Array, 60, 1)[0], -2)
  t.is(m.array(Uint8Array).length, 64)
  t.is(m.array(BigInt64Array, 56)[0], BigInt(m.buffer.readBigInt64LE(56)))
  t.is(m.array(Int16Array, 2, 0).length, 0)
  t.throws(() => m.array(Float64Array, 4), { code: 'ERR_OUT_OF_RANGE', instanceOf: RangeError })
  t.throws(() => m.array(Float64Array, 8, 8), { code: 'ERR_MMAP_OUT_OF_RANGE', instanceOf: RangeError })
  t.throws(() => m.array(Float64Array, 72), { code: 'ERR_MMAP_OUT_OF_RANGE' })
  t.throws(() => m.array(Array as never), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => m.array(DataView as never), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => m.array(Float64Array, -8), { code: 'ERR_OUT_OF_RANGE' })
  m.close()
  t.is(doubles.length, 0, 'detached by close()')
  t.throws(() => m.array(Float64Array), { code: 'ERR_MMAP_CLOSED' })
})

test('array() where zero-copy Buffers are refused is ERR_MMAP_EXTERNAL_BUFFER_REFUSED; past maxViewLength ERR_MMAP_TOO_LARGE', (t) => {
  const child = runChild(
    `
    const m = memmap.anonymous(64)
    try { m.array(Float64Array) } catch (e) { console.log(JSON.stringify(e.code)) }
  `,
    { env: { MEMMAP_NO_EXTERNAL_BUFFERS: '1' } },
  )
  t.is(child.status, 0, child.stderr)
  t.is(lastJson(child), 'ERR_MMAP_EXTERNAL_BUFFER_REFUSED')
  // A mapping longer than one Buffer can be (Node.js 20: 4 GiB), sparse; from Node.js 22 a Buffer
  // reaches 2^53 - 1 bytes, so a 6 GiB mapping is one array there instead.
  const length = maxViewLength < 2 ** 40 ? maxViewLength + 8 : 6 * 2 ** 30
  const dir = tempDir()
  const path = join(dir, 'big.bin')
  const fd = fsOpen(path, 'w')
  ftruncateSync(fd, length)
  closeSync(fd)
  const m = openSync(path)
  try {
    if (length > maxViewLength) t.throws(() => m.array(Uint8Array), { code: 'ERR_MMAP_TOO_LARGE' })
    else t.is(m.array(Float64Array).length, length / 8)
    // The last whole elements, past 4 GiB on every Node.js.
    const tail = m.array(Float64Array, length - 8, 1)
    t.is(tail[0], 0)
  } finally {
    m.close()
    rmSync(path)
  }
})
