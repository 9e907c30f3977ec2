// The benchmark's checksums decide whether two subjects did the same work: check them against
// plain references, so that a bench run can trust them. (No timing here: npm test never runs the bench.)

import test from 'ava'
import { createHash } from 'node:crypto'

import { digest, mix, randomOffsets, sumFunction, sumU32 } from '../benchmark/lib/checksum.mjs'
import { pattern } from './helpers.js'

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
