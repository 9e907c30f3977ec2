// sweepShared(): the names createShared(length) made whose creator has gone are removed, with
// real creators (child processes killed with SIGKILL, so nothing of theirs unlinks), and nothing
// else is: not a living creator's name, not a name of another form, not a name whose creator is
// in another PID namespace. Serial: every test sweeps the whole of /dev/shm, and one test's sweep
// would otherwise take the name another test is about to look for.

import test, { type ExecutionContext } from 'ava'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'

import { createShared, openShared, sweepShared, unlinkShared } from '../index.js'
import { linux, root, spawnChild } from './helpers.js'

const serial = (title: string, implementation: (t: ExecutionContext) => Promise<void> | void): void => {
  if (linux) test.serial(title, implementation)
  else test.skip(`${title} (skipped: only Linux can list its shared memory names, so sweepShared() is [] elsewhere)`, implementation)
}

/** Unlinks `name` when the test ends, whatever happened to it. */
function owned(t: ExecutionContext, name: string): string {
  t.teardown(() => {
    unlinkShared(name)
  })
  return name
}

/** Resolves with the first `count` lines `child` prints. */
async function lines(child: ChildProcess, count: number): Promise<string[]> {
  let out = ''
  const stdout = child.stdout
  if (stdout === null) throw new Error('the child has no stdout pipe')
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      out += chunk.toString('utf8')
      const got = out.split('\n')
      if (got.length > count) {
        stdout.off('data', onData)
        resolve(got.slice(0, count))
      }
    }
    stdout.on('data', onData)
    child.once('exit', (status, signal) => reject(new Error(`the child ended (${status ?? signal}) before printing ${count} lines: ${out}`)))
  })
}

/** A child that makes `createShared(4096)`, prints the name (then what `more` prints), and blocks. */
function creator(more = ''): { child: ChildProcess; exit: Promise<unknown> } {
  const { process: child, exit } = spawnChild(`
    const m = memmap.createShared(4096)
    console.log(m.path)
    ${more}
    setInterval(() => {}, 1 << 30)`)
  return { child, exit }
}

/** Kills `child` with SIGKILL and waits until it has been reaped. */
async function kill(child: ChildProcess, exit: Promise<unknown>): Promise<void> {
  child.kill('SIGKILL')
  await exit
}

const exists = (name: string): boolean => {
  try {
    openShared(name).close()
    return true
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return false
    throw error
  }
}

/** `/proc/<pid>/stat`'s state letter (`Z` for a zombie), or null once there is no such process. */
function state(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
  } catch {
    return null
  }
}

/** The auto name's parts: `mm` + token + `-` + stamp + `-` + hex, token and stamp in base 36. */
function parts(name: string): { token: number; stamp: number } {
  const match = /^mm([0-9a-z]+)-([0-9a-z]+)-([0-9a-f]+)$/.exec(name)
  if (match === null || name.length !== 30) throw new Error(`${name} is not in the auto form`)
  return { token: Number.parseInt(match[1] as string, 36), stamp: Number.parseInt(match[2] as string, 36) }
}

/** An auto-form name for `token` and `stamp`, with random hex digits up to 30 characters. */
function autoName(token: number, stamp: number): string {
  const prefix = `mm${token.toString(36)}-${stamp.toString(36)}-`
  return prefix + randomBytes(16).toString('hex').slice(0, 30 - prefix.length)
}

serial('sweepShared removes the name of a SIGKILLed creator: openShared of it is then ENOENT', async (t) => {
  const { child, exit } = creator()
  const [name] = await lines(child, 1)
  owned(t, name as string)
  t.regex(name as string, /^mm[0-9a-z]+-[0-9a-z]+-[0-9a-f]+$/)
  t.is((name as string).length, 30)
  t.is(parts(name as string).token & 0x3f_ffff, child.pid ?? -1, 'the name carries the creator process id')
  await kill(child, exit)
  t.true(exists(name as string), 'a killed creator leaves its name behind')
  const swept = sweepShared()
  t.true(swept.includes(name as string), JSON.stringify(swept))
  t.throws(() => openShared(name as string), { code: 'ENOENT' })
  t.false(sweepShared().includes(name as string), 'a name is reported once, by the sweep that removed it')
})

