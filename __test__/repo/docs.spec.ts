// Docs that run: every ```js, ```mjs, ```cjs and ```ts block of README.md and docs/*.md is run as
// written, one test per block titled `file:line` (the line of its opening fence), in a child
// process of this Node.js, in a fresh temporary directory where `import 'memmap'` and
// `require('memmap')` resolve to this checkout (node_modules/memmap is a link to it).
//
// - `js`/`mjs` blocks run as ES modules (top-level `await` works); a `js` block that calls
//   `require(` runs as CommonJS, as does `cjs`. `ts` blocks run through tsx (`node --import tsx`),
//   which also lowers `using`/`await using` for Node.js versions that cannot parse them.
// - A block must exit 0 within its timeout (30 s unless it says otherwise) and leave nothing
//   behind: no process still running in its process group, no shared memory object. On Linux each
//   block gets a private, empty /dev/shm (a mount namespace, where `unshare` may make one) that
//   must be empty again when it ends; where it may not, new entries of the real /dev/shm that the
//   block names count as left behind.
//
// Markers: HTML comments on the lines directly above the opening fence (invisible on GitHub and
// npm), one directive per comment, any number of them:
//
//   <!-- doc-test: skip — <reason> -->          not run; reported as skipped with the reason
//   <!-- doc-test: node >= 24 — <reason> -->    skipped with the reason on older Node.js
//   <!-- doc-test: needs numpy — <reason> -->   skipped with the reason where `python3 -c 'import
//                                              numpy'` fails (wine, the musl run's library path)
//   <!-- doc-test: fixture <name> <size> -->    a file made first in the block's directory:
//                                              `size` in B, KiB, MiB or GiB (1MiB, 64KiB, 4096),
//                                              filled with a fixed pseudo-random pattern
//   <!-- doc-test: fixture <name> <size> sparse -->   the same, all holes (a 64 GiB file is free)
//   <!-- doc-test: timeout <n>s -->             a longer timeout than 30 s
//
// An unknown directive fails the block's test, so a typo cannot silently skip a check.
// CONTRIBUTING.md describes the same markers for authors.
//
// The same file checks that the benchmark figures in the docs are the ones results.json holds
// (`scripts/bench-figures.mjs --check`) and that README.md, which npm shows and installs without
// docs/ or benchmark/, links to nothing that is not in the package.

import test from 'ava'
import { spawn, spawnSync } from 'node:child_process'
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { emulator, linux, pattern, root, windows } from '../helpers.js'

interface Block {
  file: string // relative to the repository root, with '/'
  line: number // of the opening fence, 1-based
  lang: 'js' | 'mjs' | 'cjs' | 'ts'
  code: string
  skip?: string // why it does not run
  minNode?: { major: number; reason: string }
  needs?: { module: string; reason: string } // a Python module the block runs
  fixtures: { name: string; bytes: number; sparse: boolean }[]
  timeoutMs: number
  errors: string[] // bad markers
}

const RUNNABLE = new Set(['js', 'mjs', 'cjs', 'ts'])
const UNITS: Record<string, number> = { '': 1, B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }

/** The directive inside `<!-- doc-test: ... -->`, or null for any other line. */
function marker(line: string): string | null {
  const match = /^\s*<!--\s*doc-test:\s*(.*?)\s*-->\s*$/.exec(line)
  return match ? match[1] : null
}

/** Splits "<text> — <reason>" (an em dash, or " -- ") into the two parts. */
function withReason(text: string): [string, string] {
  const at = text.search(/\s(—|--)\s/)
  return at < 0 ? [text.trim(), ''] : [text.slice(0, at).trim(), text.slice(at).replace(/^\s(—|--)\s/, '').trim()]
}

