// advise(), lock() and unlock(): checked against what the kernel records for the pages
// (/proc/self/smaps), and lock limits provoked for real in a child with a lowered `ulimit -l`.

import test from 'ava'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { anonymous, openSync, pageSize, type Advice } from '../index.js'
import { errno, lastJson, linux, pattern, QEMU_SMAPS, runChild, sparseFile, tempDir, testIf, underQemu } from './helpers.js'
import { regionsOf, sumKb, thpMode } from './smaps.js'

const ADVICE: Advice[] = ['normal', 'random', 'sequential', 'willneed', 'dontneed', 'hugepage', 'nohugepage']

const flagsOf = (path: string): string[] => regionsOf(path).flatMap((region) => region.flags)

/** Tests that read what the Linux kernel records (/proc/self/smaps) or set its limits. */
const linuxOnly = testIf(linux, 'Linux only: sets RLIMIT_MEMLOCK with ulimit -l')
const kernelSmaps = testIf(linux && !underQemu, linux ? QEMU_SMAPS : 'Linux only: reads /proc/self/smaps')

kernelSmaps('every advice is taken on Linux and recorded in the kernel flags of the pages', (t) => {
  const path = sparseFile(64 * pageSize)
  const m = openSync(path, { mode: 'r+' })
  for (const advice of ADVICE) {
    t.true(m.advise(advice), advice)
    t.true(m.advise(advice, 10, 10), `${advice} on an empty range`)
  }
  m.advise('random')
  t.true(flagsOf(path).includes('rr'))
  m.advise('sequential')
  t.true(flagsOf(path).includes('sr'))
  t.false(flagsOf(path).includes('rr'))
  m.advise('normal')
  t.false(flagsOf(path).includes('sr'))
  if (thpMode() !== null) {
    m.advise('hugepage')
    t.true(flagsOf(path).includes('hg'))
    m.advise('nohugepage')
    t.true(flagsOf(path).includes('nh'))
  }
  // A byte range is rounded out to its page: advice on one byte splits off exactly one page.
  m.advise('random', 5 * pageSize + 1, 5 * pageSize + 2)
  const random = regionsOf(path).filter((region) => region.flags.includes('rr'))
  t.is(random.length, 1)
  t.is(random[0].kb.Size * 1024, pageSize)
  m.close()
})

testIf(linux, "MADV_DONTNEED's semantics are Linux's")("'dontneed' passes Linux semantics through: private changes are dropped, shared data kept", (t) => {
  const anon = anonymous(4 * pageSize)
  anon.buffer.fill(7)
  t.true(anon.advise('dontneed', 0, 1))
  t.is(anon.buffer[0], 0, 'anonymous pages read as zeros again')
  t.is(anon.buffer[pageSize - 1], 0)
  t.is(anon.buffer[pageSize], 7, 'only the advised page')
  anon.close()

  const contents = pattern(2 * pageSize)
  const dir = tempDir()
  const file = join(dir, 'data.bin')
  writeFileSync(file, contents)
  const r = openSync(file)
  r.buffer[0] = contents[0] ^ 0xff
  t.is(r.buffer[0], contents[0] ^ 0xff)
  r.advise('dontneed')
  t.is(r.buffer[0], contents[0], "mode 'r': the private change is gone, the file's byte is back")
  r.close()

  const w = openSync(file, { mode: 'r+' })
  w.buffer[0] = 0x42
  w.advise('dontneed')
  t.is(w.buffer[0], 0x42, "mode 'r+': the change is the file's and stays")
  w.close()
  t.is(readFileSync(file)[0], 0x42)
})

test('arguments are checked like Node checks them; a closed mapping is ERR_MMAP_CLOSED', (t) => {
  const m = anonymous(4 * pageSize)
  t.throws(() => m.advise('WILLNEED' as Advice), { code: 'ERR_INVALID_ARG_VALUE', instanceOf: TypeError })
  t.throws(() => m.advise(undefined as unknown as Advice), { code: 'ERR_INVALID_ARG_TYPE', instanceOf: TypeError })
  t.throws(() => m.advise('normal', 0.5), { code: 'ERR_OUT_OF_RANGE', instanceOf: RangeError })
  t.throws(() => m.lock(Number.NaN), { code: 'ERR_OUT_OF_RANGE', instanceOf: RangeError })
  t.throws(() => m.unlock('1' as unknown as number), { code: 'ERR_INVALID_ARG_TYPE', instanceOf: TypeError })
  // Buffer#subarray's rules: negative from the end, out of range clamped, end before start empty.
  // Windows has only 'willneed' (PrefetchVirtualMemory): other advice is false there.
  t.true(m.advise('willneed', -100, Infinity))
  t.is(m.advise('normal', 3 * pageSize, pageSize), process.platform !== 'win32')
  m.lock(-1)
  m.unlock(-Infinity, 2 ** 40)
  m.close()
  t.throws(() => m.advise('normal'), { code: 'ERR_MMAP_CLOSED' })
  t.throws(() => m.lock(), { code: 'ERR_MMAP_CLOSED' })
  t.throws(() => m.unlock(), { code: 'ERR_MMAP_CLOSED' })
})

