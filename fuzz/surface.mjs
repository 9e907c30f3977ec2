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
import { isDeepStrictEqual } from 'node:util'
import { deserialize, serialize } from 'node:v8'
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

// Channels: offsets and lengths near the edges (the least is 272 bytes, 8-aligned offsets, the
// fixture's end), messages of every kind, and scribbles aimed at the header's words and the ring.
const channelAt = fc.oneof(fc.constantFrom(0, 64, 4096, 8192, Math.floor((SIZE - 272) / 8) * 8, Math.floor((SIZE - 272) / 8) * 8 + 8),
  fc.integer({ min: 0, max: SIZE }).map((x) => x & ~7), index)
const channelLength = fc.oneof(fc.constantFrom(271, 272, 273, 280, 512, 1000, 4096, 256 + 2 ** 30, 257 + 2 ** 30), fc.integer({ min: 264, max: 4200 }), weird)
/** Stand-ins for a message of exactly maxMessage bytes, and of one more. */
const MAX_MESSAGE = Symbol('maxMessage')
const OVER_MESSAGE = Symbol('maxMessage + 1')
const channelMessage = fc.oneof(fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)), fc.uint8Array({ maxLength: 300 }), fc.string({ maxLength: 20 }),
  fc.constantFrom(MAX_MESSAGE, OVER_MESSAGE, '', new Float64Array(3), new DataView(new ArrayBuffer(5))), weird)
const channelValue = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(undefined, 1n, new Date(0), new Map([[1, 'x']]), Buffer.from('ab'), new Uint16Array(3), () => 0, Symbol('s'), { f: () => 0 }))
// The header's words (docs/channels.md, "Layout"): locks, geometry, state, positions, wanted, sequences.
const HEADER_WORDS = [0, 4, 8, 12, 64, 68, 72, 128, 132, 192, 196, 200]
// Word values: edges, and values relative to the ring ('ring' + d: positions near its size or twice it).
const wordValue = fc.oneof(fc.constantFrom(0, 1, -1, 7, 8, 16, 2 ** 31 - 1, -(2 ** 31), 2 ** 30, process.pid), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.tuple(fc.constantFrom('ring', '2ring'), fc.integer({ min: -24, max: 24 })))
// Record lengths: edges around maxMessage and the ring, and the largest Int32s, whose padded size overflows 32 bits.
const recordLength = fc.oneof(fc.constantFrom(0, 1, 8, 2 ** 30, 2 ** 31 - 8, 2 ** 31 - 7, 2 ** 31 - 1, -1, -(2 ** 31)), fc.integer({ min: 0, max: 5000 }),
  fc.tuple(fc.constantFrom('ring'), fc.integer({ min: -24, max: 24 })))
const scribbleOp = fc.oneof(
  fc.record({ kind: fc.constant('scribble'), how: fc.constant('word'), at: fc.constantFrom(...HEADER_WORDS), value: wordValue, buffer: fc.boolean() }),
  // A record header at the head, or at a ring offset where one may be: its length, and its complement or not.
  fc.record({ kind: fc.constant('scribble'), how: fc.constant('record'), at: fc.oneof(fc.constantFrom('head', 'head', 0, 8, 16), fc.nat(600).map((x) => x & ~7)), value: recordLength, complement: fc.boolean(), buffer: fc.boolean() }),
  fc.record({ kind: fc.constant('scribble'), how: fc.constant('bytes'), at: fc.nat(700), bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }), buffer: fc.boolean() }),
)
const shortTimeout = fc.constantFrom(0, 0, 0, 1, 5, 20)
const channelOp = fc.oneof(
  fc.record({ kind: fc.constantFrom('trySend', 'send'), message: channelMessage, timeout: fc.oneof(fc.constant(undefined), weird), short: shortTimeout }),
  fc.record({ kind: fc.constant('sendValue'), value: channelValue, timeout: fc.oneof(fc.constant(undefined), weird), short: shortTimeout }),
  fc.record({ kind: fc.constantFrom('tryReceive', 'receive', 'receiveValue', 'pending', 'ended', 'end'), timeout: fc.oneof(fc.constant(undefined), weird), short: shortTimeout }),
  scribbleOp,
)
const showOp = (op) => (op.kind === 'scribble' ? `scribble ${op.how} @${op.at}=${show(op.value ?? op.bytes?.length)}` : op.kind)

/** What sendValue() sends: v8.serialize's bytes, or null for a value it cannot clone. */
function clone(value) {
  try {
    return serialize(value)
  } catch {
    return null
  }
}

