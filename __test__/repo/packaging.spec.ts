// What gets published, and how it finds its binary: the twelve targets agree everywhere they are
// listed, each platform package describes its platform, the root tarball holds the facade and
// nothing to compile, the loader names napi-rs's package on every target, and the workflow's
// jobs, matrices and artifacts fit together.

import test from 'ava'
import { parseTriple } from '@napi-rs/cli'
import { load } from 'js-yaml'
import { spawnSync } from 'node:child_process'
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

import { emulator, linuxLibc, nativeTarget, npmAlone, packedFiles, root, tempDir, testIf } from '../helpers.js'

/** The targets the release promises (issue 3), in napi.targets' order. */
const TARGETS = [
  'x86_64-apple-darwin',
  'aarch64-apple-darwin',
  'x86_64-pc-windows-msvc',
  'aarch64-pc-windows-msvc',
  'i686-pc-windows-msvc',
  'x86_64-unknown-linux-gnu',
  'aarch64-unknown-linux-gnu',
  'x86_64-unknown-linux-musl',
  'aarch64-unknown-linux-musl',
  'armv7-unknown-linux-gnueabihf',
  'x86_64-unknown-freebsd',
  'aarch64-linux-android',
]

interface Manifest {
  name: string
  version: string
  license: string
  repository: unknown
  bugs?: unknown
  homepage?: string
  publishConfig?: Record<string, string>
  optionalDependencies?: Record<string, string>
  engines: Record<string, string>
  main?: string
  files?: string[]
  os?: string[]
  cpu?: string[]
  libc?: string[]
  scripts?: Record<string, string>
  napi?: { binaryName: string; packageName?: string; targets: string[] }
  gypfile?: boolean
}

const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest

/** A fresh directory under one temporary directory (tempDir() adds an exit listener per call). */
const scratchRoot = tempDir()
let scratches = 0
function scratch(): string {
  const dir = join(scratchRoot, String(scratches++))
  mkdirSync(dir)
  return dir
}
const targetName = (triple: string): string => parseTriple(triple).platformArchABI

/**
 * The npm scope the project owns, so that nobody else can take a platform package's name first.
 * napi-rs names each platform package napi.packageName + '-' + the target.
 */
const SCOPE = '@memmap-js'
const platformPackage = (target: string): string => `${SCOPE}/memmap-${target}`

// ---- the workflow, read as data -------------------------------------------------------------

type Combo = Record<string, string>
interface Step {
  uses?: string
  run?: string
  if?: string
  with?: Record<string, string>
  env?: Record<string, string>
}
interface Job {
  name?: string
  needs?: string | string[]
  if?: string
  permissions?: Record<string, string>
  'runs-on': string
  strategy?: { matrix: Record<string, unknown> }
  steps: Step[]
}
interface Workflow {
  on: Record<string, unknown>
  permissions: unknown
  jobs: Record<string, Job>
}

const workflow = load(readFileSync(join(root, '.github/workflows/CI.yml'), 'utf8')) as Workflow

/** A job's matrix combinations, expanded as GitHub does (axes crossed, then `include` merged in). */
function combos(job: Job): Combo[] {
  const matrix = job.strategy?.matrix
  if (matrix === undefined) return [{}]
  const { include = [], ...axes } = matrix as { include?: Combo[] } & Record<string, string[]>
  let crossed: Combo[] = [{}]
  for (const [key, values] of Object.entries(axes)) {
    crossed = crossed.flatMap((combo) => values.map((value) => ({ ...combo, [key]: String(value) })))
  }
  if (Object.keys(axes).length === 0) crossed = []
  const added: Combo[] = []
  for (const entry of include) {
    // Merged into every crossed combination whose axis values it keeps, else a combination of its own.
    const matching = crossed.filter((combo) =>
      Object.entries(entry).every(([key, value]) => !(key in axes) || combo[key] === String(value)),
    )
    if (matching.length === 0) added.push({ ...entry })
    for (const combo of matching) Object.assign(combo, entry)
  }
  return [...crossed, ...added]
}

const MATRIX_REF = /\$\{\{\s*matrix\.([\w-]+)\s*\}\}/g

