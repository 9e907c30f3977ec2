// anonymous(length, options): zero-filled memory owned by this process, no file.

import test from 'ava'
import { readFileSync } from 'node:fs'

import { anonymous, pageSize } from '../index.js'
import { errno, linux, QEMU_RESIDENCY, testIf, underQemu } from './helpers.js'

const lockedKb = (): number => Number(/VmLck:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1])

test('anonymous() maps zero-filled read-write memory with no path', (t) => {
  const m = anonymous(3 * pageSize + 5)
  t.is(m.kind, 'anonymous')
  t.is(m.mode, 'r+')
  t.is(m.path, null)
  t.is(m.offset, 0)
  t.is(m.length, 3 * pageSize + 5)
  t.deepEqual(m.residency(), { pages: 4, resident: 0 }, 'nothing allocated until touched')
  t.deepEqual(m.buffer, Buffer.alloc(3 * pageSize + 5))
  t.is(m.write(Buffer.from('hello'), pageSize), 5)
  t.is(m.view(pageSize, pageSize + 5).toString(), 'hello')
  const back = Buffer.alloc(5)
  t.is(m.read(back, pageSize), 5)
  t.is(back.toString(), 'hello')
  m.flush()
  t.true(m.zeroCopy)
  const view = m.view(0, 8)
  m.close()
  t.true(m.closed)
  t.is(view.byteLength, 0)
  t.is(m.kind, 'anonymous')
})

test('length 0, bigint lengths, and each mapping its own memory', (t) => {
  const empty = anonymous(0)
  t.is(empty.length, 0)
  t.is(empty.buffer.length, 0)
  empty.close()
  const a = anonymous(BigInt(pageSize))
  const b = anonymous(pageSize)
  a.buffer.fill(1)
  t.is(b.buffer[0], 0)
  a.close()
  b.close()
})

testIf(!underQemu, QEMU_RESIDENCY)('populate allocates every page at once; lock makes them resident', (t) => {
  const m = anonymous(64 * pageSize, { populate: true })
  t.deepEqual(m.residency(), { pages: 64, resident: 64 })
  m.close()
  const locked = anonymous(64 * pageSize, { lock: true })
  t.deepEqual(locked.residency(), { pages: 64, resident: 64 })
  locked.unlock()
  locked.close()
  // hugePages is a hint, never an error, whatever the size.
  anonymous(pageSize + 1, { hugePages: true }).close()
})

testIf(linux, 'reads VmLck from Linux /proc/self/status')(
  "lock pins exactly the mapping's pages, as the kernel counts them",
  (t) => {
    const before = lockedKb()
    const locked = anonymous(64 * pageSize, { lock: true })
    t.is((lockedKb() - before) * 1024, 64 * pageSize)
    locked.unlock()
    t.is(lockedKb(), before)
    locked.close()
  },
)

test('bad arguments are TypeError/RangeError with Node codes; too much memory is ENOMEM', (t) => {
  t.throws(() => anonymous(-1), { code: 'ERR_OUT_OF_RANGE', instanceOf: RangeError })
  t.throws(() => anonymous(1.5), { code: 'ERR_OUT_OF_RANGE', instanceOf: RangeError })
  t.throws(() => anonymous(2 ** 53), { code: 'ERR_OUT_OF_RANGE', instanceOf: RangeError })
  t.throws(() => anonymous('1' as unknown as number), { code: 'ERR_INVALID_ARG_TYPE', instanceOf: TypeError })
  t.throws(() => anonymous(1, null as never), { code: 'ERR_INVALID_ARG_TYPE', instanceOf: TypeError })
  t.throws(() => anonymous(1, { populate: 1 as unknown as boolean }), { code: 'ERR_INVALID_ARG_TYPE' })
  // 1 PiB: more than this machine's address space and memory.
  const error = t.throws(() => anonymous(2 ** 50)) as NodeJS.ErrnoException
  t.like(error, { code: 'ENOMEM', errno: errno('ENOMEM'), syscall: 'mmap', path: undefined })
  t.regex(error.message, /^ENOMEM: not enough memory, mmap$/)
})
