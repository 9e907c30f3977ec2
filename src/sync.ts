// Mutexes and semaphores in 8 bytes of a mapping. The uncontended paths are one compare-exchange
// in JavaScript over the zero-copy window (src/window.ts; docs/atomics.md says why `Atomics` on
// mapped pages are atomic across processes); sleeping, owner death and the refused-Buffer mode
// are the core's (crates/memmap-core/src/sync). The word layout is the core's too: the lock word
// holds the holder's token, the next word its birth stamp.
//
// What only JavaScript can do lives here: a lock word names a *thread*, while a `Held` belongs to
// the call that returned it. So each thread keeps, per lock (per memory, whichever Mapping
// object reaches it), a Gate: whether one of its calls holds it, whether one is acquiring it on a
// thread of the core's, and the queue of its other async calls, served first come first served.

import * as native from '../loader'
import { closed, coded, invalidType, outOfRange, toTimeout } from './args'
import { zeroCopy } from './constants'
import type { Barrier, Condition, Held, Mutex, Permit, RwLock, Semaphore } from './types'
import type { Windows } from './window'

/** The binding's hot calls (`fastFunctions()`), each taking a mapping's slot first. */
type FastFunctions = ReturnType<typeof native.fastFunctions>
/** Made once per thread (each worker loads its own copy of this module), on first use. */
let functions: FastFunctions | undefined

/** @internal The binding's hot calls bound to one mapping: its slot is passed for it. */
export type NativeFast = {
  [K in keyof FastFunctions]: FastFunctions[K] extends (slot: number, ...args: infer A) => infer R ? (...args: A) => R : never
}

/**
 * @internal The hot calls for the mapping registered as `slot`: closures, which V8 inlines, over
 * functions the binding makes once (making them per mapping cost an open ~75 µs).
 */
export function bindFast(slot: number): NativeFast {
  const f = (functions ??= native.fastFunctions())
  return {
    read: (target, position) => f.read(slot, target, position),
    write: (source, position) => f.write(slot, source, position),
    separators: (separator, from, to, out) => f.separators(slot, separator, from, to, out),
    mutexLock: (byteOffset, timeout) => f.mutexLock(slot, byteOffset, timeout),
    mutexTryLock: (byteOffset) => f.mutexTryLock(slot, byteOffset),
    mutexUnlock: (byteOffset) => f.mutexUnlock(slot, byteOffset),
    rwlockRead: (byteOffset, timeout) => f.rwlockRead(slot, byteOffset, timeout),
    rwlockWrite: (byteOffset, timeout) => f.rwlockWrite(slot, byteOffset, timeout),
    rwlockUnlock: (byteOffset, write, abandon) => f.rwlockUnlock(slot, byteOffset, write, abandon),
    semaphoreAcquire: (byteOffset, timeout) => f.semaphoreAcquire(slot, byteOffset, timeout),
    semaphoreRelease: (byteOffset, count) => f.semaphoreRelease(slot, byteOffset, count),
    semaphoreTryAcquire: (byteOffset) => f.semaphoreTryAcquire(slot, byteOffset),
    conditionNotify: (byteOffset, count) => f.conditionNotify(slot, byteOffset, count),
    atomicLoad: (byteOffset) => f.atomicLoad(slot, byteOffset),
    atomicStore: (byteOffset, value) => f.atomicStore(slot, byteOffset, value),
    atomicRmw: (op, byteOffset, value) => f.atomicRmw(slot, op, byteOffset, value),
    atomicCompareExchange: (byteOffset, expected, replacement) => f.atomicCompareExchange(slot, byteOffset, expected, replacement),
    atomicNotify: (byteOffset, count) => f.atomicNotify(slot, byteOffset, count),
  }
}

/** This thread as a lock word names it, asked once (each worker loads its own copy of this module). */
let me: native.NativeIdentity | undefined
const identity = (): native.NativeIdentity => (me ??= native.threadIdentity())
const dispose: typeof Symbol.dispose = Symbol.dispose ?? Symbol.for('nodejs.dispose')
const MAX_PERMITS = 0x7fffffff
/** The longest delay `setTimeout` takes; a longer timeout is no timeout. */
const MAX_TIMER = 0x7fffffff
/**
 * How long this thread's next queued task waits before it competes again, after an unlock that
 * found another thread or process asleep on the word: the sleeper it woke gets the lock first.
 */
const YIELD_MS = 1

/** @internal What a primitive needs of its mapping. */
export interface SyncSource {
  readonly native: native.NativeMapping
  /** The hot calls bound to the mapping: the same as `native`'s, cheaper. */
  readonly fast: NativeFast
  readonly windows: Windows
  /** Whether the pages may be written (mode `'r'` may not: the core then says ERR_MMAP_READ_ONLY). */
  readonly writable: boolean
  /** What names the memory at `byteOffset` for every mapping of it in this process. */
  key(byteOffset: number): string
  /** The calls queued through this mapping: `close()` rejects them. */
  readonly live: Set<Live>
  /** This thread's gates of the locks named through this mapping: `close()` gives up what their holders hold through it. */
  readonly gates: Set<Gate>
}

/** @internal A hold, as its gate keeps it: `close()` of its mapping gives it up. */
export interface Hold extends Live {
  readonly source: SyncSource
}

