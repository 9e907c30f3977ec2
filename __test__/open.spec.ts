import test from 'ava'
import { readFileSync } from 'node:fs'

import { openSync, open, pageSize } from '../index.js'
import { pattern, tempFile } from './helpers.js'

test('mode r maps the whole file and matches fs.readFileSync', (t) => {
  const path = tempFile(pattern(3 * pageSize + 123))
  const m = openSync(path)
  t.deepEqual(m.buffer, readFileSync(path))
  t.is(m.kind, 'file')
  t.is(m.mode, 'r')
  t.is(m.path, path)
  t.is(m.offset, 0)
  t.is(m.length, 3 * pageSize + 123)
  t.false(m.closed)
  m.close()
})

test('open() maps off the JavaScript thread and gives the same bytes', async (t) => {
  const path = tempFile(pattern(10_000))
  const m = await open(path, { offset: 17, length: 5000 })
  t.deepEqual(m.buffer, readFileSync(path).subarray(17, 5017))
  m.close()
})
