// read() and write() through the file (pread/pwrite) instead of the pages, where that gives the
// same bytes (crates/memmap-core/src/io.rs): these check that it always does, whichever path a
// call takes.

import test from 'ava'
import { readFileSync, truncateSync, statSync } from 'node:fs'

import { openSync } from '../index.js'
import { pattern, procCounts, tempFile, testIf, windows } from './helpers.js'

test("mode 'r': read() gives the file's bytes, then the pages' once JavaScript wrote them through a Buffer", (t) => {
  const contents = pattern(8192)
  const m = openSync(tempFile(contents))
  const eight = Buffer.alloc(8)
  t.is(m.read(eight, 100), 8)
  t.deepEqual(eight, contents.subarray(100, 108))
  // A private page written by JavaScript differs from the file from now on.
  m.buffer.write('changed!', 100)
  t.is(m.read(eight, 100), 8)
  t.is(eight.toString(), 'changed!')
  t.deepEqual(readFileSync(m.path!).subarray(100, 108), contents.subarray(100, 108), 'the file is untouched')
  m.close()
})

test("mode 'r+': a write() is seen at once by read(), by Buffers and by the file, before and after the pages were touched", (t) => {
  const path = tempFile(pattern(1 << 20))
  const m = openSync(path, { mode: 'r+' })
  t.is(m.write(Buffer.from('first'), 10), 5)
  t.is(readFileSync(path).subarray(10, 15).toString(), 'first')
  t.is(m.view(10, 15).toString(), 'first')
  const big = pattern(512 * 1024, 7)
  t.is(m.write(big, 4096), big.length, 'a large write after the pages were touched')
  t.deepEqual(m.view(4096, 4096 + big.length), big)
  const back = Buffer.alloc(big.length)
  t.is(m.read(back, 4096), big.length)
  t.deepEqual(back, big)
  m.flush()
  t.deepEqual(readFileSync(path).subarray(4096, 4096 + big.length), big)
  m.close()
})

test('read() into and write() from a view of the same mapping behave like memmove', (t) => {
  const contents = pattern(4 * 4096)
  const path = tempFile(contents)
  const m = openSync(path, { mode: 'r+' })
  // Overlapping forward copy: [0, 8192) to [100, 8292).
  const target = m.view(100, 8292)
  t.is(m.read(target, 0), 8192)
  t.deepEqual(m.view(100, 8292), contents.subarray(0, 8192))
  // And back: the bytes now at [100, 8292) written to [0, 8192).
  t.is(m.write(m.view(100, 8292), 0), 8192)
  t.deepEqual(m.view(0, 8192), contents.subarray(0, 8192))
  m.close()
})

testIf(!windows, 'Windows cannot truncate a file that is mapped')(
  "mode 'r+': a write() past the end of a file cut short under the mapping does not grow the file back",
  (t) => {
    const path = tempFile(pattern(4 * 4096))
    const m = openSync(path, { mode: 'r+' })
    truncateSync(path, 4096)
    t.is(m.write(Buffer.from('lost'), 3 * 4096), 4)
    t.is(statSync(path).size, 4096, 'the file kept the length it was cut to')
    const four = Buffer.alloc(4, 1)
    t.is(m.read(four, 3 * 4096), 4)
    t.deepEqual(four, Buffer.from('lost'), 'this process still sees its write, in the guard\'s page')
    const error = t.throws(() => m.flush())
    t.truthy((error as NodeJS.ErrnoException).code)
    m.close()
  },
)

testIf(process.platform === 'linux', 'counts descriptors in /proc/self/fd')(
  "at most 256 live mode 'r' mappings keep a descriptor; all are closed with the mappings",
  (t) => {
    const path = tempFile(pattern(4096))
    const before = procCounts().fds
    const mappings = Array.from({ length: 400 }, () => openSync(path))
    const during = procCounts().fds - before
    t.true(during <= 256, `${during} descriptors for 400 mappings`)
    t.true(during >= 200, `the first mappings keep theirs (${during})`)
    const eight = Buffer.alloc(8)
    for (const m of mappings) t.is(m.read(eight, 0), 8)
    for (const m of mappings) m.close()
    t.is(procCounts().fds, before)
  },
)
