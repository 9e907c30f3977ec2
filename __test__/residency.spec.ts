// residency(), prefetch() and the populate and hugePages options, measured: sparse files have no
// page in RAM until something touches one, so mincore's answer before and after is exact.

import test from 'ava'

import { anonymous, open, openSync, pageSize } from '../index.js'
import { lastJson, QEMU_RESIDENCY, runChild, sparseFile, testIf, underQemu } from './helpers.js'
import { regionsOf, sumKb, thpMode } from './smaps.js'

const realKernel = testIf(!underQemu, QEMU_RESIDENCY)

realKernel('nothing is resident until touched; then the touched page is', (t) => {
  const m = openSync(sparseFile(256 * pageSize))
  m.advise('random') // no read-ahead: only what is touched comes in
  t.deepEqual(m.residency(), { pages: 256, resident: 0 })
  t.is(m.view(100 * pageSize + 5, 100 * pageSize + 6)[0], 0)
  t.deepEqual(m.residency(100 * pageSize, 101 * pageSize), { pages: 1, resident: 1 })
  t.deepEqual(m.residency(200 * pageSize, 201 * pageSize), { pages: 1, resident: 0 })
  const all = m.residency()
  t.true(all.resident >= 1 && all.resident <= 16, `one touch made ${all.resident} pages resident`)
  m.close()
})

test('ranges are rounded out to the pages they overlap, also at an unaligned offset', (t) => {
  const path = sparseFile(8 * pageSize)
  const m = openSync(path, { offset: 100, length: pageSize })
  // The mapping starts 100 bytes into a page and ends 100 bytes into the next.
  t.is(m.residency().pages, 2)
  t.is(m.residency(0, 1).pages, 1)
  t.is(m.residency(-1).pages, 1)
  t.deepEqual(m.residency(5, 5), { pages: 0, resident: 0 })
  t.deepEqual(m.residency(10, 2), { pages: 0, resident: 0 })
  m.close()
  t.throws(() => m.residency(), { code: 'ERR_MMAP_CLOSED' })
  t.deepEqual(anonymous(0).residency(), { pages: 0, resident: 0 })
})

realKernel('populate: every page is resident right after openSync() and open(), and none is copied', async (t) => {
  const path = sparseFile(1024 * pageSize)
  const plain = openSync(path)
  t.is(plain.residency().resident, 0)
  plain.close()
  for (const mode of ['r', 'r+'] as const) {
    const m = openSync(path, { mode, populate: true })
    t.deepEqual(m.residency(), { pages: 1024, resident: 1024 }, mode)
    t.is(sumKb(regionsOf(path), 'Anonymous'), 0, `${mode}: read in, not written`)
    m.close()
  }
  const fresh = sparseFile(512 * pageSize)
  const m = await open(fresh, { populate: true })
  t.deepEqual(m.residency(), { pages: 512, resident: 512 })
  m.close()
})

realKernel('prefetch() resolves once exactly its range is resident', async (t) => {
  const m = openSync(sparseFile(512 * pageSize))
  m.advise('random')
  const pending = m.prefetch(64 * pageSize, 128 * pageSize)
  t.true(pending instanceof Promise)
  await pending
  t.deepEqual(m.residency(64 * pageSize, 128 * pageSize), { pages: 64, resident: 64 })
  t.is(m.residency(300 * pageSize).resident, 0)
  await m.prefetch(-pageSize) // Buffer#subarray rules
  t.is(m.residency(-pageSize).resident, 1)
  await t.throwsAsync(m.prefetch(0.5), { code: 'ERR_OUT_OF_RANGE', instanceOf: RangeError })
  m.close()
  await t.throwsAsync(m.prefetch(), { code: 'ERR_MMAP_CLOSED' })
})

test('close() while prefetch() runs: close waits for it or it rejects ERR_MMAP_CLOSED; nothing crashes', (t) => {
  const path = sparseFile(2 ** 30)
  const child = runChild(`
    const outcomes = []
    const pending = []
    for (let i = 0; i < 20; i++) {
      const m = memmap.openSync(${JSON.stringify(path)})
      pending.push(m.prefetch(0, (i + 1) << 20).then(() => 'resolved', (e) => e.code))
      if (i % 2 === 0) m.close()
      else setImmediate(() => m.close())
    }
    Promise.all(pending).then((all) => console.log(JSON.stringify(all)))
  `)
  t.is(child.status, 0, child.stderr)
  const outcomes = lastJson<string[]>(child)
  t.is(outcomes.length, 20)
  for (const outcome of outcomes) t.true(outcome === 'resolved' || outcome === 'ERR_MMAP_CLOSED', outcome)
})

const thp = thpMode()

testIf(thp !== null && !underQemu, underQemu ? QEMU_RESIDENCY : 'no transparent huge pages here (a Linux kernel feature)')('hugePages: the hint reaches the kernel for a file mapping', (t) => {
  const path = sparseFile(8 << 20)
  const m = openSync(path, { hugePages: true })
  t.true(regionsOf(path).some((region) => region.flags.includes('hg')))
  m.close()
})

testIf(thp !== null && thp !== 'never' && !underQemu, underQemu ? QEMU_RESIDENCY : `transparent huge pages are ${thp ?? 'absent'}`)('hugePages: anonymous memory is backed by transparent huge pages', (t) => {
  const child = runChild(`
    const m = memmap.anonymous(8 << 20, { hugePages: true, populate: true })
    // The region the kernel marked 'hg' (asked for huge pages) and how much of it is huge.
    let found = null
    let region = null
    for (const line of require('fs').readFileSync('/proc/self/smaps', 'utf8').split('\\n')) {
      if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) region = {}
      const field = /^(\\w+):\\s+(\\d+) kB$/.exec(line)
      if (region && field) region[field[1]] = Number(field[2])
      if (region && line.startsWith('VmFlags:') && line.split(/\\s+/).includes('hg') && region.Size >= 8192) found = region
    }
    console.log(JSON.stringify({ found, residency: m.residency() }))
  `)
  t.is(child.status, 0, child.stderr)
  const { found, residency } = lastJson<{ found: Record<string, number> | null; residency: unknown }>(child)
  t.truthy(found, 'a region asked for huge pages')
  // 8 MiB holds at least three whole aligned 2 MiB blocks wherever it starts.
  t.true((found?.AnonHugePages ?? 0) >= 2048, `AnonHugePages: ${found?.AnonHugePages} kB`)
  t.deepEqual(residency, { pages: (8 << 20) / pageSize, resident: (8 << 20) / pageSize })
})