serial('a living creator keeps its name, also one a worker thread made; once killed, both go', async (t) => {
  const { child, exit } = creator(`
    const { Worker } = require('node:worker_threads')
    new Worker('const m = require(${JSON.stringify(root)}).createShared(4096); console.log(m.path)', { eval: true })`)
  try {
    const [mine, workers] = (await lines(child, 2)).map((name) => owned(t, name))
    t.not(mine, workers)
    t.is(parts(workers as string).token, parts(mine as string).token, "a worker's name names its process")
    t.is(parts(workers as string).stamp, parts(mine as string).stamp)
    const swept = sweepShared()
    t.false(swept.includes(mine as string), JSON.stringify(swept))
    t.false(swept.includes(workers as string), JSON.stringify(swept))
    t.true(exists(mine as string) && exists(workers as string))
    await kill(child, exit)
    t.deepEqual(sweepShared().filter((name) => name === mine || name === workers).toSorted(), [mine, workers].toSorted())
  } finally {
    child.kill('SIGKILL')
  }
})

serial('names of any other form stay, even when their creator is dead', async (t) => {
  const hand = owned(t, `keepme-${process.pid}`)
  // The form createShared(length) had before names carried an identity: one '-'.
  const old = owned(t, `mm${(process.pid + 1).toString(36)}-${randomBytes(8).toString('hex')}`)
  const { child, exit } = creator(`
    memmap.createShared(${JSON.stringify(hand)}, 4096)
    memmap.createShared(${JSON.stringify(old)}, 4096)
    console.log('made')`)
  const [name] = await lines(child, 2)
  owned(t, name as string)
  await kill(child, exit)
  const swept = sweepShared()
  t.true(swept.includes(name as string), JSON.stringify(swept))
  t.false(swept.includes(hand) || swept.includes(old), JSON.stringify(swept))
  t.true(exists(hand), 'a hand-made name is never swept')
  t.true(exists(old), 'the old form is never swept')
})

serial('a creator that was killed but not yet reaped (a zombie) counts as gone', async (t) => {
  // sh starts the creator in the background, then becomes `sleep`, which never reaps it: killed,
  // the creator stays a zombie until `sleep` ends.
  const source = `const m = require(${JSON.stringify(root)}).createShared(4096); console.log(process.pid); console.log(m.path); setInterval(() => {}, 1 << 30)`
  const parent = spawn('sh', ['-c', '"$0" -e "$1" & exec sleep 120', process.execPath, source], { stdio: ['ignore', 'pipe', 'inherit'] })
  const parentExit = once(parent, 'exit')
  let zombie: number | undefined
  try {
    const [pid, name] = await lines(parent, 2)
    owned(t, name as string)
    zombie = Number(pid)
    process.kill(zombie, 'SIGKILL')
    const until = Date.now() + 10_000
    while (state(zombie) !== 'Z' && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10))
    t.is(state(zombie), 'Z', 'the creator is a zombie')
    const swept = sweepShared()
    t.true(swept.includes(name as string), JSON.stringify(swept))
    t.is(state(zombie), 'Z', 'and it was one while sweepShared judged it')
    t.false(exists(name as string))
  } finally {
    if (zombie !== undefined && state(zombie) !== 'Z' && state(zombie) !== null) process.kill(zombie, 'SIGKILL')
    parent.kill('SIGKILL')
    await parentExit
  }
})

serial('a name of the right form whose creator is in another PID namespace is kept', async (t) => {
  const { child, exit } = creator()
  const [name] = await lines(child, 1)
  owned(t, name as string)
  await kill(child, exit)
  // The same dead creator, but its namespace tag differs in either half: in the token's 9 bits
  // (bits 22-30) or in the stamp's 8 (bits 24-31). Nobody here can ask about a process there.
  const { token, stamp } = parts(name as string)
  const lowTag = owned(t, autoName((token ^ (1 << 22)) >>> 0, stamp))
  const highTag = owned(t, autoName(token, (stamp ^ (1 << 24)) >>> 0))
  createShared(lowTag, 4096).close()
  createShared(highTag, 4096).close()
  const swept = sweepShared()
  t.true(swept.includes(name as string), `the creator, in this namespace, is gone: ${JSON.stringify(swept)}`)
  t.false(swept.includes(lowTag), JSON.stringify(swept))
  t.false(swept.includes(highTag), JSON.stringify(swept))
  t.true(exists(lowTag) && exists(highTag))
})

test.serial('sweepShared returns an array of strings on every system', (t) => {
  const swept = sweepShared()
  t.true(Array.isArray(swept))
  for (const name of swept) t.is(typeof name, 'string')
  if (!linux) t.deepEqual(swept, [])
})
