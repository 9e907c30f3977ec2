// The public types: what programs that use memmap name in their own code. Mode, Kind and Advice
// are the binding's string enums (binding.d.ts), so the unions have one source.

import type * as native from '../loader'

/** How a file is opened: the `fs` flags a Node.js user knows (the binding's string enum). */
export type Mode = native.NativeMode

/** What a mapping maps. */
export type Kind = native.NativeKind

export interface OpenOptions {
  /**
   * `'r'` (default): read-only file, private copy-on-write pages. `'r+'`: shared pages that reach the file.
   * `'w+'`: create or truncate to `size`. `'c'`: read-only file, private copy-on-write pages that
   * `write()`, the atomics and the locks may change too; nothing reaches the file, `flush()` does nothing.
   */
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

/** Options of `createShared()`. */
export interface CreateSharedOptions {
  /** Fail with `EEXIST` if the name exists already, instead of opening it (default `false`). */
  exclusive?: boolean
}

/** Options of `openShared()`. */
export interface OpenSharedOptions {
  /** Private copy-on-write pages: writes stay in this process; `write()` and the atomics that write throw `ERR_MMAP_READ_ONLY`. */
  readOnly?: boolean
}

/** Options of `flush()`. */
export interface FlushOptions {
  /** `false`: start writing back and return at once (`MS_ASYNC`); nothing is durable yet. Default `true`. */
  durable?: boolean
}

/** Options of `createReadStream()`. */
export interface ReadStreamOptions {
  /** First byte (default 0). */
  start?: number
  /** End of the range, exclusive (default: the mapping's length). */
  end?: number
  /** Bytes per chunk (default 64 KiB). */
  highWaterMark?: number
  /** Chunks as strings in this encoding (`stream.setEncoding`), as `fs.createReadStream` takes it. */
  encoding?: BufferEncoding | null
}

/** What `lines()` takes. */
export interface LinesOptions {
  /** First byte (default 0). */
  start?: number
  /** End of the range, exclusive (default, or `Infinity`: the mapping's length). */
  end?: number
  /** What ends a record (default `'\n'`, and then a `'\r'` before it is dropped too): a string's UTF-8 bytes, a byte, or bytes. */
  separator?: string | number | Uint8Array
  /** Records as strings in this encoding instead of Buffers. */
  encoding?: BufferEncoding | null
}

/** A typed array class `array()` makes views of. */
export type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array

/** The constructor of a `TypedArray`, as `array()` takes it. */
export interface TypedArrayConstructor<T extends TypedArray> {
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): T
  readonly BYTES_PER_ELEMENT: number
}

/** A bounded search, in `indexOf()`'s offset place: matches that lie wholly in `[start, end)` (`Buffer#subarray`'s rules). */
export interface SearchRange {
  start?: number
  end?: number
  /** The string value's encoding (as the third argument would give it). */
  encoding?: BufferEncoding
}

/** What `indexOf()`, `lastIndexOf()` and `includes()` look for: bytes, a string's bytes, or one byte. */
export type SearchValue = string | Uint8Array | number

/** What `advise()` tells the OS about how a range will be used (the binding's string enum). */
export type Advice = native.NativeAdvice

/** What `residency()` reports: the pages overlapping the range, and how many of them are in RAM. */
export interface Residency {
  pages: number
  resident: number
}

/** What `atomics.wait()` returns and `atomics.waitAsync()` resolves to, as `Atomics.wait` does. */
export type WaitResult = 'ok' | 'not-equal' | 'timed-out'

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
  wait(byteOffset: number, expected: number, timeoutMs?: number): WaitResult
  /** `wait` without blocking: neither the event loop nor a thread-pool thread. Rejects with `ERR_MMAP_CLOSED` if the mapping is closed first. */
  waitAsync(byteOffset: number, expected: number, timeoutMs?: number): Promise<WaitResult>
  /** Wakes up to `count` (default: all) waiters on the Int32 at `byteOffset`, in every process; returns how many woke (0 on Windows, where waiters poll). */
  notify(byteOffset: number, count?: number): number
}

/**
 * A mutex in 8 bytes of the mapping (8-aligned; all zero is unlocked), shared by every thread and
 * process that maps them. Each `Held` belongs to the call that returned it; a thread's async calls
 * queue first come first served. Survives its holder's death (see docs/synchronization.md).
 */
export interface Mutex {
  readonly byteOffset: number
  /** Blocks until this thread holds the mutex; `ERR_MMAP_TIMEOUT` after `timeoutMs` (default: no limit). */
  lock(timeoutMs?: number): Held
  /** The mutex if it is free now, else `null` (also while this thread holds it). Never blocks. */
  tryLock(): Held | null
  /** `lock()` off the event loop and off the libuv pool; queues behind this thread's other calls. */
  lockAsync(timeoutMs?: number): Promise<Held>
  /** Whether some thread holds it (a snapshot). */
  readonly locked: boolean
}

