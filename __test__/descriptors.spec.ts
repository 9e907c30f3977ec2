// openSync(fd | FileHandle) / open(...): a file the caller opened is mapped; the caller keeps its
// descriptor (memmap keeps a duplicate), a mode the descriptor was not opened for is EACCES in
// fs style, and nothing leaks.

import test from 'ava'
import { appendFileSync, closeSync, constants, openSync as fsOpen, readFileSync, rmSync, statSync } from 'node:fs'
import { open as fsOpenAsync } from 'node:fs/promises'

import { open, openSync } from '../index.js'
import { errno, lastJson, linux, pattern, runChild, tempFile, testIf } from './helpers.js'

test('a descriptor is mapped, path null, and the caller may close its own at once', (t) => {
  const bytes = pattern(10_000, 4)
  const path = tempFile(bytes)
  const fd = fsOpen(path, 'r')
  const m = openSync(fd, { offset: 100 })
  closeSync(fd)
  t.is(m.kind, 'file')
  t.is(m.mode, 'r')
  t.is(m.path, null)
  t.is(m.offset, 100)
  t.is(m.length, bytes.length - 100)
  const copy = Buffer.alloc(m.length)
  m.read(copy)
  t.deepEqual(copy, bytes.subarray(100))
  m.close()
  rmSync(path)
})

test('a FileHandle is mapped by open(); the handle stays usable and its own after close()', async (t) => {
  const path = tempFile(pattern(8192, 5))
  const handle = await fsOpenAsync(path, 'r+')
  const m = await open(handle, { mode: 'r+' })
  m.write(Buffer.from('through the mapping'), 10)
  m.flush(0, 64)
  m.close()
  const back = Buffer.alloc(19)
  await handle.read(back, 0, 19, 10)
  t.is(back.toString(), 'through the mapping')
  await handle.close()
  t.is(readFileSync(path).subarray(10, 29).toString(), 'through the mapping')
  rmSync(path)
})

test("'w+' over a descriptor empties the file and gives it size bytes", (t) => {
  const path = tempFile(pattern(5000, 6))
  const fd = fsOpen(path, 'r+')
  const m = openSync(fd, { mode: 'w+', size: 64 })
  closeSync(fd)
  t.is(m.length, 64)
  t.is(statSync(path).size, 64)
  t.deepEqual(m.view(), Buffer.alloc(64))
  m.close()
  rmSync(path)
})

test("mode 'r' follows a file that grew through its descriptor on resize()", (t) => {
  const path = tempFile(pattern(4096, 7))
  const fd = fsOpen(path, 'r+')
  const m = openSync(fd)
  appendFileSync(path, 'grown') // growing, not rewriting: Windows cannot cut a mapped file
  m.resize(4096 + 5)
  t.is(m.view(4096).toString(), 'grown')
  m.close()
  closeSync(fd)
  rmSync(path)
})

test("a descriptor opened read-only is EACCES for 'r+' and 'w+', with code, errno, syscall and advice", (t) => {
  const path = tempFile(pattern(100, 8))
  const fd = fsOpen(path, 'r')
  t.teardown(() => {
    closeSync(fd)
    rmSync(path)
  })
  for (const options of [{ mode: 'r+' as const }, { mode: 'w+' as const, size: 10 }]) {
    const error = t.throws(() => openSync(fd, options)) as NodeJS.ErrnoException
    t.is(error.code, 'EACCES')
    t.is(error.errno, errno('EACCES'))
    t.is(error.syscall, 'mmap')
    t.is(error.path, undefined)
    t.regex(error.message, /^EACCES: permission denied, mmap: the descriptor was opened read-only/)
  }
  t.is(statSync(path).size, 100, 'the file is left as it was')
})

test("a write-only or append-only descriptor is EACCES: mapping reads, and 'a' cannot write in place", (t) => {
  const path = tempFile(pattern(100, 9))
  const writeOnly = fsOpen(path, constants.O_WRONLY)
  const append = fsOpen(path, 'a+')
  t.throws(() => openSync(writeOnly), { code: 'EACCES', message: /write-only/ })
  t.throws(() => openSync(append, { mode: 'r+' }), { code: 'EACCES', message: /appending/ })
  closeSync(writeOnly)
  closeSync(append)
  rmSync(path)
})

