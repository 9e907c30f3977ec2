// The Mapping class and the functions that make one over a file or anonymous memory.

import type { FileHandle } from 'node:fs/promises'
import * as native from '../loader'
import {
  closed,
  coded,
  invalidType,
  invalidValue,
  outOfRange,
  refused,
  toAdvice,
  toBytes,
  toDescriptor,
  toFlag,
  toIndex,
  toNeedle,
  toOpenOptions,
  toOptionsObject,
  toPath,
  toRange,
  toSearchOffset,
  tooLarge,
} from './args'
import { SharedAtomics } from './atomics'
import { maxViewLength, zeroCopy } from './constants'
import {
  giveUp,
  RWLOCK_SIZE,
  SharedBarrier,
  SharedCondition,
  SharedMutex,
  SharedRwLock,
  SharedSemaphore,
  bindFast,
  type NativeFast,
  type SyncSource,
  toSyncOffset,
} from './sync'
import { SharedChannel, toChannelRange } from './channel'
import { LineIterator } from './lines'
import { MappingReadStream } from './stream'
import type {
  Advice,
  AnonymousOptions,
  Barrier,
  Channel,
  Condition,
  FlushOptions,
  Kind,
  LinesOptions,
  MappingAtomics,
  MappingHandle,
  Mode,
  Mutex,
  OpenOptions,
  ReadStreamOptions,
  Residency,
  RwLock,
  SearchRange,
  SearchValue,
  Semaphore,
  TypedArray,
  TypedArrayConstructor,
} from './types'
import { Windows } from './window'

/** @internal The token only this package's functions pass to `Mapping`'s constructor. */
export const constructing = Symbol('memmap.constructing')
const dispose: typeof Symbol.dispose = Symbol.dispose ?? Symbol.for('nodejs.dispose')
const asyncDispose: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? Symbol.for('nodejs.asyncDispose')

/**
 * @internal What a mapping reports about itself, as the function that made it knows it: asking
 * the binding (`info()`) costs more than a whole `read()`, so only shared memory does.
 */
export interface Made {
  kind: Kind
  mode: Mode
  /** The path's bytes as the binding got them, or the shared memory name. */
  path: Buffer | string | null
  offset: number
}

/** A live memory mapping. Made by `openSync()`/`open()`, never with `new`. */
export class Mapping {
  #native: native.NativeMapping
  readonly #made: Made
  #length: number
  #buffer: Buffer | undefined
  #atomics: SharedAtomics | undefined
  #windows: Windows | undefined
  #sync: SyncSource | undefined
  #fast: NativeFast | undefined
  /** Streams still reading: `close()` ends them with `ERR_MMAP_CLOSED`. */
  #streams: Set<MappingReadStream> | undefined
  /** Whether `write()` and the writing atomics may go through the window (mode `'r'` may not). */
  readonly #writable: boolean

  /** @internal */
  constructor(token: symbol, mapping: native.NativeMapping, made?: Made) {
    if (token !== constructing) {
      throw coded(new TypeError('Mapping objects are made by openSync() and open()'), 'ERR_ILLEGAL_CONSTRUCTOR')
    }
    this.#native = mapping
    if (made === undefined) {
      const { kind, mode, path, offset, length } = mapping.info()
      this.#made = { kind, mode, path: path ?? null, offset }
      this.#length = length
    } else {
      this.#made = made
      this.#length = mapping.length
    }
    this.#writable = this.#made.mode !== 'r'
  }

  /** `'file'`, `'anonymous'` or `'shared'`. */
  get kind(): Kind {
    return this.#made.kind
  }

  /** How the mapping was opened. */
  get mode(): Mode {
    return this.#made.mode
  }

  /** The resolved path for files, the name for shared memory. */
  get path(): string | null {
    const { path } = this.#made
    return path === null || typeof path === 'string' ? path : path.toString()
  }

  /** The caller's offset into the file. */
  get offset(): number {
    return this.#made.offset
  }

