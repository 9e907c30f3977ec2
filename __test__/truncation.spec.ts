// A file cut short under a live mapping must not kill the process (SIGBUS on POSIX): lost pages
// read as zeros, writes there stay in memory, flush reports ERR_MMAP_TRUNCATED. Every case runs
// in a child, asserted by exit status and signal.

import test from 'ava'
import { statSync } from 'node:fs'

import { lastJson, linux, runChild, tempDir, tempFile, testIf, windows } from './helpers.js'

const posix = !windows

testIf(posix, 'Windows refuses to truncate a mapped file')('another process truncates the file: reads give zeros in JIT-compiled loops, flush throws', (t) => {
  const path = tempFile(Buffer.alloc(64 * 4096, 0x5a))
  const child = runChild(`
    const { execFileSync } = require('child_process');
    const m = memmap.openSync(${JSON.stringify(path)}, { mode: 'r+' });
    const bytes = m.buffer;
    const sum = () => { let s = 0; for (let i = 0; i < bytes.length; i += 64) s += bytes[i]; return s; };
    for (let i = 0; i < 200; i++) sum(); // optimised by TurboFan before the cut
    execFileSync(process.execPath, ['-e', 'require("fs").truncateSync(process.argv[1], 4096 * 2)', ${JSON.stringify(path)}]);
    const after = sum();
    const copy = Buffer.from(bytes);             // a native copy across lost pages survives too
    bytes.write('in memory only', 10 * 4096);
    let flushCode, asyncCode;
    try { m.flush(0, 10) } catch (e) { flushCode = e.code }
    m.flushAsync().catch((e) => { asyncCode = e.code }).then(() => {
      console.log(JSON.stringify({
        after, expected: 2 * 4096 / 64 * 0x5a, copyTail: copy.subarray(2 * 4096).every((b) => b === 0),
        readBack: bytes.toString('latin1', 10 * 4096, 10 * 4096 + 14), flushCode, asyncCode,
      }));
    });
  `)
  t.is(child.signal, null, child.stderr)
  t.is(child.status, 0, child.stderr)
  t.deepEqual(lastJson(child), {
    after: ((2 * 4096) / 64) * 0x5a,
    expected: ((2 * 4096) / 64) * 0x5a,
    copyTail: true,
    readBack: 'in memory only',
    flushCode: 'ERR_MMAP_TRUNCATED',
    asyncCode: 'ERR_MMAP_TRUNCATED',
  })
  t.is(statSync(path).size, 2 * 4096, 'writes to lost pages never reach the file')
})

testIf(posix, 'Windows refuses to truncate a mapped file')("a mode 'r' mapping of a file cut to zero reads zeros through read() and view()", (t) => {
  const path = tempFile(Buffer.alloc(5 * 4096, 1))
  const child = runChild(`
    const m = memmap.openSync(${JSON.stringify(path)});
    require('fs').truncateSync(${JSON.stringify(path)}, 0);
    const target = Buffer.alloc(100);
    m.read(target, 3 * 4096);
    console.log(JSON.stringify([target.every((b) => b === 0), m.view(4096, 4100).every((b) => b === 0)]));
  `)
  t.is(child.status, 0, child.stderr)
  t.deepEqual(lastJson(child), [true, true])
})

testIf(posix, 'no SIGBUS on Windows')('SIGBUS sent with kill is not swallowed: the process dies as it would without memmap', (t) => {
  const path = tempFile('x'.repeat(100))
  const child = runChild(`
    const m = memmap.openSync(${JSON.stringify(path)});
    m.buffer[0];
    process.kill(process.pid, 'SIGBUS');
    setTimeout(() => console.log('survived'), 1000);
  `)
  t.is(child.signal, 'SIGBUS')
  t.false(child.stdout.includes('survived'))
})

test('WebAssembly out-of-bounds traps still throw RuntimeError with the guard installed', (t) => {
  const path = tempFile('x'.repeat(100))
  // (module (memory 1) (func (export "load") (param i32) (result i32) local.get 0 i32.load))
  const wasm = [0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 127, 1, 127, 3, 2, 1, 0, 5, 3, 1, 0, 1, 7, 8, 1, 4, 108, 111, 97, 100, 0, 0, 10, 9, 1, 7, 0, 32, 0, 40, 2, 0, 11]
  const child = runChild(`
    const m = memmap.openSync(${JSON.stringify(path)});
    m.buffer[0];
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(${JSON.stringify(wasm)})));
    let name;
    try { exports.load(1 << 30) } catch (e) { name = e.constructor.name }
    console.log(JSON.stringify([exports.load(0), name]));
  `)
  t.is(child.status, 0, child.stderr)
  t.deepEqual(lastJson(child), [0, 'RuntimeError'])
})

