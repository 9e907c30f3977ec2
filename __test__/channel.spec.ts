// Channels: a message queue in shared bytes. Semantics in one process; exactly once, whole and in
// per-sender order across real processes; backpressure that leaves the event loop free; end();
// kill-safety under SIGKILL at random moments (docs/channels.md, "What a death leaves", says why
// each assertion holds); close() with pending calls; workers; the refused-Buffer mode; a file.

import test, { type ExecutionContext } from 'ava'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'

import { anonymous, createShared, openSync, unlinkShared } from '../index.js'
import { emulator, root, sharedName, spawnChild, tempFile, thrownCode, turnsWhile } from './helpers.js'

// Under qemu-user or wine a process runs many times slower: the kills come later, so that some
// messages flow before each, and the bound on recovery is scaled. Native runs keep 1 s.
const KILL_AFTER = emulator === null ? 5 : 100
const KILL_SPREAD = emulator === null ? 40 : 400
const RECOVERY_MS = emulator === null ? 1000 : 5000

const name = (t: ExecutionContext): string => sharedName(t, unlinkShared)

// A checked message, the same in the children: [sender u8][seq u32][filler][FNV-1a of the rest u32].
const MESSAGE = `
function fnv(bytes, end) {
  let h = 0x811c9dc5
  for (let i = 0; i < end; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0
  return h
}
function makeMessage(sender, seq, size) {
  const b = Buffer.alloc(Math.max(9, size))
  b[0] = sender
  b.writeUInt32LE(seq, 1)
  for (let i = 5; i < b.length - 4; i++) b[i] = (seq * 31 + i) & 255
  b.writeUInt32LE(fnv(b, b.length - 4), b.length - 4)
  return b
}
function checkMessage(b) {
  if (b.length < 9 || fnv(b, b.length - 4) !== b.readUInt32LE(b.length - 4)) return null
  return { sender: b[0], seq: b.readUInt32LE(1) }
}
`
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- the same source the children run
const { makeMessage, checkMessage } = new Function(`${MESSAGE}; return { makeMessage, checkMessage }`)() as {
  makeMessage: (sender: number, seq: number, size: number) => Buffer
  checkMessage: (b: Buffer) => { sender: number; seq: number } | null
}

test.serial('round trips of Buffers, strings, values and empty messages; maxMessage; full and empty; timeouts', (t) => {
  const m = anonymous(1 << 16)
  const c = m.channel(0, 1024)
  t.is(c.byteOffset, 0)
  t.is(c.byteLength, 1024)
  t.is(c.maxMessage, 1024 - 256 - 8)
  t.is(c.pending, 0)
  t.false(c.ended)
  t.is(c.tryReceive(), null)
  c.send(Buffer.from('bytes'))
  c.send('strings, as UTF-8: é')
  c.send(new Uint8Array([9, 1, 0, 2, 0]).subarray(1))
  c.send('')
  c.sendValue({ a: 1, big: 2n, when: new Date(0), list: [new Map([[1, 'x']])] })
  t.is(c.pending, 5)
  t.deepEqual(c.receive(), Buffer.from('bytes'))
  t.is(c.receive().toString(), 'strings, as UTF-8: é')
  t.deepEqual(c.receive(), Buffer.from([1, 0, 2, 0]))
  t.is(c.receive().length, 0)
  t.deepEqual(c.receiveValue(), { a: 1, big: 2n, when: new Date(0), list: [new Map([[1, 'x']])] })
  t.is(c.pending, 0)

  // Exactly maxMessage fits; one more byte is ERR_MMAP_TOO_LARGE, and nothing was queued.
  c.send(Buffer.alloc(c.maxMessage, 7))
  t.false(c.trySend('x'), 'full')
  t.is(thrownCode(() => c.send('x', 20)), 'ERR_MMAP_TIMEOUT')
  t.deepEqual(c.receive(), Buffer.alloc(c.maxMessage, 7))
  t.is(thrownCode(() => c.send(Buffer.alloc(c.maxMessage + 1))), 'ERR_MMAP_TOO_LARGE')
  t.is(c.pending, 0)
  const started = performance.now()
  t.is(thrownCode(() => c.receive(30)), 'ERR_MMAP_TIMEOUT')
  t.true(performance.now() - started >= 25)

  // Records wrap around the ring's end: every size, many laps.
  let wrong = 0
  for (let i = 0; i < 20_000; i++) {
    // One message of any size up to maxMessage, or two that fit together.
    const twice = i % 3 === 0
    const message = makeMessage(1, i, twice ? i % (c.maxMessage / 2 - 8) : i % (c.maxMessage + 1))
    c.send(message, 1000)
    if (twice) c.send(message, 1000)
    if (checkMessage(c.receive(1000))?.seq !== i) wrong++
    if (twice && checkMessage(c.receive(1000))?.seq !== i) wrong++
  }
  t.is(wrong, 0)
  m.close()
})

