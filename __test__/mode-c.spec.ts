// Mode 'c' (numpy's copy-on-write): the file opened read-only, private pages that write(), the
// atomics, the locks and channels may change; nothing ever reaches the file, flush() does nothing.

import test from 'ava'
import { closeSync, openSync as fsOpen, ftruncateSync, readFileSync, readSync, statSync } from 'node:fs'
import { join } from 'node:path'

import { open, openSync, pageSize } from '../index.js'
import { emulator, lastJson, linux, pattern, runChild, tempDir, tempFile, testIf, thrownCode } from './helpers.js'

/** A file of `pages` pages of a pattern, its bytes and its mtime. */
function patterned(pages: number): { path: string; bytes: Buffer; mtimeMs: number } {
  const bytes = pattern(pages * pageSize, 7)
  const path = tempFile(bytes)
  return { path, bytes, mtimeMs: statSync(path).mtimeMs }
}

test("mode 'c': Buffer writes, write(), atomics, a mutex and a channel change this mapping; the file keeps every byte and its mtime, flush() does nothing", async (t) => {
  const { path, bytes, mtimeMs } = patterned(4)
  const m = openSync(path, { mode: 'c' })
  t.is(m.mode, 'c')
  t.is(m.kind, 'file')
  m.buffer[0] = 0xaa
  t.is(m.write(Buffer.from('private'), pageSize + 3), 7)
  m.atomics.store(2 * pageSize, 41)
  t.is(m.atomics.add(2 * pageSize, 1), 41)
  // The file's bytes are a pattern: the lock word and the channel start from zeros written here.
  m.write(Buffer.alloc(8), 2 * pageSize + 8)
  m.write(Buffer.alloc(pageSize), 3 * pageSize)
  const held = m.mutex(2 * pageSize + 8).lock(2000)
  held.unlock()
  const channel = m.channel(3 * pageSize, pageSize)
  channel.send('through the private pages')
  t.is(channel.receive(2000).toString(), 'through the private pages')
  m.flush()
  await m.flushAsync()
  const back = Buffer.alloc(7)
  t.is(m.read(back, pageSize + 3), 7)
  t.is(back.toString(), 'private')
  t.is(m.buffer[0], 0xaa)
  t.is(m.atomics.load(2 * pageSize), 42)
  t.deepEqual(readFileSync(path), bytes, 'the file changed while mapped')
  m.close()
  t.deepEqual(readFileSync(path), bytes, 'the file changed at close()')
  t.is(statSync(path).mtimeMs, mtimeMs)
})

test("mode 'c': large copies go through the pages: read() after a 1 MiB write() gives what was written, and write() never reaches a file opened for writing", (t) => {
  const size = 1024 * 1024
  const { path, bytes } = patterned(Math.ceil((2 * size) / pageSize))
  const written = pattern(size, 99)
  // By path: the mapping keeps no descriptor for reads.
  const m = openSync(path, { mode: 'c' })
  m.write(written, 0)
  const back = Buffer.alloc(size)
  t.is(m.read(back, 0), size)
  t.true(back.equals(written), 'read() gave the file, not the mapping')
  m.close()
  // By a descriptor the caller opened read-write: the mapping's own copy of it must not write.
  const fd = fsOpen(path, 'r+')
  try {
    const d = openSync(fd, { mode: 'c' })
    d.write(written, size)
    const back2 = Buffer.alloc(size)
    d.read(back2, size)
    t.true(back2.equals(written))
    d.close()
  } finally {
    closeSync(fd)
  }
  t.deepEqual(readFileSync(path), bytes, 'a mode c write reached the file')
})

test("mode 'c': two mappings of one file do not see each other's writes, nor does an 'r+' mapping of it", async (t) => {
  const { path, bytes } = patterned(2)
  const a = openSync(path, { mode: 'c' })
  const b = await open(path, { mode: 'c' })
  const shared = openSync(path, { mode: 'r+' })
  a.write(Buffer.from('from a'), 100)
  t.is(b.view(100, 106).toString('latin1'), bytes.subarray(100, 106).toString('latin1'))
  t.is(shared.view(100, 106).toString('latin1'), bytes.subarray(100, 106).toString('latin1'))
  t.is(a.view(100, 106).toString(), 'from a')
  a.close()
  b.close()
  shared.close()
})

test("mode 'c' maps a descriptor opened read-only, where 'r+' is EACCES", (t) => {
  const { path, bytes } = patterned(1)
  const fd = fsOpen(path, 'r')
  try {
    t.is(thrownCode(() => openSync(fd, { mode: 'r+' })), 'EACCES')
    const m = openSync(fd, { mode: 'c' })
    m.write(Buffer.from('mine'), 0)
    t.is(m.view(0, 4).toString(), 'mine')
    m.close()
  } finally {
    closeSync(fd)
  }
  t.deepEqual(readFileSync(path), bytes)
})

test("mode 'c': resize() is ERR_MMAP_UNSUPPORTED and leaves the mapping, its changes and its Buffers as they were", (t) => {
  const { path } = patterned(2)
  const m = openSync(path, { mode: 'c' })
  const view = m.view(0, 8)
  m.write(Buffer.from('kept'), 0)
  const error = t.throws(() => m.resize(pageSize)) as NodeJS.ErrnoException
  t.is(error.code, 'ERR_MMAP_UNSUPPORTED')
  t.regex(error.message, /private changes/)
  t.is(m.length, 2 * pageSize)
  t.is(view.byteLength, 8)
  t.is(view.subarray(0, 4).toString(), 'kept')
  m.close()
})

