// Types for checksum.mjs, so the smoke spec in __test__/ type-checks.
export function mix(checksum: number, lo: number, hi: number): number
export function sumFunction(): (words: Uint32Array) => number
export function sumU32(bytes: ArrayBufferView, sum?: (words: Uint32Array) => number): number
export function digest(bytes: ArrayBufferView): string
export function randomOffsets(count: number, limit: number, seed?: number): Float64Array
export function triangular(n: number): number
export function roundTripChecksum(counts: {
  rounds: number
  sum: number
  served: number
  childSum: number
  ping: number
  pong: number
}): string