test.serial('channel() arguments: alignment, size, range, read-only and closed mappings, another byteLength', (t) => {
  const m = anonymous(1 << 16)
  t.is(thrownCode(() => m.channel(4, 1024)), 'ERR_OUT_OF_RANGE')
  t.is(thrownCode(() => m.channel(0, 271)), 'ERR_OUT_OF_RANGE')
  t.is(thrownCode(() => m.channel(-8, 1024)), 'ERR_OUT_OF_RANGE')
  t.is(thrownCode(() => m.channel('0' as unknown as number, 1024)), 'ERR_INVALID_ARG_TYPE')
  t.is(thrownCode(() => m.channel(0, (1 << 16) + 8)), 'ERR_MMAP_OUT_OF_RANGE')
  const c = m.channel(0, 4096)
  t.is(thrownCode(() => m.channel(0, 2048)), 'ERR_INVALID_ARG_VALUE', 'every party passes the same byteLength')
  t.is(thrownCode(() => c.send(42 as unknown as string)), 'ERR_INVALID_ARG_TYPE')
  t.is(thrownCode(() => c.send('x', 'soon' as unknown as number)), 'ERR_INVALID_ARG_TYPE')
  const file = tempFile(Buffer.alloc(8192))
  const r = openSync(file)
  t.is(thrownCode(() => r.channel(0, 4096)), 'ERR_MMAP_READ_ONLY')
  r.close()
  m.close()
  t.is(thrownCode(() => m.channel(0, 4096)), 'ERR_MMAP_CLOSED')
  t.is(thrownCode(() => c.send('x')), 'ERR_MMAP_CLOSED')
  t.is(thrownCode(() => c.receive()), 'ERR_MMAP_CLOSED')
  t.is(thrownCode(() => c.tryReceive()), 'ERR_MMAP_CLOSED')
})

test.serial('end(): sends throw ERR_MMAP_CHANNEL_ENDED; receivers drain what is queued, then for await finishes', async (t) => {
  const m = anonymous(1 << 16)
  const c = m.channel(0, 4096)
  const received: string[] = []
  const loop = (async () => {
    for await (const message of c) received.push(message.toString())
  })()
  await c.sendAsync('one')
  c.send('two')
  c.send('three')
  c.end()
  t.true(c.ended)
  t.is(thrownCode(() => c.send('four')), 'ERR_MMAP_CHANNEL_ENDED')
  t.is(thrownCode(() => c.trySend('four')), 'ERR_MMAP_CHANNEL_ENDED')
  await t.throwsAsync(c.sendAsync('four'), { code: 'ERR_MMAP_CHANNEL_ENDED' })
  await loop
  t.deepEqual(received, ['one', 'two', 'three'])
  t.is(thrownCode(() => c.receive()), 'ERR_MMAP_CHANNEL_ENDED')
  await t.throwsAsync(c.receiveAsync(), { code: 'ERR_MMAP_CHANNEL_ENDED' })
  t.is(c.tryReceive(), null)
  m.close()
})

