// Where the runtime refuses Buffers over memory V8 did not allocate (Electron's memory cage),
// forced in plain Node.js with MEMMAP_NO_EXTERNAL_BUFFERS=1: `buffer` and `view()` throw
// ERR_MMAP_EXTERNAL_BUFFER_REFUSED, never a copy that looks like a mapping, and every other
// method works.

import test from 'ava'
import { readFileSync } from 'node:fs'

import { lastJson, pattern, runChild, tempFile, underQemu } from './helpers.js'

const CHILD = (path: string) => `
const fs = require('fs')
const path = ${JSON.stringify(path)}
const outcome = (f) => { try { const v = f(); return v === undefined ? 'ok' : v } catch (e) { return { code: e.code, message: e.message } } }
;(async () => {
  const out = {}
  const m = memmap.openSync(path, { mode: 'r+' })
  out.zeroCopy = m.zeroCopy
  out.buffer = outcome(() => m.buffer)
  out.view = outcome(() => m.view(0, 10))
  out.write = m.write(Buffer.from('written'), 4096)
  m.flush()
  await m.flushAsync(0, 8192)
  const back = Buffer.alloc(7)
  out.read = [m.read(back, 4096), back.toString()]
  out.file = fs.readFileSync(path).subarray(4096, 4103).toString()
  out.advise = m.advise('willneed')
  out.residency = m.residency(4096, 4097)
  m.lock(0, 4096)
  m.unlock()
  await m.prefetch()
  m.resize(5 * 4096)
  out.resized = [m.length, fs.statSync(path).size]
  const tail = Buffer.alloc(4)
  out.tail = [m.write(Buffer.from('tail'), 5 * 4096 - 4), m.read(tail, 5 * 4096 - 4), tail.toString()]
  m.flush(-4)
  out.fileTail = fs.readFileSync(path).subarray(-4).toString()
  const a = memmap.anonymous(8192, { populate: true })
  out.anonymous = [a.zeroCopy, outcome(() => a.buffer).code, a.write(Buffer.from('anon'), 8000), a.residency()]
  a.resize(16384)
  const anon = Buffer.alloc(4)
  out.anonRead = [a.read(anon, 8000), anon.toString(), a.length]
  a.close()
  const r = await memmap.open(path)
  out.readOnly = [outcome(() => r.view()).code, r.read(back, 4096), back.toString(), outcome(() => r.write(back)).code]
  r.close()
  m.close()
  out.closed = [outcome(() => m.buffer).code, outcome(() => m.view()).code, outcome(() => m.read(back)).code]
  console.log(JSON.stringify(out))
})()
`

test('MEMMAP_NO_EXTERNAL_BUFFERS=1: buffer and view() refused with a pointer to read()/write(); the rest works', (t) => {
  const contents = pattern(3 * 4096 + 5)
  const path = tempFile(contents)
  const child = runChild(CHILD(path), { env: { MEMMAP_NO_EXTERNAL_BUFFERS: '1' } })
  t.is(child.status, 0, child.stderr)
  const out = lastJson<Record<string, unknown>>(child)
  t.false(out.zeroCopy)
  for (const name of ['buffer', 'view']) {
    const refused = out[name] as { code: string; message: string }
    t.is(refused.code, 'ERR_MMAP_EXTERNAL_BUFFER_REFUSED', name)
    t.regex(refused.message, /read\(\).*write\(\)/, name)
  }
  t.is(out.write, 7)
  t.deepEqual(out.read, [7, 'written'])
  t.is(out.file, 'written', 'write() + flush() reached the file')
  t.true(out.advise)
  t.deepEqual(out.residency, { pages: 1, resident: 1 })
  t.deepEqual(out.resized, [5 * 4096, 5 * 4096])
  t.deepEqual(out.tail, [4, 4, 'tail'])
  t.is(out.fileTail, 'tail')
  const [zeroCopy, refused, written, residency] = out.anonymous as [boolean, string, number, { pages: number }]
  t.deepEqual([zeroCopy, refused, written], [false, 'ERR_MMAP_EXTERNAL_BUFFER_REFUSED', 4])
  // Populated: every page resident. qemu-user drops MAP_POPULATE (helpers.ts): there only the
  // count of pages can be checked.
  if (underQemu) t.is(residency.pages, 2)
  else t.deepEqual(residency, { pages: 2, resident: 2 })
  t.deepEqual(out.anonRead, [4, 'anon', 16384])
  t.deepEqual(out.readOnly, ['ERR_MMAP_EXTERNAL_BUFFER_REFUSED', 7, 'written', 'ERR_MMAP_READ_ONLY'])
  t.deepEqual(out.closed, ['ERR_MMAP_CLOSED', 'ERR_MMAP_CLOSED', 'ERR_MMAP_CLOSED'])
  const file = readFileSync(path)
  t.deepEqual(file.subarray(0, 4096), contents.subarray(0, 4096), 'nothing else changed')
})

test('without the switch the same child gets zero-copy Buffers', (t) => {
  const child = runChild('console.log(JSON.stringify({ zeroCopy: memmap.anonymous(1).zeroCopy, length: memmap.anonymous(9).buffer.length }))', {
    env: { MEMMAP_NO_EXTERNAL_BUFFERS: '' },
  })
  t.is(child.status, 0, child.stderr)
  t.deepEqual(lastJson(child), { zeroCopy: true, length: 9 })
})
