// npm run bench: memmap against fs and the npm mmap peers, one workload per process.
//
//   node benchmark/run.mjs [--quick] [--only 1,3] [--write]
//
// --quick uses a 64 MiB file and fewer samples, --only picks workloads; either one leaves the
// committed results alone unless --write is given. BENCH_DIR picks where the data files go
// (default: the OS's temp dir); MEMMAP_BENCH_PACKAGE benchmarks another memmap checkout.

import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'

import { generate } from './lib/data.mjs'
import { describeMachine, machine } from './lib/machine.mjs'
import { formatRatio } from './lib/format.mjs'
import { markdown } from './lib/report.mjs'
import { benchDir, loadPeers, memmapPath, memmapProblem, memmapVersion } from './lib/subjects.mjs'
import { svg } from './lib/svg.mjs'
import { checkTargets, verdict } from './lib/targets.mjs'

const WORKLOADS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
const TIMEOUT_MS = 5 * 60 * 1000

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const onlyAt = args.indexOf('--only')
const only = onlyAt >= 0 ? args[onlyAt + 1].split(',').map(Number) : null
const write = (!quick && !only) || args.includes('--write')
const log = (text = '') => process.stderr.write(`${text}\n`)

const problem = memmapProblem()
if (problem) {
  log(`benchmark: ${problem}`)
  process.exit(1)
}

const started = performance.now()
const dir = mkdtempSync(join(process.env.BENCH_DIR || tmpdir(), 'memmap-bench-'))
const cleanup = () => rmSync(dir, { recursive: true, force: true })
process.on('exit', cleanup)
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    cleanup()
    process.exit(130)
  })
}

const info = machine(dir)
log(`machine: ${describeMachine(info)}`)
let commit = null
try {
  commit = execFileSync('git', ['-C', memmapPath, 'describe', '--always', '--dirty'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim()
} catch {
  // Not a git checkout: the version alone says what was measured.
}
log(`memmap: ${memmapVersion()}${commit ? ` (${commit})` : ''} from ${memmapPath}`)
const peers = loadPeers()
for (const peer of peers) {
  log(peer.skipped ? `peer ${peer.name}: skipped: ${peer.skipped}` : `peer ${peer.name} ${peer.version}: loaded`)
}

log(`\ngenerating the data files in ${dir} (written, fsynced, read through once: the page cache is warm)`)
const genStart = performance.now()
generate(dir, quick)
log(`  done in ${((performance.now() - genStart) / 1000).toFixed(1)} s`)

/** Runs one workload in a fresh process and gathers what it reported. */
function runWorkload(id) {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', join(benchDir, 'workload.mjs'), String(id), dir, ...(quick ? ['--quick'] : [])],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    const workload = { id, subjects: [] }
    let pending = ''
    const take = (line) => {
      if (!line.trim()) return
      let record
      try {
        record = JSON.parse(line)
      } catch {
        log(`  (workload ${id} printed: ${line})`)
        return
      }
      if (record.type === 'workload') Object.assign(workload, { title: record.title, what: record.what, baseline: record.baseline })
      else if (record.type === 'subject') workload.subjects.push(record)
      else if (record.type === 'skipped') workload.skipped = record.reason
      else if (record.type === 'extra') workload.extra = record
      else if (record.type === 'done') workload.done = true
    }
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk) => {
      pending += chunk
      const lines = pending.split('\n')
      pending = lines.pop()
      lines.forEach(take)
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      take(pending)
      if (!workload.done) {
        workload.error = `the process ended early (${signal ?? `exit code ${code}`}); what it measured before that is kept`
        log(`  ✗ workload ${id}: ${workload.error}`)
      }
      delete workload.done
      resolve(workload)
    })
  })
}

const workloads = []
for (const id of only ?? WORKLOADS) {
  const workload = await runWorkload(id)
  // Ratios: each median over the baseline's (the workload's first subject), same process.
  const base = workload.subjects[0]
  for (const subject of workload.subjects) {
    if (base?.median !== undefined && subject.median !== undefined && !base.error) subject.ratio = subject.median / base.median
  }
  workloads.push(workload)
}

const targets = checkTargets(workloads)
log('\ntargets (checked, not asserted):')
for (const t of targets.filter((row) => write || row.met !== null)) log(`  ${verdict(t.met).padEnd(14)} ${t.target} [${t.subject}]: ${t.measured}`)

const results = {
  machine: info,
  memmap: { version: memmapVersion(), commit },
  peers: peers.map(({ name, version, skipped }) => ({ name, version, skipped })),
  harness: JSON.parse(readFileSync(join(benchDir, 'node_modules', 'tinybench', 'package.json'), 'utf8')).version,
  quick,
  seconds: (performance.now() - started) / 1000,
  workloads,
  targets,
}

log('\nratios to each workload\'s baseline (median over median, same process):')
for (const w of workloads) {
  const row = (w.subjects ?? []).filter((s) => s.ratio !== undefined).map((s) => `${s.name} ${formatRatio(s.ratio)}`)
  log(`  ${w.id}. ${w.skipped ? `skipped: ${w.skipped}` : row.join(' · ')}`)
}

if (write) {
  writeFileSync(join(benchDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`)
  writeFileSync(join(benchDir, 'results.md'), `${markdown(results)}\n`)
  writeFileSync(join(benchDir, 'results.svg'), svg(results))
  const where = relative(process.cwd(), benchDir) || '.'
  log(`\nwrote results.md, results.svg and results.json in ${where}/ (${Math.round(results.seconds)} s)`)
} else {
  log(`\n(partial or quick run: results not written; pass --write to write them) ${Math.round(results.seconds)} s`)
}