/** `${{ matrix.x }}` replaced with the combination's value ('' when unset, as GitHub does). */
function expand(text: string, combo: Combo): string {
  return text.replace(MATRIX_REF, (_, key: string) => combo[key] ?? '')
}

const needs = (job: Job): string[] => (job.needs === undefined ? [] : [job.needs].flat())

function artifacts(kind: 'upload' | 'download'): Map<string, string[]> {
  const names = new Map<string, string[]>()
  for (const [id, job] of Object.entries(workflow.jobs)) {
    for (const combo of combos(job)) {
      for (const step of job.steps) {
        if (!step.uses?.startsWith(`actions/${kind}-artifact@`) || step.with?.name === undefined) continue
        if (step.if !== undefined && !stepRuns(step.if, combo)) continue
        const name = expand(step.with.name, combo)
        names.set(name, [...(names.get(name) ?? []), id])
      }
    }
  }
  return names
}

/** The two step conditions the workflow uses on matrix values. */
function stepRuns(condition: string, combo: Combo): boolean {
  const equal = /^matrix\.([\w-]+) == '([^']*)'$/.exec(condition)
  if (equal) return combo[equal[1]] === equal[2]
  const contains = /^contains\(matrix\.([\w-]+), '([^']*)'\)$/.exec(condition)
  if (contains) return (combo[contains[1]] ?? '').includes(contains[2])
  throw new Error(`unknown step condition: ${condition}`)
}

const builtTargets = (): string[] =>
  Object.entries(workflow.jobs)
    .filter(([id]) => id.startsWith('build'))
    .flatMap(([, job]) => combos(job).map((combo) => combo.target))

// ---- the lists agree ------------------------------------------------------------------------

test('napi.targets, npm/ and the workflow build matrix list the same twelve targets', (t) => {
  t.deepEqual(manifest.napi?.targets, TARGETS)
  t.deepEqual(readdirSync(join(root, 'npm')).toSorted(), TARGETS.map(targetName).toSorted())
  t.deepEqual(builtTargets().toSorted(), TARGETS.toSorted())
})

test('each npm/<target> package describes its platform and is at the root version', (t) => {
  for (const triple of TARGETS) {
    const target = parseTriple(triple)
    const dir = join(root, 'npm', target.platformArchABI)
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest
    const binary = `${manifest.napi?.binaryName}.${target.platformArchABI}.node`
    t.is(pkg.name, platformPackage(target.platformArchABI), triple)
    t.is(pkg.version, manifest.version, `${triple}: version`)
    t.is(pkg.main, binary, triple)
    t.deepEqual(pkg.files, [binary], triple)
    t.deepEqual(pkg.os, [target.platform], triple)
    t.deepEqual(pkg.cpu, [target.arch], triple)
    const libc = target.platform !== 'linux' ? undefined : triple.includes('musl') ? ['musl'] : ['glibc']
    t.deepEqual(pkg.libc, libc, `${triple}: libc`)
    t.deepEqual(pkg.engines, manifest.engines, triple)
    t.is(pkg.license, manifest.license, triple)
    t.deepEqual(pkg.repository, manifest.repository, triple)
    t.deepEqual(pkg.bugs, manifest.bugs, triple)
    t.is(pkg.homepage, manifest.homepage, triple)
    // A scoped package is private unless published with public access; napi pre-publish runs a
    // bare `npm publish` in each npm/<target>, so the manifest itself must say so.
    t.deepEqual(pkg.publishConfig, { access: 'public' }, triple)
    t.is(pkg.scripts, undefined, triple)
    const readme = readFileSync(join(dir, 'README.md'), 'utf8')
    t.is(readme.trim().split('\n').length, 1, `${triple}: one-line README`)
    t.true(readme.includes(triple), triple)
    t.true(readme.includes(pkg.name), `${triple}: README names the package`)
  }
})

