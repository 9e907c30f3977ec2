// 3. 1,000,000 reads of 8 bytes at random offsets of the 1 GiB file.

import { closeSync, openSync, readFileSync, readSync } from 'node:fs'

import { mix, randomOffsets } from '../lib/checksum.mjs'
import { peerMapFile } from '../lib/subjects.mjs'

/** The reads over a Buffer that is the file: two 32-bit words at each offset. */
function bufferReads(offsets) {
  return (bytes) => {
    let checksum = 0
    for (let i = 0; i < offsets.length; i++) {
      const at = offsets[i]
      checksum = mix(checksum, bytes.readUInt32LE(at), bytes.readUInt32LE(at + 4))
    }
    return checksum
  }
}

/** The reads through a copy call: `readAt(target, position)` fills 8 bytes. */
function copyReads(offsets, readAt) {
  const eight = Buffer.alloc(8)
  return () => {
    let checksum = 0
    for (let i = 0; i < offsets.length; i++) {
      readAt(eight, offsets[i])
      checksum = mix(checksum, eight.readUInt32LE(0), eight.readUInt32LE(4))
    }
    return checksum
  }
}

export default {
  id: 3,
  title: '1,000,000 random 8-byte reads',
  what:
    'Reads of 8 bytes at 1,000,000 pseudo-random offsets (the same for every subject), from a 1 GiB ' +
    'file mapped or opened before timing; each subject is warmed up first, so its loop is optimised.',
  baseline: 'fs.readSync at a position',

  subjects({ memmap, peers, big, bigSize, quick }) {
    const offsets = randomOffsets(quick ? 100_000 : 1_000_000, bigSize - 8)
    let fd, mapping, reads, heap
    return [
      {
        name: 'fs readSync at a position',
        group: 'fs',
        iterations: 5,
        warmup: 1,
        setup() {
          fd = openSync(big, 'r')
          reads = copyReads(offsets, (target, at) => readSync(fd, target, 0, 8, at))
        },
        run: () => reads(),
        teardown: () => closeSync(fd),
      },
      {
        name: 'in-heap Buffer (ceiling)',
        group: 'ceiling',
        note: 'the file read into the process first (untimed): what memory latency allows',
        iterations: 15,
        warmup: 2,
        setup() {
          heap = readFileSync(big)
          const over = bufferReads(offsets)
          reads = () => over(heap)
        },
        run: () => reads(),
        teardown() {
          heap = undefined
          reads = undefined
        },
      },
      {
        name: 'memmap buffer',
        group: 'memmap',
        iterations: 15,
        warmup: 2,
        setup() {
          mapping = memmap.openSync(big)
          const bytes = mapping.buffer
          const over = bufferReads(offsets)
          reads = () => over(bytes)
        },
        run: () => reads(),
        teardown: () => mapping.close(),
      },
      {
        name: 'memmap read()',
        group: 'memmap',
        note: 'one native call per read',
        iterations: 5,
        warmup: 1,
        setup() {
          mapping = memmap.openSync(big)
          reads = copyReads(offsets, (target, at) => mapping.read(target, at))
        },
        run: () => reads(),
        teardown: () => mapping.close(),
      },
      ...peers.map((peer) => ({
        name: peer.name,
        group: 'peer',
        iterations: 15,
        warmup: 2,
        setup() {
          const bytes = peerMapFile(peer.mmap, big)
          const over = bufferReads(offsets)
          reads = () => over(bytes)
        },
        run: () => reads(),
        teardown() {
          reads = undefined
        },
      })),
    ]
  },
}
