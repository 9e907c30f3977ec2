// 1. Open a 1 GiB file and read its first and last byte; then, in a fresh process per subject,
// the memory that this cost the process.

import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { log } from '../lib/harness.mjs'
import { benchDir, peerMapFile } from '../lib/subjects.mjs'

const mib = (kib) => (kib === null || kib === undefined ? '   n/a' : `${(kib / 1024).toFixed(1).padStart(7)} MiB`)

/** The first and last byte as one number: what every subject must return. */
const ends = (first, last) => first * 256 + last

export default {
  id: 1,
  title: 'Open a 1 GiB file, read its first and last byte',
  what:
    'From a path to the two bytes in hand, the file closed again (memmap) or left to the GC (the ' +
    'peers cannot unmap), repeated without forcing a GC between runs, so V8\'s own GC work for the ' +
    'external memory is counted; then resident memory after one open, each subject in a fresh process.',
  baseline: 'fs.readFileSync',

  subjects({ memmap, peers, big, bigSize }) {
    const one = Buffer.alloc(1)
    return [
      {
        name: 'fs readFileSync',
        group: 'fs',
        iterations: 5,
        run() {
          const bytes = readFileSync(big)
          return ends(bytes[0], bytes[bytes.length - 1])
        },
      },
      {
        name: 'memmap openSync + buffer',
        group: 'memmap',
        note: 'whole-mapping Buffer: V8 counts 1 GiB of external memory',
        iterations: 200,
        warmup: 50,
        settle: false,
        run() {
          const m = memmap.openSync(big)
          const bytes = m.buffer
          const result = ends(bytes[0], bytes[bytes.length - 1])
          m.close()
          return result
        },
      },
      {
        name: 'memmap openSync + view()',
        group: 'memmap',
        note: 'two 1-byte views: V8 counts only what they cover',
        iterations: 200,
        warmup: 50,
        settle: false,
        run() {
          const m = memmap.openSync(big)
          const result = ends(m.view(0, 1)[0], m.view(-1)[0])
          m.close()
          return result
        },
      },
      {
        name: 'memmap openSync + read()',
        group: 'memmap',
        note: 'copies the two bytes out; no Buffer over the mapping',
        iterations: 200,
        warmup: 50,
        settle: false,
        run() {
          const m = memmap.openSync(big)
          m.read(one, 0)
          const first = one[0]
          m.read(one, bigSize - 1)
          const result = ends(first, one[0])
          m.close()
          return result
        },
      },
      ...peers.map((peer) => ({
        name: `${peer.name} map`,
        group: 'peer',
        note: 'no unmap: the mapping goes when the GC collects the Buffer',
        iterations: 200,
        warmup: 50,
        settle: false,
        run() {
          const bytes = peerMapFile(peer.mmap, big)
          return ends(bytes[0], bytes[bytes.length - 1])
        },
      })),
    ]
  },

  /** Resident memory after one open, each subject alone in a fresh process. */
  extra({ peers, big }) {
    const kinds = [
      ['fs readFileSync', 'fs'],
      ['memmap openSync + buffer', 'memmap-buffer'],
      ['memmap openSync + view()', 'memmap-view'],
      ['memmap openSync + read()', 'memmap-read'],
      ...peers.map((peer) => [`${peer.name} map`, `peer:${peer.name}`]),
    ]
    const rss = []
    log('  resident memory after one open, fresh process each (own memory = RssAnon, all = VmRSS):')
    for (const [name, kind] of kinds) {
      const child = spawnSync(process.execPath, ['--expose-gc', join(benchDir, 'lib', 'rss-child.mjs'), kind, big], {
        encoding: 'utf8',
        timeout: 120_000,
      })
      const line = child.stdout.trim().split('\n').pop()
      let row
      try {
        row = { name, ...JSON.parse(line) }
      } catch {
        row = { name, error: `child failed (${child.signal ?? child.status}): ${child.stderr.trim().split('\n').pop()}` }
      }
      rss.push(row)
      log(
        row.error
          ? `    ${name.padEnd(42)} ✗ ${row.error}`
          : `    ${name.padEnd(42)} own ${mib(row.anonDeltaKiB)}  all ${mib(row.rssDeltaKiB)}  first open ${row.openMs.toFixed(2)} ms`,
      )
    }
    return { rss }
  },
}