test('napi.packageName puts the platform packages under the scope, and bugs/homepage are set', (t) => {
  t.is(manifest.napi?.packageName, `${SCOPE}/memmap`)
  t.deepEqual(manifest.bugs, { url: 'https://github.com/memmap-js/memmap/issues' })
  t.is(manifest.homepage, 'https://github.com/memmap-js/memmap#readme')
  t.deepEqual(manifest.publishConfig, { access: 'public' })
  // Committed without optionalDependencies: napi pre-publish writes them (see docs/install.md).
  t.is(manifest.optionalDependencies, undefined)
})

test('napi create-npm-dirs makes the same directories and package names as npm/ holds', (t) => {
  const dir = scratch()
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest))
  const napi = spawnSync(process.execPath, [join(root, 'node_modules/@napi-rs/cli/dist/cli.js'), 'create-npm-dirs'], {
    cwd: dir,
    encoding: 'utf8',
  })
  t.is(napi.status, 0, napi.stderr)
  t.deepEqual(readdirSync(join(dir, 'npm')).toSorted(), readdirSync(join(root, 'npm')).toSorted())
  for (const target of readdirSync(join(dir, 'npm'))) {
    const made = JSON.parse(readFileSync(join(dir, 'npm', target, 'package.json'), 'utf8')) as Manifest
    const committed = JSON.parse(readFileSync(join(root, 'npm', target, 'package.json'), 'utf8')) as Manifest
    t.is(made.name, platformPackage(target), target)
    // Everything napi derives from the root agrees; only description and README are our own words.
    for (const key of ['name', 'version', 'cpu', 'os', 'main', 'files', 'license', 'engines', 'repository', 'bugs', 'homepage', 'publishConfig'] as const) {
      t.deepEqual(made[key], committed[key], `${target}: ${key}`)
    }
    // napi sets libc only for the abis gnu and musl; ours also says glibc for gnueabihf.
    if (made.libc !== undefined || !target.endsWith('-gnueabihf')) t.deepEqual(made.libc, committed.libc, `${target}: libc`)
  }
})

test("npm version's script (napi version) moves every npm/<target> package to the new version", (t) => {
  t.is(manifest.scripts?.version, 'napi version && git add npm')
  const dir = scratch()
  cpSync(join(root, 'npm'), join(dir, 'npm'), { recursive: true })
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...manifest, version: '9.8.7-rc.1' }))
  const napi = spawnSync(process.execPath, [join(root, 'node_modules/@napi-rs/cli/dist/cli.js'), 'version'], {
    cwd: dir,
    encoding: 'utf8',
  })
  t.is(napi.status, 0, napi.stderr)
  for (const target of TARGETS.map(targetName)) {
    const pkg = JSON.parse(readFileSync(join(dir, 'npm', target, 'package.json'), 'utf8')) as Manifest
    t.is(pkg.version, '9.8.7-rc.1', target)
  }
})

// ---- the publish check ----------------------------------------------------------------------

/** What napi pre-publish writes: every target's scoped package at exactly the root version. */
const correctOptionalDependencies = (): Record<string, string> =>
  Object.fromEntries(TARGETS.map((triple) => [platformPackage(targetName(triple)), manifest.version]))

/**
 * A copy of the root as the publish job has it (package.json with the given optionalDependencies,
 * npm/ with a stand-in binary in each package, a stand-in for every `files` entry); never the
 * real package.json.
 */
function publishStage(optionalDependencies: Record<string, string> | undefined, skipBinary?: string): string {
  const dir = scratch()
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...manifest, optionalDependencies }, null, 2))
  cpSync(join(root, 'npm'), join(dir, 'npm'), { recursive: true })
  for (const target of readdirSync(join(dir, 'npm'))) {
    if (target !== skipBinary) writeFileSync(join(dir, 'npm', target, `memmap.${target}.node`), 'a stand-in\n')
  }
  for (const entry of manifest.files ?? []) {
    const glob = /^(.+)\/\*(\.[a-z.]+)$/.exec(entry)
    const file = glob ? join(dir, glob[1], `stand-in${glob[2]}`) : join(dir, entry)
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, '')
  }
  return dir
}

function checkPublish(dir: string): { status: number | null; output: string } {
  const child = spawnSync(process.execPath, [join(root, 'scripts/check-publish.mjs'), dir], { encoding: 'utf8' })
  return { status: child.status, output: child.stdout + child.stderr }
}

