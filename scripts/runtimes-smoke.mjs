// A smoke of the public surface under the runtimes users run besides Node.js: Deno and Bun (and
// Node.js itself, which is how it is checked against a known-good runtime). It loads the package
// the way a user's program does (`require('memmap')` through createRequire), then checks a file
// view, a write that reaches the file, atomics, use after close(), a mutex held by a child process
// of the same runtime that dies holding it, and a channel fed by such a child. Prints one line per
// check and ends with "<runtime> smoke: N/N passed"; exits 1 if any check failed or the package
// does not load.
//
//   deno run -A scripts/runtimes-smoke.mjs
//   bun scripts/runtimes-smoke.mjs
//   node scripts/runtimes-smoke.mjs

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const script = fileURLToPath(import.meta.url)
const root = resolve(dirname(script), '..')
const runtime = globalThis.Deno ? `deno ${globalThis.Deno.version.deno}` : globalThis.Bun ? `bun ${globalThis.Bun.version}` : `node ${process.version}`

let memmap
try {
  memmap = createRequire(import.meta.url)(root)
} catch (error) {
  console.log(`FAIL  ${runtime} cannot load the package\n      ${error?.stack ?? error}`)
  process.exit(1)
}

// The same runtime, running this file as a child with a role.
function childOf(role, ...args) {
  const argv = globalThis.Deno ? ['run', '-A', script, role, ...args] : [script, role, ...args]
  return spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] })
}

function exited(child) {
  return new Promise((resolveExit) => child.on('exit', (code, signal) => resolveExit({ code, signal })))
}

if (process.argv[2] === 'hold') {
  // Takes the mutex at 0, says so, and dies holding it.
  const m = memmap.openShared(process.argv[3])
  m.mutex(0).lock(10_000)
  m.atomics.store(8, 1)
  m.atomics.notify(8)
  process.exit(0)
}
if (process.argv[2] === 'send') {
  const m = memmap.openShared(process.argv[3])
  const channel = m.channel(64, 64 * 1024)
  for (let i = 0; i < 1000; i++) channel.send(`message ${i}`, 10_000)
  channel.end()
  m.close()
  process.exit(0)
}

const dir = mkdtempSync(join(tmpdir(), 'memmap-runtime-'))
const checks = []

async function check(name, body) {
  try {
    await body()
    checks.push(true)
    console.log(`ok    ${name}`)
  } catch (error) {
    checks.push(false)
    console.log(`FAIL  ${name}\n      ${String(error?.stack ?? error).split('\n').join('\n      ')}`)
  }
}

await check('a file view is the bytes of the file', () => {
  const path = join(dir, 'read.bin')
  writeFileSync(path, 'hello, pages')
  const m = memmap.openSync(path)
  assert.equal(m.length, 12)
  assert.equal(m.view(7, 12).toString(), 'pages')
  assert.equal(m.indexOf('pages'), 7)
  m.close()
})

await check("a write through 'r+' reaches the file", () => {
  const path = join(dir, 'write.bin')
  writeFileSync(path, Buffer.alloc(memmap.pageSize))
  const m = memmap.openSync(path, { mode: 'r+' })
  m.write(Buffer.from('written'), 100)
  m.flush()
  m.close()
  assert.equal(readFileSync(path).subarray(100, 107).toString(), 'written')
})

await check('atomics on anonymous memory', () => {
  const m = memmap.anonymous(memmap.pageSize)
  assert.equal(m.atomics.add(0, 5), 0)
  assert.equal(m.atomics.compareExchange(0, 5, 7), 5)
  assert.equal(m.atomics.load64(8), 0n)
  assert.equal(m.atomics.wait(0, 1, 1000), 'not-equal')
  m.close()
})

await check('use after close() is a coded error', () => {
  const m = memmap.anonymous(memmap.pageSize)
  const view = m.view(0, 16)
  m.close()
  assert.equal(view.length, 0)
  assert.throws(() => m.read(Buffer.alloc(1), 0), { code: 'ERR_MMAP_CLOSED' })
})

await check('a mutex whose holder process died is taken over with ownerDied', async () => {
  const m = memmap.createShared(memmap.pageSize)
  try {
    const child = childOf('hold', m.path)
    const end = exited(child)
    assert.equal(await m.atomics.waitAsync(8, 0, 30_000), 'ok')
    assert.equal((await end).code, 0)
    const held = m.mutex(0).lock(10_000)
    assert.equal(held.ownerDied, true)
    held.unlock()
    assert.equal(m.mutex(0).tryLock()?.ownerDied, false)
  } finally {
    m.close()
    memmap.unlinkShared(m.path)
  }
})

await check('a channel carries 1000 messages from a child process, in order, to end()', async () => {
  const m = memmap.createShared(128 * 1024)
  try {
    const channel = m.channel(64, 64 * 1024)
    const end = exited(childOf('send', m.path))
    let i = 0
    for await (const message of channel) assert.equal(message.toString(), `message ${i++}`)
    assert.equal(i, 1000)
    assert.equal((await end).code, 0)
  } finally {
    m.close()
    memmap.unlinkShared(m.path)
  }
})

rmSync(dir, { recursive: true, force: true })
const passed = checks.filter(Boolean).length
console.log(`${runtime} smoke: ${passed}/${checks.length} passed`)
process.exit(passed === checks.length ? 0 : 1)