testIf(posix, 'no SIGBUS on Windows')("process.on('SIGBUS') displaces the guard until the next mapping is made, which reinstalls it", (t) => {
  const path = tempFile(Buffer.alloc(4 * 4096, 7))
  const child = runChild(`
    process.on('SIGBUS', () => {});
    const m = memmap.openSync(${JSON.stringify(path)}, { mode: 'r+' }); // reinstalls the guard
    require('fs').truncateSync(${JSON.stringify(path)}, 4096);
    console.log(JSON.stringify([m.buffer[0], m.buffer[3 * 4096]]));
    process.exit(0);
  `)
  t.is(child.signal, null, child.stderr)
  t.deepEqual(lastJson(child), [7, 0])
})

testIf(linux, 'the object is reached through /dev/shm only on Linux')('a shared memory object cut short by another process reads as zeros, not SIGBUS', (t) => {
  const name = `trunc${process.pid}`
  const child = runChild(`
    const m = memmap.createShared(${JSON.stringify(name)}, 4 * 4096);
    try {
      m.buffer.fill(9);
      require('child_process').execFileSync(process.execPath, ['-e', 'require("fs").truncateSync("/dev/shm/${name}", 4096)']);
      console.log(JSON.stringify([m.buffer[0], m.buffer[2 * 4096], m.atomics.load(3 * 4096)]));
    } finally { memmap.unlinkShared(${JSON.stringify(name)}) }
  `)
  t.is(child.signal, null, child.stderr)
  t.is(child.status, 0, child.stderr)
  t.deepEqual(lastJson(child), [9, 0, 0])
})

testIf(posix, 'Windows refuses to delete or replace a mapped file')(
  "flush() of a mode 'r' mapping whose path was unlinked or replaced succeeds: nothing was truncated",
  (t) => {
    const path = tempFile(Buffer.alloc(2 * 4096, 7))
    const child = runChild(`
      const fs = require('fs');
      const m = memmap.openSync(${JSON.stringify(path)});
      const out = {};
      fs.unlinkSync(${JSON.stringify(path)});
      try { m.flush(); out.unlinked = 'flushed' } catch (e) { out.unlinked = e.code }
      fs.writeFileSync(${JSON.stringify(path)}, 'x');
      try { m.flush(); out.replaced = 'flushed' } catch (e) { out.replaced = e.code }
      out.bytes = m.buffer.every((b) => b === 7);
      console.log(JSON.stringify(out));
    `)
    t.is(child.status, 0, child.stderr)
    t.deepEqual(lastJson(child), { unlinked: 'flushed', replaced: 'flushed', bytes: true })
  },
)

// A private mount namespace with a 256 KiB tmpfs, filled up: root on Linux only.
const canMount = linux && process.getuid?.() === 0
testIf(canMount, 'mounts a 256 KiB tmpfs in a private mount namespace: needs root on Linux')(
  'a full file system is not truncation: only the page that could not be stored is replaced, and flush() reports ENOSPC',
  (t) => {
    const dir = tempDir()
    const source = `const fs = require('fs');
      const { join } = require('path');
      const dir = ${JSON.stringify(dir)};
      const page = memmap.pageSize;
      // A sparse 'w+' file twice the size of the file system.
      const m = memmap.openSync(join(dir, 'data.bin'), { mode: 'w+', size: 128 * page });
      m.view(100 * page, 101 * page).fill(0xb1);
      m.flush();
      // Fill what is left, so that the next new page has nowhere to go.
      try { fs.writeFileSync(join(dir, 'filler'), Buffer.alloc(1 << 20, 1)) } catch {}
      m.view(50 * page, 51 * page).fill(0xc2);
      for (let p = 0; p < 40; p++) m.view(p * page, p * page + 1)[0] = 0xd3; // 40 more, in order
      const out = {
        written: m.view(50 * page)[0],
        kept: m.view(100 * page)[0],
        hole: m.view(99 * page)[0],
        regions: fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.includes('data.bin')).length,
      };
      try { m.flush(); out.flush = 'flushed' } catch (e) {
        out.flush = { code: e.code, syscall: e.syscall, lost: /writes to \\d+ page/.test(e.message), truncated: /truncated/.test(e.message) };
      }
      const fd = fs.openSync(join(dir, 'data.bin'), 'r');
      const byte = Buffer.alloc(1);
      fs.readSync(fd, byte, 0, 1, 50 * page); out.file50 = byte[0];
      fs.readSync(fd, byte, 0, 1, 100 * page); out.file100 = byte[0];
      fs.closeSync(fd);
      m.close();
      console.log(JSON.stringify(out));`
    const child = runChild(source, { tmpfs: { at: dir, size: '256k' }, timeout: 60_000 })
    t.is(child.signal, null, child.stderr)
    t.is(child.status, 0, child.stderr)
    const out = lastJson<Record<string, unknown>>(child)
    t.like(out, {
      written: 0xc2, // the write stays in this process's memory
      kept: 0xb1, // a page the file holds still shows the file
      hole: 0,
      flush: { code: 'ENOSPC', syscall: 'msync', lost: true, truncated: false },
      file50: 0, // never reached the file
      file100: 0xb1,
    })
    // Pages mended in order merge: a handful of regions, not one per page.
    t.true((out.regions as number) < 10, `${out.regions} regions map the file`)
  },
)
