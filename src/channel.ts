// A message queue in the bytes of a mapping: any number of senders and receivers, in any threads
// and processes, kill-safe. docs/channels.md has the layout and the model this code follows: at
// each step, what the other parties see and what a party's death there leaves.
//
// In short: a send lock and a receive lock (the robust mutexes of sync.ts: a holder that dies is
// replaced, with ownerDied) serialise each side; records [length, ~length, payload, padding to 8]
// sit in a byte ring between `head` (moved only by the receive lock's holder) and `tail` (moved
// only by the send lock's holder). A record exists once `tail` has moved past it and is gone once
// `head` has: both moves are one atomic store, so a party killed before its store leaves nothing
// behind and one killed after it has finished. Sleepers announce themselves in a `wanted` word
// before they look a last time; the party that moves a position clears it and bumps a sequence
// word, which is what a sleeper waits on (a change of value, which Windows' polling waits see).

import { deserialize, serialize } from 'node:v8'

import { closed, coded, invalidType, outOfRange, toBytes, toTimeout } from './args'
import { zeroCopy } from './constants'
import type { Channel, Held, MappingAtomics, Mutex } from './types'

/**
 * What a channel uses of the `Mapping` it lives in, named by shape so that this file need not
 * import the class that makes channels.
 */
interface Mapping {
  readonly closed: boolean
  readonly atomics: MappingAtomics
  view(start?: number, end?: number): Buffer
  read(target: ArrayBufferView, position?: number): number
  write(source: ArrayBufferView, position?: number): number
  mutex(byteOffset: number): Mutex
}

// Byte offsets inside the channel (docs/channels.md, "Layout"); each line of 64 bytes is written
// by one side, so that a sender and a receiver on two cores do not share a cache line.
const SEND_LOCK = 0
const GEOMETRY = 8 // the byteLength every party uses, written by the first
const STATE = 12 // bit 0: ended
const TAIL = 64
const DATA_WANTED = 68
const DATA_SEQ = 72
const RECEIVE_LOCK = 128
const HEAD = 192
const SPACE_WANTED = 196
const SPACE_SEQ = 200
/** Where the ring starts. */
export const CHANNEL_HEADER = 256
const RECORD_HEADER = 8
const ENDED = 1
/** The largest ring: positions count modulo twice its size, which must stay a positive Int32. */
const MAX_RING = 2 ** 30

/** How the channel reaches its bytes: a view of its own, or the mapping's calls where zero-copy Buffers are refused. */
interface Port {
  /** Makes sure the next operations can run (a view detached by `resize()` is made again). */
  fresh(): void
  load(at: number): number
  /** A plain read: for a word only this party writes now (the tail or head under its lock). */
  peek(at: number): number
  store(at: number, value: number): void
  exchange(at: number, value: number): number
  add(at: number, value: number): number
  compareExchange(at: number, expected: number, replacement: number): number
  /** The two words of the record header at ring offset `at` (8-aligned). */
  header(at: number): [number, number]
  setHeader(at: number, length: number): void
  /** Copies `count` bytes of the ring at `at` into `target` at `into`. */
  copyOut(at: number, target: Buffer, into: number, count: number): void
  /** Copies `source` into the ring at `at`. */
  copyIn(at: number, source: Uint8Array): void
}

class ViewPort implements Port {
  readonly #mapping: Mapping
  readonly #start: number
  readonly #length: number
  #bytes: Buffer
  #words: Int32Array

  constructor(mapping: Mapping, start: number, length: number) {
    this.#mapping = mapping
    this.#start = start
    this.#length = length
    this.#bytes = mapping.view(start, start + length)
    this.#words = new Int32Array(this.#bytes.buffer, this.#bytes.byteOffset, length >> 2)
  }

