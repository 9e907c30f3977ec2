#!/usr/bin/env node
// Writes the benchmark figures quoted in README.md and docs/*.md from benchmark/results.json, so
// that the prose cannot disagree with the committed run. `npm run bench` runs it after the bench;
// `--check` changes nothing and fails, listing each stale figure, if a doc differs from what it
// would write (the doc spec runs it).
//
// A figure is an HTML comment naming what to show, the figure, and a closing comment:
//
//   `notify()` with nobody waiting: <!-- bench:ns 7/memmap atomics.notify, nobody waiting -->719<!-- /bench --> ns
//
// GitHub and npm hide the comments. The text between them is replaced; the rest is left alone.
//
//   <!-- bench:<format> <path> -->          one value of results.json
//   <!-- bench:<format> <path> / <path> --> the quotient of two ("/" with a space each side);
//                                           either may be a plain number (`... / 20000`)
//
// A path walks results.json with "/" (a name that holds "/" still matches as a whole). Its first
// step is a workload id (`7`) or a top-level key (`machine`, `memmap`, `seconds`, `peers`); after
// a workload, a subject's exact name selects it, and `extra` its extra figures; in a list, a step
// matches an element's `name` (or `id`), else a number is an index. A path that ends on a subject
// means its `median` (milliseconds); add `/ratio`, `/min`, `/max`, `/samples` for the others.
// Formats:
//
//   ms     milliseconds, shown with their unit and 3 digits: 474 ms, 33.6 µs, 1.31 s
//   us     microseconds, the same way: 62.3 µs
//   ns     a number with 3 digits and no unit (a median of 1,000,000 calls in ms is ns a call)
//   x      a ratio: 0.85×, 1.01×, 0.00029×
//   pct    a fraction as a percentage with one decimal: 99.1%
//   mib    KiB as MiB: 0.01 MiB (two decimals below 100)
//   num    a number with 3 digits;   int   a whole number with thousands commas
//   date   the date part of an ISO time;   text   the value as it is
//
// Usage: node scripts/bench-figures.mjs [--check] [--results benchmark/results.json]

import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { formatMs, formatRatio, formatUs } from '../benchmark/lib/format.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

const digits = (n) => {
  const text = n.toPrecision(3)
  return text.includes('e') ? String(Number(text)) : text
}

const FORMATS = {
  ms: (v) => formatMs(v),
  us: (v) => formatUs(v),
  ns: (v) => digits(v),
  x: (v) => formatRatio(v),
  pct: (v) => `${(v * 100).toFixed(1)}%`,
  mib: (v) => {
    const mib = v / 1024
    return `${mib >= 100 ? mib.toFixed(0) : mib.toFixed(2)} MiB`
  },
  num: (v) => digits(v),
  int: (v) => Math.round(v).toLocaleString('en-US'),
  date: (v) => String(v).slice(0, 10),
  text: (v) => String(v),
}

// One step of a path: a key, a list element by name, id or index, or a workload's subject.
function child(at, step) {
  if (Array.isArray(at)) return at.find((e) => e?.name === step || String(e?.id) === step) ?? (/^\d+$/.test(step) ? at[Number(step)] : undefined)
  if (at && typeof at === 'object' && step in at) return at[step]
  if (at && Array.isArray(at.subjects)) return at.subjects.find((s) => s.name === step)
  return undefined
}

/** The value at `path` (see the header), or an Error saying which step failed. */
function select(results, path) {
  if (/^\d+(\.\d+)?$/.test(path)) return Number(path)
  const steps = path.split('/')
  let node = /^\d+$/.test(steps[0]) ? results.workloads.find((w) => String(w.id) === steps[0]) : results[steps[0]]
  // A name may itself hold "/" ("memmap atomics, blocking (wait/notify)"): the longest run of
  // steps that names something wins.
  for (let i = 1; node !== undefined && i < steps.length; ) {
    let next
    let j = steps.length
    for (; j > i && next === undefined; j--) next = child(node, steps.slice(i, j).join('/'))
    if (next === undefined) throw new Error(`no "${steps[i]}" in ${steps.slice(0, i).join('/')}`)
    node = next
    i = j + 1
  }
  if (node === undefined) throw new Error(`no "${steps[0]}" in results.json`)
  if (node && typeof node === 'object' && 'median' in node) node = node.median
  if (node === null || typeof node === 'object') throw new Error(`${path} is not a single value`)
  return node
}

/** The text a marker's spec (`<format> <path>[ / <path>]`) stands for. */
export function figure(results, spec) {
  const space = spec.indexOf(' ')
  const format = FORMATS[spec.slice(0, space)]
  if (space < 0 || !format) throw new Error(`unknown format in "${spec}": one of ${Object.keys(FORMATS).join(', ')}`)
  const [top, bottom] = spec.slice(space + 1).split(' / ')
  let value = select(results, top.trim())
  if (bottom !== undefined) value = value / select(results, bottom.trim())
  return format(value)
}

const MARKER = /<!-- bench:(.*?) -->([\s\S]*?)<!-- \/bench -->/g

/** The text of one doc with every figure written; `stale` collects what changed. */
export function rewrite(results, file, text, stale) {
  return text.replace(MARKER, (whole, spec, old, at) => {
    const line = text.slice(0, at).split('\n').length
    let value
    try {
      value = figure(results, spec.trim())
    } catch (error) {
      throw new Error(`${file}:${line}: <!-- bench:${spec} -->: ${error.message}`, { cause: error })
    }
    if (value !== old) stale.push(`${file}:${line}: ${spec.trim()}: "${old}" → "${value}"`)
    return `<!-- bench:${spec} -->${value}<!-- /bench -->`
  })
}

export function docFiles() {
  const docs = readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .toSorted()
  return [join(root, 'README.md'), ...docs.map((name) => join(root, 'docs', name))]
}

function main(argv) {
  const check = argv.includes('--check')
  const at = argv.indexOf('--results')
  const resultsPath = at >= 0 ? argv[at + 1] : join(root, 'benchmark', 'results.json')
  const results = JSON.parse(readFileSync(resultsPath, 'utf8'))
  const stale = []
  let count = 0
  for (const path of docFiles()) {
    const file = relative(root, path)
    const text = readFileSync(path, 'utf8')
    count += [...text.matchAll(MARKER)].length
    const next = rewrite(results, file, text, stale)
    if (!check && next !== text) writeFileSync(path, next)
  }
  if (check && stale.length > 0) {
    console.error(`${stale.length} benchmark figure(s) differ from ${relative(root, resultsPath)}; run \`node scripts/bench-figures.mjs\`:`)
    for (const line of stale) console.error(`  ${line}`)
    process.exitCode = 1
  } else {
    console.log(`${count} benchmark figures ${check ? 'match' : 'written from'} ${relative(root, resultsPath)}${check || stale.length === 0 ? '' : ` (${stale.length} changed)`}`)
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    main(process.argv.slice(2))
  } catch (error) {
    console.error(error.message)
    process.exitCode = 1
  }
}
