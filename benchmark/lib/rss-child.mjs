// One open of the 1 GiB file in a fresh process: `node --expose-gc rss-child.mjs <kind> <path>`.
// Prints how long the open took and how resident memory moved: VmRSS counts every resident page,
// file pages of the mapping included; RssAnon is the process's own memory (heap, malloc, copies).

import { readFileSync } from 'node:fs'

import { loadMemmap, loadPeers, peerMapFile } from './subjects.mjs'

const [kind, path] = process.argv.slice(2)

/** Resident memory in KiB from /proc/self/status, or the rss Node.js reports where there is none. */
function resident() {
  try {
    const status = readFileSync('/proc/self/status', 'utf8')
    const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
    return { rss: field('VmRSS'), anon: field('RssAnon'), file: field('RssFile') }
  } catch {
    return { rss: Math.round(process.memoryUsage().rss / 1024), anon: null, file: null }
  }
}

const memmap = loadMemmap()
const peers = loadPeers()
const one = Buffer.alloc(1)
const open = {
  fs: () => {
    const bytes = readFileSync(path)
    return { keep: bytes, ends: [bytes[0], bytes[bytes.length - 1]] }
  },
  'memmap-buffer': () => {
    const m = memmap.openSync(path)
    const bytes = m.buffer
    return { keep: m, ends: [bytes[0], bytes[bytes.length - 1]] }
  },
  'memmap-view': () => {
    const m = memmap.openSync(path)
    return { keep: m, ends: [m.view(0, 1)[0], m.view(-1)[0]] }
  },
  'memmap-read': () => {
    const m = memmap.openSync(path)
    m.read(one, 0)
    const first = one[0]
    m.read(one, m.length - 1)
    return { keep: m, ends: [first, one[0]] }
  },
}
for (const peer of peers) {
  if (!peer.mmap) continue
  open[`peer:${peer.name}`] = () => {
    const bytes = peerMapFile(peer.mmap, path)
    return { keep: bytes, ends: [bytes[0], bytes[bytes.length - 1]] }
  }
}
if (!open[kind]) throw new Error(`unknown subject ${kind}`)

// Let startup's garbage go first, so the difference is the open's.
globalThis.gc?.()
await new Promise((resolve) => setImmediate(resolve))
const before = resident()
const start = performance.now()
const held = open[kind]()
const openMs = performance.now() - start
const after = resident()
const delta = (key) => (after[key] === null ? null : after[key] - before[key])
process.stdout.write(
  `${JSON.stringify({
    openMs,
    checksum: held.ends[0] * 256 + held.ends[1],
    rssDeltaKiB: delta('rss'),
    anonDeltaKiB: delta('anon'),
    fileDeltaKiB: delta('file'),
    rssAfterKiB: after.rss,
    anonAfterKiB: after.anon,
  })}\n`,
)
// The mapping or copy stays reachable until everything was measured.
process.exitCode = held.keep ? 0 : 1