  /** Bytes mapped. */
  get length(): number {
    return this.#length
  }

  /** Whether `close()` ran. */
  get closed(): boolean {
    return this.#native.closed
  }

  /** `false` where the runtime refuses Buffers over mapped memory; `buffer` and `view()` then throw. */
  get zeroCopy(): boolean {
    return zeroCopy
  }

  /** A zero-copy Buffer over the whole mapping, made on first access; the same object each time. */
  get buffer(): Buffer {
    const cached = this.#attached()
    if (cached !== undefined) return cached
    if (!zeroCopy) throw this.#closedOr(refused())
    if (this.length > maxViewLength) throw this.#closedOr(tooLarge(this.length))
    this.#buffer = this.#native.view(0, this.length)
    return this.#buffer
  }

  /** A zero-copy Buffer over `[start, end)`, with `Buffer#subarray`'s rules. Costs only what it covers. */
  view(start?: number, end?: number): Buffer {
    const [from, to] = toRange(start, end, this.length)
    const cached = this.#attached()
    if (cached !== undefined) return cached.subarray(from, to)
    if (!zeroCopy) throw this.#closedOr(refused())
    if (to - from > maxViewLength) throw this.#closedOr(tooLarge(to - from))
    return this.#native.view(from, to)
  }

  /**
   * The cached whole-mapping Buffer, unless its ArrayBuffer was transferred away
   * (`ArrayBuffer#transfer` leaves it with length 0): then a fresh one is made on demand.
   */
  #attached(): Buffer | undefined {
    if (this.#buffer !== undefined && this.#buffer.byteLength !== this.length) this.#buffer = undefined
    return this.#buffer
  }

