// The targets, checked against one run's figures. They are reported (met / not met, with
// the figure), never asserted: a benchmark is not a test.

import { formatMs as ms, formatUs as us } from './format.mjs'

const find = (workloads, id, name) =>
  workloads.find((w) => w.id === id)?.subjects?.find((s) => s.name === name && s.median !== undefined)

/** Nanoseconds for one call of a workload-7 subject: milliseconds for 10^6 calls are nanoseconds for one. */
const perCall = (subject) => subject.median

const x = (ratio) => `${ratio < 1 ? ratio.toPrecision(2) : ratio.toFixed(2)}×`

/** `{ target, subject, measured, met }` rows; a target whose figures are missing is `met: null`. */
export function checkTargets(workloads) {
  const rows = []
  const ratioRow = (target, limit, mine, theirs) => {
    if (!mine || !theirs) {
      rows.push({ target, subject: mine?.name ?? '', measured: 'not measured', met: null })
      return
    }
    const ratio = mine.median / theirs.median
    rows.push({
      target,
      subject: mine.name,
      measured: `${x(ratio)} (${ms(mine.median)} vs ${theirs.name} ${ms(theirs.median)})`,
      ratio,
      met: ratio <= limit,
    })
  }

  // 1. Open-to-first-byte at most 0.3× mmap-io's (the package named mmap-io; its fork if only that built).
  const peer = find(workloads, 1, 'mmap-io map') ?? find(workloads, 1, '@riaskov/mmap-io map')
  for (const name of ['memmap openSync + buffer', 'memmap openSync + view()']) {
    ratioRow("open-to-first-byte ≤ 0.3× mmap-io's", 0.3, find(workloads, 1, name), peer)
  }

  // RSS of the process's own memory after opening 1 GiB at most 5 MiB.
  const rss = workloads.find((w) => w.id === 1)?.extra?.rss ?? []
  for (const name of ['memmap openSync + buffer', 'memmap openSync + view()']) {
    const row = rss.find((r) => r.name === name && !r.error)
    const own = row?.anonDeltaKiB
    rows.push({
      target: 'own memory (RssAnon) after opening 1 GiB ≤ 5 MiB',
      subject: name,
      measured:
        own === null || own === undefined
          ? 'not measured'
          : `${(own / 1024).toFixed(2)} MiB own, ${(row.rssDeltaKiB / 1024).toFixed(2)} MiB with file pages`,
      met: own === null || own === undefined ? null : own <= 5 * 1024,
    })
  }

  // The scan at 105% or more of the in-heap loop: read literally, throughput at least 1.05× the ceiling's.
  const ceiling = find(workloads, 2, 'in-heap Buffer (ceiling)')
  const mapped = find(workloads, 2, 'memmap buffer, mapped once')
  if (ceiling && mapped) {
    const speed = ceiling.median / mapped.median
    rows.push({
      target: 'scan throughput ≥ 105% of the in-heap loop',
      subject: mapped.name,
      measured: `${(speed * 100).toFixed(1)}% (${ms(mapped.median)} vs ${ms(ceiling.median)} in-heap)`,
      ratio: speed,
      met: speed >= 1.05,
    })
  } else {
    rows.push({ target: 'scan throughput ≥ 105% of the in-heap loop', subject: '', measured: 'not measured', met: null })
  }

  const fsOf = (id) => workloads.find((w) => w.id === id)?.subjects?.find((s) => s.group === 'fs' && s.median !== undefined)
  ratioRow('1,000,000 random reads ≤ 0.05× fs', 0.05, find(workloads, 3, 'memmap buffer'), fsOf(3))
  for (const name of ['memmap w+ write() + flush', 'memmap w+ buffer.set() + flush']) {
    ratioRow('write 256 MiB + durable flush ≤ 1.0× fs', 1.0, find(workloads, 4, name), fsOf(4))
  }
  const readFile = find(workloads, 5, 'fs readFileSync')
  for (const theirs of [fsOf(5), readFile]) {
    ratioRow('20,000 open + close ≤ 0.5× fs', 0.5, find(workloads, 5, 'memmap openSync + read() + close'), theirs)
  }

  // 6. Blocking ping-pong round trip at most 5 µs median: the median of the round trips timed one
  // by one (the run's median over its round-trip count is shown next to it).
  const pingpong = workloads.find((w) => w.id === 6)
  // Workload 6 always reports its round trips a run with its extra record.
  const rounds = pingpong?.extra?.rounds ?? NaN
  const perTrip = (subject) => (subject.median * 1000) / rounds
  const blocking = find(workloads, 6, 'memmap atomics, blocking (wait/notify)')
  const trips = pingpong?.extra?.latency?.find((row) => row.name === blocking?.name)
  const ipc = pingpong?.extra?.latency?.find((row) => row.name === 'process.send round trip')
  rows.push(
    blocking && trips
      ? {
          target: 'blocking ping-pong round trip ≤ 5 µs median',
          subject: blocking.name,
          measured:
            `${us(trips.medianUs)} median round trip (p10 ${us(trips.p10Us)}, p90 ${us(trips.p90Us)}); ` +
            `${us(perTrip(blocking))} a round trip over a whole run` +
            (ipc ? `; process.send ${us(ipc.medianUs)}` : ''),
          met: trips.medianUs <= 5,
        }
      : { target: 'blocking ping-pong round trip ≤ 5 µs median', subject: '', measured: 'not measured', met: null },
  )
  // A spinning round trip over atomics.load within 1.2× of the same spin over Atomics.load.
  const spinning = find(workloads, 6, 'memmap atomics, spinning (load/store)')
  const plain = find(workloads, 6, 'Atomics.load on an Int32Array, spinning')
  if (spinning && plain) {
    const ratio = spinning.median / plain.median
    rows.push({
      target: 'spinning round trip over atomics.load ≤ 1.2× a plain Atomics.load loop',
      subject: spinning.name,
      measured: `${x(ratio)} (${us(perTrip(spinning))} vs ${us(perTrip(plain))} a round trip)`,
      ratio,
      met: ratio <= 1.2,
    })
  } else {
    rows.push({ target: 'spinning round trip over atomics.load ≤ 1.2× a plain Atomics.load loop', subject: '', measured: 'not measured', met: null })
  }
  // 7. One small call (the figures are 1,000,000 calls a run).
  for (const name of ['memmap read() of 8 bytes', 'memmap write() of 8 bytes']) {
    ratioRow('read/write of 8 bytes ≤ 2× Buffer#copy of 8 bytes', 2, find(workloads, 7, name), find(workloads, 7, 'Buffer#copy of 8 bytes (in-heap)'))
  }
  for (const name of ['memmap atomics.add', 'memmap atomics.compareExchange']) {
    ratioRow('Int32 atomics read-modify-write ≤ 3× JS Atomics on an Int32Array', 3, find(workloads, 7, name), find(workloads, 7, 'Atomics.add on an Int32Array (in-heap)'))
  }
  const nsRow = (target, limit, name) => {
    const subject = find(workloads, 7, name)
    rows.push(
      subject
        ? { target, subject: name, measured: `${perCall(subject).toFixed(1)} ns a call`, met: perCall(subject) <= limit }
        : { target, subject: name, measured: 'not measured', met: null },
    )
  }
  nsRow('BigInt64 atomics read-modify-write ≤ 150 ns', 150, 'memmap atomics.add64')
  nsRow('BigInt64 atomics read-modify-write ≤ 150 ns', 150, 'memmap atomics.compareExchange64')
  nsRow('notify with no waiter ≤ 50 ns', 50, 'memmap atomics.notify, nobody waiting')
  nsRow('uncontended mutex lock() + unlock() with zero-copy ≤ 60 ns', 60, 'memmap mutex lock() + unlock(), uncontended')
  nsRow('uncontended rwlock read() + unlock() with zero-copy ≤ 80 ns', 80, 'memmap rwlock read() + unlock(), uncontended')
  nsRow('condition notify() with no waiter ≤ 100 ns', 100, 'memmap condition notify(), no waiter')
  const refusedLock = find(workloads, 8, 'memmap mutex lock() + unlock(), uncontended, refused-Buffer mode')
  rows.push(
    refusedLock
      ? {
          target: 'uncontended mutex lock() + unlock(), refused-Buffer mode ≤ 600 ns',
          subject: refusedLock.name,
          measured: `${perCall(refusedLock).toFixed(1)} ns a call`,
          met: perCall(refusedLock) <= 600,
        }
      : { target: 'uncontended mutex lock() + unlock(), refused-Buffer mode ≤ 600 ns', subject: '', measured: 'not measured', met: null },
  )

  // 9. The mutex across processes.
  ratioRow("4 processes × 100,000 critical sections ≤ 0.3× Python's multiprocessing.Lock", 0.3, find(workloads, 9, 'memmap mutex'), find(workloads, 9, 'Python multiprocessing.Lock'))
  const handoff = workloads.find((w) => w.id === 9)?.extra?.mutex?.handoffUs
  rows.push(
    handoff
      ? {
          target: 'mutex hand-off between two processes ≤ 5 µs median',
          subject: 'memmap mutex',
          measured: `${us(handoff.median)} median (p10 ${us(handoff.p10)}, p90 ${us(handoff.p90)})`,
          met: handoff.median <= 5,
        }
      : { target: 'mutex hand-off between two processes ≤ 5 µs median', subject: '', measured: 'not measured', met: null },
  )
  // 11. The barrier and the condition across processes.
  ratioRow("4-process barrier round ≤ 0.2× Python's multiprocessing.Barrier", 0.2, find(workloads, 11, 'memmap barrier'), find(workloads, 11, 'Python multiprocessing.Barrier'))
  const handoffs = workloads.find((w) => w.id === 11)?.extra?.handoff ?? []
  const measuredRow = (name) => handoffs.find((row) => row.name === name && row.medianUs !== undefined)
  const condition = measuredRow('memmap condition')
  const asleep = handoffs.find((row) => row.name.startsWith('memmap condition, waiter asleep') && row.medianUs !== undefined)
  const python = measuredRow('Python multiprocessing.Condition')
  rows.push(
    condition
      ? {
          target: 'hand-off to a waiting process through a condition ≤ 5 µs median',
          subject: condition.name,
          measured:
            `${us(condition.medianUs)} median (p10 ${us(condition.p10Us)}, p90 ${us(condition.p90Us)})` +
            (python ? `; Python ${us(python.medianUs)}` : '') +
            (asleep ? `; with the waiter asleep first ${us(asleep.medianUs)}` : ''),
          met: condition.medianUs <= 5,
        }
      : { target: 'hand-off to a waiting process through a condition ≤ 5 µs median', subject: '', measured: 'not measured', met: null },
  )
  const first = workloads.find((w) => w.id === 7)?.extra?.first
  rows.push(
    first
      ? {
          target: 'first view() in a process ≤ 100 µs',
          subject: 'memmap openSync + view(0, 1)',
          measured: `${us(first.viewUs)} median of ${first.processes} fresh processes (first read() ${us(first.readUs)}, first fs.readSync ${us(first.fsReadUs)})`,
          met: first.viewUs <= 100,
        }
      : { target: 'first view() in a process ≤ 100 µs', subject: '', measured: 'not measured', met: null },
  )
  // #14: the search at least as fast as Buffer#indexOf over the same bytes already in memory.
  const searched = find(workloads, 10, 'memmap indexOf, mapped once')
  ratioRow('indexOf over 1 GiB ≤ 1.0× Buffer#indexOf on the in-heap copy', 1, searched, find(workloads, 10, 'in-heap Buffer#indexOf'))
  ratioRow('indexOf over 1 GiB ≤ 1.0× fs chunks + Buffer#indexOf', 1, searched, find(workloads, 10, 'fs readSync 1 MiB chunks + Buffer#indexOf'))
  // 12. lines(): views ≥ 8× readline and ≥ 1.5× the hand-written loop; strings ≥ 4× readline.
  const readline = find(workloads, 12, 'readline over fs.createReadStream')
  const views = find(workloads, 12, 'memmap lines(), views')
  ratioRow('lines() as views ≤ 0.125× readline (≥ 8× faster)', 1 / 8, views, readline)
  ratioRow('lines() as views ≤ 0.667× the hand-written loop (≥ 1.5× faster)', 1 / 1.5, views, find(workloads, 12, 'hand-written loop: buffer.indexOf(10) + subarray'))
  ratioRow("lines({ encoding: 'utf8' }) ≤ 0.25× readline (≥ 4× faster)", 1 / 4, find(workloads, 12, "memmap lines({ encoding: 'utf8' }), strings"), readline)
  // 10. lastIndexOf at least twice Buffer#lastIndexOf's speed on the in-heap copy.
  ratioRow('lastIndexOf over 1 GiB ≤ 0.5× Buffer#lastIndexOf on the in-heap copy (≥ 2× faster)', 0.5, find(workloads, 10, 'memmap lastIndexOf, mapped once'), find(workloads, 10, 'in-heap Buffer#lastIndexOf'))
  // 13. Channels between processes.
  const chan = workloads.find((w) => w.id === 13)
  const c = chan?.extra?.channel
  const send = find(workloads, 13, 'process.send')
  const figure = (target, ok, measured) => rows.push(ok === null ? { target, subject: '', measured: 'not measured', met: null } : { target, subject: 'memmap channel', measured, met: ok })
  const rt = (mine, limit, target) =>
    figure(target, c?.[mine] === undefined ? null : c[mine] / c.ipcRoundTripUs <= limit, c && `${x(c[mine] / c.ipcRoundTripUs)} (${us(c[mine])} vs process.send ${us(c.ipcRoundTripUs)} a round trip)`)
  rt('roundTripUs', 0.15, 'round trip of 64 bytes between two processes, blocking receive() ≤ 0.15× process.send')
  rt('roundTripAsyncUs', 0.5, 'round trip of 64 bytes between two processes, receiveAsync() ≤ 0.5× process.send')
  const oneWay = find(workloads, 13, 'memmap channel, receive()')
  const count = c?.oneWayCount
  const rate = oneWay && count ? count / (oneWay.median / 1000) : undefined
  figure('one-way 64-byte messages, 1 → 1 processes ≥ 4 M messages/s', rate === undefined ? null : rate >= 4e6, rate && `${(rate / 1e6).toFixed(2)} M messages/s`)
  ratioRow('one-way 64-byte messages, 1 → 1 processes ≤ 0.05× process.send (≥ 20× faster)', 1 / 20, oneWay, send)
  figure('64 KiB messages, 1 → 1 processes ≥ 2 GB/s', c?.bigGBps === undefined ? null : c.bigGBps >= 2, c && `${c.bigGBps.toFixed(2)} GB/s`)
  const many = c?.manyToMany
  figure('64-byte messages, 4 → 3 processes ≥ 1 M messages/s in all', many === undefined ? null : many.perSecond >= 1e6, many && `${(many.perSecond / 1e6).toFixed(2)} M messages/s` + (c.pythonQueuePerSecond ? ` (Python multiprocessing.Queue 1 → 1: ${(c.pythonQueuePerSecond / 1e6).toFixed(3)} M/s)` : ''))
  return rows
}

export const verdict = (met) => (met === null ? '– not measured' : met ? '✅ met' : '❌ not met')
