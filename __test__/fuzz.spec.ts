// The fixed-seed slice of the property-based fuzzing of the whole public surface
// (fuzz/surface.mjs; `npm run fuzz` runs a long one with a fresh seed). In a child process: a
// crash fails this test instead of killing the runner.

import test from 'ava'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

import { emulator, root } from './helpers.js'

// Under an emulator the same runs take several times as long (wine's sleeps round up to its
// 15.6 ms timer tick): the limit grows with it.
const LIMIT = emulator ? 600_000 : 120_000

test('10,000 generated call sequences: every call gives a correct result or a coded error, none kills the process', (t) => {
  t.timeout(LIMIT + 60_000)
  const result = spawnSync(process.execPath, [join(root, 'fuzz/surface.mjs'), '--seed', '42', '--runs', '10000'], {
    encoding: 'utf8',
    timeout: LIMIT,
  })
  t.is(result.signal, null, result.stderr)
  const summary = JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}') as { runs: number; failures: string[] }
  t.deepEqual(summary.failures, [])
  t.is(summary.runs, 10_000)
  t.is(result.status, 0, result.stderr)
})