/** A held lock (a mutex, or either side of a rwlock). Dropping it without `unlock()` releases nothing. */
export interface Held {
  /** The previous holder ended (killed, crashed, a terminated worker, closed its mapping) without unlocking. */
  readonly ownerDied: boolean
  /** Unlocks; again (or after `close()` gave it up) is a no-op. `ERR_MMAP_NOT_OWNER` if it was taken from this thread. */
  unlock(): void
  [Symbol.dispose](): void
}

/**
 * A reader-writer lock in 256 bytes of the mapping (8-aligned; all zero is free): any number of
 * readers, or one writer. Writers are not starved: a waiting writer stops new readers. At most 30
 * threads read at once (one slot each, so that a dead reader's share comes back).
 */
export interface RwLock {
  readonly byteOffset: number
  read(timeoutMs?: number): Held
  tryRead(): Held | null
  readAsync(timeoutMs?: number): Promise<Held>
  write(timeoutMs?: number): Held
  tryWrite(): Held | null
  writeAsync(timeoutMs?: number): Promise<Held>
  /** How many threads read (a snapshot). */
  readonly readers: number
  /** Whether a writer holds it or waits for it (a snapshot). */
  readonly writing: boolean
}

/** A condition variable in 8 bytes of the mapping (8-aligned; all zero has no waiters), used with a mutex. */
export interface Condition {
  readonly byteOffset: number
  /**
   * Unlocks `held`'s mutex, sleeps until notified (or the timeout), then locks it again before
   * returning, as `pthread_cond_wait` does: `true` if notified, `false` if timed out. Wake-ups
   * may be spurious: wait in a loop on your own condition.
   */
  wait(held: Held, timeoutMs?: number): boolean
  waitAsync(held: Held, timeoutMs?: number): Promise<boolean>
  /** Wakes up to `count` waiters (default 1) in any process; how many were waiting to be woken. */
  notify(count?: number): number
  notifyAll(): number
}

/** A barrier in 16 bytes of the mapping (8-aligned; all zero before first use) for `parties` threads or processes. */
export interface Barrier {
  readonly byteOffset: number
  readonly parties: number
  /** Waits until `parties` have arrived: this party's arrival index, 0 .. parties-1. A timeout breaks the barrier. */
  wait(timeoutMs?: number): number
  waitAsync(timeoutMs?: number): Promise<number>
  /** Ends the current round (its waiters throw ERR_MMAP_BARRIER_BROKEN) and mends a broken barrier. */
  reset(): void
}

/**
 * A message queue in bytes of a mapping (`mapping.channel()`): any number of senders and
 * receivers in any threads and processes; each message is received once and whole, and one
 * sender's messages arrive in the order it sent them. All zero is an empty channel. A party
 * killed at any moment never leaves a torn or duplicated message, and the others go on within a
 * second (docs/channels.md says what a death at each step leaves).
 */
export interface Channel {
  readonly byteOffset: number
  readonly byteLength: number
  /** The largest message that fits: `byteLength` - 256 (the header) - 8 (a record's), rounded down to 8. */
  readonly maxMessage: number
  /** Queues a copy of `message` (a string goes as UTF-8), waiting while the channel is full; `ERR_MMAP_TIMEOUT` after `timeoutMs`. */
  send(message: Uint8Array | string, timeoutMs?: number): void
  /** `send` if it can be done now (room, and no other sender of this thread or process in the middle of one); never blocks. */
  trySend(message: Uint8Array | string): boolean
  /** `send` without blocking the event loop or a thread-pool thread. */
  sendAsync(message: Uint8Array | string, timeoutMs?: number): Promise<void>
  /** The next message, as a Buffer of its own, waiting while the channel is empty; `ERR_MMAP_CHANNEL_ENDED` once it has ended and is empty. */
  receive(timeoutMs?: number): Buffer
  /** The next message if there is one now, else `null`. Never blocks. */
  tryReceive(): Buffer | null
  /** `receive` without blocking the event loop or a thread-pool thread. */
  receiveAsync(timeoutMs?: number): Promise<Buffer>
  /** Sends any value `v8.serialize` takes. */
  sendValue(value: unknown, timeoutMs?: number): void
  sendValueAsync(value: unknown, timeoutMs?: number): Promise<void>
  /** Receives a value sent with `sendValue`, as `v8.deserialize` gives it. */
  receiveValue(timeoutMs?: number): unknown
  receiveValueAsync(timeoutMs?: number): Promise<unknown>
  /** `receiveAsync` until the channel has ended and is empty. */
  [Symbol.asyncIterator](): AsyncIterator<Buffer>
  /** No more messages: sends throw `ERR_MMAP_CHANNEL_ENDED`; receivers drain what is queued, then finish. */
  end(): void
  /** Whether `end()` was called, by any party (a snapshot). */
  readonly ended: boolean
  /** Messages queued now (a snapshot). */
  readonly pending: number
}