  /** The small calls' window (src/window.ts), made on the first small call. */
  #windowsOf(): Windows {
    this.#windows ??= new Windows({
      slice: (start, end) => this.#slice(start, end),
      whole: () => this.#attached(),
      length: () => this.#length,
      offset: this.#made.offset,
    })
    return this.#windows
  }

  /** A Buffer over `[start, end)` for the window, or `undefined` where none may be made. */
  #slice(start: number, end: number): Buffer | undefined {
    if (!zeroCopy || this.#native.closed) return undefined
    try {
      return this.#native.view(start, end)
    } catch {
      return undefined
    }
  }

  /** Copies `min(target.byteLength, length - position)` bytes out; returns the count. Like `fs.readSync`. */
  read(target: ArrayBufferView, position = 0): number {
    const into = toBytes(target, 'target')
    const at = toIndex(position, 'position')
    const count = Math.min(into.length, this.#length - at)
    if (count > 0) {
      const window = this.#windowsOf().at(at, at + count)
      if (window !== undefined) {
        const from = at - window.start
        // Buffer#copy is the fastest small copy, but Node.js 22 copies zeros from offsets past
        // 2^32 in a larger Buffer: past 2 GiB, TypedArray#set over a subarray instead.
        if (from + count <= 0x7fffffff) return window.bytes.copy(into, 0, from, from + count)
        into.set(window.bytes.subarray(from, from + count))
        return count
      }
    }
    return this.#fastCalls().read(into, at)
  }

  /** Copies all of `source` in at `position`, or throws `ERR_MMAP_OUT_OF_RANGE` having copied nothing. */
  write(source: ArrayBufferView, position = 0): number {
    const from = toBytes(source, 'source')
    const at = toIndex(position, 'position')
    const count = from.length
    if (this.#writable && count > 0 && at + count <= this.#length) {
      const window = this.#windowsOf().at(at, at + count)
      if (window !== undefined) {
        window.bytes.set(from, at - window.start)
        return count
      }
    }
    return this.#fastCalls().write(from, at)
  }

  /**
   * Writes `[start, end)` back to the file; durable when it returns. With `{ durable: false }`
   * it only starts the write-back and returns at once (`MS_ASYNC`).
   */
  flush(start?: number, end?: number, options?: FlushOptions): void {
    const o = toOptionsObject(options)
    const durable = o.durable === undefined ? true : toFlag(o.durable, 'options.durable')
    this.#native.flush(...toRange(start, end, this.length), durable)
  }

  /** `flush()` off the JavaScript thread. */
  async flushAsync(start?: number, end?: number): Promise<void> {
    return this.#native.flushAsync(...toRange(start, end, this.length))
  }

  /**
   * The first offset at or after `byteOffset` where `value` occurs, or -1, with `Buffer#indexOf`'s
   * rules (a string's bytes in `encoding`, UTF-8 by default; a number is one byte; a negative
   * offset counts from the end), over the whole mapping. In the offset's place, `{ start, end,
   * encoding }` bounds the search to matches that lie wholly in `[start, end)` (Python's
   * `find(sub, start, end)`; `Buffer#subarray`'s rules for the two).
   */
  indexOf(value: SearchValue, byteOffset?: number | BufferEncoding | SearchRange, encoding?: BufferEncoding): number {
    return this.#search(value, byteOffset, encoding, true)
  }

  /** The last offset at or before `byteOffset` where `value` occurs, or -1 (`Buffer#lastIndexOf`'s rules); with `{ start, end }`, the last match wholly inside. */
  lastIndexOf(value: SearchValue, byteOffset?: number | BufferEncoding | SearchRange, encoding?: BufferEncoding): number {
    return this.#search(value, byteOffset, encoding, false)
  }

  /** `indexOf(...) !== -1`. */
  includes(value: SearchValue, byteOffset?: number | BufferEncoding | SearchRange, encoding?: BufferEncoding): boolean {
    return this.#search(value, byteOffset, encoding, true) !== -1
  }

  /** `indexOf()` off the JavaScript thread (a thread of its own, not libuv's pool); `close()` ends it early with `ERR_MMAP_CLOSED`. */
  async indexOfAsync(value: SearchValue, byteOffset?: number | BufferEncoding | SearchRange, encoding?: BufferEncoding): Promise<number> {
    const [needle, from, utf16, end] = this.#needle(value, byteOffset, encoding, true)
    return unitsCorner(utf16, end, needle, this.#length, await this.#native.indexOfAsync(needle, from, true, utf16, end))
  }

  #search(value: unknown, byteOffset: unknown, encoding: unknown, forward: boolean): number {
    const [needle, from, utf16, end] = this.#needle(value, byteOffset, encoding, forward)
    return unitsCorner(utf16, end, needle, this.#length, this.#native.indexOf(needle, from, forward, utf16, end))
  }

  /**
   * The needle's bytes, where the search starts, whether it runs in UTF-16 code units (a
   * string, 1, or bytes, 2, with `'ucs2'`/`'utf16le'`, as `Buffer#indexOf` searches them; 0: in
   * bytes), and the end of a bounded search (`undefined`: none); a string `byteOffset` is the
   * encoding, as in `Buffer#indexOf`, and an object is `{ start, end, encoding }`.
   */
  #needle(value: unknown, byteOffset: unknown, encoding: unknown, forward: boolean): [Uint8Array, number, number, number | undefined] {
    if (typeof byteOffset === 'string') [byteOffset, encoding] = [undefined, byteOffset]
    let end: number | undefined
    if (isPlainObject(byteOffset)) {
      const range = byteOffset as SearchRange
      if (range.encoding !== undefined) encoding = range.encoding
      ;[byteOffset, end] = toRange(range.start, range.end, this.#length)
    }
    const utf16 = typeof value === 'number' || !isUtf16(encoding) ? 0 : typeof value === 'string' ? 1 : 2
    const needle = toNeedle(value, encoding)
    return [needle, end === undefined ? toSearchOffset(byteOffset, forward, this.#length) : (byteOffset as number), utf16, end]
  }

  /**
   * The records between separators in `[start, end)` (default the whole mapping): `'\n'` by
   * default, with a `'\r'` before it dropped; a last record without a separator is yielded, an
   * empty range yields nothing. Zero-copy views, strings with `encoding`, or copies where
   * zero-copy Buffers are refused. Separators are found by the core's SIMD search, a batch at a
   * time; past `maxViewLength` too.
   */
  lines(options: LinesOptions & { encoding: BufferEncoding }): IterableIterator<string>
  lines(options?: LinesOptions & { encoding?: null }): IterableIterator<Buffer>
  lines(options?: LinesOptions): IterableIterator<Buffer | string>
  lines(options?: LinesOptions): IterableIterator<Buffer | string> {
    const binding = this.#native
    const length = (): number => this.#length
    return new LineIterator(
      {
        get length(): number {
          return length()
        },
        get closed(): boolean {
          return binding.closed
        },
        view: (start, end) => this.view(start, end),
        read: (target, position) => this.read(target, position),
        separators: (separator, from, to, out) => this.#fastCalls().separators(separator, from, to, out),
      },
      options,
    )
  }

  /**
   * A zero-copy `type` array over the mapping from `byteOffset` (default 0): `length` elements
   * (default: whole elements to the end). `byteOffset` must be a multiple of the element size.
   * Detached by `close()` and `resize()` like every view.
   */
  array<T extends TypedArray>(type: TypedArrayConstructor<T>, byteOffset: number = 0, length?: number): T {
    const size = toElementSize(type)
    const at = toIndex(byteOffset, 'byteOffset')
    if (at % size !== 0) throw outOfRange('byteOffset', `a multiple of ${size} (${type.name}.BYTES_PER_ELEMENT)`, at)
    if (at > this.#length) throw this.#closedOr(pastEnd(at, this.#length))
    const count = length === undefined ? Math.floor((this.#length - at) / size) : toIndex(length, 'length')
    if (at + count * size > this.#length) throw this.#closedOr(pastEnd(at + count * size, this.#length))
    const bytes = this.view(at, at + count * size)
    return new type(bytes.buffer, bytes.byteOffset, count)
  }

  /**
   * A `Readable` of Buffers over `[start, end)` (default the whole mapping), `highWaterMark`
   * bytes each (default 64 KiB): views of the pages, or copies where zero-copy Buffers are
   * refused. Closing the mapping destroys it with `ERR_MMAP_CLOSED`.
   */
  createReadStream(options?: ReadStreamOptions): MappingReadStream {
    if (this.#native.closed) throw closed()
    const streams = (this.#streams ??= new Set())
    const stream = new MappingReadStream(this, options)
    streams.add(stream)
    stream.once('close', () => streams.delete(stream))
    return stream
  }

  /** Tells the OS how `[start, end)` (rounded out to pages) will be used; `false` where it has no such advice. */
  advise(advice: Advice, start?: number, end?: number): boolean {
    return this.#native.advise(toAdvice(advice), ...toRange(start, end, this.length))
  }

  /** Locks the pages of `[start, end)` in RAM (mlock / VirtualLock). */
  lock(start?: number, end?: number): void {
    this.#native.lock(...toRange(start, end, this.length))
  }

  /** Unlocks the pages of `[start, end)`. */
  unlock(start?: number, end?: number): void {
    this.#native.unlock(...toRange(start, end, this.length))
  }

  /** Counts the pages overlapping `[start, end)` and how many of them are in RAM. */
  residency(start?: number, end?: number): Residency {
    const { pages, resident } = this.#native.residency(...toRange(start, end, this.length))
    return { pages, resident }
  }

  /** Pages `[start, end)` in off the JavaScript thread; resolves when they are resident. */
  async prefetch(start?: number, end?: number): Promise<void> {
    return this.#native.prefetch(...toRange(start, end, this.length))
  }

  /**
   * Gives the mapping a new length: `'r+'`/`'w+'` set the file's length to `offset + newLength`;
   * `'r'` maps more or less of the file as it is now; anonymous memory keeps its contents.
   * Every Buffer handed out before is detached.
   */
  resize(newLength: number | bigint): void {
    const length = toIndex(newLength, 'newLength')
    try {
      this.#native.resize(length)
    } finally {
      // The Buffers are detached unless the request was refused before remapping: forget the
      // cached one only if it was.
      if (this.#buffer?.byteLength === 0) this.#buffer = undefined
      this.#windows?.forget()
      if (!this.#native.closed) this.#length = this.#native.length
      if (this.#streams !== undefined) for (const stream of this.#streams) stream.remapped()
    }
  }

  /** Unmaps now; every Buffer over the mapping is detached (length 0). Idempotent. */
  close(): void {
    if (this.#streams !== undefined) for (const stream of this.#streams) stream.abort()
    // Locks held through this mapping are given up (the next holder sees ownerDied), and calls
    // queued behind this thread's own holds are rejected, before the pages go.
    if (this.#sync !== undefined && !this.#native.closed) giveUp(this.#sync)
    this.#buffer = undefined
    this.#windows?.forget()
    this.#native.close()
  }

  /**
   * Atomic operations, `wait` and `notify` on the mapped bytes, across threads and processes.
   * The same object each time.
   */
  get atomics(): MappingAtomics {
    this.#atomics ??= new SharedAtomics(this.#native, this.#fastCalls(), this, this.#windowsOf(), this.#writable)
    return this.#atomics
  }

  /** A mutex in the 8 bytes at `byteOffset` (8-aligned), shared by every thread and process mapping them. */
  mutex(byteOffset: number): Mutex {
    return new SharedMutex(this.#syncSource(), toSyncOffset(byteOffset, this.#length))
  }

  /** A counting semaphore in the 8 bytes at `byteOffset` (8-aligned). */
  semaphore(byteOffset: number): Semaphore {
    return new SharedSemaphore(this.#syncSource(), toSyncOffset(byteOffset, this.#length))
  }

  /** A reader-writer lock in the 256 bytes at `byteOffset` (8-aligned). */
  rwlock(byteOffset: number): RwLock {
    return new SharedRwLock(this.#syncSource(), toSyncOffset(byteOffset, this.#length, RWLOCK_SIZE))
  }

  /** A condition variable in the 8 bytes at `byteOffset` (8-aligned), used with a mutex. */
  condition(byteOffset: number): Condition {
    return new SharedCondition(this.#syncSource(), toSyncOffset(byteOffset, this.#length))
  }

  /** A barrier for `parties` threads or processes in the 16 bytes at `byteOffset` (8-aligned). */
  barrier(byteOffset: number, parties: number): Barrier {
    const source = this.#syncSource()
    const at = toSyncOffset(byteOffset, this.#length, 16)
    if (typeof parties !== 'number') throw invalidType('parties', 'of type number', parties)
    if (!Number.isInteger(parties) || parties < 1 || parties > 0x7fffffff) {
      throw outOfRange('parties', 'an integer >= 1 and <= 2147483647', parties)
    }
    return new SharedBarrier(source, at, parties)
  }

  /**
   * A message queue in `[byteOffset, byteOffset + byteLength)` (all zero is an empty one), for
   * every thread and process that maps these bytes. `byteOffset` is 8-aligned (64 keeps each
   * side's words on cache lines of their own); `byteLength` is at least 272 and at most 2^30 + 256.
   */
  channel(byteOffset: number, byteLength: number): Channel {
    if (this.#native.closed) throw closed()
    const [at, length] = toChannelRange(byteOffset, byteLength, this.#length, this.#made.offset)
    if (!this.#writable) {
      throw coded(new Error("A channel needs writable memory: this mapping is read-only (mode 'r')"), 'ERR_MMAP_READ_ONLY')
    }
    return new SharedChannel(this, at, length)
  }

  /**
   * A plain, structured-cloneable object that names this mapping's memory, for
   * `worker.postMessage(m.handle())` and `fromHandle()` in any worker thread of this process:
   * a `Mapping` over the same pages (anonymous, shared or file), with Buffers of its own. The
   * memory stays mapped while any such Mapping is open; a handle is refused once none is.
   */
  handle(): MappingHandle {
    if (this.#native.closed) throw closed()
    const { id, token } = this.#native.share()
    return { memmap: 'handle', pid: process.pid, id, token }
  }

  /** The binding's hot calls bound to this mapping, made on first use (an open pays nothing). */
  #fastCalls(): NativeFast {
    this.#fast ??= bindFast(this.#native.fastSlot())
    return this.#fast
  }

  #syncSource(): SyncSource {
    if (this.#native.closed) throw closed()
    if (this.#sync === undefined) {
      // What names this mapping's memory, asked once: the same for every mapping of it here.
      const base = this.#native.memoryKey(0)
      const at = base.lastIndexOf('@')
      const source = base.slice(0, at)
      const start = Number(base.slice(at + 1))
      this.#sync = {
        native: this.#native,
        fast: this.#fastCalls(),
        windows: this.#windowsOf(),
        writable: this.#writable,
        key: (byteOffset) => `${source}@${start + byteOffset}`,
        live: new Set(),
        gates: new Set(),
      }
    }
    return this.#sync
  }

  /** `close()`, so that `using m = openSync(...)` works. */
  [dispose](): void {
    this.close()
  }

  /**
   * `await using m = openSync(path, { mode: 'r+' })`: a writable file mapping is made durable
   * (`flushAsync()`), then closed, even if the flush fails; any other mapping is just closed.
   */
  async [asyncDispose](): Promise<void> {
    try {
      const shared = this.#made.mode === 'r+' || this.#made.mode === 'w+'
      if (!this.#native.closed && this.#made.kind === 'file' && shared) await this.flushAsync()
    } finally {
      this.close()
    }
  }

  /** ERR_MMAP_CLOSED wins over any other complaint once the mapping is closed. */
  #closedOr(error: Error): Error {
    if (!this.#native.closed) return error
    return closed()
  }
}

/** What `openSync()`/`open()` map: a path (string, Buffer, `file:` URL) or an open file (a descriptor or a `FileHandle`). */
export type FileSource = string | Buffer | URL | number | FileHandle

/** Maps a file, or a file the caller opened (the mapping keeps a duplicate of the descriptor), on the calling thread. */
export function openSync(file: FileSource, options?: OpenOptions): Mapping {
  const { fd, path, request, made } = fileRequest(file, options)
  const mapping = path === null ? native.openDescriptorSync(fd, request) : native.openSync(path, request)
  return new Mapping(constructing, mapping, made)
}

/** `openSync()` off the JavaScript thread (a descriptor is duplicated before this returns). */
/** Whether `encoding` names UTF-16 as Buffer's encodings do (any case, with or without the dash). */
function isUtf16(encoding: unknown): boolean {
  if (typeof encoding !== 'string') return false
  const name = encoding.toLowerCase()
  return name === 'ucs2' || name === 'ucs-2' || name === 'utf16le' || name === 'utf-16le'
}

export async function open(file: FileSource, options?: OpenOptions): Promise<Mapping> {
  const { fd, path, request, made } = fileRequest(file, options)
  const mapping = path === null ? native.openDescriptor(fd, request) : native.open(path, request)
  return new Mapping(constructing, await mapping, made)
}

/**
 * The checked arguments of `openSync()`/`open()`: a descriptor, or the path as the binding gets
 * it; the options; and what the mapping reports (a descriptor's has no path it could name).
 */
function fileRequest(file: unknown, options: unknown): { fd: number; path: Buffer | null; request: native.NativeOpenOptions; made: Made } {
  const fd = toDescriptor(file)
  const path = fd === undefined ? toPath(file) : null
  const request = toOpenOptions(options)
  return { fd: fd ?? -1, path, request, made: { kind: 'file', mode: request.mode, path, offset: request.offset } }
}

/** Maps `length` bytes of zero-filled memory owned by this process (kind `'anonymous'`, mode `'r+'`). */
export function anonymous(length: number | bigint, options?: AnonymousOptions): Mapping {
  const size = toIndex(length, 'length')
  const o = toOptionsObject(options)
  const flags = {
    populate: toFlag(o.populate, 'options.populate'),
    hugePages: toFlag(o.hugePages, 'options.hugePages'),
    lock: toFlag(o.lock, 'options.lock'),
  }
  return new Mapping(constructing, native.anonymous(size, flags), { kind: 'anonymous', mode: 'r+', path: null, offset: 0 })
}

/**
 * A `Mapping` over the memory `handle` names (from `mapping.handle()` in a thread of this
 * process): same kind, mode, offset and length, with its own Buffers, which its own `close()`
 * detaches. A handle from another process, a forged one, or one whose memory is gone (every
 * Mapping of it closed or collected) is a coded error, never a mapping of something else.
 */
export function fromHandle(handle: MappingHandle): Mapping {
  if (handle === null || typeof handle !== 'object') throw invalidType('handle', 'an object from mapping.handle()', handle)
  const { memmap, pid, id, token } = handle as unknown as Record<string, unknown>
  const shaped =
    memmap === 'handle' && typeof pid === 'number' && Number.isSafeInteger(id) && (id as number) > 0 && typeof token === 'string' && /^[0-9a-f]{16}$/.test(token)
  if (!shaped) throw invalidValue('handle', 'is not a handle made by mapping.handle()', handle)
  if (pid !== process.pid) {
    throw invalidValue(
      'handle',
      `comes from another process (pid ${String(pid)}): a handle reaches the worker threads of the process that made it; share memory across processes with createShared() or a file`,
      handle,
    )
  }
  return new Mapping(constructing, native.fromHandle(id as number, token as string))
}

/** `BYTES_PER_ELEMENT` of a typed array class `array()` was given, or a TypeError for anything else. */
function toElementSize(type: unknown): number {
  const size = typeof type === 'function' ? (type as { BYTES_PER_ELEMENT?: unknown }).BYTES_PER_ELEMENT : undefined
  if (typeof size !== 'number' || !(type as { prototype?: unknown }).prototype || !(Object.getPrototypeOf((type as { prototype: object }).prototype) === typedArrayPrototype)) {
    throw invalidType('type', 'a TypedArray class (Float64Array, Int32Array, ...)', type)
  }
  return size
}

/** %TypedArray%.prototype: every typed array class's prototype inherits from it directly. */
const typedArrayPrototype = Object.getPrototypeOf(Int8Array.prototype) as object

function pastEnd(end: number, length: number): Error {
  return coded(
    new RangeError(`The range ends at byte ${end}, past the end of the mapping (${length} bytes)`),
    'ERR_MMAP_OUT_OF_RANGE',
  )
}

/** `{ ... }` itself (not an array, a boxed number or a Date, which Buffer#indexOf coerces as offsets). */
function isPlainObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  const prototype = Object.getPrototypeOf(value) as unknown
  return prototype === Object.prototype || prototype === null
}

/**
 * Whether this Node.js counts an odd-length Buffer's UTF-16 search for a Buffer needle in whole
 * units. Asked of Buffer itself: the change came within the 24 line (24.19 still counts bytes,
 * 24.22 units), so no version number says it.
 */
const wholeUnits = Buffer.from([99, 99, 0]).lastIndexOf(Buffer.alloc(0), 'utf16le') === 2

/**
 * The core answers a UTF-16 search for a Buffer needle (`utf16` 2) as Node.js 20, 22 and early
 * 24 do; later ones count an odd-length haystack in whole units there, which shows in two corners:
 * an empty needle's answer is at most the last whole unit's end, and a needle longer than the
 * whole units is never found.
 */
function unitsCorner(utf16: number, end: number | undefined, needle: Uint8Array, length: number, found: number): number {
  if (!wholeUnits || utf16 !== 2 || end !== undefined || length % 2 === 0) return found
  const whole = length - 1
  if (needle.length === 0) return Math.min(found, whole)
  return needle.length > whole ? -1 : found
}