/** @internal Something `close()` ends: a held lock (abandoned) or a queued call (rejected). */
export interface Live {
  abandon(): void
}

/**
 * @internal `close()` of the mapping `source` is: its queued calls are rejected first (so that no
 * lock given up is handed to one of them), then the locks held through it are given up.
 */
export function giveUp(source: SyncSource): void {
  for (const turn of Array.from(source.live)) turn.abandon()
  for (const gate of source.gates) {
    if (gate.holder?.source === source) gate.holder.abandon()
    for (const read of gate.readers.filter((held) => held.source === source)) read.abandon()
  }
}

/** @internal Checks a primitive's offset: `size` bytes, 8-aligned, inside the mapping. */
export function toSyncOffset(byteOffset: unknown, length: number, size = 8): number {
  if (typeof byteOffset !== 'number') throw invalidType('byteOffset', 'of type number', byteOffset)
  const last = length - size
  if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset > last) {
    const expected =
      last < 0 ? `inside the mapping, but it is shorter than ${size} bytes` : `an integer >= 0 and <= ${last}`
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
  readonly #size: number
  #words: Int32Array | undefined
  index = 0

  constructor(source: SyncSource, byteOffset: number, size: number) {
    this.#source = source
    this.#byteOffset = byteOffset
    this.#size = size
  }

  /** For reading, or (`write`) for changing, where the pages may be written. */
  words(write: boolean): Int32Array | undefined {
    // Refused zero-copy (Electron): no window is ever made, so none is looked for.
    if (!zeroCopy || (write && !this.#source.writable)) return undefined
    if (this.#words === undefined || this.#words.length === 0) {
      const window = this.#source.windows.at(this.#byteOffset, this.#byteOffset + this.#size)
      if (window === undefined || window.i32 === null) return undefined
      this.#words = window.i32
      this.index = (this.#byteOffset - window.start) / 4
    }
    return this.#words
  }
}

/** The primitive a queued call came through, which acquires for it when its turn comes. */
interface Via<T> {
  /** The turn came: acquire for it (or, `held`: this thread holds the lock now, grant it). */
  start(turn: Turn<T>, held: boolean): void
}

/** One queued async call: settled when its turn comes, or by its timeout, or by `close()`. */
class Turn<T> implements Live {
  readonly via: Via<T>
  readonly deadline: number
  readonly #source: SyncSource
  readonly #gate: Gate
  readonly #resolve: (value: T) => void
  readonly #reject: (error: unknown) => void
  readonly #timer: ReturnType<typeof setTimeout> | undefined
  readonly promise: Promise<T>

  constructor(via: Via<T>, gate: Gate, source: SyncSource, timeoutMs: number, timeout: () => Error) {
    this.via = via
    this.#gate = gate
    this.#source = source
    this.deadline = Date.now() + timeoutMs
    let resolve!: (value: T) => void
    let reject!: (error: unknown) => void
    this.promise = new Promise<T>((yes, no) => {
      resolve = yes
      reject = no
    })
    this.#resolve = resolve
    this.#reject = reject
    if (timeoutMs <= MAX_TIMER) {
      this.#timer = setTimeout(() => this.#leave(timeout()), timeoutMs)
    }
    gate.queue.push(this as Turn<unknown>)
    source.live.add(this)
  }

  /** Its turn came (it is out of the queue): its acquisition now keeps its own timeout. */
  dequeued(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
  }

  /** What is left of the timeout, in milliseconds (`Infinity` for none). */
  get left(): number {
    return this.#timer === undefined ? Infinity : Math.max(this.deadline - Date.now(), 0)
  }

  /** Whether its mapping was closed: its turn then never comes. */
  get gone(): boolean {
    return !this.#source.live.has(this)
  }

  /** Its turn came: the caller settles it (once dequeued it is no longer on the timer). */
  settle(value: T | undefined, error?: unknown): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#source.live.delete(this)
    if (error === undefined) this.#resolve(value as T)
    else this.#reject(error)
  }

  #leave(error: unknown): void {
    const at = this.#gate.queue.indexOf(this as Turn<unknown>)
    if (at >= 0) this.#gate.queue.splice(at, 1)
    this.settle(undefined, error)
  }

  /** `close()`: out of the queue, rejected with ERR_MMAP_CLOSED. */
  abandon(): void {
    this.#leave(closed('The mapping was closed while this call waited for its turn'))
  }
}

/** @internal One thread's own acquisitions of one lock (see the module comment). */
export class Gate {
  /** One of this thread's calls holds it. */
  held = false
  /** That call's hold (a mutex's, or a rwlock's write lock). */
  holder: Hold | undefined
  /** This thread's read shares of a rwlock. */
  readonly readers: Hold[] = []
  /** One of this thread's calls is acquiring it on a thread of the core's. */
  pending = false
  /** The others, first come first served. */
  readonly queue: Turn<unknown>[] = []

  /** Whether this thread has it or wants it: a new call queues behind. */
  get busy(): boolean {
    return this.held || this.pending || this.queue.length > 0
  }

  /** The next queued call whose mapping is still open. */
  next(): Turn<unknown> | undefined {
    let turn = this.queue.shift()
    while (turn?.gone) turn = this.queue.shift()
    turn?.dequeued()
    return turn
  }
}

/** Hands over what an acquisition got, or why it failed (`error` not undefined). */
type Settle<T> = (value: T | undefined, error?: unknown) => void

/** A promise settled by what `start` hands to its `Settle`. */
function promised<T>(start: (settle: Settle<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    start((value, error) => (error === undefined ? resolve(value as T) : reject(error)))
  })
}

