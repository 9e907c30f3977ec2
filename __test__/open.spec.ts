import test from 'ava'
import { constants as bufferConstants } from 'node:buffer'
import { spawnSync } from 'node:child_process'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

import * as memmap from '../index.js'
import { openSync, open, pageSize, allocationGranularity, maxViewLength, Mapping } from '../index.js'
import { pattern, root, runChild, tempDir, tempFile, testIf } from './helpers.js'

test("mode 'r' maps the whole file and matches fs.readFileSync", (t) => {
  const path = tempFile(pattern(3 * pageSize + 123))
  const m = openSync(path)
  t.deepEqual(m.buffer, readFileSync(path))
  t.true(m.buffer === m.buffer, 'buffer is the same object each time')
  t.is(m.kind, 'file')
  t.is(m.mode, 'r')
  t.is(m.path, path)
  t.is(m.offset, 0)
  t.is(m.length, 3 * pageSize + 123)
  t.false(m.closed)
  t.true(m.zeroCopy)
  t.true(m instanceof Mapping)
  m.close()
})

test('any offset, no alignment asked: every window matches the file', (t) => {
  const data = pattern(5 * pageSize + 77)
  const path = tempFile(data)
  for (const offset of [0, 1, 7, pageSize - 1, pageSize, pageSize + 1, 4 * pageSize + 3]) {
    for (const length of [1, 3, pageSize, data.length - offset]) {
      if (offset + length > data.length) continue
      const m = openSync(path, { offset, length })
      t.deepEqual(m.buffer, data.subarray(offset, offset + length), `offset ${offset} length ${length}`)
      t.is(m.offset, offset)
      m.close()
    }
  }
  // bigint offsets and lengths are accepted too.
  const m = openSync(path, { offset: 5n, length: 10n })
  t.deepEqual(m.buffer, data.subarray(5, 15))
  m.close()
})

test('zero-length file, length 0 and offset at the end give an empty mapping', (t) => {
  const empty = tempFile('')
  const ten = tempFile('0123456789')
  for (const m of [openSync(empty), openSync(ten, { length: 0 }), openSync(ten, { offset: 10 })]) {
    t.is(m.length, 0)
    t.is(m.buffer.length, 0)
    t.is(m.view().length, 0)
    t.is(m.read(Buffer.alloc(4)), 0)
    m.flush()
    m.close()
  }
})

test("mode 'r+' writes reach the file and other mappings of it", (t) => {
  const path = tempFile(pattern(2 * pageSize))
  const a = openSync(path, { mode: 'r+' })
  const b = openSync(path, { mode: 'r', offset: 10 })
  a.buffer.write('shared!', 100)
  t.is(b.buffer.toString('latin1', 90, 97), 'shared!')
  a.flush()
  t.is(readFileSync(path).toString('latin1', 100, 107), 'shared!')
  a.close()
  b.close()
})

test("mode 'r+' with size grows the file first, never shrinks it", (t) => {
  const path = tempFile('abc')
  const m = openSync(path, { mode: 'r+', size: 10_000 })
  t.is(m.length, 10_000)
  t.is(statSync(path).size, 10_000)
  t.is(m.buffer.toString('latin1', 0, 3), 'abc')
  m.close()
  openSync(path, { mode: 'r+', size: 5 }).close()
  t.is(statSync(path).size, 10_000)
})

test("mode 'w+' creates or truncates to size, zero-filled", (t) => {
  const dir = tempDir()
  const fresh = join(dir, 'new.bin')
  const m = openSync(fresh, { mode: 'w+', size: 3 * pageSize })
  t.is(m.mode, 'w+')
  t.is(statSync(fresh).size, 3 * pageSize)
  t.true(m.buffer.every((byte) => byte === 0))
  m.write(Buffer.from('written'), 5)
  m.flush()
  m.close()
  t.is(readFileSync(fresh).toString('latin1', 5, 12), 'written')

  const old = tempFile('old contents')
  const again = openSync(old, { mode: 'w+', size: 4 })
  t.deepEqual([...again.buffer], [0, 0, 0, 0])
  again.close()
  t.is(statSync(old).size, 4)
})

