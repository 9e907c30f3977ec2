// The Mapping class and the functions that make one over a file or anonymous memory.

import * as native from '../loader'
import {
  coded,
  refused,
  toAdvice,
  toBytes,
  toFlag,
  toIndex,
  toOpenOptions,
  toOptionsObject,
  toPath,
  toRange,
  tooLarge,
} from './args'
import { SharedAtomics } from './atomics'
import { maxViewLength, zeroCopy } from './constants'
import type { Advice, AnonymousOptions, Kind, MappingAtomics, Mode, OpenOptions, Residency } from './types'
import { Windows } from './window'

/** @internal The token only this package's functions pass to `Mapping`'s constructor. */
export const constructing = Symbol('memmap.constructing')
const dispose: typeof Symbol.dispose = Symbol.dispose ?? Symbol.for('nodejs.dispose')

/** A live memory mapping. Made by `openSync()`/`open()`, never with `new`. */
export class Mapping {
  #native: native.NativeMapping
  #info: native.NativeInfo
  #buffer: Buffer | undefined
  #atomics: SharedAtomics | undefined
  readonly #windows: Windows
  /** Whether `write()` and the writing atomics may go through the window (mode `'r'` may not). */
  readonly #writable: boolean

  /** @internal */
  constructor(token: symbol, mapping: native.NativeMapping) {
    if (token !== constructing) {
      throw coded(new TypeError('Mapping objects are made by openSync() and open()'), 'ERR_ILLEGAL_CONSTRUCTOR')
    }
    this.#native = mapping
    this.#info = mapping.info()
    this.#writable = this.#info.mode !== 'r'
    this.#windows = new Windows({
      slice: (start, end) => this.#slice(start, end),
      whole: () => this.#attached(),
      length: () => this.#info.length,
      offset: this.#info.offset,
    })
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
    const count = Math.min(into.length, this.#info.length - at)
    if (count > 0) {
      const window = this.#windows.at(at, at + count)
      if (window !== undefined) return window.bytes.copy(into, 0, at - window.start, at - window.start + count)
    }
    return this.#native.read(into, at)
  }

  /** Copies all of `source` in at `position`, or throws `ERR_MMAP_OUT_OF_RANGE` having copied nothing. */
  write(source: ArrayBufferView, position = 0): number {
    const from = toBytes(source, 'source')
    const at = toIndex(position, 'position')
    const count = from.length
    if (this.#writable && count > 0 && at + count <= this.#info.length) {
      const window = this.#windows.at(at, at + count)
      if (window !== undefined) {
        window.bytes.set(from, at - window.start)
        return count
      }
    }
    return this.#native.write(from, at)
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
      this.#windows.forget()
      if (!this.#native.closed) this.#info = this.#native.info()
    }
  }

  /** Unmaps now; every Buffer over the mapping is detached (length 0). Idempotent. */
  close(): void {
    this.#buffer = undefined
    this.#windows.forget()
    this.#native.close()
  }

  /**
   * Atomic operations, `wait` and `notify` on the mapped bytes, across threads and processes.
   * The same object each time.
   */
  get atomics(): MappingAtomics {
    this.#atomics ??= new SharedAtomics(this.#native, this, this.#windows, this.#writable)
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
