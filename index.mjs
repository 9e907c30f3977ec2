// ESM entry: the same names as require('memmap'), from the one CommonJS build; the default export
// is the object require('memmap') returns, as Node.js makes it for any CommonJS module (and that
// object's `default` is itself, for compiled TypeScript). index.d.mts declares exactly these, and
// __test__/repo/types.spec.ts checks that the names agree.
import { createRequire } from 'node:module'

const memmap = createRequire(import.meta.url)('./index.js')

export default memmap

export const {
  openSync,
  open,
  anonymous,
  fromHandle,
  createShared,
  openShared,
  unlinkShared,
  sweepShared,
  pageSize,
  allocationGranularity,
  maxViewLength,
  usage,
  Mapping,
} = memmap
