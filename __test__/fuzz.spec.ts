// The fixed-seed slice of the property-based fuzzing of the whole public surface
// (fuzz/surface.mjs; `npm run fuzz` runs a long one with a fresh seed). In a child process: a
// crash fails this test instead of killing the runner.

import test from 'ava'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

import { root } from './helpers.js'

test('10,000 generated call sequences: every call gives a correct result or a coded error, none kills the process', (t) => {
  const result = spawnSync(process.execPath, [join(root, 'fuzz/surface.mjs'), '--seed', '42', '--runs', '10000'], {
    encoding: 'utf8',
    timeout: 120_000,
  })
  t.is(result.signal, null, result.stderr)
  const summary = JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}') as { runs: number; failures: string[] }
  t.deepEqual(summary.failures, [])
  t.is(summary.runs, 10_000)
  t.is(result.status, 0, result.stderr)
})
