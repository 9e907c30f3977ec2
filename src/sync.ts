// Mutexes and semaphores in 8 bytes of a mapping. The uncontended paths are one compare-exchange
// in JavaScript over the zero-copy window (src/window.ts; docs/atomics.md says why `Atomics` on
// mapped pages are atomic across processes); sleeping, owner death and the refused-Buffer mode
// are the core's (crates/memmap-core/src/sync). The word layout is the core's too: the lock word
// holds the holder's token, the next word its birth stamp.

import * as native from '../loader'
import { invalidType, outOfRange, toTimeout } from './args'
import type { Held, Mutex, Permit, Semaphore } from './types'
import type { Windows } from './window'

/** This thread as a lock word names it, asked once (each worker loads its own copy of this module). */
let me: native.NativeIdentity | undefined
const identity = (): native.NativeIdentity => (me ??= native.threadIdentity())
const dispose: typeof Symbol.dispose = Symbol.dispose ?? Symbol.for('nodejs.dispose')
const MAX_PERMITS = 0x7fffffff

/** @internal What a mutex or semaphore needs of its mapping. */
export interface SyncSource {
  readonly native: native.NativeMapping
  readonly windows: Windows
  /** Whether the pages may be written (mode `'r'` may not: the core then says ERR_MMAP_READ_ONLY). */
  readonly writable: boolean
}

/** @internal Checks a mutex's or semaphore's offset: 8 bytes, 8-aligned, inside the mapping. */
export function toSyncOffset(byteOffset: unknown, length: number): number {
  if (typeof byteOffset !== 'number') throw invalidType('byteOffset', 'of type number', byteOffset)
  const last = length - 8
  if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset > last) {
    const expected = last < 0 ? 'inside the mapping, but it is shorter than 8 bytes' : `an integer >= 0 and <= ${last}`
    throw outOfRange('byteOffset', expected, byteOffset)
  }
  if (byteOffset % 8 !== 0) throw outOfRange('byteOffset', 'a multiple of 8', byteOffset)
  return byteOffset
}

/**
 * The 8 bytes as an Int32Array and the index of their first word, kept between calls. A detached
 * array (the mapping closed or resized) has length 0 and is asked for again; `undefined` means
 * there is no window (zero-copy refused, an unaligned mapping): use the binding.
 */
class Cell {
  readonly #source: SyncSource
  readonly #byteOffset: number
  #words: Int32Array | undefined
  index = 0

  constructor(source: SyncSource, byteOffset: number) {
    this.#source = source
    this.#byteOffset = byteOffset
  }

