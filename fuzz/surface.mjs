// Property-based fuzzing of memmap's whole public surface. Every exported function and every
// Mapping method is called with generated arguments (wrong types, NaN, ±Infinity, negative,
// fractional, huge, bigint, strings, objects, closed mappings). The property: each call returns
// a correct result (checked against a model of the file's bytes) or throws an Error with a
// Node-style code; and the process never dies. Run it in a child process:
//   node fuzz/surface.mjs [--seed N] [--runs N]
// It prints one JSON line: { seed, runs, failures }.

import { closeSync, constants, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'

import * as memmap from 'memmap'

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`)
  return at === -1 ? fallback : Number(args[at + 1])
}
const seed = option('seed', Date.now() % 2 ** 31)
const runs = option('runs', 10_000)

const dir = mkdtempSync(join(tmpdir(), 'memmap-fuzz-'))
const file = join(dir, 'data.bin')
const SIZE = 3 * 4096 + 123
const initial = Buffer.alloc(SIZE)
for (let i = 0; i < SIZE; i++) initial[i] = (i * 31) & 0xff
// Text lines in the middle page, some ending in CRLF, for lines() to cut.
for (let i = 4096, n = 0; i + 2 < 8192; n++) {
  const length = (n * 7) % 23
  initial.fill(97 + (n % 26), i, i + length)
  i += length
  if (n % 3 === 0) initial[i++] = 13
  initial[i++] = 10
}
mkdirSync(join(dir, 'sub'))
// Generated relative paths ('0', 'r+') that 'w+' creates land in the scratch directory.
process.chdir(dir)

// Values that break careless code.
const weird = fc.oneof(
  fc.constantFrom(undefined, null, true, false, NaN, Infinity, -Infinity, -0, 0, 1, -1, 0.5, 2 ** 31,
    2 ** 32, 2 ** 53, 2 ** 53 - 1, 2 ** 64, -(2 ** 53), Number.MAX_VALUE, Number.MIN_VALUE, '', '0', 'r',
    'r+', 'w+', 'a\0b', [], {}, Symbol('s'), () => 0, new Date(0), /x/, 0n, 1n, -1n, 2n ** 64n),
  fc.integer({ min: -SIZE * 2, max: SIZE * 2 }),
  fc.double(),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.string({ maxLength: 8 }),
  fc.object({ maxDepth: 1 }),
)
const index = fc.oneof(fc.integer({ min: -SIZE - 10, max: SIZE + 10 }), weird)
const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
  fc.uint8Array({ maxLength: 64 }),
  fc.constantFrom(new Float64Array(3), new DataView(new ArrayBuffer(7)), new Uint16Array(0)),
  weird,
)
const options = fc.oneof(
  fc.record(
    {
      mode: fc.oneof(fc.constantFrom('r', 'r+', 'w+', 'c'), weird),
      offset: index,
      length: index,
      size: index,
      populate: fc.oneof(fc.boolean(), weird),
      hugePages: fc.oneof(fc.boolean(), weird),
      lock: fc.oneof(fc.boolean(), weird),
    },
    { requiredKeys: [] },
  ),
  weird,
)
const pathArg = fc.oneof(
  fc.constantFrom(file, join(dir, 'sub'), join(dir, 'missing.bin'), '', Buffer.from(file), new URL(`file://${file}`)),
  weird,
)

const sharedName = fc.constantFrom(...['a', 'b', 'c'].map((x) => `fz${process.pid}${x}`))

const CODE = /^(ERR_[A-Z_]+|E[A-Z0-9]+)$/

/** Runs `call`; a throw must be a coded Error whose class fits its code. Returns [ok, value]. */
function attempt(call) {
  try {
    return [true, call()]
  } catch (error) {
    if (!(error instanceof Error) || typeof error.code !== 'string' || !CODE.test(error.code)) {
      throw new Error(`uncoded throw: ${error?.stack ?? String(error)}`, { cause: error })
    }
    if (error.code === 'ERR_INVALID_ARG_TYPE' && !(error instanceof TypeError)) throw new Error(`${error.code} not a TypeError`, { cause: error })
    if (error.code === 'ERR_OUT_OF_RANGE' && !(error instanceof RangeError)) throw new Error(`${error.code} not a RangeError`, { cause: error })
    return [false, error]
  }
}