/**
 * Every Gate of this thread, by kind and memory, held weakly: a gate lives while a primitive, a
 * Held or a queued call reaches it (each does, through its primitive), and one nothing reaches is
 * idle, so forgetting it loses nothing. A program that makes locks over many short-lived
 * mappings keeps no record of the ones it dropped.
 */
const gates = new Map<string, WeakRef<Gate>>()
const forget = new FinalizationRegistry<string>((key) => {
  if (gates.get(key)?.deref() === undefined) gates.delete(key)
})
function gateOf(key: string): Gate {
  let gate = gates.get(key)?.deref()
  if (gate === undefined) {
    gate = new Gate()
    gates.set(key, new WeakRef(gate))
    forget.register(gate, key)
  }
  return gate
}

const timedOut = (what: 'lock' | 'acquire', kind: string, byteOffset: number) => (): Error =>
  coded(
    new Error(`${what}() timed out: the ${kind} at byte offset ${byteOffset} was not available in time`),
    'ERR_MMAP_TIMEOUT',
  )

/** What a primitive shares: its 8 bytes, its mapping and this thread's gate for it. */
class Primitive {
  readonly byteOffset: number
  protected readonly source: SyncSource
  protected readonly cell: Cell
  protected readonly gate: Gate

  constructor(source: SyncSource, byteOffset: number, kind: string, size = 8) {
    this.source = source
    this.cell = new Cell(source, byteOffset, size)
    this.byteOffset = byteOffset
    this.gate = gateOf(`${kind} ${source.key(byteOffset)}`)
    source.gates.add(this.gate)
  }
}

/** A held mutex: gives the lock back once, then does nothing. */
class MutexHeld implements Held, Hold {
  readonly source: SyncSource
  readonly #mutex: SharedMutex
  #ownerDied: boolean
  #given = false

  constructor(mutex: SharedMutex, source: SyncSource, ownerDied: boolean) {
    this.#mutex = mutex
    this.source = source
    this.#ownerDied = ownerDied
  }

  get ownerDied(): boolean {
    return this.#ownerDied
  }

  /** @internal The mutex this holds, while it holds it (`undefined` once given back). */
  get mutex(): SharedMutex | undefined {
    return this.#given ? undefined : this.#mutex
  }

  /**
   * @internal A condition's wait locked the mutex again: `ownerDied` as that lock says; `from`
   * (an async wait's new Held) is folded into this one, which holds the lock again.
   */
  relocked(ownerDied: boolean, from?: MutexHeld): void {
    this.#ownerDied = ownerDied
    if (from === undefined) return
    from.#given = true
    this.#mutex.adopt(from, this)
    this.#given = false
  }

