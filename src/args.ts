// Arguments checked the way Node's own APIs check them: TypeError/RangeError with Node's codes,
// before anything reaches the binding. Values and ranges the core checks again are its business.

import { resolve as resolvePath } from 'node:path'
import { fileURLToPath } from 'node:url'

import type * as native from '../loader'
import { maxViewLength } from './constants'
import type { Advice, Mode } from './types'

// The values the binding's string enums take (binding.d.ts has their unions); listed here only to
// give Node's ERR_INVALID_ARG_VALUE before a value reaches the binding.
const MODES: readonly Mode[] = ['r', 'r+', 'w+', 'c']
const ADVICE: readonly Advice[] = ['normal', 'random', 'sequential', 'willneed', 'dontneed', 'hugepage', 'nohugepage']
const isMode = (value: unknown): value is Mode => MODES.includes(value as Mode)
const isAdvice = (value: unknown): value is Advice => ADVICE.includes(value as Advice)

export type Coded<E extends Error> = E & { code: string }

export function coded<E extends Error>(error: E, code: string): Coded<E> {
  return Object.assign(error, { code })
}

export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'function') return 'function'
  if (typeof value === 'object') return `an instance of ${value.constructor?.name ?? 'Object'}`
  if (typeof value === 'string') return `type string ('${value.length > 28 ? `${value.slice(0, 25)}...` : value}')`
  return `type ${typeof value} (${String(value)})`
}