test.serial('a receiver waiting in another process is woken by a send, and one waiting here by end() from another process', async (t) => {
  const shared = name(t)
  const m = createShared(shared, 1 << 16)
  // A channel is one queue: requests go one way, replies the other.
  const requests = m.channel(0, 8192)
  const replies = m.channel(8192, 8192)
  const child = spawnChild(`
    const m = memmap.openShared(${JSON.stringify(shared)})
    const got = m.channel(0, 8192).receive(10000).toString()
    const replies = m.channel(8192, 8192)
    replies.send('echo: ' + got)
    setTimeout(() => replies.end(), 100)
  `)
  await new Promise((resolve) => setTimeout(resolve, 200))
  requests.send('ping')
  t.is((await replies.receiveAsync(10_000)).toString(), 'echo: ping')
  await t.throwsAsync(replies.receiveAsync(10_000), { code: 'ERR_MMAP_CHANNEL_ENDED' })
  const exit = await child.exit
  t.is(exit.status, 0, exit.stderr)
  m.close()
})

test.serial('4 producer processes × 20,000 messages, 3 consumer processes: each message once, whole, in per-producer order', async (t) => {
  t.timeout(180_000)
  const shared = name(t)
  const m = createShared(shared, 1 << 20)
  const c = m.channel(0, 1 << 18)
  const PER = 20_000
  const producers = [0, 1, 2, 3].map((p) =>
    spawnChild(`${MESSAGE}
      const c = memmap.openShared(${JSON.stringify(shared)}).channel(0, ${1 << 18})
      for (let i = 0; i < ${PER}; i++) {
        const message = makeMessage(${p}, i, 9 + ((i * 7919) % 300))
        if (i % 2) c.send(message, 60000); else if (!c.trySend(message)) c.send(message, 60000)
      }
    `),
  )
  const consumers = [0, 1, 2].map((k) =>
    spawnChild(`${MESSAGE}
      const c = memmap.openShared(${JSON.stringify(shared)}).channel(0, ${1 << 18})
      const seqs = [[], [], [], []]
      let torn = 0
      ;(async () => {
        if (${k} === 0) {
          for await (const message of c) { const got = checkMessage(message); if (got) seqs[got.sender].push(got.seq); else torn++ }
        } else {
          for (;;) {
            let message
            try { message = ${k} === 1 ? c.receive(60000) : await c.receiveAsync(60000) } catch (e) { if (e.code === 'ERR_MMAP_CHANNEL_ENDED') break; throw e }
            const got = checkMessage(message); if (got) seqs[got.sender].push(got.seq); else torn++
          }
        }
        console.log(JSON.stringify({ seqs, torn }))
      })()
    `),
  )
  for (const producer of producers) {
    const exit = await producer.exit
    t.is(exit.status, 0, exit.stderr)
  }
  c.end()
  const seen = [0, 1, 2, 3].map(() => new Uint8Array(PER))
  for (const consumer of consumers) {
    const exit = await consumer.exit
    t.is(exit.status, 0, exit.stderr)
    const { seqs, torn } = JSON.parse(exit.stdout) as { seqs: number[][]; torn: number }
    t.is(torn, 0, 'no torn message')
    for (let p = 0; p < 4; p++) {
      for (let i = 0; i < seqs[p].length; i++) {
        if (i > 0 && seqs[p][i] <= seqs[p][i - 1]) t.fail(`producer ${p}: ${seqs[p][i]} after ${seqs[p][i - 1]}`)
        seen[p][seqs[p][i]]++
      }
    }
  }
  for (let p = 0; p < 4; p++) t.true(seen[p].every((n) => n === 1), `producer ${p}: every message exactly once`)
  t.is(c.pending, 0)
  m.close()
})

