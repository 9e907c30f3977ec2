// Cross-process atomics on the mapped bytes: JavaScript's `Atomics` over the zero-copy window
// where there is one, the binding where there is not (zero-copy refused, an unaligned mapping, a
// call that does not pay for a window).
//
// Why JavaScript's `Atomics` may do this on a plain (not shared) ArrayBuffer over mapped pages:
// V8 runs them through the same builtins whatever the buffer (TurboFan calls the `AtomicsAdd`
// builtin rather than inlining it), and those builtins emit the hardware's atomic instructions:
// `lock cmpxchg` / `lock xadd` / `xchg` on x64, exclusive pairs (`ldaxr`/`stlxr`) or LSE atomics on
// arm64, never a plain read-modify-write. A locked instruction on a physical page is atomic for
// every CPU and so for every process that maps the page. docs/atomics.md has the disassembly for
// each Node.js we support and how to redo it; shared.spec.ts's 4-process counters check it.

import { isMainThread } from 'node:worker_threads'

import type * as native from '../loader'
import { invalidType, outOfRange, toTimeout } from './args'
import type { NativeFast } from './sync'
import type { MappingAtomics, WaitResult } from './types'
import type { Windows } from './window'

/** What the atomics use of their `Mapping`: its length now (it changes on resize). */
interface Mapping {
  readonly length: number
}

function toInt32(value: unknown, name: string): number {
  if (typeof value !== 'number') throw invalidType(name, 'of type number', value)
  return value | 0
}

function toInt64(value: unknown, name: string): bigint {
  if (typeof value !== 'bigint') throw invalidType(name, 'of type bigint', value)
  return BigInt.asIntN(64, value)
}

/** @internal */
export class SharedAtomics implements MappingAtomics {
  readonly #native: native.NativeMapping
  readonly #fast: NativeFast
  readonly #mapping: Mapping
  readonly #windows: Windows
  readonly #writable: boolean

  constructor(mapping: native.NativeMapping, fast: NativeFast, owner: Mapping, windows: Windows, writable: boolean) {
    this.#native = mapping
    this.#fast = fast
    this.#mapping = owner
    this.#windows = windows
    this.#writable = writable
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
   * The Int32Array and index for the word at `byteOffset`, or `undefined` (use the binding).
   * Only a number is looked at (a bigint or an object with `valueOf` goes to `#at` untouched);
   * `% 4 === 0` is false for every non-integer, NaN and infinity, and the window checks the rest,
   * so a bad offset always reaches `#at` and its error.
   */
  #i32(byteOffset: number): [Int32Array, number] | undefined {
    if (typeof byteOffset !== 'number' || byteOffset % 4 !== 0 || byteOffset < 0) return undefined
    const window = this.#windows.at(byteOffset, byteOffset + 4)
    if (window === undefined || window.i32 === null) return undefined
    return [window.i32, (byteOffset - window.start) / 4]
  }

  #i64(byteOffset: number): [BigInt64Array, number] | undefined {
    if (typeof byteOffset !== 'number' || byteOffset % 8 !== 0 || byteOffset < 0) return undefined
    const window = this.#windows.at(byteOffset, byteOffset + 8)
    if (window === undefined || window.i64 === null) return undefined
    return [window.i64, (byteOffset - window.start) / 8]
  }

  load(byteOffset: number): number {
    const word = this.#i32(byteOffset)
    if (word !== undefined) return Atomics.load(word[0], word[1])
    return this.#fast.atomicLoad(this.#at(byteOffset, 4))
  }

  store(byteOffset: number, value: number): number {
    const word = this.#writable ? this.#i32(byteOffset) : undefined
    if (word !== undefined) Atomics.store(word[0], word[1], toInt32(value, 'value'))
    else this.#fast.atomicStore(this.#at(byteOffset, 4), toInt32(value, 'value'))
    return Math.trunc(value) || 0
  }

  #rmw(op: native.NativeRmw, byteOffset: number, value: unknown): number {
    const word = this.#writable ? this.#i32(byteOffset) : undefined
    if (word === undefined) {
      const at = this.#at(byteOffset, 4)
      return this.#fast.atomicRmw(op, at, toInt32(value, 'value'))
    }
    const [words, index] = word
    const int32 = toInt32(value, 'value')
    switch (op) {
      case 'add':
        return Atomics.add(words, index, int32)
      case 'sub':
        return Atomics.sub(words, index, int32)
      case 'and':
        return Atomics.and(words, index, int32)
      case 'or':
        return Atomics.or(words, index, int32)
      case 'xor':
        return Atomics.xor(words, index, int32)
      case 'exchange':
        return Atomics.exchange(words, index, int32)
    }
  }

  add(byteOffset: number, value: number): number {
    return this.#rmw('add', byteOffset, value)
  }

  sub(byteOffset: number, value: number): number {
    return this.#rmw('sub', byteOffset, value)
  }

  and(byteOffset: number, value: number): number {
    return this.#rmw('and', byteOffset, value)
  }

  or(byteOffset: number, value: number): number {
    return this.#rmw('or', byteOffset, value)
  }

  xor(byteOffset: number, value: number): number {
    return this.#rmw('xor', byteOffset, value)
  }

  exchange(byteOffset: number, value: number): number {
    return this.#rmw('exchange', byteOffset, value)
  }

  compareExchange(byteOffset: number, expected: number, replacement: number): number {
    const word = this.#writable ? this.#i32(byteOffset) : undefined
    const at = word === undefined ? this.#at(byteOffset, 4) : byteOffset
    const from = toInt32(expected, 'expected')
    const to = toInt32(replacement, 'replacement')
    if (word !== undefined) return Atomics.compareExchange(word[0], word[1], from, to)
    return this.#fast.atomicCompareExchange(at, from, to)
  }

  load64(byteOffset: number): bigint {
    const word = this.#i64(byteOffset)
    if (word !== undefined) return Atomics.load(word[0], word[1])
    return this.#native.atomicLoad64(this.#at(byteOffset, 8))
  }

  store64(byteOffset: number, value: bigint): bigint {
    const word = this.#writable ? this.#i64(byteOffset) : undefined
    if (word !== undefined) Atomics.store(word[0], word[1], toInt64(value, 'value'))
    else this.#native.atomicStore64(this.#at(byteOffset, 8), toInt64(value, 'value'))
    return value
  }

  add64(byteOffset: number, value: bigint): bigint {
    const word = this.#writable ? this.#i64(byteOffset) : undefined
    const at = word === undefined ? this.#at(byteOffset, 8) : byteOffset
    const int64 = toInt64(value, 'value')
    if (word !== undefined) return Atomics.add(word[0], word[1], int64)
    return this.#native.atomicAdd64(at, int64)
  }

  compareExchange64(byteOffset: number, expected: bigint, replacement: bigint): bigint {
    const word = this.#writable ? this.#i64(byteOffset) : undefined
    const at = word === undefined ? this.#at(byteOffset, 8) : byteOffset
    const from = toInt64(expected, 'expected')
    const to = toInt64(replacement, 'replacement')
    if (word !== undefined) return Atomics.compareExchange(word[0], word[1], from, to)
    return this.#native.atomicCompareExchange64(at, from, to)
  }

  wait(byteOffset: number, expected: number, timeoutMs?: number): WaitResult {
    const at = this.#at(byteOffset, 4)
    return this.#native.atomicWait(at, toInt32(expected, 'expected'), toTimeout(timeoutMs), !isMainThread)
  }

  waitAsync(byteOffset: number, expected: number, timeoutMs?: number): Promise<WaitResult> {
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
    return this.#fast.atomicNotify(at, wake)
  }
}