test('paths: relative strings are resolved, Buffer and file: URL paths work', (t) => {
  const path = tempFile('via many paths')
  const fromUrl = openSync(pathToFileURL(path))
  const fromBuffer = openSync(Buffer.from(path))
  t.is(fromUrl.buffer.toString(), 'via many paths')
  t.is(fromBuffer.buffer.toString(), 'via many paths')
  t.is(fromUrl.path, path)
  fromUrl.close()
  fromBuffer.close()
  const child = runChild(
    `process.chdir(${JSON.stringify(join(path, '..'))});
     const m = memmap.openSync('data.bin'); console.log(JSON.stringify([m.path, m.buffer.toString()]));
     const b = memmap.openSync(Buffer.from('data.bin')); console.log(JSON.stringify([b.path, b.buffer.toString()]))`,
  )
  t.is(child.status, 0, child.stderr)
  t.deepEqual(
    child.stdout.trim().split('\n').map((line) => JSON.parse(line)),
    [
      [path, 'via many paths'],
      [path, 'via many paths'],
    ],
  )
})

test('open() maps off the JavaScript thread and rejects like openSync() throws', async (t) => {
  const path = tempFile(pattern(10_000))
  const m = await open(path, { offset: 17, length: 5000 })
  t.deepEqual(m.buffer, readFileSync(path).subarray(17, 5017))
  m.close()
  const missing = join(tempDir(), 'missing')
  await t.throwsAsync(open(missing), { code: 'ENOENT', instanceOf: Error })
  await t.throwsAsync(open(path, { offset: 10_001 }), { code: 'ERR_MMAP_OUT_OF_RANGE', instanceOf: RangeError })
  await t.throwsAsync(open(path, { mode: 'w+' }), { code: 'ERR_INVALID_ARG_VALUE', instanceOf: TypeError })
})

test('module constants', (t) => {
  t.true(pageSize >= 4096 && (pageSize & (pageSize - 1)) === 0, `pageSize ${pageSize}`)
  // Windows maps views at 64 KiB boundaries; everywhere else a page is the unit.
  t.is(allocationGranularity, process.platform === 'win32' ? 65536 : pageSize)
  t.is(maxViewLength, bufferConstants.MAX_LENGTH)
})

test('read() and write() copy like fs.readSync/writeSync, all or nothing', (t) => {
  const data = pattern(1000)
  const path = tempFile(data)
  const m = openSync(path, { mode: 'r+' })
  const target = Buffer.alloc(16)
  t.is(m.read(target), 16)
  t.deepEqual(target, data.subarray(0, 16))
  t.is(m.read(target, 990), 10)
  t.deepEqual(target.subarray(0, 10), data.subarray(990))
  t.is(m.read(target, 1000), 0)
  t.is(m.read(target, 5000), 0)
  const floats = new Float64Array(2)
  t.is(m.read(floats, 8), 16)
  t.deepEqual(Buffer.from(floats.buffer), data.subarray(8, 24))
  t.is(m.read(new DataView(target.buffer, target.byteOffset + 4, 4), 0), 4)

  t.is(m.write(Buffer.from('xyz'), 997), 3)
  t.throws(() => m.write(Buffer.from('toolong'), 995), { code: 'ERR_MMAP_OUT_OF_RANGE', instanceOf: RangeError })
  t.is(m.buffer.toString('latin1', 995, 1000), `${data.toString('latin1', 995, 997)}xyz`)
  // A view of the mapping itself as the source: overlapping copies are fine.
  m.write(m.view(0, 10), 5)
  t.deepEqual(m.buffer.subarray(5, 15), data.subarray(0, 10))
  m.close()
})

test('view() follows Buffer#subarray rules and is zero-copy', (t) => {
  const data = pattern(100)
  const path = tempFile(data)
  const m = openSync(path, { mode: 'r+' })
  const cases: Array<[number | undefined, number | undefined]> = [
    [undefined, undefined], [10, 20], [-10, undefined], [-1000, 5], [50, 1000], [30, 10],
    [-Infinity, Infinity], [0, -1], [Infinity, undefined],
  ]
  for (const [start, end] of cases) {
    const fresh = m.view(start, end)
    t.deepEqual(fresh, data.subarray(start, end), `view(${start}, ${end})`)
  }
  const window = m.view(10, 20)
  window[0] = 0xaa
  t.is(m.read(Buffer.alloc(1), 10), 1)
  const one = Buffer.alloc(1)
  m.read(one, 10)
  t.is(one[0], 0xaa)
  // Once buffer exists, views are slices of it.
  const whole = m.buffer
  const slice = m.view(1, 2)
  t.is(slice.buffer, whole.buffer)
  m.close()
})

