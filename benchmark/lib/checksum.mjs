// Checksums that prove every subject of a workload did the same work: each subject's result is
// compared with the baseline's before anything is timed, and every timed run with its own first.

import { createHash } from 'node:crypto'

/** Folds two 32-bit words into a running 32-bit checksum; order matters, as it should. */
export function mix(checksum, lo, hi) {
  return (Math.imul(checksum ^ lo, 0x9e3779b1) + hi) | 0
}

// The scan loop of workload 2, as source: every subject compiles its own copy (`sumFunction()`),
// so one subject's type feedback or deoptimisation cannot slow another's loop. The copy's source
// is unique (V8 would otherwise share one compiled function, and its feedback, between copies),
// and it is warmed up on a small array: a single call over 1 GiB otherwise runs its first
// passes unoptimised, which would time V8's tiering instead of the memory.
const SUM_SOURCE = 'let s = 0; for (let i = 0; i < a.length; i++) s = (s + (a[i] | 0)) | 0; return s'
let copies = 0

/** A fresh, warmed-up function `(a: Uint32Array) => number`: the sum of `a`'s elements modulo 2^32, as an int32. */
export function sumFunction() {
  const sum = new Function('a', `${SUM_SOURCE} // copy ${++copies}`)
  const small = new Uint32Array(4096).fill(1)
  for (let i = 0; i < 3000; i++) sum(small)
  return sum
}

/** The sum of all 32-bit little-endian words of `bytes` (length a multiple of 4), modulo 2^32, unsigned. */
export function sumU32(bytes, sum = sumFunction()) {
  return sum(new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2)) >>> 0
}

/** A short hex digest of bytes, for workloads whose result is a file. */
export function digest(bytes) {
  return createHash('sha1').update(bytes).digest('hex').slice(0, 16)
}

/**
 * `count` pseudo-random byte offsets in `[0, limit)`, the same for every subject and every run
 * (xorshift32 from a fixed seed).
 */
export function randomOffsets(count, limit, seed = 0x2545f491) {
  const out = new Float64Array(count)
  let x = seed >>> 0 || 1
  for (let i = 0; i < count; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    out[i] = Math.floor((x / 0x100000000) * limit)
  }
  return out
}

/** 1 + 2 + … + n modulo 2^32, unsigned: what each side of a ping-pong of n round trips sums. */
export function triangular(n) {
  return Number((BigInt(n) * BigInt(n + 1)) / 2n % 2n ** 32n)
}

/**
 * The checksum of a ping-pong run (workload 6), from what both sides saw: the round trips the
 * parent completed, the sum of the answers it got, the pings the child served and the sum of
 * the pings it saw (each sum modulo 2^32, the loops fold them with `| 0`), and the final values
 * of the two counters (for process.send: the last number sent and the last one echoed back).
 * Equal strings mean both processes counted the same round trips and ended in the same state.
 */
export function roundTripChecksum({ rounds, sum, served, childSum, ping, pong }) {
  return `${rounds} round trips, ${served} served, sums ${sum >>> 0}/${childSum >>> 0}, final ping ${ping} pong ${pong}`
}