export function invalidType(name: string, expected: string, value: unknown): Coded<TypeError> {
  return coded(
    new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(value)}`),
    'ERR_INVALID_ARG_TYPE',
  )
}

export function outOfRange(name: string, expected: string, value: unknown): Coded<RangeError> {
  return coded(
    new RangeError(`The value of "${name}" is out of range. It must be ${expected}. Received ${String(value)}`),
    'ERR_OUT_OF_RANGE',
  )
}

export function invalidValue(name: string, reason: string, value: unknown): Coded<TypeError> {
  return coded(
    new TypeError(`The argument '${name}' ${reason}. Received ${describe(value)}`),
    'ERR_INVALID_ARG_VALUE',
  )
}

/** A byte count or offset: a non-negative safe integer, as a number or a bigint. */
export function toIndex(value: unknown, name: string): number {
  if (typeof value === 'bigint') {
    if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw outOfRange(name, `>= 0 and <= ${Number.MAX_SAFE_INTEGER}`, `${value}n`)
    }
    return Number(value)
  }
  if (typeof value !== 'number') throw invalidType(name, 'of type number or bigint', value)
  if (!Number.isSafeInteger(value) || value < 0) {
    throw outOfRange(name, `an integer >= 0 and <= ${Number.MAX_SAFE_INTEGER}`, value)
  }
  return value
}

/** One end of a range, with `Buffer#subarray`'s rules: negative counts from the end, clamped. */
export function rangeEnd(value: unknown, name: string, fallback: number, length: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number') throw invalidType(name, 'of type number', value)
  if (Number.isNaN(value) || (Number.isFinite(value) && !Number.isInteger(value))) {
    throw outOfRange(name, 'an integer', value)
  }
  if (value < 0) return Math.max(length + value, 0)
  return Math.min(value, length)
}

export function toRange(start: unknown, end: unknown, length: number): [number, number] {
  const from = rangeEnd(start, 'start', 0, length)
  const to = rangeEnd(end, 'end', length, length)
  return [from, Math.max(from, to)]
}

/** Milliseconds as `Atomics.wait` takes them: `undefined` and `NaN` are `Infinity`, negatives 0. */
export function toTimeout(value: unknown): number {
  if (value === undefined) return Infinity
  if (typeof value !== 'number') throw invalidType('timeoutMs', 'of type number', value)
  if (Number.isNaN(value)) return Infinity
  return Math.max(value, 0)
}

export function toFlag(value: unknown, name: string): boolean {
  if (value === undefined) return false
  if (typeof value !== 'boolean') throw invalidType(name, 'of type boolean', value)
  return value
}

export function toBytes(value: unknown, name: string): Uint8Array {
  if (!ArrayBuffer.isView(value)) {
    throw invalidType(name, 'an instance of Buffer, TypedArray, or DataView', value)
  }
  return value instanceof Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
}

/** The path as the OS gets it: resolved with `path.resolve` (not realpath), as bytes. */
export function toPath(path: unknown): Buffer {
  if (path instanceof URL) path = fileURLToPath(path)
  if (typeof path === 'string') {
    if (path.includes('\0')) throw invalidValue('path', 'must be a string, Uint8Array, or URL without null bytes', path)
    if (path === '') {
      throw Object.assign(new Error("ENOENT: no such file or directory, open ''"), {
        code: 'ENOENT',
        errno: process.platform === 'win32' ? -4058 : -2,
        syscall: 'open',
        path: '',
      })
    }
    return Buffer.from(resolvePath(path))
  }
  if (path instanceof Uint8Array) {
    const bytes = Buffer.from(path)
    if (bytes.includes(0)) throw invalidValue('path', 'must be a string, Uint8Array, or URL without null bytes', path)
    if (process.platform === 'win32' || bytes.length === 0) return toPath(bytes.toString())
    return bytes[0] === 0x2f ? bytes : Buffer.concat([Buffer.from(`${process.cwd()}/`), bytes])
  }
  throw invalidType('path', 'of type string or number (a descriptor) or an instance of Buffer, URL or FileHandle', path)
}

export function toOpenOptions(options: unknown): native.NativeOpenOptions {
  if (options === undefined) options = {}
  if (options === null || typeof options !== 'object') throw invalidType('options', 'of type object', options)
  const o = options as Record<string, unknown>
  const mode = o.mode ?? 'r'
  if (!isMode(mode)) {
    throw invalidValue('options.mode', "must be 'r', 'r+', 'w+' or 'c'", mode)
  }
  // 'w+' without a size is the core's rule (ERR_INVALID_ARG_VALUE, before the file is touched).
  return {
    mode,
    offset: o.offset === undefined ? 0 : toIndex(o.offset, 'options.offset'),
    length: o.length === undefined ? undefined : toIndex(o.length, 'options.length'),
    size: o.size === undefined ? undefined : toIndex(o.size, 'options.size'),
    populate: toFlag(o.populate, 'options.populate'),
    hugePages: toFlag(o.hugePages, 'options.hugePages'),
    lock: toFlag(o.lock, 'options.lock'),
  }
}

export function toOptionsObject(options: unknown): Record<string, unknown> {
  if (options === undefined) return {}
  if (options === null || typeof options !== 'object') throw invalidType('options', 'of type object', options)
  return options as Record<string, unknown>
}

export function toAdvice(advice: unknown): Advice {
  if (typeof advice !== 'string') throw invalidType('advice', 'of type string', advice)
  if (!isAdvice(advice)) {
    throw invalidValue('advice', `must be one of ${ADVICE.map((a) => `'${a}'`).join(', ')}`, advice)
  }
  return advice
}

export function refused(): Coded<Error> {
  return coded(
    new Error(
      'This runtime refuses Buffers over memory it did not allocate (Electron\'s memory cage, or ' +
        'MEMMAP_NO_EXTERNAL_BUFFERS=1): use mapping.read() and mapping.write() to copy bytes out and in',
    ),
    'ERR_MMAP_EXTERNAL_BUFFER_REFUSED',
  )
}

/** `ERR_MMAP_CLOSED`, as the binding words it, or with a message that says what was cut short. */
export function closed(message = 'The mapping is closed: open it again to use it'): Coded<Error> {
  return coded(new Error(message), 'ERR_MMAP_CLOSED')
}

export function tooLarge(length: number): Coded<RangeError> {
  return coded(
    new RangeError(
      `A view of ${length} bytes is larger than the ${maxViewLength} bytes one Buffer can hold in ` +
        'this Node.js: use view(start, end) over a smaller window, read() and write() to reach every byte',
    ),
    'ERR_MMAP_TOO_LARGE',
  )
}

/** A file descriptor from JavaScript: a number (as `fs` checks it) or a `FileHandle`'s; `undefined` for anything else. */
export function toDescriptor(value: unknown): number | undefined {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) throw outOfRange('fd', '>= 0 && <= 2147483647', value)
    return value
  }
  if (isFileHandle(value)) {
    // A FileHandle's `fd` gets a number's checks: -1 once closed (EBADF from the binding, as fs
    // says), else a descriptor in range. A look-alike's fraction, NaN or 2 ** 32 + n would
    // otherwise be cut down to another, unrelated descriptor.
    const fd: unknown = value.fd
    if (fd === -1) return fd
    if (typeof fd !== 'number') throw invalidType('fd', 'of type number', fd)
    return toDescriptor(fd)
  }
  return undefined
}

