// 2. Sum every 32-bit word of the 1 GiB file: the page cache through copies (fs), through the
// mapping, and the same loop over a Buffer in the process's own memory as the ceiling.

import { closeSync, openSync, readFileSync, readSync } from 'node:fs'

import { sumFunction } from '../lib/checksum.mjs'
import { peerMapFile } from '../lib/subjects.mjs'

const CHUNK = 1024 * 1024

/** Sums a file chunk by chunk with `readInto(chunk, position) → bytes read`. */
function chunkedSum(readInto, size) {
  const sum = sumFunction()
  const chunk = Buffer.allocUnsafeSlow(CHUNK)
  const words = new Uint32Array(chunk.buffer, chunk.byteOffset, CHUNK >>> 2)
  return () => {
    let total = 0
    for (let pos = 0; pos < size; ) {
      const n = readInto(chunk, pos)
      if (n === 0) break
      total = (total + sum(n === CHUNK ? words : words.subarray(0, n >>> 2))) | 0
      pos += n
    }
    return total >>> 0
  }
}

/** A scan of words that are already there. */
function scanOnce(words) {
  const sum = sumFunction()
  return () => sum(words) >>> 0
}

const wordsOf = (bytes) => new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2)

export default {
  id: 2,
  title: 'Sum a Uint32Array over the whole 1 GiB',
  what:
    'One pass over every 32-bit word. "Mapped once" maps before timing, so its pages are already ' +
    'in the page tables; "open + scan + close" pays for the mapping and its page faults every time.',
  baseline: 'fs.readSync, 1 MiB chunks',

  subjects({ memmap, peers, big, bigSize }) {
    let fd, heap, mapping, scan
    const openScanClose = (options) => {
      const sum = sumFunction()
      return () => {
        const m = memmap.openSync(big, options)
        const result = sum(wordsOf(m.buffer)) >>> 0
        m.close()
        return result
      }
    }
    return [
      {
        name: 'fs readSync, 1 MiB chunks',
        group: 'fs',
        iterations: 5,
        setup() {
          fd = openSync(big, 'r')
          scan = chunkedSum((chunk, pos) => readSync(fd, chunk, 0, chunk.length, pos), bigSize)
        },
        run: () => scan(),
        teardown: () => closeSync(fd),
      },
      {
        name: 'in-heap Buffer (ceiling)',
        group: 'ceiling',
        note: 'the file read into the process first (untimed)',
        iterations: 5,
        setup() {
          heap = readFileSync(big)
          scan = scanOnce(wordsOf(heap))
        },
        run: () => scan(),
        teardown() {
          heap = undefined
          scan = undefined
        },
      },
      {
        name: 'memmap buffer, mapped once',
        group: 'memmap',
        iterations: 5,
        setup() {
          mapping = memmap.openSync(big)
          scan = scanOnce(wordsOf(mapping.buffer))
        },
        run: () => scan(),
        teardown() {
          mapping.close()
          scan = undefined
        },
      },
      {
        name: 'memmap open + buffer scan + close',
        group: 'memmap',
        note: 'includes the page faults of a fresh mapping',
        iterations: 5,
        setup() {
          scan = openScanClose()
        },
        run: () => scan(),
      },
      {
        name: 'memmap open({ populate }) + scan + close',
        group: 'memmap',
        note: 'the pages read in at open (MADV_POPULATE_READ), not copied: the scan takes no page faults',
        iterations: 5,
        setup() {
          scan = openScanClose({ populate: true })
        },
        run: () => scan(),
      },
      {
        name: 'memmap read(), 1 MiB chunks',
        group: 'memmap',
        iterations: 5,
        setup() {
          mapping = memmap.openSync(big)
          scan = chunkedSum((chunk, pos) => mapping.read(chunk, pos), bigSize)
        },
        run: () => scan(),
        teardown() {
          mapping.close()
          scan = undefined
        },
      },
      ...peers.map((peer) => ({
        name: `${peer.name}, mapped once`,
        group: 'peer',
        iterations: 5,
        setup() {
          scan = scanOnce(wordsOf(peerMapFile(peer.mmap, big)))
        },
        run: () => scan(),
        teardown() {
          scan = undefined
        },
      })),
    ]
  },
}