test.serial('backpressure: sendAsync into a full channel waits without blocking the event loop, and goes on as a slow receiver frees room', async (t) => {
  const shared = name(t)
  const m = createShared(shared, 1 << 16)
  const c = m.channel(0, 1024)
  const child = spawnChild(`
    const c = memmap.openShared(${JSON.stringify(shared)}).channel(0, 1024)
    let n = 0
    const tick = setInterval(() => { while (c.tryReceive() !== null) n++; if (n === 200) { clearInterval(tick); console.log(n) } }, 5)
  `)
  const sending = (async () => {
    for (let i = 0; i < 200; i++) await c.sendAsync(makeMessage(0, i, 100), 20_000)
  })()
  const turns = await turnsWhile(sending)
  t.true(turns > 50, `the event loop turned ${turns} times while sends waited for room`)
  const exit = await child.exit
  t.is(exit.stdout.trim(), '200', exit.stderr)
  m.close()
})

// Kill-safety. A sender killed at a random moment: what it queued is whole and in order (a prefix
// of what it sent), and the channel serves the next sender and receiver within a second, though
// the dead one may have held the send lock. Large messages make the copies long enough for the
// kills to land in them.
test.serial('SIGKILL of a sender mid-send, 20 rounds: no torn or duplicated message, and the channel works within 1 s', async (t) => {
  t.timeout(180_000)
  const shared = name(t)
  const m = createShared(shared, 1 << 21)
  const length = 1 << 20
  const c = m.channel(0, length)
  let expected = 0
  for (let round = 0; round < 20; round++) {
    const child = spawnChild(`${MESSAGE}
      const c = memmap.openShared(${JSON.stringify(shared)}).channel(0, ${length})
      console.log('ready')
      for (let i = ${expected}; ; i++) c.send(makeMessage(9, i, 1000 + ((i * 7919) % 60000)))
    `)
    await new Promise<void>((resolve) => child.process.stdout!.once('data', () => resolve()))
    // Receive while it sends, so that it is mostly copying, not waiting for room, when killed.
    let wrong = 0
    const killed = { yet: false }
    // The kill is timed from this round's first message, so that the child is sending when it
    // lands even where it starts slowly (under qemu a round's first send can take longer than
    // the whole window); a child that sends nothing for 10 s is killed anyway.
    let killer: NodeJS.Timeout | undefined
    const arm = (after: number): void => {
      killer ??= setTimeout(() => {
        child.process.kill('SIGKILL')
        killed.yet = true
      }, after)
    }
    const check = (message: Buffer): void => {
      const got = checkMessage(message)
      if (got === null || got.seq !== expected) wrong++ // torn, duplicated or missing
      else expected++
      arm(KILL_AFTER + Math.random() * KILL_SPREAD)
    }
    const readyAt = performance.now()
    while (!killed.yet) {
      const message = await c.receiveAsync(5).catch(() => null)
      if (message !== null) check(message)
      else if (performance.now() - readyAt > 10_000) arm(0)
    }
    clearTimeout(killer)
    await child.exit
    for (let message = c.tryReceive(); message !== null; message = c.tryReceive()) check(message)
    t.is(wrong, 0, 'whole messages, consecutive numbers from where the last round ended')
    const started = performance.now()
    c.send('after', RECOVERY_MS)
    t.is(c.receive(RECOVERY_MS).toString(), 'after')
    t.true(performance.now() - started < RECOVERY_MS)
  }
  t.true(expected >= 20, `${expected} messages came through (each round's kill waits for its first)`)
  m.close()
})

