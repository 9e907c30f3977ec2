// results.svg: one horizontal bar per subject, its time relative to the workload's baseline on a
// log scale centred on 1× (bars to the left of the line are faster). Plain SVG, no browser.

import { describeMachine } from './machine.mjs'
import { formatMs, formatRatio } from './format.mjs'

const COLORS = { memmap: '#2563eb', peer: '#d97706', fs: '#6b7280', ceiling: '#059669', node: '#6b7280' }
const LEGEND = [
  ['memmap', 'memmap'],
  ['peer', 'npm peers'],
  ['fs', 'fs (other than the baseline)'],
  ['ceiling', 'ceiling or reference (in-heap loop, plain Atomics.load)'],
]

/** "8.3× faster", "7,560× faster", "1.2× the time". */
function speed(ratio) {
  if (ratio >= 1) return `${ratio.toPrecision(2)}× the time`
  const times = 1 / ratio
  return `${times >= 100 ? Math.round(times).toLocaleString('en-US') : times.toPrecision(2)}× faster`
}

const escape = (text) =>
  String(text).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;')

export function svg(results) {
  const width = 1120
  const labelRight = 330
  const plotLeft = 345
  const plotRight = 800
  const valueLeft = 815
  const row = 20
  const font = "font-family='system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif'"

  // The decades that hold every ratio and 1×.
  const ratios = results.workloads.flatMap((w) => (w.subjects ?? []).map((s) => s.ratio).filter((r) => r > 0))
  const lo = Math.min(-1, Math.floor(Math.log10(Math.min(...ratios, 1))))
  const hi = Math.max(1, Math.ceil(Math.log10(Math.max(...ratios, 1))))
  const xOf = (ratio) => plotLeft + ((Math.log10(ratio) - lo) / (hi - lo)) * (plotRight - plotLeft)

  const body = []
  let y = 64
  const axis = (at) => {
    for (let d = lo; d <= hi; d++) {
      const label = d >= 0 ? `${10 ** d}×` : `${(10 ** d).toFixed(-d)}×`
      body.push(`<text x='${xOf(10 ** d)}' y='${at}' text-anchor='middle' font-size='11' fill='#374151'>${label}</text>`)
    }
  }
  axis(y)
  y += 10
  const top = y
  for (const w of results.workloads) {
    y += 8
    const base = (w.subjects ?? []).find((s) => s.ratio === 1)
    const head = base ? `1× = ${w.baseline}, ${formatMs(base.median)}` : `baseline: ${w.baseline}`
    body.push(
      `<text x='12' y='${y + 14}' font-size='13' font-weight='600' fill='#111827'>${escape(`${w.id}. ${w.title}`)}<tspan dx='6' font-weight='400' fill='#4b5563'>${escape(head)}</tspan></text>`,
    )
    y += row + 2
    if (w.skipped) {
      body.push(`<text x='${labelRight}' y='${y + 14}' text-anchor='end' font-size='12' fill='#6b7280' font-style='italic'>skipped: ${escape(w.skipped)}</text>`)
      y += row
      continue
    }
    for (const s of w.subjects ?? []) {
      if (s === base) continue
      body.push(`<text x='${labelRight}' y='${y + 14}' text-anchor='end' font-size='12' fill='#1f2937'>${escape(s.name)}</text>`)
      if (s.ratio > 0 && !s.error) {
        const x0 = xOf(1)
        const x1 = xOf(s.ratio)
        const left = Math.min(x0, x1)
        const barWidth = Math.max(Math.abs(x1 - x0), 1.5)
        body.push(`<rect x='${left.toFixed(1)}' y='${y + 4}' width='${barWidth.toFixed(1)}' height='${row - 7}' rx='2' fill='${COLORS[s.group] ?? '#6b7280'}'/>`)
        body.push(
          `<text x='${valueLeft}' y='${y + 14}' font-size='12' font-weight='600' fill='#1f2937'>${escape(formatRatio(s.ratio))}</text>`,
          `<text x='${valueLeft + 88}' y='${y + 14}' font-size='12' fill='#6b7280'>${escape(`${formatMs(s.median)} · ${speed(s.ratio)}`)}</text>`,
        )
      } else {
        body.push(`<text x='${valueLeft}' y='${y + 14}' font-size='12' fill='#b91c1c'>✗ ${escape((s.error ?? 'not measured').slice(0, 40))}</text>`)
      }
      y += row
    }
  }
  const bottom = y + 6
  const grid = []
  for (let d = lo; d <= hi; d++) {
    const gx = xOf(10 ** d).toFixed(1)
    grid.push(`<line x1='${gx}' y1='${top}' x2='${gx}' y2='${bottom}' stroke='${d === 0 ? '#111827' : '#e5e7eb'}' stroke-width='${d === 0 ? 1.5 : 1}'/>`)
  }
  y = bottom + 4
  const axisBottom = []
  const before = body.length
  axis(y + 10)
  axisBottom.push(...body.splice(before))
  y += 30

  const legend = []
  let lx = 12
  for (const [group, label] of LEGEND) {
    legend.push(`<rect x='${lx}' y='36' width='12' height='12' rx='2' fill='${COLORS[group]}'/>`)
    legend.push(`<text x='${lx + 17}' y='46' font-size='12' fill='#374151'>${escape(label)}</text>`)
    lx += 36 + label.length * 7.5
  }
  const m = results.machine
  const footer = [
    `<text x='12' y='${y}' font-size='11' fill='#4b5563'>${escape(`Median of each subject, ratio to the workload's baseline from the same process; log scale, left of 1× is faster. ${m.date.slice(0, 10)}.`)}</text>`,
    `<text x='12' y='${y + 15}' font-size='11' fill='#4b5563'>${escape(describeMachine(m).replace(/; \d{4}-.*$/, ''))}</text>`,
  ]
  const height = y + 28
  return [
    `<svg xmlns='http://www.w3.org/2000/svg' width='${width}' height='${height}' viewBox='0 0 ${width} ${height}' ${font}>`,
    `<rect width='100%' height='100%' fill='#ffffff'/>`,
    `<text x='12' y='22' font-size='16' font-weight='700' fill='#111827'>memmap against fs and the npm mmap packages: time relative to fs</text>`,
    ...legend,
    ...grid,
    ...body,
    ...axisBottom,
    ...footer,
    '</svg>',
    '',
  ].join('\n')
}