test('check-publish refuses a root package.json without optionalDependencies, and says what to run', (t) => {
  const { status, output } = checkPublish(publishStage(undefined))
  t.is(status, 1, output)
  t.true(output.includes('package.json has no optionalDependencies'), output)
  t.true(output.includes('Run `npx napi pre-publish -t npm --no-gh-release` first'), output)
})

test('check-publish passes with exactly the twelve scoped platform packages at the root version', (t) => {
  const { status, output } = checkPublish(publishStage(correctOptionalDependencies()))
  t.is(status, 0, output)
  t.regex(output, /is ready to publish/)
})

test('check-publish refuses unscoped names, ranges, a missing or extra package, and a missing binary', (t) => {
  const correct = correctOptionalDependencies()
  const [first, ...rest] = Object.keys(correct)
  const unscoped = Object.fromEntries(Object.keys(correct).map((name) => [name.replace(`${SCOPE}/`, ''), manifest.version]))
  const cases: [string, Record<string, string>, string | undefined, string][] = [
    ['unscoped', unscoped, undefined, 'optionalDependencies lack @memmap-js/memmap-'],
    ['a range', { ...correct, [first]: `^${manifest.version}` }, undefined, `want ${first}@^${manifest.version}, not exactly`],
    ['one missing', Object.fromEntries(rest.map((name) => [name, manifest.version])), undefined, `optionalDependencies lack ${first}.`],
    ['one extra', { ...correct, [platformPackage('linux-riscv64-gnu')]: manifest.version }, undefined, 'no target of napi.targets'],
    ['no binary', correct, 'linux-arm64-musl', 'npm/linux-arm64-musl/memmap.linux-arm64-musl.node is missing'],
  ]
  for (const [what, deps, skipBinary, expected] of cases) {
    const { status, output } = checkPublish(publishStage(deps, skipBinary))
    t.is(status, 1, `${what}: ${output}`)
    t.true(output.includes(expected), `${what}: ${output}`)
    t.true(output.includes('npx napi '), `${what}: says what to run`)
  }
})

testIf(emulator !== 'wine', 'wine cannot link the C: temp directory to node_modules on the Z: drive')(
  'a manual npm publish runs check-publish first (prepublishOnly) and refuses',
  (t) => {
    t.is(manifest.scripts?.prepublishOnly, 'node scripts/check-publish.mjs')
    const dir = publishStage(undefined)
    mkdirSync(join(dir, 'scripts'))
    copyFileSync(join(root, 'scripts/check-publish.mjs'), join(dir, 'scripts/check-publish.mjs'))
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'junction')
    // --dry-run still runs prepublishOnly; nothing listens at the registry address, in case it got further.
    const publish = spawnSync('npm', ['publish', '--dry-run', '--registry', 'http://127.0.0.1:9/'], {
      cwd: dir,
      encoding: 'utf8',
      env: npmAlone(),
      shell: process.platform === 'win32',
    })
    t.not(publish.status, 0)
    t.true(publish.stdout.includes('> memmap@' + manifest.version + ' prepublishOnly'), `stdout: ${publish.stdout}\nstderr: ${publish.stderr}`)
    t.true(publish.stderr.includes('Run `npx napi pre-publish -t npm --no-gh-release` first'), publish.stderr)
  },
)

// ---- the root tarball -----------------------------------------------------------------------

test('the root tarball holds the facade, loader, types and docs, and nothing to compile', (t) => {
  const paths = packedFiles().toSorted()
  t.deepEqual(paths, [
    'CHANGELOG.md',
    'LICENSE',
    'README.md',
    'binding.d.ts',
    'index.d.mts',
    'index.d.ts',
    'index.js',
    'index.mjs',
    'loader.d.ts',
    'loader.js',
    'package.json',
    ...['args', 'atomics', 'channel', 'constants', 'footprint', 'lines', 'mapping', 'shared', 'stream', 'sync', 'types', 'window'].flatMap((name) => [`src/${name}.d.ts`, `src/${name}.js`]),
  ])
  // Nothing a compiler would read, no binary, no napi loader: the binary comes from npm/<target>.
  t.false(paths.some((path) => /\.(rs|toml|gyp|node|c|cc|h)$|^binding\.js$/.test(path)))
  // npm adds `install: node-gyp rebuild` when binding.gyp exists: neither it nor any install hook.
  t.false(existsSync(join(root, 'binding.gyp')))
  t.is(manifest.gypfile, undefined)
  for (const hook of ['preinstall', 'install', 'postinstall']) t.is(manifest.scripts?.[hook], undefined, hook)
})

