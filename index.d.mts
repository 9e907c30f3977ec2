// The ESM entry's types (index.mjs), written by hand as index.mjs is: every name of index.d.ts,
// types included, and as the default export the object require('memmap') returns (Node.js's
// default for a CommonJS module; its own `default` is that object again). __test__/types.spec.ts
// checks that these names, index.mjs's and the CommonJS build's agree.
/// <reference types="node" />

import memmap from './index.js'

export * from './index.js'
export default memmap