/** `fs.promises.FileHandle` (whose class Node.js does not export). */
function isFileHandle(value: unknown): value is { fd: number } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { fd?: unknown }).fd === 'number' &&
    typeof (value as { getAsyncId?: unknown }).getAsyncId === 'function'
  )
}

/** `Buffer#indexOf`'s value: a string's bytes in `encoding` (UTF-8 by default), the bytes of a Uint8Array, or one byte of a number. */
export function toNeedle(value: unknown, encoding: unknown): Uint8Array {
  if (typeof value === 'number') return Uint8Array.of((value >>> 0) & 0xff)
  if (typeof value === 'string') {
    if (encoding !== undefined && (typeof encoding !== 'string' || !Buffer.isEncoding(encoding))) {
      throw coded(new TypeError(`Unknown encoding: ${String(encoding)}`), 'ERR_UNKNOWN_ENCODING')
    }
    return Buffer.from(value, (encoding ?? 'utf8') as BufferEncoding)
  }
  if (value instanceof Uint8Array) return value
  throw invalidType('value', 'one of type number or string, or an instance of Buffer or Uint8Array', value)
}

/**
 * `Buffer#indexOf`'s byte offset, coerced as it coerces (`null` is 0, `undefined` or `{}` search
 * everything) and truncated; negative counts from the end, which the core applies. Not clamped
 * to 32 bits, since a mapping reaches past 4 GiB.
 */
export function toSearchOffset(byteOffset: unknown, forward: boolean, length: number): number {
  // A bigint is taken as the number it is, as offsets are elsewhere here (Buffer's `+` would throw an uncoded TypeError).
  if (typeof byteOffset === 'symbol') throw invalidType('byteOffset', 'of type number', byteOffset)
  const at = Math.trunc(typeof byteOffset === 'bigint' ? Number(byteOffset) : +(byteOffset as number))
  if (Number.isNaN(at)) return forward ? 0 : length
  return Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, at))
}

/**
 * `options.start`, `options.end` and `options.encoding` of a reader over a mapping of `length`
 * bytes (a stream, `lines()`): `end` exclusive, clamped, `Infinity` for the end (as
 * `fs.createReadStream` takes it); `start > end` is `ERR_OUT_OF_RANGE`; an encoding Buffer does
 * not know is `ERR_INVALID_ARG_VALUE`.
 */
export function toReadOptions(o: Record<string, unknown>, length: number): { start: number; end: number; encoding: BufferEncoding | undefined } {
  const start = o.start === undefined ? 0 : toIndex(o.start, 'options.start')
  const end = o.end === undefined || o.end === Infinity ? length : Math.min(toIndex(o.end, 'options.end'), length)
  if (start > end) throw outOfRange('options.start', `<= "end" (here: ${end})`, start)
  const encoding = o.encoding
  if (encoding === undefined || encoding === null) return { start, end, encoding: undefined }
  if (typeof encoding !== 'string' || !Buffer.isEncoding(encoding)) {
    throw invalidValue('options.encoding', 'is not an encoding Buffer knows', encoding)
  }
  return { start, end, encoding }
}