/** The state one run works on: a fresh file, a mapping of it, and the model of its bytes. */
function setup() {
  writeFileSync(file, initial)
  const m = memmap.openSync(file, { mode: 'r+' })
  return { m, model: Buffer.from(initial) }
}

// Positions may be numbers or bigints (as offsets may); the model works in numbers.
const plainInt = (v) => (typeof v === 'number' && Number.isInteger(v) && v >= 0) || (typeof v === 'bigint' && v >= 0n)
/** Whether `at` is a byte offset the atomics accept: a number, aligned to `size`, inside. */
const wordAt = (at, size) => typeof at === 'number' && Number.isInteger(at) && at >= 0 && at % size === 0 && at + size <= SIZE
const position = (v) => (v === undefined ? 0 : Number(v))
/** A range end that Buffer#subarray's rules accept. */
const validEnd = (x) => x === undefined || (typeof x === 'number' && (Number.isInteger(x) || Math.abs(x) === Infinity))
/** Buffer#subarray's own answer, the reference for view(). */
const reference = (model, s, e) => model.subarray(s, e)

const steps = [
  fc.tuple(fc.constant('view'), index, index).map(([, s, e]) => ({ name: `view(${show(s)}, ${show(e)})`,
    run: ({ m, model }) => {
      const [ok, v] = attempt(() => m.view(s, e))
      if (ok && !(validEnd(s) && validEnd(e))) throw new Error('accepted a bad range')
      if (ok && !m.closed && !v.equals(reference(model, s, e))) throw new Error('view differs from the model')
      if (!ok && !m.closed && validEnd(s) && validEnd(e)) throw new Error(`valid range refused: ${v.code}`)
    } })),
  fc.tuple(fc.constant('read'), bytes, fc.oneof(index, fc.constant(undefined))).map(([, target, pos]) => ({
    name: `read(${show(target?.constructor?.name)}, ${show(pos)})`,
    run: ({ m, model }) => {
      const [ok, n] = attempt(() => m.read(target, pos))
      if (!ok || m.closed) return
      const p = position(pos)
      const expected = Math.max(0, Math.min(target.byteLength, SIZE - p))
      if (n !== expected) throw new Error(`read returned ${n}, expected ${expected}`)
      const got = Buffer.from(target.buffer, target.byteOffset, n)
      if (!got.equals(model.subarray(p, p + n))) throw new Error('read bytes differ from the model')
    } })),
  fc.tuple(fc.constant('write'), bytes, fc.oneof(index, fc.constant(undefined))).map(([, source, pos]) => ({
    name: `write(${show(source?.constructor?.name)}, ${show(pos)})`,
    run: (state) => {
      const { m, model } = state
      const [ok] = attempt(() => m.write(source, pos))
      if (ok) {
        if (!ArrayBuffer.isView(source) || !plainInt(pos ?? 0)) throw new Error('accepted a bad write')
        const p = position(pos)
        if (p + source.byteLength > SIZE) throw new Error('accepted a write past the end')
        Buffer.from(source.buffer, source.byteOffset, source.byteLength).copy(model, p)
      }
    } })),
  fc.tuple(fc.constant('flush'), index, index).map(([, s, e]) => ({ name: `flush(${show(s)}, ${show(e)})`,
    run: ({ m }) => void attempt(() => m.flush(s, e)) })),
  fc.tuple(fc.constantFrom('advise', 'lock', 'unlock', 'residency'), weird, index, index).map(([method, a, s, e]) => ({
    name: `${method}(${show(a)}, ${show(s)}, ${show(e)})`,
    run: ({ m }) => {
      // Integers pick a real advice; anything else is passed as it is and must be refused.
      const advice = Number.isSafeInteger(a) ? ['normal', 'random', 'willneed', 'dontneed', 'hugepage'][Math.abs(a) % 5] : a
      const [ok, v] = attempt(() => (method === 'advise' ? m.advise(advice, s, e) : m[method](s, e)))
      if (ok && !(validEnd(s) && validEnd(e))) throw new Error(`${method} accepted a bad range`)
      if (ok && method === 'residency' && !(v.resident <= v.pages && v.pages <= 4)) throw new Error('odd residency')
    } })),
  fc.tuple(fc.constant('anonymous'), index, options, index).map(([, length, o, size]) => ({
    name: `anonymous(${show(length)}, ${show(o)}).resize(${show(size)})`,
    run: () => {
      const [ok, a] = attempt(() => memmap.anonymous(length, o))
      if (!ok) return
      if (!plainInt(length)) throw new Error('anonymous accepted a bad length')
      const written = Buffer.from('kept').subarray(0, Math.min(4, a.length))
      a.write(written, 0)
      const [resized] = attempt(() => a.resize(size))
      if (resized && a.length !== Number(size)) throw new Error('resize gave another length')
      const kept = Math.min(written.length, a.length)
      const back = Buffer.alloc(4)
      if (a.read(back) !== Math.min(4, a.length) || !back.subarray(0, kept).equals(written.subarray(0, kept))) {
        throw new Error('anonymous lost its contents')
      }
      a.close()
    } })),
  // Atomics on the fixture mapping (a file mapped 'r+'): the model tracks the word's value.
  fc.tuple(fc.constantFrom('load', 'store', 'add', 'sub', 'and', 'or', 'xor', 'exchange'), index, weird)
    .map(([op, at, value]) => ({ name: `atomics.${op}(${show(at)}, ${show(value)})`,
      run: ({ m, model }) => {
        const [ok, old] = attempt(() => m.atomics[op](at, value))
        if (!ok || m.closed) return
        if (!wordAt(at, 4)) throw new Error(`accepted byte offset ${show(at)}`)
        const before = model.readInt32LE(at)
        if (op !== 'store' && old !== before) throw new Error(`${op} returned ${old}, model has ${before}`)
        const v = op === 'load' ? 0 : Number(value) | 0
        const after = { load: before, store: v, add: (before + v) | 0, sub: (before - v) | 0, and: before & v,
          or: before | v, xor: before ^ v, exchange: v }[op]
        model.writeInt32LE(after, at)
        if (m.atomics.load(at) !== after) throw new Error(`${op} left ${m.atomics.load(at)}, expected ${after}`)
      } })),
  fc.tuple(fc.constantFrom('load64', 'store64', 'add64'), index, weird).map(([op, at, value]) => ({
    name: `atomics.${op}(${show(at)}, ${show(value)})`,
    run: ({ m, model }) => {
      const [ok, old] = attempt(() => m.atomics[op](at, value))
      if (!ok || m.closed) return
      if (!wordAt(at, 8) || (op !== 'load64' && typeof value !== 'bigint')) throw new Error('accepted a bad 64-bit call')
      const before = model.readBigInt64LE(at)
      if (op !== 'store64' && old !== before) throw new Error(`${op} returned ${old}, model has ${before}`)
      const after = op === 'load64' ? before : BigInt.asIntN(64, op === 'store64' ? value : before + value)
      model.writeBigInt64LE(after, at)
    } })),
  // wait() never blocks here: either the expected value differs from the word, or the timeout is
  // short; notify() with any count.
  fc.tuple(index, weird, fc.boolean(), fc.constantFrom(0, 1, -5, 0.5)).map(([at, timeout, equal, short]) => ({
    name: `atomics.wait(${show(at)}, ..., ${show(equal ? short : timeout)})`,
    run: ({ m, model }) => {
      const current = wordAt(at, 4) ? model.readInt32LE(at) : 0
      const [ok, result] = attempt(() => (equal ? m.atomics.wait(at, current, short) : m.atomics.wait(at, current + 1, timeout)))
      if (ok && !['ok', 'not-equal', 'timed-out'].includes(result)) throw new Error(`wait gave ${show(result)}`)
      if (ok && !equal && result !== 'not-equal') throw new Error(`wait on a different value gave ${result}`)
    } })),
  fc.tuple(index, weird).map(([at, count]) => ({ name: `atomics.notify(${show(at)}, ${show(count)})`,
    run: ({ m }) => {
      const [ok, woken] = attempt(() => m.atomics.notify(at, count))
      if (ok && woken !== 0) throw new Error(`notify woke ${woken} waiters that do not exist`)
    } })),
  // A mutex over the fixture's bytes: whatever the lock word holds (earlier writes scribble on it),
  // lock(0) never blocks here: it takes a free mutex, takes over from a gone holder (ownerDied),
  // or says who holds it (ERR_MMAP_TIMEOUT for a live thread, ERR_MMAP_DEADLOCK for this one).
  fc.tuple(index, fc.oneof(fc.constant(0), weird), fc.boolean()).map(([at, timeout, twice]) => ({
    name: `mutex(${show(at)}).lock(${show(timeout)})`,
    run: ({ m, model }) => {
      const [made, mu] = attempt(() => m.mutex(at))
      if (!made) {
        if (wordAt(at, 8) && !m.closed) throw new Error(`mutex(${show(at)}) refused: ${mu.code}`)
        return
      }
      if (!wordAt(at, 8)) throw new Error('mutex() accepted a bad offset')
      const word = model.readInt32LE(at)
      // Never a real wait: a scribbled word may name a live thread (pid 1, say), whose lock
      // an unbounded lock() would wait on for ever. Any number means 0; other types must throw.
      const wait = typeof timeout === 'number' || timeout === undefined ? 0 : timeout
      const [ok, held] = attempt(() => mu.lock(wait))
      if (m.closed) return
      if (ok) {
        if (wait !== undefined && typeof wait !== 'number') throw new Error('lock() accepted a bad timeout')
        if (held.ownerDied !== (word !== 0)) throw new Error(`ownerDied ${held.ownerDied} for a lock word of ${word}`)
        held.unlock()
        if (twice) held.unlock()
        if (m.atomics.load(at) !== 0 || m.atomics.load(at + 4) !== 0) throw new Error('unlock() left the 8 bytes set')
        model.fill(0, at, at + 8)
        return
      }
      const code = held.code
      if (code === 'ERR_INVALID_ARG_TYPE') return
      if (word === 0) throw new Error(`a free mutex refused: ${code}`)
      if (code !== 'ERR_MMAP_TIMEOUT' && code !== 'ERR_MMAP_DEADLOCK') throw new Error(`lock() failed with ${code}`)
    } })),
  // A semaphore over the fixture's bytes: release(count), then a permit taken and given back.
  fc.tuple(index, fc.oneof(fc.integer({ min: -2, max: 5 }), weird)).map(([at, count]) => ({
    name: `semaphore(${show(at)}).release(${show(count)})`,
    run: ({ m, model }) => {
      const [made, sem] = attempt(() => m.semaphore(at))
      if (!made) {
        if (wordAt(at, 8) && !m.closed) throw new Error(`semaphore(${show(at)}) refused: ${sem.code}`)
        return
      }
      const before = Math.max(model.readInt32LE(at), 0)
      const [released] = attempt(() => sem.release(count))
      if (m.closed) return
      const valid = (count === undefined || (Number.isInteger(count) && count >= 1)) && before + (count ?? 1) <= 2 ** 31 - 1
      if (released !== valid) throw new Error(`release(${show(count)}) on ${before} permits: ${released ? 'accepted' : 'refused'}`)
      const now = released ? before + (count ?? 1) : before
      if (sem.value !== now) throw new Error(`value ${sem.value}, expected ${now}`)
      const permit = sem.tryAcquire()
      if ((permit !== null) !== now > 0) throw new Error(`tryAcquire with ${now} permits gave ${permit}`)
      if (permit) {
        if (sem.value !== now - 1) throw new Error('tryAcquire did not take one permit')
        permit.release()
        permit.release()
      }
      if (sem.value !== now) throw new Error(`value ${sem.value} after the permit came back, expected ${now}`)
      // A refused release leaves the word as it was (a negative one reads as 0 permits).
      if (released) model.writeInt32LE(now, at)
    } })),
  // A reader-writer lock over the fixture's bytes (256 of them, whatever earlier steps scribbled):
  // the try forms and the timed forms with timeout 0 never block, and answer a Held, null, or a
  // coded refusal; a Held given back leaves this thread in no slot and the writer word free of it.
  // The lock may clear slots and words it judged dead: the model takes the bytes as they are after.
  fc.tuple(index, fc.constantFrom('read', 'write', 'tryRead', 'tryWrite'), fc.boolean()).map(([at, how, twice]) => ({
    name: `rwlock(${show(at)}).${how}()`,
    run: ({ m, model }) => {
      const [made, rw] = attempt(() => m.rwlock(at))
      if (!made) {
        if (wordAt(at, 8) && at + 256 <= SIZE && !m.closed) throw new Error(`rwlock(${show(at)}) refused: ${rw.code}`)
        return
      }
      if (!wordAt(at, 8) || at + 256 > SIZE) throw new Error('rwlock() accepted a bad offset')
      const [ok, held] = attempt(() => (how.startsWith('try') ? rw[how]() : rw[how](0)))
      if (m.closed) return
      if (!ok && !['ERR_MMAP_TIMEOUT', 'ERR_MMAP_DEADLOCK'].includes(held.code)) throw new Error(`${how}() failed with ${held.code}`)
      if (ok && held !== null) {
        if (typeof held.ownerDied !== 'boolean') throw new Error(`${how}() gave a Held without ownerDied`)
        held.unlock()
        if (twice) held.unlock()
        if (rw.tryWrite === undefined) throw new Error('not a rwlock')
      }
      m.read(model.subarray(at, at + 256), at)
    } })),
  // A condition over scribbled bytes with a mutex taken at a free offset of its own: notify()
  // answers at most its count and never blocks; wait(held, 0) times out at once, holding the
  // mutex again.
  fc.tuple(index, fc.oneof(fc.integer({ min: 0, max: 3 }), weird)).map(([at, count]) => ({
    name: `condition(${show(at)}).notify(${show(count)})`,
    run: ({ m, model }) => {
      const [made, cv] = attempt(() => m.condition(at))
      if (!made) {
        if (wordAt(at, 8) && !m.closed) throw new Error(`condition(${show(at)}) refused: ${cv.code}`)
        return
      }
      const [ok, woken] = attempt(() => cv.notify(count))
      if (m.closed) return
      const valid = count === undefined || (typeof count === 'number' && count >= 0)
      if (ok !== valid) throw new Error(`notify(${show(count)}) ${ok ? 'accepted' : `refused (${woken.code})`}`)
      if (ok && (!Number.isInteger(woken) || woken < 0 || woken > (count ?? 1))) throw new Error(`notify(${show(count)}) woke ${woken}`)
      // A mutex in the last 8 bytes, which the fixture's model knows.
      const mutexAt = Math.floor((SIZE - 8) / 8) * 8
      if (mutexAt >= at && mutexAt < at + 8) return m.read(model.subarray(at, at + 8), at)
      m.write(Buffer.alloc(8), mutexAt)
      const held = m.mutex(mutexAt).lock(0)
      const [waited, notified] = attempt(() => cv.wait(held, 0))
      if (!waited) throw new Error(`wait(held, 0) failed with ${notified.code}`)
      if (notified !== false && notified !== true) throw new Error(`wait gave ${show(notified)}`)
      if (!m.mutex(mutexAt).locked) throw new Error('wait() returned without the mutex')
      held.unlock()
      m.read(model.subarray(at, at + 8), at)
      m.read(model.subarray(mutexAt, mutexAt + 8), mutexAt)
    } })),
  // A barrier over scribbled bytes: wait(0) answers an index (one party), or throws that it is
  // broken, or that the bytes name other parties; never blocks. reset() mends it for one party.
  fc.tuple(index, fc.oneof(fc.integer({ min: 1, max: 3 }), weird)).map(([at, parties]) => ({
    name: `barrier(${show(at)}, ${show(parties)}).wait(0)`,
    run: ({ m, model }) => {
      const [made, barrier] = attempt(() => m.barrier(at, parties))
      const fits = wordAt(at, 8) && at + 16 <= SIZE
      if (!made) {
        if (fits && Number.isInteger(parties) && parties >= 1 && parties <= 0x7fffffff && !m.closed) throw new Error(`barrier refused: ${barrier.code}`)
        return
      }
      if (!fits || !Number.isInteger(parties) || parties < 1 || parties > 0x7fffffff) throw new Error('barrier() accepted a bad argument')
      const [ok, arrived] = attempt(() => barrier.wait(0))
      if (m.closed) return
      if (ok && (parties !== 1 || arrived !== 0)) throw new Error(`wait() of ${parties} parties gave ${arrived} at once`)
      if (!ok && !['ERR_MMAP_BARRIER_BROKEN', 'ERR_INVALID_ARG_VALUE'].includes(arrived.code)) throw new Error(`wait() failed with ${arrived.code}`)
      barrier.reset()
      m.read(model.subarray(at, at + 16), at)
    } })),
  // Named shared memory: names from a small per-run set (all unlinked at the end) or weird values.
  fc.tuple(fc.oneof(sharedName, weird), index, fc.oneof(fc.record({ exclusive: fc.oneof(fc.boolean(), weird), readOnly: fc.oneof(fc.boolean(), weird) }, { requiredKeys: [] }), weird))
    .map(([name, length, o]) => ({ name: `shared(${show(name)}, ${show(length)}, ${show(o)})`,
      run: () => {
        const [created, a] = attempt(() => memmap.createShared(name, length, o))
        if (created) {
          // A number or bigint in the name's place is createShared(length, options): a new unique name.
          const unnamed = typeof name === 'number' || typeof name === 'bigint'
          if (unnamed) memmap.unlinkShared(a.path)
          if (a.length !== Number(unnamed ? name : length) || a.kind !== 'shared') throw new Error('createShared gave a wrong mapping')
          a.close()
        }
        const [opened, b] = attempt(() => memmap.openShared(name, o))
        if (opened) b.close()
        attempt(() => memmap.unlinkShared(name))
      } })),
  // Searches: Buffer#indexOf's answers on the model, or its error's code (ERR_MMAP_CLOSED once closed).
  fc.tuple(fc.constantFrom('indexOf', 'lastIndexOf', 'includes'), fc.oneof(bytes, fc.string({ maxLength: 3 }), fc.integer({ min: -300, max: 300 })), fc.oneof(index, fc.constantFrom('utf8', 'hex', 'latin1', 'nope')))
    .map(([method, value, offset]) => ({ name: `${method}(${show(value?.constructor?.name ?? value)}, ${show(offset)})`,
      run: ({ m, model }) => {
        const [ok, got] = attempt(() => m[method](value, offset))
        if (m.closed) {
          // Refused: ERR_MMAP_CLOSED, or the argument's own error, which is checked first.
          if (ok) throw new Error(`${method} after close answered ${got}`)
          return
        }
        let expected
        try {
          expected = model[method](value, typeof offset === 'bigint' ? Number(offset) : offset)
        } catch (error) {
          // Buffer's own refusals (an uncoded TypeError for a symbol offset included) must be refusals here too.
          if (ok) throw new Error(`${method} accepted what Buffer refuses: ${error.message}`, { cause: error })
          return
        }
        if (!ok) throw new Error(`${method} refused what Buffer accepts: ${got.code}`)
        if (got !== expected) throw new Error(`${method} gave ${got}, Buffer ${expected}`)
      } })),
  fc.tuple(fc.constant('flush'), index, index, fc.oneof(fc.record({ durable: fc.oneof(fc.boolean(), weird) }, { requiredKeys: [] }), weird))
    .map(([, s, e, o]) => ({ name: `flush(${show(s)}, ${show(e)}, ${show(o)})`,
      run: ({ m }) => {
        const [ok] = attempt(() => m.flush(s, e, o))
        if (ok && o !== undefined && (typeof o !== 'object' || o === null)) throw new Error('flush accepted bad options')
      } })),
  // A stream over the mapping: made, one chunk read synchronously, then dropped or left to close().
  fc.tuple(fc.constant('createReadStream'), fc.oneof(fc.record({ start: index, end: index, highWaterMark: index }, { requiredKeys: [] }), weird), fc.boolean())
    .map(([, o, keep]) => ({ name: `createReadStream(${show(o)})${keep ? ' kept' : ''}`,
      run: ({ m, model }) => {
        const [ok, stream] = attempt(() => m.createReadStream(o))
        if (!ok) return
        stream.on('error', () => {})
        const chunk = stream.read()
        if (chunk !== null && !m.closed) {
          const start = o?.start === undefined ? 0 : Number(o.start)
          if (!chunk.equals(model.subarray(start, start + chunk.length))) throw new Error('stream chunk differs from the model')
        }
        if (!keep) stream.destroy()
      } })),
  // lines(): every record, against a split of the model, or a coded refusal of bad options.
  fc.tuple(fc.constant('lines'), fc.oneof(fc.record({ start: index, end: index, separator: fc.oneof(fc.constantFrom('\n', '\r\n', 0, 10, 'a'), bytes, weird), encoding: fc.oneof(fc.constantFrom('latin1', 'utf8', undefined), weird) }, { requiredKeys: [] }), weird))
    .map(([, o]) => ({ name: `lines(${show(o)})`,
      run: ({ m, model }) => {
        const [ok, records] = attempt(() => [...m.lines(o)])
        if (!ok || m.closed) return
        const start = o?.start === undefined ? 0 : Number(o.start)
        const end = o?.end === undefined || o.end === Infinity ? SIZE : Math.min(Number(o.end), SIZE)
        const sep = o?.separator === undefined ? Buffer.from('\n') : typeof o.separator === 'number' ? Buffer.from([o.separator]) : Buffer.from(o.separator)
        const expected = []
        for (let at = start; at < end; ) {
          const found = model.indexOf(sep, at)
          if (found === -1 || found + sep.length > end) {
            expected.push(model.subarray(at, end))
            break
          }
          const cut = sep.length === 1 && sep[0] === 10 && found > at && model[found - 1] === 13 ? found - 1 : found
          expected.push(model.subarray(at, cut))
          at = found + sep.length
        }
        const encoding = o?.encoding ?? undefined
        const want = expected.map((r) => (encoding === undefined ? r : r.toString(encoding)))
        const same = records.length === want.length && records.every((r, i) => (typeof r === 'string' ? r === want[i] : Buffer.isBuffer(r) && r.equals(want[i])))
        if (!same) throw new Error(`lines gave ${records.length} records, the model ${want.length}, or other bytes`)
      } })),
  // array(): a typed array over the model's bytes, detached with the mapping.
  fc.tuple(fc.constant('array'), fc.oneof(fc.constantFrom(Uint8Array, Int16Array, Int32Array, Float32Array, Float64Array, BigInt64Array), weird), fc.oneof(index, fc.constant(undefined)), fc.oneof(index, fc.constant(undefined)))
    .map(([, Type, at, length]) => ({ name: `array(${show(Type?.name ?? Type)}, ${show(at)}, ${show(length)})`,
      run: ({ m, model }) => {
        const [ok, array] = attempt(() => m.array(Type, at, length))
        if (!ok || m.closed) return
        const size = Type.BYTES_PER_ELEMENT
        const from = at === undefined ? 0 : Number(at)
        if (from % size !== 0) throw new Error('array accepted an unaligned byteOffset')
        const count = length === undefined ? Math.floor((SIZE - from) / size) : Number(length)
        if (array.length !== count || from + count * size > SIZE) throw new Error(`array of ${array.length}, expected ${count}`)
        if (!Buffer.from(array.buffer, array.byteOffset, array.byteLength).equals(model.subarray(from, from + count * size))) throw new Error('array differs from the model')
      } })),
  // A descriptor of the fixture, opened with some flags, mapped with some options, then closed.
  fc.tuple(fc.constant('openSync(fd)'), fc.constantFrom('r', 'r+', 'a', 'w'), options).map(([, flags, o]) => ({ name: `openSync(fd ${flags}, ${show(o)})`,
    run: () => {
      const fd = openSync(file, flags === 'w' ? constants.O_WRONLY : flags)
      try {
        const [ok, other] = attempt(() => memmap.openSync(fd, o))
        if (ok) {
          if (other.path !== null) throw new Error('a descriptor mapping named a path')
          other.close()
        }
      } finally {
        closeSync(fd)
      }
    } })),
  // Numbers only: a string in the first place is a name (the step above).
  fc.tuple(fc.constant('createShared(length)'), fc.oneof(fc.integer({ min: -10, max: 3 * 4096 }), fc.double(), fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }), fc.constantFrom(NaN, Infinity, 2 ** 53)), fc.oneof(fc.record({ exclusive: fc.oneof(fc.boolean(), weird) }, { requiredKeys: [] }), weird))
    .map(([, length, o]) => ({ name: `createShared(${show(length)}, ${show(o)})`,
      run: () => {
        const [ok, a] = attempt(() => memmap.createShared(length, o))
        if (!ok) return
        memmap.unlinkShared(a.path)
        if (a.length !== Number(length) || a.kind !== 'shared') throw new Error('createShared(length) gave a wrong mapping')
        a.close()
      } })),
  fc.constant({ name: 'buffer', run: ({ m, model }) => {
    const [ok, b] = attempt(() => m.buffer)
    if (ok && !b.equals(model)) throw new Error('buffer differs from the model')
  } }),
  fc.constant({ name: 'close', run: ({ m }) => {
    const held = m.closed ? null : m.view(0, 8)
    m.close()
    if (held && held.byteLength !== 0) throw new Error('a view survived close()')
    if (!m.closed) throw new Error('closed is false after close()')
  } }),
  fc.tuple(fc.constant('openSync'), pathArg, options).map(([, p, o]) => ({ name: `openSync(${show(p)}, ${show(o)})`,
    run: () => {
      const [ok, other] = attempt(() => memmap.openSync(p, o))
      if (ok) {
        if (other.length < 0 || other.length > 2 ** 40) throw new Error('odd length')
        other.close()
      }
      // 'w+' may have resized the file: keep the fixture's size and contents for later steps.
    } })),
]

