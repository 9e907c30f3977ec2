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

/** The Int32Array and index of the 8 bytes' first word, or `undefined`: use the binding. */
function words(source: SyncSource, byteOffset: number, write: boolean): [Int32Array, number] | undefined {
  if (write && !source.writable) return undefined
  const window = source.windows.at(byteOffset, byteOffset + 8)
  if (window === undefined || window.i32 === null) return undefined
  return [window.i32, (byteOffset - window.start) / 4]
}

class MutexHeld implements Held {
  readonly ownerDied: boolean
  readonly #mutex: SharedMutex
  #released = false

  constructor(mutex: SharedMutex, ownerDied: boolean) {
    this.#mutex = mutex
    this.ownerDied = ownerDied
  }

  unlock(): void {
    if (this.#released) return
    this.#mutex.release()
    this.#released = true
  }

  [dispose](): void {
    this.unlock()
  }
}

/** @internal */
export class SharedMutex implements Mutex {
  readonly byteOffset: number
  readonly #source: SyncSource

  constructor(source: SyncSource, byteOffset: number) {
    this.#source = source
    this.byteOffset = byteOffset
  }

  /** The uncontended lock: one compare-exchange from 0 to this thread's token, then the stamp. */
  #take(): boolean {
    const word = words(this.#source, this.byteOffset, true)
    if (word === undefined) return false
    const { token, stamp } = identity()
    if (Atomics.compareExchange(word[0], word[1], 0, token) !== 0) return false
    Atomics.store(word[0], word[1] + 1, stamp)
    return true
  }

  lock(timeoutMs?: number): Held {
    const timeout = toTimeout(timeoutMs)
    if (this.#take()) return new MutexHeld(this, false)
    return new MutexHeld(this, this.#source.native.mutexLock(this.byteOffset, timeout))
  }

  tryLock(): Held | null {
    if (this.#take()) return new MutexHeld(this, false)
    // Held: the binding says by whom (this thread: ERR_MMAP_DEADLOCK) and whether they live.
    const ownerDied = this.#source.native.mutexTryLock(this.byteOffset)
    return ownerDied === null ? null : new MutexHeld(this, ownerDied)
  }

  async lockAsync(timeoutMs?: number): Promise<Held> {
    const timeout = toTimeout(timeoutMs)
    if (this.#take()) return new MutexHeld(this, false)
    return new MutexHeld(this, await this.#source.native.mutexLockAsync(this.byteOffset, timeout))
  }

  get locked(): boolean {
    const word = words(this.#source, this.byteOffset, false)
    if (word !== undefined) return Atomics.load(word[0], word[1]) !== 0
    return this.#source.native.mutexLocked(this.byteOffset)
  }

  /** @internal The uncontended unlock in JavaScript: clear the stamp, then 0 if nobody asked to be woken. */
  release(): void {
    const word = words(this.#source, this.byteOffset, true)
    if (word !== undefined) {
      const { token } = identity()
      if (Atomics.load(word[0], word[1]) === token) {
        Atomics.store(word[0], word[1] + 1, 0)
        if (Atomics.compareExchange(word[0], word[1], token, 0) === token) return
      }
    }
    this.#source.native.mutexUnlock(this.byteOffset)
  }
}

class SemaphorePermit implements Permit {
  readonly #semaphore: SharedSemaphore
  #released = false

  constructor(semaphore: SharedSemaphore) {
    this.#semaphore = semaphore
  }

  release(): void {
    if (this.#released) return
    this.#semaphore.release(1)
    this.#released = true
  }

  [dispose](): void {
    this.release()
  }
}

/** @internal */
export class SharedSemaphore implements Semaphore {
  readonly byteOffset: number
  readonly #source: SyncSource

  constructor(source: SyncSource, byteOffset: number) {
    this.#source = source
    this.byteOffset = byteOffset
  }

  /** Takes a permit if there is one, in JavaScript where the window allows. */
  #take(): boolean {
    const word = words(this.#source, this.byteOffset, true)
    if (word === undefined) return this.#source.native.semaphoreTryAcquire(this.byteOffset)
    let count = Atomics.load(word[0], word[1])
    while (count > 0) {
      const seen = Atomics.compareExchange(word[0], word[1], count, count - 1)
      if (seen === count) return true
      count = seen
    }
    return false
  }

  acquire(timeoutMs?: number): Permit {
    const timeout = toTimeout(timeoutMs)
    if (!this.#take()) this.#source.native.semaphoreAcquire(this.byteOffset, timeout)
    return new SemaphorePermit(this)
  }

  tryAcquire(): Permit | null {
    return this.#take() ? new SemaphorePermit(this) : null
  }

  async acquireAsync(timeoutMs?: number): Promise<Permit> {
    const timeout = toTimeout(timeoutMs)
    if (!this.#take()) await this.#source.native.semaphoreAcquireAsync(this.byteOffset, timeout)
    return new SemaphorePermit(this)
  }

  release(count: number = 1): void {
    if (typeof count !== 'number') throw invalidType('count', 'of type number', count)
    if (!Number.isInteger(count) || count < 1 || count > MAX_PERMITS) {
      throw outOfRange('count', `an integer >= 1 and <= ${MAX_PERMITS}`, count)
    }
    const word = words(this.#source, this.byteOffset, true)
    if (word === undefined) return this.#source.native.semaphoreRelease(this.byteOffset, count)
    let permits = Atomics.load(word[0], word[1])
    for (;;) {
      const next = Math.max(permits, 0) + count
      if (next > MAX_PERMITS) {
        throw outOfRange('count', `at most ${MAX_PERMITS - Math.max(permits, 0)} (the semaphore holds ${permits})`, count)
      }
      const seen = Atomics.compareExchange(word[0], word[1], permits, next)
      if (seen === permits) break
      permits = seen
    }
    // Sleepers count themselves in the second word before they sleep: wake only if one does.
    if (Atomics.load(word[0], word[1] + 1) !== 0) this.#source.native.atomicNotify(this.byteOffset, count)
  }

  get value(): number {
    const word = words(this.#source, this.byteOffset, false)
    if (word !== undefined) return Math.max(Atomics.load(word[0], word[1]), 0)
    return this.#source.native.semaphoreValue(this.byteOffset)
  }
}