test('ESM import and CommonJS require expose the same names', async (t) => {
  const esm = await import(pathToFileURL(join(root, 'index.mjs')).href)
  const cjs = require(root)
  const names = ['openSync', 'open', 'pageSize', 'allocationGranularity', 'maxViewLength', 'Mapping']
  for (const name of names) {
    t.true(name in cjs, name)
    t.is(esm[name], cjs[name], name)
  }
  t.deepEqual(Object.keys(esm).toSorted(), Object.keys(cjs).toSorted())
  t.is(typeof memmap.openSync, 'function')
})

test('Symbol.dispose closes the mapping', (t) => {
  const path = tempFile('dispose me')
  const m = openSync(path)
  const buffer = m.buffer
  m[Symbol.dispose]()
  t.true(m.closed)
  t.is(buffer.byteLength, 0)
})

test('flush() and flushAsync() make ranges durable; flushAsync racing close() settles', async (t) => {
  const path = tempFile(Buffer.alloc(3 * pageSize))
  const m = openSync(path, { mode: 'r+' })
  m.write(Buffer.from('first'), pageSize + 10)
  m.flush(pageSize + 10, pageSize + 15)
  t.is(readFileSync(path).toString('latin1', pageSize + 10, pageSize + 15), 'first')
  m.write(Buffer.from('second'), 2 * pageSize + 1)
  await m.flushAsync(-pageSize)
  t.is(readFileSync(path).toString('latin1', 2 * pageSize + 1, 2 * pageSize + 7), 'second')
  const pending = m.flushAsync()
  m.close()
  // Either the flush ran before close() took the mapping, or it reports the close.
  const outcome = await pending.then(() => 'flushed', (e: NodeJS.ErrnoException) => e.code)
  t.true(outcome === 'flushed' || outcome === 'ERR_MMAP_CLOSED', String(outcome))
  await t.throwsAsync(m.flushAsync(), { code: 'ERR_MMAP_CLOSED' })
})

// A 'w+' whose mmap fails after its new size was accepted: a memfd sealed against writes (made by
// Python, which has memfd_create and F_ADD_SEALS) takes a shrinking ftruncate but refuses a
// writable shared mapping. The open must leave every byte as it was, by path and by descriptor.
const sealable = process.platform === 'linux' && spawnSync('python3', ['-c', 'import os; os.memfd_create'], { encoding: 'utf8' }).status === 0
testIf(sealable, 'needs Linux and python3 (memfd_create, F_ADD_SEALS)')(
  "a failed 'w+' (mmap refused after the size was accepted) leaves every byte and the length as they were",
  (t) => {
    const python = `
import fcntl, json, os, subprocess, sys
fd = os.memfd_create('memmap-sealed', os.MFD_ALLOW_SEALING)
data = bytes((i * 7 + 3) & 255 for i in range(8192))
os.write(fd, data)
fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE)
script = '''
const memmap = require(process.argv[1]); const fd = Number(process.argv[2]); const codes = []
for (const source of ['/proc/self/fd/' + fd, fd]) {
  try { memmap.openSync(source, { mode: 'w+', size: 4096 }).close(); codes.push('opened') } catch (e) { codes.push(e.code + ' ' + e.syscall) }
}
console.log(JSON.stringify(codes))
'''
child = subprocess.run([sys.argv[1], '-e', script, sys.argv[2], str(fd)], pass_fds=[fd], capture_output=True, text=True)
after = os.pread(fd, 16384, 0)
print(json.dumps({'codes': child.stdout.strip(), 'stderr': child.stderr, 'length': os.fstat(fd).st_size, 'same': after == data}))
`
    const result = spawnSync('python3', ['-c', python, process.execPath, root], { encoding: 'utf8', timeout: 60_000 })
    t.is(result.status, 0, result.stderr)
    const got = JSON.parse(result.stdout.trim().split('\n').pop()!) as { codes: string; stderr: string; length: number; same: boolean }
    t.deepEqual(JSON.parse(got.codes || '[]'), ['EPERM mmap', 'EPERM mmap'], got.stderr)
    t.is(got.length, 8192, 'the length is back')
    t.true(got.same, 'every byte is as it was, those past the asked size included')
  },
)
