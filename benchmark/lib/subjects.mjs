// The things measured: memmap (this checkout's build, or MEMMAP_BENCH_PACKAGE), and the npm
// peers from benchmark/package.json where they installed. A peer that is missing or does not
// load is skipped with a reason; the bench never fails because of a peer.

import { closeSync, existsSync, fstatSync, openSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
export const benchDir = resolve(here, '..')
const requireHere = createRequire(join(benchDir, 'package.json'))

/** Where memmap is loaded from: the repository root unless MEMMAP_BENCH_PACKAGE names another. */
export const memmapPath = resolve(process.env.MEMMAP_BENCH_PACKAGE || join(benchDir, '..'))

/** Why memmap cannot be loaded, or null when it can. */
export function memmapProblem() {
  if (!existsSync(join(memmapPath, 'index.js'))) {
    return `memmap is not built at ${memmapPath} (no index.js): run \`npm run build\` first`
  }
  return null
}

export function loadMemmap() {
  return requireHere(memmapPath)
}

export function memmapVersion() {
  return JSON.parse(readFileSync(join(memmapPath, 'package.json'), 'utf8')).version
}

/** The peers in the order they are shown. */
export const PEER_NAMES = ['@riaskov/mmap-io', 'mmap-io']

/**
 * Every peer, loaded or not: `{ name, version, mmap }` or `{ name, skipped }` with the reason.
 */
export function loadPeers() {
  return PEER_NAMES.map((name) => {
    let version = null
    try {
      version = requireHere(`${name}/package.json`).version
    } catch {
      return { name, skipped: 'not installed (an optional dependency of benchmark/: its native build failed or npm skipped it)' }
    }
    try {
      const mmap = requireHere(name)
      if (typeof mmap.map !== 'function') return { name, version, skipped: 'loaded, but has no map() function' }
      return { name, version, mmap }
    } catch (error) {
      const reason = String(error?.message ?? error).split('\n')[0]
      return { name, version, skipped: `installed but does not load: ${reason}` }
    }
  })
}

/**
 * Maps a whole file with a peer, the way its README does: open, fstat, map(MAP_SHARED), close
 * the descriptor. The peers have no unmap: the pages go when the Buffer is collected.
 */
export function peerMapFile(mmap, path, write = false) {
  const fd = openSync(path, write ? 'r+' : 'r')
  try {
    const size = fstatSync(fd).size
    const protection = write ? mmap.PROT_READ | mmap.PROT_WRITE : mmap.PROT_READ
    return mmap.map(size, protection, mmap.MAP_SHARED, fd, 0)
  } finally {
    closeSync(fd)
  }
}
