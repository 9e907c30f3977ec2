// What the numbers were measured on: printed first and written into the results.

import { readFileSync } from 'node:fs'
import { cpus, loadavg, release, totalmem } from 'node:os'

const GiB = 1024 ** 3

/** The filesystem type that holds `dir` (Linux: the longest mount point that prefixes it). */
function filesystemOf(dir) {
  try {
    let best = { point: '', type: 'unknown' }
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [, point, type] = line.split(' ')
      if (point === undefined) continue
      const prefix = point.endsWith('/') ? point : `${point}/`
      if ((dir === point || dir.startsWith(prefix)) && point.length >= best.point.length) best = { point, type }
    }
    return best.type
  } catch {
    return 'unknown'
  }
}

/** CPU model, cores, RAM, OS, Node.js and V8 versions, the date, and how busy the machine was. */
export function machine(dir) {
  const list = cpus()
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    ramGiB: Math.round((totalmem() / GiB) * 10) / 10,
    os: `${process.platform} ${release()} ${process.arch}`,
    node: process.version,
    v8: process.versions.v8,
    date: new Date().toISOString(),
    tmpFilesystem: filesystemOf(dir),
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
  }
}

/** One line for people. */
export function describeMachine(m) {
  return (
    `${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM; ${m.os}; Node.js ${m.node} (V8 ${m.v8}); ` +
    `data on ${m.tmpFilesystem}; load average ${m.loadavg.join(' ')} at start; ${m.date}`
  )
}
