// The memmap facade: loads the native binding, checks arguments the way Node's own APIs do
// (TypeError/RangeError with Node's codes), and adds what only JavaScript can: URL paths,
// Symbol.dispose, the lazily made `buffer`, and the types. Everything else is in Rust.

import { constants as bufferConstants } from 'node:buffer'
import { resolve as resolvePath } from 'node:path'
import { fileURLToPath } from 'node:url'

import * as native from './loader'

/** How a file is opened: the `fs` flags a Node.js user knows (the binding's string enum). */
export type Mode = native.NativeMode

/** What a mapping maps. */
export type Kind = native.NativeKind

export interface OpenOptions {
  /** `'r'` (default): read-only file, private copy-on-write pages. `'r+'`: shared pages that reach the file. `'w+'`: create or truncate to `size`. */
  mode?: Mode
  /** Byte offset into the file; no alignment asked (default 0). */
  offset?: number | bigint
  /** Bytes to map (default: from `offset` to the end of the file). */
  length?: number | bigint
  /** `'w+'`: required, the new file's length. `'r+'`: grow the file to at least this first. */
  size?: number | bigint
  /** Fault every page in at map time. */
  populate?: boolean
  /** Ask for huge pages where the OS offers them; a hint, never an error. */
  hugePages?: boolean
  /** Lock the pages in RAM after mapping. */
  lock?: boolean
}

/** Options of `anonymous()`. */
export interface AnonymousOptions {
  /** Fault every page in (allocated) before returning. */
  populate?: boolean
  /** Ask for transparent huge pages where the OS offers them; a hint, never an error. */
  hugePages?: boolean
  /** Lock the pages in RAM. */
  lock?: boolean
}

/** What `advise()` tells the OS about how a range will be used (the binding's string enum). */
export type Advice = native.NativeAdvice

/** What `residency()` reports: the pages overlapping the range, and how many of them are in RAM. */
export interface Residency {
  pages: number
  resident: number
}

/** The size of a memory page in bytes. */
export const pageSize: number = native.pageSize()
/** The alignment the OS asks of a mapping's file offset: 64 KiB on Windows, the page size elsewhere. */
export const allocationGranularity: number = native.allocationGranularity()
/** The largest Buffer this Node.js makes: 4 GiB on Node.js 20, 2^53 - 1 from Node.js 22. */
export const maxViewLength: number = bufferConstants.MAX_LENGTH

const zeroCopy = process.env.MEMMAP_NO_EXTERNAL_BUFFERS !== '1' && native.externalBuffersAllowed()
// The values the binding's string enums take (binding.d.ts has their unions); listed here only to
// give Node's ERR_INVALID_ARG_VALUE before a value reaches the binding.
const MODES: readonly Mode[] = ['r', 'r+', 'w+']
const ADVICE: readonly Advice[] = ['normal', 'random', 'sequential', 'willneed', 'dontneed', 'hugepage', 'nohugepage']
const isMode = (value: unknown): value is Mode => MODES.includes(value as Mode)
const isAdvice = (value: unknown): value is Advice => ADVICE.includes(value as Advice)

type Coded<E extends Error> = E & { code: string }

function coded<E extends Error>(error: E, code: string): Coded<E> {
  return Object.assign(error, { code })
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'function') return 'function'
  if (typeof value === 'object') return `an instance of ${value.constructor?.name ?? 'Object'}`
  if (typeof value === 'string') return `type string ('${value.length > 28 ? `${value.slice(0, 25)}...` : value}')`
  return `type ${typeof value} (${String(value)})`
}

