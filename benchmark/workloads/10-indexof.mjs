// 10. Find bytes that are not there, in the whole 1 GiB file: every byte is read once. Against
// Buffer#indexOf on the file read into the process first (the same search over memory that is
// already there), and against fs reading 1 MiB chunks and searching each.

import { closeSync, openSync, readFileSync, readSync } from 'node:fs'

/** Absent from the generated file (xorshift words): the search reads every byte. */
const NEEDLE = Buffer.from('memmap: an absent needle')

/** fs.readSync in chunks, searching each (a match may straddle two chunks: they overlap by needle - 1). */
function chunkedIndexOf(fd, size, chunkSize) {
  const chunk = Buffer.allocUnsafeSlow(chunkSize + NEEDLE.length - 1)
  return () => {
    for (let pos = 0; pos < size; pos += chunkSize) {
      const n = readSync(fd, chunk, 0, chunk.length, pos)
      const at = chunk.subarray(0, n).indexOf(NEEDLE)
      if (at >= 0) return pos + at
      if (pos + n >= size) break
    }
    return -1
  }
}

export default {
  id: 10,
  title: 'indexOf: search the whole 1 GiB for 24 bytes that are not there',
  what:
    'Every byte is read once. memmap searches the mapping a 128 KiB chunk at a time with memchr\'s ' +
    'SIMD searcher; Buffer#indexOf runs on the file read into the heap beforehand (untimed) and on ' +
    'the mapping\'s own buffer; fs reads 1 MiB chunks and searches each.',
  baseline: 'fs.readSync, 1 MiB chunks + Buffer#indexOf',

  subjects({ memmap, big, bigSize }) {
    let fd, heap, search
    /** A subject that maps the file before timing and times `run(mapping)`. */
    const mappedOnce = (name, run) => {
      let mapping
      return {
        name,
        group: 'memmap',
        iterations: 5,
        setup() {
          mapping = memmap.openSync(big)
        },
        run: () => run(mapping),
        teardown: () => mapping.close(),
      }
    }
    return [
      {
        name: 'fs readSync 1 MiB chunks + Buffer#indexOf',
        group: 'fs',
        iterations: 5,
        setup() {
          fd = openSync(big, 'r')
          search = chunkedIndexOf(fd, bigSize, 1024 * 1024)
        },
        run: () => search(),
        teardown: () => closeSync(fd),
      },
      {
        name: 'in-heap Buffer#indexOf',
        group: 'ceiling',
        note: 'the file read into the process first (untimed)',
        iterations: 5,
        setup() {
          heap = readFileSync(big)
        },
        run: () => heap.indexOf(NEEDLE),
        teardown() {
          heap = undefined
        },
      },
      {
        name: 'in-heap Buffer#lastIndexOf',
        group: 'ceiling',
        note: 'the file read into the process first (untimed)',
        iterations: 5,
        setup() {
          heap = readFileSync(big)
        },
        run: () => heap.lastIndexOf(NEEDLE),
        teardown() {
          heap = undefined
        },
      },
      mappedOnce('memmap indexOf, mapped once', (m) => m.indexOf(NEEDLE)),
      mappedOnce('memmap lastIndexOf, mapped once', (m) => m.lastIndexOf(NEEDLE)),
      { ...mappedOnce('memmap indexOfAsync, mapped once', (m) => m.indexOfAsync(NEEDLE)), note: 'off the event loop, on a thread of its own (not the libuv pool)', async: true },
      {
        name: 'memmap open + indexOf + close',
        group: 'memmap',
        note: 'includes mapping the file and its page faults',
        iterations: 5,
        run() {
          const m = memmap.openSync(big)
          const at = m.indexOf(NEEDLE)
          m.close()
          return at
        },
      },
      { ...mappedOnce('Buffer#indexOf over memmap buffer', (m) => m.buffer.indexOf(NEEDLE)), note: "Node's own search over the mapped pages" },
    ]
  },
}
