// Named shared memory: the OS's own, by name. Names are checked in the core, once.

import * as native from '../loader'
import { invalidType, outOfRange, toFlag, toIndex, toOptionsObject } from './args'
import { constructing, Mapping } from './mapping'
import type { CreateSharedOptions, OpenSharedOptions } from './types'

/** The name's type; its form (`^[A-Za-z0-9][A-Za-z0-9._-]{0,29}$`) is the core's to check. */
function toSharedName(name: unknown): string {
  if (typeof name !== 'string') throw invalidType('name', 'of type string', name)
  return name
}

/**
 * Opens the named shared memory object `name`, creating it with owner-only permissions if it
 * does not exist, grows it to at least `length` bytes (never shrinks it) and maps `length` bytes,
 * shared. With `exclusive: true` an existing name fails with `EEXIST`.
 *
 * Without a name, a new object with a unique name is made (always exclusively); the name is
 * `m.path`, for `openShared()` in workers and children, and `unlinkShared(m.path)` when done. On
 * Linux the name also says which process made it, so that `sweepShared()` can remove it once that
 * process has gone without unlinking it.
 */
export function createShared(name: string, length: number | bigint, options?: CreateSharedOptions): Mapping
export function createShared(length: number | bigint, options?: CreateSharedOptions): Mapping
export function createShared(
  nameOrLength: string | number | bigint,
  lengthOrOptions?: number | bigint | CreateSharedOptions,
  maybeOptions?: CreateSharedOptions,
): Mapping {
  const named = typeof nameOrLength !== 'number' && typeof nameOrLength !== 'bigint'
  const checked = named ? toSharedName(nameOrLength) : undefined
  const length = named ? lengthOrOptions : nameOrLength
  const options = named ? maybeOptions : lengthOrOptions
  const bytes = toIndex(length, 'length')
  if (bytes === 0) throw outOfRange('length', `an integer >= 1 and <= ${Number.MAX_SAFE_INTEGER}`, length)
  const exclusive = toFlag(toOptionsObject(options).exclusive, 'options.exclusive')
  if (checked !== undefined) return new Mapping(constructing, native.createShared(checked, bytes, exclusive))
  for (let attempt = 0; ; attempt++) {
    try {
      return new Mapping(constructing, native.createShared(uniqueName(), bytes, true))
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EEXIST' || attempt === 7) throw error
    }
  }
}

/**
 * A name no other process picks, made by the core: on Linux it carries this process's identity
 * (so that `sweepShared()` can tell when its creator has gone) and at least 52 random bits.
 */
function uniqueName(): string {
  return native.uniqueSharedName()
}

/**
 * Maps the whole of the existing named shared memory object `name` (`ENOENT` if there is none).
 * With `readOnly: true` the pages are private copy-on-write: a stray Buffer write stays in this
 * process, and `write()` and the atomics that write throw `ERR_MMAP_READ_ONLY`.
 */
export function openShared(name: string, options?: OpenSharedOptions): Mapping {
  const checked = toSharedName(name)
  const readOnly = toFlag(toOptionsObject(options).readOnly, 'options.readOnly')
  return new Mapping(constructing, native.openShared(checked, readOnly))
}

/**
 * Removes the name `name`: later `openShared(name)` fails with `ENOENT`, while existing mappings
 * stay valid. `false` if there was no such name (always on Windows, where an object lives while
 * some process has it open).
 */
export function unlinkShared(name: string): boolean {
  return native.unlinkShared(toSharedName(name))
}

/**
 * Removes the names `createShared(length)` made whose creating process has provably ended
 * (exited or killed, including a zombie not yet reaped), and returns them. Names of processes
 * that live, of processes in another PID namespace, and names of any other form (every name
 * given to `createShared(name, ...)`) are left alone. Linux only (it lists `/dev/shm`): elsewhere
 * names cannot be listed (macOS, FreeBSD) or end with their last handle (Windows), and it
 * returns `[]`.
 */
export function sweepShared(): string[] {
  return native.sweepShared()
}

// ---------------------------------------------------------------------------------------------
// Atomics
