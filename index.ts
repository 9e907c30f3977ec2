// memmap: memory-mapped files and shared memory for Node.js. The facade is split by subject under
// src/ (arguments, the Mapping class, shared memory, atomics); this file only re-exports.
// The declarations use Buffer and URL: the reference keeps @types/node in the emitted index.d.ts
// (TypeScript drops a reference directive from declarations without `preserve`).
/// <reference types="node" preserve="true" />

import * as self from './index'
import { Mapping as MappingClass } from './src/mapping'

/**
 * The module itself, so that `import memmap from 'memmap'` is what `require('memmap')` returns in
 * every module system: Node.js's ESM gives a CommonJS module's exports object as the default, and
 * compiled TypeScript and bundlers read its `default`. Here both are the one object.
 */
const memmap: typeof self = self
export default memmap

export type {
  Advice,
  AnonymousOptions,
  Barrier,
  Channel,
  Condition,
  CreateSharedOptions,
  FlushOptions,
  Held,
  Kind,
  LinesOptions,
  MappingAtomics,
  MappingHandle,
  MemmapError,
  MemmapErrorCode,
  Mode,
  Mutex,
  OpenOptions,
  OpenSharedOptions,
  ReadStreamOptions,
  Permit,
  Residency,
  RwLock,
  SearchRange,
  SearchValue,
  Semaphore,
  TypedArray,
  TypedArrayConstructor,
  Usage,
  WaitResult,
} from './src/types'
export { allocationGranularity, maxViewLength, pageSize } from './src/constants'
export { usage } from './src/footprint'
export { anonymous, fromHandle, open, openSync } from './src/mapping'
export type { FileSource } from './src/mapping'
export type { MappingReadStream } from './src/stream'
export type { LineIterator } from './src/lines'

/** A live memory mapping, made by `openSync()`, `open()`, `anonymous()`, `createShared()` or `openShared()`. */
export type Mapping = MappingClass
/**
 * The class, for `instanceof Mapping` and `Mapping.prototype`. Only this package makes mappings:
 * calling the constructor (a subclass's too) throws `ERR_ILLEGAL_CONSTRUCTOR`, so in the types it
 * is abstract and takes no arguments anyone can give.
 */
export const Mapping: (abstract new (...internal: never) => Mapping) & { readonly prototype: Mapping } = MappingClass
export { createShared, openShared, sweepShared, unlinkShared } from './src/shared'