test("mode 'c': the mode names it in errors: an unknown mode lists 'c', and mode 'r' points to it for private writes", (t) => {
  const { path } = patterned(1)
  const error = t.throws(() => openSync(path, { mode: 'x' as 'c' })) as NodeJS.ErrnoException
  t.is(error.code, 'ERR_INVALID_ARG_VALUE')
  t.regex(error.message, /'c'/)
  const r = openSync(path)
  const readOnly = t.throws(() => r.write(Buffer.from('x'))) as NodeJS.ErrnoException
  t.is(readOnly.code, 'ERR_MMAP_READ_ONLY')
  t.regex(readOnly.message, /'c'/)
  r.close()
})

test("mode 'c' where zero-copy Buffers are refused: write(), read() and the atomics work through the binding, and the file is unchanged", (t) => {
  const { path, bytes } = patterned(2)
  const child = runChild(
    `
const m = memmap.openSync(${JSON.stringify(path)}, { mode: 'c' })
const out = { zeroCopy: m.zeroCopy, mode: m.mode }
out.write = m.write(Buffer.from('refused but private'), 10)
const back = Buffer.alloc(19)
out.read = [m.read(back, 10), back.toString()]
m.atomics.store(${pageSize}, 5)
out.atomic = m.atomics.add(${pageSize}, 2) + m.atomics.load(${pageSize})
m.flush()
m.close()
console.log(JSON.stringify(out))
`,
    { env: { MEMMAP_NO_EXTERNAL_BUFFERS: '1' } },
  )
  t.is(child.status, 0, child.stderr)
  t.deepEqual(lastJson(child), { zeroCopy: false, mode: 'c', write: 19, read: [19, 'refused but private'], atomic: 12 })
  t.deepEqual(readFileSync(path), bytes)
})

testIf(linux, 'truncation reaches Linux mappings through SIGBUS')(
  "mode 'c' over a file cut short: pages inside the new length keep what was written, lost pages read as zeros (written ones too: Linux drops private copies with the file's pages), flush() does nothing; the process lives",
  (t) => {
    const { path } = patterned(4)
    const child = runChild(`
const fs = require('fs')
const m = memmap.openSync(${JSON.stringify(path)}, { mode: 'c' })
m.write(Buffer.from('written'), 0)
m.write(Buffer.from('written'), ${3 * pageSize})
const fd = fs.openSync(${JSON.stringify(path)}, 'r+')
fs.ftruncateSync(fd, ${pageSize})
fs.closeSync(fd)
let sum = 0
for (let i = ${pageSize}; i < ${4 * pageSize}; i++) sum += m.buffer[i]
const out = { sum, kept: m.view(0, 7).toString() }
m.flush()
out.flushed = true
m.close()
console.log(JSON.stringify(out))
`)
    t.is(child.signal, null, child.stderr)
    t.is(child.status, 0, child.stderr)
    t.deepEqual(lastJson(child), { sum: 0, kept: 'written', flushed: true })
  },
)

testIf(emulator === null, 'a 64 GiB view needs a 64-bit host kernel (wine and qemu map it differently)')(
  "mode 'c' maps a 64 GiB sparse file on a machine with 24 GiB of RAM, and writes to its far end stay private",
  (t) => {
    const path = join(tempDir(), 'sparse.bin')
    const size = 64 * 2 ** 30
    const fd = fsOpen(path, 'w')
    ftruncateSync(fd, size)
    closeSync(fd)
    const m = openSync(path, { mode: 'c' })
    t.is(m.length, size)
    m.write(Buffer.from('end'), size - 3)
    m.atomics.store(32 * 2 ** 30, 7)
    t.is(m.view(size - 3).toString(), 'end')
    t.is(m.atomics.load(32 * 2 ** 30), 7)
    m.close()
    t.is(statSync(path).size, size)
    const tail = Buffer.alloc(3)
    const check = fsOpen(path, 'r')
    try {
      // The file's far end is still a hole of zeros.
      t.is(readSync(check, tail, 0, 3, size - 3), 3)
      t.deepEqual([...tail], [0, 0, 0])
    } finally {
      closeSync(check)
    }
  },
)

test("mode 'c' in another process: its writes never reach this process's mappings or the file, and this process's never reach it", (t) => {
  const { path, bytes } = patterned(1)
  const mine = openSync(path, { mode: 'c' })
  const reader = openSync(path)
  mine.write(Buffer.from('parent'), 0)
  const child = runChild(`
const m = memmap.openSync(${JSON.stringify(path)}, { mode: 'c' })
const seen = m.view(0, 6).toString('latin1')
m.write(Buffer.from('child!'), 100)
m.atomics.store(200, 12345)
console.log(JSON.stringify({ seen, own: m.view(100, 106).toString() }))
m.close()
`)
  t.is(child.status, 0, child.stderr)
  t.deepEqual(lastJson(child), { seen: bytes.subarray(0, 6).toString('latin1'), own: 'child!' })
  t.true(mine.view(100, 204).equals(bytes.subarray(100, 204)))
  t.true(reader.view(100, 204).equals(bytes.subarray(100, 204)))
  t.is(mine.view(0, 6).toString(), 'parent')
  mine.close()
  reader.close()
  t.deepEqual(readFileSync(path), bytes)
})