/** A counting semaphore in 8 bytes of the mapping (8-aligned; all zero is a count of 0). */
export interface Semaphore {
  readonly byteOffset: number
  /** Takes a permit, blocking while there is none; `ERR_MMAP_TIMEOUT` after `timeoutMs`. */
  acquire(timeoutMs?: number): Permit
  /** A permit if there is one now, else `null`. Never blocks. */
  tryAcquire(): Permit | null
  /** `acquire()` off the event loop and off the libuv pool. */
  acquireAsync(timeoutMs?: number): Promise<Permit>
  /** Adds `count` permits (default 1), from any thread or process. */
  release(count?: number): void
  /** The count of permits (a snapshot). */
  readonly value: number
}

/** One taken permit: `release()` (or disposing it) gives it back, once. */
export interface Permit {
  release(): void
  [Symbol.dispose](): void
}

/**
 * Every `code` that memmap gives errors of its own, from the package's ERR_MMAP_* codes to Node's
 * codes for bad arguments (`TypeError`: ERR_INVALID_ARG_TYPE, ERR_UNKNOWN_ENCODING, ERR_ILLEGAL_CONSTRUCTOR;
 * `RangeError`: ERR_OUT_OF_RANGE, ERR_MMAP_OUT_OF_RANGE; ERR_INVALID_ARG_VALUE either).
 * ERR_MMAP_NO_BINDING comes from loading the package, when no binary fits the platform.
 *
 * An error from the OS carries its errno name instead, as `fs` errors do (`'ENOENT'`, `'EACCES'`,
 * `'EEXIST'`, `'ENOMEM'`, ..., `'UNKNOWN'` when the OS code has none). Those names are the
 * platform's and open-ended, so they are not listed here: {@link MemmapError}'s `code` is this
 * union or any other string.
 */
export type MemmapErrorCode =
  | 'ERR_MMAP_BARRIER_BROKEN'
  | 'ERR_MMAP_CHANNEL_CORRUPT'
  | 'ERR_MMAP_CHANNEL_ENDED'
  | 'ERR_MMAP_CLOSED'
  | 'ERR_MMAP_RESIZED'
  | 'ERR_MMAP_DEADLOCK'
  | 'ERR_MMAP_EXTERNAL_BUFFER_REFUSED'
  | 'ERR_MMAP_NO_BINDING'
  | 'ERR_MMAP_NOT_OWNER'
  | 'ERR_MMAP_OUT_OF_RANGE'
  | 'ERR_MMAP_READ_ONLY'
  | 'ERR_MMAP_TIMEOUT'
  | 'ERR_MMAP_TOO_LARGE'
  | 'ERR_MMAP_TRUNCATED'
  | 'ERR_MMAP_UNSUPPORTED'
  | 'ERR_ILLEGAL_CONSTRUCTOR'
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_INVALID_ARG_VALUE'
  | 'ERR_OUT_OF_RANGE'
  | 'ERR_UNKNOWN_ENCODING'

/**
 * What memmap throws or rejects with: an `Error`, `TypeError` or `RangeError` with a `code`, and
 * for errors from the OS the `fs` fields too. Narrow a caught value with `err instanceof Error`
 * and compare `code`; the `string & {}` keeps editors offering the listed codes.
 */
export interface MemmapError extends Error {
  /** One of {@link MemmapErrorCode}, or an OS error's errno name (`'ENOENT'`, ...). */
  code: MemmapErrorCode | (string & {})
  /** OS errors: the negative error number, as libuv and `fs` report it. */
  errno?: number
  /** OS errors: the system call that failed (`'open'`, `'mmap'`, `'msync'`, ...). */
  syscall?: string
  /** The file's path or the shared memory name, where the error concerns one. */
  path?: string
}

/**
 * What `mapping.handle()` gives and `fromHandle()` takes: a plain object that survives
 * `postMessage` (structured clone), meaningful only in the process that made it.
 */
export interface MappingHandle {
  readonly memmap: 'handle'
  /** The process that made it: another process's handle is refused. */
  readonly pid: number
  /** The memory's number in this process; never reused. */
  readonly id: number
  /** 64 random bits, so that a guessed or altered handle is refused. */
  readonly token: string
}

/** What `usage()` reports. */
export interface Usage {
  /** Open Mappings in this process, in every thread. */
  mappings: number
  /** Bytes they map; memory several Mappings share (through `handle()`) counts once. */
  mappedBytes: number
  /** Address space of closed mappings still held (as zero pages) for Buffers that escaped. */
  retiredBytes: number
  /** OS map regions memmap holds: one per mapping, two per waiting thread, and the retired ones (an upper bound: neighbours merge). */
  regions: number
  /** The number of live mappings at which opening fails with `ENOMEM` (`Infinity` where there is no cap). */
  regionLimit: number
}
