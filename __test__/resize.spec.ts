// resize() for every kind: the file's length after it, contents kept, old Buffers detached, and
// a failed resize leaving the mapping as it was.

import test from 'ava'
import { appendFileSync, readFileSync, statSync, truncateSync } from 'node:fs'
import { join } from 'node:path'

import { anonymous, openSync, pageSize } from '../index.js'
import { lastJson, pattern, runChild, tempDir, tempFile, testIf, windows } from './helpers.js'

test("'r+' sets the file's length and keeps the bytes, growing and shrinking", (t) => {
  const contents = pattern(10_000)
  const path = tempFile(contents)
  const m = openSync(path, { mode: 'r+' })
  m.resize(5 * pageSize + 3)
  t.is(m.length, 5 * pageSize + 3)
  t.is(statSync(path).size, 5 * pageSize + 3)
  t.deepEqual(m.view(0, 10_000), contents)
  t.true(m.view(10_000).every((byte) => byte === 0), 'the new bytes are zeros')
  m.view(-3).write('end')
  m.flush()
  t.is(readFileSync(path).subarray(-3).toString(), 'end')
  m.resize(100n)
  t.is(m.length, 100)
  t.deepEqual(readFileSync(path), contents.subarray(0, 100))
  t.is(m.buffer.length, 100)
  m.resize(0)
  t.is(statSync(path).size, 0)
  t.is(m.buffer.length, 0)
  m.resize(pageSize)
  t.deepEqual(m.buffer, Buffer.alloc(pageSize))
  m.close()
})

test("'w+' and an offset: the file's length becomes offset + newLength", (t) => {
  const path = join(tempDir(), 'created.bin')
  const m = openSync(path, { mode: 'w+', size: 3 * pageSize, offset: pageSize + 10 })
  t.is(m.length, 2 * pageSize - 10)
  m.write(Buffer.from('at the offset'))
  m.resize(10 * pageSize)
  t.is(statSync(path).size, pageSize + 10 + 10 * pageSize)
  t.is(m.view(0, 13).toString(), 'at the offset')
  m.resize(13)
  t.is(statSync(path).size, pageSize + 23)
  m.close()
  t.is(readFileSync(path).subarray(pageSize + 10).toString(), 'at the offset')
})

test('Buffers handed out before a resize are detached; buffer is made anew over the new pages', (t) => {
  const path = tempFile(pattern(3 * pageSize))
  const m = openSync(path, { mode: 'r+' })
  const whole = m.buffer
  const view = m.view(10, 20)
  const words = new Uint32Array(whole.buffer, whole.byteOffset, 8)
  m.resize(64 * pageSize)
  t.is(whole.byteLength, 0)
  t.is(view.byteLength, 0)
  t.is(words.length, 0)
  t.is(words[0] as number | undefined, undefined)
  t.not(m.buffer, whole)
  t.is(m.buffer.length, 64 * pageSize)
  t.is(m.buffer, m.buffer)
  t.deepEqual(m.view(0, 3 * pageSize), readFileSync(path).subarray(0, 3 * pageSize))
  m.close()
})

test("'r' follows a file that grew; past its end is ERR_MMAP_OUT_OF_RANGE and changes nothing", (t) => {
  const path = tempFile('0123456789')
  const m = openSync(path, { offset: 2 })
  const whole = m.buffer
  const view = m.view(0, 3)
  t.throws(() => m.resize(9), { code: 'ERR_MMAP_OUT_OF_RANGE', instanceOf: RangeError })
  t.is(m.length, 8)
  t.is(m.buffer, whole, 'the same Buffer, still attached')
  t.is(whole.toString(), '23456789')
  t.is(view.toString(), '234')

  appendFileSync(path, 'abcdef') // grown in place: Windows refuses to truncate a mapped file
  m.resize(12)
  t.is(m.length, 12)
  t.is(m.buffer.toString(), '23456789abcd')
  t.is(whole.byteLength, 0)
  t.is(view.byteLength, 0)
  t.throws(() => m.write(Buffer.from('x')), { code: 'ERR_MMAP_READ_ONLY' })
  m.resize(3)
  t.is(m.buffer.toString(), '234')
  t.is(statSync(path).size, 16, "mode 'r' never changes the file")
  m.close()
})

test('anonymous memory keeps its contents across growing and shrinking', (t) => {
  const m = anonymous(2 * pageSize)
  const contents = pattern(2 * pageSize)
  m.buffer.set(contents)
  m.resize(1 << 24)
  t.is(m.length, 1 << 24)
  t.deepEqual(m.view(0, 2 * pageSize), contents)
  t.is(m.buffer[(1 << 24) - 1], 0)
  m.buffer[(1 << 24) - 1] = 9
  m.resize(pageSize + 1)
  t.deepEqual(m.buffer, contents.subarray(0, pageSize + 1))
  m.resize(0)
  t.is(m.length, 0)
  m.resize(3)
  t.deepEqual(m.buffer, Buffer.alloc(3))
  m.close()
})

