// close() racing work in flight on other threads never crashes or hangs: the work finishes or
// rejects with ERR_MMAP_CLOSED.

import test from 'ava'

import { lastJson, pattern, root, runChild, tempFile } from './helpers.js'

test('close() while 200 flushAsync() calls are in flight: each resolves or rejects ERR_MMAP_CLOSED', (t) => {
  const path = tempFile(pattern(1 << 20))
  const child = runChild(`
    (async () => {
      const outcomes = {};
      for (let round = 0; round < 20; round++) {
        const m = memmap.openSync(${JSON.stringify(path)}, { mode: 'r+' });
        m.buffer.fill(round);
        const pending = Array.from({ length: 10 }, (_, i) => m.flushAsync(i * 4096, i * 4096 + 100000));
        if (round % 2) await new Promise((r) => setImmediate(r));
        m.close();
        for (const result of await Promise.allSettled(pending)) {
          const key = result.status === 'fulfilled' ? 'flushed' : result.reason.code;
          outcomes[key] = (outcomes[key] ?? 0) + 1;
        }
      }
      console.log(JSON.stringify(outcomes));
    })();
  `)
  t.is(child.signal, null, child.stderr)
  t.is(child.status, 0, child.stderr)
  const outcomes = lastJson<Record<string, number>>(child)
  t.deepEqual(Object.keys(outcomes).filter((k) => k !== 'flushed' && k !== 'ERR_MMAP_CLOSED'), [])
  t.is(Object.values(outcomes).reduce((a, b) => a + b, 0), 200)
})

test('open() calls in flight when the process exits, and mappings closed as they arrive', (t) => {
  const path = tempFile(pattern(64 * 1024))
  const child = runChild(`
    let settled = 0;
    for (let i = 0; i < 100; i++) {
      memmap.open(${JSON.stringify(path)}).then((m) => { m.close(); m.close(); settled++ });
    }
    memmap.open(${JSON.stringify(path)}).then((m) => {
      const view = m.view(0, 10);
      m.close();
      console.log(JSON.stringify({ detached: view.length === 0 }));
      process.exit(0); // others are still in flight
    });
  `)
  t.is(child.signal, null, child.stderr)
  t.is(child.status, 0, child.stderr)
  t.deepEqual(lastJson(child), { detached: true })
})

test('mappings made and closed from several worker threads at once', (t) => {
  const path = tempFile(pattern(256 * 1024))
  const child = runChild(`
    const { Worker } = require('worker_threads');
    // Paths travel as workerData: spliced into the nested source, a Windows path's backslashes
    // would be read as escapes.
    const source = \`
      const { parentPort, workerData } = require('worker_threads');
      const memmap = require(workerData.root);
      let sum = 0;
      for (let i = 0; i < 2000; i++) {
        const m = memmap.openSync(workerData.path);
        sum += m.view(i, i + 1)[0];
        m.close();
      }
      parentPort.postMessage(sum);
    \`;
    Promise.all(Array.from({ length: 4 }, () => new Promise((resolve, reject) => {
      const w = new Worker(source, { eval: true, workerData: ${JSON.stringify({ root, path })} });
      w.on('message', resolve); w.on('error', reject);
    }))).then((sums) => console.log(JSON.stringify(sums.every((s) => s === sums[0]))));
  `)
  t.is(child.status, 0, child.stderr)
  t.deepEqual(lastJson(child), true)
})
