// The zero-copy window the small calls (`read`, `write`, every atomic) go through instead of the
// binding: one Buffer over an aligned 1 MiB chunk of the mapping, with the typed arrays the
// atomics use over the same bytes.
//
// A call into the binding costs 50-110 ns (one of its bound functions, crates/memmap-node/src/
// fast.rs) or 300-450 ns (a napi class method); a copy or an `Atomics` call on a typed array over
// the mapped pages costs 10-80 ns. A window is made only where it pays: over the whole-mapping Buffer
// when the caller already made one (free), or on the second call in a row that lands in the same
// chunk (a view costs ~15 µs, so a one-off call or random calls over a huge mapping stay on the
// binding). Closing or resizing the mapping detaches the window's Buffer like any other: its
// length drops to 0, every check below fails, and the call goes to the binding, which throws
// `ERR_MMAP_CLOSED`. Nothing here can reach unmapped memory.

/** The size and alignment of a window. */
const CHUNK = 1 << 20

export class Window {
  /** The window's first byte, as an offset into the mapping. */
  readonly start: number
  /** One past its last byte. */
  readonly end: number
  readonly bytes: Buffer
  /** Int32 view for the atomics, or `null` where the mapped address is not 8-aligned. */
  readonly i32: Int32Array | null
  /** BigInt64 view for the 64-bit atomics, or `null` as `i32`. */
  readonly i64: BigInt64Array | null

  constructor(start: number, bytes: Buffer, aligned: boolean) {
    this.start = start
    this.end = start + bytes.length
    this.bytes = bytes
    // An Int32Array needs its byte offset aligned inside the ArrayBuffer; the CPU needs the
    // address aligned (arm64 faults on an unaligned exclusive access), which `aligned` says.
    const usable = aligned && bytes.byteOffset % 8 === 0
    // (Not `>>> 2`: a window over a whole mapping can pass 4 GiB from Node.js 22 on.)
    this.i32 = usable ? new Int32Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.length / 4)) : null
    this.i64 = usable ? new BigInt64Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.length / 8)) : null
  }

  /** Whether `[from, to)` lies inside the window and its Buffer is still attached. */
  covers(from: number, to: number): boolean {
    return from >= this.start && to <= this.end && this.bytes.length === this.end - this.start
  }
}

/** What a `Windows` needs from its mapping. */
export interface WindowSource {
  /** A new Buffer over `[start, end)`, or `undefined` when none can be made (closed, refused). */
  slice(start: number, end: number): Buffer | undefined
  /** The whole-mapping Buffer if the caller made one: the window is then all of it, for free. */
  whole(): Buffer | undefined
  /** The mapping's length now. */
  length(): number
  /** The file offset the mapping starts at (its address has the same alignment modulo 8). */
  readonly offset: number
}

/** The current window of one mapping. */
export class Windows {
  readonly #source: WindowSource
  #current: Window | undefined
  #missed = -1

  constructor(source: WindowSource) {
    this.#source = source
  }

  /** The window over `[from, to)` (`from < to`, both integers), or `undefined`: use the binding. */
  at(from: number, to: number): Window | undefined {
    const current = this.#current
    if (current !== undefined && current.covers(from, to)) return current
    return this.#miss(from, to)
  }

  /** Drops the window (closing, resizing). */
  forget(): void {
    this.#current = undefined
    this.#missed = -1
  }

  #miss(from: number, to: number): Window | undefined {
    const source = this.#source
    const length = source.length()
    if (to > length) return undefined
    const whole = source.whole()
    if (whole !== undefined) {
      this.#current = new Window(0, whole, source.offset % 8 === 0)
      return this.#current
    }
    // A window of its own costs a view: only for a chunk that was asked for twice in a row.
    const chunk = Math.floor(from / CHUNK)
    if (Math.floor((to - 1) / CHUNK) !== chunk) return undefined
    if (chunk !== this.#missed) {
      this.#missed = chunk
      return undefined
    }
    const start = chunk * CHUNK
    const bytes = source.slice(start, Math.min(start + CHUNK, length))
    if (bytes === undefined) return undefined
    this.#current = new Window(start, bytes, (source.offset + start) % 8 === 0)
    return this.#current
  }
}
