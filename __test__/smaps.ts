// What the kernel records about this process's mappings (Linux /proc/self/smaps): the reference
// the memory-control specs check advice, locks and huge pages against.

import { existsSync, readFileSync } from 'node:fs'

export interface Region {
  /** The mapped file, or '' for anonymous memory. */
  path: string
  /** Size, Rss, Locked, Anonymous, AnonHugePages, ... in kB. */
  kb: Record<string, number>
  /** VmFlags: 'rr' random, 'sr' sequential, 'hg' huge pages asked, 'nh' refused, 'lo' locked, ... */
  flags: string[]
}

/** Every region of `pid` (this process by default). */
export function regions(pid: number | 'self' = 'self'): Region[] {
  const out: Region[] = []
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line)
    if (header) {
      out.push({ path: header[1], kb: {}, flags: [] })
      continue
    }
    const region = out[out.length - 1]
    const field = /^(\w+):\s+(\d+) kB$/.exec(line)
    if (region && field) region.kb[field[1]] = Number(field[2])
    if (region && line.startsWith('VmFlags:')) region.flags = line.slice(8).trim().split(/\s+/)
  }
  return out
}

/** The regions that map `path`, summed: a mapping split by advice on part of it has several. */
export function regionsOf(path: string): Region[] {
  return regions().filter((region) => region.path === path)
}

/** A kB field summed over regions. */
export function sumKb(list: Region[], field: string): number {
  return list.reduce((sum, region) => sum + (region.kb[field] ?? 0), 0)
}

/** The kernel's transparent huge page mode ('always', 'madvise', 'never'), or null without THP. */
export function thpMode(): string | null {
  const file = '/sys/kernel/mm/transparent_hugepage/enabled'
  // Under wine the host's /sys is visible as Z:\sys: a Windows process has no such kernel.
  if (process.platform !== 'linux' || !existsSync(file)) return null
  return /\[(\w+)\]/.exec(readFileSync(file, 'utf8'))?.[1] ?? null
}
