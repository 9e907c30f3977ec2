// What memmap holds in this process, for a metrics loop: counters the core keeps.

import * as native from '../loader'
import type { Usage } from './types'

/**
 * What memmap holds in this process (every thread): open Mappings, the bytes they map (memory
 * that several Mappings share through `handle()` counts once), the address space of closed ones
 * kept for Buffers that escaped, the OS map regions held and the cap at which opening fails with
 * `ENOMEM`. A few loads, no system call: cheap enough for a metrics loop, and true after
 * `close()`, collection and `resize()`.
 */
export function usage(): Usage {
  return native.usage()
}
