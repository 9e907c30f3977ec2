// Flushed data survives the writer's death: a child writes through a mode 'r+' mapping, flushes,
// and is killed with SIGKILL before it can do anything else; the parent reads the file.
// (A kill leaves the page cache intact, so this proves the data reached the file's pages; what
// msync adds over that, durability across a power loss, cannot be provoked in a test.)

import test from 'ava'
import { readFileSync, rmSync, truncateSync } from 'node:fs'

import { anonymous, openSync } from '../index.js'
import { pattern, runChild, tempFile, windows } from './helpers.js'

for (const flush of [
  'm.flush()',
  'await m.flushAsync()',
  'm.flush(4096 * 3, 4096 * 3 + 5000)',
  // Not durable against a power loss, but in the page cache, which a kill leaves intact.
  'm.flush(0, undefined, { durable: false })',
  // What `await using m = ...` runs at the end of its scope: flushAsync(), then close().
  'await m[Symbol.asyncDispose](); if (!m.closed) throw new Error("still open")',
]) {
  test(`data written then made durable with ${flush} is in the file after SIGKILL`, (t) => {
    const size = 8 * 4096
    const path = tempFile(Buffer.alloc(size))
    const data = pattern(5000, 42)
    const child = runChild(`
      (async () => {
        const m = memmap.openSync(${JSON.stringify(path)}, { mode: 'r+' });
        m.write(Buffer.from(${JSON.stringify(data.toString('base64'))}, 'base64'), 4096 * 3);
        ${flush};
        process.kill(process.pid, 'SIGKILL');
      })();
    `)
    // Windows has no signals: process.kill(pid, 'SIGKILL') is TerminateProcess, exit code 1.
    t.like(child, windows ? { signal: null, status: 1 } : { signal: 'SIGKILL' }, child.stderr)
    t.deepEqual(readFileSync(path).subarray(4096 * 3, 4096 * 3 + 5000), data)
  })
}

test('flush(start, end, { durable: false }) checks its option, reports a truncated file and a closed mapping as flush() does', (t) => {
  const path = tempFile(Buffer.alloc(3 * 4096))
  const m = openSync(path, { mode: 'r+' })
  m.write(Buffer.from('scheduled'), 10)
  t.notThrows(() => m.flush(0, 100, { durable: false }))
  t.notThrows(() => m.flush(undefined, undefined, {}))
  t.throws(() => m.flush(0, 1, { durable: 'no' as never }), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => m.flush(0, 1, 5 as never), { code: 'ERR_INVALID_ARG_TYPE' })
  if (!windows) {
    truncateSync(path, 4096) // Windows refuses to cut a file below a view of it
    t.throws(() => m.flush(0, undefined, { durable: false }), { code: 'ERR_MMAP_TRUNCATED' })
  }
  m.close()
  t.throws(() => m.flush(0, 1, { durable: false }), { code: 'ERR_MMAP_CLOSED' })
  t.is(readFileSync(path).subarray(10, 19).toString(), 'scheduled')
  rmSync(path)
})

test('await using: a writable file mapping is flushed then closed; others are just closed; a failed flush still closes', async (t) => {
  const path = tempFile(Buffer.alloc(4096))
  let kept: ReturnType<typeof openSync> | undefined
  {
    await using m = openSync(path, { mode: 'r+' })
    m.write(Buffer.from('at scope end'), 0)
    kept = m
  }
  t.true(kept.closed)
  t.is(readFileSync(path).subarray(0, 12).toString(), 'at scope end')
  const readOnly = openSync(path)
  await readOnly[Symbol.asyncDispose]()
  t.true(readOnly.closed)
  const memory = anonymous(4096)
  await memory[Symbol.asyncDispose]()
  t.true(memory.closed)
  await t.notThrowsAsync(memory[Symbol.asyncDispose](), 'disposing twice is a no-op')
  if (!windows) {
    const cut = openSync(path, { mode: 'r+' })
    truncateSync(path, 0)
    await t.throwsAsync(cut[Symbol.asyncDispose](), { code: 'ERR_MMAP_TRUNCATED' })
    t.true(cut.closed, 'closed even though the flush failed')
  }
  rmSync(path)
})
