// memmap: memory-mapped files and shared memory for Node.js. The facade is split by subject under
// src/ (arguments, the Mapping class, shared memory, atomics); this file only re-exports.

export type {
  Advice,
  AnonymousOptions,
  Held,
  Kind,
  MappingAtomics,
  Mode,
  Mutex,
  OpenOptions,
  Permit,
  Residency,
  Semaphore,
} from './src/types'
export { allocationGranularity, maxViewLength, pageSize } from './src/constants'
export { Mapping, anonymous, open, openSync } from './src/mapping'
export { createShared, openShared, unlinkShared } from './src/shared'