// ---- the loader -----------------------------------------------------------------------------

/** A minimal ELF executable whose PT_INTERP names `interpreter`, as the loader reads it. */
function elf(interpreter: string, wide: boolean): Buffer {
  const headerSize = wide ? 64 : 52
  const entrySize = wide ? 56 : 32
  const nameAt = headerSize + entrySize
  const name = Buffer.from(`${interpreter}\0`)
  const b = Buffer.alloc(nameAt + name.length)
  b.writeUInt32BE(0x7f454c46, 0)
  b[4] = wide ? 2 : 1 // class
  b[5] = 1 // little-endian
  b[6] = 1 // version
  if (wide) {
    b.writeBigUInt64LE(BigInt(headerSize), 32) // e_phoff
    b.writeUInt16LE(entrySize, 54)
    b.writeUInt16LE(1, 56)
    b.writeUInt32LE(3, headerSize) // PT_INTERP
    b.writeBigUInt64LE(BigInt(nameAt), headerSize + 8)
    b.writeBigUInt64LE(BigInt(name.length), headerSize + 32)
  } else {
    b.writeUInt32LE(headerSize, 28)
    b.writeUInt16LE(entrySize, 42)
    b.writeUInt16LE(1, 44)
    b.writeUInt32LE(3, headerSize)
    b.writeUInt32LE(nameAt, headerSize + 4)
    b.writeUInt32LE(name.length, headerSize + 16)
  }
  name.copy(b, nameAt)
  return b
}

interface Outcome {
  loaded?: string
  code?: string
  message?: string
  packageName?: string
  libc?: string | null
  causeCode?: string
  spawned?: boolean
  reported?: boolean
}

/**
 * Requires a copy of loader.js (with package.json beside it) in a child that pretends to be each
 * `case`'s platform, arch and executable, with child processes and process.report booby-trapped.
 */
function runLoader(
  cases: { platform?: string; arch?: string; execPath?: string }[],
  options: { files?: Record<string, string | Buffer>; env?: NodeJS.ProcessEnv } = {},
): Outcome[] {
  const dir = scratch()
  copyFileSync(join(root, 'loader.js'), join(dir, 'loader.js'))
  copyFileSync(join(root, 'package.json'), join(dir, 'package.json'))
  // Each extra file is copied from a path, or written from the bytes given.
  for (const [name, from] of Object.entries(options.files ?? {})) {
    mkdirSync(dirname(join(dir, name)), { recursive: true })
    if (typeof from === 'string') copyFileSync(from, join(dir, name))
    else writeFileSync(join(dir, name), from)
  }
  const source = `
    const childProcess = require('node:child_process')
    let spawned = false, reported = false
    for (const key of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) {
      childProcess[key] = () => { spawned = true; throw new Error('the loader spawned a process') }
    }
    const getReport = process.report.getReport.bind(process.report)
    process.report.getReport = () => { reported = true; return getReport() }
    const results = []
    for (const c of ${JSON.stringify(cases)}) {
      spawned = reported = false
      for (const key of ['platform', 'arch', 'execPath']) {
        if (c[key] !== undefined) Object.defineProperty(process, key, { value: c[key], configurable: true })
      }
      const loader = ${JSON.stringify(join(dir, 'loader.js'))}
      delete require.cache[loader]
      try {
        require(loader)
        const binary = Object.keys(require.cache).find((path) => path.endsWith('.node'))
        results.push({ loaded: binary, spawned, reported })
      } catch (e) {
        results.push({ code: e.code, message: e.message, packageName: e.packageName, libc: e.libc,
                       causeCode: e.cause && e.cause.code, spawned, reported })
      }
    }
    console.log(JSON.stringify(results))
  `
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env }
  if (options.env?.NAPI_RS_NATIVE_LIBRARY_PATH === undefined) delete env.NAPI_RS_NATIVE_LIBRARY_PATH
  const child = spawnSync(process.execPath, ['-e', source], { cwd: dir, encoding: 'utf8', env })
  if (child.status !== 0) throw new Error(child.stderr)
  return JSON.parse(child.stdout) as Outcome[]
}

