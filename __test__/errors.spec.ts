// Every bad argument is a TypeError/RangeError with Node's code, never a crash; OS failures are
// fs-style errors. The matrix runs in a child process so that a crash fails a test, not ava.

import test from 'ava'
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { openSync } from '../index.js'
import { errno, lastJson, linux, pattern, runChild, tempDir, tempFile, testIf, underQemu, windows } from './helpers.js'

interface Outcome {
  label: string
  threw: boolean
  type?: string
  code?: string
  message?: string
}

/** Runs each expression in a child against `file` and reports how it failed. */
function outcomes(file: string, expressions: string[]): Outcome[] {
  const child = runChild(`
    const file = ${JSON.stringify(file)};
    const m = memmap.openSync(file, { mode: 'r+' });
    const out = [];
    for (const label of ${JSON.stringify(expressions)}) {
      try { eval(label); out.push({ label, threw: false }) }
      catch (e) { out.push({ label, threw: true, type: e.constructor.name, code: e.code, message: e.message }) }
    }
    console.log(JSON.stringify(out));
  `)
  if (child.status !== 0) throw new Error(`child died: ${child.signal ?? child.status}\n${child.stderr}`)
  return lastJson<Outcome[]>(child)
}

const typeErrors = [
  'memmap.openSync(true)',
  'memmap.openSync(null)',
  'memmap.openSync(undefined)',
  'memmap.openSync({})',
  'memmap.openSync(file, 5)',
  'memmap.openSync(file, "r")',
  'memmap.openSync(file, null)',
  'memmap.openSync(file, { offset: "1" })',
  'memmap.openSync(file, { length: {} })',
  'memmap.openSync(file, { size: true, mode: "r+" })',
  'memmap.openSync(file, { populate: 1 })',
  'memmap.openSync(file, { lock: "yes" })',
  'memmap.openSync(file, { hugePages: null })',
  'm.view("1")',
  'm.view(0, {})',
  'm.view(0n)',
  'm.read("buffer")',
  'm.read(new ArrayBuffer(4))',
  'm.read(Buffer.alloc(1), "0")',
  'm.write([1, 2])',
  'm.write(Buffer.alloc(1), null)',
  'm.flush("0")',
  'm.flush(0, null)',
]

test('wrong types are TypeError ERR_INVALID_ARG_TYPE', (t) => {
  for (const o of outcomes(tempFile('0123456789'), typeErrors)) {
    t.like(o, { threw: true, type: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }, o.label)
  }
})

const rangeErrors = [
  'memmap.openSync(file, { offset: -1 })',
  'memmap.openSync(file, { offset: 1.5 })',
  'memmap.openSync(file, { offset: NaN })',
  'memmap.openSync(file, { offset: Infinity })',
  'memmap.openSync(file, { length: -1n })',
  'memmap.openSync(file, { length: 2 ** 53 })',
  'memmap.openSync(file, { length: 2n ** 64n })',
  'memmap.openSync(file, { mode: "w+", size: -5 })',
  'm.view(NaN)',
  'm.view(0, 1.5)',
  'm.read(Buffer.alloc(1), -1)',
  'm.read(Buffer.alloc(1), 0.5)',
  'm.write(Buffer.alloc(1), NaN)',
  'm.flush(0.1)',
]

test('negative, fractional, NaN and too large values are RangeError ERR_OUT_OF_RANGE', (t) => {
  for (const o of outcomes(tempFile('0123456789'), rangeErrors)) {
    t.like(o, { threw: true, type: 'RangeError', code: 'ERR_OUT_OF_RANGE' }, o.label)
  }
})

test("unknown modes and 'w+' without size are TypeError ERR_INVALID_ARG_VALUE", (t) => {
  const labels = [
    'memmap.openSync(file, { mode: "w" })',
    'memmap.openSync(file, { mode: "rw" })',
    'memmap.openSync(file, { mode: 1 })',
    'memmap.openSync(file, { mode: "w+" })',
    'memmap.openSync("a\\0b")',
    'memmap.openSync(Buffer.from("a\\0b"))',
  ]
  for (const o of outcomes(tempFile('0123456789'), labels)) {
    t.like(o, { threw: true, type: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }, o.label)
  }
})

test("'w+' without size leaves the file untouched", (t) => {
  const path = tempFile('precious')
  t.throws(() => openSync(path, { mode: 'w+' }), { code: 'ERR_INVALID_ARG_VALUE' })
  t.is(readFileSync(path, 'utf8'), 'precious')
})

test('ranges past the end of the file are RangeError ERR_MMAP_OUT_OF_RANGE and map nothing', (t) => {
  const labels = [
    'memmap.openSync(file, { offset: 11 })',
    'memmap.openSync(file, { offset: 5, length: 6 })',
    'memmap.openSync(file, { mode: "r+", offset: 2 ** 40 })',
    'memmap.openSync(file, { offset: 10, length: 1 })',
    'm.write(Buffer.alloc(2), 9)',
    'm.write(Buffer.alloc(1), 2 ** 52)',
  ]
  for (const o of outcomes(tempFile('0123456789'), labels)) {
    t.like(o, { threw: true, type: 'RangeError', code: 'ERR_MMAP_OUT_OF_RANGE' }, o.label)
  }
})

