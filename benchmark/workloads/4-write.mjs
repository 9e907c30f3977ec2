// 4. Write 256 MiB to a new file and make it durable.

import { closeSync, fsyncSync, ftruncateSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'

import { digest } from '../lib/checksum.mjs'

const MiB = 1024 * 1024

export default {
  id: 4,
  title: 'Write 256 MiB and make it durable',
  what:
    'The same 256 MiB from memory into a new file (removed before each run, untimed), durable on ' +
    'disk when the call returns: fsync for fs, msync(MS_SYNC) for the mappings. The file is compared after the check run.',
  baseline: 'fs.writeSync + fsync',

  subjects({ memmap, peers, dir, big, quick }) {
    const size = quick ? 32 * MiB : 256 * MiB
    const out = join(dir, 'written.bin')
    const source = Buffer.allocUnsafeSlow(size)
    const input = openSync(big, 'r')
    for (let pos = 0; pos < size; ) pos += readSync(input, source, pos, size - pos, pos)
    closeSync(input)

    const common = {
      iterations: 5,
      beforeEach: () => rmSync(out, { force: true }),
      check: () => digest(readFileSync(out)),
    }
    return [
      {
        ...common,
        name: 'fs writeSync + fsync',
        group: 'fs',
        run() {
          const fd = openSync(out, 'w')
          for (let done = 0; done < size; ) done += writeSync(fd, source, done, size - done, done)
          fsyncSync(fd)
          closeSync(fd)
          return size
        },
      },
      {
        ...common,
        name: 'memmap w+ write() + flush',
        group: 'memmap',
        note: 'copy in with write(): no Buffer over the mapping',
        run() {
          const m = memmap.openSync(out, { mode: 'w+', size })
          m.write(source, 0)
          m.flush()
          m.close()
          return size
        },
      },
      {
        ...common,
        name: 'memmap w+ buffer.set() + flush',
        group: 'memmap',
        run() {
          const m = memmap.openSync(out, { mode: 'w+', size })
          m.buffer.set(source)
          m.flush()
          m.close()
          return size
        },
      },
      ...peers.map((peer) => ({
        ...common,
        name: `${peer.name} set() + sync`,
        group: 'peer',
        note: 'ftruncate, map(MAP_SHARED), set, sync(blocking)',
        run() {
          const { mmap } = peer
          const fd = openSync(out, 'w+')
          ftruncateSync(fd, size)
          const bytes = mmap.map(size, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 0)
          closeSync(fd)
          bytes.set(source)
          mmap.sync(bytes, 0, size, true, false)
          return size
        },
      })),
    ]
  },
}
