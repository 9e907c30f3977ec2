// createReadStream(): a Readable over a range of a mapping, of views where zero-copy Buffers are
// allowed and of copies where they are refused. Closing the mapping destroys the stream with
// ERR_MMAP_CLOSED, so no chunk still queued in it is delivered detached. A resize() detaches the
// queued views too: the stream then ends with ERR_MMAP_RESIZED, which says where to read on
// (a Readable cannot take back what it holds, and a detached chunk would stall it for ever).
// Nothing queued, or copies or strings queued: it goes on over the new pages, to the new end.

import { Readable } from 'node:stream'
import { closed, coded, outOfRange, toIndex, toOptionsObject, toReadOptions } from './args'
import { zeroCopy } from './constants'
import type { ReadStreamOptions } from './types'

/** What a stream needs of its mapping. */
export interface StreamSource {
  readonly length: number
  view(start: number, end: number): Buffer
  read(target: Uint8Array, position: number): number
}

/** Views are cut from windows this large (or one chunk, if larger), not made one per chunk. */
const WINDOW = 16 * 1024 * 1024

export class MappingReadStream extends Readable {
  readonly #source: StreamSource
  readonly #end: number
  readonly #chunk: number
  #at: number
  #window: Buffer | undefined
  #windowStart = 0

  constructor(source: StreamSource, options: ReadStreamOptions | undefined) {
    const o = toOptionsObject(options)
    const chunk = o.highWaterMark === undefined ? 64 * 1024 : toIndex(o.highWaterMark, 'options.highWaterMark')
    if (chunk === 0) throw outOfRange('options.highWaterMark', `an integer >= 1 and <= ${Number.MAX_SAFE_INTEGER}`, 0)
    const { start, end, encoding } = toReadOptions(o, source.length)
    super({ highWaterMark: chunk })
    // Chunks are then decoded as they are pushed: strings, which no resize() or close() detaches.
    if (encoding !== undefined) this.setEncoding(encoding)
    this.#source = source
    this.#at = start
    this.#end = end
    this.#chunk = chunk
  }

  /** The next chunk. A closed mapping never gets here: its `close()` destroys the stream first (`abort`). */
  override _read(): void {
    const end = Math.min(this.#end, this.#source.length) // a resize may have shortened the mapping
    if (this.#at >= end) {
      this.push(null)
      return
    }
    const to = Math.min(this.#at + this.#chunk, end)
    let chunk: Buffer
    try {
      chunk = zeroCopy ? this.#viewOf(this.#at, to) : this.#copyOf(this.#at, to)
    } catch (error) {
      this.destroy(error as Error)
      return
    }
    this.#at = to
    this.push(chunk)
  }

  /** `[start, end)` cut from the current window, made anew when it does not cover the range (or was detached by a resize). */
  #viewOf(start: number, end: number): Buffer {
    const window = this.#window
    if (window === undefined || window.byteLength === 0 || start < this.#windowStart || end > this.#windowStart + window.length) {
      const to = Math.min(this.#end, this.#source.length, start + Math.max(WINDOW, this.#chunk))
      this.#window = this.#source.view(start, to)
      this.#windowStart = start
    }
    return (this.#window as Buffer).subarray(start - this.#windowStart, end - this.#windowStart)
  }

  #copyOf(start: number, end: number): Buffer {
    const copy = Buffer.allocUnsafe(end - start)
    const count = this.#source.read(copy, start)
    return count === copy.length ? copy : copy.subarray(0, count)
  }

  /**
   * Called by the mapping's `resize()`, which may have remapped: then the window is detached, and
   * so are the views still queued (a Readable would stall on them). Those bytes are not delivered: the
   * stream is destroyed with where the delivered bytes end.
   */
  remapped(): void {
    // Not detached: the resize was refused before it remapped (or this stream has no views).
    if (this.#window === undefined || this.#window.byteLength !== 0) return
    this.#window = undefined
    const queued = this.readableLength
    if (this.destroyed || this.readableEnded || queued === 0 || !zeroCopy || this.readableEncoding !== null) return
    const position = this.#at - queued
    const error = coded(
      new Error(
        `The mapping was resized while ${queued} bytes of this stream were queued as views, which resize() ` +
          `detached. Every byte before offset ${position} was delivered: createReadStream({ start: ${position} }) reads on`,
      ),
      'ERR_MMAP_RESIZED',
    )
    this.destroy(Object.assign(error, { position }))
  }

  /** Called by the mapping's `close()`: queued views are about to be detached. */
  abort(): void {
    this.#window = undefined
    if (!this.destroyed && !this.readableEnded) {
      this.destroy(closed('The mapping was closed while it was being read: open it again to read the rest'))
    }
  }
}
