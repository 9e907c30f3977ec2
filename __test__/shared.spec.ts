import test, { type ExecutionContext } from 'ava'
import { statSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { Worker } from 'node:worker_threads'

import { createShared, openShared, unlinkShared } from '../index.js'
import {
  errno,
  type Exit,
  lastJson,
  linux,
  root,
  runChild,
  sharedName,
  spawnChild,
  tempFile,
  testIf,
  underQemu,
  windows,
} from './helpers.js'

const uniqueName = (t: ExecutionContext): string => sharedName(t, unlinkShared)

/** Runs `source` in a child Node.js process with `memmap` bound; resolves when it exits. */
const child = (source: string, env: NodeJS.ProcessEnv = {}): Promise<Exit> => spawnChild(source, { env }).exit

function ok(t: ExecutionContext, exit: Exit): void {
  t.is(exit.status, 0, exit.stderr)
}

test('4 processes × 50,000 add and add64 on one counter count exactly', async (t) => {
  const name = uniqueName(t)
  const m = createShared(name, 4096)
  const adder = `
    const a = memmap.openShared(${JSON.stringify(name)}).atomics
    for (let i = 0; i < 50000; i++) { a.add(0, 1); a.add64(8, 3n) }`
  const exits = await Promise.all([1, 2, 3, 4].map(() => child(adder)))
  for (const exit of exits) ok(t, exit)
  t.is(m.atomics.load(0), 200_000)
  t.is(m.atomics.load64(8), 600_000n)
  m.close()
})

// The facade runs these through JavaScript's Atomics over a zero-copy window (src/atomics.ts says
// why that is sound); the children also use raw typed arrays over `buffer`, the path a user who
// skips the facade takes. A plain read-modify-write anywhere would lose counts here.
test('4 processes × every read-modify-write, through the facade and raw Atomics over buffer, count exactly', async (t) => {
  const name = uniqueName(t)
  const m = createShared(name, 4096)
  const rounds = 40_000
  const worker = `
    const s = memmap.openShared(${JSON.stringify(name)})
    const a = s.atomics
    const { buffer: pages, byteOffset } = s.buffer
    const i32 = new Int32Array(pages, byteOffset, 256)
    const i64 = new BigInt64Array(pages, byteOffset, 128)
    for (let i = 0; i < ${rounds}; i++) {
      a.add(0, 1); a.sub(4, 1); a.add64(8, 3n); a.xor(16, 0x5a5a5a5a); a.or(20, 1 << (i & 31))
      let seen
      do { seen = a.load(24) } while (a.compareExchange(24, seen, seen + 2) !== seen)
      let wide
      do { wide = a.load64(32) } while (a.compareExchange64(32, wide, wide + 5n) !== wide)
      // A spin lock (exchange / store) around a plain, non-atomic counter at byte 64.
      while (a.exchange(40, 1) !== 0) {}
      s.buffer.writeUInt32LE(s.buffer.readUInt32LE(64) + 1, 64)
      a.store(40, 0)
      Atomics.add(i32, 18, 7); Atomics.sub(i32, 19, 7); Atomics.add(i64, 10, 11n)
    }
    s.close()`
  const exits = await Promise.all([1, 2, 3, 4].map(() => child(worker)))
  for (const exit of exits) ok(t, exit)
  const a = m.atomics
  const total = 4 * rounds
  t.is(a.load(0), total)
  t.is(a.load(4), -total)
  t.is(a.load64(8), BigInt(3 * total))
  t.is(a.load(16), 0, 'an even number of xors cancels out')
  t.is(a.load(20), -1, 'every bit was set')
  t.is(a.load(24), 2 * total)
  t.is(a.load64(32), BigInt(5 * total))
  t.is(m.buffer.readUInt32LE(64), total, 'the exchange/store lock excluded every other holder')
  t.is(a.load(72), 7 * total)
  t.is(a.load(76), -7 * total)
  t.is(a.load64(80), BigInt(11 * total))
  m.close()
})

test('ping-pong: 1,000 round trips between two processes with wait/notify', async (t) => {
  const name = uniqueName(t)
  const m = createShared(name, 4096)
  // Word 0 counts turns: the pinger moves it from even to odd, the ponger from odd to even.
  const player = (first: number) => `
    const a = memmap.openShared(${JSON.stringify(name)}).atomics
    for (let turn = ${first}; turn < 2000; turn += 2) {
      let seen
      while ((seen = a.load(0)) !== turn) a.wait(0, seen)
      a.store(0, turn + 1)
      a.notify(0)
    }`
  const [ping, pong] = await Promise.all([child(player(0)), child(player(1))])
  ok(t, ping)
  ok(t, pong)
  t.is(m.atomics.load(0), 2000)
  m.close()
})

// Windows has no cross-process wait on an address: waiters in other processes poll the value,
// so a notify that changes nothing is not seen there (docs/shared-memory.md).
testIf(!windows, 'Windows: a cross-process notify must change the value to be seen')('waitAsync is woken by a notify from another process', async (t) => {
  const name = uniqueName(t)
  const m = createShared(name, 4096)
  const waiting = m.atomics.waitAsync(4, 0)
  // The child notifies until it has woken someone, without changing the value: only a wake
  // that crosses processes can settle the promise.
  const exit = await child(`
    const a = memmap.openShared(${JSON.stringify(name)}).atomics
    while (a.notify(4) === 0) {}`)
  ok(t, exit)
  t.is(await waiting, 'ok')
  t.is(m.atomics.load(4), 0)
  m.close()
})

test('100 pending waitAsync calls hold no thread-pool thread: fs.promises.readFile completes', async (t) => {
  const name = uniqueName(t)
  const m = createShared(name, 4096)
  const pending = Array.from({ length: 100 }, () => m.atomics.waitAsync(0, 0))
  // The libuv pool has 4 threads: a wait that held one would starve these reads for ever.
  const path = tempFile('hello')
  const reads = await Promise.all(Array.from({ length: 8 }, () => readFile(path, 'utf8')))
  t.deepEqual(reads, Array(8).fill('hello'))
  m.close()
  const settled = await Promise.allSettled(pending)
  for (const outcome of settled) {
    t.is(outcome.status, 'rejected')
    t.is((outcome as PromiseRejectedResult).reason.code, 'ERR_MMAP_CLOSED')
  }
})

test('a process exits with waitAsync calls pending', (t) => {
  const name = `mmjs-${process.pid}-exit`
  const exit = runChild(`
    const m = memmap.createShared(${JSON.stringify(name)}, 4096)
    memmap.unlinkShared(${JSON.stringify(name)})
    for (let i = 0; i < 10; i++) m.atomics.waitAsync(0, 0)
    setTimeout(() => process.exit(0), 10)`)
  t.is(exit.status, 0, exit.stderr)
})

test('a pending waitAsync keeps the process alive until close() rejects it', (t) => {
  const name = `mmjs-${process.pid}-alive`
  const exit = runChild(`
    const m = memmap.createShared(${JSON.stringify(name)}, 4096)
    memmap.unlinkShared(${JSON.stringify(name)})
    m.atomics.waitAsync(0, 0).then((r) => console.log('resolved', r), (e) => console.log('rejected', e.code))
    setTimeout(() => m.close(), 50)`)
  t.is(exit.status, 0, exit.stderr)
  t.is(exit.stdout.trim(), 'rejected ERR_MMAP_CLOSED')
})

test('wait and waitAsync: not-equal and timed-out', async (t) => {
  const m = createShared(uniqueName(t), 64)
  const a = m.atomics
  a.store(0, 5)
  t.is(a.wait(0, 4), 'not-equal')
  t.is(a.wait(0, 5, 1), 'timed-out')
  t.is(a.wait(0, 5, 0), 'timed-out')
  t.is(a.wait(0, 5, -1), 'timed-out')
  t.is(await a.waitAsync(0, 4), 'not-equal')
  t.is(await a.waitAsync(0, 5, 1), 'timed-out')
  t.is(await a.waitAsync(0, 5, 0), 'timed-out')
  t.is(a.notify(0), 0)
  m.close()
  t.throws(() => a.wait(0, 5), { code: 'ERR_MMAP_CLOSED' })
  await t.throwsAsync(a.waitAsync(0, 5), { code: 'ERR_MMAP_CLOSED' })
  t.throws(() => a.load(0), { code: 'ERR_MMAP_CLOSED' })
  t.throws(() => a.add(0, 1), { code: 'ERR_MMAP_CLOSED' })
})

test('atomics have Int32 and BigInt64 semantics', (t) => {
  const m = createShared(uniqueName(t), 64)
  const a = m.atomics
  t.is(m.atomics, a)
  t.is(a.store(0, 2 ** 31), 2 ** 31)
  t.is(a.load(0), -(2 ** 31))
  t.is(a.exchange(0, 7), -(2 ** 31))
  t.is(a.add(0, 3), 7)
  t.is(a.sub(0, 20), 10)
  t.is(a.load(0), -10)
  t.is(a.and(0, 0xff), -10)
  t.is(a.or(0, 1), 0xf6)
  t.is(a.xor(0, 0xff), 0xf7)
  t.is(a.compareExchange(0, 8, 99), 8)
  t.is(a.load(0), 99)
  t.is(a.compareExchange(0, 1, 5), 99)
  t.is(a.load(0), 99)
  t.is(m.buffer.readInt32LE(0), 99) // the same bytes, little-endian as on every target
  t.is(a.store64(8, 2n ** 64n + 5n), 2n ** 64n + 5n)
  t.is(a.load64(8), 5n)
  t.is(a.add64(8, 2n ** 63n - 5n), 5n)
  t.is(a.load64(8), -(2n ** 63n))
  t.is(a.compareExchange64(8, -(2n ** 63n), 1n), -(2n ** 63n))
  t.is(a.load64(8), 1n)
  m.close()
})

test('atomics check byteOffset and values', (t) => {
  const m = createShared(uniqueName(t), 64)
  const a = m.atomics
  for (const bad of [2, 61, 64, -4, 4.5, NaN, Infinity]) {
    t.throws(() => a.load(bad), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' }, String(bad))
    t.throws(() => a.add(bad, 1), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' }, String(bad))
  }
  t.throws(() => a.load64(60), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => a.load64(4), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => a.load('0' as unknown as number), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => a.store(0, '1' as unknown as number), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => a.store64(0, 1 as unknown as bigint), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => a.wait(0, 0, '1' as unknown as number), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => a.notify(0, '1' as unknown as number), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  t.is(a.load(60), 0)
  m.close()
})

test('createShared: exclusive on an existing name is EEXIST; the object is owner-only (0600)', (t) => {
  const name = uniqueName(t)
  const m = createShared(name, 4096, { exclusive: true })
  const exists = t.throws(() => createShared(name, 4096, { exclusive: true }), { code: 'EEXIST' }) as NodeJS.ErrnoException
  t.is(exists.syscall, process.platform === 'win32' ? 'CreateFileMapping' : 'shm_open')
  t.is(exists.path, name)
  t.is(m.kind, 'shared')
  t.is(m.mode, 'r+')
  t.is(m.path, name)
  t.is(m.length, 4096)
  if (process.platform === 'linux') t.is(statSync(`/dev/shm/${name}`).mode & 0o777, 0o600)
  // Without exclusive it opens the same bytes, growing only.
  m.atomics.store(0, 42)
  const again = createShared(name, 100)
  t.is(again.length, 100)
  t.is(again.atomics.load(0), 42)
  t.is(openShared(name).length, 4096)
  m.close()
  again.close()
})

test('names that could leave the namespace are TypeError ERR_INVALID_ARG_VALUE', (t) => {
  for (const bad of ['', '.', '..', 'a/b', '/a', 'a\0b', '-a', 'x'.repeat(31)]) {
    t.throws(() => createShared(bad, 4096), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' }, JSON.stringify(bad))
    t.throws(() => openShared(bad), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
    t.throws(() => unlinkShared(bad), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
  }
  t.throws(() => createShared(1 as unknown as string, 4096), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => createShared('ok', 0), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' })
  const longest = uniqueName(t).padEnd(30, 'x')
  t.teardown(() => {
    unlinkShared(longest)
  })
  t.notThrows(() => createShared(longest, 1).close(), 'the longest valid name works')
})

testIf(!windows, 'POSIX semantics; the Windows test follows')('unlinkShared then openShared is ENOENT; unlinkShared of a missing name is false', (t) => {
  const name = uniqueName(t)
  const m = createShared(name, 4096)
  t.true(unlinkShared(name))
  t.false(unlinkShared(name))
  const missing = t.throws(() => openShared(name), { code: 'ENOENT' }) as NodeJS.ErrnoException
  t.is(missing.syscall, 'shm_open')
  t.is(missing.path, name)
  t.is(missing.errno, errno('ENOENT'))
  m.atomics.store(0, 1) // the mapping outlives the name
  t.is(m.atomics.load(0), 1)
  m.close()
})

testIf(windows, 'Windows semantics; the POSIX test is above')('Windows: a name lives while a process has it open; unlinkShared is always false', (t) => {
  const name = uniqueName(t)
  const m = createShared(name, 4096)
  m.atomics.store(0, 7)
  t.false(unlinkShared(name))
  const again = openShared(name)
  t.is(again.atomics.load(0), 7)
  again.close()
  m.close()
  const missing = t.throws(() => openShared(name), { code: 'ENOENT' }) as NodeJS.ErrnoException
  t.is(missing.syscall, 'OpenFileMapping')
  t.is(missing.path, name)
  t.is(missing.errno, errno('ENOENT'))
})

test('openShared readOnly: Buffer writes stay private, write() and atomic writes throw ERR_MMAP_READ_ONLY', (t) => {
  const name = uniqueName(t)
  const m = createShared(name, 4096)
  m.buffer.write('shared', 0)
  const r = openShared(name, { readOnly: true })
  t.is(r.mode, 'r')
  t.is(r.buffer.toString('utf8', 0, 6), 'shared')
  r.buffer.write('mine', 100)
  t.is(r.buffer.toString('utf8', 100, 104), 'mine')
  t.is(m.buffer.toString('utf8', 100, 104), '\0\0\0\0')
  t.throws(() => r.write(Buffer.from('x')), { code: 'ERR_MMAP_READ_ONLY' })
  t.throws(() => r.atomics.store(0, 1), { code: 'ERR_MMAP_READ_ONLY' })
  t.throws(() => r.atomics.add64(8, 1n), { code: 'ERR_MMAP_READ_ONLY' })
  r.close()
  m.close()
})

test('worker threads open the same name: their increments are what the main thread reads', async (t) => {
  const name = uniqueName(t)
  const m = createShared(name, 4096)
  const source = `
    const { workerData } = require('node:worker_threads')
    const memmap = require(${JSON.stringify(root)})
    const a = memmap.openShared(workerData).atomics
    for (let i = 0; i < 10000; i++) a.add(0, 1)
    a.add(4, 1)
    a.notify(4)`
  const done = m.atomics.waitAsync(4, 0)
  const workers = [1, 2].map(() => new Worker(source, { eval: true, workerData: name }))
  await Promise.all(workers.map((w) => new Promise((resolve, reject) => w.on('exit', resolve).on('error', reject))))
  t.is(await done, 'ok')
  t.is(m.atomics.load(0), 20_000)
  t.is(m.atomics.load(4), 2)
  m.close()
})

test('atomics work where zero-copy Buffers are refused', (t) => {
  const name = `mmjs-${process.pid}-nozc`
  const exit = runChild(
    `
    const m = memmap.createShared(${JSON.stringify(name)}, 4096)
    memmap.unlinkShared(${JSON.stringify(name)})
    m.atomics.store(8, 3); m.atomics.add(8, 4)
    console.log(JSON.stringify([m.zeroCopy, m.atomics.load(8), m.atomics.wait(8, 7, 1)]))`,
    { env: { MEMMAP_NO_EXTERNAL_BUFFERS: '1' } },
  )
  t.is(exit.status, 0, exit.stderr)
  t.is(exit.stdout.trim(), '[false,7,"timed-out"]')
})

// A private mount namespace with a 1 MiB /dev/shm, as in a small container (Docker's default is
// 64 MiB): root on Linux only.
const smallShm = linux && process.getuid?.() === 0
testIf(smallShm, 'mounts a 1 MiB /dev/shm in a private mount namespace: needs root on Linux')(
  'createShared larger than /dev/shm can hold fails at once with ENOSPC and leaves no object',
  (t) => {
    const source = `const fs = require('fs');
      const out = {};
      try { memmap.createShared('big', 8 * 2 ** 20); out.big = 'created' } catch (e) { out.big = [e.code, e.syscall, e.path] }
      out.left = fs.readdirSync('/dev/shm');
      const small = memmap.createShared('small', 256 * 1024);
      small.buffer.fill(1);
      out.small = memmap.openShared('small').buffer[256 * 1024 - 1];
      console.log(JSON.stringify(out));`
    const result = runChild(source, { tmpfs: { at: '/dev/shm', size: '1m' }, timeout: 60_000 })
    t.is(result.status, 0, result.stderr)
    t.deepEqual(lastJson(result), { big: ['ENOSPC', 'posix_fallocate', 'big'], left: [], small: 1 })
  },
)

// Under qemu-user, 16,000 thread stacks exhaust the emulator's own bookkeeping of the guest's
// address space before the OS refuses a thread or memmap's cap is reached: V8 then fails to
// allocate and aborts (seen once in three runs), which no library can prevent there.
testIf(linux && !underQemu, linux ? "qemu-user's guest address space runs out before any cap can apply" : "the cap is Linux's vm.max_map_count")(
  '20,000 pending waitAsync calls, then opening to the cap: coded ENOMEM rejections, never an abort',
  (t) => {
    const path = tempFile('cap')
    const result = runChild(`
      (async () => {
        const name = 'mmjs-' + process.pid + '-cap';
        const m = memmap.createShared(name, 4096);
        // Each pending wait holds a thread, whose stack takes two map regions from the budget.
        const waits = Array.from({ length: 20000 }, () => m.atomics.waitAsync(0, 0));
        const opened = [];
        let openError;
        try { for (;;) opened.push(memmap.openSync(${JSON.stringify(path)})) }
        catch (e) { openError = { code: e.code, syscall: e.syscall, waitAsync: /waitAsync/.test(e.message) } }
        for (const o of opened) o.close();
        m.close();
        const count = {};
        for (const s of await Promise.allSettled(waits)) {
          const key = s.status === 'fulfilled' ? s.value : s.reason.code;
          count[key] = (count[key] ?? 0) + 1;
        }
        memmap.unlinkShared(name);
        console.log(JSON.stringify({ openError, count }));
      })();
    `, { timeout: 170_000 })
    t.is(result.signal, null, result.stderr)
    t.is(result.status, 0, result.stderr)
    const { openError, count } = lastJson<{ openError: unknown; count: Record<string, number> }>(result)
    t.deepEqual(openError, { code: 'ENOMEM', syscall: 'mmap', waitAsync: true })
    // The cap refuses the rest (ENOMEM); a system that refuses a thread first would say EAGAIN
    // (pthread_create), also a coded rejection. The started ones see close().
    t.deepEqual(Object.keys(count).filter((key) => !['EAGAIN', 'ENOMEM', 'ERR_MMAP_CLOSED'].includes(key)), [], JSON.stringify(count))
    t.true(count.ENOMEM > 0 || count.EAGAIN > 0, JSON.stringify(count))
    t.true(count.ERR_MMAP_CLOSED > 0, JSON.stringify(count))
    t.is(Object.values(count).reduce((a, b) => a + b, 0), 20_000)
  },
)

testIf(linux, 'posix_fallocate reserves shared memory on Linux only')(
  'a createShared that cannot reserve its size leaves an existing object as it was, and a new name absent',
  (t) => {
    const result = runChild(`
      const name = 'mmjs-' + process.pid + '-big';
      const m = memmap.createShared(name, 4096);
      m.write(Buffer.from('kept'), 0);
      const out = {};
      try { memmap.createShared(name, 2 ** 50); out.grown = 'created' } catch (e) { out.grown = [e.code, e.syscall] }
      const again = memmap.openShared(name);
      out.length = again.length;
      out.kept = again.buffer.toString('latin1', 0, 4);
      try { memmap.createShared(name + '-new', 2 ** 50); out.fresh = 'created' } catch (e) { out.fresh = e.code }
      try { memmap.openShared(name + '-new'); out.left = true } catch (e) { out.left = e.code }
      memmap.unlinkShared(name);
      console.log(JSON.stringify(out));
    `)
    t.is(result.status, 0, result.stderr)
    t.deepEqual(lastJson(result), { grown: ['ENOSPC', 'posix_fallocate'], length: 4096, kept: 'kept', fresh: 'ENOSPC', left: 'ENOENT' })
  },
)

test('createShared(length) picks a unique owner-only name, shown as path, that a child can open', async (t) => {
  const a = createShared(4096)
  const b = createShared(4096, { exclusive: false })
  t.teardown(() => {
    a.close()
    b.close()
    unlinkShared(a.path as string)
    unlinkShared(b.path as string)
  })
  t.is(a.kind, 'shared')
  t.regex(a.path as string, /^[A-Za-z0-9][A-Za-z0-9._-]{0,29}$/)
  t.not(a.path, b.path)
  if (linux) t.is(statSync(`/dev/shm/${a.path}`).mode & 0o777, 0o600)
  a.atomics.store(0, 1234)
  const exit = await child(`
    const m = memmap.openShared(${JSON.stringify(a.path)})
    m.atomics.store(4, m.atomics.load(0) + 1)
    m.close()
  `)
  ok(t, exit)
  t.is(a.atomics.load(4), 1235)
  t.throws(() => createShared(0), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => createShared(-1n), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => createShared(10, 'x' as never), { code: 'ERR_INVALID_ARG_TYPE' })
})
