// Cross-process atomics on the mapped bytes: a zero-copy window for `load`, the binding for the
// rest.

import type * as native from '../loader'
import { invalidType, outOfRange } from './args'
import type { Mapping } from './mapping'
import type { MappingAtomics } from './types'

/** @internal Drops the load window (the mapping is closing). */
export const forget = Symbol('memmap.forget')
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

/** @internal */
export class SharedAtomics implements MappingAtomics {
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
