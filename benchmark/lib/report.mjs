// results.md: the targets, then one table per workload (median, ratio to the baseline from the
// same process, samples, checksum), then the resident-memory table of workload 1.

import { describeMachine } from './machine.mjs'
import { formatMs, formatRatio, formatUs } from './format.mjs'
import { verdict } from './targets.mjs'

const mib = (kib) => (kib === null || kib === undefined ? 'n/a' : `${(kib / 1024).toFixed(1)} MiB`)
const cell = (text) => String(text).replaceAll('|', '\\|')

export function markdown(results) {
  const out = []
  const { machine, memmap, peers } = results
  out.push('# memmap benchmark results', '')
  out.push(`Measured ${machine.date.slice(0, 10)} on ${describeMachine(machine)}.`, '')
  out.push(
    `memmap ${memmap.version}${memmap.commit ? ` (${memmap.commit})` : ''}; ` +
      peers.map((p) => (p.skipped ? `${p.name}: skipped (${p.skipped})` : `${p.name} ${p.version}`)).join('; ') +
      `. Harness: tinybench ${results.harness}. Whole run: ${Math.round(results.seconds)} s.`,
    '',
  )
  out.push(
    'Each figure is the median of the samples shown; the ratio divides it by the baseline\'s median ' +
      'measured in the same process (below 1× is faster). A checksum ✓ means the subject produced the ' +
      'same result as the baseline before it was timed, and on every timed run. Written by `npm run bench`; ' +
      'what each workload does is in docs/benchmarks.md.',
    '',
  )

  out.push('## Targets', '', '| target | subject | measured | |', '|---|---|---|---|')
  for (const t of results.targets) out.push(`| ${cell(t.target)} | ${cell(t.subject)} | ${cell(t.measured)} | ${verdict(t.met)} |`)
  out.push('')

  for (const w of results.workloads) {
    out.push(`## ${w.id}. ${w.title}`, '')
    if (w.what) out.push(w.what, '')
    if (w.skipped) {
      out.push(`Skipped: ${w.skipped}.`, '')
      continue
    }
    if (w.error) out.push(`**The workload's process failed:** ${w.error}`, '')
    out.push(`| subject | median | ratio to ${cell(w.baseline)} | samples | checksum |`, '|---|---:|---:|---:|---|')
    for (const s of w.subjects ?? []) {
      const name = s.note ? `${cell(s.name)} <br><sub>${cell(s.note)}</sub>` : cell(s.name)
      if (s.median === undefined) {
        out.push(`| ${name} | – | – | – | ✗ ${cell(s.error ?? 'not measured')} |`)
        continue
      }
      out.push(
        `| ${name} | ${formatMs(s.median)} | ${s.ratio === undefined ? '–' : formatRatio(s.ratio)} | ${s.samples} | ${s.error ? `✗ ${cell(s.error)}` : '✓'} |`,
      )
    }
    out.push('')
    if (w.extra?.rss) {
      out.push(
        'Resident memory after one open, each subject in a fresh process: *own* is RssAnon (heap, ' +
          'malloc, copies), *file pages* is RssFile (page-cache pages mapped into the process, ' +
          'shared with the cache), *all* is VmRSS, what `process.memoryUsage().rss` reports.',
        '',
        '| subject | own (RssAnon) | file pages (RssFile) | all (VmRSS) | this one open |',
        '|---|---:|---:|---:|---:|',
      )
      for (const r of w.extra.rss) {
        if (r.error) out.push(`| ${cell(r.name)} | ✗ ${cell(r.error)} | | | |`)
        else out.push(`| ${cell(r.name)} | ${mib(r.anonDeltaKiB)} | ${mib(r.fileDeltaKiB)} | ${mib(r.rssDeltaKiB)} | ${formatMs(r.openMs)} |`)
      }
      out.push('')
    }
    if (w.extra?.latency) {
      out.push(
        `Per round trip: each run's median divided by its ${w.extra.rounds.toLocaleString('en-US')} round trips, and, for the ` +
          'subjects that time every round trip on its own (one `performance.now()` between round trips, ' +
          'in every run), the distribution of those times.',
        '',
        '| subject | a round trip (run median / round trips) | median round trip | p10 | p90 | p99 | round trips timed |',
        '|---|---:|---:|---:|---:|---:|---:|',
      )
      for (const s of w.subjects ?? []) {
        const row = w.extra.latency.find((r) => r.name === s.name)
        const mean = s.median === undefined ? '–' : formatUs((s.median * 1000) / w.extra.rounds)
        if (row) {
          out.push(
            `| ${cell(s.name)} | ${mean} | ${formatUs(row.medianUs)} | ${formatUs(row.p10Us)} | ${formatUs(row.p90Us)} | ${formatUs(row.p99Us)} | ${row.count.toLocaleString('en-US')} |`,
          )
        } else out.push(`| ${cell(s.name)} | ${mean} | – | – | – | – | – |`)
      }
      out.push('')
    }
    if (w.extra?.handoff) {
      out.push(
        `Per barrier round: each run's median divided by its ${w.extra.rounds.toLocaleString('en-US')} rounds. ` +
          'The hand-off through a condition: each one timed from just before notify() to the return of ' +
          "the waiter's wait(), in another process (CLOCK_MONOTONIC on both sides).",
        '',
        '| subject | a barrier round (run median / rounds) |',
        '|---|---:|',
        ...(w.subjects ?? []).map((s) => `| ${cell(s.name)} | ${s.median === undefined ? '–' : formatUs((s.median * 1000) / w.extra.rounds)} |`),
        '',
        '| hand-off | median | p10 | p90 | p99 | hand-offs timed |',
        '|---|---:|---:|---:|---:|---:|',
      )
      for (const r of w.extra.handoff) {
        if (r.error) out.push(`| ${cell(r.name)} | ✗ ${cell(r.error)} | | | | |`)
        else out.push(`| ${cell(r.name)} | ${formatUs(r.medianUs)} | ${formatUs(r.p10Us)} | ${formatUs(r.p90Us)} | ${formatUs(r.p99Us)} | ${r.count.toLocaleString('en-US')} |`)
      }
      out.push('')
    }
  }
  return out.join('\n')
}
