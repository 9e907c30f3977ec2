// 5. 20,000 times: open a 64 KiB file, read its first 8 bytes, close it.

import { closeSync, openSync, readFileSync, readSync } from 'node:fs'

import { mix } from '../lib/checksum.mjs'
import { peerMapFile } from '../lib/subjects.mjs'

export default {
  id: 5,
  title: '20,000 open + close of a 64 KiB file',
  what:
    'Open, read the first 8 bytes (so the checksum proves the file was reached), close; 20,000 times a run. ' +
    'The peers cannot unmap: their mappings wait for the GC.',
  baseline: 'fs open + readSync + close',

  subjects({ memmap, peers, small, quick }) {
    const times = quick ? 2000 : 20_000
    const eight = Buffer.alloc(8)
    const loop = (once) => () => {
      let checksum = 0
      for (let i = 0; i < times; i++) checksum = once(checksum)
      return checksum
    }
    return [
      {
        name: 'fs open + readSync + close',
        group: 'fs',
        iterations: 10,
        warmup: 1,
        run: loop((checksum) => {
          const fd = openSync(small, 'r')
          readSync(fd, eight, 0, 8, 0)
          closeSync(fd)
          return mix(checksum, eight.readUInt32LE(0), eight.readUInt32LE(4))
        }),
      },
      {
        name: 'fs readFileSync',
        group: 'fs',
        note: 'reads all 64 KiB',
        iterations: 10,
        warmup: 1,
        run: loop((checksum) => {
          const bytes = readFileSync(small)
          return mix(checksum, bytes.readUInt32LE(0), bytes.readUInt32LE(4))
        }),
      },
      {
        name: 'memmap openSync + read() + close',
        group: 'memmap',
        iterations: 10,
        warmup: 1,
        run: loop((checksum) => {
          const m = memmap.openSync(small)
          m.read(eight, 0)
          m.close()
          return mix(checksum, eight.readUInt32LE(0), eight.readUInt32LE(4))
        }),
      },
      {
        name: 'memmap openSync + view(0, 8) + close',
        group: 'memmap',
        iterations: 10,
        warmup: 1,
        run: loop((checksum) => {
          const m = memmap.openSync(small)
          const bytes = m.view(0, 8)
          const result = mix(checksum, bytes.readUInt32LE(0), bytes.readUInt32LE(4))
          m.close()
          return result
        }),
      },
      {
        name: 'memmap openSync + buffer + close',
        group: 'memmap',
        iterations: 10,
        warmup: 1,
        run: loop((checksum) => {
          const m = memmap.openSync(small)
          const bytes = m.buffer
          const result = mix(checksum, bytes.readUInt32LE(0), bytes.readUInt32LE(4))
          m.close()
          return result
        }),
      },
      ...peers.map((peer) => ({
        name: `${peer.name} map`,
        group: 'peer',
        note: 'no unmap',
        iterations: 10,
        warmup: 1,
        run: loop((checksum) => {
          const bytes = peerMapFile(peer.mmap, small)
          return mix(checksum, bytes.readUInt32LE(0), bytes.readUInt32LE(4))
        }),
      })),
    ]
  },
}