function invalidType(name: string, expected: string, value: unknown): Coded<TypeError> {
  return coded(
    new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(value)}`),
    'ERR_INVALID_ARG_TYPE',
  )
}

function outOfRange(name: string, expected: string, value: unknown): Coded<RangeError> {
  return coded(
    new RangeError(`The value of "${name}" is out of range. It must be ${expected}. Received ${String(value)}`),
    'ERR_OUT_OF_RANGE',
  )
}

function invalidValue(name: string, reason: string, value: unknown): Coded<TypeError> {
  return coded(
    new TypeError(`The argument '${name}' ${reason}. Received ${describe(value)}`),
    'ERR_INVALID_ARG_VALUE',
  )
}

/** A byte count or offset: a non-negative safe integer, as a number or a bigint. */
function toIndex(value: unknown, name: string): number {
  if (typeof value === 'bigint') {
    if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw outOfRange(name, `>= 0 and <= ${Number.MAX_SAFE_INTEGER}`, `${value}n`)
    }
    return Number(value)
  }
  if (typeof value !== 'number') throw invalidType(name, 'of type number or bigint', value)
  if (!Number.isSafeInteger(value) || value < 0) {
    throw outOfRange(name, `an integer >= 0 and <= ${Number.MAX_SAFE_INTEGER}`, value)
  }
  return value
}

/** One end of a range, with `Buffer#subarray`'s rules: negative counts from the end, clamped. */
function rangeEnd(value: unknown, name: string, fallback: number, length: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number') throw invalidType(name, 'of type number', value)
  if (Number.isNaN(value) || (Number.isFinite(value) && !Number.isInteger(value))) {
    throw outOfRange(name, 'an integer', value)
  }
  if (value < 0) return Math.max(length + value, 0)
  return Math.min(value, length)
}

function toRange(start: unknown, end: unknown, length: number): [number, number] {
  const from = rangeEnd(start, 'start', 0, length)
  const to = rangeEnd(end, 'end', length, length)
  return [from, Math.max(from, to)]
}

function toFlag(value: unknown, name: string): boolean {
  if (value === undefined) return false
  if (typeof value !== 'boolean') throw invalidType(name, 'of type boolean', value)
  return value
}

function toBytes(value: unknown, name: string): Uint8Array {
  if (!ArrayBuffer.isView(value)) {
    throw invalidType(name, 'an instance of Buffer, TypedArray, or DataView', value)
  }
  return value instanceof Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
}

/** The path as the OS gets it: resolved with `path.resolve` (not realpath), as bytes. */
function toPath(path: unknown): Buffer {
  if (path instanceof URL) path = fileURLToPath(path)
  if (typeof path === 'string') {
    if (path.includes('\0')) throw invalidValue('path', 'must be a string, Uint8Array, or URL without null bytes', path)
    if (path === '') {
      throw Object.assign(new Error("ENOENT: no such file or directory, open ''"), {
        code: 'ENOENT',
        errno: process.platform === 'win32' ? -4058 : -2,
        syscall: 'open',
        path: '',
      })
    }
    return Buffer.from(resolvePath(path))
  }
  if (path instanceof Uint8Array) {
    const bytes = Buffer.from(path)
    if (bytes.includes(0)) throw invalidValue('path', 'must be a string, Uint8Array, or URL without null bytes', path)
    if (process.platform === 'win32' || bytes.length === 0) return toPath(bytes.toString())
    return bytes[0] === 0x2f ? bytes : Buffer.concat([Buffer.from(`${process.cwd()}/`), bytes])
  }
  throw invalidType('path', 'of type string or an instance of Buffer or URL', path)
}

function toOpenOptions(options: unknown): native.NativeOpenOptions {
  if (options === undefined) options = {}
  if (options === null || typeof options !== 'object') throw invalidType('options', 'of type object', options)
  const o = options as Record<string, unknown>
  const mode = o.mode ?? 'r'
  if (!isMode(mode)) {
    throw invalidValue('options.mode', "must be 'r', 'r+' or 'w+'", mode)
  }
  if (mode === 'w+' && o.size === undefined) {
    throw invalidValue('options.size', "is required with mode 'w+' (the new file's length)", o.size)
  }
  return {
    mode,
    offset: o.offset === undefined ? 0 : toIndex(o.offset, 'options.offset'),
    length: o.length === undefined ? undefined : toIndex(o.length, 'options.length'),
    size: o.size === undefined ? undefined : toIndex(o.size, 'options.size'),
    populate: toFlag(o.populate, 'options.populate'),
    hugePages: toFlag(o.hugePages, 'options.hugePages'),
    lock: toFlag(o.lock, 'options.lock'),
  }
}

function toOptionsObject(options: unknown): Record<string, unknown> {
  if (options === undefined) return {}
  if (options === null || typeof options !== 'object') throw invalidType('options', 'of type object', options)
  return options as Record<string, unknown>
}

function toAdvice(advice: unknown): Advice {
  if (typeof advice !== 'string') throw invalidType('advice', 'of type string', advice)
  if (!isAdvice(advice)) {
    throw invalidValue('advice', `must be one of ${ADVICE.map((a) => `'${a}'`).join(', ')}`, advice)
  }
  return advice
}

function refused(): Coded<Error> {
  return coded(
    new Error(
      'This runtime refuses Buffers over memory it did not allocate (Electron\'s memory cage, or ' +
        'MEMMAP_NO_EXTERNAL_BUFFERS=1): use mapping.read() and mapping.write() to copy bytes out and in',
    ),
    'ERR_MMAP_EXTERNAL_BUFFER_REFUSED',
  )
}

function tooLarge(length: number): Coded<RangeError> {
  return coded(
    new RangeError(
      `A view of ${length} bytes is larger than the ${maxViewLength} bytes one Buffer can hold in ` +
        'this Node.js: use view(start, end) over a smaller window, read() and write() to reach every byte',
    ),
    'ERR_MMAP_TOO_LARGE',
  )
}

const constructing = Symbol('memmap.constructing')
const dispose: typeof Symbol.dispose = Symbol.dispose ?? Symbol.for('nodejs.dispose')

/** A live memory mapping. Made by `openSync()`/`open()`, never with `new`. */
export class Mapping {
  #native: native.NativeMapping
  #info: native.NativeInfo
  #buffer: Buffer | undefined
  #atomics: SharedAtomics | undefined

  /** @internal */
  constructor(token: symbol, mapping: native.NativeMapping) {
    if (token !== constructing) {
      throw coded(new TypeError('Mapping objects are made by openSync() and open()'), 'ERR_ILLEGAL_CONSTRUCTOR')
    }
    this.#native = mapping
    this.#info = mapping.info()
  }

  /** `'file'`, `'anonymous'` or `'shared'`. */
  get kind(): Kind {
    return this.#info.kind
  }

  /** How the mapping was opened. */
  get mode(): Mode {
    return this.#info.mode
  }

  /** The resolved path for files, the name for shared memory. */
  get path(): string | null {
    return this.#info.path ?? null
  }

  /** The caller's offset into the file. */
  get offset(): number {
    return this.#info.offset
  }

  /** Bytes mapped. */
  get length(): number {
    return this.#info.length
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

  /** Copies `min(target.byteLength, length - position)` bytes out; returns the count. Like `fs.readSync`. */
  read(target: ArrayBufferView, position = 0): number {
    return this.#native.read(toBytes(target, 'target'), toIndex(position, 'position'))
  }

  /** Copies all of `source` in at `position`, or throws `ERR_MMAP_OUT_OF_RANGE` having copied nothing. */
  write(source: ArrayBufferView, position = 0): number {
    return this.#native.write(toBytes(source, 'source'), toIndex(position, 'position'))
  }

  /** Writes `[start, end)` back to the file; durable when it returns. */
  flush(start?: number, end?: number): void {
    this.#native.flush(...toRange(start, end, this.length))
  }

  /** `flush()` off the JavaScript thread. */
  async flushAsync(start?: number, end?: number): Promise<void> {
    return this.#native.flushAsync(...toRange(start, end, this.length))
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
      if (!this.#native.closed) this.#info = this.#native.info()
    }
  }

  /** Unmaps now; every Buffer over the mapping is detached (length 0). Idempotent. */
  close(): void {
    this.#buffer = undefined
    this.#atomics?.[forget]()
    this.#native.close()
  }

  /**
   * Atomic operations, `wait` and `notify` on the mapped bytes, across threads and processes.
   * The same object each time.
   */
  get atomics(): MappingAtomics {
    this.#atomics ??= new SharedAtomics(this.#native, this, (end) => this.view(0, end))
    return this.#atomics
  }

  /** `close()`, so that `using m = openSync(...)` works. */
  [dispose](): void {
    this.close()
  }

  /** ERR_MMAP_CLOSED wins over any other complaint once the mapping is closed. */
  #closedOr(error: Error): Error {
    if (!this.#native.closed) return error
    return coded(new Error('The mapping is closed: open it again to use it'), 'ERR_MMAP_CLOSED')
  }
}

/** Maps a file on the calling thread. */
export function openSync(path: string | Buffer | URL, options?: OpenOptions): Mapping {
  return new Mapping(constructing, native.openSync(toPath(path), toOpenOptions(options)))
}

/** Maps a file off the JavaScript thread. */
export async function open(path: string | Buffer | URL, options?: OpenOptions): Promise<Mapping> {
  return new Mapping(constructing, await native.open(toPath(path), toOpenOptions(options)))
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
  return new Mapping(constructing, native.anonymous(size, flags))
}

// ---------------------------------------------------------------------------------------------
// Named shared memory

const SHARED_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,29}$/

function toSharedName(name: unknown): string {
  if (typeof name !== 'string') throw invalidType('name', 'of type string', name)
  if (!SHARED_NAME.test(name)) {
    throw invalidValue(
      'name',
      "must be 1 to 30 characters from A-Z, a-z, 0-9, '.', '_' and '-', starting with a letter or digit",
      name,
    )
  }
  return name
}

/**
 * Opens the named shared memory object `name`, creating it with owner-only permissions if it
 * does not exist, grows it to at least `length` bytes (never shrinks it) and maps `length` bytes,
 * shared. With `exclusive: true` an existing name fails with `EEXIST`.
 */
export function createShared(name: string, length: number | bigint, options?: { exclusive?: boolean }): Mapping {
  const checked = toSharedName(name)
  const bytes = toIndex(length, 'length')
  if (bytes === 0) throw outOfRange('length', `an integer >= 1 and <= ${Number.MAX_SAFE_INTEGER}`, length)
  const exclusive = toFlag(toOptionsObject(options).exclusive, 'options.exclusive')
  return new Mapping(constructing, native.createShared(checked, bytes, exclusive))
}

/**
 * Maps the whole of the existing named shared memory object `name` (`ENOENT` if there is none).
 * With `readOnly: true` the pages are private copy-on-write: a stray Buffer write stays in this
 * process, and `write()` and the atomics that write throw `ERR_MMAP_READ_ONLY`.
 */
export function openShared(name: string, options?: { readOnly?: boolean }): Mapping {
  const checked = toSharedName(name)
  const readOnly = toFlag(toOptionsObject(options).readOnly, 'options.readOnly')
  return new Mapping(constructing, native.openShared(checked, readOnly))
}

/**
 * Removes the name `name`: later `openShared(name)` fails with `ENOENT`, while existing mappings
 * stay valid. `false` if there was no such name (always on Windows, where an object lives while
 * some process has it open).
 */
export function unlinkShared(name: string): boolean {
  return native.unlinkShared(toSharedName(name))
}

// ---------------------------------------------------------------------------------------------
// Atomics

/**
 * Atomic operations on the mapped bytes, as JavaScript's `Atomics` on an `Int32Array` (32-bit
 * forms, `number`) and a `BigInt64Array` (64-bit forms, `bigint`). `byteOffset` is a multiple of 4
 * (of 8 for the 64-bit forms) inside the mapping. They are atomic across every thread and process
 * that maps the same pages.
 */
export interface MappingAtomics {
  load(byteOffset: number): number
  /** Stores `value` as an Int32; returns `value` as an integer, as `Atomics.store` does. */
  store(byteOffset: number, value: number): number
  /** These return the value they replaced. */
  add(byteOffset: number, value: number): number
  sub(byteOffset: number, value: number): number
  and(byteOffset: number, value: number): number
  or(byteOffset: number, value: number): number
  xor(byteOffset: number, value: number): number
  exchange(byteOffset: number, value: number): number
  compareExchange(byteOffset: number, expected: number, replacement: number): number
  load64(byteOffset: number): bigint
  store64(byteOffset: number, value: bigint): bigint
  add64(byteOffset: number, value: bigint): bigint
  compareExchange64(byteOffset: number, expected: bigint, replacement: bigint): bigint
  /** Blocks this thread while the Int32 at `byteOffset` is `expected`, until a `notify` from any process or `timeoutMs` (default `Infinity`). */
  wait(byteOffset: number, expected: number, timeoutMs?: number): 'ok' | 'not-equal' | 'timed-out'
  /** `wait` without blocking: neither the event loop nor a thread-pool thread. Rejects with `ERR_MMAP_CLOSED` if the mapping is closed first. */
  waitAsync(byteOffset: number, expected: number, timeoutMs?: number): Promise<'ok' | 'not-equal' | 'timed-out'>
  /** Wakes up to `count` (default: all) waiters on the Int32 at `byteOffset`, in every process; returns how many woke (0 on Windows, where waiters poll). */
  notify(byteOffset: number, count?: number): number
}

const forget = Symbol('memmap.forget')
const OP_ADD = 0
const OP_SUB = 1
const OP_AND = 2
const OP_OR = 3
const OP_XOR = 4
const OP_EXCHANGE = 5
/** The zero-copy window `load` reads through: the first 1 MiB of the mapping. */
const LOAD_WINDOW = 1 << 20
const NO_WORDS: Int32Array<ArrayBufferLike> = new Int32Array(0)

function toInt32(value: unknown, name: string): number {
  if (typeof value !== 'number') throw invalidType(name, 'of type number', value)
  return value | 0
}

function toInt64(value: unknown, name: string): bigint {
  if (typeof value !== 'bigint') throw invalidType(name, 'of type bigint', value)
  return BigInt.asIntN(64, value)
}

/** Milliseconds as `Atomics.wait` takes them: `undefined` and `NaN` are `Infinity`, negatives 0. */
function toTimeout(value: unknown): number {
  if (value === undefined) return Infinity
  if (typeof value !== 'number') throw invalidType('timeoutMs', 'of type number', value)
  if (Number.isNaN(value)) return Infinity
  return Math.max(value, 0)
}

class SharedAtomics implements MappingAtomics {
  readonly #native: native.NativeMapping
  readonly #mapping: Mapping
  readonly #view: (end: number) => Buffer
  #words: Int32Array<ArrayBufferLike> | undefined

  constructor(mapping: native.NativeMapping, owner: Mapping, view: (end: number) => Buffer) {
    this.#native = mapping
    this.#mapping = owner
    this.#view = view
  }

  /** Drops the load window (the mapping is closing). */
  [forget](): void {
    this.#words = NO_WORDS
  }

  /** Checks `byteOffset` the way `Buffer#readInt32LE` checks its offset, plus alignment. */
  #at(byteOffset: unknown, size: number): number {
    if (typeof byteOffset !== 'number') throw invalidType('byteOffset', 'of type number', byteOffset)
    const last = this.#mapping.length - size
    if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset > last) {
      const expected = last < 0 ? `inside the mapping, but it is shorter than ${size} bytes` : `an integer >= 0 and <= ${last}`
      throw outOfRange('byteOffset', expected, byteOffset)
    }
    if (byteOffset % size !== 0) throw outOfRange('byteOffset', `a multiple of ${size}`, byteOffset)
    return byteOffset
  }

  /**
   * The Int32Array `load` reads through, made on first use: a zero-copy view of the first MiB.
   *
   * Why `load` may read in JavaScript: a call into the addon costs tens of nanoseconds, while
   * `Atomics.load` on an Int32Array compiles to one instruction, and a spinning reader is bound by
   * exactly that. `Atomics.load` emits the same instruction as Rust's `AtomicI32::load(SeqCst)`
   * (a plain aligned `mov` on x86, `ldar` on arm64), and an aligned 32-bit load is single-copy
   * atomic on every target we ship, whoever wrote the word and from which process. Writes and
   * read-modify-writes stay in Rust: JavaScript only guarantees them on a SharedArrayBuffer.
   * Where there is no view (zero-copy refused, an unaligned file offset), `load` calls Rust.
   */
  #window(): Int32Array<ArrayBufferLike> {
    if (this.#words !== undefined && (this.#words.length > 0 || this.#words === NO_WORDS)) return this.#words
    let words = NO_WORDS
    const mapping = this.#mapping
    const bytes = Math.min(mapping.length, LOAD_WINDOW) & ~3
    if (mapping.zeroCopy && !mapping.closed && mapping.offset % 4 === 0 && bytes > 0) {
      try {
        const buffer = this.#view(bytes)
        words = new Int32Array(buffer.buffer, buffer.byteOffset, bytes >>> 2)
      } catch {
        words = NO_WORDS
      }
    }
    this.#words = words
    return words
  }

  load(byteOffset: number): number {
    const words = this.#words ?? this.#window()
    // Fast path: an aligned integer offset inside the window (closing empties the window, and a
    // detached view has length 0, so neither reaches freed memory).
    if (typeof byteOffset === 'number' && (byteOffset | 0) === byteOffset && (byteOffset & 3) === 0) {
      const index = byteOffset >> 2
      if (index >= 0 && index < words.length) return Atomics.load(words, index)
    }
    if (words.length === 0 && words !== NO_WORDS) this.#words = undefined
    return this.#native.atomicLoad(this.#at(byteOffset, 4))
  }

  store(byteOffset: number, value: number): number {
    const at = this.#at(byteOffset, 4)
    const int32 = toInt32(value, 'value')
    this.#native.atomicStore(at, int32)
    return Math.trunc(value) || 0
  }

  add(byteOffset: number, value: number): number {
    return this.#native.atomicRmw(OP_ADD, this.#at(byteOffset, 4), toInt32(value, 'value'))
  }

  sub(byteOffset: number, value: number): number {
    return this.#native.atomicRmw(OP_SUB, this.#at(byteOffset, 4), toInt32(value, 'value'))
  }

  and(byteOffset: number, value: number): number {
    return this.#native.atomicRmw(OP_AND, this.#at(byteOffset, 4), toInt32(value, 'value'))
  }

  or(byteOffset: number, value: number): number {
    return this.#native.atomicRmw(OP_OR, this.#at(byteOffset, 4), toInt32(value, 'value'))
  }

  xor(byteOffset: number, value: number): number {
    return this.#native.atomicRmw(OP_XOR, this.#at(byteOffset, 4), toInt32(value, 'value'))
  }

  exchange(byteOffset: number, value: number): number {
    return this.#native.atomicRmw(OP_EXCHANGE, this.#at(byteOffset, 4), toInt32(value, 'value'))
  }

  compareExchange(byteOffset: number, expected: number, replacement: number): number {
    const at = this.#at(byteOffset, 4)
    return this.#native.atomicCompareExchange(at, toInt32(expected, 'expected'), toInt32(replacement, 'replacement'))
  }

  load64(byteOffset: number): bigint {
    return this.#native.atomicLoad64(this.#at(byteOffset, 8))
  }

  store64(byteOffset: number, value: bigint): bigint {
    const at = this.#at(byteOffset, 8)
    this.#native.atomicStore64(at, toInt64(value, 'value'))
    return value
  }

  add64(byteOffset: number, value: bigint): bigint {
    return this.#native.atomicAdd64(this.#at(byteOffset, 8), toInt64(value, 'value'))
  }

  compareExchange64(byteOffset: number, expected: bigint, replacement: bigint): bigint {
    const at = this.#at(byteOffset, 8)
    return this.#native.atomicCompareExchange64(at, toInt64(expected, 'expected'), toInt64(replacement, 'replacement'))
  }

  wait(byteOffset: number, expected: number, timeoutMs?: number): 'ok' | 'not-equal' | 'timed-out' {
    const at = this.#at(byteOffset, 4)
    return this.#native.atomicWait(at, toInt32(expected, 'expected'), toTimeout(timeoutMs))
  }

  waitAsync(byteOffset: number, expected: number, timeoutMs?: number): Promise<'ok' | 'not-equal' | 'timed-out'> {
    const at = this.#at(byteOffset, 4)
    return this.#native.atomicWaitAsync(at, toInt32(expected, 'expected'), toTimeout(timeoutMs))
  }

  notify(byteOffset: number, count?: number): number {
    const at = this.#at(byteOffset, 4)
    let wake = Infinity
    if (count !== undefined) {
      if (typeof count !== 'number') throw invalidType('count', 'of type number', count)
      wake = Math.max(Math.trunc(count) || 0, 0)
    }
    return this.#native.atomicNotify(at, wake)
  }
}