/** Writes a scribble over the channel at `at` of `length` bytes (ring of `ring`), through write() or the Buffer. */
function scribble(m, at, length, ring, op) {
  if (m.closed) return
  const word = (v) => (Array.isArray(v) ? (v[0] === 'ring' ? ring : 2 * ring) + v[1] : v) | 0
  let data
  let where
  if (op.how === 'word') {
    data = Buffer.alloc(4)
    data.writeInt32LE(word(op.value))
    where = op.at
  } else if (op.how === 'record') {
    data = Buffer.alloc(8)
    const n = word(op.value)
    data.writeInt32LE(n, 0)
    data.writeInt32LE(op.complement ? ~n : n, 4)
    // 'head': the record the next receive reads (the head word as it is, if it is a position).
    const head = m.atomics.load(at + 192)
    where = 256 + ((op.at === 'head' ? (head >= 0 ? head & ~7 : 0) : op.at) % ring)
  } else {
    data = Buffer.from(op.bytes)
    where = op.at
  }
  if (where >= length) return
  data = data.subarray(0, length - where)
  if (op.buffer) m.buffer.set(data, at + where)
  else m.write(data, at + where)
}

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
  // A channel over the fixture's bytes (docs/channels.md): made at generated offsets and lengths,
  // its bytes zeroed first (an empty channel) or left as earlier steps scribbled them, then a
  // sequence of calls with scribbles between them (through write() or the Buffer: header words,
  // record headers with edge lengths, random bytes). Every blocking call has a timeout of at most
  // 20 ms (a scribbled lock word may name a live thread). Each call answers or throws a coded error
  // (attempt), in bounded time, and never gives a message longer than maxMessage. While no scribble
  // has touched a zeroed channel, a model of the queue says exactly what each call answers.
  fc.tuple(channelAt, channelLength, fc.boolean(), fc.array(channelOp, { minLength: 1, maxLength: 8 })).map(([at, length, zero, ops]) => ({
    name: `channel(${show(at)}, ${show(length)})${zero ? ' zeroed' : ''}: ${ops.map(showOp).join(', ')}`,
    run: ({ m, model }) => {
      const fits = wordAt(at, 8) && Number.isSafeInteger(length) && length >= 272 && length <= 256 + 2 ** 30 && at + length <= SIZE
      if (zero && fits && !m.closed) {
        m.write(Buffer.alloc(length), at)
        model.fill(0, at, at + length)
      }
      const [made, c] = attempt(() => m.channel(at, length))
      if (!made) {
        if (fits && !m.closed && c.code !== 'ERR_INVALID_ARG_VALUE') throw new Error(`channel(${show(at)}, ${show(length)}) refused: ${c.code}`)
        if (c.code === 'ERR_INVALID_ARG_VALUE' && [0, length].includes(model.readInt32LE(at + 8))) throw new Error('channel() refused the byteLength its header holds')
        return
      }
      if (!fits) throw new Error('channel() accepted a bad range')
      const ring = Math.floor((length - 256) / 8) * 8
      if (c.maxMessage !== ring - 8 || c.byteOffset !== at || c.byteLength !== length) throw new Error(`a channel of ${length} bytes with maxMessage ${c.maxMessage}`)
      // The model: valid while the channel was zeroed and nothing scribbled on it since.
      let clean = zero && model.readInt32LE(at + 8) === 0
      const queue = [] // [bytes, sent as a value]
      let ended = false
      const queued = () => queue.reduce((sum, [b]) => sum + 8 + Math.ceil(b.length / 8) * 8, 0)
      for (const op of ops) {
        if (op.kind === 'scribble') {
          scribble(m, at, length, ring, op)
          clean = false
          continue
        }
        if (m.closed) return
        const message = op.message === 'max' ? Buffer.alloc(c.maxMessage, 7) : op.message === 'over' ? Buffer.alloc(c.maxMessage + 1) : op.message
        // Any number (or undefined, which waits for ever) means a short timeout; other types must throw.
        const timeout = typeof op.timeout === 'number' || op.timeout === undefined ? op.short : op.timeout
        const started = performance.now()
        const [ok, got] = attempt(() => {
          switch (op.kind) {
            case 'trySend': return c.trySend(message)
            case 'send': return c.send(message, timeout)
            case 'sendValue': return c.sendValue(op.value, timeout)
            case 'tryReceive': return c.tryReceive()
            case 'receive': return c.receive(timeout)
            case 'receiveValue': return c.receiveValue(timeout)
            case 'pending': return c.pending
            case 'ended': return c.ended
            case 'end': return c.end()
          }
        })
        const took = performance.now() - started
        const bound = (typeof timeout === 'number' ? timeout : 0) + 2000
        if (took > bound) throw new Error(`${op.kind} took ${Math.round(took)} ms with a timeout of ${show(timeout)}`)
        if (ok && Buffer.isBuffer(got) && got.length > c.maxMessage) throw new Error(`${op.kind} gave a message of ${got.length} bytes, maxMessage ${c.maxMessage}`)
        if (ok && op.kind === 'pending' && !(Number.isInteger(got) && got >= 0 && got <= ring / 8)) throw new Error(`pending ${got}`)
        if (ok && op.kind === 'ended' && typeof got !== 'boolean') throw new Error(`ended ${show(got)}`)
        if (ok && op.kind === 'trySend' && typeof got !== 'boolean') throw new Error(`trySend gave ${show(got)}`)
        if (ok && op.kind === 'tryReceive' && got !== null && !Buffer.isBuffer(got)) throw new Error(`tryReceive gave ${show(got)}`)
        if (!clean) continue
        // What the model says the call answers.
        const expect = (want) => {
          const code = ok ? null : got.code
          if (code !== (want ?? null)) throw new Error(`${op.kind} gave ${ok ? show(got?.length ?? got) : code}, the model ${want ?? 'a result'}`)
        }
        const timeoutBad = ['send', 'sendValue', 'receive', 'receiveValue'].includes(op.kind) && typeof timeout !== 'number'
        if (op.kind === 'pending') { if (got !== queue.length) throw new Error(`pending ${got}, the model ${queue.length}`) }
        else if (op.kind === 'ended') { if (got !== ended) throw new Error(`ended ${got}, the model ${ended}`) }
        else if (op.kind === 'end') { expect(); ended = true }
        else if (op.kind === 'trySend' || op.kind === 'send' || op.kind === 'sendValue') {
          const sent = op.kind === 'sendValue' ? clone(op.value) : typeof message === 'string' ? Buffer.from(message) : ArrayBuffer.isView(message) ? Buffer.from(message.buffer, message.byteOffset, message.byteLength) : null
          const room = sent !== null && ring - queued() >= 8 + Math.ceil(sent.length / 8) * 8
          const want = sent === null ? (op.kind === 'sendValue' ? 'ERR_INVALID_ARG_VALUE' : 'ERR_INVALID_ARG_TYPE') : sent.length > c.maxMessage ? 'ERR_MMAP_TOO_LARGE' : timeoutBad ? 'ERR_INVALID_ARG_TYPE'
            : ended ? 'ERR_MMAP_CHANNEL_ENDED' : !room && op.kind !== 'trySend' ? 'ERR_MMAP_TIMEOUT' : undefined
          expect(want)
          if (op.kind === 'trySend' && ok && got !== room) throw new Error(`trySend gave ${got}, the model ${room}`)
          if (ok && room) queue.push([Buffer.from(sent), op.kind === 'sendValue'])
        } else {
          // tryReceive, receive, receiveValue
          const front = queue[0]
          if (op.kind === 'tryReceive') {
            if (!ok || (front === undefined ? got !== null : !front[0].equals(got))) throw new Error(`tryReceive gave ${ok ? show(got?.length ?? got) : got.code}, the model ${front?.[0].length ?? null}`)
          } else if (timeoutBad) expect('ERR_INVALID_ARG_TYPE')
          else if (front === undefined) expect(ended ? 'ERR_MMAP_CHANNEL_ENDED' : 'ERR_MMAP_TIMEOUT')
          else if (op.kind === 'receive') {
            expect()
            if (!front[0].equals(got)) throw new Error('receive gave other bytes than were sent')
          } else if (front[1]) {
            expect()
            if (!isDeepStrictEqual(got, deserialize(front[0]))) throw new Error('receiveValue gave another value than was sent')
          }
          // receiveValue of bytes sent raw: whatever they decode to, or a coded refusal; consumed.
          if (front !== undefined && !timeoutBad && (ok || op.kind === 'receiveValue')) queue.shift()
        }
      }
      if (!m.closed) m.read(model.subarray(at, at + length), at)
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

// Channels, async: the async forms with timeouts of at most 20 ms, then for await, over an
// anonymous mapping's channel with scribbles between the calls. Each call settles in bounded time
// with a result or a coded error, and never gives a message longer than maxMessage. A for await
// still waiting after a while finishes once end() is called (or, if a scribbled lock word names a
// live thread, once the mapping is closed: that rejects it with ERR_MMAP_CLOSED).
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms, 'pending'))
const channelCases = fc.sample(fc.tuple(fc.constantFrom(272, 1000, 4096), fc.boolean(), fc.array(channelOp, { maxLength: 6 }), fc.nat(20)), { seed, numRuns: Math.min(runs, 200) })
for (const [length, zero, ops, wait] of channelCases) {
  const m = memmap.anonymous(8192)
  const trace = []
  try {
    const c = m.channel(64, length)
    // Not zeroed: the fixture's bytes over all of it but the byteLength and the two locks (the
    // word scribbles reach those): state, positions, wanted and sequence words, the ring.
    if (!zero) {
      m.write(initial.subarray(12, 128), 64 + 12)
      m.write(initial.subarray(136, length), 64 + 136)
    }
    const ring = Math.floor((length - 256) / 8) * 8
    for (const op of ops) {
      trace.push(showOp(op))
      if (op.kind === 'scribble') {
        scribble(m, 64, length, ring, op)
        continue
      }
      const message = op.message === MAX_MESSAGE ? Buffer.alloc(c.maxMessage, 7) : op.message === OVER_MESSAGE ? Buffer.alloc(c.maxMessage + 1) : op.message
      const timeout = typeof op.timeout === 'number' || op.timeout === undefined ? op.short : op.timeout
      const call = async () => {
        switch (op.kind) {
          case 'trySend': return c.trySend(message)
          case 'send': return c.sendAsync(message, timeout)
          case 'sendValue': return c.sendValueAsync(op.value, timeout)
          case 'tryReceive': return c.tryReceive()
          case 'receive': return c.receiveAsync(timeout)
          case 'receiveValue': return c.receiveValueAsync(timeout)
          case 'pending': return c.pending
          case 'ended': return c.ended
          case 'end': return c.end()
        }
      }
      const got = await Promise.race([call().catch((error) => ({ error })), sleep((typeof timeout === 'number' ? timeout : 0) + 2000)])
      if (got === 'pending') throw new Error(`${op.kind}Async did not settle within its timeout of ${show(timeout)} ms + 2 s`)
      if (got?.error !== undefined) {
        if (!(got.error instanceof Error) || !CODE.test(got.error.code ?? '')) throw got.error
      } else if (Buffer.isBuffer(got) && got.length > c.maxMessage) throw new Error(`${op.kind} gave ${got.length} bytes, maxMessage ${c.maxMessage}`)
    }
    trace.push('for await')
    const loop = (async () => {
      let count = 0
      for await (const got of c) {
        if (got.length > c.maxMessage) throw new Error(`for await gave ${got.length} bytes, maxMessage ${c.maxMessage}`)
        if (++count > ring / 8) throw new Error(`for await gave ${count} messages from a ring of ${ring} bytes`)
      }
    })().then(() => 'done', (error) => ({ error }))
    let settled = await Promise.race([loop, sleep(wait)])
    if (settled === 'pending') {
      c.end()
      // Untouched, end() must finish it; scribbled, a lock word may name a holder that is never
      // judged ended (another PID namespace's tag, docs/synchronization.md): close() must then.
      const untouched = zero && !ops.some((op) => op.kind === 'scribble')
      settled = await Promise.race([loop, sleep(untouched ? 2000 : 250)])
      if (settled === 'pending' && untouched) throw new Error('for await went on waiting after end()')
    }
    if (settled === 'pending') {
      m.close()
      settled = await Promise.race([loop, sleep(2000)])
      if (settled === 'pending') throw new Error('for await went on waiting after end() and close()')
    }
    if (settled !== 'done' && (!(settled.error instanceof Error) || !CODE.test(settled.error.code ?? ''))) throw settled.error
  } catch (error) {
    if (!(error instanceof Error) || !CODE.test(error.code ?? '')) failures.push(`async channel(64, ${length}): ${error?.stack ?? error}\n${trace.join(' ; ')}`)
  } finally {
    m.close()
  }
}

process.chdir(tmpdir())
for (const x of ['a', 'b', 'c']) memmap.unlinkShared(`fz${process.pid}${x}`)
rmSync(dir, { recursive: true, force: true })
console.log(JSON.stringify({ seed, runs, failures }))
process.exitCode = failures.length === 0 ? 0 : 1