  /** @internal Given back by a condition's async wait, to be locked again through `relocked`. */
  suspend(): void {
    if (this.#given) return
    this.#given = true
    this.#mutex.release(this, false)
  }

  unlock(): void {
    if (this.#given) return
    this.#given = true
    this.#mutex.release(this, false)
  }

  /** `close()` of the mapping it was locked through: the next holder sees `ownerDied`. */
  abandon(): void {
    if (this.#given) return
    this.#given = true
    this.#mutex.release(this, true)
  }

  [dispose](): void {
    this.unlock()
  }
}

/** @internal */
export class SharedMutex extends Primitive implements Mutex, Via<Held> {
  constructor(source: SyncSource, byteOffset: number) {
    super(source, byteOffset, 'mutex')
  }

  /** @internal The mapping's binding, for a condition that waits with this mutex. */
  get native(): native.NativeMapping {
    return this.source.native
  }

  /**
   * The uncontended lock: one compare-exchange from 0 to this thread's token, then the stamp. The
   * stamp is a plain store: the compare-exchange before it is a full barrier, and a waiter that
   * reads the token before the stamp lands reads 0, "not yet written", which it never judges
   * before a whole slice.
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

  /** @internal `to` now holds what `from` held (a condition's async wait, locked again). */
  adopt(from: MutexHeld, to: MutexHeld): void {
    if (this.gate.holder === from) this.gate.holder = to
  }

  /** A `Held` for a call of this thread, which now holds the lock. */
  #grant(ownerDied: boolean): MutexHeld {
    const held = new MutexHeld(this, this.source, ownerDied)
    this.gate.held = true
    this.gate.holder = held
    return held
  }

  lock(timeoutMs?: number): Held {
    const timeout = toTimeout(timeoutMs)
    if (this.gate.held || this.gate.pending) throw this.#deadlock()
    if (this.#take() || this.#watch()) return this.#grant(false)
    return this.#grant(this.source.fast.mutexLock(this.byteOffset, timeout))
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
    if (this.gate.busy) {
      // Held or wanted by this thread: busy, as for anyone else (a closed mapping still says so).
      this.source.native.mutexLocked(this.byteOffset)
      return null
    }
    if (this.#take()) return this.#grant(false)
    const ownerDied = this.source.fast.mutexTryLock(this.byteOffset)
    return ownerDied === null ? null : this.#grant(ownerDied)
  }

  lockAsync(timeoutMs?: number): Promise<Held> {
    try {
      const timeout = toTimeout(timeoutMs)
      // Fails now on a closed mapping, like every other call.
      if (this.gate.busy) {
        this.source.native.mutexLocked(this.byteOffset)
        return new Turn<Held>(this, this.gate, this.source, timeout, timedOut('lock', 'mutex', this.byteOffset)).promise
      }
      if (this.#take()) return Promise.resolve(this.#grant(false))
      return promised((settle) => this.#acquire(timeout, settle))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * Locks on a thread of the core's, in this thread's name, and hands the result to `settle`;
   * this thread's later calls queue behind meanwhile, and the next is served after a failure.
   */
  #acquire(timeout: number, settle: Settle<MutexHeld>): void {
    this.gate.pending = true
    const failed = (error: unknown): void => {
      this.gate.pending = false
      settle(undefined, error)
      this.#serve(false)
    }
    let locking: Promise<boolean>
    try {
      locking = this.source.native.mutexLockAsync(this.byteOffset, timeout)
    } catch (error) {
      return failed(error)
    }
    locking.then((ownerDied) => {
      this.gate.pending = false
      settle(this.#grant(ownerDied))
    }, failed)
  }

  /** Starts the next queued call's acquisition; `yieldFirst`: after giving others a turn. */
  #serve(yieldFirst: boolean): void {
    const turn = this.gate.next() as Turn<Held> | undefined
    if (turn === undefined) return
    if (!yieldFirst) return turn.via.start(turn, false)
    // Others sleep on the word: the one woken gets it first. Meanwhile this thread still wants
    // it, so new calls queue behind this one.
    this.gate.pending = true
    setTimeout(() => {
      this.gate.pending = false
      if (turn.gone) this.#serve(false)
      else turn.via.start(turn, false)
    }, YIELD_MS)
  }

  /** @internal A queued call's turn, through this mutex's mapping. */
  start(turn: Turn<Held>, held: boolean): void {
    if (held) return turn.settle(this.#grant(false))
    this.#acquire(turn.left, (granted, error) => turn.settle(granted, error))
  }

  /**
   * @internal `held` gives the lock back (`abandon`: without unlocking, at `close()`). A queued
   * call of this thread gets it at once while nobody else sleeps on the word (the word still
   * names this thread: nothing to write); otherwise the word is released, the sleeper woken, and
   * the queued call competes again after it.
   */
  release(held: MutexHeld, abandon: boolean): void {
    const gate = this.gate
    if (gate.holder === held) gate.holder = undefined
    gate.held = false
    // The common case: nobody of this thread queued behind.
    if (!abandon && gate.queue.length === 0) return this.#unlock()
    if (!abandon && !this.#othersWait()) {
      const turn = this.gate.next() as Turn<Held> | undefined
      if (turn !== undefined) return turn.via.start(turn, true)
    }
    try {
      if (abandon) this.source.native.mutexAbandon(this.byteOffset)
      else this.#unlock()
    } finally {
      this.#serve(!abandon)
    }
  }

  /** Whether the word says another thread or process may sleep on it (its waiters bit). */
  #othersWait(): boolean {
    const words = this.cell.words(false)
    if (words === undefined) return true
    return Atomics.load(words, this.cell.index) < 0
  }

  /**
   * The uncontended unlock in JavaScript: clear the stamp, then 0 if nobody asked to be woken.
   * The stamp's plain store lands before the compare-exchange that releases (x64 keeps stores in
   * order; on arm64 the release is a store-release), so no next holder's token is ever seen next
   * to this thread's stamp.
   */
  #unlock(): void {
    const words = this.cell.words(true)
    if (words !== undefined) {
      const { token } = me ?? identity()
      const index = this.cell.index
      if (words[index] === token) {
        words[index + 1] = 0
        if (Atomics.compareExchange(words, index, token, 0) === token) return
      }
    }
    this.source.fast.mutexUnlock(this.byteOffset)
  }

  get locked(): boolean {
    const words = this.cell.words(false)
    if (words !== undefined) {
      const word = Atomics.load(words, this.cell.index)
      return word !== 0 && (word & 0x7fffffff) !== 0x7fffffff
    }
    return this.source.native.mutexLocked(this.byteOffset)
  }

  #deadlock(): Error {
    // On a closed mapping that is the error, as for every call.
    this.source.native.mutexLocked(this.byteOffset)
    return coded(
      new Error(
        `This thread already holds (or is acquiring) the mutex at byte offset ${this.byteOffset}: ` +
          'a blocking lock() would wait for ever (mutexes are not recursive). Use lockAsync() to ' +
          'queue behind it, or tryLock()',
      ),
      'ERR_MMAP_DEADLOCK',
    )
  }
}

/** One taken permit: gives it back once, then does nothing. */
class SemaphorePermit implements Permit {
  readonly #semaphore: SharedSemaphore
  #given = false

  constructor(semaphore: SharedSemaphore) {
    this.#semaphore = semaphore
  }

  release(): void {
    if (this.#given) return
    this.#semaphore.release(1)
    this.#given = true
  }

  [dispose](): void {
    this.release()
  }
}

/** @internal */
export class SharedSemaphore extends Primitive implements Semaphore, Via<Permit> {
  constructor(source: SyncSource, byteOffset: number) {
    super(source, byteOffset, 'semaphore')
  }

  /** Takes a permit if there is one, in JavaScript where the window allows. */
  #take(): boolean {
    const words = this.cell.words(true)
    if (words === undefined) return this.source.fast.semaphoreTryAcquire(this.byteOffset)
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
    if (!this.#take()) this.source.fast.semaphoreAcquire(this.byteOffset, timeout)
    return new SemaphorePermit(this)
  }

  tryAcquire(): Permit | null {
    return this.#take() ? new SemaphorePermit(this) : null
  }

  acquireAsync(timeoutMs?: number): Promise<Permit> {
    try {
      const timeout = toTimeout(timeoutMs)
      // Behind this thread's earlier calls, first come first served.
      if (this.gate.busy) {
        this.source.native.semaphoreValue(this.byteOffset)
        const timeoutError = timedOut('acquire', 'semaphore', this.byteOffset)
        return new Turn<Permit>(this, this.gate, this.source, timeout, timeoutError).promise
      }
      if (this.#take()) return Promise.resolve(new SemaphorePermit(this))
      return promised((settle) => this.#acquire(timeout, settle))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * Waits for a permit on a thread of the core's and hands it to `settle`, then serves this
   * thread's next queued call (which waited behind it).
   */
  #acquire(timeout: number, settle: Settle<Permit>): void {
    this.gate.pending = true
    const settled = (permit: Permit | undefined, error?: unknown): void => {
      this.gate.pending = false
      settle(permit, error)
      this.#serve()
    }
    let acquiring: Promise<void>
    try {
      acquiring = this.source.native.semaphoreAcquireAsync(this.byteOffset, timeout)
    } catch (error) {
      return settled(undefined, error)
    }
    acquiring.then(
      () => settled(new SemaphorePermit(this)),
      (error: unknown) => settled(undefined, error),
    )
  }

  /** Gives queued calls the permits there are, in order; the first without one waits for it. */
  #serve(): void {
    if (this.gate.pending) return
    const turn = this.gate.next() as Turn<Permit> | undefined
    if (turn !== undefined) turn.via.start(turn, false)
  }

  /** @internal A queued call's turn, through this semaphore's mapping. */
  start(turn: Turn<Permit>): void {
    let taken: boolean
    try {
      taken = this.#take()
    } catch (error) {
      turn.settle(undefined, error)
      return this.#serve()
    }
    if (!taken) return this.#acquire(turn.left, (permit, error) => turn.settle(permit, error))
    turn.settle(new SemaphorePermit(this))
    this.#serve()
  }

  release(count: number = 1): void {
    if (typeof count !== 'number') throw invalidType('count', 'of type number', count)
    if (!Number.isInteger(count) || count < 1 || count > MAX_PERMITS) {
      throw outOfRange('count', `an integer >= 1 and <= ${MAX_PERMITS}`, count)
    }
    const words = this.cell.words(true)
    if (words === undefined) return this.source.fast.semaphoreRelease(this.byteOffset, count)
    const index = this.cell.index
    let permits = Atomics.load(words, index)
    for (;;) {
      const held = Math.max(permits, 0)
      if (held + count > MAX_PERMITS) {
        throw outOfRange(
          'count',
          `<= ${MAX_PERMITS - held} (the semaphore at byte offset ${this.byteOffset} holds ${held} of at most ${MAX_PERMITS} permits)`,
          count,
        )
      }
      const seen = Atomics.compareExchange(words, index, permits, held + count)
      if (seen === permits) break
      permits = seen
    }
    // Sleepers count themselves in the second word before they sleep: wake only if one does.
    if (Atomics.load(words, index + 1) !== 0) this.source.fast.atomicNotify(this.byteOffset, count)
    // This thread's queued calls may take what was just added.
    if (!this.gate.pending && this.gate.queue.length > 0) this.#serve()
  }

  get value(): number {
    const words = this.cell.words(false)
    if (words !== undefined) return Math.max(Atomics.load(words, this.cell.index), 0)
    return this.source.native.semaphoreValue(this.byteOffset)
  }
}

/** The reader-writer lock's size and layout (crates/memmap-core/src/sync/rwlock.rs). */
export const RWLOCK_SIZE = 256
const SLOTS = 30
/** Word indexes from the lock's first word. */
const DEPARTURES = 2
const SLEEPERS = 3
const FIRST_SLOT = 4

/** A held read share or write lock: gives it back once, then does nothing. */
class RwHeld implements Held, Hold {
  readonly ownerDied: boolean
  readonly source: SyncSource
  readonly #lock: SharedRwLock
  readonly #write: boolean
  #given = false

  constructor(lock: SharedRwLock, source: SyncSource, write: boolean, ownerDied: boolean) {
    this.#lock = lock
    this.source = source
    this.#write = write
    this.ownerDied = ownerDied
  }

  unlock(): void {
    if (this.#given) return
    this.#given = true
    this.#lock.release(this, this.#write, false)
  }

  abandon(): void {
    if (this.#given) return
    this.#given = true
    this.#lock.release(this, this.#write, true)
  }

  [dispose](): void {
    this.unlock()
  }
}

/** A queued rwlock call: which side it wants. */
interface RwWant {
  write: boolean
}

/**
 * @internal The gate of a rwlock counts this thread's read shares (one slot in the bytes for all
 * of them) and whether it writes. A thread's own read calls share its slot while no writer waits;
 * its queued calls are served in order, a run of reads together.
 */
export class SharedRwLock extends Primitive implements RwLock, Via<Held> {
  /** This thread's read shares (its slot is taken while there is one). */
  #reads: RwGate

  constructor(source: SyncSource, byteOffset: number) {
    super(source, byteOffset, 'rwlock', RWLOCK_SIZE)
    this.#reads = rwGateOf(this.gate)
  }

  #slotIndex(token: number): number {
    return this.cell.index + FIRST_SLOT + (token % SLOTS) * 2
  }

  /** The uncontended read: claim this thread's first slot while no writer holds or waits. */
  #takeRead(): boolean {
    const words = this.cell.words(true)
    if (words === undefined) return false
    const index = this.cell.index
    if (Atomics.load(words, index) !== 0) return false
    const id = me ?? identity()
    const slot = this.#slotIndex(id.token)
    if (Atomics.compareExchange(words, slot, 0, id.token) !== 0) return false
    words[slot + 1] = id.stamp
    if (Atomics.load(words, index) === 0) return true
    // A writer came meanwhile: it goes first.
    this.#leaveSlot(words, slot)
    return false
  }

  /**
   * Gives the slot back. A departure is counted only for who may sleep on it: a writer (its word
   * is set before it scans the slots) or a reader waiting for a slot (counted among the sleepers
   * before it scans): crates/memmap-core/src/sync/rwlock.rs, "Read release".
   */
  #leaveSlot(words: Int32Array, slot: number): void {
    const { token } = me ?? identity()
    const index = this.cell.index
    words[slot + 1] = 0
    Atomics.compareExchange(words, slot, token, 0)
    if (Atomics.load(words, index) === 0 && Atomics.load(words, index + SLEEPERS) === 0) return
    Atomics.add(words, index + DEPARTURES, 1)
    if (Atomics.load(words, index + SLEEPERS) !== 0) {
      this.source.fast.atomicNotify(this.byteOffset + DEPARTURES * 4, Infinity)
    }
  }

  /** The uncontended write: the writer word from 0, and no slot taken. */
  #takeWrite(): boolean {
    const words = this.cell.words(true)
    if (words === undefined) return false
    const id = me ?? identity()
    const index = this.cell.index
    if (Atomics.compareExchange(words, index, 0, id.token) !== 0) return false
    words[index + 1] = id.stamp
    for (let slot = index + FIRST_SLOT; slot < index + FIRST_SLOT + SLOTS * 2; slot += 2) {
      if (Atomics.load(words, slot) !== 0) {
        // Readers: let the word go again, and wait for them in the core.
        this.#unlockWrite()
        return false
      }
    }
    return true
  }

  #unlockWrite(): void {
    const words = this.cell.words(true)
    if (words !== undefined) {
      const { token } = me ?? identity()
      const index = this.cell.index
      if (words[index] === token) {
        words[index + 1] = 0
        if (Atomics.compareExchange(words, index, token, 0) === token) return
      }
    }
    this.source.fast.rwlockUnlock(this.byteOffset, true, false)
  }

  #unlockRead(): void {
    const words = this.cell.words(true)
    if (words !== undefined) {
      const { token } = me ?? identity()
      const slot = this.#slotIndex(token)
      if (Atomics.load(words, slot) === token) return this.#leaveSlot(words, slot)
    }
    this.source.fast.rwlockUnlock(this.byteOffset, false, false)
  }

  /** Whether a writer holds or waits (the writer word is not 0). */
  #writerThere(): boolean {
    const words = this.cell.words(false)
    if (words !== undefined) return Atomics.load(words, this.cell.index) !== 0
    return this.source.native.rwlockState(this.byteOffset)[1]
  }

  #grant(write: boolean, ownerDied: boolean): RwHeld {
    const held = new RwHeld(this, this.source, write, ownerDied)
    if (write) {
      this.gate.held = true
      this.gate.holder = held
    } else {
      this.#reads.count++
      this.gate.readers.push(held)
    }
    return held
  }

  #deadlock(what: string): Error {
    this.source.native.rwlockState(this.byteOffset)
    return coded(
      new Error(
        `This thread already holds (or is acquiring) the reader-writer lock at byte offset ${this.byteOffset}` +
          `: a blocking ${what}() would wait for ever. Use ${what}Async() to queue behind it, or try${what === 'read' ? 'Read' : 'Write'}()`,
      ),
      'ERR_MMAP_DEADLOCK',
    )
  }

  read(timeoutMs?: number): Held {
    const timeout = toTimeout(timeoutMs)
    if (this.gate.held || this.gate.pending) throw this.#deadlock('read')
    if (this.#reads.count > 0) {
      // This thread's slot is taken: share it, unless a writer waits (it waits for this share).
      if (this.#writerThere()) throw this.#deadlock('read')
      return this.#grant(false, false)
    }
    if (this.#takeRead()) return this.#grant(false, false)
    return this.#grant(false, this.source.fast.rwlockRead(this.byteOffset, timeout))
  }

  tryRead(): Held | null {
    if (this.gate.held || this.gate.pending || this.gate.queue.length > 0) {
      this.source.native.rwlockState(this.byteOffset)
      return null
    }
    if (this.#reads.count > 0) return this.#writerThere() ? null : this.#grant(false, false)
    if (this.#takeRead()) return this.#grant(false, false)
    const ownerDied = this.source.native.rwlockTry(this.byteOffset, false)
    return ownerDied === null ? null : this.#grant(false, ownerDied)
  }

  write(timeoutMs?: number): Held {
    const timeout = toTimeout(timeoutMs)
    if (this.gate.held || this.gate.pending || this.#reads.count > 0) throw this.#deadlock('write')
    if (this.#takeWrite()) return this.#grant(true, false)
    return this.#grant(true, this.source.fast.rwlockWrite(this.byteOffset, timeout))
  }

  tryWrite(): Held | null {
    if (this.gate.busy || this.#reads.count > 0) {
      this.source.native.rwlockState(this.byteOffset)
      return null
    }
    if (this.#takeWrite()) return this.#grant(true, false)
    const ownerDied = this.source.native.rwlockTry(this.byteOffset, true)
    return ownerDied === null ? null : this.#grant(true, ownerDied)
  }

  readAsync(timeoutMs?: number): Promise<Held> {
    return this.#async(false, timeoutMs)
  }

  writeAsync(timeoutMs?: number): Promise<Held> {
    return this.#async(true, timeoutMs)
  }

  #async(write: boolean, timeoutMs: unknown): Promise<Held> {
    try {
      const timeout = toTimeout(timeoutMs)
      const queued = this.gate.busy || (write && this.#reads.count > 0)
      if (!queued && !write && this.#reads.count > 0 && !this.#writerThere()) {
        return Promise.resolve(this.#grant(false, false))
      }
      if (queued || (!write && this.#reads.count > 0)) {
        this.source.native.rwlockState(this.byteOffset)
        const what = write ? 'write' : 'read'
        const turn = new Turn<Held>(this, this.gate, this.source, timeout, timedOutRw(what, this.byteOffset))
        this.#reads.wants.set(turn as Turn<unknown>, { write })
        return turn.promise
      }
      if (write ? this.#takeWrite() : this.#takeRead()) return Promise.resolve(this.#grant(write, false))
      return promised((settle) => this.#acquire(write, timeout, settle))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** Acquires on a thread of the core's, in this thread's name; this thread's later calls queue. */
  #acquire(write: boolean, timeout: number, settle: Settle<RwHeld>): void {
    this.gate.pending = true
    const failed = (error: unknown): void => {
      this.gate.pending = false
      settle(undefined, error)
      this.#serve(false)
    }
    let acquiring: Promise<boolean>
    try {
      acquiring = this.source.native.rwlockAsync(this.byteOffset, write, timeout)
    } catch (error) {
      return failed(error)
    }
    acquiring.then((ownerDied) => {
      this.gate.pending = false
      settle(this.#grant(write, ownerDied))
      this.#serve(false)
    }, failed)
  }

  /** Serves this thread's queued calls in order, as far as they can go now. */
  #serve(yieldFirst: boolean): void {
    if (this.gate.pending || this.gate.held) return
    const head = this.gate.queue[0] as Turn<Held> | undefined
    if (head === undefined) return
    if (head.gone) {
      this.gate.next()
      return this.#serve(yieldFirst)
    }
    const want = this.#reads.wants.get(head as Turn<unknown>) ?? { write: false }
    if (this.#reads.count > 0) {
      // Reads share this thread's slot while no writer waits; a write waits for them to end.
      if (want.write || this.#writerThere()) return
      this.gate.next()
      this.#reads.wants.delete(head as Turn<unknown>)
      head.via.start(head, true)
      return this.#serve(false)
    }
    this.gate.next()
    this.#reads.wants.delete(head as Turn<unknown>)
    if (!yieldFirst) return (head.via as SharedRwLock).#begin(head, want.write)
    this.gate.pending = true
    setTimeout(() => {
      this.gate.pending = false
      if (head.gone) this.#serve(false)
      else (head.via as SharedRwLock).#begin(head, want.write)
    }, YIELD_MS)
  }

  #begin(turn: Turn<Held>, write: boolean): void {
    if (write ? this.#takeWrite() : this.#takeRead()) {
      turn.settle(this.#grant(write, false))
      return this.#serve(false)
    }
    this.#acquire(write, turn.left, (held, error) => turn.settle(held, error))
  }

  /** @internal A queued read's turn: it shares this thread's slot (`held`). */
  start(turn: Turn<Held>, held: boolean): void {
    if (held) turn.settle(this.#grant(false, false))
  }

  /** @internal `held` gives back a read share or the write lock (`abandon`: at `close()`). */
  release(held: RwHeld, write: boolean, abandon: boolean): void {
    const gate = this.gate
    let othersWaited = false
    try {
      if (write) {
        if (gate.holder === held) gate.holder = undefined
        gate.held = false
        othersWaited = this.#othersWait()
        if (abandon) this.source.fast.rwlockUnlock(this.byteOffset, true, true)
        else this.#unlockWrite()
      } else {
        const readers = gate.readers
        if (readers[readers.length - 1] === held) readers.pop()
        else if (readers.includes(held)) readers.splice(readers.indexOf(held), 1)
        // This thread's slot stays while it has another share.
        if (--this.#reads.count > 0) return
        if (abandon) this.source.fast.rwlockUnlock(this.byteOffset, false, true)
        else this.#unlockRead()
      }
    } finally {
      if (gate.queue.length > 0) this.#serve(othersWaited)
    }
  }

  #othersWait(): boolean {
    const words = this.cell.words(false)
    if (words === undefined) return true
    return Atomics.load(words, this.cell.index) < 0
  }

  get readers(): number {
    return this.source.native.rwlockState(this.byteOffset)[0]
  }

  get writing(): boolean {
    return this.source.native.rwlockState(this.byteOffset)[1]
  }
}

/** What a rwlock's gate adds to a Gate: this thread's read shares and what each queued call wants. */
interface RwGate {
  count: number
  readonly wants: Map<Turn<unknown>, RwWant>
}
const rwGates = new WeakMap<Gate, RwGate>()
function rwGateOf(gate: Gate): RwGate {
  let rw = rwGates.get(gate)
  if (rw === undefined) rwGates.set(gate, (rw = { count: 0, wants: new Map() }))
  return rw
}

const timedOutRw = (what: 'read' | 'write', byteOffset: number) => (): Error =>
  coded(
    new Error(`${what}() timed out: the reader-writer lock at byte offset ${byteOffset} was not available in time`),
    'ERR_MMAP_TIMEOUT',
  )

/** @internal A condition variable: 8 bytes, the sequence and the count of waiters. */
export class SharedCondition extends Primitive implements Condition {
  constructor(source: SyncSource, byteOffset: number) {
    super(source, byteOffset, 'condition')
  }

  /** The mutex `held` holds, or the error a wrong argument is. */
  #mutexOf(held: unknown): [MutexHeld, SharedMutex] {
    if (!(held instanceof MutexHeld)) throw invalidType('held', "a mutex's Held", held)
    const mutex = held.mutex
    if (mutex === undefined) {
      throw coded(new Error('The mutex is not held: wait() takes the Held of a mutex this call holds'), 'ERR_MMAP_NOT_OWNER')
    }
    return [held, mutex]
  }

  wait(held: Held, timeoutMs?: number): boolean {
    const [mine, mutex] = this.#mutexOf(held)
    const timeout = toTimeout(timeoutMs)
    // The whole wait runs in the core: this thread is blocked, so its gate stays as it is.
    const [notified, ownerDied] = this.source.native.conditionWait(
      this.byteOffset,
      mutex.native,
      mutex.byteOffset,
      timeout,
    )
    mine.relocked(ownerDied)
    return notified
  }

  async waitAsync(held: Held, timeoutMs?: number): Promise<boolean> {
    const [mine, mutex] = this.#mutexOf(held)
    const timeout = toTimeout(timeoutMs)
    const deadline = Date.now() + timeout
    const binding = this.source.native
    let seen = binding.conditionEnter(this.byteOffset)
    let notified = false
    try {
      mine.suspend()
      // Until this waiter takes a signal (another may take the one a wake-up was for) or times out.
      for (;;) {
        const left = Math.max(deadline - Date.now(), 0)
        const slept = await binding.atomicWaitAsync(this.byteOffset, seen | 0, left)
        const [state, sequence] = binding.conditionClaim(this.byteOffset, slept === 'timed-out')
        if (state !== 2) {
          notified = state === 1
          break
        }
        seen = sequence
      }
    } catch (error) {
      try {
        binding.conditionClaim(this.byteOffset, true)
      } catch {
        // Closed meanwhile: the count stays, as for a waiter that died.
      }
      throw error
    }
    const again = (await mutex.lockAsync()) as MutexHeld
    mine.relocked(again.ownerDied, again)
    return notified
  }

  notify(count: number = 1): number {
    if (typeof count !== 'number') throw invalidType('count', 'of type number', count)
    if (Number.isNaN(count) || count < 0) throw outOfRange('count', '>= 0', count)
    // Nobody waits: one load, no system call.
    const words = this.cell.words(true)
    if (words !== undefined && Atomics.load(words, this.cell.index + 1) === 0) return 0
    return this.source.fast.conditionNotify(this.byteOffset, Math.floor(count))
  }

  notifyAll(): number {
    return this.notify(Infinity)
  }
}

/** @internal A barrier: 16 bytes (crates/memmap-core/src/sync/barrier.rs). */
export class SharedBarrier extends Primitive implements Barrier {
  readonly parties: number

  constructor(source: SyncSource, byteOffset: number, parties: number) {
    super(source, byteOffset, 'barrier', 16)
    this.parties = parties
  }

  wait(timeoutMs?: number): number {
    return this.source.native.barrierWait(this.byteOffset, this.parties, toTimeout(timeoutMs))
  }

  waitAsync(timeoutMs?: number): Promise<number> {
    try {
      return this.source.native.barrierWaitAsync(this.byteOffset, this.parties, toTimeout(timeoutMs))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  reset(): void {
    this.source.native.barrierReset(this.byteOffset)
  }
}