  /** For reading, or (`write`) for changing, where the pages may be written. */
  words(write: boolean): Int32Array | undefined {
    if (write && !this.#source.writable) return undefined
    if (this.#words === undefined || this.#words.length === 0) {
      const window = this.#source.windows.at(this.#byteOffset, this.#byteOffset + 8)
      if (window === undefined || window.i32 === null) return undefined
      this.#words = window.i32
      this.index = (this.#byteOffset - window.start) / 4
    }
    return this.#words
  }
}

/** What a Held and a Permit share: they give back what they hold once, then do nothing. */
class Grant {
  /** The mutex or semaphore, whose `release()` gives back one lock or permit. */
  readonly #from: { release(): void }
  #given = false

  constructor(from: { release(): void }) {
    this.#from = from
  }

  protected giveBack(): void {
    if (this.#given) return
    this.#from.release()
    this.#given = true
  }

  [dispose](): void {
    this.giveBack()
  }
}

class MutexHeld extends Grant implements Held {
  readonly ownerDied: boolean

  constructor(mutex: SharedMutex, ownerDied: boolean) {
    super(mutex)
    this.ownerDied = ownerDied
  }

  unlock(): void {
    this.giveBack()
  }
}

class SemaphorePermit extends Grant implements Permit {
  release(): void {
    this.giveBack()
  }
}

/** What a mutex and a semaphore share: their 8 bytes and the mapping's binding. */
class Primitive {
  readonly byteOffset: number
  protected readonly source: SyncSource
  protected readonly cell: Cell

  constructor(source: SyncSource, byteOffset: number) {
    this.source = source
    this.cell = new Cell(source, byteOffset)
    this.byteOffset = byteOffset
  }
}

/** @internal */
export class SharedMutex extends Primitive implements Mutex {
  /**
   * The uncontended lock: one compare-exchange from 0 to this thread's token, then the stamp. The
   * stamp is a plain store: the compare-exchange before it is a full barrier, and a waiter that
   * reads the token before the stamp lands reads 0, "unknown", which never declares a holder dead.
   */
  #take(): boolean {
    const words = this.cell.words(true)
    if (words === undefined) return false
    const id = me ?? identity()
    const index = this.cell.index
    if (Atomics.compareExchange(words, index, 0, id.token) !== 0) return false
    words[index + 1] = id.stamp
    return true
  }

  lock(timeoutMs?: number): Held {
    const timeout = toTimeout(timeoutMs)
    if (this.#take() || this.#watch()) return new MutexHeld(this, false)
    return new MutexHeld(this, this.source.native.mutexLock(this.byteOffset, timeout))
  }

  /**
   * A held mutex is often let go within a microsecond (a short critical section on the other
   * core): look a few hundred times before paying for the binding, and take it if it frees.
   */
  #watch(): boolean {
    const words = this.cell.words(true)
    if (words === undefined) return false
    const index = this.cell.index
    for (let look = 0; look < 256; look++) {
      if (Atomics.load(words, index) === 0 && this.#take()) return true
    }
    return false
  }

  tryLock(): Held | null {
    if (this.#take()) return new MutexHeld(this, false)
    // Held: the binding says by whom (this thread: ERR_MMAP_DEADLOCK) and whether they live.
    const ownerDied = this.source.native.mutexTryLock(this.byteOffset)
    return ownerDied === null ? null : new MutexHeld(this, ownerDied)
  }

  async lockAsync(timeoutMs?: number): Promise<Held> {
    const timeout = toTimeout(timeoutMs)
    if (this.#take()) return new MutexHeld(this, false)
    return new MutexHeld(this, await this.source.native.mutexLockAsync(this.byteOffset, timeout))
  }

  get locked(): boolean {
    const words = this.cell.words(false)
    if (words !== undefined) return Atomics.load(words, this.cell.index) !== 0
    return this.source.native.mutexLocked(this.byteOffset)
  }

  /**
   * @internal The uncontended unlock in JavaScript: clear the stamp, then 0 if nobody asked to be
   * woken. The stamp's plain store lands before the compare-exchange that releases (x64 keeps
   * stores in order; on arm64 the release is a store-release), so no next holder's token is ever
   * seen next to this thread's stamp.
   */
  release(): void {
    const words = this.cell.words(true)
    if (words !== undefined) {
      const { token } = me ?? identity()
      const index = this.cell.index
      if (words[index] === token) {
        words[index + 1] = 0
        if (Atomics.compareExchange(words, index, token, 0) === token) return
      }
    }
    this.source.native.mutexUnlock(this.byteOffset)
  }
}

/** @internal */
export class SharedSemaphore extends Primitive implements Semaphore {
  /** Takes a permit if there is one, in JavaScript where the window allows. */
  #take(): boolean {
    const words = this.cell.words(true)
    if (words === undefined) return this.source.native.semaphoreTryAcquire(this.byteOffset)
    const index = this.cell.index
    let count = Atomics.load(words, index)
    while (count > 0) {
      const seen = Atomics.compareExchange(words, index, count, count - 1)
      if (seen === count) return true
      count = seen
    }
    return false
  }

  acquire(timeoutMs?: number): Permit {
    const timeout = toTimeout(timeoutMs)
    if (!this.#take()) this.source.native.semaphoreAcquire(this.byteOffset, timeout)
    return new SemaphorePermit(this)
  }

  tryAcquire(): Permit | null {
    return this.#take() ? new SemaphorePermit(this) : null
  }

  async acquireAsync(timeoutMs?: number): Promise<Permit> {
    const timeout = toTimeout(timeoutMs)
    if (!this.#take()) await this.source.native.semaphoreAcquireAsync(this.byteOffset, timeout)
    return new SemaphorePermit(this)
  }

  release(count: number = 1): void {
    if (typeof count !== 'number') throw invalidType('count', 'of type number', count)
    if (!Number.isInteger(count) || count < 1 || count > MAX_PERMITS) {
      throw outOfRange('count', `an integer >= 1 and <= ${MAX_PERMITS}`, count)
    }
    const words = this.cell.words(true)
    if (words === undefined) return this.source.native.semaphoreRelease(this.byteOffset, count)
    const index = this.cell.index
    let permits = Atomics.load(words, index)
    for (;;) {
      const next = Math.max(permits, 0) + count
      if (next > MAX_PERMITS) {
        throw outOfRange('count', `at most ${MAX_PERMITS - Math.max(permits, 0)} (the semaphore holds ${permits})`, count)
      }
      const seen = Atomics.compareExchange(words, index, permits, next)
      if (seen === permits) break
      permits = seen
    }
    // Sleepers count themselves in the second word before they sleep: wake only if one does.
    if (Atomics.load(words, index + 1) !== 0) this.source.native.atomicNotify(this.byteOffset, count)
  }

  get value(): number {
    const words = this.cell.words(false)
    if (words !== undefined) return Math.max(Atomics.load(words, this.cell.index), 0)
    return this.source.native.semaphoreValue(this.byteOffset)
  }
}