function applyMarker(block: Block, directive: string): void {
  const [head, reason] = withReason(directive)
  const words = head.split(/\s+/)
  if (words[0] === 'skip') {
    if (!reason) block.errors.push(`"skip" needs a reason: <!-- doc-test: skip — why -->`)
    block.skip = reason || 'no reason given'
  } else if (words[0] === 'node' && words[1] === '>=' && /^\d+$/.test(words[2] ?? '') && words.length === 3) {
    block.minNode = { major: Number(words[2]), reason: reason || `needs Node.js ${words[2]} or newer` }
  } else if (words[0] === 'needs' && /^[a-z_]\w*$/.test(words[1] ?? '') && words.length === 2) {
    block.needs = { module: words[1], reason: reason || `needs python3 with ${words[1]}` }
  } else if (words[0] === 'fixture' && (words.length === 3 || (words.length === 4 && words[3] === 'sparse'))) {
    const size = /^(\d+(?:\.\d+)?)(B|KiB|MiB|GiB)?$/.exec(words[2])
    if (!size || /[/\\]/.test(words[1])) block.errors.push(`bad fixture "${head}": <!-- doc-test: fixture name.bin 1MiB [sparse] -->`)
    else block.fixtures.push({ name: words[1], bytes: Math.round(Number(size[1]) * UNITS[size[2] ?? '']), sparse: words.length === 4 })
  } else if (words[0] === 'timeout' && /^\d+s$/.test(words[1] ?? '') && words.length === 2) {
    block.timeoutMs = Number.parseInt(words[1], 10) * 1000
  } else {
    block.errors.push(`unknown doc-test marker "${directive}"`)
  }
}

