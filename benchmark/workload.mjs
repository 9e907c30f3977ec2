// One workload in its own process: `node --expose-gc workload.mjs <id> <data dir> [--quick]`.
// Every subject of the workload runs here, so each ratio compares figures from one process;
// a fresh process per workload keeps one workload's heap and mappings out of the next.

import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

import { emit, log, measure } from './lib/harness.mjs'
import { benchDir, loadMemmap, loadPeers } from './lib/subjects.mjs'
import { DATA } from './lib/data.mjs'

const [id, dir, ...flags] = process.argv.slice(2)
const quick = flags.includes('--quick')
const file = readdirSync(join(benchDir, 'workloads')).find((name) => name.startsWith(`${id}-`))
if (!file) throw new Error(`no workload ${id} in benchmark/workloads`)
const workload = (await import(pathToFileURL(join(benchDir, 'workloads', file)).href)).default

const ctx = {
  dir,
  quick,
  memmap: loadMemmap(),
  peers: loadPeers().filter((peer) => peer.mmap),
  big: join(dir, DATA.big.name),
  bigSize: DATA.big.size(quick),
  small: join(dir, DATA.small.name),
  lines: join(dir, DATA.lines.name),
  linesSize: DATA.lines.size(quick),
  smallSize: DATA.small.size(quick),
}

log(`\n${workload.id}. ${workload.title}`)
emit({ type: 'workload', id: workload.id, title: workload.title, what: workload.what, baseline: workload.baseline })
const skipped = workload.skip?.(ctx)
if (skipped) {
  log(`  skipped: ${skipped}`)
  emit({ type: 'skipped', workload: workload.id, reason: skipped })
} else {
  let subjects
  try {
    subjects = await workload.subjects(ctx)
  } catch (error) {
    const reason = `could not be set up: ${String(error?.message ?? error).split('\n')[0]}`
    log(`  skipped: ${reason}`)
    emit({ type: 'skipped', workload: workload.id, reason })
  }
  // A workload gives its subjects, or `{ subjects, cleanup }` when it holds something to release.
  if (subjects) {
    const list = Array.isArray(subjects) ? subjects : subjects.subjects
    try {
      await measure(workload.id, list, { quick })
    } finally {
      subjects.cleanup?.()
    }
  }
  const extra = await workload.extra?.(ctx)
  if (extra) emit({ type: 'extra', workload: workload.id, ...extra })
}
emit({ type: 'done', workload: workload.id })