// A receiver killed at a random moment: each message it logged was received once; the parent
// gets every other message, whole and in order, except at most the one the child had taken but
// not yet logged when it died (the loss docs/channels.md allows: consumed, never processed).
test.serial('SIGKILL of a receiver mid-receive, 20 rounds: none twice, at most the one in its hands lost, and the channel works within 1 s', async (t) => {
  t.timeout(180_000)
  const shared = name(t)
  const m = createShared(shared, 1 << 21)
  const length = 1 << 17 // mostly full: a freed record is written over at once
  const c = m.channel(0, length)
  const logged = new Int32Array(createShared(`${shared}l`, 4096).buffer.buffer)
  t.teardown(() => unlinkShared(`${shared}l`))
  let next = 0
  let lost = 0
  for (let round = 0; round < 20; round++) {
    const first = next
    Atomics.store(logged, 0, first - 1)
    const child = spawnChild(`${MESSAGE}
      const c = memmap.openShared(${JSON.stringify(shared)}).channel(0, ${length})
      const logged = new Int32Array(memmap.openShared(${JSON.stringify(`${shared}l`)}).buffer.buffer)
      console.log('ready')
      for (;;) { const got = checkMessage(c.receive()); if (!got) process.exit(3); Atomics.store(logged, 0, got.seq) }
    `)
    await new Promise<void>((resolve) => child.process.stdout!.once('data', () => resolve()))
    // Send numbered messages of 1-60 KB while it receives, so that it is mostly copying, not
    // waiting for data, when killed.
    const killed = { yet: false }
    const killer = setTimeout(() => {
      child.process.kill('SIGKILL')
      killed.yet = true
    }, KILL_AFTER + Math.random() * KILL_SPREAD)
    while (!killed.yet) {
      if (!c.trySend(makeMessage(7, next, 1000 + ((next * 7919) % 60000)))) await new Promise((resolve) => setImmediate(resolve))
      else next++
    }
    clearTimeout(killer)
    const exit = await child.exit
    t.is(exit.status, null, exit.stderr)
    const last = Atomics.load(logged, 0)
    const started = performance.now()
    const rest: number[] = []
    // Nobody else takes part now: `pending` is exact.
    while (c.pending > 0) {
      const got = checkMessage(c.receive(RECOVERY_MS))
      if (rest.length === 0) t.true(performance.now() - started < RECOVERY_MS, 'the receive lock came back within 1 s')
      t.truthy(got, 'a whole message')
      rest.push(got!.seq)
    }
    if (rest.length === 0 && last + 2 < next) t.fail(`logged up to ${last} of ${next}, but nothing was left`)
    // What the parent gets starts right after what the child logged, or one later (the lost one).
    if (rest.length > 0) {
      t.true(rest[0] === last + 1 || rest[0] === last + 2, `logged up to ${last}, then ${rest[0]}`)
      if (rest[0] === last + 2) lost++
      t.deepEqual(rest, Array.from({ length: next - rest[0] }, (_, i) => rest[0] + i))
    }
  }
  t.log(`${lost} of 20 kills landed between a receive and its log`)
  m.close()
})

test.serial('close() of the mapping rejects pending receiveAsync and sendAsync with ERR_MMAP_CLOSED', async (t) => {
  const m = anonymous(1 << 16)
  const empty = m.channel(0, 1024)
  const full = m.channel(4096, 1024)
  full.send(Buffer.alloc(full.maxMessage))
  const receiving = empty.receiveAsync()
  const sending = full.sendAsync('x')
  const iterating = (async () => {
    for await (const message of m.channel(8192, 1024)) t.fail(`got ${message.length} bytes`)
  })()
  await new Promise((resolve) => setTimeout(resolve, 50))
  m.close()
  await t.throwsAsync(receiving, { code: 'ERR_MMAP_CLOSED' })
  await t.throwsAsync(sending, { code: 'ERR_MMAP_CLOSED' })
  await t.throwsAsync(iterating, { code: 'ERR_MMAP_CLOSED' })
})

test.serial('worker threads: 3 workers send 2,000 values each over shared memory, the main thread receives them all', async (t) => {
  const shared = name(t)
  const m = createShared(shared, 1 << 16)
  const c = m.channel(0, 1 << 14)
  const workers = [0, 1, 2].map(
    (w) =>
      new Worker(
        `const memmap = require(${JSON.stringify(root)})
         const c = memmap.openShared(${JSON.stringify(shared)}).channel(0, ${1 << 14})
         ;(async () => { for (let i = 0; i < 2000; i++) await c.sendValueAsync({ w: ${w}, i }) })()`,
        { eval: true },
      ),
  )
  // Listened for now: a worker may be gone before the last value is received.
  const exited = workers.map((w) => new Promise((resolve) => w.once('exit', resolve)))
  const last = [-1, -1, -1]
  for (let n = 0; n < 6000; n++) {
    const { w, i } = (await c.receiveValueAsync(20_000)) as { w: number; i: number }
    t.is(i, last[w] + 1)
    last[w] = i
  }
  t.deepEqual(last, [1999, 1999, 1999])
  t.deepEqual(await Promise.all(exited), [0, 0, 0])
  m.close()
})

