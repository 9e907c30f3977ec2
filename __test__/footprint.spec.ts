// usage(): what memmap holds in this process, true after close(), collection and resize().
// Serial: the counters are the whole process's.

import test from 'ava'
import { readFileSync } from 'node:fs'
import { once } from 'node:events'
import { Worker } from 'node:worker_threads'

import { anonymous, createShared, fromHandle, openSync, pageSize, unlinkShared, usage } from '../index.js'
import { lastJson, linux, root, runChild, sharedName, tempFile, testIf, windows } from './helpers.js'

test.serial('opening counts a mapping and its bytes; close() gives them back; regions cover them', (t) => {
  const before = usage()
  t.deepEqual(Object.keys(before).toSorted(), ['mappedBytes', 'mappings', 'regionLimit', 'regions', 'retiredBytes'])
  const name = sharedName(t, unlinkShared)
  const file = openSync(tempFile(Buffer.alloc(3 * pageSize)), { mode: 'r+' })
  const memory = anonymous(5 * pageSize)
  const shared = createShared(name, 2 * pageSize)
  const open = usage()
  t.is(open.mappings, before.mappings + 3)
  t.is(open.mappedBytes, before.mappedBytes + 10 * pageSize)
  t.true(open.regions >= before.regions + 3, `${before.regions} regions, then ${open.regions}`)
  for (const m of [file, memory, shared]) m.close()
  const after = usage()
  t.is(after.mappings, before.mappings)
  t.is(after.mappedBytes, before.mappedBytes)
  t.is(after.regions, before.regions)
})

test.serial('regionLimit is the cap at which opening fails: half of vm.max_map_count on Linux, Infinity where there is none', (t) => {
  const { regionLimit } = usage()
  if (linux) t.is(regionLimit, Math.floor(Number(readFileSync('/proc/sys/vm/max_map_count', 'utf8')) / 2))
  else t.is(regionLimit, Infinity)
})

test.serial('resize() changes mappedBytes; a failed resize changes nothing', (t) => {
  const before = usage()
  const m = anonymous(pageSize)
  m.resize(4 * pageSize)
  t.is(usage().mappedBytes, before.mappedBytes + 4 * pageSize)
  const path = tempFile(Buffer.alloc(pageSize))
  const r = openSync(path)
  t.throws(() => r.resize(8 * pageSize), { code: 'ERR_MMAP_OUT_OF_RANGE' })
  t.is(usage().mappedBytes, before.mappedBytes + 5 * pageSize)
  r.close()
  m.close()
  t.is(usage().mappedBytes, before.mappedBytes)
})

test.serial('a Mapping made by fromHandle() counts as a mapping, its shared memory once; one in a worker counts here too', async (t) => {
  const before = usage()
  const m = anonymous(2 * pageSize)
  const other = fromHandle(m.handle())
  t.is(usage().mappings, before.mappings + 2)
  t.is(usage().mappedBytes, before.mappedBytes + 2 * pageSize)
  other.close()
  const w = new Worker(
    `
const memmap = require(${JSON.stringify(root)})
const { parentPort } = require('node:worker_threads')
const kept = memmap.anonymous(3 * 4096)
parentPort.postMessage('open')
parentPort.once('message', () => { kept.close(); parentPort.close() })
`,
    { eval: true },
  )
  const exited = once(w, 'exit')
  t.is((await once(w, 'message'))[0], 'open')
  t.is(usage().mappings, before.mappings + 2)
  t.is(usage().mappedBytes, before.mappedBytes + 2 * pageSize + 3 * 4096)
  // A worker_threads Worker, not a window: there is no origin to give.
  // oxlint-disable-next-line unicorn/require-post-message-target-origin
  w.postMessage('close')
  await exited
  m.close()
  t.is(usage().mappings, before.mappings)
  t.is(usage().mappedBytes, before.mappedBytes)
})

test.serial('mappings nobody closed are given back when collected', (t) => {
  const child = runChild(
    `
;(async () => {
  const before = memmap.usage()
  let kept = []
  for (let i = 0; i < 100; i++) kept.push(memmap.anonymous(4096))
  const open = memmap.usage()
  kept = null
  for (let i = 0; i < 4; i++) { globalThis.gc(); await new Promise((resolve) => setTimeout(resolve, 10)) }
  const after = memmap.usage()
  console.log(JSON.stringify({ opened: open.mappings - before.mappings, left: after.mappings - before.mappings, bytes: after.mappedBytes - before.mappedBytes }))
})()
`,
    { args: ['--expose-gc'] },
  )
  t.is(child.status, 0, child.stderr)
  t.deepEqual(lastJson(child), { opened: 100, left: 0, bytes: 0 })
})

testIf(!windows, 'Windows unmaps a closed view at once (README, Safety): nothing is retired')(
  'a Buffer kept past close() holds retiredBytes until it is collected',
  (t) => {
    const child = runChild(
      `
;(async () => {
  const before = memmap.usage()
  const m = memmap.anonymous(16 * 4096)
  let kept = m.view()
  kept[0] = 1
  m.close()
  const closed = memmap.usage()
  kept = null
  for (let i = 0; i < 4; i++) { globalThis.gc(); await new Promise((resolve) => setTimeout(resolve, 10)) }
  const after = memmap.usage()
  console.log(JSON.stringify({
    retired: closed.retiredBytes - before.retiredBytes,
    mapped: closed.mappedBytes - before.mappedBytes,
    left: after.retiredBytes - before.retiredBytes,
    regions: after.regions - before.regions,
  }))
})()
`,
      { args: ['--expose-gc'] },
    )
    t.is(child.status, 0, child.stderr)
    t.deepEqual(lastJson(child), { retired: 16 * 4096, mapped: 0, left: 0, regions: 0 })
  },
)
