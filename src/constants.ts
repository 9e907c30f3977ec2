// The module constants, and whether this runtime takes Buffers over memory V8 did not allocate.

import { constants as bufferConstants } from 'node:buffer'

import * as native from '../loader'

/** The size of a memory page in bytes. */
export const pageSize: number = native.pageSize()
/** The alignment the OS asks of a mapping's file offset: 64 KiB on Windows, the page size elsewhere. */
export const allocationGranularity: number = native.allocationGranularity()
/** The largest Buffer this Node.js makes: 4 GiB on Node.js 20, 2^53 - 1 from Node.js 22. */
export const maxViewLength: number = bufferConstants.MAX_LENGTH

/** @internal Whether Buffers over the pages can be made here (false in Electron's memory cage). */
export const zeroCopy = process.env.MEMMAP_NO_EXTERNAL_BUFFERS !== '1' && native.externalBuffersAllowed()