test('a failed anonymous resize keeps the mapping and the Buffers handed out as they were', (t) => {
  const m = anonymous(2 * pageSize)
  const whole = m.buffer
  const view = m.view(10, 20)
  whole[10] = 42
  // 1 PiB: more than this machine's address space and memory (Linux's mremap says EINVAL).
  const error = t.throws(() => m.resize(2 ** 50)) as NodeJS.ErrnoException
  t.regex(String(error.code), /^E[A-Z]+$/)
  t.is(m.length, 2 * pageSize)
  t.is(m.buffer, whole, 'the same Buffer, still attached')
  t.is(whole.byteLength, 2 * pageSize)
  t.is(view[0], 42)
  m.close()
})

const transfer = (ArrayBuffer.prototype as { transfer?: () => ArrayBuffer }).transfer !== undefined

testIf(transfer, `ArrayBuffer#transfer arrived in Node.js 21; this is ${process.version}`)(
  'after its ArrayBuffer was transferred away, buffer and view() give fresh Buffers over the pages',
  (t) => {
    const m = anonymous(pageSize)
    m.buffer[5] = 7
    const moved = (m.buffer.buffer as ArrayBuffer & { transfer(): ArrayBuffer }).transfer()
    t.is(new Uint8Array(moved)[5], 7, 'the transferred ArrayBuffer holds the pages')
    t.is(m.buffer.byteLength, pageSize, 'not the stale, emptied Buffer')
    t.is(m.buffer[5], 7)
    t.is(m.view(5, 6)[0], 7)
    m.buffer[6] = 8
    t.is(new Uint8Array(moved)[6], 8, 'both are the same memory')
  },
)

test('resize after advice or a lock on part of the mapping (its kernel region split)', (t) => {
  const path = tempFile(pattern(16 * pageSize))
  const m = openSync(path, { mode: 'r+' })
  m.advise('random', 0, 1)
  m.lock(pageSize * 3, pageSize * 4)
  m.resize(32 * pageSize)
  t.deepEqual(m.view(0, 16 * pageSize), pattern(16 * pageSize))
  t.is(statSync(path).size, 32 * pageSize)
  m.close()
  const a = anonymous(16 * pageSize)
  a.buffer.fill(5)
  a.advise('sequential', pageSize, 2 * pageSize)
  a.resize(64 * pageSize)
  t.is(a.buffer[16 * pageSize - 1], 5)
  a.close()
})

test('a failed resize leaves the mapping as it was and usable; arguments checked like Node', (t) => {
  const path = tempFile('keep me')
  const m = openSync(path, { mode: 'r+' })
  const whole = m.buffer
  // Far past what the file system allows: ftruncate fails with the fs-style error.
  const error = t.throws(() => m.resize(2 ** 53 - 1)) as NodeJS.ErrnoException
  t.regex(String(error.code), /^E[A-Z]+$/)
  t.is(error.syscall, 'ftruncate')
  t.is(error.path, path)
  t.is(m.length, 7)
  t.is(statSync(path).size, 7)
  t.is(m.buffer, whole)
  t.is(whole.toString(), 'keep me')
  t.throws(() => m.resize(-1), { code: 'ERR_OUT_OF_RANGE', instanceOf: RangeError })
  t.throws(() => m.resize(1.5), { code: 'ERR_OUT_OF_RANGE', instanceOf: RangeError })
  t.throws(() => m.resize('8' as unknown as number), { code: 'ERR_INVALID_ARG_TYPE', instanceOf: TypeError })
  t.throws(() => m.resize(-1n), { code: 'ERR_OUT_OF_RANGE', instanceOf: RangeError })
  t.is(whole.toString(), 'keep me')
  m.close()
  t.throws(() => m.resize(10), { code: 'ERR_MMAP_CLOSED' })
  t.is(m.length, 7)
})

const notOnWindows = testIf(!windows, 'Windows refuses to truncate a mapped file, so no page can be lost')

notOnWindows('the truncation guard follows a resized mapping: lost pages at the new address read as zeros', (t) => {
  const path = tempFile(pattern(4 * pageSize))
  const child = runChild(`
    const fs = require('fs')
    const m = memmap.openSync(${JSON.stringify(path)}, { mode: 'r+' })
    m.advise('random', 0, 1) // split the region: the resize maps the pages anew, elsewhere
    m.resize(1 << 22)
    m.buffer.fill(1)
    fs.truncateSync(${JSON.stringify(path)}, 0)
    let sum = 0
    for (let i = 0; i < m.length; i += memmap.pageSize) sum += m.buffer[i]
    let flush = 'flushed'
    try { m.flush() } catch (e) { flush = e.code }
    console.log(JSON.stringify({ sum, flush }))
  `)
  t.is(child.signal, null, child.stderr)
  t.is(child.status, 0, child.stderr)
  t.deepEqual(lastJson(child), { sum: 0, flush: 'ERR_MMAP_TRUNCATED' })
  truncateSync(path, 0)
})