  fresh(): void {
    if (this.#bytes.length !== 0) return
    // Detached by close() (view() throws ERR_MMAP_CLOSED) or resize() (a new view, or
    // ERR_MMAP_OUT_OF_RANGE if the channel was cut off).
    this.#bytes = this.#mapping.view(this.#start, this.#start + this.#length)
    this.#words = new Int32Array(this.#bytes.buffer, this.#bytes.byteOffset, this.#length >> 2)
  }

  load(at: number): number {
    return Atomics.load(this.#words, at >> 2)
  }

  peek(at: number): number {
    return this.#words[at >> 2]
  }

  store(at: number, value: number): void {
    Atomics.store(this.#words, at >> 2, value)
  }

  exchange(at: number, value: number): number {
    return Atomics.exchange(this.#words, at >> 2, value)
  }

  add(at: number, value: number): number {
    return Atomics.add(this.#words, at >> 2, value)
  }

  compareExchange(at: number, expected: number, replacement: number): number {
    return Atomics.compareExchange(this.#words, at >> 2, expected, replacement)
  }

  // Plain accesses: the header is ordered by the atomic store or load of the tail around it.
  header(at: number): [number, number] {
    const index = (CHANNEL_HEADER + at) >> 2
    return [this.#words[index], this.#words[index + 1]]
  }

  setHeader(at: number, length: number): void {
    const index = (CHANNEL_HEADER + at) >> 2
    this.#words[index] = length
    this.#words[index + 1] = ~length
  }

  copyOut(at: number, target: Buffer, into: number, count: number): void {
    this.#bytes.copy(target, into, CHANNEL_HEADER + at, CHANNEL_HEADER + at + count)
  }

  copyIn(at: number, source: Uint8Array): void {
    this.#bytes.set(source, CHANNEL_HEADER + at)
  }
}

class CallPort implements Port {
  readonly #mapping: Mapping
  readonly #atomics: MappingAtomics
  readonly #start: number

  constructor(mapping: Mapping, start: number) {
    this.#mapping = mapping
    this.#atomics = mapping.atomics
    this.#start = start
  }

  fresh(): void {
    if (this.#mapping.closed) throw closed()
  }

  load(at: number): number {
    return this.#atomics.load(this.#start + at)
  }

  peek(at: number): number {
    return this.#atomics.load(this.#start + at)
  }

  store(at: number, value: number): void {
    this.#atomics.store(this.#start + at, value)
  }

  exchange(at: number, value: number): number {
    return this.#atomics.exchange(this.#start + at, value)
  }

  add(at: number, value: number): number {
    return this.#atomics.add(this.#start + at, value)
  }

  compareExchange(at: number, expected: number, replacement: number): number {
    return this.#atomics.compareExchange(this.#start + at, expected, replacement)
  }

  header(at: number): [number, number] {
    this.#mapping.read(scratch, this.#start + CHANNEL_HEADER + at)
    return [scratch.readInt32LE(0), scratch.readInt32LE(4)]
  }

  setHeader(at: number, length: number): void {
    scratch.writeInt32LE(length | 0, 0)
    scratch.writeInt32LE(~length, 4)
    this.#mapping.write(scratch, this.#start + CHANNEL_HEADER + at)
  }

  copyOut(at: number, target: Buffer, into: number, count: number): void {
    this.#mapping.read(target.subarray(into, into + count), this.#start + CHANNEL_HEADER + at)
  }

  copyIn(at: number, source: Uint8Array): void {
    this.#mapping.write(source, this.#start + CHANNEL_HEADER + at)
  }
}

const pad8 = (n: number): number => (n + 7) & ~7
/** A record header's 8 bytes where they are copied (never held across an await). */
const scratch = Buffer.alloc(RECORD_HEADER)
/**
 * The longest sleep between looks: a party that died between its store and its wake-up leaves a
 * sleeper unwoken, which then sees the record (or the room) at its next look.
 */
const SLICE_MS = 250
/** How long an async call that found the channel full or empty then polls it, a turn of the event loop at a time. */
const POLL_MS = 0.5
/** How long a party that finds the channel full or empty watches it before it says it sleeps. */
const WATCH_MS = 0.01

function toMessage(message: unknown): Uint8Array {
  if (typeof message === 'string') return Buffer.from(message, 'utf8')
  if (!ArrayBuffer.isView(message)) throw invalidType('message', 'of type string or an instance of Buffer, TypedArray, or DataView', message)
  return toBytes(message, 'message')
}

function ended(): Error {
  return coded(new Error('The channel has ended: no more messages can be sent on it'), 'ERR_MMAP_CHANNEL_ENDED')
}

function corrupt(what: string): Error {
  return coded(
    new Error(`The channel's bytes are not a channel (${what}): something other than a channel wrote over them`),
    'ERR_MMAP_CHANNEL_CORRUPT',
  )
}

function timedOut(what: 'send' | 'receive', ms: number): Error {
  return coded(new Error(`Timed out after ${ms} ms waiting to ${what}: the channel stayed ${what === 'send' ? 'full' : 'empty'}`), 'ERR_MMAP_TIMEOUT')
}

/** `v8.serialize(value)`; a value it cannot clone (a function, a symbol) is ERR_INVALID_ARG_VALUE, and nothing is sent. */
function serialized(value: unknown): Buffer {
  try {
    return serialize(value)
  } catch (error) {
    throw coded(new TypeError(`The value cannot be sent: ${(error as Error).message}`, { cause: error }), 'ERR_INVALID_ARG_VALUE')
  }
}

/**
 * `v8.deserialize(message)`; bytes that are not a serialized value (sent with `send()`, or
 * scribbled) are ERR_MMAP_CHANNEL_CORRUPT. The message was received all the same: the next call
 * gets the next one.
 */
function deserialized(message: Buffer): unknown {
  try {
    return deserialize(message)
  } catch (error) {
    throw coded(
      new Error(`A message of ${message.length} bytes is not a value that sendValue() sent (${(error as Error).message}); it was received, and is gone`, { cause: error }),
      'ERR_MMAP_CHANNEL_CORRUPT',
    )
  }
}

/** Milliseconds left before `deadline` (a `performance.now()` time, or Infinity). */
const left = (deadline: number): number => (deadline === Infinity ? Infinity : Math.max(0, deadline - performance.now()))

/** @internal A channel in `[byteOffset, byteOffset + byteLength)` of `mapping`. */
export class SharedChannel implements Channel {
  readonly byteOffset: number
  readonly byteLength: number
  readonly maxMessage: number
  readonly #port: Port
  readonly #mapping: Mapping
  readonly #sendLock: Mutex
  readonly #receiveLock: Mutex
  /** The ring's size in bytes, a multiple of 8; positions run modulo twice it. */
  readonly #ring: number

  constructor(mapping: Mapping, byteOffset: number, byteLength: number) {
    this.byteOffset = byteOffset
    this.byteLength = byteLength
    this.#mapping = mapping
    this.#ring = Math.floor((byteLength - CHANNEL_HEADER) / 8) * 8
    this.maxMessage = this.#ring - RECORD_HEADER
    this.#sendLock = mapping.mutex(byteOffset + SEND_LOCK)
    this.#receiveLock = mapping.mutex(byteOffset + RECEIVE_LOCK)
    this.#port = zeroCopy ? new ViewPort(mapping, byteOffset, byteLength) : new CallPort(mapping, byteOffset)
    // The first party writes the geometry; a party that disagrees would read records at other
    // places, so it is refused before it touches anything.
    const found = this.#port.compareExchange(GEOMETRY, 0, byteLength)
    if (found !== 0 && found !== byteLength) {
      throw coded(
        new TypeError(`The channel at byte ${byteOffset} was made with byteLength ${found >>> 0}, not ${byteLength}: every party must pass the same`),
        'ERR_INVALID_ARG_VALUE',
      )
    }
  }

  get ended(): boolean {
    this.#port.fresh()
    return (this.#port.load(STATE) & ENDED) !== 0
  }

  /** Messages queued, counted by walking the records between head and tail (a snapshot). */
  get pending(): number {
    const port = this.#port
    port.fresh()
    for (let attempt = 0; ; attempt++) {
      const head = port.load(HEAD)
      const tail = port.load(TAIL)
      const used = this.#used(head, tail)
      let count = 0
      let walked = 0
      let at = head
      while (walked < used) {
        const length = this.#recordLength(at, used - walked)
        walked += RECORD_HEADER + pad8(length)
        at = this.#advance(at, RECORD_HEADER + pad8(length))
        count++
      }
      // Records before the head may be reused while they are walked: count again if it moved.
      if (port.load(HEAD) === head || attempt === 8) return count
    }
  }

  end(): void {
    const port = this.#port
    port.fresh()
    const before = port.load(STATE)
    if ((before & ENDED) !== 0) return
    port.compareExchange(STATE, before, before | ENDED)
    // Wake every sleeper on both sides: they see `ended` when they look again.
    port.add(DATA_SEQ, 1)
    port.add(SPACE_SEQ, 1)
    this.#mapping.atomics.notify(this.byteOffset + DATA_SEQ)
    this.#mapping.atomics.notify(this.byteOffset + SPACE_SEQ)
  }

  // -------------------------------------------------------------------------------------------
  // Sending

  send(message: Uint8Array | string, timeoutMs?: number): void {
    const bytes = this.#checked(message)
    const timeout = toTimeout(timeoutMs)
    const deadline = timeout === Infinity ? Infinity : performance.now() + timeout
    const held = this.#lock(this.#sendLock, timeout, 'send')
    try {
      for (;;) {
        if (this.#put(bytes)) return
        // Full: watch the head a few microseconds (a receiver is often about to move it); then
        // say so, read the sequence, look once more, and sleep until a receiver bumps it.
        if (this.#watch(HEAD)) continue
        this.#port.store(SPACE_WANTED, 1)
        const seq = this.#port.load(SPACE_SEQ)
        if (this.#put(bytes)) return
        const wait = Math.min(left(deadline), SLICE_MS)
        if (wait === 0) throw timedOut('send', timeout)
        this.#mapping.atomics.wait(this.byteOffset + SPACE_SEQ, seq, wait)
      }
    } finally {
      held.unlock()
    }
  }

  trySend(message: Uint8Array | string): boolean {
    const bytes = this.#checked(message)
    const held = this.#sendLock.tryLock()
    if (held === null) return false
    try {
      return this.#put(bytes)
    } finally {
      held.unlock()
    }
  }

  async sendAsync(message: Uint8Array | string, timeoutMs?: number): Promise<void> {
    const bytes = this.#checked(message)
    const timeout = toTimeout(timeoutMs)
    const deadline = timeout === Infinity ? Infinity : performance.now() + timeout
    const held = await this.#lockAsync(this.#sendLock, timeout, 'send')
    try {
      for (;;) {
        this.#port.fresh()
        if (this.#put(bytes)) return
        if (this.#watch(HEAD) || (await this.#poll(HEAD, deadline))) continue
        this.#port.store(SPACE_WANTED, 1)
        const seq = this.#port.load(SPACE_SEQ)
        if (this.#put(bytes)) return
        const wait = Math.min(left(deadline), SLICE_MS)
        if (wait === 0) throw timedOut('send', timeout)
        await this.#mapping.atomics.waitAsync(this.byteOffset + SPACE_SEQ, seq, wait)
      }
    } finally {
      held.unlock()
    }
  }

  sendValue(value: unknown, timeoutMs?: number): void {
    this.send(serialized(value), timeoutMs)
  }

  async sendValueAsync(value: unknown, timeoutMs?: number): Promise<void> {
    await this.sendAsync(serialized(value), timeoutMs)
  }

  #checked(message: unknown): Uint8Array {
    const bytes = toMessage(message)
    if (bytes.length > this.maxMessage) {
      throw coded(
        new RangeError(`A message of ${bytes.length} bytes is larger than this channel's maxMessage (${this.maxMessage} bytes): make the channel larger or split the message`),
        'ERR_MMAP_TOO_LARGE',
      )
    }
    return bytes
  }

  /**
   * With the send lock held: writes the record past the tail and moves the tail over it (the
   * one store that makes it exist), or returns false when it does not fit now.
   */
  #put(bytes: Uint8Array): boolean {
    const port = this.#port
    if ((port.load(STATE) & ENDED) !== 0) throw ended()
    const tail = port.peek(TAIL) // only the send lock's holder writes it
    const head = port.load(HEAD)
    const size = RECORD_HEADER + pad8(bytes.length)
    if (this.#ring - this.#used(head, tail) < size) return false
    const at = tail >= this.#ring ? tail - this.#ring : tail
    port.setHeader(at, bytes.length)
    const body = at + RECORD_HEADER === this.#ring ? 0 : at + RECORD_HEADER
    const first = Math.min(bytes.length, this.#ring - body)
    if (first === bytes.length) port.copyIn(body, bytes)
    else {
      port.copyIn(body, bytes.subarray(0, first))
      port.copyIn(0, bytes.subarray(first))
    }
    port.store(TAIL, this.#advance(tail, size))
    // A receiver that said it sleeps is woken; one that says so after this store sees the tail.
    if (port.load(DATA_WANTED) !== 0 && port.exchange(DATA_WANTED, 0) !== 0) {
      port.add(DATA_SEQ, 1)
      this.#mapping.atomics.notify(this.byteOffset + DATA_SEQ)
    }
    return true
  }

  // -------------------------------------------------------------------------------------------
  // Receiving

  receive(timeoutMs?: number): Buffer {
    const timeout = toTimeout(timeoutMs)
    const deadline = timeout === Infinity ? Infinity : performance.now() + timeout
    const held = this.#lock(this.#receiveLock, timeout, 'receive')
    try {
      for (;;) {
        const message = this.#take()
        if (message !== null) return message
        if (this.#watch(TAIL)) continue
        this.#port.store(DATA_WANTED, 1)
        const seq = this.#port.load(DATA_SEQ)
        const again = this.#take()
        if (again !== null) return again
        if ((this.#port.load(STATE) & ENDED) !== 0) throw ended()
        const wait = Math.min(left(deadline), SLICE_MS)
        if (wait === 0) throw timedOut('receive', timeout)
        this.#mapping.atomics.wait(this.byteOffset + DATA_SEQ, seq, wait)
      }
    } finally {
      held.unlock()
    }
  }

  tryReceive(): Buffer | null {
    const held = this.#receiveLock.tryLock()
    if (held === null) return null
    try {
      return this.#take()
    } finally {
      held.unlock()
    }
  }

  async receiveAsync(timeoutMs?: number): Promise<Buffer> {
    const message = await this.#receiveAsync(toTimeout(timeoutMs))
    if (message === null) throw ended()
    return message
  }

  receiveValue(timeoutMs?: number): unknown {
    return deserialized(this.receive(timeoutMs))
  }

  async receiveValueAsync(timeoutMs?: number): Promise<unknown> {
    return deserialized(await this.receiveAsync(timeoutMs))
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      const message = await this.#receiveAsync(Infinity)
      if (message === null) return
      yield message
    }
  }

  /** The next message, or null once the channel has ended and is empty. */
  async #receiveAsync(timeout: number): Promise<Buffer | null> {
    const deadline = timeout === Infinity ? Infinity : performance.now() + timeout
    const held = await this.#lockAsync(this.#receiveLock, timeout, 'receive')
    try {
      for (;;) {
        this.#port.fresh()
        const message = this.#take()
        if (message !== null) return message
        if ((this.#port.load(STATE) & ENDED) !== 0) return null
        if (this.#watch(TAIL) || (await this.#poll(TAIL, deadline))) continue
        this.#port.store(DATA_WANTED, 1)
        const seq = this.#port.load(DATA_SEQ)
        const again = this.#take()
        if (again !== null) return again
        if ((this.#port.load(STATE) & ENDED) !== 0) return null
        const wait = Math.min(left(deadline), SLICE_MS)
        if (wait === 0) throw timedOut('receive', timeout)
        await this.#mapping.atomics.waitAsync(this.byteOffset + DATA_SEQ, seq, wait)
      }
    } finally {
      held.unlock()
    }
  }

  /**
   * With the receive lock held: copies the record at the head out and moves the head past it
   * (the one store that consumes it), or returns null when there is none.
   */
  #take(): Buffer | null {
    const port = this.#port
    const head = port.peek(HEAD) // only the receive lock's holder writes it
    const tail = port.load(TAIL)
    const used = this.#used(head, tail)
    if (used === 0) return null
    const length = this.#recordLength(head, used)
    const at = head >= this.#ring ? head - this.#ring : head
    const body = at + RECORD_HEADER === this.#ring ? 0 : at + RECORD_HEADER
    const message = Buffer.allocUnsafe(length)
    const first = Math.min(length, this.#ring - body)
    port.copyOut(body, message, 0, first)
    if (first < length) port.copyOut(0, message, first, length - first)
    port.store(HEAD, this.#advance(head, RECORD_HEADER + pad8(length)))
    if (port.load(SPACE_WANTED) !== 0 && port.exchange(SPACE_WANTED, 0) !== 0) {
      port.add(SPACE_SEQ, 1)
      this.#mapping.atomics.notify(this.byteOffset + SPACE_SEQ)
    }
    return message
  }

  /**
   * Watches the word at `at` for up to WATCH_MS: whether it changed. A sender that keeps a
   * receiver busy (or the reverse) then never makes it announce a sleep, which would cost the
   * other side a wake-up, a system call, for each message.
   */
  #watch(at: number): boolean {
    const port = this.#port
    const seen = port.load(at)
    const until = performance.now() + WATCH_MS
    for (let look = 1; ; look++) {
      if (port.load(at) !== seen) return true
      if ((look & 63) === 0 && performance.now() > until) return false
    }
  }

  /**
   * For the async forms, after `#watch`: looks at the word once per turn of the event loop for up
   * to POLL_MS, and whether it changed. A wake-up through `waitAsync` crosses threads and libuv
   * (~50-100 µs); an answer that comes within a fraction of a millisecond is seen sooner here, and
   * the event loop keeps turning meanwhile.
   */
  async #poll(at: number, deadline: number): Promise<boolean> {
    const port = this.#port
    const seen = port.load(at)
    const until = Math.min(performance.now() + POLL_MS, deadline)
    while (performance.now() < until) {
      await new Promise((resolve) => setImmediate(resolve))
      port.fresh()
      if (port.load(at) !== seen) return true
    }
    return false
  }

  // -------------------------------------------------------------------------------------------
  // Positions

  /** Bytes of records between `head` and `tail`; scribbled positions are ERR_MMAP_CHANNEL_CORRUPT. */
  #used(head: number, tail: number): number {
    const span = 2 * this.#ring
    if (head < 0 || tail < 0 || head >= span || tail >= span || head % 8 !== 0 || tail % 8 !== 0) throw corrupt(`head ${head}, tail ${tail}`)
    const used = tail >= head ? tail - head : tail + span - head
    if (used > this.#ring) throw corrupt(`${used} bytes queued in a ring of ${this.#ring}`)
    return used
  }

  #advance(position: number, by: number): number {
    const next = position + by
    return next >= 2 * this.#ring ? next - 2 * this.#ring : next
  }

  /** The payload length of the record at `position`, checked against its complement and the bytes queued. */
  #recordLength(position: number, used: number): number {
    const at = position >= this.#ring ? position - this.#ring : position
    const [length, check] = this.#port.header(at)
    // `length > used - 8` first: pad8() works in 32 bits, and for a length within 7 of 2^31 it
    // would overflow to a negative size that passes the last test (used <= ring <= 2^30 here).
    if ((length ^ check) !== -1 || length < 0 || length > used - RECORD_HEADER || RECORD_HEADER + pad8(length) > used) {
      throw corrupt(`a record header of ${length >>> 0} bytes`)
    }
    return length
  }

  // -------------------------------------------------------------------------------------------
  // Locks

  #lock(mutex: Mutex, timeout: number, what: 'send' | 'receive'): Held {
    this.#port.fresh()
    try {
      return mutex.lock(timeout)
    } catch (error) {
      throw (error as { code?: string }).code === 'ERR_MMAP_TIMEOUT' ? timedOut(what, timeout) : error
    }
  }

  async #lockAsync(mutex: Mutex, timeout: number, what: 'send' | 'receive'): Promise<Held> {
    this.#port.fresh()
    try {
      return await mutex.lockAsync(timeout)
    } catch (error) {
      throw (error as { code?: string }).code === 'ERR_MMAP_TIMEOUT' ? timedOut(what, timeout) : error
    }
  }
}

/** Checks `channel()`'s arguments against a mapping of `length` bytes at file offset `offset`. */
export function toChannelRange(byteOffset: unknown, byteLength: unknown, length: number, offset: number): [number, number] {
  if (typeof byteOffset !== 'number') throw invalidType('byteOffset', 'of type number', byteOffset)
  if (typeof byteLength !== 'number') throw invalidType('byteLength', 'of type number', byteLength)
  if (!Number.isSafeInteger(byteOffset) || byteOffset < 0 || (byteOffset + offset) % 8 !== 0) {
    throw outOfRange('byteOffset', 'a non-negative integer, 8-aligned in the file or memory', byteOffset)
  }
  const least = CHANNEL_HEADER + 16
  if (!Number.isSafeInteger(byteLength) || byteLength < least || byteLength > CHANNEL_HEADER + MAX_RING) {
    throw outOfRange('byteLength', `an integer >= ${least} and <= ${CHANNEL_HEADER + MAX_RING}`, byteLength)
  }
  if (byteOffset + byteLength > length) {
    throw coded(
      new RangeError(`The channel [${byteOffset}, ${byteOffset + byteLength}) runs past the end of the mapping (${length} bytes)`),
      'ERR_MMAP_OUT_OF_RANGE',
    )
  }
  return [byteOffset, byteLength]
}
