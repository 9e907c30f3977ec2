// A short tour of memmap: map a generated file, read it without loading it, write through a
// shared mapping, and see close() detach every Buffer. Run with `npm run demo`.

import { mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { openSync, open, pageSize, maxViewLength } from 'memmap'

const dir = mkdtempSync(join(tmpdir(), 'memmap-demo-'))
const path = join(dir, 'numbers.bin')
const count = 16 * 1024 * 1024 // 16 Mi uint32s: a 64 MiB file
const numbers = new Uint32Array(count)
for (let i = 0; i < count; i++) numbers[i] = i
writeFileSync(path, numbers)
console.log(`generated ${path}: ${statSync(path).size / 2 ** 20} MiB; page size ${pageSize}, largest Buffer ${maxViewLength} bytes`)

// 1. Map it read-only. Nothing is read until touched: open costs microseconds (after a first
//    call that warms up the addon).
openSync(path).close()
let start = process.hrtime.bigint()
const m = openSync(path)
const window = m.view(40_000_000, 40_000_016)
console.log(`openSync + a 16-byte view: ${Number(process.hrtime.bigint() - start) / 1000} µs; uint32 at byte 40,000,000 = ${window.readUInt32LE(0)}`)

// 2. The whole mapping as a Uint32Array, zero-copy, checked against fs.
const all = new Uint32Array(m.buffer.buffer, m.buffer.byteOffset, count)
start = process.hrtime.bigint()
let sum = 0
for (let i = 0; i < count; i++) sum += all[i]
console.log(`sum over the mapping: ${sum} in ${Number(process.hrtime.bigint() - start) / 1e6} ms (expected ${(count * (count - 1)) / 2})`)
console.log(`same bytes as fs.readFileSync: ${m.buffer.equals(readFileSync(path))}`)

// 3. A stray write to a read-only ('r') mapping stays private; an explicit one is refused.
all[0] = 0xdeadbeef
try {
  m.write(Buffer.from([1]))
} catch (error) {
  console.log(`m.write on mode 'r': ${error.code}; file still starts with ${readFileSync(path).readUInt32LE(0)}`)
}

// 4. close() unmaps now and detaches every Buffer handed out: no use-after-free.
m.close()
console.log(`after close(): buffer.byteLength = ${all.byteLength}, window.length = ${window.length}`)

// 5. A shared ('r+') mapping at an unaligned offset: writes reach the file, durable after flush.
const rw = await open(path, { mode: 'r+', offset: 4 * 1000 + 3, length: 64 })
rw.write(Buffer.from('hello from memmap'), 1)
await rw.flushAsync()
rw.close()
console.log(`the file now holds: "${readFileSync(path).toString('latin1', 4004, 4021)}"`)

// 6. Errors look like fs errors.
try {
  openSync(join(dir, 'missing.bin'))
} catch (error) {
  console.log(`${error.code} (${error.syscall}): ${error.message}`)
}

rmSync(dir, { recursive: true, force: true })