test('OS failures are fs-style: code, errno, syscall, path and a message naming them', (t) => {
  const dir = tempDir()
  const missing = join(dir, 'missing.bin')
  const error = t.throws(() => openSync(missing)) as NodeJS.ErrnoException
  t.like(error, { code: 'ENOENT', errno: errno('ENOENT'), syscall: 'open', path: missing })
  t.is(error.message, `ENOENT: no such file or directory, open '${missing}'`)

  t.like(t.throws(() => openSync(dir)), { code: 'EISDIR', errno: errno('EISDIR'), syscall: 'open', path: dir })
  t.like(t.throws(() => openSync(dir, { mode: 'w+', size: 1 })), { code: 'EISDIR', path: dir })
  t.like(t.throws(() => openSync('')), { code: 'ENOENT', syscall: 'open' })
  t.like(t.throws(() => openSync(join(missing, 'below'), { mode: 'w+', size: 1 })), { code: 'ENOENT' })
})

// Root reads any file, so as root the open runs in a child that has become `nobody` first.
const asRoot = process.getuid?.() === 0
testIf(!windows, 'Windows has no POSIX permission bits to take away')(
  'a file this user may not read is EACCES',
  (t) => {
    const dir = tempDir()
    const path = join(dir, 'secret.bin')
    writeFileSync(path, 'x')
    chmodSync(path, asRoot ? 0o600 : 0o000)
    chmodSync(dir, 0o755)
    const drop = asRoot ? 'process.setuid(65534);\n' : ''
    const child = runChild(`${drop}try { memmap.openSync(${JSON.stringify(path)}); console.log('{}') } catch (e) { console.log(JSON.stringify({ code: e.code, syscall: e.syscall, path: e.path, errno: e.errno })) }`)
    t.is(child.status, 0, child.stderr)
    t.deepEqual(lastJson(child), { code: 'EACCES', syscall: 'open', path, errno: errno('EACCES') })
    chmodSync(path, 0o600)
  },
)

test('a failed call changes nothing: the mapping stays usable', (t) => {
  const path = tempFile('0123456789')
  const m = openSync(path, { mode: 'r+' })
  t.throws(() => m.write(Buffer.from('abc'), 8))
  t.throws(() => m.view(NaN))
  t.throws(() => m.flush('x' as unknown as number))
  t.is(m.buffer.toString(), '0123456789')
  m.write(Buffer.from('ok'), 0)
  t.is(m.buffer.toString(), 'ok23456789')
  m.close()
})

test('every failed open leaves the file exactly as it was', (t) => {
  const contents = pattern(64 * 1024)
  const path = tempFile(contents)
  // The reference copy is compared in the child by path: spliced into its source, 64 KiB would
  // pass Windows' 32,767-character command line.
  const copy = tempFile(contents, 'copy.bin')
  const missing = join(tempDir(), 'never-made.bin')
  const child = runChild(`
    const fs = require('fs');
    const attempts = {
      'w+ offset past size': () => memmap.openSync(${JSON.stringify(path)}, { mode: 'w+', size: 10, offset: 100 }),
      'w+ length past size': () => memmap.openSync(${JSON.stringify(path)}, { mode: 'w+', size: 10, length: 11 }),
      'w+ size the file system refuses': () => memmap.openSync(${JSON.stringify(path)}, { mode: 'w+', size: 2 ** 53 - 1 }),
      'r+ growth the file system refuses': () => memmap.openSync(${JSON.stringify(path)}, { mode: 'r+', size: 2 ** 53 - 1 }),
      'r+ offset past the grown size': () => memmap.openSync(${JSON.stringify(path)}, { mode: 'r+', size: 70000, offset: 70001 }),
      'w+ of a new file, offset past size': () => memmap.openSync(${JSON.stringify(missing)}, { mode: 'w+', size: 10, offset: 100 }),
    };
    const out = {};
    for (const [name, attempt] of Object.entries(attempts)) {
      try { attempt(); out[name] = 'opened' } catch (e) { out[name] = e.code }
    }
    out.size = fs.statSync(${JSON.stringify(path)}).size;
    out.same = fs.readFileSync(${JSON.stringify(path)}).equals(fs.readFileSync(${JSON.stringify(copy)}));
    out.made = fs.existsSync(${JSON.stringify(missing)});
    console.log(JSON.stringify(out));
  `)
  t.is(child.status, 0, child.stderr)
  const out = lastJson<Record<string, unknown>>(child)
  t.like(out, {
    'w+ offset past size': 'ERR_MMAP_OUT_OF_RANGE',
    'w+ length past size': 'ERR_MMAP_OUT_OF_RANGE',
    'r+ offset past the grown size': 'ERR_MMAP_OUT_OF_RANGE',
    'w+ of a new file, offset past size': 'ERR_MMAP_OUT_OF_RANGE',
    size: 64 * 1024,
    same: true,
    made: false,
  })
  // EFBIG where the file system caps a file's length; tmpfs takes it, and then mmap says ENOMEM.
  for (const name of ['w+ size the file system refuses', 'r+ growth the file system refuses']) t.regex(String(out[name]), /^E[A-Z]+$/, name)
})

testIf(linux && !underQemu, linux ? 'qemu-user reserves more address space than ulimit -v leaves' : 'sets the address-space limit with ulimit -v (sh)')(
  "an 'r+' open whose growth succeeded but whose mmap failed puts the file's length back",
  (t) => {
    const contents = pattern(4096)
    const path = tempFile(contents)
    // 3 GiB of address space: Node.js starts, an 8 GiB mapping cannot be made.
    const child = runChild(
      `try { memmap.openSync(${JSON.stringify(path)}, { mode: 'r+', size: 8 * 2 ** 30 }); console.log('"opened"') }
      catch (e) { console.log(JSON.stringify(e.code + ' ' + e.syscall)) }`,
      { ulimit: { v: 3_000_000 }, timeout: 60_000 },
    )
    t.is(child.status, 0, child.stderr)
    t.is(lastJson(child), 'ENOMEM mmap')
    t.is(statSync(path).size, 4096, 'the length the open gave the file was taken back')
    t.deepEqual(readFileSync(path), contents)
  },
)