test("the loader asks for napi-rs's package name on each target, musl told from the ELF interpreter", (t) => {
  const dir = scratch()
  const executables = {
    glibc64: elf('/lib64/ld-linux-x86-64.so.2', true),
    musl64: elf('/lib/ld-musl-aarch64.so.1', true),
    glibc32: elf('/lib/ld-linux-armhf.so.3', false),
  }
  for (const [name, bytes] of Object.entries(executables)) writeFileSync(join(dir, name), bytes)
  const cases = TARGETS.map((triple) => {
    const { platform, arch } = parseTriple(triple)
    const musl = triple.includes('musl')
    const execPath = platform !== 'linux' ? undefined : join(dir, musl ? 'musl64' : arch === 'arm' ? 'glibc32' : 'glibc64')
    return { platform, arch, execPath }
  })
  const outcomes = runLoader(cases)
  TARGETS.forEach((triple, i) => {
    const { platform, platformArchABI } = parseTriple(triple)
    const outcome = outcomes[i]
    t.is(outcome.code, 'ERR_MMAP_NO_BINDING', triple)
    t.is(outcome.packageName, platformPackage(platformArchABI), triple)
    t.is(outcome.libc, platform !== 'linux' ? null : triple.includes('musl') ? 'musl' : 'glibc', triple)
    t.false(outcome.spawned ?? true, `${triple}: no child process`)
    t.false(outcome.reported ?? true, `${triple}: no diagnostic report`)
  })
})

test('when the platform package is missing the error names what was detected, the package, the targets and both fixes', (t) => {
  const [outcome] = runLoader([{}])
  const message = outcome.message ?? ''
  t.is(outcome.code, 'ERR_MMAP_NO_BINDING')
  t.is(outcome.causeCode, 'MODULE_NOT_FOUND')
  t.true(message.includes(`${process.platform} ${process.arch}`), message)
  if (process.platform === 'linux') t.regex(message, /\((glibc|musl)\)/)
  t.true(message.includes(`${outcome.packageName} is not installed`), message)
  for (const triple of TARGETS) t.true(message.includes(targetName(triple)), triple)
  t.true(message.includes('--omit=optional'), message)
  t.true(message.includes('npm run build'), message)
  t.true(message.includes('NAPI_RS_NATIVE_LIBRARY_PATH'), message)
})

test('docs/install.md shows the error exactly as the loader words it', (t) => {
  const executable = join(scratch(), 'node')
  writeFileSync(executable, elf('/lib64/ld-linux-x86-64.so.2', true))
  const [outcome] = runLoader([{ platform: 'linux', arch: 'x64', execPath: executable }])
  const docs = readFileSync(join(root, 'docs/install.md'), 'utf8')
  t.true(docs.includes(`Error: ${outcome.message}\n`), outcome.message)
})

test('an unsupported platform is told so, with the targets there are and how to build one', (t) => {
  const [outcome] = runLoader([{ platform: 'linux', arch: 'riscv64' }])
  const message = outcome.message ?? ''
  t.is(outcome.code, 'ERR_MMAP_NO_BINDING')
  // The libc is read from this Node.js executable: a musl one, or one that is no ELF file at all
  // (another OS pretending to be Linux here), makes the loader assume musl.
  t.is(outcome.packageName, platformPackage(`linux-riscv64-${linuxLibc() ?? 'musl'}`))
  t.regex(message, /no prebuilt binary for linux riscv64/)
  t.false(message.includes('--omit=optional'), 'reinstalling would not help')
  t.true(message.includes('npm run build'))
  t.true(message.includes(targetName('x86_64-unknown-linux-gnu')))
})