/** A printable form of any value, even one whose toString throws. */
function show(value) {
  try {
    if (typeof value === 'symbol' || typeof value === 'function') return typeof value
    return JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)) ?? 'undefined'
  } catch {
    return typeof value
  }
}

const failures = []
fc.assert(
  fc.property(fc.array(fc.oneof(...steps), { minLength: 1, maxLength: 12 }), (program) => {
    const state = setup()
    try {
      for (const step of program) {
        step.run(state)
        // A w+ open of the fixture truncates it: start the remaining steps on a fresh one.
        if (step.name.startsWith('openSync')) {
          state.m.close()
          Object.assign(state, setup())
        }
      }
    } finally {
      state.m.close()
    }
  }),
  { seed, numRuns: runs, endOnFailure: true, reporter: (out) => { if (out.failed) failures.push(`${out.errorInstance?.stack ?? out.error}\n${out.counterexample?.[0]?.map((s) => s.name).join(" ; ")}`) } },
)

// Async entry points: a slice of the same arguments through open() and flushAsync().
const asyncCases = fc.sample(fc.tuple(pathArg, options, index, index), { seed, numRuns: Math.min(runs, 500) })
for (const [p, o, s, e] of asyncCases) {
  try {
    const m = await memmap.open(p, o)
    await m.flushAsync(s, e).catch((error) => {
      if (!CODE.test(error?.code)) throw error
    })
    const copy = m.closed || !m.zeroCopy ? null : Buffer.from(m.view())
    const needle = Buffer.from([0x1f, 0x3e])
    const found = await m.indexOfAsync(needle, s).catch((error) => {
      if (!CODE.test(error?.code)) throw error
      return error
    })
    if (copy && typeof s === 'number' && typeof found === 'number' && found !== copy.indexOf(needle, s)) {
      throw new Error(`indexOfAsync gave ${found}`)
    }
    await m[Symbol.asyncDispose]()
    if (!m.closed) throw new Error('asyncDispose left the mapping open')
  } catch (error) {
    if (!(error instanceof Error) || !CODE.test(error.code ?? '')) failures.push(`async: ${error?.stack ?? error}`)
  }
}

process.chdir(tmpdir())
for (const x of ['a', 'b', 'c']) memmap.unlinkShared(`fz${process.pid}${x}`)
rmSync(dir, { recursive: true, force: true })
console.log(JSON.stringify({ seed, runs, failures }))
process.exitCode = failures.length === 0 ? 0 : 1
