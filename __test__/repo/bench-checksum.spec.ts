// The benchmark's checksums decide whether two subjects did the same work: check them against
// plain references, so that a bench run can trust them. (No timing here: npm test never runs the bench.)

import test from 'ava'
import { createHash } from 'node:crypto'

import { digest, mix, randomOffsets, roundTripChecksum, sumFunction, sumU32, triangular } from '../../benchmark/lib/checksum.mjs'
import { pattern } from '../helpers.js'

test('sumU32 is the sum of the little-endian words modulo 2^32, as a reference loop computes it', (t) => {
  const bytes = pattern(1 << 16, 7)
  let reference = 0n
  for (let i = 0; i < bytes.length; i += 4) reference += BigInt(bytes.readUInt32LE(i))
  t.is(sumU32(bytes), Number(reference % 2n ** 32n))
})

test('a chunked sum folded with | 0 equals the whole sum', (t) => {
  const bytes = pattern(1 << 16, 9)
  const sum = sumFunction()
  let total = 0
  for (let at = 0; at < bytes.length; at += 4096) total = (total + sum(new Uint32Array(bytes.buffer, bytes.byteOffset + at, 1024))) | 0
  t.is(total >>> 0, sumU32(bytes))
})

test('sumU32 over a Buffer at an offset in its ArrayBuffer reads only that Buffer', (t) => {
  const whole = pattern(8192, 3)
  const part = whole.subarray(4096)
  const copy = Buffer.from(part)
  t.is(sumU32(part), sumU32(copy))
  t.not(sumU32(part), sumU32(whole))
})

test('mix depends on every word and on their order', (t) => {
  const a = mix(mix(0, 1, 2), 3, 4)
  t.is(a, mix(mix(0, 1, 2), 3, 4))
  t.not(a, mix(mix(0, 3, 4), 1, 2))
  t.not(a, mix(mix(0, 1, 2), 3, 5))
  t.true(Number.isInteger(a) && a >= -(2 ** 31) && a < 2 ** 31)
})

test('randomOffsets is the same every time and stays inside the limit', (t) => {
  const limit = 2 ** 30 - 8
  const first = randomOffsets(100_000, limit)
  t.deepEqual(first, randomOffsets(100_000, limit))
  t.true(first.every((x) => Number.isInteger(x) && x >= 0 && x < limit))
  t.true(new Set(first).size > 99_000)
})

test('digest is a prefix of the SHA-1 of the bytes', (t) => {
  const bytes = pattern(1000)
  t.is(digest(bytes), createHash('sha1').update(bytes).digest('hex').slice(0, 16))
  t.not(digest(bytes), digest(pattern(1000, 2)))
})

test('triangular is 1 + 2 + … + n modulo 2^32, as the ping-pong loops sum with | 0', (t) => {
  for (const n of [0, 1, 2, 20_000, 100_000, 1_000_000]) {
    let folded = 0
    for (let i = 1; i <= n; i++) folded = (folded + i) | 0
    t.is(triangular(n), folded >>> 0, `n = ${n}`)
  }
  t.is(triangular(20_000), 200_010_000)
})

test('roundTripChecksum is equal for equal work and differs when either side or a counter differs', (t) => {
  const rounds = 20_000
  const sum = triangular(rounds) | 0
  const good = { rounds, sum, served: rounds, childSum: sum, ping: rounds, pong: rounds }
  const checksum = roundTripChecksum(good)
  // The sums are compared as unsigned, whichever way a side folded them.
  t.is(checksum, roundTripChecksum({ ...good, sum: sum >>> 0, childSum: sum >>> 0 }))
  t.is(roundTripChecksum({ ...good, sum: -1 }), roundTripChecksum({ ...good, sum: 0xffffffff }))
  // One round trip fewer on either side, a lost or repeated answer, a counter left behind.
  const changes = [
    { rounds: rounds - 1 },
    { served: rounds - 1 },
    { sum: (sum - 1) | 0 },
    { childSum: (sum + 1) | 0 },
    { ping: rounds - 1 },
    { pong: rounds + 1 },
  ]
  for (const change of changes) t.not(roundTripChecksum({ ...good, ...change }), checksum, JSON.stringify(change))
  t.regex(checksum, /^20000 round trips, 20000 served, sums 200010000\/200010000, final ping 20000 pong 20000$/)
})