test.serial('where zero-copy Buffers are refused, a child exchanges with this process through the binding', async (t) => {
  const shared = name(t)
  const m = createShared(shared, 1 << 16)
  const requests = m.channel(64, 8192)
  const replies = m.channel(16384, 4096)
  const child = spawnChild(
    `${MESSAGE}
     if (memmap.externalBuffersAllowed) throw new Error('zero-copy was not refused')
     const m = memmap.openShared(${JSON.stringify(shared)})
     const requests = m.channel(64, 8192)
     const replies = m.channel(16384, 4096)
     ;(async () => {
       for (let i = 0; i < 500; i++) {
         const got = checkMessage(i % 2 ? requests.receive(10000) : await requests.receiveAsync(10000))
         if (!got || got.seq !== i) throw new Error('bad message ' + i)
         if (i % 3) replies.send(makeMessage(1, i, 50 + i)); else await replies.sendAsync(makeMessage(1, i, 50 + i))
       }
       console.log(requests.pending)
     })()`,
    { env: { MEMMAP_NO_EXTERNAL_BUFFERS: '1' } },
  )
  for (let i = 0; i < 500; i++) {
    requests.send(makeMessage(0, i, 3000 + i))
    t.deepEqual(checkMessage(await replies.receiveAsync(10_000)), { sender: 1, seq: i })
  }
  const exit = await child.exit
  t.is(exit.status, 0, exit.stderr)
  t.is(exit.stdout.trim(), '0')
  m.close()
})

test.serial('a channel in a file: two processes exchange through it, and the bytes are in the file', async (t) => {
  const file = tempFile(Buffer.alloc(1 << 16))
  const m = openSync(file, { mode: 'r+' })
  const requests = m.channel(4096, 8192)
  const replies = m.channel(16384, 8192)
  const child = spawnChild(`
    const m = memmap.openSync(${JSON.stringify(file)}, { mode: 'r+' })
    const requests = m.channel(4096, 8192)
    const replies = m.channel(16384, 8192)
    for (let i = 0; i < 100; i++) replies.send(requests.receive(10000).toString().toUpperCase())
  `)
  for (let i = 0; i < 100; i++) {
    requests.send(`message ${i}`)
    t.is((await replies.receiveAsync(10_000)).toString(), `MESSAGE ${i}`)
  }
  const exit = await child.exit
  t.is(exit.status, 0, exit.stderr)
  requests.send('left in the file')
  m.flush()
  m.close()
  const again = openSync(file, { mode: 'r+' })
  t.is(again.channel(4096, 8192).receive(0).toString(), 'left in the file')
  again.close()
})

// A sender that dies after its tail store and before its wake-up leaves a receiver asleep with a
// record queued. Played here by hand, following docs/channels.md's layout: the record and the tail
// are written as another program would, and no wake-up comes. The receiver sees it at its next look.
test.serial('a record whose sender died before waking the receiver is still received within 1 s; the layout is the documented one', async (t) => {
  const m = anonymous(1 << 16)
  const c = m.channel(0, 4096)
  const receiving = c.receiveAsync(5000)
  await new Promise((resolve) => setTimeout(resolve, 100))
  const words = new Int32Array(m.buffer.buffer, m.buffer.byteOffset, 1024)
  t.is(Atomics.load(words, 68 / 4), 1, 'the receiver said it sleeps (data wanted)')
  t.is(words[8 / 4], 4096, 'the first party wrote the byteLength')
  m.buffer.writeUInt32LE(5, 256)
  m.buffer.writeUInt32LE(~5 >>> 0, 260)
  m.buffer.write('hello', 264)
  const written = performance.now()
  Atomics.store(words, 64 / 4, 16) // the tail, past one record of 8 + 8 bytes; no wake-up
  t.is((await receiving).toString(), 'hello')
  t.true(performance.now() - written < 1000, `received ${Math.round(performance.now() - written)} ms after the record was written`)
  t.is(Atomics.load(words, 192 / 4), 16, 'the head moved past it')
  t.is(c.pending, 0)
  m.close()
})

