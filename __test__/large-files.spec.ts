// Files larger than RAM (this machine has 24 GiB) and larger than one Buffer (4 GiB on Node.js
// 20): mapped in microseconds, every byte reachable, only touched pages resident.

import test from 'ava'
import { closeSync, openSync as fsOpen, readSync } from 'node:fs'

import { maxViewLength, openSync } from '../index.js'
import { sparseFile, testIf, windows } from './helpers.js'

const GiB = 2 ** 30

// Windows charges a copy-on-write view's whole size to the commit limit (RAM + page file) when
// it is mapped, so mode 'r' there maps only files smaller than that (the README says so).
const notOnWindows = testIf(!windows, "Windows charges a copy-on-write view's whole size to the commit limit")

notOnWindows("a 64 GiB sparse file maps in mode 'r' and every byte is reachable", (t) => {
  const size = 64 * GiB
  const path = sparseFile(size, [[5 * GiB + 3, 'past four'], [size - 4, 'tail']])
  const m = openSync(path)
  t.is(m.length, size)
  if (maxViewLength < size) {
    t.throws(() => m.buffer, { code: 'ERR_MMAP_TOO_LARGE', instanceOf: RangeError })
    t.throws(() => m.view(0, maxViewLength + 1), { code: 'ERR_MMAP_TOO_LARGE' })
  } else {
    t.is(m.buffer.length, size)
    t.is(m.buffer.toString('latin1', size - 4), 'tail')
  }
  t.is(m.view(5 * GiB + 3, 5 * GiB + 12).toString(), 'past four')
  t.is(m.view(-4).toString(), 'tail')
  const target = Buffer.alloc(9)
  t.is(m.read(target, 5 * GiB + 3), 9)
  t.is(target.toString(), 'past four')
  t.is(m.read(target, size - 4), 4)
  m.close()
})

test("mode 'r' offsets past 4 GiB map only the window asked for", (t) => {
  const path = sparseFile(16 * GiB, [[12 * GiB + 1, 'window']])
  const m = openSync(path, { offset: 12 * GiB + 1, length: 6 })
  t.is(m.buffer.toString(), 'window')
  m.close()
})

test("mode 'r+' writes past 4 GiB reach the file", (t) => {
  const size = 8 * GiB
  const path = sparseFile(size, [])
  const m = openSync(path, { mode: 'r+' })
  m.write(Buffer.from('written through the mapping'), 6 * GiB + 1)
  m.view(size - 3).write('end')
  m.flush(6 * GiB, 6 * GiB + 100)
  m.flush(-3)
  m.close()
  const fd = fsOpen(path, 'r')
  const back = Buffer.alloc(27)
  readSync(fd, back, 0, 27, 6 * GiB + 1)
  const tail = Buffer.alloc(3)
  readSync(fd, tail, 0, 3, size - 3)
  closeSync(fd)
  t.is(back.toString(), 'written through the mapping')
  t.is(tail.toString(), 'end')
})
