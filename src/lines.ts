// mapping.lines(): the records between separators, as zero-copy views, strings, or copies where
// zero-copy Buffers are refused.
//
// The core finds the separators (memchr's SIMD search), a batch of up to BATCH per call into a
// Float64Array, so a record costs no call into the binding: only the view or the string made
// for it. Views are cut from windows of the mapping of WINDOW bytes (or one record, if longer),
// as the streams' chunks are, so that no Buffer is larger than a record needs and a mapping past
// maxViewLength is read through. Positions are numbers: exact up to 2^53, past 4 GiB too.
//
// A view here is a Buffer whose prototype is one step below Buffer.prototype (see MappedView):
// Node's own constructor for a Buffer over an ArrayBuffer costs twice as much as a record's
// search, and is not reachable. `Buffer.isBuffer`, `instanceof Buffer`, every Buffer method and
// every Node API that takes a Buffer take it; util.inspect prints it as a Buffer; only a
// prototype comparison (`assert.deepStrictEqual` against a plain Buffer) tells it apart.

import { closed, invalidType, invalidValue, outOfRange, toOptionsObject, toReadOptions } from './args'
import { zeroCopy } from './constants'
import type { LinesOptions } from './types'

/** What the records are cut from: the mapping, as `Mapping` exposes it to this file. */
export interface LineSource {
  readonly length: number
  readonly closed: boolean
  /** A zero-copy view over `[start, end)` (only asked where zero-copy is allowed). */
  view(start: number, end: number): Buffer
  read(target: Uint8Array, position: number): number
  /** The binding's batch search: the starts of `separator` in `[from, to)`, into `out`; their count. */
  separators(separator: Uint8Array, from: number, to: number, out: Float64Array): number
}

/** Separator positions found per call into the binding. */
const BATCH = 4096
/** Bytes per window the views are cut from (or one record, if longer). */
const WINDOW = 64 * 1024 * 1024
const LF = 10
const CR = 13

/** A Buffer over mapped pages: Buffer.prototype is on its chain, and it names Buffer as its constructor. */
class MappedView extends Uint8Array {}
Object.setPrototypeOf(MappedView.prototype, Buffer.prototype)
Object.defineProperty(MappedView.prototype, 'constructor', { value: Buffer, writable: true, configurable: true })

export class LineIterator implements IterableIterator<Buffer | string> {
  readonly #source: LineSource
  readonly #separator: Uint8Array
  readonly #width: number
  /** The separator is a lone `'\n'`: a `'\r'` before it is dropped. */
  readonly #crlf: boolean
  readonly #encoding: BufferEncoding | undefined
  readonly #end: number
  /** Where the next record starts. */
  #at: number
  readonly #found = new Float64Array(BATCH)
  #count = 0
  #next = 0
  /** No separator is left between `#at` and the end: one last record, if any bytes are left. */
  #exhausted = false
  #window: Buffer | undefined
  #windowStart = 0
  /** The window's ArrayBuffer and where the window starts in it (asking a Buffer costs more than a record). */
  #windowBuffer: ArrayBuffer = new ArrayBuffer(0)
  #windowOffset = 0
  #scratch: Buffer | undefined

  constructor(source: LineSource, options: LinesOptions | undefined) {
    if (source.closed) throw closed()
    const o = toOptionsObject(options)
    const { start, end, encoding } = toReadOptions(o, source.length)
    this.#source = source
    this.#separator = toSeparator(o.separator)
    this.#width = this.#separator.length
    this.#crlf = this.#width === 1 && this.#separator[0] === LF
    this.#encoding = encoding
    this.#at = start
    this.#end = end
  }

  [Symbol.iterator](): this {
    return this
  }

  next(): IteratorResult<Buffer | string, undefined> {
    for (;;) {
      if (this.#next < this.#count) {
        const separator = this.#found[this.#next++]
        const start = this.#at
        this.#at = separator + this.#width
        return { value: this.#record(start, separator, this.#crlf), done: false }
      }
      if (this.#exhausted) {
        // The last record, which no separator ends (nothing when the range ended with one).
        const end = Math.min(this.#end, this.#source.length)
        if (this.#at >= end) return { value: undefined, done: true }
        const start = this.#at
        this.#at = end
        return { value: this.#record(start, end, false), done: false }
      }
      this.#refill()
    }
  }

  /** The next batch of separators: ends this iterator's search when fewer than a batch are left. */
  #refill(): void {
    // A resize() may have shortened the mapping: the records end at its new length.
    const end = Math.min(this.#end, this.#source.length)
    this.#count = this.#at + this.#width <= end ? this.#source.separators(this.#separator, this.#at, end, this.#found) : 0
    this.#next = 0
    this.#exhausted = this.#count < BATCH
  }

  /** The record `[start, end)`, without a `'\r'` before its separator when `crlf`. */
  #record(start: number, end: number, crlf: boolean): Buffer | string {
    if (!zeroCopy) return this.#copy(start, end, crlf)
    const window = this.#windowOver(start, end)
    const from = start - this.#windowStart
    let to = end - this.#windowStart
    if (crlf && to > from && window[to - 1] === CR) to--
    if (this.#encoding !== undefined) return window.toString(this.#encoding, from, to)
    return new MappedView(this.#windowBuffer, this.#windowOffset + from, to - from) as Buffer
  }

  /** A window over the mapping that covers `[start, end)`, made anew when the last does not (or was detached). */
  #windowOver(start: number, end: number): Buffer {
    const window = this.#window
    if (window !== undefined && start >= this.#windowStart && end <= this.#windowStart + window.length && window.length > 0) {
      return window
    }
    const limit = Math.min(this.#end, this.#source.length)
    const made = this.#source.view(start, Math.max(end, Math.min(limit, start + WINDOW)))
    this.#window = made
    this.#windowStart = start
    this.#windowBuffer = made.buffer as ArrayBuffer
    this.#windowOffset = made.byteOffset
    return made
  }

  /** Where zero-copy Buffers are refused: a copy (for a string, read into a scratch Buffer first). */
  #copy(start: number, end: number, crlf: boolean): Buffer | string {
    const length = end - start
    const target = this.#encoding === undefined ? Buffer.allocUnsafe(length) : this.#scratchOf(length)
    const count = this.#source.read(target.subarray(0, length), start)
    let to = count
    if (crlf && to > 0 && target[to - 1] === CR) to--
    if (this.#encoding !== undefined) return target.toString(this.#encoding, 0, to)
    return to === target.length ? target : target.subarray(0, to)
  }

  #scratchOf(length: number): Buffer {
    if (this.#scratch === undefined || this.#scratch.length < length) this.#scratch = Buffer.allocUnsafe(Math.max(length, 64 * 1024))
    return this.#scratch
  }
}

/** `options.separator`: `'\n'` by default; a string's UTF-8 bytes; a number as one byte; bytes. */
function toSeparator(value: unknown): Uint8Array {
  let bytes: Uint8Array
  if (value === undefined) return Uint8Array.of(LF)
  if (typeof value === 'string') bytes = Buffer.from(value, 'utf8')
  else if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value > 255) throw outOfRange('options.separator', 'an integer >= 0 and <= 255', value)
    bytes = Uint8Array.of(value)
  } else if (value instanceof Uint8Array) bytes = Uint8Array.from(value)
  else throw invalidType('options.separator', 'one of type string or number, or an instance of Buffer or Uint8Array', value)
  if (bytes.length === 0) throw invalidValue('options.separator', 'must not be empty', value)
  return bytes
}