kernelSmaps("lock() and unlock() pin the pages the kernel counts as Locked; 'r' pages are not copied to do it", (t) => {
  const path = sparseFile(256 * pageSize)
  const m = openSync(path)
  m.lock()
  t.is(sumKb(regionsOf(path), 'Locked') * 1024, 256 * pageSize)
  t.is(sumKb(regionsOf(path), 'Anonymous'), 0, 'no private copy of the pages was made')
  t.deepEqual(m.residency(), { pages: 256, resident: 256 })
  m.unlock()
  t.is(sumKb(regionsOf(path), 'Locked'), 0)
  m.unlock() // unlocking what is not locked is no error
  m.lock(10 * pageSize + 1, 10 * pageSize + 2)
  t.is(sumKb(regionsOf(path), 'Locked') * 1024, pageSize)
  m.close()

  const locked = openSync(path, { mode: 'r+', lock: true })
  t.is(sumKb(regionsOf(path), 'Locked') * 1024, 256 * pageSize)
  locked.close()
})

/** Runs `source` with memmap bound, under `ulimit -l limitKb`, without CAP_IPC_LOCK. */
function underLockLimit(limitKb: number, source: string) {
  // Root ignores RLIMIT_MEMLOCK (CAP_IPC_LOCK): become nobody, now that memmap is loaded.
  const asNobody =
    'if (process.getuid() === 0) { try { process.setuid(65534) } catch { console.log(JSON.stringify({ skip: "cannot drop root" })); process.exit(0) } }\n'
  return runChild(asNobody + source, { ulimit: { l: limitKb }, timeout: 60_000 })
}

const LOCK_CHILD = `
const m = memmap.anonymous(4 << 20)
const out = {}
for (const [name, end] of [['big', undefined], ['small', 4096]]) {
  try { m.lock(0, end); out[name] = 'locked' } catch (e) {
    out[name] = { code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, message: e.message }
  }
}
console.log(JSON.stringify(out))
`

linuxOnly('lock() past RLIMIT_MEMLOCK is a coded ENOMEM that says to raise `ulimit -l`', (t) => {
  const child = underLockLimit(1024, LOCK_CHILD)
  t.is(child.status, 0, child.stderr)
  const out = lastJson<Record<string, unknown>>(child)
  if (out.skip) return t.fail(`the child could not run without root's CAP_IPC_LOCK: ${String(out.skip)}`)
  const big = out.big as Record<string, unknown>
  t.like(big, { code: 'ENOMEM', errno: errno('ENOMEM'), syscall: 'mlock', path: undefined })
  t.regex(String(big.message), /^ENOMEM: not enough memory, mlock: locking 4194304 bytes/)
  t.regex(String(big.message), /RLIMIT_MEMLOCK, now 1048576 bytes/)
  t.regex(String(big.message), /ulimit -l/)
  t.is(out.small, 'locked', 'a range within the limit locks')
})

linuxOnly('lock() with no right to lock memory at all (`ulimit -l 0`) is a coded EPERM naming the limit', (t) => {
  const child = underLockLimit(0, LOCK_CHILD)
  t.is(child.status, 0, child.stderr)
  const out = lastJson<Record<string, unknown>>(child)
  if (out.skip) return t.fail(`the child could not run without root's CAP_IPC_LOCK: ${String(out.skip)}`)
  for (const name of ['big', 'small']) {
    const error = out[name] as Record<string, unknown>
    t.like(error, { code: 'EPERM', errno: errno('EPERM'), syscall: 'mlock' })
    t.regex(String(error.message), /RLIMIT_MEMLOCK.*ulimit -l/)
  }
})
