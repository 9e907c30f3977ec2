// Flushed data survives the writer's death: a child writes through a mode 'r+' mapping, flushes,
// and is killed with SIGKILL before it can do anything else; the parent reads the file.
// (A kill leaves the page cache intact, so this proves the data reached the file's pages; what
// msync adds over that, durability across a power loss, cannot be provoked in a test.)

import test from 'ava'
import { readFileSync } from 'node:fs'

import { pattern, runChild, tempFile, windows } from './helpers.js'

for (const flush of ['m.flush()', 'await m.flushAsync()', 'm.flush(4096 * 3, 4096 * 3 + 5000)']) {
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
