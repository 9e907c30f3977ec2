// Where the runtime refuses Buffers over memory V8 did not allocate (Electron's memory cage),
// forced in plain Node.js with MEMMAP_NO_EXTERNAL_BUFFERS=1: `buffer` and `view()` throw
// ERR_MMAP_EXTERNAL_BUFFER_REFUSED, never a copy that looks like a mapping, and every other
// method works.

import test from 'ava'
import { readFileSync } from 'node:fs'

import { lastJson, linux, pattern, runChild, tempFile, testIf, underQemu } from './helpers.js'

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

// The small calls take JavaScript's fast path over a zero-copy window from their second call in
// the same MiB (src/window.ts), and the binding where Buffers are refused: both must give the
// same results, errors included.
const SMALL_CALLS = (path: string) => `
const outcome = (f) => { try { const v = f(); return typeof v === 'bigint' ? v + 'n' : v } catch (e) { return e.code } }
const m = memmap.openSync(${JSON.stringify(path)}, { mode: 'r+' })
const a = m.atomics
const out = []
for (let round = 0; round < 3; round++) {
  const eight = Buffer.alloc(8)
  out.push(m.read(eight, 4090 + round), eight.toString('hex'), m.write(Buffer.from([round, 7]), 100 + round))
  out.push(a.add(0, 5), a.sub(4, 3), a.and(8, 6), a.or(12, 9), a.xor(16, 0xff), a.exchange(20, round))
  out.push(a.compareExchange(24, round, round + 1), a.load(24), a.store(28, -round), a.load(28))
  out.push(outcome(() => a.add64(32, 2n ** 40n)), outcome(() => a.compareExchange64(40, 0n, -1n)), outcome(() => a.load64(40)))
  out.push(outcome(() => a.store64(48, 5n)), outcome(() => a.add(2, 1)), outcome(() => a.add(8192, 1)), outcome(() => a.add(-4, 1)))
  out.push(outcome(() => a.add64(4, 1n)), outcome(() => a.load(4.5)), outcome(() => a.add(0, 'x')), outcome(() => m.read(eight, 1 << 20)))
}
const r = memmap.openSync(${JSON.stringify(path)})
const ra = r.atomics
for (let round = 0; round < 3; round++) {
  out.push(ra.load(0), outcome(() => ra.add(0, 1)), outcome(() => ra.store(0, 1)), outcome(() => ra.compareExchange64(32, 0n, 1n)))
  out.push(outcome(() => r.write(Buffer.from('no'), 0)), r.read(Buffer.alloc(2), 100))
}
r.close()
m.close()
for (let round = 0; round < 2; round++) out.push(outcome(() => a.add(0, 1)), outcome(() => a.load(0)), outcome(() => m.read(Buffer.alloc(1), 0)), outcome(() => m.write(Buffer.alloc(1), 0)))
console.log(JSON.stringify(out))
`

test('the small calls give the same results and errors with zero-copy windows and where Buffers are refused', (t) => {
  const contents = pattern(2 * 4096)
  const results = ['0', '1'].map((refused) => {
    const path = tempFile(contents)
    const child = runChild(SMALL_CALLS(path), { env: { MEMMAP_NO_EXTERNAL_BUFFERS: refused } })
    t.is(child.status, 0, child.stderr)
    return { out: lastJson<unknown[]>(child), file: readFileSync(path) }
  })
  t.deepEqual(results[0].out, results[1].out)
  t.deepEqual(results[0].file, results[1].file)
  // Spot checks that the sequence did what it says, so equal results are not equally wrong.
  const out = results[0].out
  t.is(out[2], 2, 'write() returns its byte count')
  t.is(out[3], contents.readInt32LE(0), 'the first add sees the file\'s first word')
  t.true(out.includes('ERR_MMAP_READ_ONLY'))
  t.true(out.includes('ERR_MMAP_CLOSED'))
  t.true(out.includes('ERR_OUT_OF_RANGE'))
})

// The locks and atomics of the refused mode go through functions bound to their mapping's core
// handle (crates/memmap-node/src/fast.rs). Each holds a reference to the handle until it is
// collected: a leak would keep every dropped mapping's pages and descriptor.
testIf(linux, 'counts descriptors and mappings in Linux /proc/self')(
  'where Buffers are refused, 2,000 mappings that locked and were dropped without close() give back their pages and descriptors',
  (t) => {
    // All zero: a free mutex, and a counter from 0.
    const path = tempFile(Buffer.alloc(4 * 4096))
    const child = runChild(
      `
      const fs = require('fs');
      const counts = () => {
        const maps = fs.readFileSync('/proc/self/maps', 'utf8').split('\\n');
        return { fds: fs.readdirSync('/proc/self/fd').length, file: maps.filter((l) => l.endsWith(${JSON.stringify(path)})).length };
      };
      const use = () => {
        const m = memmap.openSync(${JSON.stringify(path)}, { mode: 'r+' });
        m.mutex(0).lock().unlock();
        m.atomics.add(8, 1);
        return m.zeroCopy;
      };
      use();
      const start = counts();
      let zeroCopy = false;
      for (let i = 0; i < 2000; i++) zeroCopy ||= use();
      const peak = counts();
      let rounds = 0;
      const settle = () => {
        global.gc();
        const now = counts();
        if ((now.file === 0 && now.fds <= start.fds) || ++rounds > 100) {
          console.log(JSON.stringify({ zeroCopy, start, peak, after: now }));
        } else setTimeout(settle, 10);
      };
      setImmediate(settle);
    `,
      { args: ['--expose-gc'], env: { MEMMAP_NO_EXTERNAL_BUFFERS: '1' } },
    )
    t.is(child.status, 0, child.stderr)
    const out = lastJson<{ zeroCopy: boolean; start: { fds: number }; peak: { file: number }; after: { fds: number; file: number } }>(child)
    t.false(out.zeroCopy)
    t.true(out.peak.file > 0, 'the mappings were alive before the collection')
    t.is(out.after.file, 0)
    t.true(out.after.fds <= out.start.fds, JSON.stringify(out))
    t.is(readFileSync(path).readInt32LE(8), 2001)
  },
)