/** The binary `npm run build` wrote into the package root for this platform. */
function localBuild(): string {
  const build = `memmap.${nativeTarget()}.node`
  if (!existsSync(join(root, build))) throw new Error(`expected ${build} in ${root}: run npm run build`)
  return build
}

test('NAPI_RS_NATIVE_LIBRARY_PATH comes first, then the local build next to the loader', (t) => {
  const build = localBuild()
  const elsewhere = join(scratch(), 'elsewhere.node')
  copyFileSync(join(root, build), elsewhere)
  const files = { [build]: join(root, build) }
  const [local] = runLoader([{}], { files })
  t.true(local.loaded?.endsWith(build), JSON.stringify(local))
  const [override] = runLoader([{}], { files, env: { NAPI_RS_NATIVE_LIBRARY_PATH: elsewhere } })
  t.is(override.loaded, elsewhere)
  const [missing] = runLoader([{}], { files, env: { NAPI_RS_NATIVE_LIBRARY_PATH: join(scratch(), 'none.node') } })
  t.is(missing.code, 'ERR_MMAP_NO_BINDING', 'a wrong override is an error, not a silent fallback')
  t.true(missing.message?.includes('none.node'))
})

test('an installed platform package that does not load, or is another version, is named with its reason', (t) => {
  const build = localBuild()
  const target = build.slice('memmap.'.length, -'.node'.length)
  const name = platformPackage(target)
  const files = (version: string, binary: string | Buffer) => ({
    [`node_modules/${name}/package.json`]: Buffer.from(JSON.stringify({ name, version, main: build })),
    [`node_modules/${name}/${build}`]: binary,
  })
  const [works] = runLoader([{}], { files: files(manifest.version, join(root, build)) })
  t.true(works.loaded?.endsWith(join('node_modules', name, build)), JSON.stringify(works))
  const [broken] = runLoader([{}], { files: files(manifest.version, Buffer.from('not a shared library')) })
  t.is(broken.code, 'ERR_MMAP_NO_BINDING')
  t.is(broken.causeCode, 'ERR_DLOPEN_FAILED')
  t.true(broken.message?.includes(`${name} is installed but did not load: `), broken.message)
  t.true(broken.message?.includes('--omit=optional'))
  const [stale] = runLoader([{}], { files: files('0.0.1', join(root, build)) })
  t.is(stale.code, 'ERR_MMAP_NO_BINDING')
  t.true(stale.message?.includes(`${name}@0.0.1 is installed, but memmap is ${manifest.version}`), stale.message)
})

// ---- the workflow ---------------------------------------------------------------------------

test('workflow: no permissions by default, only what each job needs', (t) => {
  t.deepEqual(workflow.permissions, {})
  for (const [id, job] of Object.entries(workflow.jobs)) {
    const expected = id === 'publish' ? { contents: 'read', 'id-token': 'write' } : { contents: 'read' }
    t.deepEqual(job.permissions, expected, id)
  }
})

test('workflow: every needs names a job, and publish needs every build and test job', (t) => {
  const ids = Object.keys(workflow.jobs)
  for (const [id, job] of Object.entries(workflow.jobs)) {
    for (const need of needs(job)) t.true(ids.includes(need), `${id} needs ${need}`)
  }
  t.deepEqual(needs(workflow.jobs.publish).toSorted(), ids.filter((id) => id !== 'publish').toSorted())
})

test('workflow: publish runs only for pushed v* tags, with provenance and without lifecycle scripts', (t) => {
  const publish = workflow.jobs.publish
  t.true(publish.if?.includes("github.event_name == 'push'"))
  t.true(publish.if?.includes("startsWith(github.ref, 'refs/tags/v')"))
  t.deepEqual((workflow.on.push as { tags: string[] }).tags, ['v*'])
  const script = publish.steps.map((step) => step.run ?? '').join('\n')
  const env = Object.assign({}, ...publish.steps.map((step) => step.env ?? {})) as Record<string, string>
  t.is(env.NPM_CONFIG_PROVENANCE, 'true')
  t.regex(script, /napi artifacts/)
  t.regex(script, /napi pre-publish/)
  t.regex(script, /npm publish .*--ignore-scripts/)
})