// The example is one command: the parent starts the workers, checks every answer came once and
// the total, and exits 0 only if it is exact.
test.serial('examples/work-queue.mjs: 4 worker processes answer 10,000 jobs, each once, and the total is exact', (t) => {
  const run = spawnSync(process.execPath, [join(root, 'examples', 'work-queue.mjs')], { encoding: 'utf8', timeout: 120_000 })
  t.is(run.status, 0, run.stderr)
  t.regex(run.stdout, /^total 333383335000 ok$/m) // 1² + 2² + … + 10,000²
  const summary = /^10,000 jobs, 4 workers \((\d+) \/ (\d+) \/ (\d+) \/ (\d+) each\), \d+ ms including starting them, [\d,]+ msgs\/s$/m.exec(run.stdout)
  t.truthy(summary, run.stdout)
  t.is(summary?.slice(1).reduce((sum, n) => sum + Number(n), 0), 10_000, 'the workers answered 10,000 jobs between them')
})

// A record header is [n, ~n]; its record is 8 + n rounded up to 8 bytes. For the largest Int32s
// that rounding overflowed 32 bits and went negative, so the header passed the check that the
// record fits in what is queued: receive() then gave a Buffer of ~2 GiB (mostly uninitialised
// memory) and moved the head to a negative position. Found by fuzz/surface.mjs.
test.serial('a scribbled record header is ERR_MMAP_CHANNEL_CORRUPT and consumes nothing, lengths whose padding overflows 32 bits included', (t) => {
  for (const length of [2 ** 31 - 1, 2 ** 31 - 7, 2 ** 31 - 8, 2 ** 30, 4096 - 256 - 8 + 1]) {
    const m = anonymous(1 << 16)
    const c = m.channel(0, 4096)
    c.send('hello')
    const b = m.buffer
    const header = b.subarray(256, 264).toString('hex')
    b.writeInt32LE(length | 0, 256)
    b.writeInt32LE(~length, 260)
    t.is(thrownCode(() => c.tryReceive()), 'ERR_MMAP_CHANNEL_CORRUPT', `a record of ${length} bytes`)
    t.is(thrownCode(() => c.receive(0)), 'ERR_MMAP_CHANNEL_CORRUPT')
    t.is(thrownCode(() => c.pending), 'ERR_MMAP_CHANNEL_CORRUPT')
    t.is(m.atomics.load(192), 0, 'the head did not move')
    b.write(header, 256, 'hex') // the header as the sender wrote it: the message was never consumed
    t.is(c.receive(0).toString(), 'hello')
    m.close()
  }
})

test.serial('receiveValue of bytes that are not a value is ERR_MMAP_CHANNEL_CORRUPT (they are consumed); sendValue of what v8 cannot clone is ERR_INVALID_ARG_VALUE and sends nothing', async (t) => {
  const m = anonymous(1 << 16)
  const c = m.channel(0, 4096)
  c.send('not a value')
  c.sendValue(42)
  t.is(thrownCode(() => c.receiveValue(0)), 'ERR_MMAP_CHANNEL_CORRUPT')
  t.is(c.receiveValue(0), 42, 'the next call gets the next message')
  c.send(Buffer.from([0xff, 0x0f, 0x00])) // a v8 header with an unsupported version
  await t.throwsAsync(c.receiveValueAsync(0), { code: 'ERR_MMAP_CHANNEL_CORRUPT' })
  t.is(thrownCode(() => c.sendValue(() => 0)), 'ERR_INVALID_ARG_VALUE')
  t.throws(() => c.sendValue({ nested: Symbol('s') }), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
  await t.throwsAsync(c.sendValueAsync(() => 0), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
  t.is(c.pending, 0)
  m.close()
})