/** Every fenced block with a runnable language, with the markers above it. */
function extractBlocks(file: string, text: string): Block[] {
  const lines = text.split('\n')
  const blocks: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i])
    if (!open) continue
    const [, indent, fence, lang] = open
    let end = i + 1
    while (end < lines.length && !(lines[end].trim().startsWith(fence) && lines[end].trim().replace(/[`~]/g, '') === '')) end++
    if (RUNNABLE.has(lang)) {
      const block: Block = {
        file,
        line: i + 1,
        lang: lang as Block['lang'],
        code: lines
          .slice(i + 1, end)
          .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l))
          .join('\n'),
        fixtures: [],
        timeoutMs: 30_000,
        errors: [],
      }
      for (let j = i - 1; j >= 0 && marker(lines[j]) !== null; j--) applyMarker(block, marker(lines[j]) as string)
      blocks.push(block)
    }
    i = end
  }
  return blocks
}

const docFiles = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .toSorted()
    .map((name) => `docs/${name}`),
]

// ---------------------------------------------------------------------------------------------
// Where a block runs

/**
 * How to give a block a private /dev/shm: `unshare -m` as root, `unshare -rm` (a user namespace)
 * where unprivileged users may make one; null where neither works (or not Linux).
 */
function shmNamespace(): string[] | null {
  if (!linux || emulator) return null
  for (const flags of [['-m'], ['-r', '-m']]) {
    const probe = spawnSync('unshare', [...flags, 'sh', '-c', 'mount -t tmpfs -o size=64m tmpfs /dev/shm && touch /dev/shm/probe'], {
      stdio: 'ignore',
      timeout: 10_000,
    })
    if (probe.status === 0) return flags
  }
  return null
}
const namespace = shmNamespace()

const tsxLoader = join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')

function fixture(dir: string, { name, bytes, sparse }: Block['fixtures'][number]): void {
  const fd = openSync(join(dir, name), 'w')
  try {
    if (sparse) ftruncateSync(fd, bytes)
    else {
      const chunk = pattern(Math.min(bytes, 1 << 20))
      for (let done = 0; done < bytes; done += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - done))
    }
  } finally {
    closeSync(fd)
  }
}

function scriptName(block: Block): string {
  const commonJs = block.lang === 'cjs' || (block.lang === 'js' && /\brequire\s*\(/.test(block.code))
  if (block.lang === 'ts') return commonJs ? 'block.cts' : 'block.mts'
  return commonJs ? 'block.cjs' : 'block.mjs'
}

interface Outcome {
  status: number | null
  signal: NodeJS.Signals | null
  timedOut: boolean
  stdout: string
  stderr: string
  shmLeft: string[] // shared memory objects the block left behind
  strays: boolean // processes of its group still running after it ended
}

const shmNames = (): string[] => (existsSync('/dev/shm') ? readdirSync('/dev/shm') : [])

/**
 * A `memmap` package in the block's directory that re-exports this repository's entries. Not a
 * link: wine cannot link its C: temp directory to the Z: drive the repository is on.
 */
function shimPackage(at: string): void {
  mkdirSync(at)
  const esm = JSON.stringify(pathToFileURL(join(root, 'index.mjs')).href)
  writeFileSync(join(at, 'package.json'), JSON.stringify({ name: 'memmap', exports: { import: './index.mjs', require: './index.js' } }))
  writeFileSync(join(at, 'index.js'), `module.exports = require(${JSON.stringify(root)})\n`)
  writeFileSync(join(at, 'index.mjs'), `export * from ${esm}\nexport { default } from ${esm}\n`)
}

/** The development dependencies that doc blocks import (docs/datasets.md's recipes). */
const DOC_DEPENDENCIES = ['apache-arrow']

/** A package `name` in the block's directory that re-exports this repository's installed copy. */
function shimDependency(at: string, name: string): void {
  const entry = createRequire(join(root, 'package.json')).resolve(name)
  mkdirSync(at)
  writeFileSync(join(at, 'package.json'), JSON.stringify({ name, exports: { import: './index.mjs', require: './index.js' } }))
  writeFileSync(join(at, 'index.js'), `module.exports = require(${JSON.stringify(entry)})\n`)
  writeFileSync(join(at, 'index.mjs'), `export * from ${JSON.stringify(pathToFileURL(entry).href)}\n`)
}

async function runBlock(block: Block): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), 'memmap-doc-'))
  try {
    mkdirSync(join(dir, 'node_modules'))
    shimPackage(join(dir, 'node_modules', 'memmap'))
    for (const name of DOC_DEPENDENCIES) shimDependency(join(dir, 'node_modules', name), name)
    for (const f of block.fixtures) fixture(dir, f)
    const script = scriptName(block)
    writeFileSync(join(dir, script), block.code)

    const node = [process.execPath, ...(block.lang === 'ts' ? ['--import', pathToFileURL(tsxLoader).href] : []), script]
    const shmAfter = join(dir, '.shm-after')
    const command = namespace
      ? [
          'unshare',
          ...namespace,
          'sh',
          '-c',
          'mount -t tmpfs -o size=256m tmpfs /dev/shm || exit 97; "$@"; s=$?; ls -A /dev/shm > .shm-after; exit $s',
          'sh',
          ...node,
        ]
      : node
    const before = namespace ? [] : shmNames()
    const env = { ...process.env }
    delete env.NODE_OPTIONS // ava's own loaders are not the reader's
    const child = spawn(command[0], command.slice(1), { cwd: dir, env, detached: !windows, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s))
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s))
    let timedOut = false
    const killGroup = (): void => {
      try {
        if (windows) child.kill('SIGKILL')
        else process.kill(-(child.pid as number), 'SIGKILL')
      } catch {
        // already gone
      }
    }
    const timer = setTimeout(() => {
      timedOut = true
      killGroup()
    }, block.timeoutMs)
    const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('close', (code, sig) => resolve([code, sig])),
    )
    clearTimeout(timer)
    // A process the block started and did not wait for is still in its process group. Helpers
    // that end on their own when the block ends (tsx's esbuild service) get a moment to go.
    let strays = false
    if (!windows && !timedOut) {
      const groupAlive = (): boolean => {
        try {
          process.kill(-(child.pid as number), 0)
          return true
        } catch {
          return false
        }
      }
      for (let waited = 0; groupAlive() && waited < 2000; waited += 50) await new Promise((r) => setTimeout(r, 50))
      strays = groupAlive()
      if (strays) killGroup()
    }
    let shmLeft: string[]
    if (namespace) shmLeft = existsSync(shmAfter) ? readFileSync(shmAfter, 'utf8').split('\n').filter(Boolean) : []
    else {
      // Other specs create and remove objects at the same time: count only names the block uses.
      const old = new Set(before)
      shmLeft = shmNames().filter((name) => !old.has(name) && block.code.includes(name))
    }
    return { status, signal, timedOut, stdout, stderr, shmLeft, strays }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------
// One test per block

const nodeMajor = Number(process.versions.node.split('.')[0])

/** Whether `python3` here imports `module` (asked once per module). */
const pythonHas = new Map<string, boolean>()
function hasPython(module: string): boolean {
  if (!pythonHas.has(module)) {
    const probe = spawnSync('python3', ['-c', `import ${module}`], { stdio: 'ignore', timeout: 60_000 })
    pythonHas.set(module, probe.status === 0)
  }
  return pythonHas.get(module) === true
}

for (const file of docFiles) {
  for (const block of extractBlocks(file, readFileSync(join(root, file), 'utf8'))) {
    const title = `${block.file}:${block.line}`
    if (block.errors.length > 0) {
      test(title, (t) => t.fail(block.errors.join('; ')))
    } else if (block.skip) {
      test.skip(`${title} (skipped: ${block.skip})`, () => {})
    } else if (block.minNode && nodeMajor < block.minNode.major) {
      test.skip(`${title} (skipped on Node.js ${nodeMajor}: ${block.minNode.reason})`, () => {})
    } else if (block.needs && !hasPython(block.needs.module)) {
      test.skip(`${title} (skipped: python3 cannot import ${block.needs.module} here: ${block.needs.reason})`, () => {})
    } else {
      test.serial(title, async (t) => {
        t.timeout(block.timeoutMs + 30_000)
        const out = await runBlock(block)
        if (out.stdout.trim()) t.log(out.stdout.trimEnd())
        const shown = `--- stdout\n${out.stdout}--- stderr\n${out.stderr}`
        t.false(out.timedOut, `did not finish within ${block.timeoutMs / 1000} s (add <!-- doc-test: timeout 60s --> if it should take longer)\n${shown}`)
        t.not(out.status, 97, 'could not mount a private /dev/shm')
        t.is(out.signal, null, `killed by ${out.signal}\n${shown}`)
        t.is(out.status, 0, shown)
        t.deepEqual(out.shmLeft, [], `left shared memory behind in /dev/shm: call unlinkShared()\n${shown}`)
        t.false(out.strays, `left a process running: wait for the children it starts\n${shown}`)
      })
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Figures and links

test('every benchmark figure in README.md and docs/*.md is the one benchmark/results.json gives', (t) => {
  const result = spawnSync(process.execPath, [join(root, 'scripts', 'bench-figures.mjs'), '--check'], { encoding: 'utf8' })
  t.is(result.status, 0, `${result.stderr}${result.stdout}`)
})

/** Whether `path` (relative to the root) is in the package, by package.json `files`. */
function packaged(path: string, files: string[]): boolean {
  return files.some((glob) => {
    const regex = new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '[^/]*')}(/.*)?$`)
    return regex.test(path)
  })
}

test('README.md links only to the web or to files in the package: npm shows it without docs/ or benchmark/', (t) => {
  const { files } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[] }
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const targets = [
    ...[...readme.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?[^)]*\)/g)].map((m) => m[1]),
    ...[...readme.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(\s|$)/gm)].map((m) => m[1]),
    ...[...readme.matchAll(/<(?:img|a)\s[^>]*(?:src|href)="([^"]+)"/g)].map((m) => m[1]),
  ]
  t.true(targets.length > 0, 'found no link at all: the pattern is wrong')
  const dead = targets.filter((target) => {
    if (/^([a-z][a-z0-9+.-]*:|#)/i.test(target)) return false // https:, mailto:, an anchor here
    const path = decodeURI(target.split('#')[0]).replace(/^\.\//, '')
    return !packaged(path, files)
  })
  t.deepEqual(dead, [], 'use https://github.com/memmap-js/memmap/blob/main/<path> (images: https://raw.githubusercontent.com/memmap-js/memmap/main/<path>)')
})
