// Mutexes and semaphores in shared memory: semantics in one process, exclusion and owner death
// across real processes and worker threads, and the same answers where zero-copy Buffers are
// refused (every call then goes through the binding).

import test, { type ExecutionContext } from 'ava'
import { spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'

import { anonymous, createShared, openSync, unlinkShared } from '../index.js'
import { linux, root, runChild, sharedName, spawnChild, tempFile, testIf, thrownCode as code, turnsWhile, windows } from './helpers.js'

const name = (t: ExecutionContext): string => sharedName(t, unlinkShared)

/** Waits until `check()` holds, polling every few milliseconds; fails after `ms`. */
async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** A worker thread that locks the mutex at `byteOffset` of shared memory `shared` and stays alive. */
async function holderWorker(shared: string, byteOffset: number): Promise<Worker> {
  const worker = new Worker(
    `const memmap = require(${JSON.stringify(root)})
     const { parentPort } = require('node:worker_threads')
     globalThis.held = memmap.openShared(${JSON.stringify(shared)}).mutex(${byteOffset}).lock()
     parentPort.postMessage('held')
     setInterval(() => {}, 1000)`,
    { eval: true },
  )
  await new Promise((resolve) => worker.once('message', resolve))
  return worker
}

test('a mutex: lock, unlock, tryLock, locked, Symbol.dispose, and the errors', (t) => {
  const m = anonymous(4096)
  const mu = m.mutex(64)
  t.is(mu.byteOffset, 64)
  t.false(mu.locked)
  // Twice: the second round goes through the zero-copy window (src/window.ts).
  for (let round = 0; round < 3; round++) {
    const held = mu.lock()
    t.false(held.ownerDied)
    t.true(mu.locked)
    t.is(code(() => mu.lock()), 'ERR_MMAP_DEADLOCK')
    t.is(mu.tryLock(), null, 'busy, as for any other caller: it never blocks')
    held.unlock()
    held.unlock() // idempotent for its owner
    t.false(mu.locked)
    const tried = mu.tryLock()
    t.truthy(tried)
    tried![Symbol.dispose]()
    t.false(mu.locked)
  }
  if (linux) {
    // A lock word naming another live thread (pid 1's main thread) is someone else's lock.
    m.atomics.store(64, 1)
    t.is(mu.tryLock(), null)
    t.true(mu.locked)
    m.atomics.store(64, 0)
  }
  // A lock taken over from under its Held (here: the word overwritten with another live
  // thread's token) cannot be unlocked by it: ERR_MMAP_NOT_OWNER, and the word is left alone.
  const stolen = mu.lock()
  m.atomics.store(64, linux ? 1 : 0x7fff0000)
  t.is(code(() => stolen.unlock()), 'ERR_MMAP_NOT_OWNER')
  t.is(m.atomics.load(64), linux ? 1 : 0x7fff0000)
  m.atomics.store(64, 0)
  t.is(code(() => m.mutex(4)), 'ERR_OUT_OF_RANGE')
  t.is(code(() => m.mutex(4096)), 'ERR_OUT_OF_RANGE')
  t.is(code(() => m.mutex(-8)), 'ERR_OUT_OF_RANGE')
  t.is(code(() => m.mutex('8' as unknown as number)), 'ERR_INVALID_ARG_TYPE')
  t.throws(() => m.mutex(4), { instanceOf: RangeError })
  t.is(code(() => mu.lock('1' as unknown as number)), 'ERR_INVALID_ARG_TYPE')
  m.close()
  t.is(code(() => mu.lock()), 'ERR_MMAP_CLOSED')
  t.is(code(() => mu.locked), 'ERR_MMAP_CLOSED')
})

test('a held mutex: lock(timeoutMs) throws ERR_MMAP_TIMEOUT, lockAsync waits without blocking the event loop', async (t) => {
  const shared = name(t)
  const m = createShared(shared, 4096)
  const mu = m.mutex(0)
  const holder = spawnChild(`
    const mu = memmap.openShared(${JSON.stringify(shared)}).mutex(0)
    const held = mu.lock()
    console.log('held')
    process.stdin.once('data', () => { held.unlock(); process.exit(0) })`)
  await until(() => mu.locked)
  const started = Date.now()
  t.is(code(() => mu.lock(100)), 'ERR_MMAP_TIMEOUT')
  t.true(Date.now() - started >= 90)
  t.is(mu.tryLock(), null)
  // Turns of the event loop while lockAsync waits (setImmediate, which no timer resolution
  // limits): a blocked loop would count none.
  const idle = await turnsWhile(sleep(200))
  const pending = mu.lockAsync()
  const waiting = await turnsWhile(sleep(200))
  // As many turns as with nothing pending, give or take the machine's noise (emulators turn the
  // loop slowly whatever happens).
  t.true(waiting >= idle / 4, `the event loop kept turning while lockAsync waited (${waiting} turns; ${idle} idle)`)
  holder.process.stdin!.write('go\n')
  const held = await pending
  t.false(held.ownerDied)
  held.unlock()
  t.is((await holder.exit).status, 0)
  // Free now: taken at once. Asked again while held by this thread: queued behind, not refused.
  const first = await mu.lockAsync(-1)
  const second = mu.lockAsync(1000)
  first.unlock()
  const next = await second
  t.false(next.ownerDied)
  next.unlock()
  m.close()
})

/**
 * A program that adds 1 to the plain (not atomic) counter at byte 8 of shared memory `shared`,
 * `rounds` times, each inside the mutex at byte 0: only the mutex makes the total exact.
 */
const counting = (shared: string, rounds: number): string => `
  const s = memmap.openShared(${JSON.stringify(shared)})
  const mu = s.mutex(0)
  for (let i = 0; i < ${rounds}; i++) {
    const held = mu.lock()
    s.buffer.writeUInt32LE(s.buffer.readUInt32LE(8) + 1, 8)
    held.unlock()
  }
  s.close()`

test('4 processes × 20,000 critical sections on a plain counter count exactly, and each finishes', async (t) => {
  const shared = name(t)
  const m = createShared(shared, 4096)
  const exits = await Promise.all([1, 2, 3, 4].map(() => spawnChild(counting(shared, 20_000)).exit))
  for (const exit of exits) t.is(exit.status, 0, exit.stderr)
  t.is(m.buffer.readUInt32LE(8), 4 * 20_000)
  t.false(m.mutex(0).locked)
  m.close()
})

// Owner death, three ways. The dead holder's lock is taken over by the next lock(), which says so.
const DEATHS = {
  SIGKILL: `held = mu.lock(); console.log('held'); setInterval(() => {}, 1000)`,
  'process.exit() without unlocking': `held = mu.lock(); console.log('held'); process.exit(0)`,
  'an uncaught exception': `held = mu.lock(); console.log('held'); setTimeout(() => { throw new Error('crash') }, 10)`,
}
for (const [how, body] of Object.entries(DEATHS)) {
  testIf(!windows || how !== 'SIGKILL', 'SIGKILL is TerminateProcess on Windows, covered by the other cases')(
    `a holder that ends by ${how} is replaced within 1 s, with ownerDied`,
    async (t) => {
      const shared = name(t)
      const m = createShared(shared, 4096)
      const mu = m.mutex(16)
      const child = spawnChild(`let held; const mu = memmap.openShared(${JSON.stringify(shared)}).mutex(16); ${body}`)
      await until(() => mu.locked)
      if (how === 'SIGKILL') child.process.kill('SIGKILL')
      await child.exit
      const started = Date.now()
      const held = mu.lock(5000)
      t.true(held.ownerDied)
      t.true(Date.now() - started < 1000, `took ${Date.now() - started} ms`)
      held.unlock()
      const next = mu.lock()
      t.false(next.ownerDied, 'only the first lock after the death says so')
      next.unlock()
      m.close()
    },
  )
}

test('a worker terminated while holding the mutex: lockAsync on the main thread gets it, with ownerDied', async (t) => {
  const shared = name(t)
  const m = createShared(shared, 4096)
  const mu = m.mutex(24)
  const worker = await holderWorker(shared, 24)
  t.true(mu.locked)
  // From the main thread the worker's lock is someone else's: not a deadlock.
  t.is(mu.tryLock(), null)
  const pending = mu.lockAsync(5000)
  await worker.terminate()
  const started = Date.now()
  const held = await pending
  const took = Date.now() - started
  t.true(held.ownerDied, 'told that the holder died')
  t.true(took < 1000, `taken over ${took} ms after the worker ended`)
  held.unlock()
  m.close()
})

testIf(linux, 'the birth stamp is read from /proc (Linux); Windows uses thread creation times, untested under wine')(
  "a lock word naming a live thread with another birth stamp (a reused id) is taken over",
  async (t) => {
    const shared = name(t)
    const m = createShared(shared, 4096)
    // A live process whose main thread id is its pid, named as holder with a stamp it never had.
    const bystander = spawnChild(`console.log('up'); setInterval(() => {}, 1000)`)
    await until(() => bystander.process.pid !== undefined)
    for (const at of [32, 40]) {
      m.atomics.store(at, bystander.process.pid!)
      m.atomics.store(at + 4, 1) // born at tick 1: not this process
    }
    // lock() and tryLock() judge alike.
    const tried = m.mutex(32).tryLock()
    t.true(tried?.ownerDied, 'tryLock takes it over too')
    tried?.unlock()
    const held = m.mutex(40).lock(5000)
    t.true(held.ownerDied)
    held.unlock()
    bystander.process.kill()
    await bystander.exit
    m.close()
  },
)

test('closing the mapping rejects pending lockAsync and acquireAsync with ERR_MMAP_CLOSED', async (t) => {
  const shared = name(t)
  const m = createShared(shared, 4096)
  // The mutex is held by a live worker thread, so the waits cannot end but by close().
  const holder = await holderWorker(shared, 0)
  const lock = m.mutex(0).lockAsync()
  const acquire = m.semaphore(8).acquireAsync()
  await new Promise((resolve) => setTimeout(resolve, 50))
  m.close()
  await t.throwsAsync(lock, { code: 'ERR_MMAP_CLOSED' })
  await t.throwsAsync(acquire, { code: 'ERR_MMAP_CLOSED' })
  await holder.terminate()
})

test("mode 'r' and readOnly mappings refuse to lock or release: ERR_MMAP_READ_ONLY", (t) => {
  const path = tempFile(Buffer.alloc(4096))
  const r = openSync(path)
  for (let round = 0; round < 2; round++) {
    t.is(code(() => r.mutex(0).lock()), 'ERR_MMAP_READ_ONLY')
    t.is(code(() => r.mutex(0).tryLock()), 'ERR_MMAP_READ_ONLY')
    t.is(code(() => r.semaphore(8).release()), 'ERR_MMAP_READ_ONLY')
    t.is(code(() => r.semaphore(8).tryAcquire()), 'ERR_MMAP_READ_ONLY')
    t.false(r.mutex(0).locked)
    t.is(r.semaphore(8).value, 0)
  }
  r.close()
})

test('a semaphore: permits released by another process are acquired here; a killed holder\'s are not returned', async (t) => {
  const shared = name(t)
  const m = createShared(shared, 4096)
  const sem = m.semaphore(40)
  t.is(sem.value, 0)
  t.is(sem.tryAcquire(), null)
  t.is(code(() => sem.acquire(50)), 'ERR_MMAP_TIMEOUT')
  const waiting = sem.acquireAsync(10_000)
  const releaser = spawnChild(`memmap.openShared(${JSON.stringify(shared)}).semaphore(40).release(3)`)
  t.is((await releaser.exit).status, 0)
  const permit = await waiting
  t.is(sem.value, 2)
  permit.release()
  permit.release() // once only
  t.is(sem.value, 3)
  {
    using p = sem.acquire()
    t.truthy(p)
    t.is(sem.value, 2)
  }
  t.is(sem.value, 3)
  // A process that takes permits and dies keeps them: semaphores have no owner.
  const taker = spawnChild(`const s = memmap.openShared(${JSON.stringify(shared)}).semaphore(40); s.acquire(); s.acquire(); process.exit(0)`)
  t.is((await taker.exit).status, 0)
  t.is(sem.value, 1)
  t.is(code(() => sem.release(0)), 'ERR_OUT_OF_RANGE')
  t.is(code(() => sem.release(2 ** 31)), 'ERR_OUT_OF_RANGE')
  sem.release(2 ** 31 - 2)
  t.is(code(() => sem.release(1)), 'ERR_OUT_OF_RANGE', 'past 2^31 - 1 permits')
  t.is(sem.value, 2 ** 31 - 1)
  m.close()
})

// The same program with and without zero-copy windows: every answer must agree.
const PROGRAM = `
const outcome = (f) => { try { const v = f(); return v && typeof v === 'object' ? ('ownerDied' in v ? 'held:' + v.ownerDied : 'permit') : v } catch (e) { return e.code } }
const m = memmap.anonymous(4096)
const out = []
for (let round = 0; round < 3; round++) {
  const mu = m.mutex(0)
  const held = mu.lock()
  out.push(mu.locked, outcome(() => mu.lock()), outcome(() => mu.tryLock()))
  held.unlock(); held.unlock()
  const tried = mu.tryLock()
  out.push(mu.locked, tried.ownerDied, outcome(() => mu.lock(0)))
  tried.unlock()
  const sem = m.semaphore(8)
  out.push(sem.value, outcome(() => sem.tryAcquire()), outcome(() => sem.acquire(0)))
  sem.release(2)
  out.push(sem.value, outcome(() => sem.tryAcquire()), sem.value, outcome(() => sem.release(0)))
}
console.log(JSON.stringify(out))
`

test('mutexes and semaphores give the same answers where zero-copy Buffers are refused', (t) => {
  const runs = ['0', '1'].map((refused) => runChild(PROGRAM, { env: { MEMMAP_NO_EXTERNAL_BUFFERS: refused } }))
  for (const run of runs) t.is(run.status, 0, run.stderr)
  t.is(runs[0].stdout, runs[1].stdout)
  t.true(runs[0].stdout.includes('ERR_MMAP_DEADLOCK'))
})

test('4 worker threads × 20,000 critical sections on a plain counter count exactly', async (t) => {
  const shared = name(t)
  const m = createShared(shared, 4096)
  const source = `const memmap = require(${JSON.stringify(root)});\n${counting(shared, 20_000)}`
  const workers = [1, 2, 3, 4].map(() => new Worker(source, { eval: true }))
  const codes = await Promise.all(workers.map((worker) => new Promise((resolve) => worker.on('exit', resolve))))
  t.deepEqual(codes, [0, 0, 0, 0])
  t.is(m.buffer.readUInt32LE(8), 4 * 20_000)
  m.close()
})

test('100 pending lockAsync calls hold no thread-pool thread: fs.promises.readFile stays prompt', async (t) => {
  const shared = name(t)
  const m = createShared(shared, 4096)
  const holder = await holderWorker(shared, 0)
  const pending = Array.from({ length: 100 }, () => m.mutex(0).lockAsync())
  const path = tempFile('hello')
  const started = Date.now()
  const reads = await Promise.all(Array.from({ length: 8 }, () => readFile(path, 'utf8')))
  t.deepEqual(reads, Array(8).fill('hello'))
  t.true(Date.now() - started < 2000, 'the libuv pool was free')
  m.close()
  const settled = await Promise.allSettled(pending)
  t.true(settled.every((outcome) => outcome.status === 'rejected' && (outcome.reason as NodeJS.ErrnoException).code === 'ERR_MMAP_CLOSED'))
  await holder.terminate()
})

test('a semaphore of 2 bounds 4 processes: never more than 2 inside, counted', async (t) => {
  const shared = name(t)
  const m = createShared(shared, 4096)
  m.semaphore(0).release(2)
  const worker = `
    const s = memmap.openShared(${JSON.stringify(shared)})
    const sem = s.semaphore(0)
    const a = s.atomics
    const nap = new Int32Array(new SharedArrayBuffer(4))
    // Start together (process start-up varies by seconds under emulators).
    a.add(16, 1)
    while (a.load(16) < 4) Atomics.wait(nap, 0, 0, 1)
    for (let i = 0; i < 100; i++) {
      const permit = sem.acquire()
      const inside = a.add(8, 1) + 1
      // The most ever seen inside, kept with a compare-exchange loop.
      let most
      while ((most = a.load(12)) < inside && a.compareExchange(12, most, inside) !== most) {}
      Atomics.wait(nap, 0, 0, 1) // 1 ms inside, so that the processes overlap
      a.sub(8, 1)
      permit.release()
    }`
  const exits = await Promise.all([1, 2, 3, 4].map(() => spawnChild(worker).exit))
  for (const exit of exits) t.is(exit.status, 0, exit.stderr)
  t.is(m.atomics.load(8), 0)
  t.true(m.atomics.load(12) <= 2, `at most ${m.atomics.load(12)} inside`)
  t.is(m.atomics.load(12), 2, 'and both permits were used at once')
  t.is(m.semaphore(0).value, 2)
  m.close()
})

test('examples/counter.mjs prints the exact total', (t) => {
  const run = spawnSync(process.execPath, [join(root, 'examples', 'counter.mjs')], { encoding: 'utf8', timeout: 120_000 })
  t.is(run.status, 0, run.stderr)
  t.regex(run.stdout, /total 400,000 \(expected 400,000\)/)
})
