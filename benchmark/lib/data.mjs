// The generated files every workload reads: written once per run into a temporary directory,
// fsynced (so no writeback runs during the timings) and read through once, so the page cache
// is warm before the first workload starts.

import { closeSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs'
import { join } from 'node:path'

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB

export const DATA = {
  big: { name: 'big.bin', size: (quick) => (quick ? 64 * MiB : 1 * GiB), seed: 0x1234567 },
  small: { name: 'small.bin', size: () => 64 * KiB, seed: 0x7654321 },
  lines: { name: 'lines.txt', size: (quick) => (quick ? 64 * MiB : 1 * GiB), seed: 0x2468ace, lines: true },
}

const CHUNK = 16 * MiB

/**
 * Writes `size` bytes of text lines of 1 to 199 letters (about 100 bytes with the newline, every
 * 20th ending in CRLF), then fsyncs. Lines run across chunks, as in any file.
 */
function writeLines(path, size, seed) {
  const chunk = Buffer.allocUnsafeSlow(Math.min(CHUNK, size))
  let x = seed >>> 0 || 1
  let left = 0
  let line = 0
  const fd = openSync(path, 'w')
  try {
    for (let pos = 0; pos < size; pos += chunk.length) {
      const n = Math.min(chunk.length, size - pos)
      for (let i = 0; i < n; i++) {
        if (left === 0) {
          x ^= x << 13
          x ^= x >>> 17
          x ^= x << 5
          left = ((x >>> 0) % 199) + 2
          line++
        }
        left--
        chunk[i] = left === 0 ? 10 : left === 1 && line % 20 === 0 ? 13 : 97 + (((x >>> 0) + left) % 26)
      }
      for (let done = 0; done < n; ) done += writeSync(fd, chunk, done, n - done, pos + done)
    }
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** Writes `size` bytes of xorshift32 words (no two chunks alike), then fsyncs. */
function writePattern(path, size, seed) {
  const chunk = Buffer.allocUnsafeSlow(Math.min(CHUNK, size))
  const words = new Uint32Array(chunk.buffer, chunk.byteOffset, chunk.byteLength >>> 2)
  let x = seed >>> 0 || 1
  const fd = openSync(path, 'w')
  try {
    for (let pos = 0; pos < size; pos += chunk.length) {
      for (let i = 0; i < words.length; i++) {
        x ^= x << 13
        x ^= x >>> 17
        x ^= x << 5
        words[i] = x
      }
      const n = Math.min(chunk.length, size - pos)
      for (let done = 0; done < n; ) done += writeSync(fd, chunk, done, n - done, pos + done)
    }
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** Reads the file through once, so every page is in the page cache. */
function warm(path, size) {
  const chunk = Buffer.allocUnsafeSlow(Math.min(CHUNK, size))
  const fd = openSync(path, 'r')
  try {
    for (let pos = 0; pos < size; ) pos += readSync(fd, chunk, 0, chunk.length, pos) || size
  } finally {
    closeSync(fd)
  }
}

/** Writes and warms every data file in `dir`. */
export function generate(dir, quick) {
  for (const file of Object.values(DATA)) {
    const path = join(dir, file.name)
    if (file.lines) writeLines(path, file.size(quick), file.seed)
    else writePattern(path, file.size(quick), file.seed)
    warm(path, file.size(quick))
  }
}