test('workflow: publish runs check-publish after napi pre-publish and before npm publish', (t) => {
  const runs = workflow.jobs.publish.steps.map((step) => step.run ?? '')
  const at = (pattern: RegExp): number => runs.findIndex((run) => pattern.test(run))
  const prePublish = at(/napi pre-publish/)
  const check = at(/^node scripts\/check-publish\.mjs$/m)
  const publish = at(/npm publish /)
  t.true(prePublish >= 0 && check > prePublish && publish > check, JSON.stringify({ prePublish, check, publish }))
  // The step that publishes the root does nothing else, so nothing can slip in after the check.
  t.is(runs[publish].trim(), 'npm publish --access public --ignore-scripts')
})

test('workflow: every ${{ matrix.* }} names a matrix key, and every downloaded artifact is uploaded by a build', (t) => {
  for (const [id, job] of Object.entries(workflow.jobs)) {
    const text = JSON.stringify({ name: job.name, runsOn: job['runs-on'], steps: job.steps })
    const keys = new Set(combos(job).flatMap((combo) => Object.keys(combo)))
    for (const [, key] of text.matchAll(MATRIX_REF)) t.true(keys.has(key), `${id}: matrix.${key}`)
  }
  const uploaded = artifacts('upload')
  for (const triple of TARGETS) t.deepEqual(uploaded.get(`bindings-${triple}`)?.length, 1, triple)
  t.deepEqual(uploaded.get('binding-types'), ['build'])
  for (const [name, jobs] of artifacts('download')) {
    t.true(uploaded.has(name), `${name}, downloaded by ${jobs.join(', ')}`)
    for (const id of jobs) {
      const builder = uploaded.get(name)?.[0] ?? ''
      t.true(needs(workflow.jobs[id]).includes(builder), `${id} needs ${builder} for ${name}`)
    }
  }
})

test('workflow: ava runs on Linux glibc and musl, macOS x64 and arm64, Windows x64 and arm64, Node 20-26', (t) => {
  const tested = new Map<string, Set<string>>()
  for (const id of ['test', 'test-musl']) {
    const job = workflow.jobs[id]
    t.true(job.steps.some((step) => step.run?.includes('npm run test:js')), id)
    for (const combo of combos(job)) {
      t.truthy(combo.host, `${id} ${combo.target}: runner`)
      tested.set(combo.target, (tested.get(combo.target) ?? new Set()).add(combo.node))
    }
  }
  for (const triple of [
    'x86_64-unknown-linux-gnu',
    'x86_64-unknown-linux-musl',
    'x86_64-apple-darwin',
    'aarch64-apple-darwin',
    'x86_64-pc-windows-msvc',
    'aarch64-pc-windows-msvc',
  ]) {
    t.deepEqual([...(tested.get(triple) ?? [])].toSorted(), ['20', '22', '24', '26'], triple)
  }
  t.true(JSON.stringify(workflow.jobs['test-musl'].steps).includes('-alpine'))
})

test('workflow: the Electron job runs electron/main.js under xvfb', (t) => {
  const script = workflow.jobs.electron.steps.map((step) => step.run ?? '').join('\n')
  t.regex(script, /xvfb-run .*electron.* electron\/main\.js/)
})

test('electron/check.js holds where external buffers are refused, and fails where they are not', (t) => {
  const script = join(root, 'electron/check.js')
  const refused = spawnSync(process.execPath, [script], {
    encoding: 'utf8',
    env: { ...process.env, MEMMAP_NO_EXTERNAL_BUFFERS: '1' },
  })
  t.is(refused.status, 0, refused.stderr)
  t.like(JSON.parse(refused.stdout), { zeroCopy: false, readWrite: true })
  const env = { ...process.env }
  delete env.MEMMAP_NO_EXTERNAL_BUFFERS
  const allowed = spawnSync(process.execPath, [script], { encoding: 'utf8', env })
  t.not(allowed.status, 0, 'in plain Node.js zeroCopy is true, so the check must fail')
})
