// ESM entry: the same names as require('memmap'), from the one CommonJS build.
import { createRequire } from 'node:module'

const memmap = createRequire(import.meta.url)('./index.js')

export const {
  openSync,
  open,
  anonymous,
  createShared,
  openShared,
  unlinkShared,
  pageSize,
  allocationGranularity,
  maxViewLength,
  Mapping,
} = memmap
