// How figures are printed: times in the unit that suits them, ratios to two significant digits.

export function formatMs(ms) {
  if (ms >= 1000) return `${(ms / 1000).toPrecision(3)} s`
  if (ms >= 1) return `${ms.toPrecision(3)} ms`
  return `${(ms * 1000).toPrecision(3)} µs`
}

/** Microseconds, as formatMs prints them. */
export function formatUs(us) {
  return formatMs(us / 1000)
}

export function formatRatio(ratio) {
  if (ratio >= 1) return `${ratio.toFixed(2)}×`
  return `${ratio.toPrecision(2)}×`
}