test('a closed descriptor or FileHandle is EBADF; a number that is no descriptor is ERR_OUT_OF_RANGE, as in fs', async (t) => {
  const path = tempFile('x')
  const fd = fsOpen(path, 'r')
  closeSync(fd)
  const error = t.throws(() => openSync(fd)) as NodeJS.ErrnoException
  t.is(error.code, 'EBADF')
  t.is(error.errno, errno('EBADF'))
  t.is(error.syscall, 'dup')
  const handle = await fsOpenAsync(path, 'r')
  await handle.close()
  await t.throwsAsync(open(handle), { code: 'EBADF' })
  for (const bad of [-1, 1.5, 2 ** 31, Number.NaN]) {
    t.throws(() => openSync(bad), { code: 'ERR_OUT_OF_RANGE', instanceOf: RangeError })
  }
  t.throws(() => openSync({ fd: 3 } as never), { code: 'ERR_INVALID_ARG_TYPE' })
  rmSync(path)
})

test('open() duplicates the descriptor before it returns: closing it right after is safe', async (t) => {
  const bytes = pattern(4096, 10)
  const path = tempFile(bytes)
  const fd = fsOpen(path, 'r')
  const pending = open(fd)
  closeSync(fd)
  const m = await pending
  t.deepEqual(m.view(0, 16), bytes.subarray(0, 16))
  m.close()
  rmSync(path)
})

testIf(linux, '/proc/self/fd and /proc/self/maps are Linux')(
  'no descriptor or mapping is left after 2,000 descriptor mappings are closed',
  (t) => {
    const path = tempFile(pattern(8192, 11))
    // In a child with --expose-gc: V8's own heap regions grow in a busy runner without a GC.
    const result = runChild(
      `const fs = require('fs')
       const fd = fs.openSync(${JSON.stringify(path)}, 'r+')
       const counts = () => { gc(); return [fs.readdirSync('/proc/self/fd').length, fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').length] }
       const cycle = (i) => memmap.openSync(fd, { mode: i % 2 ? 'r' : 'r+' }).close()
       for (let i = 0; i < 50; i++) cycle(i)
       const before = counts()
       for (let i = 0; i < 2000; i++) cycle(i)
       console.log(JSON.stringify([before, counts()]))`,
      { args: ['--expose-gc'] },
    )
    t.is(result.status, 0, result.stderr)
    const [[fdsBefore, mapsBefore], [fdsAfter, mapsAfter]] = lastJson<number[][]>(result)
    t.is(fdsAfter, fdsBefore)
    // A leak would leave 2,000 regions; the allocator's own come and go by a few.
    t.true(mapsAfter - mapsBefore <= 8, `${mapsAfter - mapsBefore} more map lines`)
    rmSync(path)
  },
)

test('after close(): the properties stay readable and methods throw ERR_MMAP_CLOSED', (t) => {
  const path = tempFile(pattern(100, 12))
  const fd = fsOpen(path, 'r')
  const m = openSync(fd)
  closeSync(fd)
  m.close()
  t.true(m.closed)
  t.is(m.path, null)
  t.throws(() => m.read(Buffer.alloc(1)), { code: 'ERR_MMAP_CLOSED' })
  t.throws(() => m.indexOf(1), { code: 'ERR_MMAP_CLOSED' })
  rmSync(path)
})

const fileHandleLike = (value: number) => ({ fd: value, getAsyncId: () => 0 })

test("a FileHandle-like object's fd gets a number's checks: 2 ** 32 + n, n + 0.9 and NaN never map descriptor n", (t) => {
  const secret = tempFile('secret bytes')
  const fd = fsOpen(secret, 'r')
  try {
    for (const value of [2 ** 32 + fd, fd + 0.9, Number.NaN, -2, 2 ** 31]) {
      const error = t.throws(() => openSync(fileHandleLike(value) as never), undefined, `fd ${value}`)
      t.is((error as NodeJS.ErrnoException | undefined)?.code, 'ERR_OUT_OF_RANGE', `fd ${value}`)
    }
    // The descriptor itself, as a FileHandle-like object, is still mapped.
    const m = openSync(fileHandleLike(fd) as never)
    t.is(m.buffer.toString(), 'secret bytes')
    m.close()
  } finally {
    closeSync(fd)
  }
})
